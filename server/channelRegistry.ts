import { randomBytes } from 'node:crypto';
import { presetMismatch, type PresetName } from '../config/presets.js';
import type { ChannelConfig, Config } from '../config/schema.js';
import { channelSchema } from '../config/schema.js';
import { describeIssue } from '../config/load.js';
import { Channel } from '../pipeline/channel.js';
import type { DestinationStatus } from '../pipeline/output/rtmpDestination.js';
import { validateRtmpUrl } from '../pipeline/output/rtmpUrl.js';
import type { StoredPlaylist, StoredScene, Store } from './store.js';
import { SpeechInputError, speakableSentences, type PlaylistLine } from '../pipeline/speech/speaker.js';
import type { PipelineMetrics } from '../pipeline/metrics.js';
import { ConflictError, InvalidRequestError, NotFoundError } from './domainErrors.js';
import type { EmbeddedRtmpServer } from './embeddedRtmp.js';
import type { AuditLog } from './audit.js';
import { aigcFields } from '../pipeline/compliance/aigcLabel.js';
import type { Logger } from './log.js';
import type { Sfu, SfuChannel } from '../signaling/sfu.js';

export const CHANNEL_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_CHANNELS = 16;
const MAX_DESTINATIONS = 8;
/** The embedded RTMP server's destination: built in, not stored, never removed (it can be stopped). */
export const EMBEDDED_DESTINATION = 'embedded';

/** What the operator may change of a live channel's scene (PUT /api/channels/:id/scene). */
export interface SceneChange {
  readonly background?: ChannelConfig['scene']['background'] | undefined;
  readonly avatar?: string | Partial<ChannelConfig['avatar']> | undefined;
  readonly avatarPlacement?: Partial<ChannelConfig['scene']['avatarPlacement']> | undefined;
  readonly caption?: ChannelConfig['scene']['caption'] | null | undefined;
  readonly logo?: ChannelConfig['scene']['logo'] | null | undefined;
  readonly productCard?: ChannelConfig['scene']['productCard'] | null | undefined;
  readonly speechCaptions?: boolean | undefined;
  readonly aiLabel?: Partial<ChannelConfig['scene']['aiLabel']> | undefined;
}

/** The part of a channel's config the operator chose, as stored for the next start. */
function settingsOf(config: ChannelConfig, liveDriver: ChannelConfig['liveDriver'] = config.liveDriver): Record<string, unknown> {
  return { preset: config.preset, avatar: config.avatar, scene: config.scene, liveDriver };
}

export interface NewDestination {
  readonly url: string;
  readonly id?: string | undefined;
  readonly preset?: PresetName | undefined;
  readonly enabled?: boolean | undefined;
}

/**
 * All live channels of the process, by id. Creating validates everything before anything starts. Requests
 * it cannot serve are refused with the server's domain errors (domainErrors.ts); the pipeline's own errors
 * (AvatarError, SceneError, SpeechInputError, RtmpUrlError) pass through as they are. The HTTP layer maps
 * both (api/errorAnswers.ts).
 */
export class ChannelRegistry {
  readonly #channels = new Map<string, Channel>();
  readonly #pending = new Set<string>();
  readonly #config: Config;
  readonly #metrics: PipelineMetrics;
  readonly #rtmp: EmbeddedRtmpServer | null;
  readonly #log: Logger;
  readonly #sfu: Sfu | null;
  readonly #store: Store;
  readonly #audit: AuditLog | null;

  constructor(config: Config, metrics: PipelineMetrics, rtmp: EmbeddedRtmpServer | null, sfu: Sfu | null, store: Store, log: Logger, audit: AuditLog | null = null) {
    this.#config = config;
    this.#audit = audit;
    this.#store = store;
    this.#metrics = metrics;
    this.#rtmp = rtmp;
    this.#sfu = sfu;
    this.#log = log;
    // A restarted SFU worker gives each channel a new way in; the channel's encoder follows.
    sfu?.on('restarted', (reopened) => {
      for (const webrtc of reopened) {
        const channel = this.#channels.get(webrtc.id);
        if (channel) void channel.setWebrtc(webrtc);
        else this.#sfu?.closeChannel(webrtc.id);
      }
    });
  }

  get size(): number {
    return this.#channels.size;
  }

  /** The live channel `id`, or undefined (see `channel(id)`, which refuses instead). */
  get(id: string): Channel | undefined {
    return this.#channels.get(id);
  }

  /** The live channel `id`; a NotFoundError when there is none. */
  channel(id: string): Channel {
    const channel = this.#channels.get(id);
    if (!channel) throw new NotFoundError(`channel ${id}`);
    return channel;
  }

