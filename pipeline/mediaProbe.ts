import { basename, dirname, join } from 'node:path';
import { SupervisedProcess, type ProcessExit } from './process/supervisedProcess.js';

/** ffprobe beside the configured ffmpeg (Debian installs both in /usr/bin). */
export function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.includes('/') ? join(dirname(ffmpegPath), basename(ffmpegPath).replace(/ffmpeg/, 'ffprobe')) : ffmpegPath.replace(/ffmpeg/, 'ffprobe');
}

/** What ffprobe says a playable video is. */
export interface VideoProbe {
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
  /** Frames a second (the stream's average rate; 0 when ffprobe gives none). */
  readonly fps: number;
  /** How a phone's video is turned (0, ±90, 180): ffmpeg turns it upright when it decodes. */
  readonly rotationDeg: number;
}

/** The file is not a video that can be played; the message says why, in words for the operator. */
export class VideoProbeError extends Error {
  override readonly name = 'VideoProbeError';
}

/** A probe reads headers only: a healthy file answers in well under a second, a hung one is killed. */
export const VIDEO_PROBE_TIMEOUT_MS = 10_000;
/** Probes run beside the live loop: below its priority, so a burst of them never delays a tick. */
const PROBE_NICENESS = 10;
/** How often a running probe's time limit is checked. */
const PROBE_CHECK_MS = 100;
/** Shorter than this, ffmpeg's -stream_loop restarts the file faster than it plays. */
const MIN_LOOP_SECONDS = 0.2;

/** ffprobe's JSON about `file` (the entries asked), or a VideoProbeError when it takes too long. */
async function runProbe(ffprobePath: string, file: string, entries: readonly string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const probe = new SupervisedProcess({
    name: `ffprobe (${ffprobePath})`,
    command: ffprobePath,
    // `file` is a path the caller checked; '-i' keeps a name starting with '-' from being read as an option.
    launch: () => ({ args: ['-v', 'error', ...entries, '-of', 'json', '-i', file] }),
    // Never above the caller's own priority (the upload checker runs at the lowest).
    niceness: PROBE_NICENESS,
    watchdog: { intervalMs: Math.min(PROBE_CHECK_MS, timeoutMs), check: (_silentMs, ranMs) => (ranMs >= timeoutMs ? 'timed out' : null) },
    killGraceMs: 0,
  });
  let out = '';
  probe.on('spawned', (run) => run.stdout.on('data', (c: Buffer) => {
    if (out.length < 64 * 1024) out += c.toString();
  }));
  const ended = new Promise<ProcessExit>((resolve) => probe.once('exit', resolve));
  probe.start();
  const exit = await ended;
  await probe.close();
  // Not the file's fault: a server problem, not an answer about the file.
  if (exit.startError !== null) throw new Error(exit.startError);
  if (exit.killedFor !== null) throw new VideoProbeError(`reading it took longer than ${Math.round(timeoutMs / 1000)} s`);
  return { code: exit.code, out };
}

function parseJson<T>(text: string): Partial<T> {
  try {
    return JSON.parse(text) as Partial<T>;
  } catch {
    // ffprobe printed nothing usable: handled as no stream.
    return {};
  }
}

/** What ffprobe says a playable sound file is. */
export interface AudioProbe {
  readonly durationS: number;
  readonly sampleRateHz: number;
  readonly channels: number;
}

/** ffprobe's word on a sound file (music): its length and format, or a VideoProbeError saying why it cannot be played. */
export async function probeAudioFile(ffprobePath: string, file: string, timeoutMs = VIDEO_PROBE_TIMEOUT_MS): Promise<AudioProbe> {
  const { code, out } = await runProbe(ffprobePath, file, ['-select_streams', 'a:0', '-show_entries', 'stream=sample_rate,channels:format=duration'], timeoutMs);
  const parsed = parseJson<{ streams: { sample_rate?: string; channels?: number }[]; format: { duration?: string } }>(out);
  const stream = parsed.streams?.[0];
  const sampleRateHz = Number(stream?.sample_rate);
  if (code !== 0 || !stream || !(sampleRateHz > 0) || !stream.channels) throw new VideoProbeError('it has no sound ffmpeg can decode');
  const durationS = Number(parsed.format?.duration);
  if (!(durationS >= 1)) throw new VideoProbeError('it is too short to loop as music (under 1 s)');
  return { durationS, sampleRateHz, channels: stream.channels };
}

/**
 * ffprobe's word on a video file: its picture size and length, or a VideoProbeError saying why it cannot
 * be played. An asynchronous, niced child with a time limit, so the tick never waits for it.
 */
export async function probeVideoFile(ffprobePath: string, file: string, timeoutMs = VIDEO_PROBE_TIMEOUT_MS): Promise<VideoProbe> {
  const { code, out } = await runProbe(ffprobePath, file, ['-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate:stream_side_data=rotation:format=duration'], timeoutMs);
  const parsed = parseJson<{ streams: { width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string; side_data_list?: { rotation?: number }[] }[]; format: { duration?: string } }>(out);
  const stream = parsed.streams?.[0];
  if (code !== 0 || !stream?.width || !stream.height) throw new VideoProbeError('it is not a video (no picture stream ffmpeg can decode)');
  const durationS = Number(parsed.format?.duration);
  if (!(durationS > MIN_LOOP_SECONDS)) throw new VideoProbeError(`it is too short to loop (under ${MIN_LOOP_SECONDS} s)`);
  const rate = (text: string | undefined): number => {
    const [n, d] = (text ?? '').split('/').map(Number);
    return n && d ? n / d : 0;
  };
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate);
  const rotationDeg = stream.side_data_list?.find((side) => side.rotation !== undefined)?.rotation ?? 0;
  return { width: stream.width, height: stream.height, durationS, fps, rotationDeg };
}
