/**
 * What the server and its video renderer process say to each other (kept apart from both, so the renderer
 * starts without loading the server's modules, and loads the pipeline only for its first job).
 */
import type { VideoSpec } from '../pipeline/export/videoRender.js';

/** Renders run at the lowest priority: a live channel's tick always comes first. */
export const RENDER_NICENESS = 19;

/** Sent once when the renderer starts: where it may warm the default avatar's sprites while it waits for a first job. */
export interface VideoRenderWarm {
  readonly kind: 'warm';
  readonly dataDir: string;
  readonly ffmpegPath: string;
}

/** What the renderer process is asked to do. */
export interface VideoRenderJob {
  readonly id: string;
  readonly spec: VideoSpec;
  readonly ffmpegPath: string;
  readonly dataDir: string;
  readonly dir: string;
}

/** What it answers, per job. */
export type VideoRenderReply = { readonly id: string } & (
  | { readonly kind: 'progress'; readonly progress: number; readonly stage: string }
  | { readonly kind: 'done'; readonly durationS: number; readonly renderS: number }
  | { readonly kind: 'failed'; readonly error: string }
);
