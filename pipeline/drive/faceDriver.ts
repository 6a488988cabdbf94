import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../../models/onnxModels.js';
import type { DriveWorkerIn, DriveWorkerOut } from './driveMessages.js';
import type { FaceResult } from './faceTracker.js';
import type { DriveRig } from './retarget.js';

export interface DriveStats {
  readonly found: boolean;
  /** Frames tracked per second (frames arriving while one is in flight are dropped, not queued). */
  readonly fps: number;
  /** Mean inference time per tracked frame (face), ms. */
  readonly ms: number;
  readonly dropped: number;
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
  #window = { startMs: now(), frames: 0, ms: 0, fps: 0, meanMs: 0, poseRuns: 0, poseMs: 0, poseFps: 0, poseMeanMs: 0 };
  #calibrations: ((ok: boolean) => void)[] = [];
  readonly #stopped: Promise<void>;

  private constructor(worker: Worker, onError: (message: string) => void, onLog: (message: string) => void) {
    this.#worker = worker;
    this.#stopped = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: DriveWorkerOut) => {
      switch (message.type) {
        case 'result':
          this.#latest = { ...message.result, atMs: now(), frameAtMs: message.frameAt, seq: ++this.#seq };
          this.#dropped = message.dropped;
          this.#count(message.result.ms, message.result.pose.ran ? message.result.pose.ms : null);
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
  static async start(url: string, options: { ffmpegPath: string; provider: ExecutionProvider; onError: (message: string) => void; onLog: (message: string) => void }): Promise<FaceDriver> {
    // Sources run under tsx in development (.ts) and from dist/ in production (.js).
    const fromSources = import.meta.url.endsWith('.ts');
    const worker = fromSources
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./driveWorker.ts', import.meta.url).href)}); });`, { eval: true })
      : new Worker(new URL('./driveWorker.js', import.meta.url));
    const driver = new FaceDriver(worker, options.onError, options.onLog);
    const started = await new Promise<DriveWorkerOut>((resolve) => {
      const onMessage = (message: DriveWorkerOut) => {
        if (message.type === 'ready' || message.type === 'failed') {
          worker.off('message', onMessage);
          resolve(message);
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => resolve({ type: 'failed', message: err.message }));
      worker.postMessage({ type: 'start', url, ffmpegPath: options.ffmpegPath, provider: options.provider } satisfies DriveWorkerIn);
    });
    if (started.type === 'failed') {
      await driver.close();
      throw new DriveStartError(started.message);
    }
    return driver;
  }

  #count(ms: number, poseMs: number | null): void {
    const w = this.#window;
    w.frames++;
    w.ms += ms - (poseMs ?? 0);
    if (poseMs !== null) {
      w.poseRuns++;
      w.poseMs += poseMs;
    }
    const t = now();
    if (t - w.startMs >= 1000) {
      const s = (t - w.startMs) / 1000;
      w.fps = w.frames / s;
      w.meanMs = w.ms / w.frames;
      w.poseFps = w.poseRuns / s;
      w.poseMeanMs = w.poseRuns ? w.poseMs / w.poseRuns : 0;
      Object.assign(w, { startMs: t, frames: 0, ms: 0, poseRuns: 0, poseMs: 0 });
    }
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
    return { found: this.latest() !== null, fps: Math.round(this.#window.fps * 10) / 10, ms: Math.round(this.#window.meanMs * 10) / 10, dropped: this.#dropped };
  }

  /** Body tracking: shoulders seen, pose runs per second and their mean time. */
  get poseStats(): { readonly found: boolean; readonly fps: number; readonly ms: number } {
    const l = this.#latest;
    return { found: this.latest() !== null && (l?.pose.found ?? false), fps: Math.round(this.#window.poseFps * 10) / 10, ms: Math.round(this.#window.poseMeanMs * 10) / 10 };
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
