import type { FaceResult, TrackingOptions } from './faceTracker.js';
import type { DriveInput } from './videoSource.js';

/** Main thread → drive worker. */
export type DriveWorkerIn =
  | { readonly type: 'start'; readonly input: DriveInput; readonly ffmpegPath: string; readonly tracking: TrackingOptions }
  | { readonly type: 'calibrate' }
  | { readonly type: 'stop' };

/** Drive worker → main thread. `frameAt` is wall time in ms (performance.timeOrigin + now) of the frame's arrival. */
export type DriveWorkerOut =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly result: FaceResult; readonly frameAt: number; readonly dropped: number; readonly timeS: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'calibrated'; readonly ok: boolean }
  | { readonly type: 'stopped' };
