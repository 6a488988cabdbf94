import type { Picture } from './compose/picturePool.js';

/**
 * Typed frames that flow through a channel. Scheduling classes follow pipecat's split: system frames
 * (interrupt) cut ahead of everything and are never dropped; control frames keep their order with media;
 * media frames may be dropped by a live queue when stale.
 */
export type SchedulingClass = 'system' | 'control' | 'media';

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

export interface InterruptFrame {
  readonly kind: 'interrupt';
  readonly reason: string;
}

export interface EndOfStreamFrame {
  readonly kind: 'end';
}

export type MediaFrame = VideoFrame | AudioFrame;
export type SystemFrame = InterruptFrame | EndOfStreamFrame;
export type Frame = MediaFrame | SystemFrame;

export function schedulingClassOf(frame: Frame): SchedulingClass {
  switch (frame.kind) {
    case 'interrupt':
    case 'end':
      return 'system';
    case 'video':
    case 'audio':
      return 'media';
  }
}

/** One tick's output: the picture and the sound that play together. */
export interface AvTick {
  readonly video: VideoFrame;
  readonly audio: AudioFrame;
}
