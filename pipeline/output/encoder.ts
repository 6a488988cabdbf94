import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { AvTick } from '../frames.js';
import type { Picture } from '../compose/picturePool.js';
import { SupervisedProcess, silenceWatchdog, type ProcessRun } from '../process/supervisedProcess.js';
import { Backoff } from './backoff.js';
import { FlvTagReader, FlvTimelineGuard, type FlvTag } from './flvTags.js';

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
  /** The PCM written each tick. */
  readonly sampleRateHz: number;
  readonly videoKbps: number;
  readonly profile: 'main' | 'high';
  readonly audioKbps: number;
  /** AAC's rate in the FLV (the platforms take 44.1 kHz); ffmpeg resamples from `sampleRateHz`. */
  readonly aacSampleRateHz: number;
  readonly gopSeconds: number;
  readonly x264Preset: string;
  readonly x264Params: string;
  readonly threads: number;
  readonly rtp: RtpOutput | null;
  /** Written into the FLV's onMetaData (string properties), e.g. the AIGC implicit label. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Encoding a file (a short video), not a stream: constant quality (x264's CRF) instead of the stream's
   * bitrate and buffer, and x264's frame threads instead of zero-latency slices (with bitrate control, two
   * threads made different frames from the same input, measured; at constant quality they make the same);
   * the sound as 16-bit PCM, encoded once when the file is finished.
   */
  readonly file?: { readonly crf: number };
}

/** A short video's quality: x264's CRF (lower is better and bigger; 23 is x264's default). */
export const FILE_CRF = 22;
/** A short video's encoder threads, whatever the box: the thread count is part of what x264 makes. */
export const FILE_THREADS = 2;
/** A file's PCM rate until it is finished (FLV's PCM goes up to 44.1 kHz; the AAC may be 48). */
export const FILE_PCM_RATE_HZ = 44100;

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
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-nostats',
    '-progress', 'pipe:4', '-stats_period', '1',
    // Raw inputs need no probing; without these ffmpeg reads seconds of input before it starts encoding.
    '-probesize', '32', '-analyzeduration', '0',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-video_size', `${s.width}x${s.height}`, '-framerate', String(s.fps), '-i', 'pipe:0',
    '-probesize', '32', '-analyzeduration', '0',
    '-f', 's16le', '-ar', String(s.sampleRateHz), '-ac', '2', '-i', 'pipe:3',
    ...encoderOutputArgs(s, timestampOffsetS, 'pipe:1'),
  ];
}

/**
 * The outputs alone (input 0 the picture, input 1 the sound): the FLV encode to `flvTarget`, then the
 * WebRTC rendition. The benchmark runs the same outputs from a file as the reference cost.
 */
export function encoderOutputArgs(s: EncoderSettings, timestampOffsetS: number, flvTarget: string): string[] {
  const gop = Math.max(1, Math.round(s.gopSeconds * s.fps));
  return [
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', s.x264Preset, ...(s.file ? [] : ['-tune', 'zerolatency']), '-profile:v', s.profile, '-pix_fmt', 'yuv420p',
    '-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709',
    '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${s.gopSeconds})`,
    ...(s.file ? ['-crf', String(s.file.crf)] : ['-b:v', `${s.videoKbps}k`, '-maxrate', `${s.videoKbps}k`, '-bufsize', `${s.videoKbps}k`]),
    ...(s.x264Params ? ['-x264-params', s.x264Params] : []),
    '-threads', String(encoderThreads(s)),
    // A file's sound stays PCM until it is finished (its loudness set, then encoded once).
    ...(s.file ? ['-c:a', 'pcm_s16le', '-ar', String(FILE_PCM_RATE_HZ)] : ['-c:a', 'aac', '-b:a', `${s.audioKbps}k`, '-ar', String(s.aacSampleRateHz)]), '-ac', '2',
    '-output_ts_offset', timestampOffsetS.toFixed(6),
    ...Object.entries(s.metadata ?? {}).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]),
    '-f', 'flv', '-flvflags', 'no_duration_filesize', flvTarget,
    ...(s.rtp ? rtpOutputArgs(s.rtp, s.fps) : []),
  ];
}

