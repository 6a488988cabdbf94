/**
 * Short videos on this server: each is a folder under FENSHEN_DATA/videos/<id>/ holding video.json (the
 * request and the render's state) and, once made, video.mp4 and subtitles.srt. Renders run one at a time
 * (this box has two cores and the live rooms come first) in the renderer process (videoRenderProcess.ts),
 * started with the server before any channel (a fork of a server with a live channel holds its tick) and at
 * the lowest priority, so its channel, encoder and voice run below every live room. A render the server
 * did not see finish (it stopped or was killed) starts again when it comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES } from '../config/presets.js';
import { avatarChoiceSchema, sceneSchema } from '../config/schema.js';
import type { VideoSpec } from '../pipeline/export/videoRender.js';
import { RENDER_NICENESS, type VideoRenderJob, type VideoRenderReply } from './videoRenderJob.js';
import { trackChild } from '../pipeline/process/childRegistry.js';
import type { VideoAnswer } from './api/contract.js';
import { ConflictError, NotFoundError } from './domainErrors.js';
import type { Logger } from './log.js';
import { childEnv, nodeScriptArgs } from './uploadChecks.js';

const playlistLine = z.object({ text: z.string(), pauseMs: z.number().optional(), voice: z.string().optional() });
const videoRecordSchema = z.object({
  id: z.string(),
  state: z.enum(['queued', 'rendering', 'done', 'failed']),
  progress: z.number(),
  stage: z.string(),
  error: z.string().optional(),
  durationS: z.number().optional(),
  renderS: z.number().optional(),
  createdAt: z.string(),
  /** When its render started (for the ETA). */
  startedAt: z.string().optional(),
  /** What was asked, as the render takes it (lines, preset, avatar, the scene as it was when asked). */
  spec: z.object({ lines: z.array(playlistLine), preset: z.enum(PRESET_NAMES), avatar: avatarChoiceSchema, scene: sceneSchema, subtitles: z.boolean() }),
  /** The saved scene it was asked with, if any. */
  sceneId: z.string().nullable(),
});
type VideoRecord = z.infer<typeof videoRecordSchema>;

const RECORD_FILE = 'video.json';
const SAVE_EVERY_MS = 2000;

export interface VideoJobsOptions {
  readonly dataDir: string;
  readonly ffmpegPath: string;
  readonly log: Logger;
}

