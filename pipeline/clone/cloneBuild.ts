import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { SupervisedProcess, type ProcessExit, type ProcessRun } from '../process/supervisedProcess.js';
import type { RgbaFrame } from '../drive/faceLandmarks.js';
import { pickBaseLoop } from './baseLoop.js';
import { CLONE_FORMAT, cloneManifestSchema, type CloneManifest, type MouthEntry } from './cloneManifest.js';
import { canonicalFace, extractMouth, patchBytes, teethShare } from './mouthLibrary.js';
import { probeRecording, recordingFrames, type RecordingInfo } from './recordingReader.js';
import { judgeRecording, usableFrames, type QualityReport } from './recordingQuality.js';
import { chromaMatte, detectScreen, SegmentationMatte, steadyMasks, upscaleMask, type ScreenKey } from './personMatte.js';
import { RecordingScanner, thumbnail, type FrameScan } from './recordingScan.js';

/** The build stopped: the recording cannot make a clone (the report says why) or something failed. */
export class CloneBuildError extends Error {
  override readonly name = 'CloneBuildError';
  readonly report: QualityReport | null;
  constructor(message: string, report: QualityReport | null = null) {
    super(message);
    this.report = report;
  }
}

export interface CloneBuildOptions {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  readonly recording: string;
  /** The name shown for the recording (the upload's name). */
  readonly recordingName?: string;
  /** The clone's folder (made when missing); its manifest is written last, so a folder without one is unfinished. */
  readonly dir: string;
  readonly name: string;
  readonly consent: { readonly person: string; readonly confirmedAt: string; readonly agreedAt?: string | undefined; readonly document?: string | undefined };
  /** 0..1 and what is happening, a few times a second at most. */
  readonly onProgress?: (progress: number, stage: string) => void;
}

/** What a build writes in the clone's folder; the manifest last. */
export const CLONE_FILES = ['manifest.json', 'loop.mp4', 'loop.alpha.mp4', 'loop.landmarks.f32', 'mouths.i420', 'mouths.landmarks.f32'] as const;

