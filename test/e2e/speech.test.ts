import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { audioEnvelope, darkPixels, freePort, mouthRegion, listenEvents, onsets, recordAsync, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

const SPEECH_RMS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fenshen: FenshenProcess;
before(async () => {
  fenshen = await startFenshen();
  await fenshen.live();
});
after(async () => {
  await fenshen.stop();
});

async function say(body: Record<string, unknown>, server = fenshen): Promise<string> {
  const res = await server.api('/api/channels/main/say', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { utteranceId: string }).utteranceId;
}

function speechEvent(events: ReturnType<typeof listenEvents>['events'], type: string, utteranceId: string) {
  return events.find((e) => e.type === 'speech' && e.data.type === type && e.data.utteranceId === utteranceId);
}

/** Share of windows in [fromS, toS) whose level is above the speech threshold. */
function voicedShare(env: ReturnType<typeof audioEnvelope>, fromS: number, toS: number): number {
  let voiced = 0, total = 0;
  env.rms.forEach((v, i) => {
    const t = env.startS + i * env.windowS;
    if (t >= fromS && t < toS) {
      total++;
      if (v > SPEECH_RMS) voiced++;
    }
  });
  return total ? voiced / total : 0;
}

test('a Mandarin and an English line are spoken, captioned while spoken, then silence', async () => {
  const file = join(fenshen.dataDir, 'say.flv');
  const listener = listenEvents(`${fenshen.url}/api/channels/main/events`, fenshen.token);
  await listener.ready;
  // Two lines take ~10 s: 17 s leaves room for the reader's first keyframe and silence after them.
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 17, file);
  await sleep(2500);
  const zh = await say({ text: '大家好，欢迎来到直播间！今天的新品只要¥199.9。' });
  const en = await say({ text: 'Welcome to the live room. Everything is on sale today!' });
  await waitFor('both lines spoken', () => speechEvent(listener.events, 'finished', en), 20_000);
  await recording;
  listener.close();
  const startedZh = speechEvent(listener.events, 'started', zh);
  const startedEn = speechEvent(listener.events, 'started', en);
  const finishedEn = speechEvent(listener.events, 'finished', en);
  assert.ok(startedZh && startedEn && finishedEn);
  assert.equal(finishedEn.data.interrupted, false);
  const sentences = listener.events.filter((e) => e.data.type === 'sentence' && e.data.utteranceId === zh).map((e) => e.data.sentence);
  assert.deepEqual(sentences, ['大家好，欢迎来到直播间！', '今天的新品只要¥199.9。'], 'split into sentences, shown as written');

  const env = audioEnvelope(file);
  const first = onsets(env.rms, env.startS, env.windowS, SPEECH_RMS, 1.0)[0];
  assert.ok(first !== undefined, 'speech is audible in the stream');
  // Wall clock of the events → stream time, anchored at the first onset.
  const toStream = (atMs: number) => first + (atMs - startedZh.atMs) / 1000;
  const enStart = toStream(startedEn.atMs), end = toStream(finishedEn.atMs);
  assert.ok(voicedShare(env, first, enStart) > 0.4, `Mandarin speech (${voicedShare(env, first, enStart).toFixed(2)})`);
  assert.ok(voicedShare(env, enStart, end) > 0.4, `English speech (${voicedShare(env, enStart, end).toFixed(2)})`);
  const streamEnd = env.startS + env.rms.length * env.windowS;
  assert.ok(streamEnd - end > 1, `the recording runs on after the speech (${(streamEnd - end).toFixed(2)} s)`);
  assert.equal(voicedShare(env, end + 0.3, streamEnd), 0, 'silence after the last line');

  // The caption band (box and text) looks different while a line is spoken, and the same before and after.
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const band = { x: 100, y: Math.round(preset.height * 0.84) - 10, width: 520, height: 20 };
  const luma = darkPixels(file, band);
  const at = (t: number) => luma.means[Math.round((t - luma.startS) * preset.fps)] as number;
  const [before, during, afterwards] = [at(first - 0.3), at(first + 1), at(end + 0.7)];
  assert.ok(Math.abs(during - afterwards) > 8, `caption shown while speaking (band luma ${during.toFixed(0)} vs ${afterwards.toFixed(0)})`);
  assert.ok(Math.abs(before - afterwards) < 5, `no caption before or after (${before.toFixed(0)} vs ${afterwards.toFixed(0)})`);
});

