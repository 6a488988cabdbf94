import type { SKRSContext2D } from '@napi-rs/canvas';
import type { RigPose } from './rig.js';
import type { RasterAvatar, RasterLayer, Sprite } from './raster.js';
import type { MouthShape } from './format.js';

/** Where the avatar stands in the frame: the hips pivot lands on (x, y) pixels. */
export interface AvatarPlacement {
  readonly x: number;
  readonly y: number;
}

const YAW_RANGE_DEG = 30;
const PITCH_RANGE_DEG = 20;
const DEG = Math.PI / 180;

function drawSprite(ctx: SKRSContext2D, sprite: Sprite): void {
  ctx.drawImage(sprite.canvas, sprite.x, sprite.y, sprite.width, sprite.height);
}

/** Nearest mouth shape in (open, form, round) space; openness matters most. */
export function pickMouthShape<T extends { readonly shape: MouthShape }>(shapes: readonly T[], open: number, form: number, round: number): T {
  let best = shapes[0] as T;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of shapes) {
    const { shape } = candidate;
    const d = 2.2 * (shape.open - open) ** 2 + 0.6 * (shape.form - form) ** 2 + 1.2 * (shape.round - round) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

/**
 * Draws a rasterised avatar for one rig pose: the body bone turns about the hips (lean, breathing),
 * the head bone about the neck (roll), and head layers slide with yaw/pitch by their depth, which
 * gives a 2.5D turn without a 3D model.
 */
export class AvatarRenderer {
  readonly avatar: RasterAvatar;

  constructor(avatar: RasterAvatar) {
    this.avatar = avatar;
  }

  draw(ctx: SKRSContext2D, pose: RigPose, placement: AvatarPlacement): void {
    const { manifest } = this.avatar.definition;
    const [hx, hy] = manifest.pivots.hips;
    const [nx, ny] = manifest.pivots.neck;
    const yawN = pose.headYawDeg / YAW_RANGE_DEG;
    const pitchN = pose.headPitchDeg / PITCH_RANGE_DEG;
    const scale = this.avatar.scale;

    ctx.save();
    ctx.translate(placement.x, placement.y);
    ctx.scale(scale, scale);
    // Body bone: lean about the hips; breathing lifts the chest a little.
    ctx.rotate(pose.bodyLeanDeg * DEG);
    ctx.scale(1 + 0.004 * pose.breath, 1 + 0.012 * pose.breath);
    ctx.translate(-hx, -hy);
    let headOpen = false;
    for (const layer of this.avatar.layers) {
      if (layer.spec.bone === 'head' && !headOpen) {
        ctx.save();
        headOpen = true;
        // Head bone: roll about the neck; a turn shifts and narrows the head slightly.
        ctx.translate(nx + yawN * 3, ny + pitchN * 2 - pose.breath * 0.8);
        ctx.rotate(pose.headRollDeg * DEG);
        ctx.scale(1 - 0.035 * Math.abs(yawN), 1 - 0.02 * Math.abs(pitchN));
        ctx.translate(-nx, -ny);
      } else if (layer.spec.bone === 'body' && headOpen) {
        ctx.restore();
        headOpen = false;
      }
      this.#drawLayer(ctx, layer, pose, yawN, pitchN);
    }
    if (headOpen) ctx.restore();
    ctx.restore();
  }

  #drawLayer(ctx: SKRSContext2D, layer: RasterLayer, pose: RigPose, yawN: number, pitchN: number): void {
    const { spec } = layer;
    const { parallax } = this.avatar.definition.manifest;
    let dx = spec.bone === 'head' ? spec.depth * yawN * parallax.yaw : 0;
    let dy = spec.bone === 'head' ? spec.depth * pitchN * parallax.pitch : 0;
    if (spec.gaze) {
      dx += pose.gazeX * spec.gaze[0];
      dy += pose.gazeY * spec.gaze[1];
    }
    if (spec.browRise !== undefined) {
      // Brows dip a little as the eyes close, as real brows do in a blink.
      const blink = 1 - Math.min(pose.eyeOpenL, pose.eyeOpenR);
      dy += -pose.browRaise * spec.browRise + blink * spec.browRise * 0.15;
    }
    if (layer.mouth.length > 0) {
      const choice = pickMouthShape(layer.mouth, pose.mouthOpen, pose.mouthForm, pose.mouthRound);
      const sprite = choice.sprite;
      // Between shapes, stretch the chosen one toward the wanted openness so the mouth moves smoothly.
      const stretch = Math.min(1.35, Math.max(0.75, 1 + (pose.mouthOpen - choice.shape.open) * 0.9));
      const cy = sprite.y + sprite.height * 0.35;
      ctx.save();
      ctx.translate(dx, dy + cy);
      ctx.scale(1, stretch);
      ctx.translate(0, -cy);
      drawSprite(ctx, sprite);
      ctx.restore();
      return;
    }
    if (spec.eyelid) {
      const open = spec.eyelid.side === 'L' ? pose.eyeOpenL : pose.eyeOpenR;
      if (open < 0.2 && layer.closed) {
        ctx.save();
        ctx.translate(dx, dy);
        drawSprite(ctx, layer.closed);
        ctx.restore();
        return;
      }
      if (!layer.sprite) return;
      const pivotY = spec.eyelid.pivotY;
      ctx.save();
      ctx.translate(dx, dy + pivotY);
      ctx.scale(1, Math.max(0.12, open));
      ctx.translate(0, -pivotY);
      drawSprite(ctx, layer.sprite);
      ctx.restore();
      return;
    }
    if (!layer.sprite) return;
    if (dx === 0 && dy === 0) {
      drawSprite(ctx, layer.sprite);
      return;
    }
    ctx.save();
    ctx.translate(dx, dy);
    drawSprite(ctx, layer.sprite);
    ctx.restore();
  }
}
