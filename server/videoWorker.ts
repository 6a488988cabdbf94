/**
 * `npm run worker`: renders short videos from the BullMQ queue on FENSHEN_REDIS_URL, one at a time, at
 * the lowest priority (a worker beside live rooms never takes their CPU). Its FENSHEN_DATA is the server's
 * data folder, shared (the same disk, or NFS/SMB on other machines): a render reads the scene's pictures and
 * clones from it and writes video.mp4 and subtitles.srt into videos/<id>/ (whole files only: each is
 * written as .part and renamed), where the server serves them. Sharing the folder, rather than uploading
 * each result back, is what a render needs anyway: its inputs live there too.
 */
import { Worker, type Job } from 'bullmq';
import { hostname, setPriority } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { renderVideo, warmDrawings } from '../pipeline/export/videoRender.js';
import { createLogger } from './log.js';
import { RENDER_NICENESS } from './videoRenderJob.js';
import { maskRedisUrl, type VideoQueueData, type VideoQueueProgress, type VideoQueueResult } from './videoQueueJob.js';

/** Progress is sent at most this often (and at each new stage). */
const PROGRESS_EVERY_MS = 500;

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`fenshen worker: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const redisUrl = config.videos.redisUrl;
if (!redisUrl) {
  process.stderr.write('fenshen worker: set FENSHEN_REDIS_URL (the Redis the server queues videos on) and FENSHEN_DATA (its data folder, shared)\n');
  process.exit(2);
}
const { dataDir, ffmpegPath } = config;
const log = createLogger(config.logLevel);
const name = `${hostname()}:${process.pid}`;
try {
  setPriority(RENDER_NICENESS);
} catch {
  // Not allowed here: renders run at the priority given.
}

async function render(job: Job<VideoQueueData, VideoQueueResult>): Promise<VideoQueueResult> {
  const { id, spec } = job.data;
  log.info(`video ${id}: rendering (attempt ${job.attemptsStarted})`);
  let lastSent = 0, lastStage = '';
  const report = (progress: number, stage: string) => {
    const now = performance.now();
    if (stage === lastStage && now - lastSent < PROGRESS_EVERY_MS) return;
    lastSent = now;
    lastStage = stage;
    const data: VideoQueueProgress = { progress, stage, worker: name };
    void job.updateProgress(data as unknown as object).catch(() => {});
  };
  report(0, 'starting');
  const video = await renderVideo(spec, { ffmpegPath, dataDir, dir: join(dataDir, 'videos', id), niceness: RENDER_NICENESS, onProgress: report });
  log.info(`video ${id}: ${video.durationS.toFixed(1)} s made in ${video.renderS.toFixed(1)} s`);
  return { durationS: video.durationS, renderS: video.renderS, worker: name };
}

const lockMs = config.videos.lockS * 1000;
const worker = new Worker<VideoQueueData, VideoQueueResult>(config.videos.queue, render, {
  connection: { url: redisUrl, maxRetriesPerRequest: null },
  concurrency: 1,
  // A worker that dies stops renewing its lock; after lockS another worker's check puts the job back.
  lockDuration: lockMs,
  stalledInterval: lockMs,
  maxStalledCount: 2,
});
worker.on('failed', (job, err) => log.warn(`video ${job?.data.id ?? '?'} failed: ${err.message}`));
worker.on('error', (err) => log.error(`worker: ${err.message}`, 'worker-error'));
await worker.waitUntilReady();
// The default avatar's sprites drawn before the first job (a job that comes stops it): its first video is as fast as later ones.
let jobsSeen = 0;
worker.on('active', () => void jobsSeen++);
void warmDrawings({ dataDir, ffmpegPath, stopped: () => jobsSeen > 0 }).catch(() => undefined);
log.info(`worker ${name} renders videos from "${config.videos.queue}" on ${maskRedisUrl(redisUrl)} into ${dataDir}`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  log.info(`${signal}: finishing the render in hand, then stopping (again to stop now)`);
  worker.close().then(
    () => (log.flushRepeats(), process.exit(0)),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
