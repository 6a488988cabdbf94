import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../pipeline/paths.js';
import { descendants, commandOf, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

const SAMPLES = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
let fenshen: FenshenProcess;
let clip = '';

before(async () => {
  fenshen = await startFenshen();
  // A synthetic clip made from a sample photo: the man's portrait, enlarged, rocking ±15° over 3 s.
  clip = join(fenshen.dataDir, 'rocking-face.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', SAMPLES, '-t', '6', '-r', '30',
    '-vf', "crop=160:160:372:0,scale=480:480,rotate='0.26*sin(2*PI*t/3)':fillcolor=black", '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  await waitFor('main live', async () => ((await fetch(`${fenshen.url}/healthz`)).ok ? true : undefined));
});
after(async () => {
  await fenshen.stop();
});

interface DriveStatus {
  source: string;
  face: { found: boolean; fps: number; ms: number; rig: { headRollDeg: number; mouthOpen: number; eyeOpenL: number; bodyLeanDeg?: number } | null };
  pose: { found: boolean; fps: number; ms: number };
}

test('a face in a video file drives the avatar: found, tracked at a useful rate, head roll and body lean follow the rocking', async () => {
  const res = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'file', url: clip }) });
  assert.equal(res.status, 200, await res.clone().text());
  const rolls: number[] = [];
  const leans: number[] = [];
  let poseFps = 0;
  let found = 0, samples = 0;
  let last: DriveStatus | null = null;
  const until = performance.now() + 8000;
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    last = ((await (await fenshen.api('/api/channels/main')).json()) as { drive: DriveStatus }).drive;
    samples++;
    if (last.face.found && last.face.rig) {
      found++;
      rolls.push(last.face.rig.headRollDeg);
      if (last.face.rig.bodyLeanDeg !== undefined) leans.push(last.face.rig.bodyLeanDeg);
    }
    poseFps = Math.max(poseFps, last.pose.fps);
  }
  assert.ok(last);
  assert.equal(last.source, 'file');
  assert.ok(found / samples > 0.6, `face found in ${found}/${samples} samples`);
  assert.ok(last.face.fps > 8, `tracking at ${last.face.fps} fps`);
  const [lo, hi] = [Math.min(...rolls), Math.max(...rolls)];
  assert.ok(hi - lo > 15 && hi > 5 && lo < -5, `head roll swings both ways with the clip (${lo.toFixed(1)}…${hi.toFixed(1)}°)`);
  // The shoulders are in the clip too: pose runs at half the face rate and the body leans with them.
  assert.ok(poseFps > 3, `pose at ${poseFps} fps`);
  assert.ok(leans.length > 10 && Math.max(...leans) - Math.min(...leans) > 6, `body lean follows (${Math.min(...leans).toFixed(1)}…${Math.max(...leans).toFixed(1)}°)`);

  const idle = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'idle' }) });
  assert.equal(idle.status, 200);
  assert.equal(((await idle.json()) as DriveStatus).source, 'idle');
  await waitFor('the decoder is gone', () => (descendants(fenshen.child.pid ?? 0).some((pid) => commandOf(pid).includes('rocking-face')) ? undefined : true), 5000);
});

test('bad drive requests get clear errors and the stream goes on', async () => {
  await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'idle' }) });
  const put = (body: unknown) => fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify(body) });
  const cases: [unknown, number, RegExp][] = [
    [{ source: 'file', url: '/no/such/video.mp4' }, 422, /no readable video/],
    [{ source: 'file' }, 422, /needs a url/],
    [{ source: 'file', url: '; rm -rf / #' }, 422, /not a file path/],
    [{ source: 'camera' }, 422, /WebRTC/],
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
