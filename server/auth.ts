import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The operators' bearer token: FENSHEN_TOKEN when set, else one made on first start and kept under
 * the data folder (mode 600). `created` tells the caller to print it once.
 */
export function resolveToken(dataDir: string, configured: string | undefined): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  const file = join(dataDir, 'operator-token');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 16) return { token: stored, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

/** The token given in an `Authorization: Bearer <token>` header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  return header?.startsWith('Bearer ') === true ? header.slice(7).trim() : null;
}

/** Constant-time check of an `Authorization: Bearer <token>` header. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = bearerToken(header);
  return given !== null && tokenMatches(given, token);
}

/** Keys the digests below; made per process, so a digest means nothing outside it. */
const DIGEST_KEY = randomBytes(32);

/**
 * Constant-time token comparison (the signaling's operator join uses it too). Both sides are reduced
 * to fixed-length HMACs first: comparing the strings themselves had to check their lengths first,
 * which told a guesser how long the token is.
 */
export function tokenMatches(given: string, token: string): boolean {
  const digest = (text: string) => createHmac('sha256', DIGEST_KEY).update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

export interface AuthThrottleOptions {
  /** Wrong tokens from one address within the window before it is refused for the rest of it. */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  /** Monotonic milliseconds (injected in tests). */
  readonly nowMs?: () => number;
}

interface FailureWindow {
  startMs: number;
  failures: number;
}

/** Addresses tracked at once; the oldest window is forgotten beyond it (a flood of spoofed sources). */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Slows token guessing: after `maxFailures` wrong tokens from one address within `windowMs`, every
 * request from it that needs the token is refused (429, Retry-After) until that window ends, right
 * token or not, so the refusal itself says nothing about a guess. HTTP and the signaling's operator
 * join share one throttle.
 */
export class AuthThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #nowMs: () => number;
  readonly #windows = new Map<string, FailureWindow>();

  constructor(options: AuthThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Seconds the address must wait before its next try, or 0 when it may try now. */
  retryAfterS(address: string): number {
    const window = this.#current(address);
    if (!window || window.failures < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.startMs + this.windowMs - this.#nowMs()) / 1000));
  }

  /** Counts a wrong token; returns the failures from this address in the current window. */
  recordFailure(address: string): number {
    let window = this.#current(address);
    if (!window) {
      if (this.#windows.size >= MAX_TRACKED_ADDRESSES) this.#prune();
      window = { startMs: this.#nowMs(), failures: 0 };
      this.#windows.set(address, window);
    }
    return ++window.failures;
  }

  /** Addresses with a window open (for tests and metrics). */
  get trackedAddresses(): number {
    return this.#windows.size;
  }

  #current(address: string): FailureWindow | undefined {
    const window = this.#windows.get(address);
    if (window && this.#nowMs() - window.startMs >= this.windowMs) {
      this.#windows.delete(address);
      return undefined;
    }
    return window;
  }

  /** Drops closed windows, and the oldest open ones if that is not enough. */
  #prune(): void {
    const now = this.#nowMs();
    for (const [address, window] of this.#windows) if (now - window.startMs >= this.windowMs) this.#windows.delete(address);
    for (const address of this.#windows.keys()) {
      if (this.#windows.size < MAX_TRACKED_ADDRESSES) break;
      this.#windows.delete(address);
    }
  }
}

/** A token check's answer: `retryAfterS` > 0 when the address is refused for now (too many wrong tokens). */
export type TokenVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'missing' | 'wrong' | 'throttled'; readonly retryAfterS: number };

/**
 * The one place a token is checked (HTTP bearer and the signaling's operator join): throttled per
 * client address and every wrong token logged (its address, never its text; the logger folds repeats).
 */
export class OperatorAuth {
  readonly #token: string;
  readonly #throttle: AuthThrottle;
  readonly #warn: (message: string, key: string) => void;

  constructor(token: string, throttle: AuthThrottle, warn: (message: string, key: string) => void) {
    this.#token = token;
    this.#throttle = throttle;
    this.#warn = warn;
  }

  check(given: string | null | undefined, address: string): TokenVerdict {
    const waitS = this.#throttle.retryAfterS(address);
    if (waitS > 0) return { ok: false, reason: 'throttled', retryAfterS: waitS };
    // A missing token is no guess (a page before sign-in, a health probe on the wrong path).
    if (!given) return { ok: false, reason: 'missing', retryAfterS: 0 };
    if (tokenMatches(given, this.#token)) return { ok: true };
    const failures = this.#throttle.recordFailure(address);
    if (failures >= this.#throttle.maxFailures) {
      this.#warn(`wrong operator token from ${address}: ${failures} in ${this.#throttle.windowMs / 1000} s; its requests are refused (429) for the rest of that time`, `auth throttled ${address}`);
      return { ok: false, reason: 'throttled', retryAfterS: this.#throttle.retryAfterS(address) };
    }
    this.#warn(`wrong operator token from ${address} (${failures} of ${this.#throttle.maxFailures} allowed in ${this.#throttle.windowMs / 1000} s)`, `auth wrong ${address}`);
    return { ok: false, reason: 'wrong', retryAfterS: 0 };
  }
}
