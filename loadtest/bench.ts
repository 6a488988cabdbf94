/**
 * `npm run bench`: the live loop's cost, printed as tables.
 *  - loop: the server as `npm start` runs it, idling, CPU of the whole process tree by role, against the
 *    bare encode of the same outputs (the ratio); then, in process, ms per frame of the channel's drawing
 *    (only the changed area is redrawn) and colour conversion, and the encoder's top speed;
 *  - scene: what scene choices cost the 720p live loop (in process: tick + encoder);
 *  - webrtc, speech, tracking, clone, video: see their sections (clone: loadtest/cloneBench.ts; video:
 *    loadtest/videoBench.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { OUTPUT_PRESETS, type PresetName } from '../config/presets.js';
import { channelSchema, type ChannelConfig } from '../config/schema.js';
import { IdleAnimator } from '../pipeline/avatar/idle.js';
import { loadAvatar, resolveAvatarDir } from '../pipeline/avatar/loader.js';
import { rasterizeAvatar } from '../pipeline/avatar/raster.js';
import { AvatarRenderer } from '../pipeline/avatar/renderer.js';
import { restPose } from '../pipeline/avatar/rig.js';
import { Channel } from '../pipeline/channel.js';
import { FrameCompositor } from '../pipeline/compose/compositor.js';
import { I420Layout } from '../pipeline/compose/i420.js';
import { PicturePool } from '../pipeline/compose/picturePool.js';
import { PreparedScene } from '../pipeline/compose/scene.js';
import { PipelineMetrics } from '../pipeline/metrics.js';
import { Encoder } from '../pipeline/output/encoder.js';
import { cloneBench } from './cloneBench.js';
import { videoBench } from './videoBench.js';
import { IDLE_MEASURE_S, idleVersusBare } from './idleBench.js';
import { lipSyncCpu, sayToAudible, ttsRealTimeFactor } from './speechBench.js';
import { driveLoop, modelCost, trackerCost } from './trackingBench.js';
import { commandLine, cpuSeconds, descendants } from './viewers/procStats.js';

const childCpuSeconds = (pid: number) => cpuSeconds(pid) ?? 0;

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i] as number)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

const config = channelSchema.parse({ scene: { caption: { text: '新品上市 限时优惠 ¥199.9 — welcome to the live room!' } } });

async function drawCosts(preset: PresetName, frames: number) {
  const p = OUTPUT_PRESETS[preset];
  const scene = await PreparedScene.prepare(config.scene, p.width, p.height, '.');
  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const avatar = new AvatarRenderer(await rasterizeAvatar(definition, (p.height * config.scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]));
  const compositor = new FrameCompositor(p.width, p.height, scene, avatar, Channel.placementFor(config.scene, p));
  const idle = new IdleAnimator(3);
  const pose = restPose();
  const timings = { render: 0, convert: 0, damagedPixels: 0 };
  let damaged = 0, unchanged = 0;
  let render = 0, convert = 0;
  const pictures: Buffer[] = [];
  // Warm the rotation cache as a live channel would be after its first minute.
  for (let i = 0; i < 1800; i += 2) compositor.compose(idle.poseAt(i / 30, pose)).release();
  const misses = avatar.cache.misses;
  for (let i = 0; i < frames; i++) {
    const picture = compositor.compose(idle.poseAt(60 + i / 30, pose), timings);
    render += timings.render;
    convert += timings.convert;
    damaged += timings.damagedPixels;
    if (timings.damagedPixels === 0) unchanged++;
    if (pictures.length < 60) pictures.push(Buffer.from(picture.data));
    picture.release();
  }
  return { render: render / frames, convert: convert / frames, damagedShare: damaged / frames / (p.width * p.height), unchangedShare: unchanged / frames, pictures, cacheMb: (avatar.cache.bytes + compositor.spriteBytes) / 1e6, missRate: (avatar.cache.misses - misses) / frames };
}

async function encodeFps(preset: PresetName, pictures: Buffer[], frames: number) {
  const p = OUTPUT_PRESETS[preset];
  const encoder = new Encoder({ ffmpegPath: 'ffmpeg', width: p.width, height: p.height, fps: p.fps, sampleRateHz: 48000, videoKbps: p.videoKbps, profile: p.profile, audioKbps: p.audioKbps, aacSampleRateHz: p.audioSampleRateHz, gopSeconds: p.gopSeconds, x264Preset: config.encoder.x264Preset, x264Params: config.encoder.x264Params, threads: config.encoder.threads, rtp: null });
  let last = 0;
  encoder.on('stats', (s) => {
    last = s.frames;
  });
  encoder.start();
  const pcm = Buffer.alloc(1600 * 4);
  const pid = encoder.pid ?? 0;
  const pool = new PicturePool(new I420Layout(p.width, p.height));
  const start = performance.now();
  for (let i = 0; i < frames; i++) {
    const picture = pool.acquire();
    picture.data.set(pictures[i % pictures.length] as Buffer);
    encoder.write({ video: { kind: 'video', ptsUs: 0, frameIndex: i, width: p.width, height: p.height, picture, repeated: false }, audio: { kind: 'audio', ptsUs: 0, sampleRateHz: 48000, channels: 2, pcm } });
    picture.release();
    while (encoder.pendingBytes > 4 * picture.data.length) await new Promise((r) => setTimeout(r, 1));
  }
  while (encoder.pendingBytes > 0) await new Promise((r) => setTimeout(r, 5));
  const cpu = childCpuSeconds(pid);
  const seconds = (performance.now() - start) / 1000;
  await encoder.close();
  return { fps: frames / seconds, cpuPerFrameMs: (cpu / Math.max(1, Math.max(last, frames))) * 1000 };
}

async function liveLoop(preset: PresetName, seconds: number, scene: ChannelConfig['scene'] = config.scene) {
  const registry = new Registry();
  const channel = await Channel.create({
    id: `bench-${preset}`,
    config: { ...config, preset, scene },
    ffmpegPath: 'ffmpeg',
    dataDir: '.',
    metrics: new PipelineMetrics(registry),
    webrtc: null,
    log: () => {},
  });
  channel.start();
  await new Promise((r) => setTimeout(r, 10_000)); // start-up (encoder, first rotation-cache fills) is not the steady state
  const pids = descendants(process.pid).filter((pid) => commandLine(pid).includes('ffmpeg'));
  const cpu0 = process.cpuUsage();
  const child0 = pids.reduce((s, pid) => s + childCpuSeconds(pid), 0);
  const s0 = channel.status;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const child = pids.reduce((s, pid) => s + childCpuSeconds(pid), 0) - child0;
  const s1 = channel.status;
  await channel.close();
  const frames = s1.framesRendered + s1.framesRepeated - (s0.framesRendered + s0.framesRepeated);
  return {
    cpuPerS: ((cpu.user + cpu.system) / 1e6 + child) / wall,
    nodePerS: (cpu.user + cpu.system) / 1e6 / wall,
    encoderPerS: child / wall,
    fpsOut: frames / wall,
    repeated: s1.framesRepeated - s0.framesRepeated,
    encoderSpeed: s1.encoder.speed,
  };
}

/**
 * One ffmpeg encode of the rendered pictures (raw I420 on stdin, 30 fps, output discarded): CPU per
 * frame. Compares the WebRTC rendition's codec choices with the RTMP encode on the same frames.
 */
