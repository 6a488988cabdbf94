import type { Worker } from 'node:worker_threads';
import type { SpriteRecipe, SpriteSource } from '../avatar/spriteSource.js';
import { startWorkerThread } from '../process/workerThread.js';
import { I420Sprite } from './i420Sprite.js';
import type { SpriteWorkerIn, SpriteWorkerOut } from './spriteWorkerMessages.js';

/** Sprites being made at once; a layer turning faster than this waits (its stand-in is shown meanwhile). */
const MAX_IN_FLIGHT = 4;
/** Layers whose pixels the worker keeps (an avatar has a handful of big ones). */
const MAX_LAYERS = 48;
/** Worker deaths after which sprites are made on the tick again, as before. */
const MAX_WORKER_FAILURES = 3;

/** What the bank hears back: a sprite made off the tick, or that it must be made on the tick. */
export interface OffTickListener {
  made(key: string, sprite: I420Sprite, ms: number): void;
  failed(key: string): void;
}

/**
 * Makes big turned sprites in a worker thread (spriteWorker.ts): each layer's pixels are sent once, then
 * only its transform per sprite. Started with the first request; a worker that dies is replaced, up to
 * MAX_WORKER_FAILURES times, after which `available` is false and the bank draws on the tick.
 */
export class OffTickSprites {
  readonly #listener: OffTickListener;
  #worker: Worker | null = null;
  #failures = 0;
  /** Keys asked for and not answered yet. */
  readonly #inFlight = new Set<string>();
  /** Layers the worker holds, least recently used first. */
  readonly #layers = new Set<string>();

  constructor(listener: OffTickListener) {
    this.#listener = listener;
  }

  get available(): boolean {
    return this.#failures < MAX_WORKER_FAILURES;
  }

  get busy(): boolean {
    return this.#inFlight.size >= MAX_IN_FLIGHT;
  }

  /** Asks for `source` to be made from its recipe; false when it cannot be now (busy, or the worker keeps failing). */
  request(source: SpriteSource, recipe: SpriteRecipe): boolean {
    if (this.#inFlight.has(source.key)) return true;
    if (this.busy || !this.available) return false;
    const worker = this.#ensureWorker();
    const baseKey = recipe.base.key;
    if (this.#layers.has(baseKey)) {
      this.#layers.delete(baseKey);
    } else {
      const { width, height } = recipe.base;
      const rgba = recipe.base.canvas.getContext('2d').getImageData(0, 0, width, height).data;
      this.#post(worker, { type: 'base', baseKey, width, height, rgba });
      for (const old of this.#layers) {
        if (this.#layers.size < MAX_LAYERS) break;
        this.#layers.delete(old);
        this.#post(worker, { type: 'forget', baseKey: old });
      }
    }
    this.#layers.add(baseKey);
    this.#inFlight.add(source.key);
    this.#post(worker, { type: 'convert', key: source.key, baseKey, width: source.width, height: source.height, transform: recipe.transform });
    return true;
  }

  close(): void {
    const worker = this.#worker;
    this.#worker = null;
    this.#inFlight.clear();
    this.#layers.clear();
    void worker?.terminate();
  }

  #post(worker: Worker, message: SpriteWorkerIn, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorkerThread(import.meta.url, 'spriteWorker');
    // A helper: it must never keep the process alive on its own.
    worker.unref();
    worker.on('message', (message: SpriteWorkerOut) => {
      if (!this.#inFlight.delete(message.key)) return;
      if (message.type === 'sprite') this.#listener.made(message.key, I420Sprite.fromParts(message.parts), message.ms);
      else this.#listener.failed(message.key);
    });
    const lost = () => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#failures++;
      for (const key of this.#inFlight) this.#listener.failed(key);
      this.#inFlight.clear();
      this.#layers.clear();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#worker = worker;
    return worker;
  }
}