test('interrupt stops speech within 100 ms and clears the queue', async () => {
  const file = join(fenshen.dataDir, 'interrupt.flv');
  const listener = listenEvents(`${fenshen.url}/api/channels/main/events`, fenshen.token);
  await listener.ready;
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 9, file);
  await sleep(2000);
  const long = await say({ text: 'This is a long line that keeps going on and on about the product, its colours, its price and why you need it now.' });
  const queued = await say({ text: 'This line is queued and must never be heard.' });
  const started = await waitFor('speech started', () => speechEvent(listener.events, 'started', long), 10_000);
  await sleep(1500);
  const res = await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });
  assert.equal(res.status, 200);
  // The channel clock of the request; the stream's timestamps run on the same clock.
  const { mediaMs } = (await res.json()) as { mediaMs: number };
  await recording;
  listener.close();
  assert.equal(speechEvent(listener.events, 'finished', long)?.data.interrupted, true);
  assert.equal(speechEvent(listener.events, 'finished', queued)?.data.interrupted, true);
  assert.equal(speechEvent(listener.events, 'started', queued), undefined, 'the queued line never starts');
  const env = audioEnvelope(file);
  const first = onsets(env.rms, env.startS, env.windowS, SPEECH_RMS, 1.0)[0];
  assert.ok(first !== undefined);
  const requested = first + (mediaMs - Number(started.data.mediaMs)) / 1000;
  let lastVoiced = first;
  env.rms.forEach((v, i) => {
    if (v > SPEECH_RMS) lastVoiced = Math.max(lastVoiced, env.startS + (i + 1) * env.windowS);
  });
  assert.ok(requested - first > 1.2, 'interrupted mid-line');
  assert.ok(lastVoiced - requested <= 0.1, `speech stopped ${((lastVoiced - requested) * 1000).toFixed(0)} ms after the request`);
});


test('mouth and voice stay within 40 ms of each other in the output stream', async () => {
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const rect = await mouthRegion();

  const file = join(fenshen.dataDir, 'sync.flv');
  const res = await fenshen.api('/api/channels/main/playlist', {
    method: 'PUT',
    body: JSON.stringify({ lines: [{ text: '啊，好的。', pauseMs: 700 }, { text: 'Ah, all right.', pauseMs: 700 }, { text: '啊，来了！', pauseMs: 700 }], loop: true }),
  });
  assert.equal(res.status, 200);
  await recordAsync(`${fenshen.rtmpBase}/main`, 10, file);
  await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [] }) });
  await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });

  const env = audioEnvelope(file);
  const voice = onsets(env.rms, env.startS, env.windowS, SPEECH_RMS, 0.4);
  const dark = darkPixels(file, rect);
  const closed = [...dark.counts].sort((a, b) => a - b)[Math.floor(dark.counts.length * 0.2)] as number;
  const lips = onsets(dark.counts, dark.startS, 1 / preset.fps, Math.max(closed * 4, 300), 0.4);
  // The recording's video starts at its first keyframe, up to a GOP after the audio, and an onset in
  // the last half second may lose its mouth to the end: judge onsets with video around them.
  const videoEnd = dark.startS + dark.counts.length / preset.fps;
  const judged = voice.filter((t) => t > dark.startS + 0.5 && t < videoEnd - 0.5);
  assert.ok(judged.length >= 3, `speech onsets found: ${judged.length}`);
  const offsets = judged.map((t) => {
    const nearest = lips.reduce((best, v) => (Math.abs(v - t) < Math.abs(best - t) ? v : best), Number.POSITIVE_INFINITY);
    return (nearest - t) * 1000;
  });
  for (const offset of offsets) assert.ok(Math.abs(offset) <= 40, `mouth-to-voice offsets (ms): ${offsets.map((o) => o.toFixed(0)).join(', ')}`);
});

test('a playlist loops with its pauses', async () => {
  const listener = listenEvents(`${fenshen.url}/api/channels/main/events`, fenshen.token);
  await listener.ready;
  const res = await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [{ text: '第一句。', pauseMs: 300 }, { text: 'Line two.', pauseMs: 300 }], loop: true }) });
  assert.equal(res.status, 200);
  const starts = () => listener.events.filter((e) => e.data.type === 'started').map((e) => e.data.text);
  await waitFor('the playlist came round again', () => (starts().length >= 4 ? true : undefined), 20_000);
  assert.deepEqual(starts().slice(0, 4), ['第一句。', 'Line two.', '第一句。', 'Line two.']);
  await fenshen.api('/api/channels/main/playlist', { method: 'PUT', body: JSON.stringify({ lines: [] }) });
  await fenshen.api('/api/channels/main/interrupt', { method: 'POST' });
  listener.close();
});

