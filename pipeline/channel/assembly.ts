import type { DrawingCache } from '../compose/drawingCache.js';
import type { OutputPreset } from '../../config/presets.js';
import { DEFAULT_AVATAR_PLACEMENT, type ChannelConfig, type SceneConfig } from '../../config/schema.js';
import type { AvatarPlacement, ChannelAvatar } from '../avatar/avatarPort.js';
import { CloneAvatar } from '../clone/cloneAvatar.js';
import { isCloneId } from '../clone/cloneFiles.js';
import type { SceneMedia } from '../compose/scene.js';
import { loadAvatar, resolveAvatarDir } from '../avatar/loader.js';
import { rasterizeAvatar } from '../avatar/raster.js';
import { AvatarRenderer } from '../avatar/renderer.js';
import type { EncoderSettings } from '../output/encoder.js';
import { EspeakProvider } from '../speech/espeakProvider.js';
import { HttpTtsProvider } from '../speech/httpProvider.js';
import type { TtsProvider } from '../speech/tts.js';
import type { WebrtcOutput } from './ports.js';

/** The parts a channel is built from, made from its config: which voice, which avatar, which encode. */

/** The configured voice: an HTTP (cloud or neural) provider, or the embedded eSpeak NG. */
export function makeTts(config: ChannelConfig): TtsProvider {
  const speech = config.speech;
  if (speech.provider === 'http' && speech.http) return new HttpTtsProvider({ ...speech.http, voices: speech.voices });
  return new EspeakProvider({ rateWpm: speech.rateWpm, voices: speech.voices });
}

/** The configured avatar, drawn at the size the scene gives it. */
/**
 * The channel's avatar: a clone (clone-…, a folder the build made under the data folder's avatars/) plays
 * its recording; any other id is a drawn avatar, rasterised at the scene's size.
 */
export async function loadChannelAvatar(config: ChannelConfig, scene: SceneConfig, preset: OutputPreset, dataDir: string, media: SceneMedia, drawings?: DrawingCache): Promise<ChannelAvatar> {
  if (isCloneId(config.avatar.id)) {
    const cutout = config.avatar.cutout ? { scale: scene.avatarPlacement.heightFraction / DEFAULT_AVATAR_PLACEMENT.heightFraction } : undefined;
    return CloneAvatar.open({ dataDir, id: config.avatar.id, width: preset.width, height: preset.height, fps: media.fps, ffmpegPath: media.ffmpegPath, onError: media.onError, ...(cutout ? { cutout } : {}) });
  }
  const draw = async () => {
    const definition = loadAvatar(resolveAvatarDir(config.avatar.id, dataDir), { palette: config.avatar.palette, slots: config.avatar.slots });
    const scale = (preset.height * scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1];
    return new AvatarRenderer(await rasterizeAvatar(definition, scale));
  };
  if (!drawings) return draw();
  const key = JSON.stringify([config.avatar.id, config.avatar.palette, config.avatar.slots, preset.height, scene.avatarPlacement.heightFraction]);
  return drawings.avatar(key, draw);
}

/** Where the avatar stands in the frame, in pixels, from the scene's placement. */
export function placementFor(scene: SceneConfig, preset: OutputPreset): AvatarPlacement {
  return { x: scene.avatarPlacement.x * preset.width, y: preset.height * (1 - scene.avatarPlacement.bottom) };
}

/** The channel's one encode, from its config and preset (`rtpTargets`: where the WebRTC rendition goes). */
export function encoderSettings(config: ChannelConfig, preset: OutputPreset, ffmpegPath: string, rtpTargets: WebrtcOutput['rtpTargets'] | null): EncoderSettings {
  return {
    ffmpegPath,
    width: preset.width,
    height: preset.height,
    fps: preset.fps,
    sampleRateHz: config.audio.sampleRateHz,
    videoKbps: config.encoder.videoKbps ?? preset.videoKbps,
    profile: preset.profile,
    audioKbps: config.encoder.audioKbps ?? preset.audioKbps,
    aacSampleRateHz: preset.audioSampleRateHz,
    gopSeconds: config.encoder.gopSeconds ?? preset.gopSeconds,
    x264Preset: config.encoder.x264Preset,
    x264Params: config.encoder.x264Params,
    threads: config.encoder.threads,
    rtp: rtpTargets ? { ...rtpTargets, ...config.webrtc } : null,
  };
}
