import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { PresetName } from '../../config/presets.js';
import { SupervisedProcess, type ProcessEnd, type ProcessExit, type ProcessRun } from '../process/supervisedProcess.js';
import { BoundedQueue } from '../queue.js';
import { Backoff } from './backoff.js';
import { flvFileHeader, type FlvTag } from './flvTags.js';
import { pushUrlParts, redactUrl, scrubSecrets, type PushUrlParts } from './rtmpUrl.js';
import { PUSH_STATES, type DestinationState, type DestinationStatus } from './destinationStatus.js';

export { PUSH_STATES, type DestinationState, type DestinationStatus };

export interface DestinationEvents {
  state: [DestinationState];
  /** Bytes newly written to the server. */
  bytes: [number];
}

export interface DestinationOptions {
  readonly id: string;
  /** Validated already (rtmpUrl.ts). */
  readonly url: string;
  readonly preset: PresetName | null;
  readonly ffmpegPath: string;
  readonly enabled: boolean;
  /** Delay before the first retry and the cap of the exponential backoff. */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  /** Live but nothing written for this long: the muxer is replaced. */
  readonly stallMs?: number;
}

const MAX_QUEUED_TAGS = 300;
/** A connection that held this long resets the backoff: the next failure retries quickly again. */
const STABLE_MS = 10_000;
/** ffmpeg reached neither "published" nor an error in this long: it is replaced. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Errors no retry can mend (the operator must change the URL). */
const PERMANENT_ERRORS = /Protocol not found|Option not found|Invalid data found when processing input/;

/** The muxer's arguments: FLV on stdin, progress reports on stdout, the push to `target`. */
function muxerArgs(target: readonly string[]): string[] {
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', '-nostats', '-progress', 'pipe:1', '-stats_period', '1',
    '-fflags', '+nobuffer', '-analyzeduration', '0', '-probesize', '32768',
    '-f', 'flv', '-i', 'pipe:0', '-map', '0', '-c', 'copy',
    '-f', 'flv', '-flvflags', 'no_duration_filesize', '-rw_timeout', '10000000',
    ...target];
}

/**
 * One RTMP push: an ffmpeg stream-copy muxer fed with the channel's encoded FLV tags. Each destination
 * has its own process, queue, backoff and watchdog, so one failing never touches another, the encoder or
 * WebRTC. A (re)started muxer gets the sequence headers, then media from the next keyframe; while it is
 * down the channel goes on and its tags are simply not queued here.
 */
export class RtmpDestination extends EventEmitter<DestinationEvents> {
  readonly id: string;
  readonly preset: PresetName | null;
  readonly #url: string;
  readonly #backoff: Backoff;
  readonly #stallMs: number;
  /** The muxer: reconnected with backoff, replaced by the watchdog when it hangs. */
  readonly #process: SupervisedProcess;
  #state: DestinationState;
  #enabled: boolean;
  #reconnects = 0;
  #lastError: string | null = null;
  #bytesSent = 0;
  #retryAtMs: number | null = null;
  #waitingForKeyframe = true;
  #liveSinceMs: number | null = null;
  /** Bytes written by the current muxer (its progress reports) and when that last grew. */
  #sessionBytes = 0;
  #lastGrowthMs = 0;
  #lastPushMs = 0;
  readonly #backlog: BoundedQueue<Buffer>;
  #headers: { video: FlvTag | null; audio: FlvTag | null; script: FlvTag | null } = { video: null, audio: null, script: null };

