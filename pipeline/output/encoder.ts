import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { AvTick } from '../frames.js';
import { FlvTagReader, type FlvTag } from './flvTags.js';

/** Where one RTP stream goes (the SFU's plain transport) and how it is labelled. */
export interface RtpTarget {
  readonly host: string;
  readonly port: number;
  readonly rtcpPort: number;
  readonly ssrc: number;
  readonly payloadType: number;
}

/**
 * The WebRTC rendition: H.264 constrained baseline with short keyframe spacing (so a viewer who joins sees
 * a picture at once; the RTMP encode keeps the platforms' 2 s GOP) and Opus, as RTP to the SFU.
 */
export interface RtpOutput {
  readonly video: RtpTarget;
  readonly audio: RtpTarget;
  readonly videoKbps: number;
  readonly keyframeSeconds: number;
  readonly audioKbps: number;
}

export interface EncoderSettings {
  readonly ffmpegPath: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly sampleRateHz: number;
  readonly videoKbps: number;
  readonly audioKbps: number;
  readonly gopSeconds: number;
  readonly x264Preset: string;
  readonly x264Params: string;
  readonly threads: number;
  readonly rtp: RtpOutput | null;
}

export interface EncoderStats {
  fps: number;
  bitrateKbps: number;
  speed: number;
  frames: number;
}

export interface EncoderEvents {
  tag: [FlvTag];
  stats: [EncoderStats];
  /** The process ended unexpectedly; it will be restarted. */
  died: [string];
  restarted: [];
}

/** Threads for x264: one is the cheapest per frame and keeps up up to 720p; larger pictures need more. */
export function encoderThreads(s: EncoderSettings): number {
  if (s.threads > 0) return s.threads;
  return s.width * s.height <= 1280 * 720 ? 1 : 0;
}

/**
 * Builds the ffmpeg arguments: I420 (BT.709, limited range) on stdin, s16le stereo on fd 3, FLV
 * (H.264 + AAC) on stdout.
 */
export function encoderArgs(s: EncoderSettings, timestampOffsetS: number): string[] {
  const gop = Math.max(1, Math.round(s.gopSeconds * s.fps));
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-nostats',
    '-progress', 'pipe:4', '-stats_period', '1',
    // Raw inputs need no probing; without these ffmpeg reads seconds of input before it starts encoding.
    '-probesize', '32', '-analyzeduration', '0',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-video_size', `${s.width}x${s.height}`, '-framerate', String(s.fps), '-i', 'pipe:0',
    '-probesize', '32', '-analyzeduration', '0',
    '-f', 's16le', '-ar', String(s.sampleRateHz), '-ac', '2', '-i', 'pipe:3',
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', s.x264Preset, '-tune', 'zerolatency', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709',
    '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${s.gopSeconds})`,
    '-b:v', `${s.videoKbps}k`, '-maxrate', `${s.videoKbps}k`, '-bufsize', `${s.videoKbps}k`,
    ...(s.x264Params ? ['-x264-params', s.x264Params] : []),
    '-threads', String(encoderThreads(s)),
    '-c:a', 'aac', '-b:a', `${s.audioKbps}k`, '-ar', String(s.sampleRateHz), '-ac', '2',
    '-output_ts_offset', timestampOffsetS.toFixed(6),
    '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1',
    ...(s.rtp ? rtpOutputArgs(s.rtp, s.fps) : []),
  ];
}

/** The RTP outputs' arguments: a second encode of the same input frames, in the same process. */
export function rtpOutputArgs(rtp: RtpOutput, fps: number): string[] {
  const gop = Math.max(1, Math.round(rtp.keyframeSeconds * fps));
  const url = (t: RtpTarget) => `rtp://${t.host}:${t.port}?rtcpport=${t.rtcpPort}&pkt_size=1200`;
  return [
    '-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
    '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709',
    '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-b:v', `${rtp.videoKbps}k`, '-maxrate', `${rtp.videoKbps}k`, '-bufsize', `${Math.round(rtp.videoKbps / 2)}k`, '-threads', '1',
    // Parameter sets before every keyframe: a viewer may start at any of them.
    '-bsf:v', 'dump_extra=freq=keyframe',
    '-payload_type', String(rtp.video.payloadType), '-ssrc', String(rtp.video.ssrc), '-f', 'rtp', url(rtp.video),
    '-map', '1:a', '-c:a', 'libopus', '-b:a', `${rtp.audioKbps}k`, '-ar', '48000', '-ac', '2', '-application', 'lowdelay', '-frame_duration', '20',
    '-payload_type', String(rtp.audio.payloadType), '-ssrc', String(rtp.audio.ssrc), '-f', 'rtp', url(rtp.audio),
  ];
}

