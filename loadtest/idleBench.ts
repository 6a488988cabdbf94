/**
 * What a user runs, measured: the server as `npm start` starts it (default config, embedded RTMP server,
 * the embedded destination's muxer, WebRTC rendition into the SFU), idling, with the CPU of the whole
 * process tree split by role. Beside it, the reference: one bare ffmpeg making the same outputs (the same
 * encoder arguments) from the channel's own pictures read back from its stream, in real time. The ratio
 * of the two is what the avatar, the tick and the fan-out cost on top of encoding.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTPUT_PRESETS, type PresetName } from '../config/presets.js';
import { channelSchema } from '../config/schema.js';
import { Channel } from '../pipeline/channel.js';
import { encoderOutputArgs, type RtpTarget } from '../pipeline/output/encoder.js';
import { commandLine, cpuSeconds } from './viewers/procStats.js';
import { CpuWindow, serverRoles } from './viewers/cpuWindow.js';
import { ownServer } from './viewers/target.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A channel converts each sprite the first time idle motion shows it (head turns, mouth shapes), which
 * goes on for its first minutes; rooms run for hours, so the steady state is what is measured: the
 * warm-up lasts until converting costs under 1 ms a second of the tick, at least a minute and at most
 * seven. The first minute's cost is printed beside it.
 */
export const IDLE_MIN_WARMUP_S = 60;
export const IDLE_MAX_WARMUP_S = 420;
const STEADY_CONVERT_MS_PER_S = 1;
const STEADY_CHECK_S = 15;
export const IDLE_MEASURE_S = 30;

export interface IdleCost {
  /** Cores (CPU seconds per second) of the server and all its children. */
  readonly total: number;
  /** Seconds of warm-up until the steady state, and node's cores over the first minute. */
  readonly warmupS: number;
  readonly nodeFirstMinute: number;
  readonly node: number;
  readonly encoder: number;
  readonly muxers: number;
  readonly sfu: number;
  readonly other: number;
  readonly fpsOut: number;
  readonly repeated: number;
  /** The channel's pictures over a few seconds, raw I420, for the reference encode. */
  readonly framesFile: string;
}

interface ChannelCounters {
  readonly framesRendered: number;
  readonly framesRepeated: number;
}

/** Milliseconds the channel has spent converting sprites so far (on its tick and in its sprite worker), from its metrics. */
async function convertMs(api: (path: string) => Promise<Response>): Promise<number> {
  const text = await (await api('/metrics')).text();
  const onTick = /^fenshen_stage_duration_seconds_sum\{channel="main",stage="convert"\} (\S+)$/m.exec(text);
  const offTick = /^fenshen_sprite_worker_seconds_total\{channel="main"\} (\S+)$/m.exec(text);
  return (Number(onTick?.[1] ?? 0) + Number(offTick?.[1] ?? 0)) * 1000;
}

/** Starts the server on free ports with `preset`, waits for its steady state, then measures `seconds` of idling. */
export async function serverIdleCost(preset: PresetName, seconds: number, workDir: string): Promise<IdleCost> {
  const configFile = join(workDir, `config-${preset}.json`);
  writeFileSync(configFile, JSON.stringify({ channel: { preset } }));
  let stop: () => Promise<void> = async () => {};
  const server = await ownServer('main', { FENSHEN_CONFIG: configFile }, (s) => {
    stop = s;
  });
  try {
    const pid = server.serverPid as number;
    const startedMs = performance.now();
    const firstMinute = new CpuWindow({ node: [pid] });
    await sleep(IDLE_MIN_WARMUP_S * 1000);
    const nodeFirstMinute = firstMinute.cores().node ?? 0;
    let converted = await convertMs(server.api);
    while ((performance.now() - startedMs) / 1000 < IDLE_MAX_WARMUP_S) {
      await sleep(STEADY_CHECK_S * 1000);
      const now = await convertMs(server.api);
      const perS = (now - converted) / STEADY_CHECK_S;
      converted = now;
      if (perS < STEADY_CONVERT_MS_PER_S) break;
    }
    const warmupS = (performance.now() - startedMs) / 1000;
    const roles = serverRoles(pid);
    // The encoder reads raw pictures on stdin; the muxers copy its FLV to their servers.
    const encoder = roles.ffmpeg.filter((p) => commandLine(p).includes('rawvideo'));
    const muxers = roles.ffmpeg.filter((p) => !encoder.includes(p));
    const counters = async () => (await (await server.api('/api/channels/main')).json()) as ChannelCounters;
    const before = await counters();
    const window = new CpuWindow({ node: roles.node, encoder, muxers, sfu: roles.worker, other: roles.other });
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cores = window.cores();
    const wallS = (performance.now() - t0) / 1000;
    const after = await counters();
    const frames = after.framesRendered + after.framesRepeated - (before.framesRendered + before.framesRepeated);
    const framesFile = join(workDir, `frames-${preset}.yuv`);
    recordPictures(server.process.rtmpBase, preset, framesFile);
    const sum = (k: readonly string[]) => k.reduce((s, name) => s + (cores[name] ?? 0), 0);
    return {
      total: sum(['node', 'encoder', 'muxers', 'sfu', 'other']),
      warmupS,
      nodeFirstMinute,
      node: cores.node ?? 0,
      encoder: cores.encoder ?? 0,
      muxers: cores.muxers ?? 0,
      sfu: cores.sfu ?? 0,
      other: cores.other ?? 0,
      fpsOut: frames / wallS,
      repeated: after.framesRepeated - before.framesRepeated,
      framesFile,
    };
  } finally {
    await stop();
  }
}

