import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { probeVideoFile, VideoProbeError } from '../mediaProbe.js';
import { SupervisedProcess, type ProcessExit } from '../process/supervisedProcess.js';
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
 * A recording's picture size, frame rate and length (ffprobe, niced, with a time limit). A phone's
 * portrait video is stored landscape with a rotation: ffmpeg turns it upright when it decodes, so the size
 * given here is the upright one.
 */
export async function probeRecording(ffprobePath: string, file: string): Promise<RecordingInfo> {
  const video = await probeVideoFile(ffprobePath, file);
  if (!(video.fps >= 1 && video.fps <= 240)) throw new VideoProbeError('its frame rate cannot be read');
  const [w, h] = Math.abs(video.rotationDeg) % 180 === 90 ? [video.height, video.width] : [video.width, video.height];
  const scale = Math.min(1, MAX_LONG_SIDE / Math.max(w, h));
  const even = (v: number) => Math.max(2, Math.round((v * scale) / 2) * 2);
  return { width: even(w), height: even(h), fps: video.fps, durationS: video.durationS };
}

/**
 * Every frame of a recording, in order, as RGBA at `info`'s size: ffmpeg decodes at the recording's own
 * rate and the reader pulls, so ffmpeg waits while a frame is looked at. Breaking out of the loop ends
 * ffmpeg; a decoder that fails says why.
 */
export async function* recordingFrames(ffmpegPath: string, file: string, info: RecordingInfo): AsyncGenerator<RgbaFrame & { readonly index: number }> {
  const decoder = new SupervisedProcess({
    name: 'recording decoder',
    command: ffmpegPath,
    // '-i' keeps a name starting with '-' from being read as an option.
    launch: () => ({ args: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-an', '-sn',
      '-vf', `scale=${info.width}:${info.height}:flags=area,fps=${info.fps}`, '-pix_fmt', 'rgba', '-f', 'rawvideo', 'pipe:1'] }),
    killGraceMs: 0,
  });
  const spawned = once(decoder, 'spawned') as Promise<[{ stdout: Readable }]>;
  // Every end of a run it was not asked for is an 'exit', a clean one too.
  const exited = once(decoder, 'exit') as Promise<[ProcessExit]>;
  decoder.start();
  const [run] = await spawned;
  const frameBytes = info.width * info.height * 4;
  let index = 0;
  try {
    for await (const frame of fixedChunks(run.stdout, frameBytes)) {
      yield { width: info.width, height: info.height, data: frame, index: index++ };
    }
    const [end] = await exited;
    if (end.code !== 0 || end.startError !== null) throw new VideoProbeError(`ffmpeg could not decode it: ${end.startError ?? (end.lastLine || `exit ${end.code}`)}`);
  } finally {
    await decoder.close();
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
