import { DEFAULT_AVATAR_PLACEMENT } from '../../config/schema.js';
import type { AvatarPlacement, FrameAvatarPort, MouthAhead } from '../avatar/avatarPort.js';
import type { RigPose } from '../avatar/rig.js';
import { blendYuvaOver, type I420Layout } from '../compose/i420.js';
import { CloneFiles, CloneLoadError } from './cloneFiles.js';
import { LoopPlayer } from './loopPlayer.js';
import type { Similarity } from './faceGeometry.js';
import { MouthChooser } from './mouthChooser.js';
import { lowerFaceMask, MouthRenderer, patchPlacements } from './mouthRenderer.js';

export interface CloneAvatarOptions {
  readonly dataDir: string;
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly ffmpegPath: string;
  readonly onError: (message: string) => void;
  /**
   * Over the scene's background (the person cut out by the clone's matte, sized by `scale`: the scene's
   * avatar size over its default, and placed where the scene puts the avatar), or, by default, full frame
   * in the room it was recorded in.
   */
  readonly cutout?: { readonly scale: number };
}

/** Where the face's centre sits in the frame, as a share of its height (a host's head in the upper part). */
const FACE_HEIGHT_SHARE = 0.36;

/** The crop of the recording that fills the frame: scaled to cover it, centred on the face across, the face high. */
export function cloneFraming(source: { width: number; height: number }, face: { x: number; y: number }, out: { width: number; height: number }): { scaledWidth: number; scaledHeight: number; cropX: number; cropY: number; toOutput: Similarity } {
  const scale = Math.max(out.width / source.width, out.height / source.height);
  const scaledWidth = Math.max(out.width, Math.round((source.width * scale) / 2) * 2);
  const scaledHeight = Math.max(out.height, Math.round((source.height * scale) / 2) * 2);
  const sx = scaledWidth / source.width, sy = scaledHeight / source.height;
  const cropX = Math.round(Math.max(0, Math.min(scaledWidth - out.width, face.x * sx - out.width / 2)));
  const cropY = Math.round(Math.max(0, Math.min(scaledHeight - out.height, face.y * sy - out.height * FACE_HEIGHT_SHARE)));
  return { scaledWidth, scaledHeight, cropX, cropY, toOutput: { a: (sx + sy) / 2, b: 0, tx: -cropX, ty: -cropY } };
}

/** The longest a swap waits for the loop's first frame. */
const READY_WAIT_MS = 3000;

/** Even, at least 2. */
function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/**
 * Where a cut-out clone's picture (`width`×`height`: the full-frame framing at the cut-out's scale) has its
 * top-left in the frame: centred across on the placement, its bottom where the scene's default placement
 * puts a full frame's (so the default size and place show the host exactly as full frame does).
 */
export function cutoutOrigin(placement: AvatarPlacement, width: number, height: number): { x: number; y: number } {
  const bottom = placement.y + DEFAULT_AVATAR_PLACEMENT.bottom * height;
  return { x: Math.round((placement.x - width / 2) / 2) * 2, y: Math.round((bottom - height) / 2) * 2 };
}

/** Where a clone's face lands in an output frame (loop frame `loopFrame`): mouth centre, nose tip, eye distance, in output pixels. */
export function cloneFaceInFrame(files: CloneFiles, out: { width: number; height: number }, loopFrame = 0): { mouth: { x: number; y: number }; nose: { x: number; y: number }; eyeDistance: number } {
  const { toOutput } = cloneFraming(files.manifest.source, meanNose(files), out);
  const p = files.loopLandmarks.subarray(loopFrame * 936, (loopFrame + 1) * 936);
  const at = (i: number) => ({ x: (p[i * 2] as number) * toOutput.a + toOutput.tx, y: (p[i * 2 + 1] as number) * toOutput.a + toOutput.ty });
  const [upper, lower, right, left] = [at(13), at(14), at(33), at(263)];
  return { mouth: { x: (upper.x + lower.x) / 2, y: (upper.y + lower.y) / 2 }, nose: at(1), eyeDistance: Math.hypot(left.x - right.x, left.y - right.y) };
}

