import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { avatarListSchema, channelListSchema, channelStatusSchema, destinationListSchema, destinationStatusSchema, errorAnswerSchema, interruptAnswerSchema } from '../../server/api/contract.js';
import { commandOf, descendants, frameHashes, readAnswer, recordAndProbe, recordAsync, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
const work = mkdtempSync(join(tmpdir(), 'fenshen-rec-'));

before(async () => {
  fenshen = await startFenshen();
  await waitFor('healthz 200', async () => ((await fetch(`${fenshen.url}/healthz`)).status === 200 ? true : undefined), 40_000);
});

after(async () => {
  await fenshen?.stop();
});

test('main streams H.264 + AAC over RTMP: 720x1280, 30 fps, keyframes every 2 s, alive', () => {
  const file = join(work, 'main.flv');
  const { streams, packets } = recordAndProbe(`${fenshen.rtmpBase}/main`, 8, file);
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  assert.equal(video?.codec_name, 'h264');
  assert.equal(video?.width, 720);
  assert.equal(video?.height, 1280);
  assert.equal(video?.has_b_frames, 0);
  assert.equal(audio?.codec_name, 'aac');
  assert.ok([44100, 48000].includes(Number(audio?.sample_rate)), `audio rate ${audio?.sample_rate}`);
  assert.equal(audio?.channels, 2);

  const v = packets.filter((p) => p.stream === 'video');
  const a = packets.filter((p) => p.stream === 'audio');
  const spanS = (v.at(-1)?.ptsS ?? 0) - (v[0]?.ptsS ?? 0);
  const fps = (v.length - 1) / spanS;
  assert.ok(Math.abs(fps - 30) <= 1.5, `measured ${fps.toFixed(2)} fps`);
  const audioSpanS = (a.at(-1)?.ptsS ?? 0) - (a[0]?.ptsS ?? 0);
  assert.ok(a.length > 100 && audioSpanS >= spanS - 0.5, `audio covers the stream (${a.length} packets over ${audioSpanS.toFixed(2)} s)`);

  const keyTimes = v.filter((p) => p.key).map((p) => p.ptsS);
  assert.ok(keyTimes.length >= 3, `keyframes: ${keyTimes.length}`);
  for (let i = 1; i < keyTimes.length; i++) {
    const gap = (keyTimes[i] as number) - (keyTimes[i - 1] as number);
    assert.ok(gap <= 2.05, `keyframe gap ${gap.toFixed(3)} s`);
  }
  // The avatar is alive: pictures keep changing through the recording.
  const hashes = frameHashes(file);
  assert.ok(hashes.length >= 150, `decoded ${hashes.length} frames`);
  const distinct = new Set(hashes).size;
  assert.ok(distinct > hashes.length * 0.5, `${distinct} distinct of ${hashes.length} frames`);
});

test('API: token required, channel state, metrics for every stage, no stream key leaked', async () => {
  assert.equal((await fetch(`${fenshen.url}/api/channels/main`)).status, 401);
  const wrong = await fetch(`${fenshen.url}/api/channels/main`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  assert.match((await readAnswer(wrong, errorAnswerSchema)).error, /token/);

  const res = await fenshen.api('/api/channels/main');
  assert.equal(res.status, 200);
  const state = await readAnswer(res, channelStatusSchema);
  assert.equal(state.width, 720);
  assert.equal(state.height, 1280);
  // A one-second window, read right after the recording's decode loaded both cores; the stream itself
  // is checked to within 1.5 fps above.
  assert.ok(state.fpsMeasured > 20 && state.fpsMeasured < 32, `fps ${state.fpsMeasured}`);
  assert.equal(state.activity, 'idle');
  assert.equal(state.destinations[0]?.state, 'live');

  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  for (const name of ['fenshen_frames_rendered_total', 'fenshen_frames_dropped_total', 'fenshen_encoder_fps', 'fenshen_encoder_bitrate_kbps', 'fenshen_process_cpu_seconds_total', 'fenshen_process_resident_memory_bytes']) {
    assert.ok(metrics.includes(name), name);
  }
  for (const stage of ['rig', 'speech', 'render', 'convert', 'mix', 'tick']) {
    assert.match(metrics, new RegExp(`fenshen_stage_duration_seconds_count\\{channel="main",stage="${stage}"\\} [1-9]`), stage);
  }
  // Video and audio timestamps of the output stay together (AAC frames are 21 ms, so within ~40 ms).
  const offset = Number(/fenshen_av_offset_seconds\{channel="main"\} (\S+)/.exec(metrics)?.[1]);
  assert.ok(Number.isFinite(offset) && Math.abs(offset) < 0.04, `A/V offset ${offset}`);
  assert.ok(!metrics.includes('live/main'), 'no push URL in metrics');
  const listing = await fenshen.read('/api/channels', channelListSchema);
  assert.deepEqual(listing.channels.map((c) => c.id), ['main']);
  assert.ok(!JSON.stringify(listing).includes('/live/main'), 'push URL is redacted in the API');
  const { avatars } = await fenshen.read('/api/avatars', avatarListSchema);
  assert.ok(avatars.some((a) => a.id === state.avatar), `the channel's avatar is among those offered: ${avatars.map((a) => a.id).join(', ')}`);
});

test('bad requests get clear JSON errors and the stream goes on', async () => {
  const cases: [string, RequestInit, number, RegExp][] = [
    ['/api/channels', { method: 'POST', body: '{"id": "Bad Id!"}' }, 400, /id/],
    ['/api/channels', { method: 'POST', body: '{"id": ' }, 400, /JSON/i],
    ['/api/channels', { method: 'POST', body: '{"id": "x1", "avatar": {"id": "nobody"}}' }, 422, /avatar "nobody" not found/],
    ['/api/channels', { method: 'POST', body: '{"id": "main"}' }, 409, /exists/],
    // An avatar over the API is an id, never a folder path (which could point anywhere on the disk).
    ['/api/channels', { method: 'POST', body: '{"id": "x2", "avatar": {"id": "/etc"}}' }, 400, /an avatar id/],
    ['/api/channels/main/scene', { method: 'PUT', body: '{"avatar": "/usr/share"}' }, 400, /an avatar id/],
    ['/api/channels/main/scene', { method: 'PUT', body: '{"avatar": {"id": "../../tmp/a"}}' }, 400, /an avatar id/],
    ['/api/channels/main/scene', { method: 'PUT', body: '{"background": {"type": "image", "path": "/no/such.png"}}' }, 422, /scene files must be uploads/],
    ['/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ overlays: { caption: { text: 'x'.repeat(5000) } } }) }, 400, /caption/],
    ['/api/channels/nope', {}, 404, /not found/],
  ];
  for (const [path, init, status, message] of cases) {
    const res = await fenshen.api(path, init);
    const body = await readAnswer(res, errorAnswerSchema);
    assert.equal(res.status, status, `${path} ${String(init.body)}`);
    assert.match(body.error, message);
    assert.ok(!JSON.stringify(body).includes('    at '), 'no stack trace');
  }
  const ok = await fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ background: { type: 'color', color: '#204060' }, overlays: { caption: { text: '欢迎来到直播间 Welcome!' } } }) });
  assert.equal(ok.status, 200);
  const health = await fetch(`${fenshen.url}/healthz`);
  assert.equal(health.status, 200);
});