  constructor(options: DestinationOptions) {
    super();
    this.id = options.id;
    this.preset = options.preset;
    this.#url = options.url;
    this.#enabled = options.enabled;
    this.#state = options.enabled ? 'connecting' : 'stopped';
    this.#backoff = new Backoff({ baseMs: options.retryBaseMs ?? 1000, capMs: options.retryCapMs ?? 30_000 });
    this.#stallMs = options.stallMs ?? 10_000;
    // If the muxer stalls, old tags go first; on overflow we resync at the next keyframe.
    this.#backlog = new BoundedQueue<Buffer>(MAX_QUEUED_TAGS, 'drop-oldest', () => {
      this.#waitingForKeyframe = true;
    });
    const url = options.url;
    this.#process = new SupervisedProcess({
      name: 'muxer',
      command: options.ffmpegPath,
      launch: () => {
        // The stream key stays off the command line (which every local user can read in ps): ffmpeg reads
        // the app and stream name from a preset file on fd 3, and only the address is an argument.
        const parts = pushUrlParts(url);
        if (!parts) return { args: muxerArgs([url]) };
        return { args: muxerArgs(['-fpre', '/dev/fd/3', parts.address]), extraFds: [openSecretPreset(parts)] };
      },
      stdin: 'pipe',
      // Never keep the key: ffmpeg may print the URL or the stream name.
      scrub: (text) => scrubSecrets(text, url),
      watchdog: { intervalMs: 1000, output: 'reported', check: (silentMs, ranMs) => this.#stuck(silentMs, ranMs) },
      restart: { backoff: this.#backoff, shouldRestart: (end) => this.#shouldRetry(end) },
      killGraceMs: 2000,
    });
    this.#process.on('spawned', (run) => this.#onSpawned(run));
    this.#process.on('exit', (exit) => this.#onExit(exit));
  }

  get url(): string {
    return this.#url;
  }

  get status(): DestinationStatus {
    const now = performance.now();
    return {
      id: this.id,
      url: redactUrl(this.#url),
      preset: this.preset,
      state: this.#state,
      enabled: this.#enabled,
      retryInS: this.#state === 'retrying' && this.#retryAtMs !== null ? Math.max(0, Math.ceil((this.#retryAtMs - now) / 1000)) : null,
      lastError: this.#lastError,
      reconnects: this.#reconnects,
      bytesSent: this.#bytesSent,
      uptimeS: this.#liveSinceMs === null ? 0 : Math.round((now - this.#liveSinceMs) / 100) / 10,
    };
  }

  #setState(state: DestinationState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  /** Turns the push on (it connects at once) or off (the connection is dropped; nothing retries). */
  async setEnabled(enabled: boolean): Promise<void> {
    if (this.#state === 'closed' || enabled === this.#enabled) return;
    this.#enabled = enabled;
    if (enabled) {
      this.#backoff.reset();
      this.#lastError = null;
      this.#connect();
      return;
    }
    this.#retryAtMs = null;
    this.#setState('stopped');
    await this.#stopMuxer();
  }

  start(): void {
    if (this.#enabled) this.#connect();
  }

  #connect(): void {
    if (this.#state === 'closed' || !this.#enabled || this.#process.running) return;
    this.#retryAtMs = null;
    this.#setState('connecting');
    // A retry that was waiting happens now instead.
    this.#process.start();
  }

  #onSpawned(run: ProcessRun): void {
    this.#retryAtMs = null;
    this.#setState('connecting');
    this.#lastGrowthMs = performance.now();
    this.#sessionBytes = 0;
    this.#waitingForKeyframe = true;
    this.#backlog.clear();
    const stdin = run.stdin as Writable;
    stdin.on('drain', () => this.#flush());
    let progress = '';
    run.stdout.on('data', (chunk: Buffer) => {
      progress += chunk.toString();
      let end;
      while ((end = progress.indexOf('\nprogress=')) !== -1) {
        const size = /total_size=(\d+)/.exec(progress.slice(0, end));
        if (size) this.#onProgress(run, Number(size[1]));
        const lineEnd = progress.indexOf('\n', end + 1);
        progress = lineEnd === -1 ? '' : progress.slice(lineEnd + 1);
      }
    });
    stdin.write(flvFileHeader(true, true));
  }

  /** Why the muxer ended, in words: the watchdog's reason, its start error or last line, or its exit. */
  #reasonOf(end: ProcessEnd): string {
    return end.killedFor ?? end.startError ?? (end.lastLine || `muxer exited (${end.code ?? end.signal})`);
  }

  /** Decides on a retry (the process's restart policy asks before drawing the delay). */
  #shouldRetry(end: ProcessEnd): boolean {
    if (PERMANENT_ERRORS.test(this.#reasonOf(end))) return false;
    // A connection that held: the next failure retries quickly again.
    if (this.#liveSinceMs !== null && performance.now() - this.#liveSinceMs >= STABLE_MS) this.#backoff.reset();
    return true;
  }

  #onExit(exit: ProcessExit): void {
    this.#liveSinceMs = null;
    this.#lastError = this.#reasonOf(exit);
    if (exit.restartInMs === null) {
      this.#setState('failed');
      return;
    }
    this.#reconnects++;
    this.#retryAtMs = performance.now() + exit.restartInMs;
    this.#setState('retrying');
  }

  /** The muxer reports what it has written each second: that is "live", and its growth is the heartbeat. */
  #onProgress(run: ProcessRun, totalBytes: number): void {
    if (this.#process.run !== run) return;
    const grown = totalBytes - this.#sessionBytes;
    if (grown > 0) {
      this.#sessionBytes = totalBytes;
      this.#bytesSent += grown;
      this.#lastGrowthMs = performance.now();
      this.#process.noteOutput();
      this.emit('bytes', grown);
      if (this.#state === 'connecting') {
        this.#liveSinceMs = performance.now();
        this.#lastError = null;
        this.#setState('live');
      }
    }
  }

  /** A muxer that hangs (server gone silent, process stopped) is replaced; its exit schedules the retry. */
  #stuck(silentMs: number, ranMs: number): string | null {
    if (this.#state === 'connecting' && ranMs > CONNECT_TIMEOUT_MS) return `no connection after ${CONNECT_TIMEOUT_MS / 1000} s`;
    // Tags kept coming for that long and none reached the server (a stall of the channel itself is not one).
    if (this.#state === 'live' && this.#lastPushMs - this.#lastGrowthMs > this.#stallMs) return `stalled: nothing sent for ${Math.round(silentMs / 1000)} s`;
    return null;
  }

  /** Receives every tag of the channel's stream. */
  push(tag: FlvTag): void {
    if (tag.isSequenceHeader) this.#headers[tag.type === 'video' ? 'video' : 'audio'] = tag;
    else if (tag.type === 'script') this.#headers.script = tag;
    if (!this.#process.running) return;
    this.#lastPushMs = performance.now();
    if (this.#waitingForKeyframe) {
      if (!tag.isKeyframe) return;
      this.#waitingForKeyframe = false;
      for (const header of [this.#headers.script, this.#headers.video, this.#headers.audio]) if (header) this.#backlog.push(header.bytes);
    }
    this.#backlog.push(tag.bytes);
    this.#flush();
  }

  #flush(): void {
    const stdin = this.#process.run?.stdin;
    if (!stdin || stdin.writableEnded) return;
    while (this.#backlog.size > 0 && stdin.writableNeedDrain === false) stdin.write(this.#backlog.shift() as Buffer);
  }

  async #stopMuxer(): Promise<void> {
    this.#backlog.clear();
    this.#liveSinceMs = null;
    await this.#process.stop();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#backlog.clear();
    this.#liveSinceMs = null;
    await this.#process.close();
  }
}

/**
 * A preset file for ffmpeg's -fpre with the URL's secret part (rtmp_app, rtmp_playpath), open and
 * already removed: it exists only as this descriptor, which the child gets as fd 3 (ffmpeg opens
 * /dev/fd/3, which reaches a removed file too). Its folder is the caller's alone (mkdtemp: mode 700).
 */
function openSecretPreset(parts: PushUrlParts): number {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-push-'));
  try {
    const fd = openSync(join(dir, 'push.ffpreset'), 'w+', 0o600);
    try {
      writeSync(fd, `rtmp_app=${parts.app}\nrtmp_playpath=${parts.playpath}\n`);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
