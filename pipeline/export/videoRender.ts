import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { OUTPUT_PRESETS, type PresetName } from '../../config/presets.js';
import { channelSchema, type AvatarChoice, type SceneConfig } from '../../config/schema.js';
import { LoudnessMeter } from '../audio/loudnessMeter.js';
import { IdleAnimator } from '../avatar/idle.js';
import { clampPose, restPose } from '../avatar/rig.js';
import { Channel, type SpeechEvent } from '../channel.js';
import { loadChannelAvatar, placementFor } from '../channel/assembly.js';
import { VirtualClock } from '../clock.js';
import { aigcFields } from '../compliance/aigcLabel.js';
import { FrameCompositor } from '../compose/compositor.js';
import { DrawingCache } from '../compose/drawingCache.js';
import { PreparedScene } from '../compose/scene.js';
import { PipelineMetrics } from '../metrics.js';
import { FILE_PCM_RATE_HZ } from '../output/encoder.js';
import { flvFileHeader, flvPcmSamples, type FlvTag } from '../output/flvTags.js';
import type { PlaylistLine } from '../speech/speaker.js';
import { ExportError, finishMp4 } from './finishMp4.js';
import { toSrt, type Cue } from './subtitles.js';
import { estimateSpeechS } from './videoScript.js';

/** What a short video shows and says. */
export interface VideoSpec {
  readonly lines: readonly PlaylistLine[];
  readonly preset: PresetName;
  readonly avatar: AvatarChoice;
  readonly scene: SceneConfig;
  /** Burn the spoken sentences into the picture (in the caption's style); the SRT is written either way. */
  readonly subtitles: boolean;
  /** Music under the voice, looped, ducked while it speaks: a sound file in the data folder (relative to it). */
  readonly music?: { readonly file: string; readonly gainDb: number } | undefined;
  /** The host's own recorded motion: a video in the data folder (relative to it) whose face drives the avatar, every frame tracked. */
  readonly drive?: { readonly file: string } | undefined;
  /** The implicit AI label's producer and this video's id there (the MP4's XMP and metadata, and every keyframe's SEI). */
  readonly aigc?: { readonly producer: string; readonly produceId: string } | undefined;
}

export interface VideoRenderOptions {
  readonly ffmpegPath: string;
  /** The data folder: scene files and avatars are read from it. */
  readonly dataDir: string;
  /** Where the video's files go: video.mp4, subtitles.srt (and the encode while it is made). */
  readonly dir: string;
  readonly onProgress?: (progress: number, stage: string) => void;
  /** The finishing ffmpegs' niceness (the render's own follows its process's). */
  readonly niceness?: number;
  /** The render gives up when no frame was made for this long (a decoder or voice that hangs). */
  readonly stallMs?: number;
}

export interface RenderedVideo {
  readonly mp4: string;
  readonly srt: string;
  readonly durationS: number;
  readonly frames: number;
  readonly cues: readonly Cue[];
  /** Wall seconds the render took, and the share of it before the MP4's finishing passes. */
  readonly renderS: number;
}

/** Avatars and sprites this process's renders share (a renderer or worker makes many videos of the same avatars). */
const drawings = new DrawingCache();

export const VIDEO_FILE = 'video.mp4';
export const SUBTITLES_FILE = 'subtitles.srt';
export const ENCODE_FILE = 'encode.flv';

/**
 * A script made into a finished MP4 by the live pipeline itself: a channel on a virtual clock (every frame
 * due at once, each tick waiting for its speech and pictures, so the same spec makes the same frames),
 * playing the lines once as a playlist; its one encode is written to a file, ended a tick after the last
 * line's pause, then the sound normalised and the MP4 finished. Subtitles come from the speech's own
 * sentence events, on the same media clock as the picture.
 */
