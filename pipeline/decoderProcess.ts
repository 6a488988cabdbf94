import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface DecoderProcessOptions {
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  /** Each chunk of decoded output, as it comes. */
  readonly onData: (chunk: Buffer) => void;
  /** Could not start at all (ffmpeg missing). */
  readonly onSpawnError: (err: Error) => void;
  /** The process ended: its exit code, the last line ffmpeg printed, and how long it ran. */
  readonly onExit: (code: number | null, lastLine: string, ranMs: number) => void;
}

export type DecoderChild = ChildProcessByStdio<null, Readable, Readable>;

/**
 * A long-running ffmpeg decoder read through its stdout (background music, background video): spawned with
 * an argument array, its stderr kept short for the one line worth reporting when it ends.
 */
export function spawnDecoder(options: DecoderProcessOptions): DecoderChild {
  const startedAt = Date.now();
  const child = spawn(options.ffmpegPath, [...options.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-400);
  });
  child.stdout.on('data', options.onData);
  child.on('error', options.onSpawnError);
  child.on('close', (code) => options.onExit(code, stderr.trim().split('\n').at(-1) ?? '', Date.now() - startedAt));
  return child;
}
