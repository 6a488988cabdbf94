import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` beside the calling module `callerUrl` (its import.meta.url): its `.ts`
 * file through tsx when the caller runs from sources, its `.js` file from a build.
 */
export function startWorkerThread(callerUrl: string, name: string): Worker {
  if (callerUrl.endsWith('.ts')) {
    const href = JSON.stringify(new URL(`./${name}.ts`, callerUrl).href);
    return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${href}); });`, { eval: true });
  }
  return new Worker(new URL(`./${name}.js`, callerUrl));
}
