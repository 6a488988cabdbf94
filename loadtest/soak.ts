/**
 * `npm run soak -- --minutes 60 [--warmup 900] [--every 5] [--viewers 4] [--clone] [--out FILE]`
 * `npm run soak -- --judge FILE [--warmup S]`: the verdict of a saved run again (another warm-up, say).
 *
 * Runs the whole channel as a night on air would: the server from the sources, a Mandarin + English
 * playlist looping, the embedded RTMP server plus a second one in its own process as destinations, a
 * reader on the RTMP output (as a platform's ingest would read it) and a few WebRTC viewers. Every few
 * seconds it samples the server's RSS, heap, open fds, child processes, event-loop lag, frame drops and
 * A/V offset, then prints a verdict table: growth per hour after warm-up, worst lag, drops, |A/V|.
 * `--clone` first builds a clone (分身) from the webcam clip over the API and puts it on air.
 * Exit code 0 when every goal is met. CI runs `--minutes 2 --warmup 30`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { CLONE_CLIP } from './cloneBench.js';
import { freePort, spawnRtmpServer, waitFor } from '../test/e2e/helpers.js';
import { sampleServer, type ServerSample } from './soak/serverSample.js';
import { StreamWatch, type StreamWindow } from './soak/streamWatch.js';
import { judge, type SoakRecord } from './soak/verdict.js';
import { Crowd } from './viewers/crowd.js';
import { cleanup, installHandlers, onCleanup } from './viewers/lifecycle.js';
import { ownServer } from './viewers/target.js';

const log = (message: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PLAYLIST = [
  { text: '欢迎来到直播间，今天给大家带来一款新品保温杯。', pauseMs: 800 },
  { text: 'This cup keeps your tea hot for twelve hours.', pauseMs: 600 },
  { text: '三百毫升，一只手就能握住，颜色有五种可以选。', pauseMs: 1200 },
  { text: 'Tap the cart below to order, shipping is free today.', pauseMs: 2000 },
  { text: '喜欢的朋友点点关注，我们每天晚上八点不见不散。', pauseMs: 3000 },
];

function parse() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '60' },
      // Measured: the server's RSS climbs for ~15-20 min (glibc's heap reaching its working set), then holds.
      warmup: { type: 'string' },
      every: { type: 'string', default: '5' },
      viewers: { type: 'string', default: '4' },
      out: { type: 'string' },
      judge: { type: 'string' },
      clone: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  return {
    minutes: num('minutes', values.minutes, 0.5),
    warmupS: values.warmup === undefined ? null : num('warmup', values.warmup, 0),
    everyS: num('every', values.every, 1),
    viewers: Math.round(num('viewers', values.viewers, 0)),
    out: values.out ?? null,
    judge: values.judge ?? null,
    clone: values.clone ?? false,
  };
}

async function secondRtmpServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = await spawnRtmpServer(port);
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Builds a clone from the webcam clip over the API (upload, consent, build) and shows it on main. */
async function putCloneOnAir(api: (path: string, init?: RequestInit) => Promise<Response>): Promise<void> {
  log('building a clone from the webcam clip …');
  const uploaded = await api(`/api/uploads?name=${encodeURIComponent(basename(CLONE_CLIP))}`, { method: 'POST', body: readFileSync(CLONE_CLIP), headers: { 'content-type': 'application/octet-stream' } });
  if (uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
  const { id: upload } = (await uploaded.json()) as { id: string };
  const created = await api('/api/avatars', { method: 'POST', body: JSON.stringify({ kind: 'clone', name: 'soak', upload, consent: { person: 'Audun Mathias Øygard' } }) });
  if (created.status !== 202) throw new Error(`clone: ${created.status} ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const state = await waitFor('the clone built', async () => {
    const answer = (await (await api(`/api/avatars/${id}`)).json()) as { state: string; error?: string };
    return answer.state === 'building' ? undefined : answer;
  }, 300_000);
  if (state.state !== 'ready') throw new Error(`clone build failed: ${state.error ?? state.state}`);
  const shown = await api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify({ avatar: { id } }) });
  if (!shown.ok) throw new Error(`showing the clone: ${shown.status} ${await shown.text()}`);
  log(`clone ${id} on air`);
}

/** The default warm-up: 15 min, or a quarter of a short run. */
const defaultWarmupS = (minutes: number) => Math.min(900, minutes * 15);

/** Prints the verdict of a saved run (`--out`), with its own warm-up or the one given. */
function judgeSaved(file: string, warmupS: number | null): number {
  const record = JSON.parse(readFileSync(file, 'utf8')) as SoakRecord;
  const verdict = judge({ ...record, warmupS: warmupS ?? record.warmupS });
  process.stdout.write(`${verdict.table}\n`);
  return verdict.pass ? 0 : 1;
}

async function main(): Promise<number> {
  const parsed = parse();
  if (parsed.judge) return judgeSaved(parsed.judge, parsed.warmupS);
  const args = { ...parsed, warmupS: parsed.warmupS ?? defaultWarmupS(parsed.minutes) };
  installHandlers(log);
  const second = await secondRtmpServer();
  onCleanup(second.stop);
  log('starting the server from the sources …');
  const target = await ownServer('main', { FENSHEN_LOG_LEVEL: 'warn' }, onCleanup);
  const server = target.process;
  const pid = server.child.pid as number;
  const put = async (path: string, method: string, body: unknown) => {
    const res = await target.api(path, { method, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  if (args.clone) await putCloneOnAir(target.api);
  await put('/api/channels/main/playlist', 'PUT', { lines: PLAYLIST, loop: true });
  await put('/api/channels/main/destinations', 'POST', { id: 'second', url: `rtmp://127.0.0.1:${second.port}/live/soak-key`, preset: 'douyin-720p' });
  await waitFor('both destinations live', async () => {
    const { destinations } = (await (await target.api('/api/channels/main/destinations')).json()) as { destinations: { state: string }[] };
    return destinations.length === 2 && destinations.every((d) => d.state === 'live') ? true : undefined;
  }, 60_000);

  const watch = new StreamWatch(`${server.rtmpBase}/main`, 30);
  watch.start();
  onCleanup(async () => watch.close());
  let crowd: Crowd | null = null;
  if (args.viewers > 0) {
    crowd = new Crowd();
    onCleanup(() => (crowd as Crowd).close());
    await crowd.join(target.wsUrl, 'main', args.viewers, 5, () => undefined).catch((err: Error) => log(`viewers: ${err.message}`));
    log(`${crowd.live().length}/${args.viewers} WebRTC viewers receive video`);
  }

  const started = Date.now();
  const samples: ServerSample[] = [];
  const windows: (StreamWindow & { atS: number })[] = [];
  let viewersAtWarmup: Map<unknown, number> | null = null;
  let warmupAtS = 0;
  const endAt = started + args.minutes * 60_000;
  log(`soaking ${args.minutes} min (warm-up ${args.warmupS} s), a sample every ${args.everyS} s`);
  watch.takeWindow();
  while (Date.now() < endAt) {
    await sleep(Math.min(args.everyS * 1000, Math.max(0, endAt - Date.now())));
    if (server.child.exitCode !== null) throw new Error(`the server exited (${server.child.exitCode}): ${server.stderr().slice(-1500)}`);
    const sample = await sampleServer(server.url, pid, 'main', started);
    samples.push(sample);
    windows.push({ ...watch.takeWindow(), atS: sample.atS });
    if (crowd && viewersAtWarmup === null && sample.atS >= args.warmupS) {
      viewersAtWarmup = new Map(crowd.viewers.map((v) => [v, v.snapshot().video.frames]));
      warmupAtS = sample.atS;
    }
    if (samples.length % Math.max(1, Math.round(60 / args.everyS)) === 0) {
      log(`${(sample.atS / 60).toFixed(1)} min: rss ${sample.rssMb} MB (+children ${sample.childrenRssMb}), heap ${sample.heapMb} MB, external ${sample.externalMb} MB, avatar cache ${sample.avatarCacheMb} MB, fds ${sample.fds}, lag ≤ ${sample.lagMaxMs} ms, a/v ${sample.avOffsetMs} ms, dropped ${sample.framesDropped}, fps ${sample.outputFps.toFixed(1)}`);
    }
  }
  const { destinations } = (await (await target.api('/api/channels/main/destinations')).json()) as { destinations: { id: string; state: string }[] };
  const last = samples.at(-1);
  let viewers: SoakRecord['viewers'] = null;
  if (crowd && viewersAtWarmup && last) {
    const span = last.atS - warmupAtS;
    viewers = { count: args.viewers, fps: crowd.viewers.map((v) => (v.snapshot().video.frames - (viewersAtWarmup?.get(v) ?? 0)) / span) };
  }
  const record: SoakRecord = { minutes: args.minutes, warmupS: args.warmupS, samples, windows, readerReconnects: watch.reconnects, viewers, destinationsAtEnd: destinations.map((d) => ({ id: d.id, state: d.state })) };
  if (args.out) writeFileSync(args.out, JSON.stringify(record, null, 1));
  const verdict = judge(record);
  process.stdout.write(`${verdict.table}\n`);
  return verdict.pass ? 0 : 1;
}

main().then(
  async (code) => {
    await cleanup(log);
    process.exit(code);
  },
  async (err: Error) => {
    log(`failed: ${err.message}`);
    await cleanup(log);
    process.exit(2);
  },
);
