import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { BoundedQueue } from '../queue.js';
import { flvFileHeader, type FlvTag } from './flvTags.js';
import { redactUrl } from './redact.js';

export type DestinationState = 'connecting' | 'live' | 'retrying' | 'closed';

export interface DestinationStatus {
  readonly id: string;
  readonly url: string;
  readonly state: DestinationState;
  readonly reconnects: number;
  readonly lastError: string | null;
  readonly bytesSent: number;
}

export interface DestinationEvents {
  state: [DestinationState];
  bytes: [number];
}

const MAX_QUEUED_TAGS = 300;

/**
 * One RTMP push: an ffmpeg stream-copy muxer fed with the channel's encoded FLV tags. Each destination
 * has its own process, queue and reconnect, so one failing never touches another or the encoder.
 * A (re)started muxer first gets the sequence headers, then media from the next keyframe.
 */
export class RtmpDestination extends EventEmitter<DestinationEvents> {
  readonly id: string;
  readonly #url: string;
  readonly #ffmpegPath: string;
  #child: ChildProcessByStdio<Writable, null, Readable> | null = null;
  #state: DestinationState = 'connecting';
  #reconnects = 0;
  #lastError: string | null = null;
  #bytesSent = 0;
  #waitingForKeyframe = true;
  #closed = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #liveTimer: NodeJS.Timeout | null = null;
  readonly #backlog: BoundedQueue<Buffer>;
  #headers: { video: FlvTag | null; audio: FlvTag | null; script: FlvTag | null } = { video: null, audio: null, script: null };

  constructor(id: string, url: string, ffmpegPath: string) {
    super();
    this.id = id;
    this.#url = url;
    this.#ffmpegPath = ffmpegPath;
    // If the muxer stalls, old tags go first; on overflow we resync at the next keyframe.
    this.#backlog = new BoundedQueue<Buffer>(MAX_QUEUED_TAGS, 'drop-oldest', () => {
      this.#waitingForKeyframe = true;
    });
  }

  get status(): DestinationStatus {
    return { id: this.id, url: redactUrl(this.#url), state: this.#state, reconnects: this.#reconnects, lastError: this.#lastError, bytesSent: this.#bytesSent };
  }

  #setState(state: DestinationState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  start(): void {
    if (this.#closed || this.#child) return;
    this.#setState(this.#reconnects === 0 ? 'connecting' : 'retrying');
    const child = spawn(
      this.#ffmpegPath,
      ['-hide_banner', '-loglevel', 'error', '-nostdin', '-fflags', '+nobuffer', '-analyzeduration', '0', '-probesize', '32768',
        '-f', 'flv', '-i', 'pipe:0', '-map', '0', '-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', '-rw_timeout', '10000000', this.#url],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.#child = child;
    this.#waitingForKeyframe = true;
    this.#backlog.clear();
    child.stdin.on('error', () => {});
    child.stdin.on('drain', () => this.#flush());
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      // Never keep the URL: ffmpeg may print it, key included.
      stderr = (stderr + chunk.toString().split(this.#url).join(redactUrl(this.#url))).slice(-500);
    });
    child.on('error', (err) => {
      stderr = err.message;
    });
    child.on('close', (code) => {
      if (this.#child !== child) return;
      this.#child = null;
      if (this.#liveTimer) clearTimeout(this.#liveTimer);
      if (this.#closed) return;
      this.#lastError = stderr.trim().split('\n').at(-1) || `muxer exited (${code})`;
      this.#reconnects++;
      this.#setState('retrying');
      const delayMs = Math.min(10_000, 500 * 2 ** Math.min(5, this.#reconnects - 1));
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.start();
      }, delayMs);
    });
    child.stdin.write(flvFileHeader(true, true));
    // Live once the muxer has held the connection for a moment without failing.
    this.#liveTimer = setTimeout(() => {
      if (this.#child === child) {
        this.#lastError = null;
        this.#setState('live');
      }
    }, 1500);
  }

  /** Receives every tag of the channel's stream. */
  push(tag: FlvTag): void {
    if (tag.isSequenceHeader) this.#headers[tag.type === 'video' ? 'video' : 'audio'] = tag;
    else if (tag.type === 'script') this.#headers.script = tag;
    if (!this.#child) return;
    if (this.#waitingForKeyframe) {
      if (!tag.isKeyframe) return;
      this.#waitingForKeyframe = false;
      for (const header of [this.#headers.script, this.#headers.video, this.#headers.audio]) if (header) this.#backlog.push(header.bytes);
    }
    this.#backlog.push(tag.bytes);
    this.#flush();
  }

  #flush(): void {
    const stdin = this.#child?.stdin;
    if (!stdin) return;
    while (this.#backlog.size > 0 && stdin.writableNeedDrain === false) {
      const bytes = this.#backlog.shift() as Buffer;
      stdin.write(bytes);
      this.#bytesSent += bytes.length;
      this.emit('bytes', bytes.length);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#liveTimer) clearTimeout(this.#liveTimer);
    this.#backlog.clear();
    const child = this.#child;
    this.#setState('closed');
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end();
      child.kill('SIGTERM');
    });
    this.#child = null;
  }
}
