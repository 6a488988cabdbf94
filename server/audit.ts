/**
 * The audit trail: what operators did (every change through the API, with the address it came from), when
 * the token was used from a new address or refused, and what each channel said on air (the sentence and
 * its media time), appended as JSON lines to FENSHEN_DATA/audit/audit-YYYY-MM-DD.jsonl (UTC days), kept
 * `retentionDays`. Nothing secret is written: no token, no stream key (URLs' last path segment and query
 * are masked, fields named like keys are left out).
 */
import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scrubLine } from '../pipeline/process/scrubLog.js';
import type { Logger } from './log.js';

export interface AuditEntry {
  /** ISO time the entry was written. */
  readonly at: string;
  /** What happened: a route ("PUT /api/channels/:id/scene"), "said", "token used", "token refused", ... */
  readonly action: string;
  readonly channel?: string;
  /** The operator's address (the request's), for actions over the API. */
  readonly from?: string;
  /** The answer's status, for actions over the API. */
  readonly status?: number;
  readonly details?: Record<string, unknown>;
}

export interface AuditQuery {
  readonly fromMs: number;
  readonly toMs: number;
  /** Only entries whose action contains this text. */
  readonly action?: string | undefined;
  readonly channel?: string | undefined;
  readonly limit: number;
}

export interface AuditLogOptions {
  readonly dataDir: string;
  readonly retentionDays: number;
  /** Text no entry may hold (the operator token). */
  readonly secrets: readonly string[];
  readonly log: Logger;
}

const FILE_PATTERN = /^audit-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_MS = 24 * 3600 * 1000;
/** Fields never written, at any depth. */
const SECRET_FIELDS = /^(key|streamKey|stream_key|token|password|secret|authorization)$/i;
const PRUNE_EVERY_MS = 6 * 3600 * 1000;
/** The token's use is written once an hour per address (the console polls); refusals once a minute, counted. */
const TOKEN_USE_EVERY_MS = 3600 * 1000;
const TOKEN_REFUSED_EVERY_MS = 60 * 1000;
/** Addresses remembered for the above at most (a flood of sources forgets the oldest). */
const MAX_ADDRESSES = 10_000;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ADDRESSES) map.delete(map.keys().next().value as string);
}

/**
 * `value` made safe to keep: secret fields left out, each string scrubbed as log lines are (the secrets, any
 * URL's stream key, query and password, `key=…` credentials) and cut to a log line's length.
 */
function redact(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (depth > 6) return '…';
  if (typeof value === 'string') return scrubLine(value, secrets);
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, secrets, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!SECRET_FIELDS.test(k)) out[k] = redact(v, secrets, depth + 1);
    return out;
  }
  return value;
}

export class AuditLog {
  readonly #options: AuditLogOptions;
  readonly #dir: string;
  /** Lines not yet written, in order, and the one writer that writes them (one file append after another, so
   *  entries keep their order even when the day changes between them). */
  #pending: { day: string; text: string }[] = [];
  #writing: Promise<void> | null = null;
  readonly #pruneTimer: NodeJS.Timeout;
  #failed = false;
  /** Per address: when its token use (or refusal) was last written, and refusals not written since. */
  readonly #tokenUse = new Map<string, number>();
  readonly #tokenRefused = new Map<string, { atMs: number; unwritten: number }>();

  constructor(options: AuditLogOptions) {
    this.#options = options;
    this.#dir = join(options.dataDir, 'audit');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    this.prune();
    this.#pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS).unref();
  }

  get dir(): string {
    return this.#dir;
  }

