import { z } from 'zod';

/**
 * A recording's quality report, as the clone build writes it (pipeline/clone/recordingQuality.ts) and the
 * API answers it: shared by the clone's manifest and the contract, so it lives with the schemas here.
 */
const qualityNoteSchema = z.object({ code: z.string(), message: z.string() });

export const qualityReportSchema = z.object({
  frames: z.number().int(), durationS: z.number(), fps: z.number(), width: z.number().int(), height: z.number().int(),
  trackedShare: z.number(), medianEyeDistancePx: z.number(), medianFaceWidthPx: z.number(), yawP95Deg: z.number(),
  medianBrightness: z.number(), medianSharpness: z.number(), longestStillClosedS: z.number(), openMouthFrames: z.number().int(),
  usableShare: z.number(), refusals: z.array(qualityNoteSchema), warnings: z.array(qualityNoteSchema),
  rejectedFrames: z.array(z.object({ from: z.number().int(), to: z.number().int(), reason: z.string() })),
});