test('body-less POSTs work with or without a JSON content type, empty or blank', async () => {
  // What curl, scripts and HTTP libraries send: no header; the header with nothing; the header with a blank line.
  const variants: [string, RequestInit][] = [
    ['no content type', {}],
    ['json, empty', { headers: { 'content-type': 'application/json' } }],
    ['json; charset, blank', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: ' \n' }],
  ];
  const activity = async () => (await fenshen.read('/api/channels/main', channelStatusSchema)).activity;
  for (const [name, init] of variants) {
    const said = await fenshen.api('/api/channels/main/say', { method: 'POST', body: JSON.stringify({ text: '这是一段很长的测试语音，用来检查打断是否生效。' }) });
    assert.equal(said.status, 202);
    await waitFor('speaking', async () => ((await activity()) === 'speaking' ? true : undefined), 10_000);
    const interrupted = await fenshen.api('/api/channels/main/interrupt', { method: 'POST', ...init });
    assert.equal(interrupted.status, 200, `interrupt, ${name}: ${await interrupted.clone().text()}`);
    assert.equal((await readAnswer(interrupted, interruptAnswerSchema)).interrupted, true);
    await waitFor(`idle after interrupt (${name})`, async () => ((await activity()) === 'idle' ? true : undefined), 2_000);

    const calibrate = await fenshen.api('/api/channels/main/drive/calibrate', { method: 'POST', ...init });
    assert.equal(calibrate.status, 422, `calibrate, ${name}`);
    assert.match((await readAnswer(calibrate, errorAnswerSchema)).error, /no face is being tracked/);

    const stop = await fenshen.api('/api/channels/main/destinations/embedded/stop', { method: 'POST', ...init });
    assert.equal(stop.status, 200, `destination stop, ${name}`);
    assert.equal((await readAnswer(stop, destinationStatusSchema)).enabled, false);
    const start = await fenshen.api('/api/channels/main/destinations/embedded/start', { method: 'POST', ...init });
    assert.equal(start.status, 200, `destination start, ${name}`);
    assert.equal((await readAnswer(start, destinationStatusSchema)).enabled, true);
  }
  // A body that is there but is not JSON is still refused.
  const broken = await fenshen.api('/api/channels/main/interrupt', { method: 'POST', body: '{"oops' });
  assert.equal(broken.status, 400);
  assert.match((await readAnswer(broken, errorAnswerSchema)).error, /JSON/i);
  await waitFor('embedded live again', async () => {
    const res = await fenshen.read('/api/channels/main/destinations', destinationListSchema);
    return res.destinations.find((d) => d.id === 'embedded' && d.state === 'live');
  }, 20_000);
});