  /** Appends one entry (written in order; a failing disk is logged once, never thrown at the caller). */
  append(entry: Omit<AuditEntry, 'at'>, atMs = Date.now()): void {
    const full: AuditEntry = { at: new Date(atMs).toISOString(), ...entry, ...(entry.details ? { details: redact(entry.details, this.#options.secrets) as Record<string, unknown> } : {}) };
    // The secrets once more over the whole line (an address or action never holds one; a slip must not keep it).
    let line = JSON.stringify(full);
    for (const secret of this.#options.secrets) if (secret.length >= 4) line = line.split(secret).join('***');
    this.#pending.push({ day: dayOf(atMs), text: `${line}\n` });
    this.#writing ??= this.#drain();
  }

  /** The operator token was used (`ok`) or refused from `from`: written the first time in a while per address. */
  noteToken(ok: boolean, from: string, nowMs = Date.now()): void {
    if (ok) {
      const last = this.#tokenUse.get(from);
      if (last !== undefined && nowMs - last < TOKEN_USE_EVERY_MS) return;
      remember(this.#tokenUse, from, nowMs);
      this.append({ action: 'token used', from }, nowMs);
      return;
    }
    const seen = this.#tokenRefused.get(from);
    if (seen && nowMs - seen.atMs < TOKEN_REFUSED_EVERY_MS) {
      seen.unwritten++;
      return;
    }
    remember(this.#tokenRefused, from, { atMs: nowMs, unwritten: 0 });
    this.append({ action: 'token refused', from, details: { refusedSinceLastEntry: (seen?.unwritten ?? 0) + 1 } }, nowMs);
  }

  /** Entries between `fromMs` and `toMs` (inclusive), oldest first, at most `limit`. */
  async read(query: AuditQuery): Promise<AuditEntry[]> {
    const found: AuditEntry[] = [];
    for await (const entry of this.entries(query)) {
      found.push(entry);
      if (found.length >= query.limit) break;
    }
    return found;
  }

  /** The matching entries as they are read from the day files, oldest first. */
  async *entries(query: AuditQuery): AsyncGenerator<AuditEntry> {
    await this.#flush();
    const first = dayOf(query.fromMs), last = dayOf(query.toMs);
    const days = readdirSync(this.#dir).map((f) => FILE_PATTERN.exec(f)?.[1]).filter((d): d is string => d !== undefined && d >= first && d <= last).sort();
    for (const day of days) {
      const lines = createInterface({ input: createReadStream(join(this.#dir, `audit-${day}.jsonl`), 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.trim()) continue;
        let entry: AuditEntry;
        try {
          entry = JSON.parse(line) as AuditEntry;
        } catch {
          continue; // a line cut short by a crash
        }
        const atMs = Date.parse(entry.at);
        if (atMs < query.fromMs || atMs > query.toMs) continue;
        if (query.action && !entry.action.includes(query.action)) continue;
        if (query.channel && entry.channel !== query.channel) continue;
        yield entry;
      }
    }
  }

  /** Deletes day files older than the retention. */
  prune(nowMs = Date.now()): void {
    const oldest = dayOf(nowMs - this.#options.retentionDays * DAY_MS);
    for (const file of readdirSync(this.#dir)) {
      const day = FILE_PATTERN.exec(file)?.[1];
      if (day !== undefined && day < oldest) rmSync(join(this.#dir, file), { force: true });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#pruneTimer);
    await this.#flush();
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      // One append per run of entries of the same day.
      for (let i = 0; i < batch.length; ) {
        const day = batch[i]!.day;
        let text = '';
        for (; i < batch.length && batch[i]!.day === day; i++) text += batch[i]!.text;
        const file = join(this.#dir, `audit-${day}.jsonl`);
        try {
          await appendFile(file, text, { mode: 0o600 });
          this.#failed = false;
        } catch (err) {
          if (!this.#failed) this.#options.log.error(`audit log: cannot write ${join('audit', `audit-${day}.jsonl`)} (${(err as Error).message}); entries are being lost`);
          this.#failed = true;
        }
      }
    }
    this.#writing = null;
  }

  /** Waits until what was appended so far is written. */
  #flush(): Promise<void> {
    return this.#writing ?? Promise.resolve();
  }
}
