/**
 * Renders on this server: one at a time (this box has two cores and the live rooms come first) in the
 * renderer process (videoRenderProcess.ts), started with the server before any channel (a fork of a server
 * with a live channel holds its tick) and at the lowest priority, so its channel, encoder and voice run below
 * every live room.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { VideoSpec } from '../pipeline/export/videoRender.js';
import { killJobProcess, spawnJobProcess } from './jobProcess.js';
import type { Logger } from './log.js';
import type { RenderEvent, RenderQueue } from './renderQueue.js';
import { RENDER_NICENESS, type VideoRenderJob, type VideoRenderReply, type VideoRenderWarm } from './videoRenderJob.js';

export interface LocalRenderQueueOptions {
  readonly dataDir: string;
  readonly ffmpegPath: string;
  readonly log: Logger;
}

export class LocalRenderQueue implements RenderQueue {
  readonly description = 'on this server, one at a time, niced';
  readonly #options: LocalRenderQueueOptions;
  readonly #waiting: { readonly id: string; readonly spec: VideoSpec }[] = [];
  #onEvent: (event: RenderEvent) => void = () => {};
  #renderer: ChildProcess | null = null;
  #running: string | null = null;
  #closed = false;

  constructor(options: LocalRenderQueueOptions) {
    this.#options = options;
  }

  async start(onEvent: (event: RenderEvent) => void): Promise<void> {
    this.#onEvent = onEvent;
    const warm: VideoRenderWarm = { kind: 'warm', dataDir: this.#options.dataDir, ffmpegPath: this.#options.ffmpegPath };
    this.#ensureRenderer().send(warm);
  }

  async submit(id: string, spec: VideoSpec): Promise<void> {
    this.#waiting.push({ id, spec });
    this.#next();
  }

  resume(id: string, spec: VideoSpec): Promise<void> {
    return this.submit(id, spec);
  }

  async cancel(id: string): Promise<void> {
    const at = this.#waiting.findIndex((w) => w.id === id);
    if (at >= 0) this.#waiting.splice(at, 1);
    if (this.#running === id) {
      this.#running = null;
      // A render cannot be stopped halfway inside the renderer: it goes (started again for the next).
      this.#renderer?.kill('SIGKILL');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await killJobProcess(this.#renderer);
  }

  #next(): void {
    if (this.#closed || this.#running) return;
    const next = this.#waiting.shift();
    if (!next) return;
    const renderer = this.#ensureRenderer();
    this.#running = next.id;
    this.#onEvent({ id: next.id, kind: 'started', worker: 'this server' });
    const job: VideoRenderJob = { id: next.id, spec: next.spec, ffmpegPath: this.#options.ffmpegPath, dataDir: this.#options.dataDir, dir: join(this.#options.dataDir, 'videos', next.id) };
    renderer.send(job);
  }

  #ensureRenderer(): ChildProcess {
    if (this.#renderer && this.#renderer.exitCode === null && this.#renderer.connected) return this.#renderer;
    const child = spawnJobProcess<VideoRenderReply>('videoRenderProcess', RENDER_NICENESS, {
      message: (reply) => {
        if (reply.id !== this.#running) return;
        this.#onEvent(reply);
        if (reply.kind !== 'progress') {
          this.#running = null;
          this.#next();
        }
      },
      error: (err) => this.#options.log.error(`the video renderer could not start: ${err.message}`),
      exit: (why, stderrTail) => {
        if (this.#renderer === child) this.#renderer = null;
        const running = this.#running;
        this.#running = null;
        if (running && !this.#closed) {
          this.#options.log.error(`video ${running}: the renderer process ended (${why}) ${stderrTail}`);
          this.#onEvent({ id: running, kind: 'failed', error: `the render stopped unexpectedly (${why})` });
        }
        this.#next();
      },
    });
    this.#renderer = child;
    return child;
  }
}
