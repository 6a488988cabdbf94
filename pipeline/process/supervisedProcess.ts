import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Backoff } from '../output/backoff.js';
import { trackChild } from './childRegistry.js';
import { processTally } from './processTally.js';
import { scrubLine } from './scrubLog.js';

/** A descriptor the child gets as fd 3, 4, …: a new pipe, nothing, or one of ours it inherits. */
export type ExtraFd = 'pipe' | 'ignore' | number;

/** What one start runs, made afresh for each (an encoder's timestamp offset, a muxer's secret preset file). */
export interface LaunchSpec {
  readonly args: readonly string[];
  /**
   * fd 3, 4, …. A number is a descriptor of ours handed over: it is closed here right after the spawn
   * (the child holds its own copy), whether the spawn worked or not.
   */
  readonly extraFds?: readonly ExtraFd[];
}

/** Decides, every `intervalMs` while a run lasts, whether it is stuck. */
export interface Watchdog {
  readonly intervalMs: number;
  /** A reason to kill the run, or null. `silentMs`: since its last output (or its start); `ranMs`: since its start. */
  readonly check: (silentMs: number, ranMs: number) => string | null;
  /** What counts as output: any stdout bytes (default), or only what the owner reports with noteOutput(). */
  readonly output?: 'stdout' | 'reported';
}

/** The common watchdog: no output for `silenceMs` while output is due (`armed`) → killed as stalled. */
export function silenceWatchdog(silenceMs: number, armed: () => boolean = () => true): Watchdog {
  return {
    intervalMs: Math.min(1000, Math.max(20, Math.round(silenceMs / 3))),
    check: (silentMs) => (silentMs >= silenceMs && armed() ? `stalled: no output for ${Math.round(silentMs / 1000)} s` : null),
  };
}

/** How a run that ended on its own (or was killed by the watchdog or kill()) ended. */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ranMs: number;
  /** The last line it printed on stderr, scrubbed; '' when none. */
  readonly lastLine: string;
  /** Its last few stderr lines, scrubbed. */
  readonly stderrTail: string;
  /** Why the watchdog or kill() ended it; null when it ended by itself. */
  readonly killedFor: string | null;
  /** Why it could not be started at all (the program is missing); null when it started. */
  readonly startError: string | null;
  /** In a few words: the kill reason, the start error, the last stderr line, or the exit code or signal. */
  readonly reason: string;
}

export interface ProcessExit extends ProcessEnd {
  /** When the restart policy starts it again; null: it stays stopped. */
  readonly restartInMs: number | null;
}

/** After an unexpected exit: start again after the backoff's delay. */
export interface RestartPolicy {
  readonly backoff: Backoff;
  /** A run that lasted this long resets the backoff first: the next failure retries quickly again. */
  readonly stableMs?: number;
  /**
   * Called on each unexpected exit before the delay is drawn: false leaves the process stopped (an error
   * no retry can mend). It may reset the backoff itself (a muxer that was live long enough).
   */
  readonly shouldRestart?: (end: ProcessEnd) => boolean;
}

export interface SupervisedProcessOptions {
  /** Says what the process is, in start errors. */
  readonly name: string;
  readonly command: string;
  readonly launch: () => LaunchSpec;
  /** stdin: a pipe to write to, or nothing. stdout and stderr are always pipes. Default 'ignore'. */
  readonly stdin?: 'pipe' | 'ignore';
  /** Default: ours. */
  readonly env?: NodeJS.ProcessEnv;
  /** Run below the server's priority (never above it: the value is a floor). */
  readonly niceness?: number;
  /** Strings never kept from stderr (a stream key); URLs' keys, queries and passwords are always masked. */
  readonly secrets?: readonly string[];
  /** An owner's own masking of stderr text, applied before the common rules. */
  readonly scrub?: (text: string) => string;
  readonly watchdog?: Watchdog;
  /** None: an unexpected exit leaves it stopped. */
  readonly restart?: RestartPolicy;
  /** stop()/close(): SIGTERM, then SIGKILL after this long; 0 kills at once. Default 2000. */
  readonly killGraceMs?: number;
}