/** The nose tip's mean position over the loop (the face's centre; rigid points are steady there by construction). */
function meanNose(files: CloneFiles): { x: number; y: number } {
  const frames = files.manifest.loop.frames;
  let x = 0, y = 0;
  for (let f = 0; f < frames; f++) {
    x += files.loopLandmarks[f * 936 + 2] as number;
    y += files.loopLandmarks[f * 936 + 3] as number;
  }
  return { x: x / frames, y: y / frames };
}

/**
 * A clone on air: the base loop plays (ffmpeg decodes it to I420 at the frame's size, framed on the face)
 * and, while the rig's mouth moves, a library mouth is chosen for each frame and put into the loop's
 * frame where its face is. Idle is the loop itself, with its own blinks and breathing. Cut out, the loop
 * is decoded with its matte as the alpha plane (YUVA) at the cut-out's size and blended over the scene
 * where the scene places the avatar; the mouth goes in after, inside the face where the matte is opaque.
 */
export class CloneAvatar implements FrameAvatarPort {
  readonly kind = 'frame' as const;
  readonly cutout: boolean;
  readonly id: string;
  readonly files: CloneFiles;
  readonly #player: LoopPlayer;
  readonly #chooser: MouthChooser;
  readonly #renderer: MouthRenderer;
  /** The feathered lower-face mask, patch pixels (0..1). */
  readonly mask: Float32Array;
  readonly #placements: Similarity[];
  readonly #patch: Uint8Array;
  /** The loop frame shown: the player's last one (valid until it hands out another), black before. */
  #base: Uint8Array;
  readonly #outFps: number;
  /** The decoded picture's size: the frame's, or the cut-out's. */
  readonly #pictureWidth: number;
  readonly #pictureHeight: number;
  /** A mouth's placement moved to where the cut-out stands this frame (reused). */
  readonly #shifted: { a: number; b: number; tx: number; ty: number } = { a: 1, b: 0, tx: 0, ty: 0 };
  #loopFrame = 0;
  #hasBase = false;
  #lastMouth: number | null = null;

