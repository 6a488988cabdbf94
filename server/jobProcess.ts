/**
 * A helper process for long jobs (clone builds, short-video renders): a node script under server/, run at
 * `niceness` from its first instruction (its imports would otherwise load at the live channels' priority),
 * talking over IPC, with the tail of its stderr kept for the log line when it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { trackChild } from '../pipeline/process/childRegistry.js';
import { childEnv, nodeScriptArgs } from './uploadChecks.js';

export interface JobProcessHandlers<Reply> {
  message(reply: Reply): void;
  /** It could not start at all. */
  error(err: Error): void;
  /** It ended: `why` ("exit 1", "killed by SIGKILL") and the last lines it printed. */
  exit(why: string, stderrTail: string): void;
}

export function spawnJobProcess<Reply>(script: string, niceness: number, handlers: JobProcessHandlers<Reply>): ChildProcess {
  const child = spawn(process.execPath, [...nodeScriptArgs(script)], { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  trackChild(child);
  try {
    if (child.pid !== undefined) setPriority(child.pid, niceness);
  } catch {
    // Not allowed: the child lowers itself when it can.
  }
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  child.on('message', (reply: Reply) => handlers.message(reply));
  child.on('error', (err) => handlers.error(err));
  child.on('exit', (code, signal) => handlers.exit(signal ? `killed by ${signal}` : `exit ${code}`, stderr.trim().split('\n').slice(-3).join(' | ')));
  return child;
}

/** Kills a job process (SIGKILL: a job cannot be stopped halfway) and resolves once it is gone. */
export async function killJobProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
