import type { Worker } from 'node:worker_threads';
import { startWorkerThread } from '../process/workerThread.js';
import type { DriveWorkerIn, DriveWorkerOut } from './driveMessages.js';
import type { FaceResult, StageTimes, TrackingOptions } from './faceTracker.js';
import type { DriveRig } from './retarget.js';
import type { DriveInput } from './videoSource.js';

/** One tracking stage over the last second: runs per second and mean inference time per run. */
export interface StageStats {
  readonly fps: number;
  readonly ms: number;
}

export interface DriveStats {
  readonly found: boolean;
  /** Frames tracked per second (frames arriving while one is in flight are dropped, not queued). */
  readonly fps: number;
  /** Mean inference time per tracked frame (detector when lost, face mesh), ms. */
  readonly ms: number;
  readonly dropped: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Counts a stage's runs and their times over one-second windows. */
class StageWindow {
  #startMs = now();
  #runs = 0;
  #ms = 0;
  #stats: StageStats = { fps: 0, ms: 0 };

  add(ms: number | null): void {
    if (ms !== null) {
      this.#runs++;
      this.#ms += ms;
    }
    const t = now();
    if (t - this.#startMs >= 1000) {
      this.#stats = { fps: round1(this.#runs / ((t - this.#startMs) / 1000)), ms: round1(this.#runs ? this.#ms / this.#runs : 0) };
      this.#startMs = t;
      this.#runs = 0;
      this.#ms = 0;
    }
  }

  get stats(): StageStats {
    return this.#stats;
  }
}

/** Start-up of the drive failed (unreadable source, no models); the message says why. */
export class DriveStartError extends Error {
  override readonly name = 'DriveStartError';
}

const now = () => performance.timeOrigin + performance.now();

/**
 * A video source and the face/body tracker, run in a worker thread (see driveWorker.ts). The tick
 * pulls the latest result and never waits for tracking: ONNX inference is synchronous on its thread,
 * so on the tick's thread it would delay frames.
 */
export class FaceDriver {
  readonly #worker: Worker;
  #latest: (FaceResult & { atMs: number; frameAtMs: number; seq: number }) | null = null;
  #seq = 0;
  #dropped = 0;
  readonly #stages = { face: new StageWindow(), iris: new StageWindow(), pose: new StageWindow() };
  #calibrations: ((ok: boolean) => void)[] = [];
  readonly #stopped: Promise<void>;
  /** A paced source's results in frame order (its time, the rig or null when no face), from the oldest still needed. */
  readonly #timeline: { readonly timeS: number; readonly rig: DriveRig | null }[] = [];
  #trackedUntilS = -1;

  private constructor(worker: Worker, onError: (message: string) => void, onLog: (message: string) => void, paced: boolean) {
    this.#worker = worker;
    this.#stopped = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: DriveWorkerOut) => {
      switch (message.type) {
        case 'result':
          if (paced) this.#timeline.push({ timeS: message.timeS, rig: message.result.found ? message.result.rig : null });
          this.#trackedUntilS = message.timeS;
          this.#latest = { ...message.result, atMs: now(), frameAtMs: message.frameAt, seq: ++this.#seq };
          this.#dropped = message.dropped;
          this.#count(message.result.ms);
          return;
        case 'error':
          onError(message.message);
          return;
        case 'log':
          onLog(message.message);
          return;
        case 'calibrated':
          this.#calibrations.shift()?.(message.ok);
          return;
        default:
          return;
      }
    });
    worker.on('error', (err) => onError(`drive worker failed: ${err.message}`));
  }

  /** Starts the worker on `url`; rejects with DriveStartError when the source or the models cannot be used. */
  static async start(input: DriveInput, options: { ffmpegPath: string; tracking: TrackingOptions; onError: (message: string) => void; onLog: (message: string) => void }): Promise<FaceDriver> {
    const worker = startWorkerThread(import.meta.url, 'driveWorker');
    const driver = new FaceDriver(worker, options.onError, options.onLog, input.kind === 'file' && input.paced === true);
    const started = await new Promise<DriveWorkerOut>((resolve) => {
      const onMessage = (message: DriveWorkerOut) => {
        if (message.type === 'ready' || message.type === 'failed') {
          worker.off('message', onMessage);
          resolve(message);
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => resolve({ type: 'failed', message: err.message }));
      worker.postMessage({ type: 'start', input, ffmpegPath: options.ffmpegPath, tracking: options.tracking } satisfies DriveWorkerIn);
    });
    if (started.type === 'failed') {
      await driver.close();
      throw new DriveStartError(started.message);
    }
    return driver;
  }

  #count(ms: StageTimes): void {
    this.#stages.face.add(ms.face);
    this.#stages.iris.add(ms.iris);
    this.#stages.pose.add(ms.pose);
  }

  /** A paced source: the time of the last frame tracked so far (-1 before the first). */
  get trackedUntilS(): number {
    return this.#trackedUntilS;
  }

  /**
   * A paced source: the rig of the frame shown at `timeS` (the last one at or before it), or null when that
   * frame has no face. Frames before it are forgotten (the media time only goes forward).
   */
  rigAt(timeS: number): DriveRig | null {
    const line = this.#timeline;
    let at = -1;
    for (let i = 0; i < line.length && (line[i] as { timeS: number }).timeS <= timeS + 1e-6; i++) at = i;
    if (at < 0) return null;
    if (at > 0) line.splice(0, at);
    return (line[0] as { rig: DriveRig | null }).rig;
  }

  /** When the last tracked frame (face or not) came back from the worker, wall ms; 0 before the first. */
  get lastResultAtMs(): number {
    return this.#latest?.atMs ?? 0;
  }

  /** The latest face rig, or null when no face has been seen for `staleMs`. */
  latest(staleMs = 400): DriveRig | null {
    const l = this.#latest;
    if (!l || !l.found || !l.rig || now() - l.atMs > staleMs) return null;
    return l.rig;
  }

  /** The latest result's sequence number and when its frame arrived (wall ms), for frame → render latency. */
  get latestFrame(): { readonly seq: number; readonly frameAtMs: number } | null {
    const l = this.#latest;
    return l && l.found ? { seq: l.seq, frameAtMs: l.frameAtMs } : null;
  }

  /** Takes the current face as the neutral one; false when no face is tracked. */
  calibrate(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#calibrations.push(resolve);
      this.#worker.postMessage({ type: 'calibrate' } satisfies DriveWorkerIn);
    });
  }

  get stats(): DriveStats {
    return { found: this.latest() !== null, ...this.#stages.face.stats, dropped: this.#dropped };
  }

  /** Iris (gaze) runs per second and their mean time. */
  get irisStats(): StageStats {
    return this.#stages.iris.stats;
  }

  /** Body tracking: shoulders seen, pose runs per second and their mean time. */
  get poseStats(): StageStats & { readonly found: boolean } {
    return { found: this.latest() !== null && (this.#latest?.poseFound ?? false), ...this.#stages.pose.stats };
  }

  /** Stops the source (and its ffmpeg) and the worker. */
  async close(): Promise<void> {
    this.#worker.postMessage({ type: 'stop' } satisfies DriveWorkerIn);
    const timer = setTimeout(() => void this.#worker.terminate(), 3000);
    await this.#stopped;
    clearTimeout(timer);
    for (const resolve of this.#calibrations.splice(0)) resolve(false);
  }
}
