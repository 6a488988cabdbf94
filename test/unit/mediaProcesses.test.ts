import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MicSource } from '../../pipeline/audio/micSource.js';
import { MusicSource } from '../../pipeline/audio/musicSource.js';
import { BackgroundVideo } from '../../pipeline/compose/backgroundVideo.js';
import { I420Layout } from '../../pipeline/compose/i420.js';
import { PicturePool } from '../../pipeline/compose/picturePool.js';
import { FfmpegVideoSource } from '../../pipeline/drive/videoSource.js';
import { probeVideoFile, VideoProbeError } from '../../pipeline/mediaProbe.js';
import { Encoder, type EncoderSettings } from '../../pipeline/output/encoder.js';
import { FlvTagReader, type FlvTag } from '../../pipeline/output/flvTags.js';
import { RtmpDestination } from '../../pipeline/output/rtmpDestination.js';
import { liveChildCount } from '../../pipeline/process/childRegistry.js';

// The media stages on the process supervisor, with real ffmpeg: what they start, they end.

const work = mkdtempSync(join(tmpdir(), 'fenshen-procs-'));
after(() => rmSync(work, { recursive: true, force: true }));

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function makeClip(name: string, lavfi: string, extra: string[] = []): string {
  const file = join(work, name);
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', lavfi, ...extra, file], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return file;
}

const ENCODER: EncoderSettings = {
  ffmpegPath: 'ffmpeg', width: 160, height: 96, fps: 10, sampleRateHz: 48000, videoKbps: 200, profile: 'main', audioKbps: 64,
  aacSampleRateHz: 44100, gopSeconds: 1, x264Preset: 'ultrafast', x264Params: '', threads: 1, rtp: null,
};

test('the encoder is restarted when its process dies, continues the timeline, is replaced quietly for new RTP targets, and leaves nothing after close', async () => {
  const encoder = new Encoder(ENCODER);
  const pool = new PicturePool(new I420Layout(ENCODER.width, ENCODER.height));
  const pcm = Buffer.alloc((ENCODER.sampleRateHz / ENCODER.fps) * 4);
  const videoTimesMs: number[] = [];
  const died: string[] = [];
  let restarted = 0;
  encoder.on('tag', (tag: FlvTag) => {
    if (tag.type === 'video' && !tag.isSequenceHeader) videoTimesMs.push(tag.timestampMs);
  });
  encoder.on('died', (why) => died.push(why));
  encoder.on('restarted', () => restarted++);
  encoder.start();
  assert.equal(encoder.running, true);
  let frame = 0;
  const ticker = setInterval(() => {
    const picture = pool.acquire();
    const ptsUs = frame * 100_000;
    encoder.write({
      video: { kind: 'video', ptsUs, frameIndex: frame, width: ENCODER.width, height: ENCODER.height, picture, repeated: false },
      audio: { kind: 'audio', ptsUs, sampleRateHz: ENCODER.sampleRateHz, channels: 2, pcm },
    });
    picture.release();
    frame++;
  }, 20);
  try {
    await until('first pictures', () => videoTimesMs.length >= 5);
    const firstPid = encoder.pid;
    process.kill(firstPid as number, 'SIGKILL');
    await until('a restart', () => restarted === 1 && encoder.running);
    assert.equal(died.length, 1);
    assert.match(died[0] as string, /SIGKILL/);
    assert.notEqual(encoder.pid, firstPid);
    const outBeforeReplace = videoTimesMs.length;
    await until('pictures from the restarted encoder', () => videoTimesMs.length >= outBeforeReplace + 5);

    const beforeReplacePid = encoder.pid;
    encoder.setRtp(null);
    await until('a replaced encoder', () => encoder.running && encoder.pid !== beforeReplacePid);
    const count = videoTimesMs.length;
    await until('pictures from the replaced encoder', () => videoTimesMs.length >= count + 5);
    assert.equal(died.length, 1, 'a replacement is not a death');
    assert.equal(restarted, 1);
    assert.equal(alive(firstPid), false);
    assert.equal(alive(beforeReplacePid), false);
    // Never back in time, no picture twice: the restarted encoder resumed at the first tick not out yet.
    for (let i = 1; i < videoTimesMs.length; i++) assert.ok((videoTimesMs[i] as number) > (videoTimesMs[i - 1] as number), `pts ${videoTimesMs.slice(i - 2, i + 2).join(', ')}`);
  } finally {
    clearInterval(ticker);
  }
  const pid = encoder.pid;
  await encoder.close();
  await encoder.close();
  assert.equal(encoder.running, false);
  assert.equal(encoder.heldTicks, 0);
  assert.equal(alive(pid), false);
  assert.equal(liveChildCount(), 0);
});

