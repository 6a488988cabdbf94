/**
 * The video renderer process (server/videoJobs.ts starts it with the server, before any channel): renders
 * short videos one at a time as jobs come over IPC, at the lowest priority (its channel's encoder and voice
 * inherit it), so a render never takes a tick from a live room and a crash in it ends only it. Ends when
 * the server's channel closes.
 */
import { setPriority } from 'node:os';
import { RENDER_NICENESS, type VideoRenderJob, type VideoRenderReply, type VideoRenderWarm } from './videoRenderJob.js';

try {
  setPriority(RENDER_NICENESS);
} catch {
  // Not allowed: the server set it already.
}

const send = (reply: VideoRenderReply): void => {
  if (process.connected) process.send?.(reply);
};

/** Seconds after start before the renderer warms the default avatar (the server and its live rooms start first). */
const WARM_AFTER_MS = 20_000;

let queue = Promise.resolve();
let jobsSeen = 0;
process.on('message', (message: VideoRenderJob | VideoRenderWarm) => {
  if ('kind' in message) {
    // The first video of the default avatar then renders as fast as later ones; a job that comes stops it.
    const timer = setTimeout(() => {
      if (jobsSeen > 0) return;
      queue = queue.then(() => import('../pipeline/export/videoRender.js').then(({ warmDrawings }) => warmDrawings({ dataDir: message.dataDir, ffmpegPath: message.ffmpegPath, stopped: () => jobsSeen > 0 })).then(() => undefined, () => undefined));
    }, WARM_AFTER_MS);
    timer.unref();
    return;
  }
  const job = message;
  jobsSeen++;
  // The pipeline is loaded with the first job, not at start: the renderer starts with the server, and a
  // second whole pipeline loading then (even niced) lengthened the live channel's start-up.
  queue = queue.then(() =>
    import('../pipeline/export/videoRender.js').then(({ renderVideo }) => renderVideo(job.spec, { ffmpegPath: job.ffmpegPath, dataDir: job.dataDir, dir: job.dir, niceness: RENDER_NICENESS, onProgress: (progress, stage) => send({ id: job.id, kind: 'progress', progress, stage }) })
      .then((video) => send({ id: job.id, kind: 'done', durationS: video.durationS, renderS: video.renderS })))
      .catch((err: unknown) => send({ id: job.id, kind: 'failed', error: err instanceof Error ? err.message : String(err) })),
  );
});
process.on('disconnect', () => process.exit(0));
