import type { LiveDriverStatus } from './presence.js';
import type { DriveRig } from '../drive/retarget.js';
import type { DestinationStatus } from '../output/destinationStatus.js';

export type ChannelState = 'starting' | 'live' | 'stalled' | 'closed';
export type DriveSource = 'idle' | 'file' | 'camera';

/** What moves the avatar now, and how well the tracking keeps up. */
export interface DriveStatus {
  readonly source: DriveSource;
  /** What it plays: a file in the data folder relative to it, or the URL given. */
  readonly url?: string;
  /** `dropped`: frames that came while one was being tracked (skipped, not queued). */
  readonly face: { readonly found: boolean; readonly fps: number; readonly ms: number; readonly dropped: number; readonly rig: DriveRig | null; readonly latencyMs: number };
  readonly iris: { readonly fps: number; readonly ms: number };
  readonly pose: { readonly found: boolean; readonly fps: number; readonly ms: number };
}

/** A channel as the API shows it (GET /api/channels/:id). */
export interface ChannelStatus {
  readonly id: string;
  readonly state: ChannelState;
  readonly preset: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly fpsMeasured: number;
  /** Output video minus audio timestamp, smoothed (see fenshen_av_offset_seconds). */
  readonly avOffsetMs: number | null;
  readonly activity: 'idle' | 'speaking';
  /** Whether a real person drives the host, and whether one is required. */
  readonly liveDriver: LiveDriverStatus;
  readonly speech: { readonly provider: string; readonly queued: number; readonly playlistLines: number; readonly playlistLoop: boolean; readonly sentence: string | null };
  readonly avatar: string;
  /** A clone shown cut out over the scene. */
  readonly avatarCutout: boolean;
  readonly drive: DriveStatus;
  /** `frames`: frames the encoder has output since it (last) started, as it reports them. */
  readonly encoder: { readonly running: boolean; readonly fps: number; readonly bitrateKbps: number; readonly speed: number; readonly frames: number; readonly restarts: number; readonly heldTicks: number };
  readonly destinations: readonly DestinationStatus[];
  readonly viewers: number;
  readonly framesRendered: number;
  readonly framesRepeated: number;
  readonly uptimeS: number;
}

/** Seconds of ticks the output frame rate is measured over. */
const FPS_WINDOW_S = 5;

/**
 * Frames made per second of the clock, over the last few seconds in one-second buckets. One second
 * alone read 32.4 at 30 fps when a catch-up burst after a stall fell inside it.
 */
export class FpsMeter {
  readonly #bucketFrames: number[] = [];
  #bucketStartUs = -1;
  #frames = 0;
  #value = 0;

  get value(): number {
    return this.#value;
  }

  /** Resets the window to start at `nowUs`. */
  reset(nowUs: number): void {
    this.#bucketFrames.length = 0;
    this.#bucketStartUs = nowUs;
    this.#frames = 0;
    this.#value = 0;
  }

  /** Counts one frame made at `nowUs`; returns true when a second closed and `value` changed. */
  count(nowUs: number): boolean {
    if (this.#bucketStartUs < 0) this.#bucketStartUs = nowUs;
    this.#frames++;
    const elapsedUs = nowUs - this.#bucketStartUs;
    if (elapsedUs < 1_000_000) return false;
    // A bucket closes at the first frame past its second; its frames over its true length.
    this.#bucketFrames.push((this.#frames * 1e6) / elapsedUs);
    if (this.#bucketFrames.length > FPS_WINDOW_S) this.#bucketFrames.shift();
    this.#value = this.#bucketFrames.reduce((s, v) => s + v, 0) / this.#bucketFrames.length;
    this.#bucketStartUs = nowUs;
    this.#frames = 0;
    return true;
  }
}
