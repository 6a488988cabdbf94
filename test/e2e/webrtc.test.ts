import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../../config/paths.js';
import { channelStatusSchema } from '../../server/api/contract.js';
import { audioEnvelope, commandOf, descendants, recordAsync, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
let browser: Browser;
let cameraClip = '';

before(async () => {
  fenshen = await startFenshen();
  await fenshen.live();
  // The browser's camera: a sample portrait rocking ±15° (Chromium's fake capture device plays a Y4M file in a loop).
  cameraClip = join(fenshen.dataDir, 'camera.y4m');
  const samples = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', samples, '-t', '6', '-r', '30', '-vf', "crop=160:160:372:0,scale=480:480,rotate='0.26*sin(2*PI*t/3)':fillcolor=black", '-pix_fmt', 'yuv420p', cameraClip], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  // Its microphone: a 440 Hz tone, on for half a second in every second, over silence.
  const voice = join(fenshen.dataDir, 'voice.wav');
  const tone = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=6', '-af', "volume='if(lt(mod(t,1),0.5),0.5,0)':eval=frame", '-ac', '1', voice], { encoding: 'utf8' });
  assert.equal(tone.status, 0, tone.stderr);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--autoplay-policy=no-user-gesture-required',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${cameraClip}`, `--use-file-for-fake-audio-capture=${voice}`],
  });
});
after(async () => {
  await browser?.close();
  await fenshen.stop();
});

interface InboundStats {
  type: string;
  kind?: string;
  packetsReceived?: number;
  framesDecoded?: number;
}

test('the viewer page plays the channel over WebRTC: live badge, decoded frames that change, sound arriving, one viewer counted', async () => {
  const page = await browser.newPage();
  const opened = performance.now();
  await page.goto(`${fenshen.url}/watch/main`);
  await page.waitForSelector('#state[data-state="live"]', { timeout: 15_000 });
  // Page code goes as strings: the test runner's transpiler would wrap named functions in helpers the page lacks.
  const firstFrameMs = (await page.evaluate(`new Promise((resolve) => {
    const video = document.getElementById('video');
    const check = () => (video.getVideoPlaybackQuality().totalVideoFrames > 0 ? resolve(performance.now()) : requestAnimationFrame(check));
    check();
  })`)) as number;
  assert.ok(firstFrameMs > 0);
  const grab = async () =>
    (await page.evaluate(`(() => {
      const video = document.getElementById('video');
      const canvas = document.createElement('canvas');
      canvas.width = 90;
      canvas.height = 160;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      return { pixels: Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data), frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth, height: video.videoHeight };
    })()`)) as { pixels: number[]; frames: number; width: number; height: number };
  const a = await grab();
  await new Promise((r) => setTimeout(r, 2000));
  const b = await grab();
  assert.equal(a.width, 720);
  assert.equal(a.height, 1280);
  assert.ok(b.frames - a.frames > 30, `frames decoded in 2 s: ${b.frames - a.frames}`);
  const lit = b.pixels.filter((v, i) => i % 4 !== 3 && v > 40).length;
  assert.ok(lit > b.pixels.length / 8, 'the picture is not black');
  let changed = 0;
  for (let i = 0; i < a.pixels.length; i++) if (Math.abs((a.pixels[i] as number) - (b.pixels[i] as number)) > 12) changed++;
  assert.ok(changed > 20, `the avatar moves between grabs (${changed} values changed)`);
  const stats = (await page.evaluate('window.fenshenViewer.stats()')) as InboundStats[];
  const audio = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
  assert.ok(audio && (audio.packetsReceived ?? 0) > 50, `audio packets received: ${audio?.packetsReceived}`);
  const status = (await (await fenshen.api('/api/channels/main')).json()) as { viewers: number };
  assert.equal(status.viewers, 1);
  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  assert.match(metrics, /fenshen_webrtc_viewers\{channel="main"\} 1/);
  assert.match(metrics, /fenshen_webrtc_join_seconds_count 1/);
  console.log(`# page open → live → first frame: ${(firstFrameMs).toFixed(0)} ms after navigation start (test wall ${(performance.now() - opened).toFixed(0)} ms)`);
  await page.close();
  await waitFor('the viewer is gone', async () => (((await (await fenshen.api('/api/channels/main')).json()) as { viewers: number }).viewers === 0 ? true : undefined), 15_000);
});