  private constructor(files: CloneFiles, options: CloneAvatarOptions) {
    this.id = files.id;
    this.files = files;
    const { manifest } = files;
    const frames = manifest.loop.frames;
    this.cutout = options.cutout !== undefined;
    if (options.cutout && !manifest.cutout) throw new CloneLoadError(`clone ${files.id} cannot be cut out: it was built before cut-outs; build it again from its recording`);
    const scale = options.cutout?.scale ?? 1;
    this.#pictureWidth = even(options.width * scale);
    this.#pictureHeight = even(options.height * scale);
    const picture = { width: this.#pictureWidth, height: this.#pictureHeight };
    const framing = cloneFraming(manifest.source, meanNose(files), picture);
    const canonical = Float32Array.from(manifest.mouths.canonical);
    this.#placements = patchPlacements(canonical, files.loopLandmarks, frames, framing.toOutput);
    const { patchWidth, patchHeight, eyeDistancePx } = manifest.mouths;
    this.mask = lowerFaceMask(canonical, patchWidth, patchHeight, eyeDistancePx);
    this.#renderer = new MouthRenderer(this.mask, patchWidth, patchHeight);
    this.#chooser = new MouthChooser(manifest.mouths.entries);
    this.#patch = new Uint8Array(files.patchBytes);
    const pixels = picture.width * picture.height;
    this.#base = new Uint8Array(this.cutout ? (pixels * 5) / 2 : (pixels * 3) / 2);
    // Black (cut out: clear) until the first loop frame is decoded (well under a second).
    this.#base.fill(16, 0, pixels);
    this.#base.fill(128, pixels, (pixels * 3) / 2);
    this.#base.fill(0, (pixels * 3) / 2);
    this.#outFps = options.fps;
    const alpha = this.cutout && manifest.cutout ? `${files.dir}/${manifest.cutout.file}` : undefined;
    this.#player = new LoopPlayer({
      loopFrames: frames, loopFps: manifest.source.fps, frameBytes: this.#base.byteLength,
      ffmpegPath: options.ffmpegPath, path: `${files.dir}/${manifest.loop.file}`, width: picture.width, height: picture.height, fps: options.fps, fit: 'cover',
      sizeFilter: `scale=${framing.scaledWidth}:${framing.scaledHeight},crop=${picture.width}:${picture.height}:${framing.cropX}:${framing.cropY}`,
      pixelFormat: alpha ? 'yuva420p' : 'yuv420p', ...(alpha ? { alphaPath: alpha } : {}),
      onError: (message) => options.onError(`clone ${files.id}: ${message}`),
    });
  }

  /** Opens clone `id` (throws a CloneLoadError when it cannot be shown) and starts its loop. */
  static open(options: CloneAvatarOptions): CloneAvatar {
    const files = CloneFiles.open(options.dataDir, options.id);
    try {
      const avatar = new CloneAvatar(files, options);
      avatar.#player.start();
      return avatar;
    } catch (err) {
      files.close();
      throw err;
    }
  }

  get cacheBytes(): number {
    return this.#base.byteLength + this.#patch.byteLength;
  }

  /** Resolves once the loop's first frame is decoded, or after a few seconds whatever happens (a swap waits on it, so no black frame shows). */
  get ready(): Promise<void> {
    return Promise.race([this.#player.firstFrame, new Promise<void>((resolve) => setTimeout(resolve, READY_WAIT_MS).unref())]);
  }

  get pictureReady(): boolean {
    return this.#player.hasFrame;
  }

  /** Mean distance of the chosen mouths' opening from the wanted one (share of the widest). */
  get mouthOpeningError(): number {
    return this.#chooser.openingError;
  }

  /** Share of chosen mouths that cut elsewhere in the recording. */
  get mouthJumpRate(): number {
    return this.#chooser.jumpRate;
  }

  /** The loop's picture under the last frame (before the mouth went in), I420 (cut out: YUVA at the cut-out's size). */
  get baseFrame(): Uint8Array {
    return this.#base;
  }

  /** Where the last frame's mouth went: the patch-to-frame similarity of the loop frame shown (where the cut-out stood). */
  get lastPlacement(): Similarity {
    return { ...this.#shifted };
  }

  /** The mouth shown in the last frame (a library index), or null when the loop's own shows. */
  get lastMouth(): number | null {
    return this.#lastMouth;
  }

  /** The decoded picture's size (the frame's when full frame). */
  get pictureSize(): { width: number; height: number } {
    return { width: this.#pictureWidth, height: this.#pictureHeight };
  }

  drawFrame(pose: RigPose, frame: Uint8Array, layout: I420Layout, mouthAhead: readonly MouthAhead[] = [], placement?: AvatarPlacement): void {
    const decoded = this.#player.next();
    if (decoded) {
      // Kept by reference, not copied (2-4 MB a frame): the player reuses it only after handing out the next.
      this.#base = decoded;
      this.#hasBase = true;
      this.#loopFrame = this.#player.loopFrameOf(this.#player.frameNumber);
    }
    let at = { x: 0, y: 0 };
    if (this.cutout) {
      at = cutoutOrigin(placement ?? { x: layout.width * DEFAULT_AVATAR_PLACEMENT.x, y: layout.height * (1 - DEFAULT_AVATAR_PLACEMENT.bottom) }, this.#pictureWidth, this.#pictureHeight);
      blendYuvaOver(this.#base, this.#pictureWidth, this.#pictureHeight, frame, layout, at.x, at.y);
    } else {
      frame.set(this.#base);
    }
    const place = this.#placements[this.#loopFrame] as Similarity;
    Object.assign(this.#shifted, { a: place.a, b: place.b, tx: place.tx + at.x, ty: place.ty + at.y });
    const mouth = this.#chooser.choose(pose, 1 / this.#outFps, mouthAhead);
    this.#lastMouth = mouth;
    if (mouth === null || !this.#hasBase) return;
    this.files.readPatch(mouth, this.#patch);
    this.#renderer.draw(frame, layout, this.#patch, this.#shifted);
  }

  close(): void {
    this.#player.close();
    this.files.close();
  }
}
