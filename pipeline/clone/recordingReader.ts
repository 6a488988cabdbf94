import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { probeVideoFile, VideoProbeError } from '../mediaProbe.js';
import { trackChild } from '../process/childRegistry.js';
import type { RgbaFrame } from '../drive/faceLandmarks.js';

/** What a recording is, as decoded (a phone's rotation applied). */
export interface RecordingInfo {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly durationS: number;
}

/** Larger recordings are decoded at this long side: more pixels add nothing to a mouth at 1080p output. */
export const MAX_LONG_SIDE = 1920;

/**
 * Reads a recording's picture size, frame rate and length with ffprobe (niced, with a time limit). A
 * phone's portrait video is stored landscape with a rotation: ffmpeg turns it upright when it decodes, so
 * the size reported here is the upright one.
 */
export async function probeRecording(ffprobePath: string, file: string): Promise<RecordingInfo> {
  const video = await probeVideoFile(ffprobePath, file);
  const extra = await runFfprobe(ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=avg_frame_rate,r_frame_rate:stream_side_data=rotation', '-of', 'json', '-i', file]);
  let parsed: { streams?: { avg_frame_rate?: string; r_frame_rate?: string; side_data_list?: { rotation?: number }[] }[] } = {};
  try {
    parsed = JSON.parse(extra) as typeof parsed;
  } catch {
    // Handled below: no rate means the default.
  }
  const stream = parsed.streams?.[0];
  const rate = (text: string | undefined): number => {
    const [n, d] = (text ?? '').split('/').map(Number);
    return n && d ? n / d : 0;
  };
  const fps = rate(stream?.avg_frame_rate) || rate(stream?.r_frame_rate);
  if (!(fps >= 1 && fps <= 240)) throw new VideoProbeError('its frame rate cannot be read');
  const rotation = Math.abs(stream?.side_data_list?.find((s) => s.rotation !== undefined)?.rotation ?? 0) % 180;
  const [w, h] = rotation === 90 ? [video.height, video.width] : [video.width, video.height];
  const scale = Math.min(1, MAX_LONG_SIDE / Math.max(w, h));
  const even = (v: number) => Math.max(2, Math.round((v * scale) / 2) * 2);
  return { width: even(w), height: even(h), fps, durationS: video.durationS };
}

function runFfprobe(ffprobePath: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    trackChild(child);
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * Every frame of a recording, in order, as RGBA at `info`'s size: ffmpeg decodes at the recording's own
 * rate (no frame dropped or repeated beyond what its timestamps say) and the reader pulls, so ffmpeg waits
 * while a frame is being looked at. Breaking out of the loop ends ffmpeg.
 */
export async function* recordingFrames(ffmpegPath: string, file: string, info: RecordingInfo, options: { niceness?: number } = {}): AsyncGenerator<RgbaFrame & { readonly index: number }> {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-an', '-sn',
    '-vf', `scale=${info.width}:${info.height}:flags=area,fps=${info.fps}`, '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1'];
  const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  if (options.niceness) {
    try {
      (await import('node:os')).setPriority(child.pid ?? 0, options.niceness);
    } catch {
      // Not allowed to lower it: it runs at ours.
    }
  }
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4000) stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const frameBytes = info.width * info.height * 4;
  let index = 0;
  try {
    for await (const frame of fixedChunks(child.stdout, frameBytes)) {
      yield { width: info.width, height: info.height, data: frame, index: index++ };
    }
    const code = await exited;
    if (code !== 0) throw new VideoProbeError(`ffmpeg could not decode it: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** A byte stream cut into pieces of exactly `size` bytes (the last, short piece is dropped). */
async function* fixedChunks(stream: Readable, size: number): AsyncGenerator<Uint8Array> {
  let buffer = Buffer.alloc(size);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(size - filled, chunk.length - at);
      chunk.copy(buffer, filled, at, at + take);
      filled += take;
      at += take;
      if (filled === size) {
        yield buffer;
        buffer = Buffer.alloc(size);
        filled = 0;
      }
    }
  }
}
