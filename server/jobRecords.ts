/**
 * The records of long jobs (clone builds, short videos), one folder each under `dir` holding `file` (JSON):
 * read back at start (a damaged one is left out and logged), kept in memory for the API, and saved one write
 * after another, each the latest state (two overlapping writes into one temporary file once made a damaged
 * record a restart left out; the file never goes back to an older state).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { Logger } from './log.js';

export interface JobRecordsOptions<S extends z.ZodType<{ readonly id: string; readonly createdAt: string }>> {
  readonly dir: string;
  readonly file: string;
  readonly schema: S;
  /** What a record is, for log lines ("video", "clone"). */
  readonly what: string;
  readonly log: Logger;
}

export class JobRecords<S extends z.ZodType<{ readonly id: string; readonly createdAt: string }>> {
  readonly #options: JobRecordsOptions<S>;
  readonly #records = new Map<string, z.output<S>>();
  #saving: Promise<void> = Promise.resolve();

  constructor(options: JobRecordsOptions<S>) {
    this.#options = options;
  }

  /** Reads the records on disk, oldest first; a damaged one is logged and left out. */
  load(): z.output<S>[] {
    const { dir, file, schema, what, log } = this.#options;
    if (!existsSync(dir)) return [];
    const found: z.output<S>[] = [];
    for (const id of readdirSync(dir)) {
      const path = join(dir, id, file);
      if (!existsSync(path)) continue;
      try {
        found.push(schema.parse(JSON.parse(readFileSync(path, 'utf8'))));
      } catch (err) {
        log.error(`${what} ${id}: ${file} is damaged (${(err as Error).message.split('\n')[0]}); left out`);
      }
    }
    found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const record of found) this.#records.set(record.id, record);
    return found;
  }

  get(id: string): z.output<S> | undefined {
    return this.#records.get(id);
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  values(): IterableIterator<z.output<S>> {
    return this.#records.values();
  }

  set(record: z.output<S>): void {
    this.#records.set(record.id, record);
  }

  delete(id: string): void {
    this.#records.delete(id);
  }

  update(id: string, change: Partial<z.output<S>>): void {
    const record = this.#records.get(id);
    if (record) this.#records.set(id, { ...record, ...change });
  }

  /** Writes the record as it is now, after the writes before it. */
  save(id: string): Promise<void> {
    this.#saving = this.#saving.then(() => this.#write(id));
    return this.#saving;
  }

  /** Waits for the writes asked so far. */
  flush(): Promise<void> {
    return this.#saving;
  }

  async #write(id: string): Promise<void> {
    const record = this.#records.get(id);
    if (!record) return;
    const path = join(this.#options.dir, id, this.#options.file);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify(record, null, 1));
      await rename(`${path}.tmp`, path);
    } catch (err) {
      // Deleted meanwhile, or the data folder refused: the state in memory still answers.
      if (this.#records.has(id)) this.#options.log.error(`${this.#options.what} ${id}: could not save its state: ${(err as Error).message}`);
    }
  }
}