/**
 * The one encoder of a channel. Each tick's picture and sound are written together, so the encoder's
 * timestamps (frame count, sample count) follow the media clock exactly. If the process dies it is
 * restarted with its timestamps offset to the current media time, so destinations see one timeline.
 */
export class Encoder extends EventEmitter<EncoderEvents> {
  #settings: EncoderSettings;
  #child: ChildProcess | null = null;
  #video: Writable | null = null;
  #audio: Writable | null = null;
  #reader = new FlvTagReader();
  #closed = false;
  #lastError = '';
  #restartTimer: NodeJS.Timeout | null = null;
  #nextPtsUs = 0;

  #switching = false;

  constructor(settings: EncoderSettings) {
    super();
    this.#settings = settings;
  }

  get settings(): EncoderSettings {
    return this.#settings;
  }

  /**
   * Points the WebRTC rendition somewhere else (the SFU was restarted) or turns it off: the process is
   * restarted at once at the media clock, which destinations see as one timeline.
   */
  setRtp(rtp: RtpOutput | null): void {
    this.#settings = { ...this.#settings, rtp };
    const child = this.#child;
    if (!child || this.#closed) return;
    this.#switching = true;
    child.kill('SIGTERM');
  }

  /** The encoder process id while it runs (for CPU accounting). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Bytes written but not yet taken by ffmpeg: the encoder's input queue. */
  get pendingBytes(): number {
    return (this.#video?.writableLength ?? 0) + (this.#audio?.writableLength ?? 0);
  }

  start(): void {
    if (this.#closed || this.#child) return;
    const child = spawn(this.settings.ffmpegPath, encoderArgs(this.#settings, this.#nextPtsUs / 1e6), {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#reader = new FlvTagReader();
    const [stdin, stdout, stderr, audioPipe, progress] = child.stdio as [Writable, Readable, Readable, Writable, Readable];
    this.#video = stdin;
    this.#audio = audioPipe;
    // A dying ffmpeg closes its pipes; the write errors are expected and reported through 'close'.
    stdin.on('error', () => {});
    audioPipe.on('error', () => {});
    stdout.on('data', (chunk: Buffer) => this.#reader.push(chunk, (tag) => this.emit('tag', tag)));
    stderr.on('data', (chunk: Buffer) => {
      this.#lastError = (this.#lastError + chunk.toString()).slice(-600);
    });
    let block = '';
    progress.on('data', (chunk: Buffer) => {
      block += chunk.toString();
      let end;
      while ((end = block.indexOf('progress=')) !== -1) {
        const lineEnd = block.indexOf('\n', end);
        if (lineEnd === -1) break;
        this.#emitStats(block.slice(0, lineEnd));
        block = block.slice(lineEnd + 1);
      }
    });
    child.on('error', (err) => {
      this.#lastError = err.message;
    });
    child.on('close', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = null;
      this.#video = null;
      this.#audio = null;
      if (this.#closed) return;
      if (this.#switching) {
        this.#switching = false;
        this.start();
        return;
      }
      const why = this.#lastError.trim().split('\n').at(-1) || `exit ${code ?? signal}`;
      this.emit('died', why);
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        this.start();
        this.emit('restarted');
      }, 500);
    });
  }

  #emitStats(block: string): void {
    const values = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    this.emit('stats', {
      fps: Number(values.get('fps')) || 0,
      bitrateKbps: Number.parseFloat(values.get('bitrate') ?? '') || 0,
      speed: Number.parseFloat(values.get('speed') ?? '') || 0,
      frames: Number(values.get('frame')) || 0,
    });
  }

  /** Writes one tick; returns false (nothing written) when no encoder is running. */
  write(tick: AvTick): boolean {
    // Kept even while down: a restarted encoder resumes at the media clock, not where it died.
    this.#nextPtsUs = tick.video.ptsUs + Math.round(1e6 / this.#settings.fps);
    if (!this.#video || !this.#audio) return false;
    const picture = tick.video.picture.retain();
    this.#video.write(picture.data, () => picture.release());
    this.#audio.write(tick.audio.pcm);
    return true;
  }

  /** Stops the encoder for good; resolves once the process has exited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.#child = null;
  }
}
