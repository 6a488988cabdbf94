/**
 * The clone builder process (server/cloneJobs.ts starts it with the server, before any channel, so its
 * one fork of the server happens while nothing is live): builds clones one at a time as jobs come over
 * IPC, at the lowest priority with the models on one thread, so a build never takes a tick from a channel
 * and a crash in it ends only it. Ends when the server's channel closes.
 */
import { setPriority } from 'node:os';
import { buildClone, CloneBuildError } from '../pipeline/clone/cloneBuild.js';
import { BUILD_NICENESS, type CloneBuildJob, type CloneBuildReply } from './cloneJobs.js';

try {
  setPriority(BUILD_NICENESS);
} catch {
  // Not allowed: the server set it already.
}

const send = (reply: CloneBuildReply): void => {
  if (process.connected) process.send?.(reply);
};

let queue = Promise.resolve();
process.on('message', (job: CloneBuildJob) => {
  queue = queue.then(() =>
    buildClone({ ...job.request, onProgress: (progress, stage) => send({ id: job.id, kind: 'progress', progress, stage }) })
      .then(() => send({ id: job.id, kind: 'done' }))
      .catch((err: unknown) => send({ id: job.id, kind: 'failed', error: err instanceof Error ? err.message : String(err), report: err instanceof CloneBuildError ? err.report : null })),
  );
});
process.on('disconnect', () => process.exit(0));