/** Four seconds of the channel's picture, decoded from its RTMP stream to raw I420. */
function recordPictures(rtmpBase: string, preset: PresetName, file: string): void {
  const p = OUTPUT_PRESETS[preset];
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', `${rtmpBase}/main`, '-frames:v', String(4 * p.fps), '-an', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${p.width}x${p.height}`, file], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0 || statSync(file, { throwIfNoEntry: false })?.size !== 4 * p.fps * p.width * p.height * 1.5) {
    throw new Error(`recording the channel's pictures failed: ${run.error?.message ?? run.stderr}`);
  }
}

/** A local UDP port that takes RTP (or RTCP) and drops it, as the SFU's plain transport would take it. */
async function sink(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('message', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** What the bare encode reads: the channel's recorded pictures, or ffmpeg's test pattern (how the issue first measured it). */
export type BareInput = { readonly framesFile: string } | { readonly pattern: 'testsrc' };

/** ffmpeg's input arguments for `input` at the preset's size and rate, paced in real time. */
function bareInputArgs(preset: PresetName, input: BareInput): string[] {
  const p = OUTPUT_PRESETS[preset];
  if ('pattern' in input) return ['-re', '-f', 'lavfi', '-i', `${input.pattern}=s=${p.width}x${p.height}:r=${p.fps}`];
  return ['-re', '-stream_loop', '-1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${p.width}x${p.height}`, '-framerate', String(p.fps), '-i', input.framesFile];
}

/** Cores an ffmpeg with `args` uses over `seconds` after `warmupS`. */
async function ffmpegCores(args: readonly string[], warmupS: number, seconds: number): Promise<number> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  try {
    await sleep(warmupS * 1000);
    const pid = child.pid as number;
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = cpuSeconds(pid);
    if (c0 === null || c1 === null || child.exitCode !== null) throw new Error(`the bare encode stopped: ${stderr.slice(-400)}`);
    return (c1 - c0) / ((performance.now() - t0) / 1000);
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * The bare encode: the channel's own encoder arguments (FLV + the WebRTC rendition) run by one ffmpeg on
 * `input` and silence, paced in real time. Returns its cores over `seconds` after `warmupS`; for the test
 * pattern, less what drawing the pattern alone costs (the encode is what is compared).
 */
export async function bareEncodeCost(preset: PresetName, input: BareInput, warmupS: number, seconds: number): Promise<number> {
  const config = channelSchema.parse({ preset });
  const sockets = await Promise.all([sink(), sink(), sink(), sink()]);
  const port = (i: number) => (sockets[i] as Socket).address().port;
  const target = (rtp: number, rtcp: number, payloadType: number): RtpTarget => ({ host: '127.0.0.1', port: port(rtp), rtcpPort: port(rtcp), ssrc: 1000 + rtp, payloadType });
  const settings = Channel.encoderSettings(config, OUTPUT_PRESETS[preset], 'ffmpeg', { video: target(0, 1, 101), audio: target(2, 3, 100) });
  try {
    const encode = await ffmpegCores([...bareInputArgs(preset, input), '-re', '-f', 'lavfi', '-i', `anullsrc=r=${settings.sampleRateHz}:cl=stereo`, ...encoderOutputArgs(settings, 0, '/dev/null')], warmupS, seconds);
    if (!('pattern' in input)) return encode;
    return encode - (await ffmpegCores([...bareInputArgs(preset, input), '-f', 'null', '-'], 2, seconds / 2));
  } finally {
    for (const s of sockets) s.close();
  }
}

/** The channel's cost beside its two references: the bare encode of its own pictures and of the test pattern. */
export interface IdleComparison {
  readonly preset: PresetName;
  readonly channel: IdleCost;
  readonly bare: number;
  readonly barePattern: number;
}

/** Both measures for each preset, one after the other (never side by side: they share the cores). */
export async function idleVersusBare(presets: readonly PresetName[], log: (line: string) => void): Promise<IdleComparison[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'fenshen-bench-idle-'));
  try {
    const rows: IdleComparison[] = [];
    for (const preset of presets) {
      log(`${preset}: the server as npm start runs it, idling (warm-up until steady, ${IDLE_MIN_WARMUP_S}-${IDLE_MAX_WARMUP_S} s; ${IDLE_MEASURE_S} s measured)`);
      const channel = await serverIdleCost(preset, IDLE_MEASURE_S, workDir);
      log(`${preset}: the bare encode of the same outputs from the channel's pictures (5 s warm-up, 20 s measured)`);
      const bare = await bareEncodeCost(preset, { framesFile: channel.framesFile }, 5, 20);
      rmSync(channel.framesFile, { force: true });
      log(`${preset}: the bare encode of the same outputs from ffmpeg's test pattern, less the pattern itself (5 s warm-up, 20 s measured)`);
      const barePattern = await bareEncodeCost(preset, { pattern: 'testsrc' }, 5, 20);
      rows.push({ preset, channel, bare, barePattern });
    }
    return rows;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
