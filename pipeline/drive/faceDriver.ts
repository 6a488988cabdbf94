import type { FaceResult, FaceTracker } from './faceTracker.js';
import type { FrameSource } from './videoSource.js';
import type { DriveRig } from './retarget.js';

export interface DriveStats {
  readonly found: boolean;
  /** Frames tracked per second (frames arriving while one is in flight are dropped, not queued). */
  readonly fps: number;
  /** Mean inference time per tracked frame, ms. */
  readonly ms: number;
  readonly dropped: number;
}

/**
 * Connects a frame source to the face tracker off the tick: each frame is tracked when the tracker is
 * free, else dropped (a live path never queues stale frames). The tick pulls the latest result; it
 * never waits for tracking.
 */
export class FaceDriver {
  readonly source: FrameSource;
  readonly #tracker: FaceTracker;
  #busy = false;
  #latest: (FaceResult & { atMs: number; frameAtMs: number; seq: number }) | null = null;
  #seq = 0;
  #window = { startMs: performance.now(), frames: 0, ms: 0, fps: 0, meanMs: 0, poseRuns: 0, poseMs: 0, poseFps: 0, poseMeanMs: 0 };
  #dropped = 0;

  constructor(source: FrameSource, tracker: FaceTracker, onError: (message: string) => void) {
    this.source = source;
    this.#tracker = tracker;
    source.on('error', onError);
    source.on('frame', (frame, timeS) => {
      if (this.#busy) {
        this.#dropped++;
        return;
      }
      this.#busy = true;
      const frameAtMs = performance.now();
      this.#tracker
        .track(frame, timeS)
        .then((result) => {
          this.#latest = { ...result, atMs: performance.now(), frameAtMs, seq: ++this.#seq };
          this.#count(result.ms, result.pose.ran ? result.pose.ms : null);
        })
        .catch((err: Error) => onError(`tracking failed: ${err.message}`))
        .finally(() => {
          this.#busy = false;
        });
    });
  }

  start(): void {
    this.source.start();
  }

  #count(ms: number, poseMs: number | null): void {
    const w = this.#window;
    w.frames++;
    w.ms += ms - (poseMs ?? 0);
    if (poseMs !== null) {
      w.poseRuns++;
      w.poseMs += poseMs;
    }
    const now = performance.now();
    if (now - w.startMs >= 1000) {
      const s = (now - w.startMs) / 1000;
      w.fps = w.frames / s;
      w.meanMs = w.ms / w.frames;
      w.poseFps = w.poseRuns / s;
      w.poseMeanMs = w.poseRuns ? w.poseMs / w.poseRuns : 0;
      w.startMs = now;
      w.frames = 0;
      w.ms = 0;
      w.poseRuns = 0;
      w.poseMs = 0;
    }
  }

  /** Body tracking: shoulders seen, pose runs per second and their mean time. */
  get poseStats(): { readonly found: boolean; readonly fps: number; readonly ms: number } {
    const l = this.#latest;
    return { found: this.latest() !== null && (l?.pose.found ?? false), fps: Math.round(this.#window.poseFps * 10) / 10, ms: Math.round(this.#window.poseMeanMs * 10) / 10 };
  }

  /** The latest face rig, or null when no face has been seen for `staleMs`. */
  latest(staleMs = 400): DriveRig | null {
    const l = this.#latest;
    if (!l || !l.found || !l.rig || performance.now() - l.atMs > staleMs) return null;
    return l.rig;
  }

  /** The latest result's sequence number and when its frame arrived (for frame → render latency). */
  get latestFrame(): { readonly seq: number; readonly frameAtMs: number } | null {
    const l = this.#latest;
    return l && l.found ? { seq: l.seq, frameAtMs: l.frameAtMs } : null;
  }

  calibrate(): boolean {
    return this.#tracker.calibrate();
  }

  get stats(): DriveStats {
    return { found: this.latest() !== null, fps: Math.round(this.#window.fps * 10) / 10, ms: Math.round(this.#window.meanMs * 10) / 10, dropped: this.#dropped };
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
