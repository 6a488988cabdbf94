/** Tracking rows of `npm run bench`: the converted models' inference time per frame on one core. */
import ort from 'onnxruntime-node';
import { loadModel } from '../models/onnxModels.js';

/** Face (mesh + two irises) and body (BlazePose lite) inference per frame on one core, converted ONNX models. */
export async function trackingCost(frames = 50): Promise<{ faceMs: number; irisMs: number; poseMs: number }> {
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

/** A live channel driven by a face clip for `seconds`: tracking rate, inference times, frame → render latency. */
export async function driveLoop(seconds = 10): Promise<{ faceFps: number; faceMs: number; poseFps: number; poseMs: number; latencyMs: number; cpuPerS: number }> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Registry } = await import('prom-client');
  const { channelSchema } = await import('../config/schema.js');
  const { Channel } = await import('../pipeline/channel.js');
  const { PipelineMetrics } = await import('../pipeline/metrics.js');
  const { PROJECT_ROOT } = await import('../pipeline/paths.js');
  const clip = join(mkdtempSync(join(tmpdir(), 'fenshen-drive-')), 'face.mp4');
  const samples = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
  spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', samples, '-t', '6', '-r', '30', '-vf', "crop=160:160:372:0,scale=480:480,rotate='0.26*sin(2*PI*t/3)':fillcolor=black", '-pix_fmt', 'yuv420p', clip]);
  const channel = await Channel.create({ id: 'drive-bench', config: channelSchema.parse({}), ffmpegPath: 'ffmpeg', dataDir: '.', metrics: new PipelineMetrics(new Registry()), embeddedRtmpUrl: null, log: () => {} });
  channel.start();
  await channel.setDrive('file', clip);
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let faceFps = 0, faceMs = 0, poseFps = 0, poseMs = 0, n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const d = channel.status.drive;
    faceFps += d.face.fps;
    faceMs += d.face.ms;
    poseFps += d.pose.fps;
    poseMs += d.pose.ms;
    n++;
  }
  const c = process.cpuUsage(c0);
  const latencyMs = channel.status.drive.face.latencyMs;
  const cpuPerS = (c.user + c.system) / 1e6 / ((performance.now() - t0) / 1000);
  await channel.close();
  return { faceFps: faceFps / n, faceMs: faceMs / n, poseFps: poseFps / n, poseMs: poseMs / n, latencyMs, cpuPerS };
}
