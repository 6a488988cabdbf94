import { z } from 'zod';

/**
 * fenshen-avatar/1: a folder with `avatar.json` and SVG parts. Parts are fragments in the avatar's
 * design space (its viewBox) and may name palette colours as `{{key}}`. Layers are listed back to front.
 */
export const AVATAR_FORMAT = 'fenshen-avatar/1';

const point = z.tuple([z.number(), z.number()]);
const rect = z.tuple([z.number(), z.number(), z.number().positive(), z.number().positive()]);
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'a path inside the avatar folder');
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'a colour like #1a2b3c');

export const mouthShapeSchema = z.strictObject({
  src: relPath,
  open: z.number().min(0).max(1),
  form: z.number().min(-1).max(1),
  round: z.number().min(0).max(1).default(0),
});

export const layerSchema = z.strictObject({
  id: z.string().regex(/^[a-zA-Z][\w-]*$/, 'letters, digits, - and _'),
  bone: z.enum(['body', 'head']),
  /** Part file. */
  src: relPath.optional(),
  /** Or: the part chosen for this slot by the style config (an option of null hides the layer). */
  slot: z.string().optional(),
  /** How far the layer sits in front of the head surface: features 1, hair 0.3, skull 0. */
  depth: z.number().min(-2).max(2).default(0),
  /** Part of the source to keep, in design units: x, y, width, height. */
  clip: rect.optional(),
  eyelid: z
    .strictObject({
      side: z.enum(['L', 'R']),
      /** Centre line the eye closes onto. */
      pivotY: z.number(),
      /** Drawn instead when the eye is nearly shut. */
      closedSrc: relPath.optional(),
    })
    .optional(),
  /** Design units the layer moves for gaze at ±1. */
  gaze: point.optional(),
  /** Design units the layer rises for browRaise = 1. */
  browRise: z.number().optional(),
  mouth: z.array(mouthShapeSchema).min(1).optional(),
});

export const slotSchema = z.strictObject({
  default: z.string(),
  /** Option name → file (relative to the folder), or null for "none". */
  options: z.record(z.string(), relPath.nullable()),
});

export const manifestSchema = z
  .strictObject({
    format: z.literal(AVATAR_FORMAT),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
    name: z.string().min(1),
    credit: z.string().optional(),
    license: z.string().optional(),
    viewBox: z.tuple([z.number().positive(), z.number().positive()]),
    /** Rotation centres in design units: the hips carry the body, the neck carries the head. */
    pivots: z.strictObject({ hips: point, neck: point }),
    /** How far features slide for a full head turn, in design units (yaw: x, pitch: y). */
    parallax: z.strictObject({ yaw: z.number(), pitch: z.number() }).default({ yaw: 10, pitch: 6 }),
    palette: z.record(z.string(), hexColor),
    slots: z.record(z.string(), slotSchema).default({}),
    layers: z.array(layerSchema).min(1),
  })
  .superRefine((manifest, ctx) => {
    const ids = new Set<string>();
    manifest.layers.forEach((layer, index) => {
      if (ids.has(layer.id)) ctx.addIssue({ code: 'custom', path: ['layers', index, 'id'], message: `duplicate layer id "${layer.id}"` });
      ids.add(layer.id);
      const sources = [layer.src, layer.slot, layer.mouth].filter((v) => v !== undefined).length;
      if (sources !== 1) ctx.addIssue({ code: 'custom', path: ['layers', index], message: 'a layer needs exactly one of src, slot or mouth' });
      if (layer.slot !== undefined && !manifest.slots[layer.slot]) {
        ctx.addIssue({ code: 'custom', path: ['layers', index, 'slot'], message: `unknown slot "${layer.slot}"` });
      }
    });
    for (const [name, slot] of Object.entries(manifest.slots)) {
      if (!Object.hasOwn(slot.options, slot.default)) {
        ctx.addIssue({ code: 'custom', path: ['slots', name, 'default'], message: `"${slot.default}" is not one of its options` });
      }
    }
  });

export type AvatarManifest = z.infer<typeof manifestSchema>;
export type LayerSpec = z.infer<typeof layerSchema>;
export type MouthShape = z.infer<typeof mouthShapeSchema>;
