import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';
import { descendants, commandOf, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

const ASSETS = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets');
let fenshen: FenshenProcess;
let rockingClip = '';
let mouthClip = '';

/** Makes a 6 s, 30 fps clip from a still with an ffmpeg filter graph. */
function makeClip(name: string, image: string, filter: string): string {
  const path = join(fenshen.dataDir, name);
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', join(ASSETS, image), '-t', '6', '-r', '30', '-filter_complex', filter, '-pix_fmt', 'yuv420p', path], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return path;
}

before(async () => {
  fenshen = await startFenshen();
  // Synthetic clips made from the sample photos. The man's portrait with his shoulders, enlarged,
  // rocking ±15° over 3 s:
  rockingClip = makeClip('rocking-face.mp4', 'samples.jpg', "crop=160:160:372:0,scale=480:480,rotate='0.26*sin(2*PI*t/3)':fillcolor=black");
  // A woman's face whose mouth band is stretched open (up to 1.7x) while the head tilts clockwise,
  // and left alone while it tilts the other way.
  mouthClip = makeClip('mouth-face.mp4', 'screenshot-facedetect.jpg',
    "[0]crop=160:160:475:340,scale=480:480,split[face][m];[m]crop=158:78:94:255,scale=w=158:h='78*(1+0.7*max(0\\,sin(2*PI*t/3)))':eval=frame[mouth];" +
      "[face][mouth]overlay=x=94:y='294-overlay_h/2':eval=frame,rotate='0.2*sin(2*PI*t/3)':fillcolor=black");
  await fenshen.live();
});
after(async () => {
  await fenshen.stop();
});

interface DriveRigStatus {
  headRollDeg: number;
  mouthOpen: number;
  eyeOpenL: number;
  gazeX?: number;
  bodyLeanDeg?: number;
}

interface DriveStatus {
  source: string;
  face: { found: boolean; fps: number; ms: number; rig: DriveRigStatus | null };
  iris: { fps: number; ms: number };
  pose: { found: boolean; fps: number; ms: number };
}

/** Drives main from a clip and samples its drive status every 100 ms for `ms`. */
async function driveFrom(clip: string, ms: number): Promise<{ statuses: DriveStatus[]; rigs: DriveRigStatus[] }> {
  const res = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'file', url: clip }) });
  assert.equal(res.status, 200, await res.clone().text());
  const statuses: DriveStatus[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    statuses.push(((await (await fenshen.api('/api/channels/main')).json()) as { drive: DriveStatus }).drive);
  }
  const rigs = statuses.flatMap((s) => (s.face.found && s.face.rig ? [s.face.rig] : []));
  assert.ok(rigs.length / statuses.length > 0.6, `face found in ${rigs.length}/${statuses.length} samples`);
  return { statuses, rigs };
}

test('a face in a video file drives the avatar: found, tracked at a useful rate, head roll and body lean follow the rocking', async () => {
  const { statuses, rigs } = await driveFrom(rockingClip, 8000);
  const last = statuses.at(-1);
  assert.ok(last);
  assert.equal(last.source, 'file');
  assert.ok(last.face.fps > 8, `tracking at ${last.face.fps} fps`);
  const rolls = rigs.map((r) => r.headRollDeg);
  const leans = rigs.flatMap((r) => (r.bodyLeanDeg === undefined ? [] : [r.bodyLeanDeg]));
  const poseFps = Math.max(...statuses.map((s) => s.pose.fps));
  const [lo, hi] = [Math.min(...rolls), Math.max(...rolls)];
  assert.ok(hi - lo > 15 && hi > 5 && lo < -5, `head roll swings both ways with the clip (${lo.toFixed(1)}…${hi.toFixed(1)}°)`);
  // The shoulders are in the clip too: pose runs on every other frame and the body leans with them.
  assert.ok(poseFps > 3, `pose at ${poseFps} fps`);
  assert.ok(leans.length > 10 && Math.max(...leans) - Math.min(...leans) > 6, `body lean follows (${Math.min(...leans).toFixed(1)}…${Math.max(...leans).toFixed(1)}°)`);
});

test('a warped mouth in a clip opens the avatar\'s mouth in time with it; the irises are tracked for gaze', async () => {
  const { statuses, rigs } = await driveFrom(mouthClip, 8000);
  // Clockwise tilts (the rig mirrors them to lower roll) come with the stretched mouth. The face in
  // the photo is tilted already, so the swing is taken about its own middle.
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const rolls = rigs.map((r) => r.headRollDeg);
  const middle = (Math.min(...rolls) + Math.max(...rolls)) / 2;
  const stretched = rigs.filter((r) => r.headRollDeg < middle - 4).map((r) => r.mouthOpen);
  const plain = rigs.filter((r) => r.headRollDeg > middle + 4).map((r) => r.mouthOpen);
  assert.ok(stretched.length > 5 && plain.length > 5, `both phases sampled (${stretched.length} / ${plain.length})`);
  assert.ok(mean(stretched) - mean(plain) > 0.06, `mouth open ${mean(stretched).toFixed(2)} while stretched vs ${mean(plain).toFixed(2)}`);
  assert.ok(Math.max(...statuses.map((s) => s.iris.fps)) > 3, 'iris runs');
  assert.ok(rigs.filter((r) => r.gazeX !== undefined).length > rigs.length / 2, 'gaze is driven');

  const idle = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'idle' }) });
  assert.equal(idle.status, 200);
  assert.equal(((await idle.json()) as DriveStatus).source, 'idle');
  await waitFor('the decoder is gone', () => (descendants(fenshen.child.pid ?? 0).some((pid) => commandOf(pid).includes('mouth-face')) ? undefined : true), 5000);
});

test('bad drive requests get clear errors and the stream goes on', async () => {
  await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'idle' }) });
  const put = (body: unknown) => fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify(body) });
  const cases: [unknown, number, RegExp][] = [
    [{ source: 'file', url: '/no/such/video.mp4' }, 422, /drive video must be an upload .* inside the data folder/],
    [{ source: 'file', url: 'uploads/missing.mp4' }, 422, /drive video must be an upload .* inside the data folder/],
    [{ source: 'file' }, 422, /needs a url/],
    [{ source: 'file', url: '; rm -rf / #' }, 422, /drive video must be an upload/],
    [{ source: 'file', url: 'file:///etc/passwd' }, 422, /not a file path/],
    [{ source: 'camera' }, 422, /no camera is being sent/],
    [{ source: 'dance' }, 400, /source/],
  ];
  for (const [body, status, message] of cases) {
    const res = await put(body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(((await res.json()) as { error: string }).error, message);
  }
  const calibrate = await fenshen.api('/api/channels/main/drive/calibrate', { method: 'POST' });
  assert.equal(calibrate.status, 422);
  const state = (await (await fenshen.api('/api/channels/main')).json()) as { state: string };
  assert.equal(state.state, 'live');
});
