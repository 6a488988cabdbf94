import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { PRESET_NAMES, type PresetName } from '../config/presets.js';

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
];

interface DestinationRow {
  channel: string;
  id: string;
  url: string;
  preset: string | null;
  enabled: number;
}

/** fenshen's state under FENSHEN_DATA: one SQLite file (better-sqlite3), migrated at open. */
export class Store {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  static open(dataDir: string): Store {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'fenshen.db');
    // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 2000');
    const store = new Store(db);
    store.#migrate();
    return store;
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

  removeChannel(channel: string): void {
    this.#db.prepare('DELETE FROM destinations WHERE channel = ?').run(channel);
  }

  close(): void {
    this.#db.close();
  }
}
