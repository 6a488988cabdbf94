/** Output presets: picture size, frame rate and bitrates that platforms accept. */
export interface OutputPreset {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly videoKbps: number;
  readonly audioKbps: number;
}

export const OUTPUT_PRESETS = {
  'portrait-720p': { width: 720, height: 1280, fps: 30, videoKbps: 2500, audioKbps: 128 },
  'portrait-1080p': { width: 1080, height: 1920, fps: 30, videoKbps: 5000, audioKbps: 128 },
  'landscape-720p': { width: 1280, height: 720, fps: 30, videoKbps: 2500, audioKbps: 128 },
  // Platform presets: vertical, within what Douyin and Taobao Live recommend for push streams.
  'douyin-720p': { width: 720, height: 1280, fps: 30, videoKbps: 3000, audioKbps: 128 },
  'douyin-1080p': { width: 1080, height: 1920, fps: 30, videoKbps: 6000, audioKbps: 128 },
  'taobao-720p': { width: 720, height: 1280, fps: 30, videoKbps: 2500, audioKbps: 128 },
} as const satisfies Record<string, OutputPreset>;

export type PresetName = keyof typeof OUTPUT_PRESETS;
export const PRESET_NAMES = Object.keys(OUTPUT_PRESETS) as [PresetName, ...PresetName[]];
export const DEFAULT_PRESET: PresetName = 'portrait-720p';
