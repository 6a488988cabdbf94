/** Tracking rows of `npm run bench`: model inference on one core, the tracker per frame, and a live drive. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { Registry } from 'prom-client';
import { channelSchema } from '../config/schema.js';
import { loadModel } from '../models/onnxModels.js';
import { Channel } from '../pipeline/channel.js';
import { FaceTracker } from '../pipeline/drive/faceTracker.js';
import { PipelineMetrics } from '../pipeline/metrics.js';
import { PROJECT_ROOT } from '../config/paths.js';

const CLIP_SIZE = 480;

/** The bench's face clip: a sample portrait with its shoulders, enlarged, rocking ±15° over 3 s. */
function rockingClip(): string {
  const clip = join(mkdtempSync(join(tmpdir(), 'fenshen-drive-')), 'face.mp4');
  const samples = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
  spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', samples, '-t', '6', '-r', '30', '-vf', `crop=160:160:372:0,scale=${CLIP_SIZE}:${CLIP_SIZE},rotate='0.26*sin(2*PI*t/3)':fillcolor=black`, '-pix_fmt', 'yuv420p', clip]);
  return clip;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** Each model alone on one core (the irises: two runs), ms. */
export async function modelCost(frames = 50): Promise<{ faceMs: number; irisMs: number; poseMs: number }> {
  const timeModel = async (id: string, runsPerFrame: number) => {
    const model = await loadModel(id);
    const input = model.entry.input;
    if (!input) throw new Error(`${id} has no input`);
    const data = new Float32Array(input.shape.reduce((a, b) => a * b, 1)).map((_, i) => (i % 255) / 255);
    const feeds = { [input.name]: new ort.Tensor('float32', data, input.shape) };
    for (let i = 0; i < 5; i++) await model.session.run(feeds);
    const t0 = performance.now();
    for (let i = 0; i < frames * runsPerFrame; i++) await model.session.run(feeds);
    const ms = (performance.now() - t0) / frames;
    await model.session.release();
    return ms;
  };
  return { faceMs: await timeModel('facemesh', 1), irisMs: await timeModel('iris', 2), poseMs: await timeModel('blazepose-lite', 1) };
}

/**
 * The tracker on the clip's decoded frames, as the drive worker runs it: face mesh every frame, then
 * pose, right iris and left iris in turn, crops included. Per-frame total ms.
 */
export async function trackerCost(): Promise<{ meanMs: number; p95Ms: number; maxMs: number; frames: number }> {
  const raw = spawnSync('ffmpeg', ['-v', 'error', '-i', rockingClip(), '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 30 });
  const bytes = CLIP_SIZE * CLIP_SIZE * 4;
  const tracker = await FaceTracker.create();
  const times: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (let at = 0, i = 0; at + bytes <= raw.stdout.length; at += bytes, i++) {
      const frame = { width: CLIP_SIZE, height: CLIP_SIZE, data: raw.stdout.subarray(at, at + bytes) };
      const t0 = performance.now();
      await tracker.track(frame, (round * 180 + i) / 30);
      // The first round warms up (detector, allocations).
      if (round === 1) times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  return { meanMs: times.reduce((a, b) => a + b, 0) / times.length, p95Ms: percentile(times, 0.95), maxMs: times.at(-1) ?? 0, frames: times.length };
}

/** A live channel driven by the face clip for `seconds`: tracking rates, inference times, frame → render latency. */
export async function driveLoop(seconds = 10): Promise<{ faceFps: number; faceMs: number; irisFps: number; irisMs: number; poseFps: number; poseMs: number; latencyMs: number; cpuPerS: number }> {
  const channel = await Channel.create({ id: 'drive-bench', config: channelSchema.parse({}), ffmpegPath: 'ffmpeg', dataDir: '.', metrics: new PipelineMetrics(new Registry()), webrtc: null, log: () => {} });
  channel.start();
  await channel.setDrive('file', rockingClip());
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const sum = { faceFps: 0, faceMs: 0, irisFps: 0, irisMs: 0, poseFps: 0, poseMs: 0 };
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const d = channel.status.drive;
    sum.faceFps += d.face.fps;
    sum.faceMs += d.face.ms;
    sum.irisFps += d.iris.fps;
    sum.irisMs += d.iris.ms;
    sum.poseFps += d.pose.fps;
    sum.poseMs += d.pose.ms;
    n++;
  }
  const c = process.cpuUsage(c0);
  const latencyMs = channel.status.drive.face.latencyMs;
  const cpuPerS = (c.user + c.system) / 1e6 / ((performance.now() - t0) / 1000);
  await channel.close();
  return { faceFps: sum.faceFps / n, faceMs: sum.faceMs / n, irisFps: sum.irisFps / n, irisMs: sum.irisMs / n, poseFps: sum.poseFps / n, poseMs: sum.poseMs / n, latencyMs, cpuPerS };
}
