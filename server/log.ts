export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type LineLevel = Exclude<LogLevel, 'silent'>;

export interface Logger {
  /**
   * `key` groups messages that repeat with changing details (an id, a count): the same key within the
   * repeat window counts as a repeat. Without it the message itself is the key.
   */
  debug(message: string, key?: string): void;
  info(message: string, key?: string): void;
  warn(message: string, key?: string): void;
  error(message: string, key?: string): void;
}

export interface RateLimitedLogger extends Logger {
  /** Writes the summary of every repeat counted so far (tests, shutdown). */
  flushRepeats(): void;
}

export interface LoggerOptions {
  /** Where lines go (stderr by default). */
  readonly write?: (line: string) => void;
  /** Monotonic milliseconds for the repeat windows (injected in tests). */
  readonly nowMs?: () => number;
  /** The time written at the start of each line, for people (wall clock). */
  readonly timestamp?: () => string;
  /** How long a repeated message stays quiet between summaries. */
  readonly repeatWindowMs?: number;
  /** Summaries also come from a timer (unref'd), so a flood that stops still gets its count written. */
  readonly summaryTimer?: boolean;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const LEVELS: readonly LineLevel[] = ['debug', 'info', 'warn', 'error'];
export const DEFAULT_REPEAT_WINDOW_MS = 60_000;
/** Distinct messages tracked at once; beyond it the tracking starts afresh (after writing its summaries). */
const MAX_TRACKED = 1000;

interface Repeat {
  /** The first message of the window: the summary quotes it. */
  message: string;
  windowStartMs: number;
  suppressed: number;
}

/**
 * One line per event on stderr, with a level gate checked before any formatting. A message (or key)
 * logged again within the repeat window is not written; its count is, once per window, as
 * "<message> (repeated N times in the last M s)". A warning in a loop costs one line a minute, not a
 * disk a day. A suppressed call costs a map lookup and an increment.
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): RateLimitedLogger {
  const at = ORDER[level];
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const nowMs = options.nowMs ?? (() => performance.now());
  const timestamp = options.timestamp ?? (() => new Date().toISOString());
  const windowMs = options.repeatWindowMs ?? DEFAULT_REPEAT_WINDOW_MS;
  const useTimer = options.summaryTimer ?? true;
  // One map per level: the key needs no concatenation with the level.
  const tracked: Record<LineLevel, Map<string, Repeat>> = { debug: new Map(), info: new Map(), warn: new Map(), error: new Map() };
  let nextSweepMs = nowMs() + windowMs;
  let timer: NodeJS.Timeout | null = null;

  const emit = (name: LineLevel, message: string) => write(`${timestamp()} ${name.padEnd(5)} ${message}\n`);

  /** Writes each window's count and forgets messages quiet for a whole window (or everything: `all`). */
  const sweep = (now: number, all: boolean) => {
    nextSweepMs = now + windowMs;
    let pending = 0;
    for (const name of LEVELS) {
      const map = tracked[name];
      for (const [key, repeat] of map) {
        if (repeat.suppressed > 0) {
          emit(name, `${repeat.message} (repeated ${repeat.suppressed} times in the last ${Math.max(1, Math.round((now - repeat.windowStartMs) / 1000))} s)`);
          repeat.suppressed = 0;
          repeat.windowStartMs = now;
          if (all) map.delete(key);
        } else if (all || now - repeat.windowStartMs >= windowMs) {
          map.delete(key);
        }
      }
      pending += map.size;
    }
    if (pending === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  const line = (name: LineLevel) => {
    if (ORDER[name] < at) return () => {};
    const map = tracked[name];
    return (message: string, key?: string) => {
      const now = nowMs();
      if (now >= nextSweepMs) sweep(now, false);
      const repeat = map.get(key ?? message);
      if (repeat) {
        repeat.suppressed++;
        if (useTimer && !timer) {
          timer = setInterval(() => sweep(nowMs(), false), windowMs);
          timer.unref();
        }
        return;
      }
      if (map.size >= MAX_TRACKED) sweep(now, true);
      map.set(key ?? message, { message, windowStartMs: now, suppressed: 0 });
      emit(name, message);
    };
  };

  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    flushRepeats: () => sweep(nowMs(), true),
  };
}