test('a destination that cannot connect retries with backoff, never quotes its key, and leaves nothing after close', async () => {
  // A muxer opens its output once it has read some input: feed it a real FLV stream (every frame a keyframe).
  const flv = makeClip('feed.flv', 'testsrc=s=64x48:r=10:d=2', ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '1', '-pix_fmt', 'yuv420p', '-f', 'flv']);
  const tags: FlvTag[] = [];
  new FlvTagReader().push(readFileSync(flv).subarray(13), (tag) => tags.push(tag));
  assert.ok(tags.length > 10);
  const key = 'sk_live_abcdef123456';
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  const destination = new RtmpDestination({ id: 'backup', url: `rtmp://127.0.0.1:9/live/${key}`, preset: null, ffmpegPath: 'ffmpeg', enabled: true, retryBaseMs: 100, retryCapMs: 400 });
  const states: string[] = [];
  destination.on('state', (state) => states.push(state));
  let next = 0;
  const feed = setInterval(() => destination.push(tags[next++ % tags.length] as FlvTag), 5);
  try {
    destination.start();
    await until('two retries', () => destination.status.reconnects >= 2, 20_000);
    const status = destination.status;
    assert.ok(status.lastError, 'the failure has a reason');
    assert.ok(!JSON.stringify(status).includes(key), JSON.stringify(status));
    assert.ok(states.includes('retrying') && states.includes('connecting'), states.join(' '));
    await destination.setEnabled(false);
    assert.equal(destination.status.state, 'stopped');
    const reconnects = destination.status.reconnects;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(destination.status.reconnects, reconnects, 'a stopped destination does not retry');
    await destination.setEnabled(true);
    assert.equal(destination.status.state, 'connecting');
  } finally {
    clearInterval(feed);
    await destination.close();
  }
  await destination.close();
  assert.equal(destination.status.state, 'closed');
  assert.equal(liveChildCount(), 0);
});

test('a background video that cannot be decoded is given up after quick exits; one that plays is ended by close', async () => {
  const text = join(work, 'not-a-video.mp4');
  writeFileSync(text, 'hello, not a video');
  const errors: string[] = [];
  const broken = new BackgroundVideo({ ffmpegPath: 'ffmpeg', path: text, width: 32, height: 24, fps: 10, fit: 'cover', onError: (m) => errors.push(m) });
  try {
    broken.start();
    await until('the file given up', () => errors.some((m) => m.includes('cannot be played')), 15_000);
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.match(errors[0] as string, /restarting$/);
  } finally {
    broken.close();
  }

  const clip = makeClip('loop.mp4', 'testsrc=s=64x48:r=10:d=1', ['-pix_fmt', 'yuv420p']);
  const video = new BackgroundVideo({ ffmpegPath: 'ffmpeg', path: clip, width: 32, height: 24, fps: 10, fit: 'contain', onError: (m) => errors.push(m) });
  try {
    video.start();
    await until('a frame', () => video.next() !== null);
    assert.equal(liveChildCount(), 1);
  } finally {
    video.close();
    video.close();
  }
  await until('the decoder gone', () => liveChildCount() === 0, 2000);
});

test('background music fills its ring from the decoder and ends it on close', async () => {
  const song = makeClip('song.wav', 'sine=frequency=440:duration=1');
  const errors: string[] = [];
  const music = new MusicSource({ ffmpegPath: 'ffmpeg', path: song, sampleRateHz: 48000, onError: (m) => errors.push(m) });
  try {
    music.start();
    await until('two seconds buffered', () => music.ring.freeFrames < 48000 * 2);
    music.refill();
  } finally {
    music.close();
  }
  await until('the decoder gone', () => liveChildCount() === 0, 2000);
  assert.deepEqual(errors, []);
});

test('the microphone decoder waits for RTP and is ended by close', async () => {
  const sdp = 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=mic\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 47999 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n';
  const errors: string[] = [];
  const mic = new MicSource({ ffmpegPath: 'ffmpeg', sdp, sampleRateHz: 48000, onError: (m) => errors.push(m) });
  try {
    mic.start();
    assert.equal(liveChildCount(), 1);
    await new Promise((r) => setTimeout(r, 300));
    const out = new Float32Array(1600);
    assert.equal(mic.take(1600, out).every((v) => v === 0), true, 'silence until the voice arrives');
  } finally {
    mic.close();
  }
  await until('the decoder gone', () => liveChildCount() === 0, 2000);
  assert.deepEqual(errors, []);
});

test('the drive source decodes a file into frames and ends its decoder on close', async () => {
  const clip = makeClip('drive.mp4', 'testsrc=s=96x64:r=10:d=1', ['-pix_fmt', 'yuv420p']);
  const source = new FfmpegVideoSource({ kind: 'file', url: clip }, { ffmpegPath: 'ffmpeg', fps: 10 });
  assert.deepEqual(source.probe(), { width: 96, height: 64 });
  try {
    source.start();
    const [frame, timeS] = (await once(source, 'frame')) as [{ width: number; height: number; data: Buffer }, number];
    assert.equal(frame.data.length, 96 * 64 * 4);
    assert.equal(timeS, 0);
  } finally {
    await source.close();
  }
  await source.close();
  assert.equal(liveChildCount(), 0);
});

test('a probe that hangs is killed at its time limit; a missing ffprobe is a server problem, not an answer about the file', async () => {
  const hanging = join(work, 'hanging-ffprobe');
  writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  const clip = makeClip('probe.mp4', 'testsrc=s=64x48:r=10:d=1', ['-pix_fmt', 'yuv420p']);
  const startedMs = performance.now();
  await assert.rejects(probeVideoFile(hanging, clip, 300), (err: Error) => err instanceof VideoProbeError && /longer than 0 s/.test(err.message));
  assert.ok(performance.now() - startedMs < 2000);
  assert.equal(liveChildCount(), 0);
  await assert.rejects(probeVideoFile('/nonexistent/ffprobe', clip), (err: Error) => !(err instanceof VideoProbeError) && /ffprobe \(\/nonexistent\/ffprobe\) cannot be started/.test(err.message));
  assert.deepEqual(await probeVideoFile('ffprobe', clip), { width: 64, height: 48, durationS: 1, fps: 10, rotationDeg: 0 });
});