test('the viewer page reconnects by itself when the channel goes away and comes back', async () => {
  const page = await browser.newPage();
  await page.goto(`${fenshen.url}/watch/main`);
  await page.waitForSelector('#state[data-state="live"]', { timeout: 15_000 });
  const deleted = await fenshen.api('/api/channels/main', { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  await page.waitForSelector('#state:not([data-state="live"])', { timeout: 10_000 });
  const created = await fenshen.api('/api/channels', { method: 'POST', body: JSON.stringify({ id: 'main' }) });
  assert.equal(created.status, 201, await created.clone().text());
  await page.waitForSelector('#state[data-state="live"]', { timeout: 20_000 });
  const frames = async () => (await page.evaluate("document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames")) as number;
  const before = await frames();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok((await frames()) - before > 15, 'frames flow again after the reconnect');
  await page.close();
});

test('after every encoder restart the viewers get pictures and sound again within seconds, on the same connection', async () => {
  const page = await browser.newPage();
  await page.goto(`${fenshen.url}/watch/main`);
  await page.waitForSelector('#state[data-state="live"]', { timeout: 15_000 });
  const received = async () => {
    const stats = (await page.evaluate('window.fenshenViewer.stats()')) as InboundStats[];
    const frames = (await page.evaluate("document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames")) as number;
    return { frames, audioPackets: stats.find((x) => x.type === 'inbound-rtp' && x.kind === 'audio')?.packetsReceived ?? 0 };
  };
  const encoderPid = () => descendants(fenshen.child.pid ?? 0).find((pid) => commandOf(pid).includes('rawvideo'));
  for (const round of [1, 2]) {
    const encoder = encoderPid();
    assert.ok(encoder, 'the encoder runs under the server');
    process.kill(encoder, 'SIGKILL');
    const killedAt = performance.now();
    await waitFor(`a new encoder (round ${round})`, () => {
      const pid = encoderPid();
      return pid && pid !== encoder ? pid : undefined;
    }, 15_000);
    // Frames decoded and audio packets arriving again: counted over 1.5 s once they flow.
    let last = { frames: 0, audio: 0 };
    const recovered = await waitFor(`pictures and sound again after encoder restart ${round}`, async () => {
      const a = await received();
      await new Promise((r) => setTimeout(r, 1500));
      const b = await received();
      last = { frames: b.frames - a.frames, audio: b.audioPackets - a.audioPackets };
      return last.frames > 25 && last.audio > 40 ? last : undefined;
    }, 12_000).catch((err: Error) => {
      throw new Error(`${err.message}: the last 1.5 s had ${last.frames} frames and ${last.audio} audio packets`);
    });
    console.log(`# encoder restart ${round}: viewer playing again ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill (${recovered.frames} frames, ${recovered.audio} audio packets in 1.5 s)`);
    assert.equal(await page.getAttribute('#state', 'data-state'), 'live', 'the viewer never had to reconnect');
  }
  await page.close();
});

test('a crashed SFU worker is replaced: viewers reconnect and play again, RTMP never stops', async () => {
  const page = await browser.newPage();
  await page.goto(`${fenshen.url}/watch/main`);
  await page.waitForSelector('#state[data-state="live"]', { timeout: 15_000 });
  const worker = descendants(fenshen.child.pid ?? 0).find((pid) => commandOf(pid).includes('mediasoup-worker'));
  assert.ok(worker, 'the mediasoup worker runs under the server');
  const recording = join(fenshen.dataDir, 'during-sfu-crash.flv');
  const recorded = recordAsync(`${fenshen.rtmpBase}/main`, 6, recording);
  process.kill(worker, 'SIGKILL');
  await page.waitForSelector('#state:not([data-state="live"])', { timeout: 10_000 });
  await page.waitForSelector('#state[data-state="live"]', { timeout: 20_000 });
  const frames = async () => (await page.evaluate("document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames")) as number;
  // Live again means connected; the pictures follow with the next keyframe (counted over 1.5 s once they flow).
  let flowed = 0;
  await waitFor('frames flowing again from the new worker', async () => {
    const before = await frames();
    await new Promise((r) => setTimeout(r, 1500));
    flowed = (await frames()) - before;
    return flowed > 15 ? true : undefined;
  }, 10_000).catch((err: Error) => {
    throw new Error(`${err.message}: the last 1.5 s had ${flowed} frames`);
  });
  const replaced = descendants(fenshen.child.pid ?? 0).find((pid) => commandOf(pid).includes('mediasoup-worker'));
  assert.ok(replaced && replaced !== worker, 'a new worker runs');
  await recorded;
  // The RTMP side went on: about 6 s of video with no gap longer than the encoder's switch-over.
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', recording], { encoding: 'utf8' });
  const times = probe.stdout.trim().split('\n').map(Number).filter(Number.isFinite);
  assert.ok(times.length > 120, `RTMP frames while the SFU restarted: ${times.length}`);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  assert.ok(Math.max(...gaps) < 0.5, `largest RTMP timestamp gap ${Math.max(...gaps).toFixed(3)} s`);
  await page.close();
});

interface Reply {
  id: number | null;
  ok: boolean;
  error?: string;
}

/** A raw signaling connection (no mediasoup-client) and every reply it gets. */
async function openSignaling(): Promise<{ socket: WebSocket; replies: Reply[] }> {
  const socket = new WebSocket(`${fenshen.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const replies: Reply[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString()) as Reply));
  return { socket, replies };
}

test('signaling refuses junk and out-of-order requests with clear errors, and the stream goes on', async () => {
  const { socket, replies } = await openSignaling();
  const sent = [
    'not json',
    JSON.stringify({ id: 1, type: 'dance' }),
    JSON.stringify({ id: 2, type: 'createTransport' }),
    JSON.stringify({ id: 3, type: 'join', channel: 'nope' }),
    JSON.stringify({ id: 4, type: 'join', channel: '../main' }),
    JSON.stringify({ id: 5, type: 'resume' }),
    JSON.stringify({ id: 6, type: 'join', channel: 'main' }),
    JSON.stringify({ id: 7, type: 'connect', transportId: 'x', dtlsParameters: {} }),
    JSON.stringify({ id: 8, type: 'createTransport' }),
    JSON.stringify({ id: 9, type: 'consume', transportId: 'x', rtpCapabilities: {} }),
    JSON.stringify({ id: 10, type: 'join', channel: 'main', extra: true }),
  ];
  for (const message of sent) socket.send(message);
  socket.send(Buffer.from([1, 2, 3]));
  await waitFor('all answered', () => (replies.length >= sent.length + 1 ? true : undefined), 10_000);
  const byId = (id: number) => replies.find((r) => r.id === id);
  assert.match(replies.find((r) => r.id === null && /is not JSON/.test(r.error ?? ''))?.error ?? '', /message is not JSON/);
  assert.match(byId(1)?.error ?? '', /bad request/);
  assert.match(byId(2)?.error ?? '', /join a channel first/);
  assert.match(byId(3)?.error ?? '', /no channel nope/);
  assert.match(byId(4)?.error ?? '', /bad request: channel/);
  assert.match(byId(5)?.error ?? '', /consume first/);
  assert.equal(byId(6)?.ok, true);
  assert.match(byId(7)?.error ?? '', /unknown transport/);
  assert.equal(byId(8)?.ok, true);
  assert.match(byId(9)?.error ?? '', /unknown transport/);
  assert.match(byId(10)?.error ?? '', /bad request/);
  assert.ok(replies.some((r) => /binary/.test(r.error ?? '')));
  // An over-long message gets an error and the connection stays; one over 1 MB closes that socket (ws
  // refuses it) and nothing else.
  socket.send('x'.repeat(70 * 1024));
  await waitFor('the over-long message answered', () => (replies.some((r) => /message too large/.test(r.error ?? '')) ? true : undefined), 10_000);
  assert.equal(socket.readyState, WebSocket.OPEN);
  socket.send('x'.repeat(1024 * 1024 + 1));
  await new Promise((r) => socket.once('close', r));
  const health = await fetch(`${fenshen.url}/healthz`);
  assert.equal(health.status, 200);
  await waitFor('its transport is freed', async () => (((await (await fenshen.api('/api/channels/main')).json()) as { viewers: number }).viewers === 0 ? true : undefined), 15_000);
});

interface DriveState {
  drive: { source: string; face: { found: boolean; fps: number; rig: { headRollDeg: number } | null } };
}

test('the operator\'s browser camera and microphone drive the avatar: console → WebRTC → SFU → decoders → tracker and mix; stop returns to idle', async () => {
  const camera = await fenshen.api('/api/channels/main/drive', { method: 'PUT', body: JSON.stringify({ source: 'camera' }) });
  assert.equal(camera.status, 422);
  assert.match(((await camera.json()) as { error: string }).error, /no camera is being sent/);

  const page = await browser.newPage();
  // Closed however the test ends: a camera left sending would keep a person "driving" for the next test.
  try {
    await page.goto(`${fenshen.url}/`);
    await page.fill('#token', fenshen.token);
    await page.click('#signin-go');
    await page.waitForSelector('#console:not([hidden])');
    await page.click('#camera-start');
    await page.waitForSelector('#camera-msg[data-state="driving"]', { timeout: 20_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; the panel says: ${await page.textContent('#camera-msg')}`);
    });
    // The voice reaches the stream (main is otherwise silent: no music, no speech).
    const recording = join(fenshen.dataDir, 'with-mic.flv');
    const recorded = recordAsync(`${fenshen.rtmpBase}/main`, 5, recording);
    // The tracker's models load in its worker once the camera is on: sampled from the first face found.
    const driveState = async () => ((await (await fenshen.api('/api/channels/main')).json()) as DriveState).drive;
    await waitFor('the first face tracked in the camera', async () => ((await driveState()).face.found ? true : undefined), 15_000);
    const rolls: number[] = [];
    const fps: number[] = [];
    let found = 0;
    const until = performance.now() + 8000;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      const drive = await driveState();
      assert.equal(drive.source, 'camera');
      fps.push(drive.face.fps);
      if (drive.face.found && drive.face.rig) {
        found++;
        rolls.push(drive.face.rig.headRollDeg);
      }
    }
    const tracking = `${found} of ${fps.length} samples; tracker ${Math.min(...fps).toFixed(1)}…${Math.max(...fps).toFixed(1)} fps`;
    console.log(`# camera face found in ${tracking}`);
    assert.ok(found > fps.length * 0.6, `the face in the camera is tracked (${tracking})`);
    assert.ok(Math.max(...rolls) - Math.min(...rolls) > 10, `head roll follows the camera (${Math.min(...rolls).toFixed(1)}…${Math.max(...rolls).toFixed(1)}°)`);
    await recorded;
    const envelope = audioEnvelope(recording, 50);
    const loud = envelope.rms.filter((v) => v > 1000).length;
    const quiet = envelope.rms.filter((v) => v < 100).length;
    assert.ok(loud > 12 && quiet > 20, `the microphone's pulses are heard in the stream (${loud} loud and ${quiet} quiet 50 ms windows of ${envelope.rms.length})`);
    await page.click('#camera-calibrate');
    await page.waitForSelector('#camera-msg[data-state="calibrated"]', { timeout: 5000 });

    await page.click('#camera-stop');
    await waitFor('drive back to idle', async () => (((await (await fenshen.api('/api/channels/main')).json()) as DriveState).drive.source === 'idle' ? true : undefined), 10_000);
    await waitFor('the camera decoder is gone', () => (descendants(fenshen.child.pid ?? 0).some((pid) => commandOf(pid).includes('-f sdp')) ? undefined : true), 5000);
  } finally {
    await page.close();
  }
});

