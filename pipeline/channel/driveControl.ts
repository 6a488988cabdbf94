import { resolve, sep } from 'node:path';
import type { EventEmitter } from 'node:events';
import type { ChannelConfig } from '../../config/schema.js';
import { BlockInput } from '../audio/mixer.js';
import { MicSource } from '../audio/micSource.js';
import { blendPose, type RigPose } from '../avatar/rig.js';
import { DriveStartError, FaceDriver } from '../drive/faceDriver.js';
import type { DriveRig } from '../drive/retarget.js';
import type { DriveInput } from '../drive/videoSource.js';
import { AudioMouth } from '../speech/audioMouth.js';
import type { MouthState } from '../speech/visemes.js';
import { DriveError } from './errors.js';
import type { ChannelObserverEvents } from './events.js';
import type { OperatorTap, WebrtcOutput } from './ports.js';
import type { DriveSource, DriveStatus } from './status.js';

/** Seconds the tracked face takes to fade in when found and out when lost. */
const DRIVE_FADE_S = 0.4;

interface ActiveDrive {
  readonly source: DriveSource;
  readonly url?: string;
  readonly face: FaceDriver;
  /**
   * The camera's way out of the SFU and the timer asking it for keyframes until frames decode; the
   * microphone, when the operator sends one: the voice goes out with the picture and moves the mouth.
   */
  readonly camera?: { readonly tap: OperatorTap; readonly keyframes: NodeJS.Timeout; readonly mic: { readonly tap: OperatorTap; readonly source: MicSource } | null };
}

export interface DriveControlOptions {
  readonly channelId: string;
  readonly ffmpegPath: string;
  readonly tracking: ChannelConfig['drive'];
  readonly sampleRateHz: number;
  readonly fps: number;
  readonly observer: EventEmitter<ChannelObserverEvents>;
  /** FENSHEN_DATA: a drive video inside it is shown relative to it (uploads/u-….mp4), never as a machine path. */
  readonly dataDir: string;
  /**
   * Off the wall clock (an export): a drive file is tracked frame by frame, none dropped, and each tick shows
   * the face of the file's frame at its own media time, waiting for it (`readyFor`) instead of taking the latest.
   */
  readonly paced?: boolean;
}

/** The operator's voice this tick, as the mix hears it and the mouth shows it. */
export interface MicTick {
  readonly mouth: MouthState;
  readonly voiced: boolean;
}

/**
 * What moves the avatar besides idle motion: a face tracked in a video file or URL, or the operator's
 * camera (and microphone) over WebRTC. The tick asks it to lay the face over the pose and for this tick's
 * microphone block, which it hands to the mixer through `micInput`.
 */
export class DriveControl {
  /** The operator's microphone as a mixer input (silent without one). */
  readonly micInput = new BlockInput();
  readonly #options: DriveControlOptions;
  readonly #micMouth: AudioMouth;
  #micBlock = new Float32Array(0);
  #webrtc: WebrtcOutput | null;
  #active: ActiveDrive | null = null;
  /** How much the tracked face drives the avatar (fades in and out). */
  #weight = 0;
  #lastRig: DriveRig | null = null;
  #seq = 0;
  #latencyMs = 0;
  #closed = false;

  constructor(options: DriveControlOptions, webrtc: WebrtcOutput | null) {
    this.#options = options;
    this.#webrtc = webrtc;
    this.#micMouth = new AudioMouth(options.sampleRateHz);
  }

  get source(): DriveSource {
    return this.#active?.source ?? 'idle';
  }

