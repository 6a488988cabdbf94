import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PRESET_NAMES, type PresetName } from '../config/presets.js';
import type { Logger } from './log.js';
import type { StoredUpload } from './uploadRecord.js';

export type { StoredUpload };

/** A stored RTMP destination. Its URL holds the stream key: the file is readable by its owner only. */
export interface StoredDestination {
  readonly channel: string;
  readonly id: string;
  readonly url: string;
  readonly preset: PresetName | null;
  readonly enabled: boolean;
}

/**
 * Schema steps, applied in order once each; `PRAGMA user_version` records how many ran. Only ever append:
 * a shipped step is never edited, since databases in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE destinations (
     channel TEXT NOT NULL,
     id TEXT NOT NULL,
     url TEXT NOT NULL,
     preset TEXT,
     enabled INTEGER NOT NULL DEFAULT 1,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (channel, id)
   ) STRICT`,
  `CREATE TABLE channels (
     id TEXT PRIMARY KEY,
     settings TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE playlists (
     channel TEXT PRIMARY KEY,
     lines TEXT NOT NULL,
     loop INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE uploads (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     mime TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     file TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE TABLE scenes (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     settings TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT`,
  // The default framing changed (config/schema.ts, DEFAULT_AVATAR_PLACEMENT): a channel or saved scene stored
  // the old default placement and card height only because every parsed field was stored (nothing could edit
  // them but the config file), so they are dropped and the new defaults fill in.
  `UPDATE channels SET settings = json_remove(settings, '$.scene.avatarPlacement')
     WHERE CASE WHEN json_valid(settings) THEN json_extract(settings, '$.scene.avatarPlacement.x') = 0.5
       AND json_extract(settings, '$.scene.avatarPlacement.heightFraction') = 0.56
       AND json_extract(settings, '$.scene.avatarPlacement.bottom') = -0.01 ELSE 0 END;
   UPDATE scenes SET settings = json_remove(settings, '$.scene.avatarPlacement')
     WHERE CASE WHEN json_valid(settings) THEN json_extract(settings, '$.scene.avatarPlacement.x') = 0.5
       AND json_extract(settings, '$.scene.avatarPlacement.heightFraction') = 0.56
       AND json_extract(settings, '$.scene.avatarPlacement.bottom') = -0.01 ELSE 0 END;
   UPDATE channels SET settings = json_remove(settings, '$.scene.productCard.y')
     WHERE CASE WHEN json_valid(settings) THEN json_extract(settings, '$.scene.productCard.y') = 0.3 ELSE 0 END;
   UPDATE scenes SET settings = json_remove(settings, '$.scene.productCard.y')
     WHERE CASE WHEN json_valid(settings) THEN json_extract(settings, '$.scene.productCard.y') = 0.3 ELSE 0 END`,
];

/**
 * What the operator chose for a channel (preset, avatar, scene), kept as the validated JSON the channel runs
 * with, so a restart brings back the same picture.
 */
export interface StoredChannel {
  readonly id: string;
  readonly settings: Record<string, unknown>;
}

/** A scene the operator saved by name (background, overlays, avatar), to switch a channel to it live. */
export interface StoredScene {
  readonly id: string;
  readonly name: string;
  readonly settings: Record<string, unknown>;
  readonly updatedAt: number;
}

export interface StoredPlaylist {
  readonly lines: readonly { readonly text: string; readonly pauseMs?: number | undefined; readonly voice?: string | undefined }[];
  readonly loop: boolean;
}

interface DestinationRow {
  channel: string;
  id: string;
  url: string;
  preset: string | null;
  enabled: number;
}

