/**
 * Clones (分身) on this server: each is a folder under FENSHEN_DATA/avatars/<id>/ holding clone.json (who,
 * from which recording, with whose consent, and the build's state) and, once built, the clone's files and
 * manifest. Builds run one at a time in the builder process (cloneBuildProcess.ts), started with the server
 * before any channel: forking a server with a live channel holds its tick (measured: 9-17 frames repeated
 * over a build when forked mid-air, 0 when the builder already ran). A build the server did not see finish
 * (it stopped or was killed) starts again from the recording when it comes back.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { ffprobeBeside } from '../pipeline/mediaProbe.js';
import { qualityReportSchema } from '../pipeline/clone/cloneManifest.js';
import type { QualityReport } from '../pipeline/clone/recordingQuality.js';
import type { CloneAvatarAnswer, CreateCloneBody } from './api/contract.js';
import { ConflictError, NotFoundError, UnprocessableError } from './domainErrors.js';
import type { DiskReserve } from './diskReserve.js';
import { killJobProcess, spawnJobProcess } from './jobProcess.js';
import { JobRecords } from './jobRecords.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';

/** What the build process is asked to do (cloneBuildProcess.ts). */
export interface CloneBuildRequest {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  readonly recording: string;
  readonly recordingName: string;
  readonly dir: string;
  readonly name: string;
  readonly consent: { readonly person: string; readonly confirmedAt: string; readonly agreedAt?: string | undefined; readonly document?: string | undefined };
}

export interface CloneBuildJob {
  readonly id: string;
  readonly request: CloneBuildRequest;
}

/** What it answers, per job: progress as it goes, then done or failed (with the quality report when the recording was judged). */
export type CloneBuildReply = { readonly id: string } & (
  | { readonly kind: 'progress'; readonly progress: number; readonly stage: string }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: string; readonly report: QualityReport | null }
);

const cloneRecordSchema = z.object({
  id: z.string(),
  kind: z.literal('clone'),
  name: z.string(),
  state: z.enum(['building', 'ready', 'failed']),
  progress: z.number(),
  stage: z.string(),
  error: z.string().optional(),
  report: qualityReportSchema.optional(),
  consent: z.object({ person: z.string(), confirmedAt: z.string(), agreedAt: z.string().optional(), document: z.string().optional() }),
  recording: z.object({ upload: z.string(), name: z.string(), file: z.string() }),
  createdAt: z.string(),
});
type CloneRecord = z.infer<typeof cloneRecordSchema>;

const RECORD_FILE = 'clone.json';
/** Builds run at the lowest priority: a live channel's tick always comes first (threads started later inherit it). */
export const BUILD_NICENESS = 19;
/** Progress is written to clone.json at most this often (GET answers from memory). */
const SAVE_EVERY_MS = 2000;

export interface CloneJobsOptions {
  readonly dataDir: string;
  readonly ffmpegPath: string;
  readonly store: Store;
  readonly log: Logger;
  /** The channels showing an avatar (a clone cannot be deleted while shown). */
  readonly channelsShowing: (avatarId: string) => string[];
  /** Refuses a build that would leave the data folder's disk under its reserve. */
  readonly diskReserve: DiskReserve;
}

/** What a clone's folder may take (its loop, matte and mouth library are tens of MB; a long 1080p recording more). */
const CLONE_BUILD_BYTES = 200 * 1024 * 1024;

export class CloneJobs {
  readonly #options: CloneJobsOptions;
  readonly #dir: string;
  readonly #records: JobRecords<typeof cloneRecordSchema>;
  readonly #queue: string[] = [];
  #builder: ChildProcess | null = null;
  #running: { readonly id: string; readonly startedMs: number; lastSaveMs: number } | null = null;
  #closed = false;
  /** The last state write queued (they run one at a time). */

  constructor(options: CloneJobsOptions) {
    this.#options = options;
    this.#dir = join(options.dataDir, 'avatars');
    this.#records = new JobRecords({ dir: this.#dir, file: RECORD_FILE, schema: cloneRecordSchema, what: 'clone', log: options.log });
  }

  /** Starts the builder and reads the clones on disk; builds that were cut short by a stop start again. */
  start(): void {
    this.#ensureBuilder();
    for (const record of this.#records.load()) {
      if (record.state !== 'building') continue;
      this.#options.log.warn(`clone ${record.id}: its build was interrupted (the server stopped); building again from the recording`);
      this.#records.update(record.id, { progress: 0, stage: 'queued again: the server stopped during the build' });
      this.#queue.push(record.id);
    }
    this.#next();
  }

