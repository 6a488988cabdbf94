/**
 * The upload checker process (uploadChecks.ts, UploadChecker): takes check jobs over its IPC channel and
 * answers each. Small and niced, so the children it starts (ffprobe, a picture decode) are cheap to fork
 * and run at its priority. Ends when the server's channel closes (the server stopped or was killed).
 */
import { setPriority } from 'node:os';
import { probeAudioFile, probeVideoFile, VideoProbeError } from '../pipeline/mediaProbe.js';
import { checkImageInChild, CHECK_NICENESS, type AudioCheckAnswer, type CheckJob, type CheckReply, type ImageCheckAnswer, type VideoCheckAnswer } from './uploadChecks.js';

try {
  setPriority(CHECK_NICENESS);
} catch {
  // Not allowed: the server set it already.
}

async function run(job: CheckJob): Promise<ImageCheckAnswer | VideoCheckAnswer | AudioCheckAnswer | { readonly unavailable: string }> {
  try {
    if (job.kind === 'image') return await checkImageInChild(job.file, job.mime);
    if (job.kind === 'audio') return { ok: true, durationS: (await probeAudioFile(job.ffprobePath, job.file)).durationS };
    const { width, height, durationS } = await probeVideoFile(job.ffprobePath, job.file);
    return { ok: true, width, height, durationS };
  } catch (err) {
    if (err instanceof VideoProbeError) return { ok: false, reason: err.message };
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
}

process.on('message', (message: { id: number } & CheckJob) => {
  void run(message).then((result) => {
    const reply: CheckReply = 'unavailable' in result ? { id: message.id, unavailable: result.unavailable } : { id: message.id, answer: result };
    process.send?.(reply);
  });
});
process.on('disconnect', () => process.exit(0));
