import type { ChildProcess } from 'node:child_process';

/**
 * Every child process this process (or this worker thread) has running, so that none outlives it: when it
 * exits, whatever is still alive is killed. Linux's PR_SET_PDEATHSIG is out of reach from Node, so a parent
 * killed outright (SIGKILL) relies on its children ending when their pipes close; every other way out
 * (process.exit, the loop running dry, an uncaught exception) passes through 'exit'.
 */
const live = new Set<ChildProcess>();
let hooked = false;

function killLiveChildren(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Gone already.
    }
  }
  live.clear();
}

/** Registers a spawned child until it exits. */
export function trackChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (!hooked) {
    hooked = true;
    process.on('exit', killLiveChildren);
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Children started and not yet exited (for tests and diagnostics). */
export function liveChildCount(): number {
  return live.size;
}