export async function renderVideo(spec: VideoSpec, options: VideoRenderOptions): Promise<RenderedVideo> {
  const startedMs = performance.now();
  const progress = options.onProgress ?? (() => {});
  await mkdir(options.dir, { recursive: true });
  const flvPath = join(options.dir, ENCODE_FILE);
  const preset = OUTPUT_PRESETS[spec.preset];
  // The idle motion's seed is fixed: the same spec, the same frames.
  const aigc = spec.aigc ? aigcFields(spec.aigc.producer, spec.aigc.produceId) : null;
  const music = spec.music ? { path: resolve(options.dataDir, spec.music.file), gainDb: spec.music.gainDb } : undefined;
  const config = channelSchema.parse({ preset: spec.preset, avatar: { seed: 1, ...spec.avatar }, scene: { ...spec.scene, speechCaptions: spec.subtitles }, ...(music ? { audio: { music } } : {}) });
  const channel = await Channel.create({
    id: 'video', config, ffmpegPath: options.ffmpegPath, dataDir: options.dataDir, metrics: new PipelineMetrics(new Registry()), webrtc: null,
    clock: new VirtualClock(), log: () => {}, aigc, drawings,
  });
  const estimateMs = estimateSpeechS(spec.lines) * 1000;
  const cues: { startMs: number; endMs: number; text: string }[] = [];
  let endMs: number | null = null;
  let failure: string | null = null;
  const lastLine = spec.lines.length - 1;
  let ended = () => {};
  /** Ends the render as failed: the first reason is the one said. */
  const fail = (why: string) => {
    failure ??= why;
    ended();
  };
  const file = createWriteStream(flvPath);
  file.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOSPC' ? 'the disk is full' : `the encode could not be written (${err.code ?? err.message})`));
  file.write(flvFileHeader(true, true));
  // The sound's loudness, measured as it is written (the file's sound is PCM until finished).
  const loudness = new LoudnessMeter(FILE_PCM_RATE_HZ, 2);
  channel.on('output', (tag: FlvTag) => {
    if (failure !== null) return;
    file.write(tag.bytes);
    const pcm = flvPcmSamples(tag);
    if (pcm) loudness.push(pcm);
  });
  // Live, a dead encoder is replaced and the stream goes on; a file would lose the frames in its pipe.
  channel.observer.on('encoderDied', (why) => fail(`the encoder stopped (${why})`));
  const done = new Promise<void>((resolve) => {
    ended = resolve;
    channel.on('speech', (event: SpeechEvent) => {
      const mediaMs = event.mediaMs ?? channel.clock.ptsUsAtSample(channel.clock.samplesElapsed) / 1000;
      if (event.type === 'sentence') {
        const open = cues.at(-1);
        if (open && open.endMs < 0) open.endMs = mediaMs;
        cues.push({ startMs: mediaMs, endMs: -1, text: event.sentence });
        progress(Math.min(0.9, (0.9 * mediaMs) / Math.max(1, estimateMs)), 'rendering');
      } else if (event.type === 'finished' && event.source === 'playlist') {
        // Its pause has played too: the cue ends where the voice did.
        const open = cues.at(-1);
        const pauseMs = spec.lines[event.line ?? 0]?.pauseMs ?? 0;
        if (open && open.endMs < 0) open.endMs = Math.max(open.startMs, mediaMs - pauseMs);
        if (event.line === lastLine) {
          endMs = mediaMs;
          resolve();
        }
      } else if (event.type === 'error') {
        fail(event.message);
      }
    });
  });
  // A voice or decoder that hangs fails the render instead of holding it for ever.
  const stallMs = options.stallMs ?? 30_000;
  let lastFrame = -1, lastFrameAtMs = performance.now();
  let stallTimer: NodeJS.Timeout | undefined;
  const stalled = new Promise<void>((resolve) => {
    stallTimer = setInterval(() => {
      const frame = channel.clock.frameIndex;
      if (frame !== lastFrame) {
        lastFrame = frame;
        lastFrameAtMs = performance.now();
      } else if (performance.now() - lastFrameAtMs > stallMs) {
        failure ??= `no frame was made for ${Math.round(stallMs / 1000)} s`;
        resolve();
      }
    }, 500);
  });
  try {
    if (spec.drive) {
      await channel.setDrive('file', resolve(options.dataDir, spec.drive.file)).catch((err: Error) => {
        throw new ExportError(`the drive video cannot be used: ${err.message}`);
      });
    }
    channel.setPlaylist(spec.lines, false);
    channel.start();
    await Promise.race([done, stalled]);
    if (failure !== null) throw new ExportError(`the video could not be made: ${failure}`);
    progress(0.9, 'encoding');
    await channel.finish();
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (failure !== null) throw new ExportError(`the video could not be made: ${failure}`);
    const frames = channel.clock.frameIndex;
    progress(0.93, 'normalising the sound');
    const mp4 = join(options.dir, VIDEO_FILE);
    await finishMp4({ ffmpegPath: options.ffmpegPath, flv: flvPath, mp4, integratedLufs: loudness.integratedLufs, audioKbps: preset.audioKbps, audioSampleRateHz: preset.audioSampleRateHz, niceness: options.niceness ?? 0, metadata: { comment: 'made by fenshen' }, aigc });
    const srt = join(options.dir, SUBTITLES_FILE);
    const finished = cues.map((cue) => ({ ...cue, endMs: cue.endMs < 0 ? (endMs ?? cue.startMs) : cue.endMs }));
    await writeFile(srt, toSrt(finished));
    progress(1, 'done');
    return { mp4, srt, durationS: frames / preset.fps, frames, cues: finished, renderS: (performance.now() - startedMs) / 1000 };
  } finally {
    // Cleared whichever way the render ended (a stalled one never resolves `done`).
    clearInterval(stallTimer);
    await channel.close();
    file.destroy();
    await rm(flvPath, { force: true });
  }
}

/**
 * Draws `seconds` of the idle motion of a video's avatar (the default one unless `spec` says) into the
 * sprites this process's renders share, without encoding anything, so the first video of it renders as fast
 * as later ones. A renderer runs it once at start, at its own low priority; `stop()` ends it early (a job came).
 */
export async function warmDrawings(options: { readonly dataDir: string; readonly ffmpegPath: string; readonly seconds?: number; readonly stopped?: () => boolean }): Promise<number> {
  const config = channelSchema.parse({ avatar: { seed: 1 } });
  const preset = OUTPUT_PRESETS[config.preset];
  const media = { ffmpegPath: options.ffmpegPath, fps: preset.fps, onError: () => {} };
  const scene = await PreparedScene.prepare(config.scene, preset.width, preset.height, options.dataDir, undefined, media);
  const avatar = await loadChannelAvatar(config, scene.config, preset, options.dataDir, media, drawings);
  const compositor = new FrameCompositor(preset.width, preset.height, scene, avatar, placementFor(scene.config, preset), { drawings });
  const idle = new IdleAnimator(config.avatar.seed ?? 1);
  const pose = restPose();
  const frames = Math.round((options.seconds ?? 60) * preset.fps);
  let frame = 0;
  try {
    for (; frame < frames && !options.stopped?.(); frame++) {
      compositor.compose(clampPose(idle.poseAt(frame / preset.fps, pose))).release();
      // A job or a message may come: the event loop turns every few frames.
      if (frame % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    compositor.close();
  }
  return frame;
}
