import { z } from 'zod';
import { qualityReportSchema } from '../../config/cloneReport.js';

export { qualityReportSchema };

/** Bumped when the folder's layout changes: an older clone is rebuilt from its recording or refused clearly. */
export const CLONE_FORMAT = 1;

export const mouthEntrySchema = z.object({
  /** The recording's frame it was cut from (neighbours in time are frame ± 1). */
  frame: z.number().int(),
  opening: z.number(), width: z.number(), roundness: z.number(), teeth: z.number(),
});
export type MouthEntry = z.infer<typeof mouthEntrySchema>;

export const cloneManifestSchema = z.object({
  format: z.literal(CLONE_FORMAT),
  kind: z.literal('clone'),
  name: z.string().min(1),
  createdAt: z.string(),
  consent: z.object({ person: z.string().min(1), confirmedAt: z.string(), agreedAt: z.string().optional(), document: z.string().optional() }),
  source: z.object({ name: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), width: z.number().int(), height: z.number().int(), fps: z.number(), durationS: z.number(), frames: z.number().int() }),
  loop: z.object({
    /** H.264 in MP4 at the recording's size: ffmpeg decodes it straight to I420. */
    file: z.literal('loop.mp4'),
    /** frames × 468 × 2 float32, little-endian: the face in each loop frame. */
    landmarks: z.literal('loop.landmarks.f32'),
    frames: z.number().int().positive(), from: z.number().int(), to: z.number().int(), crossfade: z.number().int(),
    wrapDifference: z.number(), neighbourDifference: z.number(),
  }),
  /**
   * The person in each loop frame (absent in clones built before cut-outs): an 8-bit mask as H.264 gray at
   * the recording's size, frame for frame with loop.mp4, so ffmpeg merges the two into YUVA as it decodes.
   */
  cutout: z.object({
    file: z.literal('loop.alpha.mp4'),
    /** A green or blue screen keyed (`key`: its colour), or the person found by the segmentation model. */
    method: z.enum(['chroma', 'segmentation']),
    key: z.string().regex(/^#[0-9a-f]{6}$/).nullable(),
  }).optional(),
  mouths: z.object({
    /** count patches of I420 (patchWidth × patchHeight), one after another. */
    file: z.literal('mouths.i420'),
    /** count × 468 × 2 float32: each mouth's face in patch coordinates. */
    landmarks: z.literal('mouths.landmarks.f32'),
    count: z.number().int().positive(), patchWidth: z.number().int().positive(), patchHeight: z.number().int().positive(), eyeDistancePx: z.number(),
    /** The canonical face (468 x,y pairs in patch pixels). */
    canonical: z.array(z.number()).length(936),
    entries: z.array(mouthEntrySchema),
    /** Share of the opening × width grid's cells (up to the recording's widest opening) that some mouth fills. */
    coverage: z.number(),
  }),
  report: qualityReportSchema,
  buildSeconds: z.number(),
});
export type CloneManifest = z.infer<typeof cloneManifestSchema>;
