import { aigcJson, appendXmp, type AigcFields } from '../compliance/aigcLabel.js';
import { spawn } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { rename, rm } from 'node:fs/promises';
import { trackChild } from '../process/childRegistry.js';

/** EBU R128 targets of a finished video: integrated loudness and the true peak not to exceed. */
export const LOUDNESS = { integratedLufs: -16, truePeakDb: -1 } as const;

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** One ffmpeg run to its end: its exit code and stderr (the last 64 kB), killed after `timeoutMs`. */
function runFfmpeg(ffmpegPath: string, args: readonly string[], timeoutMs: number, niceness: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(child);
    if (niceness > 0 && child.pid) {
      try {
        // Below whoever asked (the live rooms come first), never above.
        setPriority(child.pid, Math.max(niceness, getPriority()));
      } catch {
        // Not allowed here: it runs at our priority.
      }
    }
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-64 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ExportError(`ffmpeg cannot be started: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A sample-peak limit under the true-peak target: the limiter's ceiling, with room for the peaks between samples and AAC's. */
const LIMIT_DBFS = -2;
/** The most a quiet video is raised (silence stays silence). */
const MAX_GAIN_DB = 30;

export interface Mp4Options {
  readonly ffmpegPath: string;
  /** The channel's encode: H.264 + 16-bit PCM in FLV. */
  readonly flv: string;
  /** The sound's integrated loudness (measured as it was written: LoudnessMeter). */
  readonly integratedLufs: number;
  readonly mp4: string;
  readonly audioKbps: number;
  readonly audioSampleRateHz: number;
  readonly niceness: number;
  /** MP4 metadata (title, comment, …; other keys are written as mdta keys). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The implicit AI label: an `AIGC` metadata key and TC260's XMP property (GB 45438-2025). */
  readonly aigc?: AigcFields | null;
}

/**
 * The finished file: the picture copied as encoded, the sound brought to LOUDNESS (one gain from its
 * measured loudness, a limiter under the true-peak target for the rare peak the gain lifts too far) and
 * encoded as AAC, in an MP4 with its index at the front (+faststart, so it plays while it
 * downloads). Written beside and renamed, so a failed run never leaves a half-written file under the final name.
 */
export async function finishMp4(options: Mp4Options): Promise<{ gainDb: number }> {
  const gainDb = Number.isFinite(options.integratedLufs) ? Math.min(MAX_GAIN_DB, LOUDNESS.integratedLufs - options.integratedLufs) : 0;
  const partial = `${options.mp4}.part`;
  const tags = { ...options.metadata, ...(options.aigc ? { AIGC: aigcJson(options.aigc) } : {}) };
  const metadata = Object.entries(tags).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]);
  const limit = (10 ** (LIMIT_DBFS / 20)).toFixed(4);
  const run = await runFfmpeg(options.ffmpegPath, ['-loglevel', 'error', '-y', '-i', options.flv, '-map', '0:v', '-map', '0:a', '-c:v', 'copy',
    '-af', `volume=${gainDb.toFixed(2)}dB,alimiter=limit=${limit}:level=false`,
    // The fast coder: half the time of the default at this rate, for speech the same to the ear.
    '-c:a', 'aac', '-aac_coder', 'fast', '-b:a', `${options.audioKbps}k`, '-ar', String(options.audioSampleRateHz), ...metadata, '-movflags', '+faststart+use_metadata_tags', '-f', 'mp4', partial], 300_000, options.niceness);
  if (run.code !== 0) {
    await rm(partial, { force: true });
    throw new ExportError(`writing the MP4 failed: ${run.stderr.trim().split('\n').at(-1) ?? `exit ${run.code}`}`);
  }
  if (options.aigc) await appendXmp(partial, options.aigc);
  await rename(partial, options.mp4);
  return { gainDb };
}
