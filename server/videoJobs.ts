/**
 * Short videos on this server: each is a folder under FENSHEN_DATA/videos/<id>/ holding video.json (the
 * request and the render's state) and, once made, video.mp4 and subtitles.srt. This keeps the records and
 * answers the API; renders run in a RenderQueue: the server's own niced renderer process (embedded) or BullMQ
 * workers on Redis. A render the server did not see finish (it stopped or was killed) is resumed when it
 * comes back: rendered again, or its end read back from the queue.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES } from '../config/presets.js';
import { avatarChoiceSchema, sceneSchema } from '../config/schema.js';
import type { VideoSpec } from '../pipeline/export/videoRender.js';
import type { VideoAnswer } from './api/contract.js';
import { ConflictError, NotFoundError } from './domainErrors.js';
import { JobRecords } from './jobRecords.js';
import type { Logger } from './log.js';
import type { RenderEvent, RenderQueue } from './renderQueue.js';

const playlistLine = z.object({ text: z.string(), pauseMs: z.number().optional(), voice: z.string().optional() });
const videoRecordSchema = z.object({
  id: z.string(),
  state: z.enum(['queued', 'rendering', 'done', 'failed']),
  progress: z.number(),
  stage: z.string(),
  error: z.string().optional(),
  durationS: z.number().optional(),
  renderS: z.number().optional(),
  /** Who rendered it: "this server", or a worker's host and process. */
  worker: z.string().optional(),
  createdAt: z.string(),
  /** When its render started (for the ETA). */
  startedAt: z.string().optional(),
  /** What was asked, as the render takes it (lines, preset, avatar, the scene as it was when asked). */
  spec: z.object({ lines: z.array(playlistLine), preset: z.enum(PRESET_NAMES), avatar: avatarChoiceSchema, scene: sceneSchema, subtitles: z.boolean(), music: z.object({ file: z.string(), gainDb: z.number() }).optional(), drive: z.object({ file: z.string() }).optional(), aigc: z.object({ producer: z.string(), produceId: z.string() }).optional() }),
  /** The saved scene it was asked with, if any. */
  sceneId: z.string().nullable(),
});
type VideoRecord = z.infer<typeof videoRecordSchema>;

const RECORD_FILE = 'video.json';
const SAVE_EVERY_MS = 2000;

export interface VideoJobsOptions {
  readonly dataDir: string;
  readonly log: Logger;
  readonly queue: RenderQueue;
  /** The implicit AI label every video carries: its producer, and the prefix of its ProduceID (then the video's id). */
  readonly aigc: { readonly producer: string; readonly produceIdPrefix: string };
}

export class VideoJobs {
  readonly #options: VideoJobsOptions;
  readonly #dir: string;
  readonly #records: JobRecords<typeof videoRecordSchema>;
  readonly #lastSaveMs = new Map<string, number>();
  #closed = false;

  constructor(options: VideoJobsOptions) {
    this.#options = options;
    this.#dir = join(options.dataDir, 'videos');
    this.#records = new JobRecords({ dir: this.#dir, file: RECORD_FILE, schema: videoRecordSchema, what: 'video', log: options.log });
  }

  get queue(): RenderQueue {
    return this.#options.queue;
  }

  /** Starts the queue and reads the videos on disk; renders cut short by a stop are resumed. */
  async start(): Promise<void> {
    const { queue, log } = this.#options;
    await queue.start((event) => this.#onEvent(event));
    log.info(`short videos render ${queue.description}`);
    for (const record of this.#records.load()) {
      if (record.state !== 'queued' && record.state !== 'rendering') continue;
      if (record.state === 'rendering') log.warn(`video ${record.id}: the server stopped while it rendered; resuming it`);
      this.#records.update(record.id, { state: 'queued', progress: 0, stage: 'queued' });
      void this.#records.save(record.id);
      void queue.resume(record.id, record.spec).catch((err: unknown) => log.error(`video ${record.id}: could not be resumed: ${(err as Error).message}`));
    }
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
    const aigc = { producer: this.#options.aigc.producer, produceId: `${this.#options.aigc.produceIdPrefix}${id}` };
    const record: VideoRecord = { id, state: 'queued', progress: 0, stage: 'queued', createdAt: new Date().toISOString(), spec: { ...spec, lines: [...spec.lines], aigc }, sceneId };
    await mkdir(join(this.#dir, id), { recursive: true });
    this.#records.set(record);
    try {
      await this.#options.queue.submit(id, record.spec);
    } catch (err) {
      this.#records.delete(id);
      await rm(join(this.#dir, id), { recursive: true, force: true });
      throw err;
    }
    await this.#records.save(id);
    this.#options.log.info(`video ${id} queued: ${spec.lines.length} lines, ${spec.preset}, avatar ${spec.avatar.id}`);
    return publicOf(record);
  }

  /** Deletes a video (stopping its render where the queue can). */
  async remove(id: string): Promise<void> {
    if (!this.#records.has(id)) throw new NotFoundError(`video ${id}`);
    this.#records.delete(id);
    await this.#options.queue.cancel(id);
    await rm(join(this.#dir, id), { recursive: true, force: true });
    this.#options.log.info(`video ${id} deleted`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#records.flush();
    await this.#options.queue.close();
  }

  #onEvent(event: RenderEvent): void {
    const { id } = event;
    const record = this.#records.get(id);
    if (!record || this.#closed) return;
    const { log } = this.#options;
    switch (event.kind) {
      case 'started':
        this.#records.update(id, { state: 'rendering', progress: 0, stage: 'starting', startedAt: new Date().toISOString(), worker: event.worker });
        break;
      case 'progress': {
        const stageChanged = record.stage !== event.stage;
        this.#records.update(id, { state: 'rendering', progress: event.progress, stage: event.stage });
        const last = this.#lastSaveMs.get(id) ?? 0;
        if (!stageChanged && performance.now() - last < SAVE_EVERY_MS) return;
        this.#lastSaveMs.set(id, performance.now());
        break;
      }
      case 'done':
        this.#records.update(id, { state: 'done', progress: 1, stage: 'done', durationS: event.durationS, renderS: event.renderS });
        log.info(`video ${id}: ${event.durationS.toFixed(1)} s made in ${event.renderS.toFixed(1)} s${record.worker ? ` by ${record.worker}` : ''}`);
        break;
      case 'failed':
        this.#records.update(id, { state: 'failed', stage: 'failed', error: event.error });
        log.warn(`video ${id} failed: ${event.error}`);
        break;
      case 'requeued':
        this.#records.update(id, { state: 'queued', progress: 0, stage: 'queued' });
        log.warn(`video ${id}: ${event.why}`);
        break;
    }
    if (event.kind !== 'progress') this.#lastSaveMs.delete(id);
    void this.#records.save(id);
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
    ...(record.worker !== undefined ? { worker: record.worker } : {}),
    ...(record.spec.music ? { music: record.spec.music.file } : {}),
    ...(record.spec.drive ? { drive: record.spec.drive.file } : {}),
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
