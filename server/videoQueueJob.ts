/**
 * What a server and `npm run worker` processes say to each other through the BullMQ queue (kept apart from
 * both): the job's data, the progress a worker reports, what it returns. The video's files go into the
 * shared data folder (FENSHEN_DATA/videos/<id>/), where the server serves them from.
 */
import type { VideoSpec } from '../pipeline/export/videoRender.js';

export interface VideoQueueData {
  readonly id: string;
  readonly spec: VideoSpec;
}

export interface VideoQueueProgress {
  readonly progress: number;
  readonly stage: string;
  /** The worker rendering it (host and process), so an operator can tell which machine made a file. */
  readonly worker: string;
}

export interface VideoQueueResult {
  readonly durationS: number;
  readonly renderS: number;
  readonly worker: string;
}

/** Redis URL with its password hidden, for logs and answers. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis (URL not shown)';
  }
}
