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

/**
 * A mailbox holds only the latest value a driver published; the tick reads it without waiting.
 * Reading reports how old the value is so lateness can be counted.
 */
export class Mailbox<T> {
  #value: T | undefined;
  #publishedAtUs = 0;
  #version = 0;

  publish(value: T, atUs: number): void {
    this.#value = value;
    this.#publishedAtUs = atUs;
    this.#version++;
  }

  get version(): number {
    return this.#version;
  }

  latest(): T | undefined {
    return this.#value;
  }

  ageUs(nowUs: number): number {
    return this.#version === 0 ? Number.POSITIVE_INFINITY : nowUs - this.#publishedAtUs;
  }

  clear(): void {
    this.#value = undefined;
    this.#version++;
  }
}