/** One run of the process, as its owner sees it. */
export interface ProcessRun {
  /** Undefined when it could not be started: 'exit' follows with the start error. */
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** fd 3, 4, …: a stream for each 'pipe', null otherwise. */
  readonly extra: readonly (Readable | Writable | null)[];
  /** Started by the restart policy (not by start() or replace()). */
  readonly restarted: boolean;
}

/** What a metrics observer reads. */
export interface ProcessCounters {
  readonly starts: number;
  readonly restarts: number;
  readonly lastExit: ProcessExit | null;
}

export interface SupervisedProcessEvents {
  spawned: [ProcessRun];
  /** An exit nobody asked for (not stop(), close() or replace()): crashed, failed to start, or killed by the watchdog or kill(). */
  exit: [ProcessExit];
  /** The process could not be started; 'exit' follows. Emitted only when someone listens. */
  error: [Error];
}

/** Raw stderr kept per run: enough for a few lines; it is scrubbed when read. */
const STDERR_TAIL_CHARS = 2000;
const TAIL_LINES = 5;

interface RunState {
  readonly child: ChildProcess;
  readonly view: ProcessRun;
  readonly startedAtMs: number;
  lastOutputAtMs: number;
  stderr: string;
  stderrCut: boolean;
  killedFor: string | null;
  startError: string | null;
  /** Why it is being ended on purpose: no restart after 'stop', a fresh run at once after 'replace'. */
  ending: 'stop' | 'replace' | null;
  signalled: boolean;
  watchdog: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  readonly exited: Promise<void>;
  readonly markExited: () => void;
}

const ignore = (): void => undefined;

/**
 * One child process, kept: spawned with an argument array (never a shell), its pipes wired with their
 * errors absorbed (a dying child breaks them; its exit says why), a short stderr tail kept and scrubbed of
 * secrets, an optional watchdog, a restart policy, and a stop that escalates from SIGTERM to SIGKILL.
 * Every run is registered so that none outlives this process (childRegistry.ts). start()/stop() may be
 * called any number of times; close() ends it for good, once, and removes all listeners.
 */
export class SupervisedProcess extends EventEmitter<SupervisedProcessEvents> {
  readonly name: string;
  readonly #options: SupervisedProcessOptions;
  readonly #killGraceMs: number;
  #run: RunState | null = null;
  #restartTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #starts = 0;
  #restarts = 0;
  #lastExit: ProcessExit | null = null;

  constructor(options: SupervisedProcessOptions) {
    super();
    if (options.killGraceMs !== undefined && !(options.killGraceMs >= 0)) throw new TypeError('killGraceMs must be 0 or more');
    this.name = options.name;
    this.#options = options;
    this.#killGraceMs = options.killGraceMs ?? 2000;
  }

  /** The current run; null while stopped or waiting to restart. */
  get run(): ProcessRun | null {
    return this.#run?.view ?? null;
  }

  get running(): boolean {
    return this.#run !== null;
  }