test('bad speech input gets a clear error and the stream goes on', async () => {
  const post = (body: string) => fenshen.api('/api/channels/main/say', { method: 'POST', body });
  const empty = await post(JSON.stringify({ text: '   ' }));
  assert.equal(empty.status, 400);
  assert.match(((await empty.json()) as { error: string }).error, /empty/);
  const emoji = await post(JSON.stringify({ text: '😀🎉' }));
  assert.equal(emoji.status, 400);
  assert.match(((await emoji.json()) as { error: string }).error, /nothing that can be spoken/);
  // 10 MB of text: refused with 413 from its declared length, before the upload is read (we send the
  // first 64 KB and wait for the answer instead of pushing megabytes into a closing connection).
  const huge = Buffer.from(JSON.stringify({ text: '好'.repeat(10 * 1024 * 1024) }));
  const hugeStatus = await new Promise<number>((resolve, reject) => {
    const req = request(`${fenshen.url}/api/channels/main/say`, { method: 'POST', headers: { authorization: `Bearer ${fenshen.token}`, 'content-type': 'application/json', 'content-length': huge.length } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', (err) => setTimeout(() => reject(err), 2000).unref());
    req.write(huge.subarray(0, 65536));
  });
  assert.equal(hugeStatus, 413);
  const long = await post(JSON.stringify({ text: '好'.repeat(6000) }));
  assert.equal(long.status, 400);
  assert.match(((await long.json()) as { error: string }).error, /limit is 5000/);
  const junk = await post('{"text": ');
  assert.equal(junk.status, 400);
  const badVoice = await post(JSON.stringify({ text: 'hi', voice: '../../etc' }));
  assert.equal(badVoice.status, 400);
  const status = (await (await fenshen.api('/api/channels/main')).json()) as { state: string };
  assert.equal(status.state, 'live');
});

test('an HTTP voice speaks with an audio-driven mouth; a dead one gives an error and the stream goes on', async () => {
  // A stand-in for a cloud voice: a real HTTP service that answers with a WAV made by espeak-ng.
  const ttsPort = await freePort();
  const requests: Record<string, unknown>[] = [];
  const tts: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as { text: string; language: string };
      requests.push(request);
      const voice = request.language === 'zh' ? 'cmn-latn-pinyin' : 'en-us';
      const child = spawn('espeak-ng', ['-v', voice, '--stdout', request.text]);
      res.writeHead(200, { 'content-type': 'audio/wav' });
      child.stdout.pipe(res);
    });
  });
  await new Promise<void>((r) => tts.listen(ttsPort, '127.0.0.1', r));
  const configFile = join(fenshen.dataDir, 'http-voice.json');
  writeFileSync(configFile, JSON.stringify({ channel: { speech: { provider: 'http', http: { url: `http://127.0.0.1:${ttsPort}/tts`, sampleRateHz: 22050, timeoutMs: 3000 } } } }));
  const server = await startFenshen({ FENSHEN_CONFIG: configFile });
  try {
    await waitFor('live', async () => ((await fetch(`${server.url}/healthz`)).ok ? true : undefined));
    const listener = listenEvents(`${server.url}/api/channels/main/events`, server.token);
    await listener.ready;
    const file = join(server.dataDir, 'http.flv');
    const recording = recordAsync(`${server.rtmpBase}/main`, 7, file);
    await sleep(1500);
    const id = await say({ text: 'Hello from a voice over HTTP.' }, server);
    await waitFor('spoken', () => speechEvent(listener.events, 'finished', id), 15_000);
    await recording;
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.text, 'Hello from a voice over HTTP.');
    const env = audioEnvelope(file);
    assert.ok(onsets(env.rms, env.startS, env.windowS, SPEECH_RMS, 1).length >= 1, 'the HTTP voice is heard');
    // No phonemes here: the mouth follows the audio (gated by Silero VAD) and closes again after.
    const dark = darkPixels(file, await mouthRegion());
    const sorted = [...dark.counts].sort((a, b) => a - b);
    const closed = sorted[Math.floor(sorted.length * 0.2)] as number;
    assert.ok((sorted.at(-1) as number) > Math.max(closed * 4, 300), `the mouth opens (${closed} → ${sorted.at(-1)})`);
    assert.ok((dark.counts.at(-1) as number) < Math.max(closed * 2, 150), 'and is closed at the end');

    // Close the voice service for good: open keep-alive connections would hold close() forever.
    const ttsClosed = new Promise<void>((r) => tts.close(() => r()));
    tts.closeAllConnections();
    await ttsClosed;
    const dead = await say({ text: 'Nobody answers this.' }, server);
    const error = await waitFor('error event', () => listener.events.find((e) => e.data.type === 'error' && e.data.utteranceId === dead), 10_000);
    assert.match(String(error.data.message), /unreachable|did not answer/);
    listener.close();
    const status = (await (await server.api('/api/channels/main')).json()) as { state: string; activity: string };
    assert.equal(status.state, 'live');
    assert.equal(status.activity, 'idle');
  } finally {
    tts.close();
    await server.stop();
  }
});