/** The share of the build the scan takes (it runs the models on every frame). */
const SCAN_SHARE = 0.75;
/** Mouths kept at most: two minutes at 30 fps (longer recordings keep every other frame, and so on). */
const MAX_MOUTHS = 3600;
/** Faces averaged for the canonical face. */
const CANONICAL_SAMPLE = 300;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Recording → clone (the Video Rewrite method with today's landmarks): every frame is tracked and
 * measured; the recording is judged (refused with the reasons when it cannot work); the base loop is
 * picked from a still closed-mouth stretch and written as H.264 with its landmarks; every usable frame's
 * lower face is carried onto the canonical face and stored as an I420 patch with its shape measures.
 */
export async function buildClone(options: CloneBuildOptions): Promise<CloneManifest> {
  const startedMs = performance.now();
  const progress = throttle(options.onProgress);
  progress(0, 'reading the recording');
  const info = await probeRecording(options.ffprobePath, options.recording).catch((err: Error) => {
    throw new CloneBuildError(`the recording cannot be read: ${err.message}`);
  });
  const expectedFrames = Math.max(1, Math.round(info.durationS * info.fps));
  const sha256 = await sha256File(options.recording);

  // 1. Scan every frame.
  const scanner = await RecordingScanner.create();
  const frames: FrameScan[] = [];
  const landmarks: (Float32Array | null)[] = [];
  const thumbs: Uint8Array[] = [];
  for await (const frame of recordingFrames(options.ffmpegPath, options.recording, info)) {
    const { scan, points } = await scanner.scan(frame, info.fps);
    frames.push(scan);
    landmarks.push(points);
    thumbs.push(thumbnail(frame).data);
    progress(SCAN_SHARE * Math.min(1, frames.length / expectedFrames), 'tracking the face in every frame');
  }
  const report = judgeRecording(frames, info);
  if (report.refusals.length > 0) throw new CloneBuildError(`the recording cannot make a clone: ${report.refusals.map((r) => r.message).join('; ')}`, report);
  const { usable } = usableFrames(frames);
  const loop = pickBaseLoop(frames, usable, thumbs, info.fps);
  if (!loop) throw new CloneBuildError('the recording cannot make a clone: no still stretch with the mouth closed', report);

  // 2. The canonical face and which frames give mouths.
  const usableIndices = usable.flatMap((ok, i) => (ok && landmarks[i] ? [i] : []));
  const sampleStep = Math.max(1, Math.floor(usableIndices.length / CANONICAL_SAMPLE));
  const face = canonicalFace(usableIndices.filter((_, k) => k % sampleStep === 0).map((i) => landmarks[i] as Float32Array), report.medianEyeDistancePx);
  const mouthStep = Math.ceil(usableIndices.length / MAX_MOUTHS);
  const mouthFrames = new Set(usableIndices.filter((_, k) => k % mouthStep === 0));

  // 3. Second pass: the loop's frames to the encoder, the mouths to the library.
  await mkdir(options.dir, { recursive: true });
  // A folder may hold an earlier, interrupted attempt (and its owner's files): only the build's own are replaced.
  await Promise.all(CLONE_FILES.map((file) => rm(join(options.dir, file), { force: true })));
  const loopLength = loop.to - loop.from + 1;
  const loopLandmarks = new Float32Array(loopLength * 936);
  const encoder = await startLoopEncoder(options.ffmpegPath, info, join(options.dir, 'loop.mp4'), 'rgba');
  const alphaEncoder = await startLoopEncoder(options.ffmpegPath, info, join(options.dir, 'loop.alpha.mp4'), 'gray');
  // The person's matte: keyed frame by frame on a screen, else the model's masks, steadied over the whole loop at the end.
  let screen: ScreenKey | null | undefined;
  let segmentation: SegmentationMatte | null = null;
  const masks: Uint8Array[] = [];
  const patches = await open(join(options.dir, 'mouths.i420'), 'w');
  const patchLandmarks: Float32Array[] = [];
  const entries: MouthEntry[] = [];
  const patch = new Uint8Array(patchBytes(face));
  // The frames just before the loop, kept for the cross-fade at its end.
  const before: RgbaFrame[] = [];
  try {
    for await (const frame of recordingFrames(options.ffmpegPath, options.recording, info)) {
      const i = frame.index;
      const points = landmarks[i] ?? null;
      if (i >= loop.from - loop.crossfade && i < loop.from) before.push({ width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) });
      if (i >= loop.from && i <= loop.to && points) {
        const fadeAt = i - (loop.to - loop.crossfade + 1);
        const into = fadeAt >= 0 ? before[fadeAt] : undefined;
        const intoPoints = into ? landmarks[loop.from - loop.crossfade + fadeAt] : null;
        const weight = (fadeAt + 1) / (loop.crossfade + 1);
        const picture = into ? blend(frame, into, weight) : frame.data;
        loopLandmarks.set(into && intoPoints ? lerpPoints(points, intoPoints, weight) : points, (i - loop.from) * 936);
        const shown = { width: frame.width, height: frame.height, data: picture };
        if (screen === undefined) screen = detectScreen(shown);
        if (screen) {
          // Before the picture is written: the key also takes the screen's spill off the edges.
          const alpha = new Uint8Array(frame.width * frame.height);
          chromaMatte(shown, screen, alpha);
          if (!alphaEncoder.input.write(alpha)) await once(alphaEncoder.input, 'drain');
        } else {
          segmentation ??= await SegmentationMatte.create();
          masks.push(await segmentation.mask(shown));
        }
        if (!encoder.input.write(picture)) await once(encoder.input, 'drain');
      }
      if (points && mouthFrames.has(i)) {
        const inPatch = extractMouth(frame, points, face, patch);
        await patches.write(patch);
        patchLandmarks.push(inPatch);
        const shape = frames[i]?.shape;
        if (shape) entries.push({ frame: i, opening: shape.opening, width: shape.width, roundness: shape.roundness, teeth: shape.opening > 0.04 ? teethShare(patch, inPatch, face) : 0 });
      }
      progress(SCAN_SHARE + (1 - SCAN_SHARE) * Math.min(1, (i + 1) / frames.length), 'writing the idle loop and the mouth library');
      if (i >= Math.max(loop.to, ...mouthFrames)) break;
    }
    for (const mask of steadyMasks(masks)) {
      const alpha = new Uint8Array(info.width * info.height);
      upscaleMask(mask, info.width, info.height, alpha);
      if (!alphaEncoder.input.write(alpha)) await once(alphaEncoder.input, 'drain');
    }
  } finally {
    await patches.close();
    encoder.input.end();
    alphaEncoder.input.end();
  }
  for (const [what, run] of [['idle loop', encoder], ['idle loop\'s matte', alphaEncoder]] as const) {
    const end = await run.ended;
    await run.process.close();
    if (end.code !== 0 || end.startError !== null) throw new CloneBuildError(`the ${what} could not be encoded (${end.startError ?? (end.lastLine || `ffmpeg exit ${end.code}`)})`);
  }
  await writeFile(join(options.dir, 'loop.landmarks.f32'), Buffer.from(loopLandmarks.buffer));
  const allLandmarks = new Float32Array(patchLandmarks.length * 936);
  patchLandmarks.forEach((p, k) => allLandmarks.set(p, k * 936));
  await writeFile(join(options.dir, 'mouths.landmarks.f32'), Buffer.from(allLandmarks.buffer));

  const manifest: CloneManifest = cloneManifestSchema.parse({
    format: CLONE_FORMAT, kind: 'clone', name: options.name, createdAt: new Date().toISOString(), consent: options.consent,
    source: { name: options.recordingName ?? basename(options.recording), sha256, width: info.width, height: info.height, fps: info.fps, durationS: info.durationS, frames: frames.length },
    cutout: { file: 'loop.alpha.mp4', method: screen ? 'chroma' : 'segmentation', key: screen ? hexColour(screen) : null },
    loop: { file: 'loop.mp4', landmarks: 'loop.landmarks.f32', frames: loopLength, from: loop.from, to: loop.to, crossfade: loop.crossfade, wrapDifference: loop.wrapDifference, neighbourDifference: loop.neighbourDifference },
    mouths: { file: 'mouths.i420', landmarks: 'mouths.landmarks.f32', count: entries.length, patchWidth: face.patchWidth, patchHeight: face.patchHeight, eyeDistancePx: face.eyeDistancePx, canonical: Array.from(face.points, (v) => Math.round(v * 100) / 100), entries, coverage: shapeCoverage(entries) },
    report,
    buildSeconds: (performance.now() - startedMs) / 1000,
  });
  const manifestPath = join(options.dir, 'manifest.json');
  await writeFile(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 1));
  await rename(`${manifestPath}.tmp`, manifestPath);
  progress(1, 'ready');
  return manifest;
}

