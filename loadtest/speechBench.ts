/**
 * Speech rows of `npm run bench`:
 *  - say → first audible sample read back from the RTMP output (a real server, a real reader);
 *  - TTS real-time factor of the embedded voice (synthesis time / audio time);
 *  - lip-sync CPU per second of speech (the speaker's tick work: audio hand-off, viseme evaluation;
 *    synthesis runs in the eSpeak process and is the real-time factor's business).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EspeakProvider } from '../pipeline/speech/espeakProvider.js';
import { Speaker } from '../pipeline/speech/speaker.js';
import { PROJECT_ROOT } from '../config/paths.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface SayLatency {
  readonly samplesMs: number[];
}

/** Starts the server, reads its RTMP audio as it arrives, and times `say` → first loud sample. */
export async function sayToAudible(runs: number): Promise<SayLatency> {
  const [port, rtmpPort, flvPort] = [await freePort(), await freePort(), await freePort()];
  const token = 'bench-token-0123456789';
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FENSHEN_PORT: String(port), FENSHEN_RTMP_PORT: String(rtmpPort), FENSHEN_FLV_PORT: String(flvPort), FENSHEN_DATA: mkdtempSync(join(tmpdir(), 'fenshen-bench-')), FENSHEN_TOKEN: token, FENSHEN_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const api = (path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      await sleep(200);
    }
    // A low-latency reader: no probing, no input buffering, PCM out as soon as it is decoded.
    const reader = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-i', `rtmp://127.0.0.1:${rtmpPort}/live/main`, '-map', '0:a', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let loudAt = 0;
    reader.stdout.on('data', (chunk: Buffer) => {
      if (loudAt) return;
      for (let i = 0; i + 1 < chunk.length; i += 2) {
        if (Math.abs(chunk.readInt16LE(i)) > 2000) {
          loudAt = performance.now();
          return;
        }
      }
    });
    await sleep(3000);
    const samplesMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      loudAt = 0;
      const saidAt = performance.now();
      await api('/api/channels/main/say', { text: run % 2 ? 'Hello, and welcome!' : '啊，大家好！' });
      for (let waited = 0; !loudAt && waited < 5000; waited += 5) await sleep(5);
      if (loudAt) samplesMs.push(loudAt - saidAt);
      await sleep(2500);
      await api('/api/channels/main/interrupt', {});
      await sleep(600);
    }
    reader.kill('SIGKILL');
    return { samplesMs };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

const LINES = [
  '大家好，欢迎来到直播间！',
  '今天给大家带来一款新品，只要一百九十九元。',
  'Welcome to the live room, everything is on sale today.',
  '喜欢的朋友可以点一下关注，我们马上开始。',
];

/** Synthesis time over audio time for the embedded voice, per sentence, after a warm-up. */
export async function ttsRealTimeFactor(): Promise<{ rtf: number; audioS: number }> {
  const provider = new EspeakProvider();
  await provider.start();
  let audio = 0, wall = 0;
  for (let round = 0; round < 3; round++) {
    for (const text of LINES) {
      const t0 = performance.now();
      for await (const event of provider.synthesize({ text, language: /[\u4e00-\u9fff]/.test(text) ? 'zh' : 'en', signal: new AbortController().signal })) {
        if (event.type === 'audio' && round > 0) audio += event.samples.length;
      }
      if (round > 0) wall += performance.now() - t0;
    }
  }
  await provider.close();
  const audioS = audio / provider.sampleRateHz;
  return { rtf: wall / 1000 / audioS, audioS };
}

/** CPU the speaker's per-tick work takes for each second of speech played. */
export async function lipSyncCpu(): Promise<{ msPerSpeechS: number; speechS: number }> {
  const provider = new EspeakProvider();
  const speaker = new Speaker(provider, 48000, () => {});
  await speaker.warm();
  speaker.say(LINES.join(''));
  // Let synthesis get ahead, so what is timed is the tick's work only.
  await sleep(500);
  // next() is synchronous, so its wall time is its CPU time (process.cpuUsage is too coarse per call).
  let busyMs = 0, speechFrames = 0;
  for (let tick = 0; tick < 30 * 60; tick++) {
    const t0 = performance.now();
    const t = speaker.next(1600);
    busyMs += performance.now() - t0;
    if (t.mouthWeight > 0) speechFrames++;
    if (!t.speaking) break;
    if (tick % 30 === 0) await sleep(1);
  }
  await speaker.close();
  await provider.close();
  const speechS = speechFrames / 30;
  return { msPerSpeechS: busyMs / speechS, speechS };
}

