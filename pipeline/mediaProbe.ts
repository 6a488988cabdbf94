import { spawn } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** ffprobe beside the configured ffmpeg (Debian installs both in /usr/bin). */
export function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.includes('/') ? join(dirname(ffmpegPath), basename(ffmpegPath).replace(/ffmpeg/, 'ffprobe')) : ffmpegPath.replace(/ffmpeg/, 'ffprobe');
}

/** What ffprobe says a playable video is. */
export interface VideoProbe {
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
}

/** The file is not a video that can be played; the message says why, in words for the operator. */
export class VideoProbeError extends Error {
  override readonly name = 'VideoProbeError';
}

/** A probe reads headers only: a healthy file answers in well under a second, a hung one is killed. */
export const VIDEO_PROBE_TIMEOUT_MS = 10_000;
/** Probes run beside the live loop: below its priority, so a burst of them never delays a tick. */
const PROBE_NICENESS = 10;
/** Shorter than this, ffmpeg's -stream_loop restarts the file faster than it plays. */
const MIN_LOOP_SECONDS = 0.2;

/**
 * ffprobe's word on a video file: its picture size and length, or a VideoProbeError saying why it cannot
 * be played. An asynchronous, niced child with a time limit, so the tick never waits for it.
 */
export async function probeVideoFile(ffprobePath: string, file: string, timeoutMs = VIDEO_PROBE_TIMEOUT_MS): Promise<VideoProbe> {
  // `file` is a path the caller checked; '-i' keeps a name starting with '-' from being read as an option.
  const child = spawn(ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:format=duration', '-of', 'json', '-i', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (child.pid !== undefined) {
    try {
      // Never above the caller's own priority (the upload checker runs at the lowest).
      setPriority(child.pid, Math.max(PROBE_NICENESS, getPriority()));
    } catch {
      // Already gone: its exit is handled below.
    }
  }
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    if (out.length < 64 * 1024) out += c.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  let spawnError: Error | null = null;
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.on('error', (err) => {
      spawnError = err;
      resolve(null);
    });
  });
  clearTimeout(timer);
  // Not the file's fault: a server problem, not an answer about the file.
  if (spawnError) throw new Error(`ffprobe (${ffprobePath}) cannot be started: ${(spawnError as Error).message}`);
  if (timedOut) throw new VideoProbeError(`reading it took longer than ${Math.round(timeoutMs / 1000)} s`);
  let parsed: { streams?: { width?: number; height?: number }[]; format?: { duration?: string } } = {};
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    // ffprobe printed nothing usable: handled as no picture stream.
  }
  const stream = parsed.streams?.[0];
  if (code !== 0 || !stream?.width || !stream.height) throw new VideoProbeError('it is not a video (no picture stream ffmpeg can decode)');
  const durationS = Number(parsed.format?.duration);
  if (!(durationS > MIN_LOOP_SECONDS)) throw new VideoProbeError(`it is too short to loop (under ${MIN_LOOP_SECONDS} s)`);
  return { width: stream.width, height: stream.height, durationS };
}