  /** The SFU moved (its worker was restarted) or went away: a camera drive on the old one has lost its camera. */
  async setWebrtc(webrtc: WebrtcOutput | null): Promise<void> {
    this.#webrtc = webrtc;
    if (this.#active?.source === 'camera') await this.set('idle');
  }

  async set(source: DriveSource, url?: string): Promise<void> {
    let next: ActiveDrive | null = null;
    if (source === 'file') {
      if (!url) throw new DriveError('drive source "file" needs a url (a video file path or URL)');
      next = { source, url, face: await this.#startFaceDriver({ kind: 'file', url, paced: this.#options.paced ?? false }) };
    } else if (source === 'camera') {
      next = await this.#startCamera();
    }
    const previous = this.#active;
    this.#active = next;
    await stopDrive(previous);
    if (this.#closed) await stopDrive(next);
  }

  /** Takes the current face as the neutral one. */
  async calibrate(): Promise<boolean> {
    return (await this.#active?.face.calibrate()) ?? false;
  }

  /** Paced (an export): whether the drive file's frame for media time `timeS` is tracked yet; true otherwise. */
  readyFor(timeS: number): boolean {
    const active = this.#active;
    if (!this.#options.paced || active?.source !== 'file') return true;
    return active.face.trackedUntilS >= timeS - 1e-6;
  }

  /** Lays the tracked face over `pose` (for the tick at media time `timeS`), fading in when a face appears and out when it is lost. */
  applyTo(pose: RigPose, timeS: number): void {
    const face = this.#active?.face;
    const rig = (this.#options.paced ? face?.rigAt(timeS) : face?.latest()) ?? null;
    const frame = face?.latestFrame;
    if (rig && frame && frame.seq !== this.#seq) {
      // A new tracking result reaches the picture in this tick: camera frame → rendered frame latency.
      this.#seq = frame.seq;
      const ms = performance.timeOrigin + performance.now() - frame.frameAtMs;
      this.#latencyMs = this.#latencyMs === 0 ? ms : this.#latencyMs + (ms - this.#latencyMs) * 0.1;
      this.#options.observer.emit('driveLatency', { ms });
    }
    this.#weight = Math.max(0, Math.min(1, this.#weight + (rig ? 1 : -1) / (DRIVE_FADE_S * this.#options.fps)));
    if (this.#weight > 0 && rig) blendPose(pose, rig, this.#weight);
    else if (this.#weight > 0 && this.#lastRig) blendPose(pose, this.#lastRig, this.#weight);
    if (rig) this.#lastRig = rig;
  }

  /** What showed a real person this tick: their face tracked on the camera, or (`micVoiced`) their voice. */
  personSeen(micVoiced: boolean): 'camera' | 'microphone' | null {
    const active = this.#active;
    if (active?.source === 'camera' && active.face.latest() !== null) return 'camera';
    return micVoiced ? 'microphone' : null;
  }

  /**
   * The microphone's `frames` samples for this tick: handed to the mixer, and the mouth they make. Null
   * without a microphone.
   */
  takeMic(frames: number): MicTick | null {
    const mic = this.#active?.camera?.mic?.source;
    if (!mic) return null;
    if (this.#micBlock.length < frames) this.#micBlock = new Float32Array(frames);
    const block = mic.take(frames, this.#micBlock);
    this.micInput.set(block);
    const mouth = this.#micMouth.process(block);
    return { mouth, voiced: this.#micMouth.voiced };
  }

  get status(): DriveStatus {
    const active = this.#active;
    return {
      source: active?.source ?? 'idle',
      ...(active?.url ? { url: this.#shownUrl(active.url) } : {}),
      face: { ...(active ? active.face.stats : { found: false, fps: 0, ms: 0, dropped: 0 }), rig: active?.face.latest() ?? null, latencyMs: Math.round(this.#latencyMs) },
      iris: active ? active.face.irisStats : { fps: 0, ms: 0 },
      pose: active ? active.face.poseStats : { found: false, fps: 0, ms: 0 },
    };
  }

  /** What the status says the drive plays: a file in the data folder relative to it; a URL as given, its key masked by the scrubber. */
  #shownUrl(url: string): string {
    const base = resolve(this.#options.dataDir) + sep;
    return url.startsWith(base) ? url.slice(base.length) : url;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const active = this.#active;
    this.#active = null;
    await stopDrive(active);
  }

  #log(level: 'info' | 'warn', message: string): void {
    this.#options.observer.emit('log', { level, message: `channel ${this.#options.channelId}: ${message}` });
  }

  async #startFaceDriver(input: DriveInput): Promise<FaceDriver> {
    try {
      return await FaceDriver.start(input, {
        ffmpegPath: this.#options.ffmpegPath,
        tracking: this.#options.tracking,
        onError: (m) => this.#log('warn', m),
        onLog: (m) => this.#log('info', m),
      });
    } catch (err) {
      throw new DriveError(err instanceof DriveStartError ? err.message : `drive failed to start: ${(err as Error).message}`);
    }
  }

  async #startCamera(): Promise<ActiveDrive> {
    const webrtc = this.#webrtc;
    if (!webrtc) throw new DriveError('the camera comes over WebRTC, which is off on this server (FENSHEN_WEBRTC_PORT=0 or no mediasoup worker)');
    let tap: OperatorTap;
    try {
      tap = await webrtc.openOperatorTap('video');
    } catch (err) {
      throw new DriveError((err as Error).message);
    }
    let face: FaceDriver;
    try {
      face = await this.#startFaceDriver({ kind: 'rtp', sdp: tap.sdp });
    } catch (err) {
      tap.close();
      throw err;
    }
    // The decoder joins mid-stream: it needs a keyframe, and again whenever frames stop (camera restarted).
    const ask = () => void tap.resume().catch(() => undefined);
    ask();
    const keyframes = setInterval(() => {
      if (performance.timeOrigin + performance.now() - face.lastResultAtMs > 2000) ask();
    }, 1000);
    return { source: 'camera', face, camera: { tap, keyframes, mic: await this.#startMic(webrtc) } };
  }

  /** The operator's microphone, when sent: decoded live for the mix and the mouth. A failure only logs. */
  async #startMic(webrtc: WebrtcOutput): Promise<{ tap: OperatorTap; source: MicSource } | null> {
    if (!webrtc.sends('audio')) return null;
    try {
      const tap = await webrtc.openOperatorTap('audio');
      const source = new MicSource({ ffmpegPath: this.#options.ffmpegPath, sdp: tap.sdp, sampleRateHz: this.#options.sampleRateHz, onError: (m) => this.#log('warn', m) });
      source.start();
      // ffmpeg binds its port within a moment; the first packets before that are lost, which is fine for a voice.
      setTimeout(() => void tap.resume().catch(() => undefined), 300);
      return { tap, source };
    } catch (err) {
      this.#log('warn', `the microphone cannot be used: ${(err as Error).message}`);
      return null;
    }
  }
}

async function stopDrive(drive: ActiveDrive | null): Promise<void> {
  if (!drive) return;
  if (drive.camera) clearInterval(drive.camera.keyframes);
  await drive.face.close();
  drive.camera?.tap.close();
  drive.camera?.mic?.source.close();
  drive.camera?.mic?.tap.close();
}
