/**
 * Output presets: what a channel encodes once for all its RTMP destinations. Every preset has a 2 s GOP
 * and AAC-LC at 44.1 kHz stereo 128 kb/s, the audio every Chinese live platform ingests without
 * re-encoding; they differ in picture size, bitrate and H.264 profile (README, "Presets", gives the sources).
 */
export interface OutputPreset {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly videoKbps: number;
  readonly profile: 'main' | 'high';
  readonly gopSeconds: number;
  readonly audioKbps: number;
  readonly audioSampleRateHz: 44100 | 48000;
}

const AAC = { audioKbps: 128, audioSampleRateHz: 44100, gopSeconds: 2 } as const;

export const OUTPUT_PRESETS = {
  'portrait-720p': { width: 720, height: 1280, fps: 30, videoKbps: 2500, profile: 'high', ...AAC },
  'portrait-1080p': { width: 1080, height: 1920, fps: 30, videoKbps: 5000, profile: 'high', ...AAC },
  'landscape-720p': { width: 1280, height: 720, fps: 30, videoKbps: 2500, profile: 'high', ...AAC },
  // Douyin: vertical 9:16; its push guides ask 720p at 2.5–4 Mb/s and 1080p at 4–6 Mb/s (it caps near 6.5).
  'douyin-720p': { width: 720, height: 1280, fps: 30, videoKbps: 3000, profile: 'high', ...AAC },
  'douyin-1080p': { width: 1080, height: 1920, fps: 30, videoKbps: 6000, profile: 'high', ...AAC },
  // Taobao Live: vertical 720p at ≤ 2.5 Mb/s; Main profile, the most widely accepted by ingest transcoders.
  'taobao-720p': { width: 720, height: 1280, fps: 30, videoKbps: 2500, profile: 'main', ...AAC },
} as const satisfies Record<string, OutputPreset>;

export type PresetName = keyof typeof OUTPUT_PRESETS;
export const PRESET_NAMES = Object.keys(OUTPUT_PRESETS) as [PresetName, ...PresetName[]];
export const DEFAULT_PRESET: PresetName = 'portrait-720p';

/**
 * Whether a destination asking for `wanted` can take a channel encoded with `encoded`: the picture must be
 * the same (size and rate); bitrate and profile are the channel's, since there is one encode. Returns why not.
 */
export function presetMismatch(wanted: PresetName, encodedName: PresetName): string | null {
  const a = OUTPUT_PRESETS[wanted];
  const b = OUTPUT_PRESETS[encodedName];
  if (a.width === b.width && a.height === b.height && a.fps === b.fps) return null;
  return `preset ${wanted} is ${a.width}x${a.height} at ${a.fps} fps, but this channel encodes ${b.width}x${b.height} at ${b.fps} fps (preset ${encodedName}); create a channel with preset ${wanted} for it`;
}