test('a channel that requires a live driver: nobody for longer than the grace period shows the host-away card and holds the playlist; the operator\'s camera face brings the host back', async () => {
  const channel = () => fenshen.read('/api/channels/main', channelStatusSchema);
  /** Mean luma of the newest frame on RTMP, read after a whole GOP so no frame from before is cached. */
  const meanLuma = async (name: string) => {
    await new Promise((r) => setTimeout(r, 2500));
    const file = join(fenshen.dataDir, `${name}.flv`);
    await recordAsync(`${fenshen.rtmpBase}/main`, 1, file);
    const y = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-vf', 'format=gray,scale=90:160', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 20 }).stdout as Buffer;
    return y.reduce((a, v) => a + v, 0) / y.length;
  };
  const onAir = await meanLuma('before');
  const set = await fenshen.api('/api/channels/main/live-driver', { method: 'PUT', body: JSON.stringify({ required: true, graceS: 2, windowS: 1 }) });
  assert.equal(set.status, 200, await set.clone().text());
  const playlist = await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [{ text: '啊，欢迎来到直播间。' }], loop: true }) });
  assert.equal(playlist.status, 200);
  const away = await waitFor('host away', async () => ((await channel()).liveDriver.away ? (await channel()).liveDriver : undefined), 10_000);
  assert.equal(away.driving, false);
  assert.ok(fenshen.stderr().includes('nobody has driven the host for over 2 s'), 'said in the log');
  const card = await meanLuma('away');
  console.log(`# mean luma on air ${onAir.toFixed(0)}, host-away card ${card.toFixed(0)}`);
  assert.ok(card < onAir - 15, 'the host-away card replaced the scene');
  assert.equal((await channel()).activity, 'idle', 'the playlist waits while nobody drives');

  // The operator's camera: a face tracked is a person in the loop again.
  const page = await browser.newPage();
  await page.goto(`${fenshen.url}/`);
  await page.fill('#token', fenshen.token);
  await page.click('#signin-go');
  await page.waitForSelector('#driver-state[data-driver="away"]', { timeout: 10_000 });
  await page.click('#camera-start');
  const back = await waitFor('a person driving', async () => {
    const status = await channel();
    return !status.liveDriver.away && status.liveDriver.driving ? status.liveDriver : undefined;
  }, 20_000);
  assert.ok(back.via === 'camera' || back.via === 'microphone');
  await page.waitForSelector('#driver-state[data-driver="person"]', { timeout: 10_000 });
  const returned = await meanLuma('back');
  assert.ok(returned > card + 15, `the scene is back (mean luma ${returned.toFixed(0)})`);
  const seconds = (await channel()).liveDriver.seconds;
  assert.ok(seconds.person > 0 && seconds.idle + seconds.script > 0, JSON.stringify(seconds));
  const metrics = await (await fetch(`${fenshen.url}/metrics`)).text();
  assert.match(metrics, /fenshen_driven_seconds_total\{channel="main",by="person"\} [1-9]/);

  await page.click('#camera-stop');
  await waitFor('host away again', async () => ((await channel()).liveDriver.away ? true : undefined), 15_000);
  await page.close();
  await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [], loop: false }) });
  const off = await fenshen.api('/api/channels/main/live-driver', { method: 'PUT', body: JSON.stringify({ required: false }) });
  assert.equal(((await off.json()) as { away: boolean }).away, false);
});

test('signaling: the camera needs the operator token; a viewer cannot send', async () => {
  const { socket, replies } = await openSignaling();
  socket.send(JSON.stringify({ id: 1, type: 'join', channel: 'main', role: 'operator', token: 'wrong-token-0000000000' }));
  socket.send(JSON.stringify({ id: 2, type: 'join', channel: 'main' }));
  socket.send(JSON.stringify({ id: 3, type: 'createTransport', direction: 'send' }));
  socket.send(JSON.stringify({ id: 4, type: 'produce', transportId: 'x', kind: 'video', rtpParameters: {} }));
  await waitFor('all answered', () => (replies.length >= 4 ? true : undefined), 10_000);
  assert.match(replies.find((r) => r.id === 1)?.error ?? '', /operator token missing or wrong/);
  assert.equal(replies.find((r) => r.id === 2)?.ok, true);
  assert.match(replies.find((r) => r.id === 3)?.error ?? '', /only the operator may send/);
  assert.match(replies.find((r) => r.id === 4)?.error ?? '', /unknown transport/);
  socket.close();
});
