import type { I420Layout } from '../compose/i420.js';
import type { Affine } from './affine.js';
import type { RigPose } from './rig.js';
import type { SpriteSource } from './spriteSource.js';

/** Where the avatar stands in the frame: the hips pivot lands on (x, y) pixels. */
export interface AvatarPlacement {
  readonly x: number;
  readonly y: number;
}

/** One sprite to draw in a frame. */
export interface DrawItem {
  /** The layer it draws (its id in the manifest). */
  readonly layer: string;
  readonly source: SpriteSource;
  /** Source pixels to frame pixels; a plain integer offset for big layers, so they blit. */
  readonly transform: Affine;
  /** Integer pixel bounds it touches: [x0, y0, x1, y1), with a pixel of margin for smoothing. */
  readonly bounds: readonly [number, number, number, number];
}

/**
 * What the tick asks of an avatar, whatever draws it: the pose (head, eyes, mouth, breath) and where
 * it stands go in, the sprites of this frame come out, back to front, each named by a key so that the
 * compositor redraws only what changed (the damage). The rig renderer is one implementation; another
 * kind of avatar (a clone made from a recording) is another, and the channel does not change.
 */
export interface AvatarPort {
  readonly kind: 'sprites';
  /** The avatar's id, as the API names it. */
  readonly id: string;
  /** Bytes of pixels it keeps ready (for the cache metric). */
  readonly cacheBytes: number;
  /** The sprites of one pose at `placement`, back to front. */
  frame(pose: RigPose, placement: AvatarPlacement): DrawItem[];
}

/**
 * An avatar drawn as a whole picture: a clone, the host's own recording with a mouth put in. It draws
 * each frame straight into the frame's I420 planes (the whole picture changes every frame, so nothing is
 * gained by sprites and damage): all of it (the host in their own room), or, when `cutout`, the person
 * over the scene's backplate already in the frame, where `placement` stands. The scene's overlays go on
 * top. It plays a video, so it is closed.
 */
export interface FrameAvatarPort {
  readonly kind: 'frame';
  readonly id: string;
  readonly cacheBytes: number;
  readonly cutout: boolean;
  /** Whether its next picture is decoded (an export's tick waits for it; live shows the last). */
  readonly pictureReady: boolean;
  /** Resolves when it can draw its first picture (or after a bounded wait): a swap to it waits on this. */
  readonly ready: Promise<void>;
  /** Draws the frame for `pose` into `frame`; `mouthAhead` is the mouth of the next frames when known (scripted speech). */
  drawFrame(pose: RigPose, frame: Uint8Array, layout: I420Layout, mouthAhead?: readonly MouthAhead[], placement?: AvatarPlacement): void;
  close(): void;
}

/** The rig's mouth in a frame to come (as the speech's viseme track says it will be). */
export interface MouthAhead {
  readonly open: number;
  readonly form: number;
  readonly round: number;
}

/** Whatever a channel shows as its host. */
export type ChannelAvatar = AvatarPort | FrameAvatarPort;