test('if the encoder dies the channel restarts it and the timeline has no hole', async () => {
  const encoder = descendants(fenshen.child.pid as number).find((pid) => commandOf(pid).includes('rawvideo'));
  assert.ok(encoder, 'encoder process found');
  const file = join(work, 'through-encoder-death.flv');
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 8, file);
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(encoder, 'SIGKILL');
  await waitFor('encoder restart', async () => {
    const text = await (await fetch(`${fenshen.url}/metrics`)).text();
    return /fenshen_encoder_restarts_total\{channel="main"\} 1/.test(text) ? true : undefined;
  });
  await waitFor('channel live again', async () => {
    const state = await fenshen.read('/api/channels/main', channelStatusSchema);
    return state.encoder.running && state.encoder.fps > 0 ? true : undefined;
  });
  await recording;
  // The ticks the dead encoder had taken but not delivered went into the new one: every frame is there.
  const { packets } = recordAndProbe(`file:${file}`, 8, join(work, 'death-copy.flv'));
  for (const type of ['video', 'audio'] as const) {
    const times = packets.filter((p) => p.stream === type).map((p) => p.ptsS);
    const steps = times.slice(1).map((t, i) => t - (times[i] as number));
    assert.ok(Math.max(...steps) < 0.1 && Math.min(...steps) > 0, `${type}: timestamp steps ${Math.min(...steps).toFixed(3)}..${Math.max(...steps).toFixed(3)} s`);
  }
  // Every frame from the first picture on (a fresh stream's reader starts at its next keyframe, up to 2 s in).
  const video = packets.filter((p) => p.stream === 'video').map((p) => p.ptsS);
  const spanS = (video.at(-1) as number) - (video[0] as number);
  assert.ok(spanS > 5.5, `the recording spans the encoder's death: ${spanS.toFixed(2)} s of video`);
  assert.ok(video.length >= Math.round(spanS * 30), `${video.length} frames in ${spanS.toFixed(2)} s`);
  assert.equal(fenshen.child.exitCode, null, 'the server process kept running');
});

test('a second channel runs beside main in its own preset and is cleaned up completely', async () => {
  const before = descendants(fenshen.child.pid as number).length;
  const created = await fenshen.api('/api/channels', { method: 'POST', body: JSON.stringify({ id: 'side', preset: 'landscape-720p', avatar: { id: 'ajie' } }) });
  assert.equal(created.status, 201);
  assert.equal((await readAnswer(created, channelStatusSchema)).preset, 'landscape-720p');
  const { streams } = recordAndProbe(`${fenshen.rtmpBase}/side`, 3, join(work, 'side.flv'));
  const video = streams.find((s) => s.codec_type === 'video');
  assert.equal(video?.width, 1280);
  assert.equal(video?.height, 720);
  assert.ok(descendants(fenshen.child.pid as number).length > before);

  assert.equal((await fenshen.api('/api/channels/side', { method: 'DELETE' })).status, 204);
  assert.equal((await fenshen.api('/api/channels/side')).status, 404);
  await waitFor('side processes gone', () => (descendants(fenshen.child.pid as number).length === before ? true : undefined), 10_000);
  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  assert.ok(!metrics.includes('channel="side"'), 'its metric series are gone');
});

test('bad config or missing ffmpeg: one clear line and exit code 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-badcfg-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ channel: { encoder: { x264Preset: 'warp' } } }));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env: { ...process.env, FENSHEN_CONFIG: file, FENSHEN_DATA: dir }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /channel\.encoder\.x264Preset/);

  const noFfmpeg = spawnSync(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env: { ...process.env, FENSHEN_FFMPEG: '/nonexistent/ffmpeg', FENSHEN_DATA: dir, FENSHEN_RTMP_PORT: '0' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(noFfmpeg.status, 2);
  assert.match(noFfmpeg.stderr, /ffmpeg not found/);
  assert.equal(noFfmpeg.stderr.trim().split('\n').length, 1, noFfmpeg.stderr);
});