  list(): Channel[] {
    return [...this.#channels.values()];
  }

  /** Merges per-channel overrides over the configured defaults and validates the result. */
  configFor(overrides: Record<string, unknown>): ChannelConfig {
    const base = this.#config.channel;
    const merged = {
      ...base,
      ...overrides,
      scene: { ...base.scene, ...(overrides.scene as object | undefined) },
      avatar: { ...base.avatar, ...(overrides.avatar as object | undefined) },
    };
    const result = channelSchema.safeParse(merged);
    if (!result.success) throw new InvalidRequestError(describeIssue(result.error, 'channel'));
    if (!result.data.scene.aiLabel.shown && this.#config.compliance.publication) {
      throw new InvalidRequestError('aiLabel.shown: the AI label can be restyled, not removed: this server\'s output is for publication (config compliance.publication)');
    }
    return result.data;
  }

  /**
   * Starts a channel with what was stored for it (or `overrides` when nothing was) and keeps its settings.
   * A stored channel that cannot start any more (an upload removed by hand) starts with the defaults
   * instead, and the log says why: a stream on air beats a perfect scene.
   */
  async start(id: string, overrides: Record<string, unknown> = {}): Promise<Channel> {
    const stored = this.#store.channel(id);
    if (!stored) return this.create(id, overrides);
    try {
      return await this.create(id, stored.settings);
    } catch (err) {
      this.#log.error(`channel ${id}: its stored scene cannot be used (${(err as Error).message}); starting with the defaults`);
      return this.create(id, overrides);
    }
  }

  /** Starts every stored channel that is not running yet; one that fails is logged and skipped. */
  async restoreStored(): Promise<void> {
    for (const { id } of this.#store.channels()) {
      if (this.#channels.has(id)) continue;
      await this.start(id).catch((err: Error) => this.#log.error(`channel ${id} not restored: ${err.message}`));
    }
  }

  async create(id: string, overrides: Record<string, unknown> = {}): Promise<Channel> {
    if (!CHANNEL_ID_PATTERN.test(id)) throw new InvalidRequestError('id: 1-32 lower-case letters, digits, - or _, starting with a letter or digit');
    if (this.#channels.has(id) || this.#pending.has(id)) throw new ConflictError(`channel ${id} already exists`);
    if (this.#channels.size + this.#pending.size >= MAX_CHANNELS) throw new ConflictError(`at most ${MAX_CHANNELS} channels can run at once`);
    const config = this.configFor(overrides);
    this.#pending.add(id);
    let webrtc: SfuChannel | null = null;
    try {
      // Without the SFU (its worker is restarting) the channel still streams to RTMP.
      webrtc = this.#sfu ? await this.#sfu.openChannel(id).catch((err: Error) => (this.#log.warn(`channel ${id}: no WebRTC output: ${err.message}`), null)) : null;
      const channel = await Channel.create({
        id,
        config,
        ffmpegPath: this.#config.ffmpegPath,
        dataDir: this.#config.dataDir,
        metrics: this.#metrics,
        webrtc,
        log: (level, message) => this.#log[level](message),
        // This stream's content id: the channel and when it went on air.
        aigc: aigcFields(this.#config.compliance.producer, `${this.#config.compliance.produceIdPrefix}${id}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`),
      });
      const embedded = this.#rtmp?.urlFor(id);
      if (embedded) channel.addDestination({ id: EMBEDDED_DESTINATION, url: embedded, preset: null, enabled: true });
      for (const stored of this.#store.destinations(id)) channel.addDestination(stored);
      const playlist = this.#store.playlist(id);
      if (playlist) await this.#restorePlaylist(channel, playlist);
      this.#store.saveChannel(id, settingsOf(config));
      this.#channels.set(id, channel);
      // What was said on air, sentence by sentence, at its media time: "what did the host say at 21:14".
      const audit = this.#audit;
      if (audit) channel.on('speech', (event) => {
        if (event.type === 'sentence') audit.append({ action: 'said', channel: id, details: { text: event.sentence, mediaMs: Math.round(event.mediaMs ?? 0), source: event.source } });
      });
      channel.start();
      this.#log.info(`channel ${id} started (${config.preset}, avatar ${config.avatar.id})`);
      return channel;
    } catch (err) {
      if (webrtc) this.#sfu?.closeChannel(id);
      throw err;
    } finally {
      this.#pending.delete(id);
    }
  }

  async delete(id: string): Promise<void> {
    const channel = this.#channels.get(id);
    if (!channel) throw new NotFoundError(`channel ${id}`);
    this.#channels.delete(id);
    await channel.close();
    this.#sfu?.closeChannel(id);
    this.#store.removeChannel(id);
    this.#log.info(`channel ${id} deleted`);
  }

  /** Saves the channel's current scene and avatar under `name` (replacing one of that name). */
  saveScene(channelId: string, name: string): StoredScene {
    const { scene, avatar } = this.channel(channelId).config;
    const id = this.#store.saveScene(`s-${randomBytes(3).toString('hex')}`, name, { scene, avatar });
    return this.#store.scene(id) as StoredScene;
  }

  /** Switches the live channel to a saved scene (from its next frames) and keeps it for the next start. */
  async applyScene(channelId: string, sceneId: string): Promise<Channel> {
    const channel = this.channel(channelId);
    const saved = this.#store.scene(sceneId);
    if (!saved) throw new NotFoundError(`scene ${sceneId}`);
    return this.#apply(channel, this.configFor({ ...channel.config, ...saved.settings }));
  }

  /** Applies a scene change to the live channel (from its next frames) and keeps it for the next start. */
  async updateScene(channelId: string, change: SceneChange): Promise<Channel> {
    const channel = this.channel(channelId);
    const current = channel.config;
    const scene: Record<string, unknown> = { ...current.scene };
    if (change.background) scene.background = change.background;
    if (change.caption !== undefined) scene.caption = change.caption ?? undefined;
    if (change.logo !== undefined) scene.logo = change.logo ?? undefined;
    if (change.productCard !== undefined) scene.productCard = change.productCard ?? undefined;
    if (change.speechCaptions !== undefined) scene.speechCaptions = change.speechCaptions;
    if (change.aiLabel) scene.aiLabel = { ...current.scene.aiLabel, ...stripUndefined(change.aiLabel) };
    if (change.avatarPlacement) scene.avatarPlacement = { ...current.scene.avatarPlacement, ...change.avatarPlacement };
    const avatar = typeof change.avatar === 'string' ? { ...current.avatar, id: change.avatar, slots: {}, palette: {} } : { ...current.avatar, ...change.avatar };
    return this.#apply(channel, this.configFor({ ...current, scene, avatar }));
  }

  /** Sets whether a real person must drive the channel's host (the fields given replace the current ones) and keeps it. */
  setLiveDriver(channelId: string, change: Partial<ChannelConfig['liveDriver']>): Channel {
    const channel = this.channel(channelId);
    const merged = channelSchema.shape.liveDriver.safeParse({ ...channel.liveDriver, ...stripUndefined(change) });
    if (!merged.success) throw new InvalidRequestError(describeIssue(merged.error, 'liveDriver'));
    channel.setLiveDriver(merged.data);
    this.#store.saveChannel(channel.id, settingsOf(channel.config, merged.data));
    return channel;
  }

  async #apply(channel: Channel, next: ChannelConfig): Promise<Channel> {
    const hiding = channel.config.scene.aiLabel.shown && !next.scene.aiLabel.shown;
    await channel.update(next);
    if (hiding) {
      // Allowed only where the output is not for publication (configFor refuses it otherwise): kept on record.
      this.#log.warn(`channel ${channel.id}: the AI label is hidden (compliance.publication is false)`);
      this.#audit?.append({ action: 'label hidden', channel: channel.id });
    }
    // The channel's own config: an update overtaken by a later one did not apply.
    this.#store.saveChannel(channel.id, settingsOf(channel.config, channel.liveDriver));
    return channel;
  }

  /**
   * Replaces the channel's playlist and keeps it for the next start. Refused (400, naming the line) when
   * a line cannot be said or asks for a voice that is not installed.
   */
  async setPlaylist(channelId: string, playlist: StoredPlaylist): Promise<void> {
    const channel = this.channel(channelId);
    const problems = new Map<string, string | null>();
    for (const [i, line] of playlist.lines.entries()) {
      if (!line.voice) continue;
      if (!problems.has(line.voice)) problems.set(line.voice, await channel.voiceProblem(line.voice));
      const problem = problems.get(line.voice);
      if (problem) throw new InvalidRequestError(`line ${i + 1}: ${problem}`);
    }
    // A line with nothing to say is a SpeechInputError (a 400), naming the line.
    channel.setPlaylist(playlist.lines, playlist.loop);
    this.#store.savePlaylist(channelId, playlist);
  }

  /**
   * Loads a stored playlist at start. Lines that cannot be spoken (stored by an older version, which
   * took them, or asking for a voice removed since) are left out with one warning, not retried forever.
   */
  async #restorePlaylist(channel: Channel, playlist: StoredPlaylist): Promise<void> {
    const usable: PlaylistLine[] = [];
    const skipped: string[] = [];
    const voices = new Map<string, boolean>();
    for (const [i, line] of playlist.lines.entries()) {
      let problem: string | null = null;
      try {
        speakableSentences(line.text);
      } catch (err) {
        if (!(err instanceof SpeechInputError)) throw err;
        problem = err.message;
      }
      if (!problem && line.voice) {
        if (!voices.has(line.voice)) voices.set(line.voice, (await channel.voiceProblem(line.voice)) === null);
        if (!voices.get(line.voice)) problem = `voice "${line.voice}" is not installed`;
      }
      if (problem) skipped.push(`${i + 1} (${problem})`);
      else usable.push(line);
    }
    if (skipped.length) this.#log.warn(`channel ${channel.id}: stored playlist line${skipped.length > 1 ? 's' : ''} ${skipped.slice(0, 10).join(', ')}${skipped.length > 10 ? ` and ${skipped.length - 10} more` : ''} cannot be spoken and ${skipped.length > 1 ? 'were' : 'was'} left out`);
    if (usable.length) channel.setPlaylist(usable, playlist.loop);
  }

  /** What shows the file (relative to FENSHEN_DATA): a channel's scene or a saved scene, or null. */
  fileInUse(file: string): string | null {
    for (const channel of this.#channels.values()) {
      const { background, logo, productCard } = channel.config.scene;
      if (((background.type === 'image' || background.type === 'video') && background.path === file) || logo?.path === file || productCard?.image === file) return `channel ${channel.id}'s scene`;
    }
    // Saved scenes are validated JSON: a path appears there only as a whole string value.
    const quoted = JSON.stringify(file);
    const saved = this.#store.scenes().find((s) => JSON.stringify(s.settings).includes(quoted));
    return saved ? `the saved scene "${saved.name}"` : null;
  }

  /** Validates, stores and starts a destination; the channel's encode feeds it from the next keyframe. */
  addDestination(channelId: string, request: NewDestination): DestinationStatus {
    const channel = this.channel(channelId);
    // An RtmpUrlError (a 400) says what is wrong with the address.
    const url = validateRtmpUrl(request.url);
    if (request.preset) {
      const mismatch = presetMismatch(request.preset, channel.config.preset);
      if (mismatch) throw new InvalidRequestError(mismatch);
    }
    const id = request.id ?? `d-${randomBytes(3).toString('hex')}`;
    if (!CHANNEL_ID_PATTERN.test(id)) throw new InvalidRequestError('id: 1-32 lower-case letters, digits, - or _, starting with a letter or digit');
    if (id === EMBEDDED_DESTINATION || channel.destination(id)) throw new ConflictError(`destination ${id} already exists on channel ${channelId}`);
    if (channel.status.destinations.length >= MAX_DESTINATIONS) throw new ConflictError(`at most ${MAX_DESTINATIONS} destinations per channel`);
    const stored = { channel: channelId, id, url, preset: request.preset ?? null, enabled: request.enabled ?? true };
    this.#store.addDestination(stored);
    const status = channel.addDestination(stored);
    this.#log.info(`channel ${channelId}: destination ${id} added (${status.url})`);
    return status;
  }

  async removeDestination(channelId: string, id: string): Promise<void> {
    const channel = this.channel(channelId);
    if (id === EMBEDDED_DESTINATION) throw new ConflictError('the embedded server\'s destination is built in; stop it instead');
    this.#requireDestination(channel, id);
    await channel.removeDestination(id);
    this.#store.removeDestination(channelId, id);
    this.#log.info(`channel ${channelId}: destination ${id} removed`);
  }

  async setDestinationEnabled(channelId: string, id: string, enabled: boolean): Promise<DestinationStatus> {
    const channel = this.channel(channelId);
    this.#requireDestination(channel, id);
    const status = await channel.setDestinationEnabled(id, enabled);
    this.#store.setDestinationEnabled(channelId, id, enabled);
    return status;
  }

  #requireDestination(channel: Channel, id: string): void {
    if (!channel.destination(id)) throw new NotFoundError(`destination ${id} on channel ${channel.id}`);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#channels.values()];
    this.#channels.clear();
    await Promise.all(all.map((c) => c.close()));
    for (const channel of all) this.#sfu?.closeChannel(channel.id);
  }
}

/** `change` without its undefined fields (they mean "keep the current one"). */
function stripUndefined<T extends object>(change: T): Partial<T> {
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as Partial<T>;
}
