import type { Picture } from './compose/picturePool.js';

/**
 * The frames a tick hands to the encoder: one picture and the sound that plays with it, stamped with
 * the same media time. Control does not travel as frames: an interrupt is a call that takes effect on
 * the next tick (Speaker.interrupt), so it cannot queue behind media.
 */
export interface VideoFrame {
  readonly kind: 'video';
  readonly ptsUs: number;
  readonly frameIndex: number;
  readonly width: number;
  readonly height: number;
  /** Planar I420 (BT.709, limited range), pooled: holders retain it and release it when done. */
  readonly picture: Picture;
  /** True when the renderer was late and this frame repeats the previous picture. */
  readonly repeated: boolean;
}

export interface AudioFrame {
  readonly kind: 'audio';
  readonly ptsUs: number;
  readonly sampleRateHz: number;
  readonly channels: 2;
  /** Interleaved signed 16-bit little-endian PCM. */
  readonly pcm: Buffer;
}

/** One tick's output: the picture and the sound that play together. */
export interface AvTick {
  readonly video: VideoFrame;
  readonly audio: AudioFrame;
}