function encoderCpuPerFrameMs(preset: PresetName, pictures: Buffer[], loops: number, codecArgs: string[]): number {
  const p = OUTPUT_PRESETS[preset];
  const raw = join(mkdtempSync(join(tmpdir(), 'fenshen-bench-')), 'frames.yuv');
  writeFileSync(raw, Buffer.concat(pictures));
  const frames = pictures.length * loops;
  // -benchmark makes ffmpeg print its own user and system CPU time at the end (at the info log level).
  const run = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-v', 'info', '-benchmark', '-stream_loop', String(loops - 1), '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${p.width}x${p.height}`, '-framerate', String(p.fps), '-i', raw, ...codecArgs, '-f', 'null', '-'], { encoding: 'utf8' });
  rmSync(dirname(raw), { recursive: true, force: true });
  const report = `${run.stdout}${run.stderr}`;
  const match = /utime=([\d.]+)s stime=([\d.]+)s/.exec(report);
  if (run.status !== 0 || !match) throw new Error(`ffmpeg ${codecArgs.join(' ')}: ${run.error?.message ?? report.slice(-300)}`);
  return ((Number(match[1]) + Number(match[2])) / frames) * 1000;
}

/** `npm run bench -- webrtc tracking` runs only those tables; no argument runs them all. */
const wanted = new Set(process.argv.slice(2));
const runs = (section: 'loop' | 'scene' | 'webrtc' | 'speech' | 'tracking' | 'clone' | 'video') => wanted.size === 0 || wanted.has(section);

if (runs('loop')) {
  // What a user runs (npm start, idling) against the bare encode of the same outputs: the ratio is the
  // price of the avatar, the tick and the fan-out on top of encoding.
  const idle = await idleVersusBare(['portrait-720p', 'portrait-1080p'], (line) => console.error(line));
  const rows: string[][] = [];
  for (const { preset, channel: c, bare, barePattern } of idle) {
    const p = OUTPUT_PRESETS[preset];
    rows.push([
      `${p.width}x${p.height}@${p.fps}`,
      c.total.toFixed(3), c.node.toFixed(3), c.encoder.toFixed(3), c.muxers.toFixed(3), c.sfu.toFixed(3), c.other.toFixed(3),
      bare.toFixed(3), `${(c.total / bare).toFixed(2)}x`, barePattern.toFixed(3), `${(c.total / barePattern).toFixed(2)}x`, c.fpsOut.toFixed(2), String(c.repeated), c.warmupS.toFixed(0), c.nodeFirstMinute.toFixed(3),
    ]);
  }
  console.log(`npm start, idling (xiaomei, default scene, embedded RTMP + its muxer, WebRTC rendition into the SFU), cores over ${IDLE_MEASURE_S} s once steady (sprite conversions under 1 ms/s); ${new Date().toISOString()}`);
  printTable(['preset', 'channel cores', 'node', 'encoder ffmpeg', 'muxer ffmpeg', 'SFU worker', 'other', 'bare encode, same outputs', 'ratio', 'bare encode of testsrc', 'ratio to it', 'fps out', `repeated (${IDLE_MEASURE_S} s)`, 'warm-up s', 'node, first minute'], rows);
  console.log('goal: ratio <= 1.30 (the whole channel within 1.3x of encoding the same outputs). "ratio": against the channel\'s own pictures, encoded bare (the strict reference); "ratio to it": against ffmpeg\'s testsrc pattern, as the goal was first measured (a busier picture, dearer to encode)');

  // Where a frame's time goes inside node, and how fast the encoder could go.
  const frameRows: string[][] = [];
  for (const preset of ['portrait-720p', 'portrait-1080p'] as const) {
    const p = OUTPUT_PRESETS[preset];
    console.error(`${preset}: drawing`);
    const draw = await drawCosts(preset, 300);
    console.error(`${preset}: encoding`);
    const enc = await encodeFps(preset, draw.pictures, 150);
    frameRows.push([
      `${p.width}x${p.height}@${p.fps}`,
      draw.render.toFixed(2), draw.convert.toFixed(2), `${(draw.damagedShare * 100).toFixed(1)}%`, `${(draw.unchangedShare * 100).toFixed(1)}%`, `${draw.cacheMb.toFixed(0)} MB / ${(draw.missRate * 100).toFixed(1)}%`,
      enc.fps.toFixed(1), enc.cpuPerFrameMs.toFixed(1),
    ]);
  }
  console.log('');
  console.log(`x264 preset ${config.encoder.x264Preset} (${config.encoder.x264Params}), avatar xiaomei, caption on, idle motion, in process`);
  printTable(['preset', 'render ms/f', 'convert ms/f', 'redrawn area', 'unchanged frames', 'sprites held / rotations drawn a frame', 'encode fps (max)', 'encode cpu ms/f'], frameRows);
}

if (runs('scene')) {
  // What the operator's scene choices cost the 720x1280 live loop.
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-bench-scene-'));
  const clip = join(dir, 'background.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=720x1280:r=30:d=6', '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`cannot make the bench clip: ${made.stderr}`);
  const card = { name: '保温杯 Thermos', price: '¥59.9', tagline: '24 小时保温' };
  const scenes: [string, ChannelConfig['scene']][] = [
    ['gradient, caption (reference)', config.scene],
    ['+ product card', channelSchema.parse({ scene: { ...config.scene, productCard: card } }).scene],
    ['background video 720x1280, product card', channelSchema.parse({ scene: { ...config.scene, productCard: card, background: { type: 'video', path: clip } } }).scene],
  ];
  console.log('| 720x1280@30 scene | loop cpu s/s | node s/s | ffmpeg s/s (encoder + video decoder) | fps out | repeated (20 s) |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, scene] of scenes) {
    console.error(`scene: ${name}`);
    const live = await liveLoop('portrait-720p', 20, scene);
    console.log(`| ${name} | ${live.cpuPerS.toFixed(2)} | ${live.nodePerS.toFixed(2)} | ${live.encoderPerS.toFixed(2)} | ${live.fpsOut.toFixed(2)} | ${live.repeated} |`);
  }
  rmSync(dir, { recursive: true, force: true });

}

// The WebRTC rendition: what each way of feeding viewers costs on the same rendered frames (720x1280).
if (runs('webrtc')) {
  console.error('webrtc rendition: encoder cost per codec choice');
  const draw = await drawCosts('portrait-720p', 120);
  const loops = 5;
  const x264 = ['-c:v', 'libx264', '-tune', 'zerolatency', '-bf', '0', '-threads', '1'];
  const choices: [string, string[], string][] = [
    ['RTMP encode: x264 superfast, high, 2 s GOP, 2500 kb/s (reference)', [...x264, '-preset', 'superfast', '-profile:v', 'high', '-g', '60', '-b:v', '2500k', '-x264-params', 'subme=0'], ''],
    ['WebRTC, chosen: second x264 encode, ultrafast, constrained baseline, 0.5 s GOP, 1500 kb/s', [...x264, '-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '15', '-b:v', '1500k'], 'any browser; new viewers get a keyframe within 0.5 s'],
    ['WebRTC, alternative: VP8 (libvpx realtime, cpu-used 8), 0.5 s GOP, 1500 kb/s', ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '15', '-b:v', '1500k', '-threads', '1'], 'also wrtc peers; 2.7x the CPU'],
  ];
  console.log('');
  console.log('| WebRTC video rendition (720x1280@30, same frames) | encoder CPU ms/frame | cores at 30 fps | note |');
  console.log('|---|---|---|---|');
  console.log('| reuse the RTMP encode (H.264 RTP copy) | 0 | 0 | 2 s GOP: a new viewer waits up to 2 s for a keyframe; ffmpeg cannot take keyframe requests |');
  for (const [name, args, note] of choices) {
    const ms = encoderCpuPerFrameMs('portrait-720p', draw.pictures, loops, args);
    console.log(`| ${name} | ${ms.toFixed(2)} | ${((ms * 30) / 1000).toFixed(3)} | ${note} |`);
  }
}

if (runs('speech')) {
  console.error('speech: say → audible, TTS real-time factor, lip-sync CPU');
  const latency = await sayToAudible(6);
  const sorted = [...latency.samplesMs].sort((a, b) => a - b);
  const rtf = await ttsRealTimeFactor();
  const lips = await lipSyncCpu();
  console.log('');
  console.log('| speech | value | goal |');
  console.log('|---|---|---|');
  console.log(`| say → first audible sample read back from RTMP (median / max of ${sorted.length}) | ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} / ${sorted.at(-1)?.toFixed(0)} ms | ≤ 400 ms |`);
  console.log(`| eSpeak NG real-time factor (synthesis / audio, ${rtf.audioS.toFixed(1)} s of speech) | ${rtf.rtf.toFixed(4)} | < 1 |`);
  console.log(`| lip sync CPU per second of speech (${lips.speechS.toFixed(1)} s) | ${lips.msPerSpeechS.toFixed(2)} ms | |`);

}

if (runs('tracking')) {
  const models = await modelCost();
  const tracker = await trackerCost();
  console.log('');
  console.log('| tracking (onnxruntime-node, CPU, one thread) | ms | goal |');
  console.log('|---|---|---|');
  console.log(`| face mesh 192x192, one run | ${models.faceMs.toFixed(1)} | |`);
  console.log(`| iris 64x64, both eyes | ${models.irisMs.toFixed(1)} | |`);
  console.log(`| BlazePose lite 256x256 (landmark heads only) | ${models.poseMs.toFixed(1)} | |`);
  console.log(`| tracker per frame: face mesh every frame, then pose / right iris / left iris in turn, crops included (mean / p95 / max of ${tracker.frames}) | ${tracker.meanMs.toFixed(1)} / ${tracker.p95Ms.toFixed(1)} / ${tracker.maxMs.toFixed(1)} | ≤ 20 |`);

  const drive = await driveLoop(10);
  console.log('');
  console.log('| live drive from a face clip (720x1280 channel, 10 s) | value | goal |');
  console.log('|---|---|---|');
  console.log(`| face / iris (one eye) / pose runs per second | ${drive.faceFps.toFixed(1)} / ${drive.irisFps.toFixed(1)} / ${drive.poseFps.toFixed(1)} | |`);
  console.log(`| face (mesh + crop) / iris (one eye) / pose per run | ${drive.faceMs.toFixed(1)} / ${drive.irisMs.toFixed(1)} / ${drive.poseMs.toFixed(1)} ms | |`);
  console.log(`| camera frame → rendered frame latency (smoothed) | ${drive.latencyMs.toFixed(0)} ms | |`);
  console.log(`| node CPU with tracking (render + tracking + tick; ffmpeg decoder/encoder not counted) | ${drive.cpuPerS.toFixed(2)} s/s | |`);
}

if (runs('clone')) await cloneBench(printTable);
if (runs('video')) await videoBench(printTable);