/** The RTP outputs' arguments: a second encode of the same input frames, in the same process. */
export function rtpOutputArgs(rtp: RtpOutput, fps: number): string[] {
  const gop = Math.max(1, Math.round(rtp.keyframeSeconds * fps));
  const url = (t: RtpTarget) => `rtp://${t.host}:${t.port}?rtcpport=${t.rtcpPort}&localaddr=127.0.0.1&pkt_size=1200`;
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

/** How long an encoder may take input without producing output before the watchdog replaces it. */
const STALL_MS = 3000;
/** A run this long was not a quick death: the next restart comes after the shortest delay again. */
const STABLE_RUN_MS = 5000;
/**
 * Ticks kept for a restarted encoder: enough to cover a stall until the watchdog acts, plus the restart.
 * Cheap: while the encoder is behind, the channel repeats one picture, so held ticks share its buffer.
 */
const MAX_HELD_SECONDS = 5;

/** A tick the encoder has taken but whose picture has not yet come out of it. */
interface HeldTick {
  readonly ptsUs: number;
  readonly picture: Picture;
  readonly pcm: Buffer;
}

/**
 * The one encoder of a channel. Each tick's picture and sound are written together, so the encoder's
 * timestamps (frame count, sample count) follow the media clock exactly.
 *
 * It never loses the timeline: every tick is held until its picture comes out of ffmpeg as FLV. If the
 * process dies, or the watchdog finds it stalled, a new one starts at the first tick not yet out
 * (timestamps offset to it) and is fed the held ticks, then live ones, so destinations see one unbroken
 * stream (only a pause). Tags that would step back in time after a restart are dropped here, as are
 * repeats of unchanged sequence headers.
 */
export class Encoder extends EventEmitter<EncoderEvents> {
  #settings: EncoderSettings;
  /** The ffmpeg process: restarted when it dies (quick deaths in a row wait longer: a broken setting must not spin). */
  readonly #process: SupervisedProcess;
  #video: Writable | null = null;
  #audio: Writable | null = null;
  #reader = new FlvTagReader();
  #closed = false;
  #nextPtsUs = 0;
  #held: HeldTick[] = [];
  readonly #timeline = new FlvTimelineGuard();

  constructor(settings: EncoderSettings) {
    super();
    this.#settings = settings;
    this.#process = new SupervisedProcess({
      name: 'encoder',
      command: settings.ffmpegPath,
      // A restarted encoder starts at the first tick not yet out, its timestamps offset to it.
      launch: () => ({ args: encoderArgs(this.#settings, (this.#held[0]?.ptsUs ?? this.#nextPtsUs) / 1e6), extraFds: ['pipe', 'pipe'] }),
      stdin: 'pipe',
      // Stalled only while it holds ticks it has not given back (a channel that writes nothing is no stall).
      watchdog: silenceWatchdog(STALL_MS, () => this.#held.length > 0),
      restart: { backoff: new Backoff({ baseMs: 100, capMs: 5000, jitter: false }), stableMs: STABLE_RUN_MS },
      killGraceMs: 2000,
    });
    this.#process.on('spawned', (run) => this.#onSpawned(run));
    this.#process.on('exit', (exit) => {
      this.#video = null;
      this.#audio = null;
      this.emit('died', exit.reason);
    });
  }

  get settings(): EncoderSettings {
    return this.#settings;
  }

  /**
   * Points the WebRTC rendition somewhere else (the SFU was restarted) or turns it off: the process is
   * restarted at once, continuing the same timeline.
   */
  setRtp(rtp: RtpOutput | null): void {
    this.#settings = { ...this.#settings, rtp };
    if (!this.#closed) this.#process.replace();
  }

  /** The encoder process id while it runs (for CPU accounting). */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  get running(): boolean {
    return this.#process.running;
  }

  /** Ticks taken but not yet out as FLV: queued, inside ffmpeg, or waiting for a restart. */
  get heldTicks(): number {
    return this.#held.length;
  }

  /** Bytes written but not yet taken by ffmpeg: the encoder's input queue. */
  get pendingBytes(): number {
    return (this.#video?.writableLength ?? 0) + (this.#audio?.writableLength ?? 0);
  }

  start(): void {
    if (!this.#closed) this.#process.start();
  }

  #onSpawned(run: ProcessRun): void {
    this.#reader = new FlvTagReader();
    const [audioPipe, progress] = run.extra as [Writable, Readable];
    this.#video = run.stdin;
    this.#audio = audioPipe;
    run.stdout.on('data', (chunk: Buffer) => this.#reader.push(chunk, (tag) => this.#onTag(tag)));
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
    // A restarted encoder first gets what its predecessor took but never delivered.
    for (const held of this.#held) this.#writeToProcess(held);
    if (run.restarted) this.emit('restarted');
  }

  #onTag(tag: FlvTag): void {
    // A picture is out: every tick up to it can go.
    if (tag.type === 'video' && !tag.isSequenceHeader) {
      const outUs = tag.timestampMs * 1000 + 999;
      while (this.#held.length > 0 && (this.#held[0] as HeldTick).ptsUs <= outUs) (this.#held.shift() as HeldTick).picture.release();
    }
    if (this.#timeline.accept(tag)) this.emit('tag', tag);
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

  #writeToProcess(held: HeldTick): void {
    // An encoder being replaced has its input closed: the tick stays held for the next one.
    if (!this.#video || this.#video.writableEnded) return;
    this.#video.write(held.picture.data);
    this.#audio?.write(held.pcm);
  }

  /**
   * Takes one tick. It is written at once when an encoder runs, and held for the next one while it
   * restarts. Returns false when the hold was full and the oldest tick had to be given up.
   */
  write(tick: AvTick): boolean {
    this.#nextPtsUs = tick.video.ptsUs + Math.round(1e6 / this.#settings.fps);
    if (this.#closed) return false;
    const held: HeldTick = { ptsUs: tick.video.ptsUs, picture: tick.video.picture.retain(), pcm: tick.audio.pcm };
    this.#held.push(held);
    let kept = true;
    if (this.#held.length > MAX_HELD_SECONDS * this.#settings.fps) {
      (this.#held.shift() as HeldTick).picture.release();
      kept = false;
    }
    this.#writeToProcess(held);
    return kept;
  }

  /**
   * Ends the encode (an export's last frame written): its inputs are closed, ffmpeg encodes what it holds
   * and exits, every tag is out by then (killed after `timeoutMs`: the caller checks what it got).
   */
  async finish(timeoutMs = 60_000): Promise<void> {
    if (this.#closed) return;
    const ended = this.#process.finish(timeoutMs);
    this.#video?.end();
    this.#audio?.end();
    await ended;
    this.#closed = true;
    for (const held of this.#held.splice(0)) held.picture.release();
    this.#video = null;
    this.#audio = null;
  }

  /** Stops the encoder for good; resolves once the process has exited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const held of this.#held.splice(0)) held.picture.release();
    await this.#process.close();
    this.#video = null;
    this.#audio = null;
  }
}
