import { I420Layout } from './i420.js';

/**
 * A reusable picture buffer. Fresh multi-megabyte buffers every frame cost page faults and garbage
 * collections; pooled ones are written in place once every holder (the channel's "last picture",
 * each queued encoder write) has released them.
 */
export class Picture {
  readonly data: Buffer;
  readonly layout: I420Layout;
  #refs = 0;
  readonly #pool: PicturePool;

  constructor(pool: PicturePool, layout: I420Layout) {
    this.#pool = pool;
    this.layout = layout;
    this.data = Buffer.alloc(layout.byteLength);
  }

  get refs(): number {
    return this.#refs;
  }

  retain(): this {
    this.#refs++;
    return this;
  }

  release(): void {
    if (this.#refs <= 0) throw new Error('picture released more often than retained');
    if (--this.#refs === 0) this.#pool.recycle(this);
  }
}

export class PicturePool {
  readonly layout: I420Layout;
  readonly #free: Picture[] = [];
  readonly #maxFree: number;
  #allocated = 0;

  constructor(layout: I420Layout, maxFree = 12) {
    this.layout = layout;
    this.#maxFree = maxFree;
  }

  /** Buffers created so far (a steadily growing count means a holder never releases). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A picture with one reference held by the caller; its pixels are whatever it last held. */
  acquire(): Picture {
    const picture = this.#free.pop();
    if (picture) return picture.retain();
    this.#allocated++;
    return new Picture(this, this.layout).retain();
  }

  recycle(picture: Picture): void {
    if (this.#free.length < this.#maxFree) this.#free.push(picture);
  }
}