  list(): CloneAvatarAnswer[] {
    return [...this.#records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(publicOf);
  }

  get(id: string): CloneAvatarAnswer | null {
    const record = this.#records.get(id);
    return record ? publicOf(record) : null;
  }

  /** Queues a build from an uploaded recording; the consent is recorded with the time it was given. */
  async create(body: CreateCloneBody): Promise<CloneAvatarAnswer> {
    const upload = this.#options.store.upload(body.upload);
    if (!upload) throw new NotFoundError(`upload ${body.upload}`);
    if (upload.kind !== 'video') throw new UnprocessableError(`upload ${body.upload} is a picture: a clone is made from a video recording of the host`);
    const signed = body.consent.document === undefined ? null : this.#options.store.upload(body.consent.document);
    if (body.consent.document !== undefined && signed?.kind !== 'image') throw new UnprocessableError(`consent.document: upload ${body.consent.document} ${signed ? 'is not a picture' : 'is not there'}: upload the signed form as a photo or scan`);
    await this.#options.diskReserve.ensureRoom(CLONE_BUILD_BYTES, 'a clone build');
    const id = `clone-${randomBytes(4).toString('hex')}`;
    const now = new Date().toISOString();
    // The signed form is copied in with the clone: it goes where the clone goes, and stays when the upload is deleted.
    const document = signed ? `consent${extname(signed.file)}` : undefined;
    const record: CloneRecord = {
      id, kind: 'clone', name: body.name.trim(), state: 'building', progress: 0, stage: 'queued',
      consent: { person: body.consent.person.trim(), confirmedAt: now, ...(body.consent.agreedAt ? { agreedAt: body.consent.agreedAt } : {}), ...(document ? { document } : {}) },
      recording: { upload: upload.id, name: upload.name, file: upload.file }, createdAt: now,
    };
    await mkdir(join(this.#dir, id), { recursive: true });
    if (signed && document) await copyFile(join(this.#options.dataDir, signed.file), join(this.#dir, id, document));
    this.#records.set(record);
    await this.#records.save(id);
    this.#options.log.info(`clone ${id} ("${record.name}") queued from upload ${upload.id}; consent given for ${record.consent.person}`);
    this.#queue.push(id);
    this.#next();
    return publicOf(record);
  }

  /** Deletes a clone (stopping its build); 409 while a channel shows it. */
  async remove(id: string): Promise<void> {
    if (!this.#records.has(id)) throw new NotFoundError(`avatar ${id}`);
    const showing = this.#options.channelsShowing(id);
    if (showing.length > 0) throw new ConflictError(`clone ${id} is on air on ${showing.join(', ')}: show another avatar there first`);
    this.#records.delete(id);
    const queued = this.#queue.indexOf(id);
    if (queued >= 0) this.#queue.splice(queued, 1);
    // A build cannot be stopped halfway inside the builder: the builder goes (started again for the next).
    if (this.#running?.id === id) {
      this.#running = null;
      this.#builder?.kill('SIGKILL');
    }
    await rm(join(this.#dir, id), { recursive: true, force: true });
    this.#options.log.info(`clone ${id} deleted`);
  }

  /** Ends the builder (a build under way starts again with the next start()). */
  async close(): Promise<void> {
    this.#closed = true;
    // A state the API has already answered (ready, failed) is on disk before the server goes.
    await this.#records.flush();
    await killJobProcess(this.#builder);
  }

  #next(): void {
    if (this.#closed || this.#running) return;
    const id = this.#queue.shift();
    const record = id ? this.#records.get(id) : undefined;
    if (!id || !record) return;
    const builder = this.#ensureBuilder();
    this.#running = { id, startedMs: performance.now(), lastSaveMs: 0 };
    const job: CloneBuildJob = {
      id,
      request: {
        ffmpegPath: this.#options.ffmpegPath, ffprobePath: ffprobeBeside(this.#options.ffmpegPath),
        recording: join(this.#options.dataDir, record.recording.file), recordingName: record.recording.name,
        dir: join(this.#dir, id), name: record.name, consent: record.consent,
      },
    };
    builder.send(job);
  }

  /** The builder process, started when missing (at start(), and again after it died or a build was cancelled). */
  #ensureBuilder(): ChildProcess {
    if (this.#builder && this.#builder.exitCode === null && this.#builder.connected) return this.#builder;
    const child = spawnJobProcess<CloneBuildReply>('cloneBuildProcess', BUILD_NICENESS, {
      message: (reply) => this.#onReply(reply),
      error: (err) => this.#options.log.error(`the clone builder could not start: ${err.message}`),
      exit: (why, stderrTail) => {
        if (this.#builder === child) this.#builder = null;
        const running = this.#running;
        this.#running = null;
        if (running && this.#records.has(running.id) && !this.#closed) {
          this.#records.update(running.id, { state: 'failed', stage: 'failed', error: `the build stopped unexpectedly (${why}): delete the clone and try again` });
          this.#options.log.error(`clone ${running.id}: the builder process ended (${why}) ${stderrTail}`);
          void this.#records.save(running.id).finally(() => this.#next());
        } else this.#next();
      },
    });
    this.#builder = child;
    return child;
  }

  #onReply(reply: CloneBuildReply): void {
    const running = this.#running;
    if (!running || running.id !== reply.id || !this.#records.has(reply.id)) return;
    const { id } = reply;
    if (reply.kind === 'progress') {
      const stageChanged = this.#records.get(id)?.stage !== reply.stage;
      this.#records.update(id, { progress: reply.progress, stage: reply.stage });
      if (stageChanged || performance.now() - running.lastSaveMs > SAVE_EVERY_MS) {
        running.lastSaveMs = performance.now();
        void this.#records.save(id);
      }
      return;
    }
    if (reply.kind === 'done') {
      this.#records.update(id, { state: 'ready', progress: 1, stage: 'ready', report: this.#readReport(id) });
      this.#options.log.info(`clone ${id} built in ${((performance.now() - running.startedMs) / 1000).toFixed(1)} s`);
    } else {
      this.#records.update(id, { state: 'failed', stage: 'failed', error: reply.error, ...(reply.report ? { report: reply.report } : {}) });
      this.#options.log.warn(`clone ${id} failed: ${reply.error}`);
    }
    this.#running = null;
    void this.#records.save(id).finally(() => this.#next());
  }

  #readReport(id: string): QualityReport | undefined {
    try {
      const manifest = JSON.parse(readFileSync(join(this.#dir, id, 'manifest.json'), 'utf8')) as { report?: unknown };
      return qualityReportSchema.parse(manifest.report) as QualityReport;
    } catch {
      return undefined;
    }
  }
}

function publicOf(record: CloneRecord): CloneAvatarAnswer {
  const { recording, ...rest } = record;
  return { ...rest, recording: { upload: recording.upload, name: recording.name } } as CloneAvatarAnswer;
}