/** The database cannot be used as it is; the message names the file and what the operator can do. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** SQLite's codes for a file that is not (or no longer) a sound database. */
const DAMAGED_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/** fenshen's state under FENSHEN_DATA: one SQLite file (better-sqlite3), migrated at open. */
export class Store {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /**
   * Opens (or creates) FENSHEN_DATA/fenshen.db. An existing file that was emptied (0 bytes: a full disk,
   * a bad copy) would open as a new database and every channel, scene and destination would be gone
   * without a word: it is kept aside under a dated name and the log says so, loudly. A damaged one is a
   * StoreError naming the file and what to do; it is never overwritten.
   */
  static open(dataDir: string, log?: Logger): Store {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'fenshen.db');
    const aside = keepEmptyDatabaseAside(file);
    if (aside) {
      const message = `${file} was empty (0 bytes): kept aside as ${basename(aside)}, starting with a new database (no stored channels, scenes, playlists, destinations or uploads). To get them back, stop fenshen and copy a backup to ${file}`;
      if (log) log.error(message);
      else process.stderr.write(`fenshen: ${message}\n`);
    }
    // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    let db: Database.Database | null = null;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 2000');
      // Before anything writes: a damaged file is reported as it is, not half-migrated.
      const check = db.pragma('quick_check(1)', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
      db.pragma('journal_mode = WAL');
      // Commits run on the event loop that ticks the live channels: with WAL's default (FULL) each one waits
      // for an fsync, which on this VM's disk held the tick for frames while 20 uploads were listed at once.
      // NORMAL syncs at checkpoints: a killed server loses nothing; only a power cut may lose the last writes,
      // never corrupting the file.
      db.pragma('synchronous = NORMAL');
      const store = new Store(db);
      store.#migrate();
      return store;
    } catch (err) {
      db?.close();
      const code = (err as { code?: unknown }).code;
      // Extended codes (SQLITE_CORRUPT_INDEX …) name the same kind of damage.
      if (typeof code === 'string' && [...DAMAGED_CODES].some((damaged) => code === damaged || code.startsWith(`${damaged}_`))) {
        throw new StoreError(`the database ${file} is damaged (${(err as Error).message}): restore it from a backup, or move it aside (mv ${file} ${file}.damaged) to start with no stored channels, scenes, playlists, destinations or uploads`);
      }
      throw err;
    }
  }

  #migrate(): void {
    const done = this.#db.pragma('user_version', { simple: true }) as number;
    if (done > MIGRATIONS.length) throw new Error(`the database under FENSHEN_DATA is from a newer fenshen (schema ${done}, this one knows ${MIGRATIONS.length})`);
    for (let step = done; step < MIGRATIONS.length; step++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[step] as string);
        this.#db.pragma(`user_version = ${step + 1}`);
      })();
    }
  }

  destinations(channel: string): StoredDestination[] {
    const rows = this.#db.prepare<[string], DestinationRow>('SELECT channel, id, url, preset, enabled FROM destinations WHERE channel = ? ORDER BY created_at, rowid').all(channel);
    return rows.map((r) => ({
      channel: r.channel,
      id: r.id,
      url: r.url,
      preset: (PRESET_NAMES as readonly string[]).includes(r.preset ?? '') ? (r.preset as PresetName) : null,
      enabled: r.enabled === 1,
    }));
  }

  addDestination(d: StoredDestination): void {
    this.#db
      .prepare('INSERT INTO destinations (channel, id, url, preset, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.channel, d.id, d.url, d.preset, d.enabled ? 1 : 0, Date.now());
  }

  setDestinationEnabled(channel: string, id: string, enabled: boolean): void {
    this.#db.prepare('UPDATE destinations SET enabled = ? WHERE channel = ? AND id = ?').run(enabled ? 1 : 0, channel, id);
  }

  removeDestination(channel: string, id: string): void {
    this.#db.prepare('DELETE FROM destinations WHERE channel = ? AND id = ?').run(channel, id);
  }

  /** Everything stored about a channel goes with it. */
  removeChannel(channel: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM destinations WHERE channel = ?').run(channel);
      this.#db.prepare('DELETE FROM playlists WHERE channel = ?').run(channel);
      this.#db.prepare('DELETE FROM channels WHERE id = ?').run(channel);
    })();
  }

  channels(): StoredChannel[] {
    const rows = this.#db.prepare<[], { id: string; settings: string }>('SELECT id, settings FROM channels ORDER BY created_at, rowid').all();
    return rows.flatMap((r) => withSettings(r));
  }

  channel(id: string): StoredChannel | null {
    const row = this.#db.prepare<[string], { id: string; settings: string }>('SELECT id, settings FROM channels WHERE id = ?').get(id);
    return row ? (withSettings(row)[0] ?? null) : null;
  }

  saveChannel(id: string, settings: Record<string, unknown>): void {
    const now = Date.now();
    this.#db
      .prepare('INSERT INTO channels (id, settings, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at')
      .run(id, JSON.stringify(settings), now, now);
  }

  playlist(channel: string): StoredPlaylist | null {
    const row = this.#db.prepare<[string], { lines: string; loop: number }>('SELECT lines, loop FROM playlists WHERE channel = ?').get(channel);
    const lines = row ? parseJson(row.lines) : null;
    return row && Array.isArray(lines) ? { lines: lines as StoredPlaylist['lines'], loop: row.loop === 1 } : null;
  }

  savePlaylist(channel: string, playlist: StoredPlaylist): void {
    this.#db
      .prepare('INSERT INTO playlists (channel, lines, loop, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET lines = excluded.lines, loop = excluded.loop, updated_at = excluded.updated_at')
      .run(channel, JSON.stringify(playlist.lines), playlist.loop ? 1 : 0, Date.now());
  }

  scenes(): StoredScene[] {
    const rows = this.#db.prepare<[], SceneRow>('SELECT id, name, settings, updated_at AS updatedAt FROM scenes ORDER BY name').all();
    return rows.flatMap((r) => withSettings(r));
  }

  scene(id: string): StoredScene | null {
    const row = this.#db.prepare<[string], SceneRow>('SELECT id, name, settings, updated_at AS updatedAt FROM scenes WHERE id = ?').get(id);
    return row ? (withSettings(row)[0] ?? null) : null;
  }

  /** Saves under `name`, replacing a scene of that name; returns its id. */
  saveScene(id: string, name: string, settings: Record<string, unknown>): string {
    const now = Date.now();
    const row = this.#db
      .prepare<[string, string, string, number, number], { id: string }>('INSERT INTO scenes (id, name, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at RETURNING id')
      .get(id, name, JSON.stringify(settings), now, now);
    return row?.id ?? id;
  }

  removeScene(id: string): boolean {
    return this.#db.prepare('DELETE FROM scenes WHERE id = ?').run(id).changes > 0;
  }

  uploads(): StoredUpload[] {
    return this.#db
      .prepare<[], StoredUpload & { createdAt: number }>('SELECT id, name, kind, mime, bytes, file, created_at AS createdAt FROM uploads ORDER BY created_at DESC, rowid DESC')
      .all();
  }

  upload(id: string): StoredUpload | null {
    return this.#db.prepare<[string], StoredUpload>('SELECT id, name, kind, mime, bytes, file, created_at AS createdAt FROM uploads WHERE id = ?').get(id) ?? null;
  }

  addUpload(u: StoredUpload): void {
    this.#db.prepare('INSERT INTO uploads (id, name, kind, mime, bytes, file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(u.id, u.name, u.kind, u.mime, u.bytes, u.file, u.createdAt);
  }

  removeUpload(id: string): void {
    this.#db.prepare('DELETE FROM uploads WHERE id = ?').run(id);
  }

  close(): void {
    this.#db.close();
  }
}

interface SceneRow {
  id: string;
  name: string;
  settings: string;
  updatedAt: number;
}

/** A row with its settings JSON parsed, as a one-element list, or none when the JSON is not an object. */
function withSettings<T extends { settings: string }>(row: T): (Omit<T, 'settings'> & { settings: Record<string, unknown> })[] {
  const settings = parseJson(row.settings);
  return settings && typeof settings === 'object' && !Array.isArray(settings) ? [{ ...row, settings: settings as Record<string, unknown> }] : [];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * Renames an existing 0-byte database (and removes its empty -wal/-shm companions) to
 * `fenshen.db.empty-<UTC time>`; returns the new path, or null when there was nothing to keep aside. A
 * 0-byte file beside a -wal that holds data is left to SQLite, which can rebuild from the -wal.
 */
function keepEmptyDatabaseAside(file: string): string | null {
  const size = (path: string) => (existsSync(path) ? statSync(path).size : -1);
  if (size(file) !== 0 || size(`${file}-wal`) > 0) return null;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const aside = `${file}.empty-${stamp}`;
  renameSync(file, aside);
  for (const companion of [`${file}-wal`, `${file}-shm`]) rmSync(companion, { force: true });
  return aside;
}