  get pid(): number | undefined {
    return this.#run?.child.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A restart is scheduled. */
  get restartPending(): boolean {
    return this.#restartTimer !== null;
  }

  get counters(): ProcessCounters {
    return { starts: this.#starts, restarts: this.#restarts, lastExit: this.#lastExit };
  }

  /** Starts a run unless one is running; a scheduled restart happens now instead. */
  start(): void {
    if (this.#closed || this.#run) return;
    this.#clearRestart();
    this.#spawn(false);
  }

  /** Output the watchdog should count (with `output: 'reported'`): the run is alive. */
  noteOutput(): void {
    if (this.#run) this.#run.lastOutputAtMs = performance.now();
  }

  /** Kills the current run at once; its exit is reported with `reason` and the restart policy applies. */
  kill(reason: string): void {
    const run = this.#run;
    if (!run || run.ending) return;
    run.killedFor ??= reason;
    run.child.kill('SIGKILL');
  }

  /** Ends the current run (as stop() does) and starts a fresh one as soon as it has exited; not a failure. */
  replace(): void {
    const run = this.#run;
    if (this.#closed || !run || run.ending) return;
    run.ending = 'replace';
    this.#terminate(run);
  }

  /** Ends the current run and cancels any restart; start() may be called again. Resolves once it has exited. */
  stop(): Promise<void> {
    this.#clearRestart();
    const run = this.#run;
    if (!run) return Promise.resolve();
    run.ending = 'stop';
    this.#terminate(run);
    return run.exited;
  }

  /**
   * Lets the current run end by itself (the caller closes its inputs: ffmpeg then flushes and exits), with
   * no restart after; SIGKILL if it has not exited in `timeoutMs`. Resolves once it has exited.
   */
  finish(timeoutMs: number): Promise<void> {
    this.#clearRestart();
    const run = this.#run;
    if (!run) return Promise.resolve();
    run.ending = 'stop';
    if (run.watchdog) clearInterval(run.watchdog);
    run.watchdog = null;
    run.killTimer ??= setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
    return run.exited;
  }

  /** Ends it for good: no more runs or events. Safe to call again; resolves once the child has exited. */
  close(): Promise<void> {
    this.#closing ??= this.#teardown();
    return this.#closing;
  }

  async #teardown(): Promise<void> {
    this.#closed = true;
    this.removeAllListeners();
    await this.stop();
  }

  #clearRestart(): void {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
  }

  #spawn(restarted: boolean): void {
    const options = this.#options;
    let child: ChildProcess;
    try {
      const spec = options.launch();
      const extraFds = spec.extraFds ?? [];
      try {
        child = spawn(options.command, [...spec.args], {
          stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe', ...extraFds],
          ...(options.env ? { env: options.env } : {}),
        });
      } finally {
        for (const fd of extraFds) if (typeof fd === 'number') closeSync(fd);
      }
    } catch (err) {
      // Refused before any process existed (bad arguments, no descriptors left): reported as a run that failed.
      this.#starts++;
      if (restarted) this.#restarts++;
      processTally.started(this.name, restarted);
      const message = scrubLine(`${this.name} cannot be started: ${(err as Error).message}`, this.#options.secrets);
      this.#emitError(err as Error);
      this.#ended({ code: null, signal: null, ranMs: 0, lastLine: '', stderrTail: '', killedFor: null, startError: message, reason: message });
      return;
    }
    this.#starts++;
    if (restarted) this.#restarts++;
    processTally.started(this.name, restarted);
    const startedAtMs = performance.now();
    let markExited = ignore;
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    if (child.pid !== undefined) {
      const name = this.name;
      processTally.running(name, 1);
      child.once('close', () => processTally.running(name, -1));
    }
    const run: RunState = {
      child,
      view: {
        pid: child.pid,
        stdin: child.stdin,
        stdout: child.stdout as Readable,
        extra: child.stdio.slice(3).map((stream) => stream ?? null) as (Readable | Writable | null)[],
        restarted,
      },
      startedAtMs,
      lastOutputAtMs: startedAtMs,
      stderr: '',
      stderrCut: false,
      killedFor: null,
      startError: null,
      ending: null,
      signalled: false,
      watchdog: null,
      killTimer: null,
      exited,
      markExited,
    };
    this.#run = run;
    trackChild(child);
    if (options.niceness !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, Math.max(options.niceness, getOwnPriority()));
      } catch {
        // Gone already: its exit is handled below.
      }
    }
    for (const stream of child.stdio) stream?.on('error', ignore);
    (child.stderr as Readable).on('data', (chunk: Buffer) => {
      const text = run.stderr + chunk.toString();
      run.stderrCut ||= text.length > STDERR_TAIL_CHARS;
      run.stderr = text.length > STDERR_TAIL_CHARS ? text.slice(-STDERR_TAIL_CHARS) : text;
    });
    const watchdog = options.watchdog;
    if (watchdog) {
      if (watchdog.output !== 'reported') (child.stdout as Readable).on('data', () => {
        run.lastOutputAtMs = performance.now();
      });
      run.watchdog = setInterval(() => this.#checkWatchdog(run, watchdog), watchdog.intervalMs);
      run.watchdog.unref();
    }
    child.on('error', (err) => {
      if (child.pid !== undefined) return;
      run.startError ??= scrubLine(`${this.name} cannot be started: ${err.message}`, options.secrets);
      this.#emitError(err);
    });
    child.on('close', (code, signal) => this.#onClose(run, code, signal));
    this.emit('spawned', run.view);
  }

  #checkWatchdog(run: RunState, watchdog: Watchdog): void {
    if (this.#run !== run || run.ending || run.killedFor !== null) return;
    const now = performance.now();
    const reason = watchdog.check(now - run.lastOutputAtMs, now - run.startedAtMs);
    if (reason !== null) this.kill(reason);
  }

  /** Closes its stdin, then SIGTERM (SIGKILL after the grace period), or SIGKILL at once. */
  #terminate(run: RunState): void {
    if (run.signalled) return;
    run.signalled = true;
    run.child.stdin?.end();
    if (this.#killGraceMs === 0) {
      run.child.kill('SIGKILL');
      return;
    }
    run.child.kill('SIGTERM');
    run.killTimer = setTimeout(() => run.child.kill('SIGKILL'), this.#killGraceMs);
  }

  #onClose(run: RunState, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#run !== run) return;
    this.#run = null;
    if (run.watchdog) clearInterval(run.watchdog);
    if (run.killTimer) clearTimeout(run.killTimer);
    run.markExited();
    if (this.#closed || run.ending === 'stop') return;
    if (run.ending === 'replace') {
      this.#spawn(false);
      return;
    }
    const lines = stderrLines(run, this.#options);
    const lastLine = lines.at(-1) ?? '';
    this.#ended({
      code,
      signal,
      ranMs: performance.now() - run.startedAtMs,
      lastLine,
      stderrTail: lines.slice(-TAIL_LINES).join('\n'),
      killedFor: run.killedFor,
      startError: run.startError,
      reason: run.killedFor ?? run.startError ?? (lastLine || `exit ${code ?? signal}`),
    });
  }

  /** An unexpected end: the restart policy decides, then the owner hears of it. */
  #ended(end: ProcessEnd): void {
    let restartInMs: number | null = null;
    const policy = this.#options.restart;
    if (policy && !this.#closed) {
      if (policy.stableMs !== undefined && end.ranMs >= policy.stableMs) policy.backoff.reset();
      if (policy.shouldRestart?.(end) !== false) {
        restartInMs = policy.backoff.next();
        this.#restartTimer = setTimeout(() => {
          this.#restartTimer = null;
          this.#spawn(true);
        }, restartInMs);
      }
    }
    const exit: ProcessExit = { ...end, restartInMs };
    processTally.ended(this.name, end.startError !== null ? 'start' : end.killedFor !== null ? 'watchdog' : 'exit');
    this.#lastExit = exit;
    this.emit('exit', exit);
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** Complete stderr lines, scrubbed (a line cut by the tail's start is dropped: it could hold half a secret). */
function stderrLines(run: RunState, options: SupervisedProcessOptions): string[] {
  const raw = run.stderr.split(/\r?\n|\r/);
  if (run.stderrCut) raw.shift();
  const lines: string[] = [];
  for (const line of raw) {
    const clean = scrubLine(options.scrub ? options.scrub(line) : line, options.secrets);
    if (clean) lines.push(clean);
  }
  return lines;
}

function getOwnPriority(): number {
  try {
    return getPriority();
  } catch {
    return 0;
  }
}