export class VideoJobs {
  readonly #options: VideoJobsOptions;
  readonly #dir: string;
  readonly #records = new Map<string, VideoRecord>();
  readonly #queue: string[] = [];
  #renderer: ChildProcess | null = null;
  #running: { readonly id: string; lastSaveMs: number } | null = null;
  #closed = false;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: VideoJobsOptions) {
    this.#options = options;
    this.#dir = join(options.dataDir, 'videos');
  }

  /** Starts the renderer and reads the videos on disk; renders cut short by a stop are queued again. */
  start(): void {
    this.#ensureRenderer();
    if (!existsSync(this.#dir)) return;
    const found: VideoRecord[] = [];
    for (const id of readdirSync(this.#dir)) {
      const path = join(this.#dir, id, RECORD_FILE);
      if (!existsSync(path)) continue;
      try {
        found.push(videoRecordSchema.parse(JSON.parse(readFileSync(path, 'utf8'))));
      } catch (err) {
        this.#options.log.error(`video ${id}: ${RECORD_FILE} is damaged (${(err as Error).message.split('\n')[0]}); left out`);
      }
    }
    for (const record of found.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      this.#records.set(record.id, record);
      if (record.state === 'queued' || record.state === 'rendering') {
        if (record.state === 'rendering') this.#options.log.warn(`video ${record.id}: its render was interrupted (the server stopped); rendering it again`);
        this.#update(record.id, { state: 'queued', progress: 0, stage: 'queued' });
        this.#queue.push(record.id);
      }
    }
    this.#next();
  }

  list(): VideoAnswer[] {
    return [...this.#records.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(publicOf);
  }

  get(id: string): VideoAnswer | null {
    const record = this.#records.get(id);
    return record ? publicOf(record) : null;
  }

  /** The finished file `name` (video.mp4, subtitles.srt) of a done video, or a NotFoundError saying why not. */
  file(id: string, name: string): string {
    const record = this.#records.get(id);
    if (!record) throw new NotFoundError(`video ${id}`);
    if (record.state !== 'done') throw new ConflictError(`video ${id} is ${record.state}: its files are there once it is done`);
    return join(this.#dir, id, name);
  }

  async create(spec: VideoSpec, sceneId: string | null): Promise<VideoAnswer> {
    const id = `v-${randomBytes(5).toString('hex')}`;
    const record: VideoRecord = { id, state: 'queued', progress: 0, stage: 'queued', createdAt: new Date().toISOString(), spec: { ...spec, lines: [...spec.lines] }, sceneId };
    await mkdir(join(this.#dir, id), { recursive: true });
    this.#records.set(id, record);
    await this.#save(id);
    this.#options.log.info(`video ${id} queued: ${spec.lines.length} lines, ${spec.preset}, avatar ${spec.avatar.id}`);
    this.#queue.push(id);
    this.#next();
    return publicOf(record);
  }

  /** Deletes a video (stopping its render). */
  async remove(id: string): Promise<void> {
    if (!this.#records.has(id)) throw new NotFoundError(`video ${id}`);
    this.#records.delete(id);
    const queued = this.#queue.indexOf(id);
    if (queued >= 0) this.#queue.splice(queued, 1);
    if (this.#running?.id === id) {
      this.#running = null;
      // A render cannot be stopped halfway inside the renderer: it goes (started again for the next).
      this.#renderer?.kill('SIGKILL');
    }
    await rm(join(this.#dir, id), { recursive: true, force: true });
    this.#options.log.info(`video ${id} deleted`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#saving;
    const renderer = this.#renderer;
    if (!renderer || renderer.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => renderer.once('exit', () => resolve()));
    renderer.kill('SIGKILL');
    await exited;
  }

  #next(): void {
    if (this.#closed || this.#running) return;
    const id = this.#queue.shift();
    const record = id ? this.#records.get(id) : undefined;
    if (!id || !record) return;
    const renderer = this.#ensureRenderer();
    this.#running = { id, lastSaveMs: 0 };
    this.#update(id, { state: 'rendering', progress: 0, stage: 'starting', startedAt: new Date().toISOString() });
    void this.#save(id);
    const job: VideoRenderJob = { id, spec: record.spec, ffmpegPath: this.#options.ffmpegPath, dataDir: this.#options.dataDir, dir: join(this.#dir, id) };
    renderer.send(job);
  }

  #ensureRenderer(): ChildProcess {
    if (this.#renderer && this.#renderer.exitCode === null && this.#renderer.connected) return this.#renderer;
    const child = spawn(process.execPath, [...nodeScriptArgs('videoRenderProcess')], { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    trackChild(child);
    // At once, from here: its imports would otherwise run at the live channels' priority.
    try {
      if (child.pid !== undefined) setPriority(child.pid, RENDER_NICENESS);
    } catch {
      // Not allowed: the child lowers itself when it can.
    }
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    child.on('message', (reply: VideoRenderReply) => this.#onReply(reply));
    child.on('error', (err) => this.#options.log.error(`the video renderer could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.#renderer === child) this.#renderer = null;
      const running = this.#running;
      this.#running = null;
      if (running && this.#records.has(running.id) && !this.#closed) {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        this.#update(running.id, { state: 'failed', stage: 'failed', error: `the render stopped unexpectedly (${why})` });
        this.#options.log.error(`video ${running.id}: the renderer process ended (${why}) ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
        void this.#save(running.id).finally(() => this.#next());
      } else this.#next();
    });
    this.#renderer = child;
    return child;
  }

  #onReply(reply: VideoRenderReply): void {
    const running = this.#running;
    if (!running || running.id !== reply.id || !this.#records.has(reply.id)) return;
    const { id } = reply;
    if (reply.kind === 'progress') {
      const stageChanged = this.#records.get(id)?.stage !== reply.stage;
      this.#update(id, { progress: reply.progress, stage: reply.stage });
      if (stageChanged || performance.now() - running.lastSaveMs > SAVE_EVERY_MS) {
        running.lastSaveMs = performance.now();
        void this.#save(id);
      }
      return;
    }
    if (reply.kind === 'done') {
      this.#update(id, { state: 'done', progress: 1, stage: 'done', durationS: reply.durationS, renderS: reply.renderS });
      this.#options.log.info(`video ${id}: ${reply.durationS.toFixed(1)} s made in ${reply.renderS.toFixed(1)} s`);
    } else {
      this.#update(id, { state: 'failed', stage: 'failed', error: reply.error });
      this.#options.log.warn(`video ${id} failed: ${reply.error}`);
    }
    this.#running = null;
    void this.#save(id).finally(() => this.#next());
  }

  #update(id: string, change: Partial<VideoRecord>): void {
    const record = this.#records.get(id);
    if (record) this.#records.set(id, { ...record, ...change });
  }

  /** Writes the video's state as it is now, one write after another (see CloneJobs). */
  #save(id: string): Promise<void> {
    this.#saving = this.#saving.then(() => this.#write(id));
    return this.#saving;
  }

  async #write(id: string): Promise<void> {
    const record = this.#records.get(id);
    if (!record) return;
    const path = join(this.#dir, id, RECORD_FILE);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify(record, null, 1));
      await rename(`${path}.tmp`, path);
    } catch (err) {
      if (this.#records.has(id)) this.#options.log.error(`video ${id}: could not save its state: ${(err as Error).message}`);
    }
  }
}

function publicOf(record: VideoRecord): VideoAnswer {
  const done = record.state === 'done';
  return {
    id: record.id, state: record.state, progress: record.progress, stage: record.stage, createdAt: record.createdAt,
    preset: record.spec.preset, avatar: record.spec.avatar.id, scene: record.sceneId, lines: record.spec.lines.length,
    ...(record.error !== undefined ? { error: record.error } : {}),
    ...(record.durationS !== undefined ? { durationS: record.durationS } : {}),
    ...(record.renderS !== undefined ? { renderS: record.renderS } : {}),
    ...(record.state === 'rendering' ? { etaS: etaOf(record) } : {}),
    ...(done ? { file: `/api/videos/${record.id}/file`, subtitles: `/api/videos/${record.id}/subtitles.srt` } : {}),
  };
}

/** Seconds left, from the time so far and the progress (null until there is enough of it to tell). */
function etaOf(record: VideoRecord): number | null {
  if (!record.startedAt || record.progress < 0.05) return null;
  const elapsedS = (Date.now() - Date.parse(record.startedAt)) / 1000;
  return Math.round((elapsedS * (1 - record.progress)) / record.progress);
}
