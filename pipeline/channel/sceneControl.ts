import type { OutputPreset } from '../../config/presets.js';
import type { ChannelConfig } from '../../config/schema.js';
import type { ChannelAvatar } from '../avatar/avatarPort.js';
import { BackgroundVideo } from '../compose/backgroundVideo.js';
import type { FrameCompositor } from '../compose/compositor.js';
import { PreparedScene, type BackgroundVideoSource, type SceneMedia } from '../compose/scene.js';
import { loadChannelAvatar, placementFor } from './assembly.js';

export interface SceneControlOptions {
  readonly preset: OutputPreset;
  readonly dataDir: string;
  readonly media: SceneMedia;
}

/**
 * The scene and avatar shown, and their hot swap at a tick boundary: a new scene is prepared (files
 * decoded, plate converted) before it is shown, a bad file leaves the running one untouched, and the
 * background video of a scene no longer shown is stopped here, and only here.
 */
export class SceneControl {
  readonly #options: SceneControlOptions;
  readonly #compositor: FrameCompositor;
  /** The configured scene; the shown one may carry the spoken sentence as its caption. */
  #baseScene: PreparedScene;
  #captionText: string | null = null;
  #config: ChannelConfig;
  /** The background video playing into the shown scene's backplate, and what it plays. */
  #video: { readonly source: BackgroundVideoSource; readonly player: BackgroundVideo } | null = null;
  /** Updates started so far: only the latest request's result is shown. */
  #updates = 0;
  #closed = false;

  constructor(options: SceneControlOptions, compositor: FrameCompositor, scene: PreparedScene, config: ChannelConfig) {
    this.#options = options;
    this.#compositor = compositor;
    this.#baseScene = scene;
    this.#config = config;
    this.#playVideoOf(scene);
  }

  get config(): ChannelConfig {
    return this.#config;
  }

  /** The sentence shown as the caption, or null. */
  get captionText(): string | null {
    return this.#captionText;
  }

  /** Puts the spoken sentence in the caption's place (and the configured caption back after). */
  showCaption(sentence: string | null): void {
    if (!this.#config.scene.speechCaptions || sentence === this.#captionText) return;
    this.#captionText = sentence;
    this.#compositor.setScene(sentence === null ? this.#baseScene : this.#baseScene.withCaptionText(sentence));
  }

  /** Swaps scene and/or avatar at a tick boundary; a bad file throws and leaves the running scene untouched. */
  async update(next: ChannelConfig): Promise<void> {
    // Updates may overlap (show, then hide a card at once): only the latest request's result is shown.
    const generation = ++this.#updates;
    const { preset, dataDir, media } = this.#options;
    const scene = await PreparedScene.prepare(next.scene, preset.width, preset.height, dataDir, this.#baseScene, media);
    // By value: every request's config is parsed afresh, so an unchanged avatar is a new but equal object
    // (by reference, each background change re-rasterised the avatar: 100-300 ms and a burst of memory).
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    // Only a new avatar or size is rasterised again; a move (the console's position sliders) reuses the sprites.
    const placement = next.scene.avatarPlacement;
    const avatarChanged = !same(next.avatar, this.#config.avatar) || placement.heightFraction !== this.#config.scene.avatarPlacement.heightFraction;
    const avatarMoved = avatarChanged || !same(placement, this.#config.scene.avatarPlacement);
    const avatar: ChannelAvatar = avatarChanged ? await loadChannelAvatar(next, scene.config, preset, dataDir, media) : this.#compositor.avatar;
    // A clone's loop decodes its first frame before the swap, so the switch shows no black (or empty) frame.
    if (avatarChanged && avatar.kind === 'frame') await avatar.ready;
    // A newer request superseded this one: only a clone opened for it (its loop playing) needs stopping.
    if (this.#closed || generation !== this.#updates) {
      if (avatar !== this.#compositor.avatar && avatar.kind === 'frame') avatar.close();
      return;
    }
    const shown = this.#compositor.avatar;
    this.#baseScene = scene;
    this.#playVideoOf(scene);
    this.#compositor.setScene(this.#captionText !== null && next.scene.speechCaptions ? scene.withCaptionText(this.#captionText) : scene);
    if (avatarMoved) this.#compositor.setAvatar(avatar, placementFor(scene.config, preset));
    // A clone taken off air stops its loop.
    if (shown !== avatar && shown.kind === 'frame') shown.close();
    this.#config = next;
  }

  /** Stops the shown scene's background video, and a clone's loop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const avatar = this.#compositor.avatar;
    if (avatar.kind === 'frame') avatar.close();
    this.#compositor.setVideo(null);
    this.#video?.player.close();
    this.#video = null;
  }

  /**
   * Plays the background video `scene` shows, if any: the one already playing goes on when it is the same
   * file and fit (a caption or card change must not restart it); otherwise it stops and the new one starts.
   */
  #playVideoOf(scene: PreparedScene): void {
    const source = scene.videoSource;
    const playing = this.#video;
    if (playing && source && playing.source.path === source.path && playing.source.fit === source.fit) return;
    playing?.player.close();
    this.#video = null;
    this.#compositor.setVideo(null);
    if (!source) return;
    const { preset, media } = this.#options;
    const player = new BackgroundVideo({ ffmpegPath: media.ffmpegPath, path: source.path, width: preset.width, height: preset.height, fps: media.fps, fit: source.fit, onError: media.onError });
    player.start();
    this.#video = { source, player };
    this.#compositor.setVideo(player);
  }
}
