/**
 * Where short videos render: the server's own renderer process (embedded, the default) or BullMQ workers on
 * Redis (`npm run worker`). VideoJobs keeps the records and the API; a queue only runs renders and says
 * what happened to them.
 */
import type { VideoSpec } from '../pipeline/export/videoRender.js';

/** What a queue says about a render. */
export type RenderEvent = { readonly id: string } & (
  | { readonly kind: 'started'; readonly worker: string }
  | { readonly kind: 'progress'; readonly progress: number; readonly stage: string }
  | { readonly kind: 'done'; readonly durationS: number; readonly renderS: number }
  | { readonly kind: 'failed'; readonly error: string }
  /** Back in the queue: the worker rendering it went away (another takes it over). */
  | { readonly kind: 'requeued'; readonly why: string }
);

export interface RenderQueue {
  /** Says where renders run, for the log (no secrets). */
  readonly description: string;
  start(onEvent: (event: RenderEvent) => void): Promise<void>;
  /** Queues a new render. */
  submit(id: string, spec: VideoSpec): Promise<void>;
  /** A render the records show unfinished at start: queued again unless the queue still has it, or says how it ended. */
  resume(id: string, spec: VideoSpec): Promise<void>;
  /** Forgets a render, stopping it where the queue can. */
  cancel(id: string): Promise<void>;
  close(): Promise<void>;
}
