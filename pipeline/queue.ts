/** What a full queue gives up: the oldest item (live media: newest wins) or the one being offered. */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

/**
 * A bounded FIFO for live paths: it never blocks and never grows past its capacity; every item it
 * gives up is counted and handed to `onDrop` so the owner can account for it.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  readonly policy: DropPolicy;
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  readonly #onDrop: ((item: T) => void) | undefined;

  constructor(capacity: number, policy: DropPolicy = 'drop-oldest', onDrop?: (item: T) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.policy = policy;
    this.#items = new Array<T | undefined>(capacity);
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#size;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Adds an item; returns false when something was dropped to respect the bound. */
  push(item: T): boolean {
    if (this.#size === this.capacity) {
      this.#dropped++;
      if (this.policy === 'drop-newest') {
        this.#onDrop?.(item);
        return false;
      }
      const oldest = this.shift() as T;
      this.#onDrop?.(oldest);
      this.#items[(this.#head + this.#size) % this.capacity] = item;
      this.#size++;
      return false;
    }
    this.#items[(this.#head + this.#size) % this.capacity] = item;
    this.#size++;
    return true;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return item;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Empties the queue (interrupt); returns how many items were discarded. */
  clear(): number {
    const discarded = this.#size;
    this.#items.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    return discarded;
  }
}
