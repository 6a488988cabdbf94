/**
 * Renders through BullMQ on Redis: the server adds a job per video and follows the queue's events; any
 * number of `npm run worker` processes (server/videoWorker.ts), here or on machines that share FENSHEN_DATA,
 * take jobs, render them and write the files into the shared folder. A worker that dies stops renewing its
 * job's lock; another worker's stalled check puts the job back and renders it again.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { VideoSpec } from '../pipeline/export/videoRender.js';
import { BusyError } from './domainErrors.js';
import type { Logger } from './log.js';
import type { RenderEvent, RenderQueue } from './renderQueue.js';
import { maskRedisUrl, type VideoQueueData, type VideoQueueProgress, type VideoQueueResult } from './videoQueueJob.js';

export interface RedisRenderQueueOptions {
  readonly url: string;
  readonly queue: string;
  readonly log: Logger;
}

/** How long adding a job may take before the request is answered 503 (Redis unreachable). */
const ADD_TIMEOUT_MS = 5000;
/** Finished jobs are kept in Redis this long (the records on disk are what the API serves). */
const KEEP_FINISHED_S = 7 * 24 * 3600;

export class RedisRenderQueue implements RenderQueue {
  readonly description: string;
  readonly #options: RedisRenderQueueOptions;
  readonly #queue: Queue<VideoQueueData, VideoQueueResult>;
  readonly #events: QueueEvents;
  #onEvent: (event: RenderEvent) => void = () => {};
  /** Jobs this server saw a worker take, so the first progress names the worker once. */
  readonly #workerOf = new Map<string, string>();

  constructor(options: RedisRenderQueueOptions) {
    this.#options = options;
    this.description = `BullMQ queue "${options.queue}" on ${maskRedisUrl(options.url)}`;
    const connection = { url: options.url, maxRetriesPerRequest: null };
    this.#queue = new Queue(options.queue, { connection });
    this.#events = new QueueEvents(options.queue, { connection });
    // Redis going away is logged (folded when repeated) and retried by ioredis; it never throws here.
    const logError = (err: Error) => options.log.error(`video queue (${this.description}): ${err.message}`, 'video-queue-error');
    this.#queue.on('error', logError);
    this.#events.on('error', logError);
  }

  async start(onEvent: (event: RenderEvent) => void): Promise<void> {
    this.#onEvent = onEvent;
    this.#events.on('progress', ({ jobId, data }) => {
      const p = data as Partial<VideoQueueProgress>;
      if (typeof p !== 'object' || typeof p.progress !== 'number') return;
      if (p.worker && this.#workerOf.get(jobId) !== p.worker) {
        this.#workerOf.set(jobId, p.worker);
        this.#onEvent({ id: jobId, kind: 'started', worker: p.worker });
      }
      this.#onEvent({ id: jobId, kind: 'progress', progress: p.progress, stage: p.stage ?? 'rendering' });
    });
    this.#events.on('completed', ({ jobId, returnvalue }) => {
      this.#workerOf.delete(jobId);
      const result = parseResult(returnvalue);
      this.#onEvent(result ? { id: jobId, kind: 'done', durationS: result.durationS, renderS: result.renderS } : { id: jobId, kind: 'failed', error: 'the worker returned no result' });
    });
    this.#events.on('failed', ({ jobId, failedReason }) => {
      this.#workerOf.delete(jobId);
      this.#onEvent({ id: jobId, kind: 'failed', error: failedReason });
    });
    this.#events.on('stalled', ({ jobId }) => {
      this.#workerOf.delete(jobId);
      this.#onEvent({ id: jobId, kind: 'requeued', why: 'its worker stopped answering; another worker takes it over' });
    });
    // Not awaited to the end: a server whose Redis is down still starts (its live rooms do not need Redis).
    void this.#events.waitUntilReady().catch(() => {});
  }

  async submit(id: string, spec: VideoSpec): Promise<void> {
    await this.#add(id, spec);
  }

  async resume(id: string, spec: VideoSpec): Promise<void> {
    const job = await this.#queue.getJob(id).catch(() => undefined);
    if (!job) return this.#add(id, spec);
    const state = await job.getState();
    if (state === 'completed') {
      const result = parseResult(job.returnvalue);
      if (result) this.#onEvent({ id, kind: 'done', durationS: result.durationS, renderS: result.renderS });
    } else if (state === 'failed') {
      this.#onEvent({ id, kind: 'failed', error: job.failedReason || 'the render failed' });
    }
    // Waiting or active: its events are still to come.
  }

  async cancel(id: string): Promise<void> {
    // A job a worker holds cannot be removed; the worker finishes it and the server ignores the result.
    await this.#queue.remove(id).catch(() => 0);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#events.close(), this.#queue.close()]);
  }

  async #add(id: string, spec: VideoSpec): Promise<void> {
    const added = this.#queue.add('render', { id, spec }, {
      jobId: id,
      attempts: 1,
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BusyError(`the video queue (${this.description}) cannot be reached; try again later`, 30)), ADD_TIMEOUT_MS);
    });
    try {
      await Promise.race([added, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseResult(value: unknown): VideoQueueResult | null {
  const parsed: unknown = typeof value === 'string' ? safeJson(value) : value;
  if (!parsed || typeof parsed !== 'object') return null;
  const r = parsed as Partial<VideoQueueResult>;
  return typeof r.durationS === 'number' && typeof r.renderS === 'number' ? { durationS: r.durationS, renderS: r.renderS, worker: String(r.worker ?? '') } : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