/** At most ~5 reports a second, and always the first and the last. */
function throttle(report: ((progress: number, stage: string) => void) | undefined): (progress: number, stage: string) => void {
  let lastMs = -Infinity, lastStage = '';
  return (progress, stage) => {
    const now = performance.now();
    if (!report || (now - lastMs < 200 && stage === lastStage && progress < 1)) return;
    lastMs = now;
    lastStage = stage;
    report(Math.round(progress * 1000) / 1000, stage);
  };
}

function blend(a: RgbaFrame, b: RgbaFrame, weight: number): Uint8Array {
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((a.data[i] as number) * (1 - weight) + (b.data[i] as number) * weight);
  return out;
}

function lerpPoints(a: Float32Array, b: Float32Array, weight: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) * (1 - weight) + (b[i] as number) * weight;
  return out;
}

function hexColour(key: ScreenKey): string {
  return `#${[key.r, key.g, key.b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The loop (RGBA in: H.264 yuv420p BT.709 out) or its matte (gray in and out), near lossless, a keyframe
 * a second so any point can be sought.
 */
async function startLoopEncoder(ffmpegPath: string, info: RecordingInfo, path: string, input: 'rgba' | 'gray'): Promise<{ process: SupervisedProcess; input: Writable; ended: Promise<ProcessExit> }> {
  // BT.709 limited range, as the channel draws its frames: the player copies planes, never converts. A matte is plain 0..255.
  const colour = input === 'rgba'
    ? ['-vf', 'scale=out_color_matrix=bt709:out_range=tv', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-pix_fmt', 'yuv420p']
    : ['-pix_fmt', 'gray'];
  const encoder = new SupervisedProcess({
    name: input === 'rgba' ? 'clone loop encoder' : 'clone matte encoder',
    command: ffmpegPath,
    launch: () => ({ args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'rawvideo', '-pix_fmt', input, '-s', `${info.width}x${info.height}`, '-r', String(info.fps), '-i', 'pipe:0',
      ...colour, '-an', '-c:v', 'libx264', '-preset', 'medium', '-crf', '14', '-g', String(Math.round(info.fps)), '-movflags', '+faststart', path] }),
    stdin: 'pipe',
    killGraceMs: 0,
  });
  const spawned = once(encoder, 'spawned') as Promise<[ProcessRun]>;
  // A clean end is an 'exit' too (nobody asked for it).
  const ended = once(encoder, 'exit').then(([end]) => end as ProcessExit);
  encoder.start();
  const [run] = await spawned;
  if (!run.stdin) throw new CloneBuildError('the idle loop encoder has no input');
  return { process: encoder, input: run.stdin, ended };
}
/** Opening (0..max, 8 bins) × width (5 bins over the recording's range): the share of the 40 cells some mouth falls in (a wide-open mouth is never at its widest, so ~0.6 is full). */
function shapeCoverage(entries: readonly MouthEntry[]): number {
  if (entries.length === 0) return 0;
  const maxOpen = Math.max(...entries.map((e) => e.opening));
  const widths = entries.map((e) => e.width);
  const minW = Math.min(...widths), maxW = Math.max(...widths);
  const cells = new Set<number>();
  for (const e of entries) {
    const o = Math.min(7, Math.floor((e.opening / Math.max(1e-6, maxOpen)) * 8));
    const w = Math.min(4, Math.floor(((e.width - minW) / Math.max(1e-6, maxW - minW)) * 5));
    cells.add(o * 5 + w);
  }
  return cells.size / 40;
}
