import type { ChannelConfig, Config } from '../config/schema.js';
import { channelSchema } from '../config/schema.js';
import { describeIssue } from '../config/load.js';
import { AvatarError } from '../pipeline/avatar/loader.js';
import { Channel } from '../pipeline/channel.js';
import { SceneError } from '../pipeline/compose/scene.js';
import type { PipelineMetrics } from '../pipeline/metrics.js';
import { errors } from './errors.js';
import type { EmbeddedRtmpServer } from './embeddedRtmp.js';
import type { Logger } from './log.js';
import type { Sfu, SfuChannel } from '../signaling/sfu.js';

export const CHANNEL_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MAX_CHANNELS = 16;

/** All live channels of the process, by id. Creating validates everything before anything starts. */
export class ChannelRegistry {
  readonly #channels = new Map<string, Channel>();
  readonly #pending = new Set<string>();
  readonly #config: Config;
  readonly #metrics: PipelineMetrics;
  readonly #rtmp: EmbeddedRtmpServer | null;
  readonly #log: Logger;
  readonly #sfu: Sfu | null;

  constructor(config: Config, metrics: PipelineMetrics, rtmp: EmbeddedRtmpServer | null, sfu: Sfu | null, log: Logger) {
    this.#config = config;
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

  get(id: string): Channel | undefined {
    return this.#channels.get(id);
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
    if (!result.success) throw errors.invalid(describeIssue(result.error, 'channel'));
    return result.data;
  }

  async create(id: string, overrides: Record<string, unknown> = {}): Promise<Channel> {
    if (!CHANNEL_ID_PATTERN.test(id)) throw errors.invalid('id: 1-32 lower-case letters, digits, - or _, starting with a letter or digit');
    if (this.#channels.has(id) || this.#pending.has(id)) throw errors.conflict(`channel ${id} already exists`);
    if (this.#channels.size + this.#pending.size >= MAX_CHANNELS) throw errors.conflict(`at most ${MAX_CHANNELS} channels can run at once`);
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
        embeddedRtmpUrl: this.#rtmp?.urlFor(id) ?? null,
        webrtc,
        log: (level, message) => this.#log[level](message),
      });
      this.#channels.set(id, channel);
      channel.start();
      this.#log.info(`channel ${id} started (${config.preset}, avatar ${config.avatar.id})`);
      return channel;
    } catch (err) {
      if (webrtc) this.#sfu?.closeChannel(id);
      if (err instanceof AvatarError || err instanceof SceneError) throw errors.unprocessable(err.message);
      throw err;
    } finally {
      this.#pending.delete(id);
    }
  }

  async delete(id: string): Promise<void> {
    const channel = this.#channels.get(id);
    if (!channel) throw errors.notFound(`channel ${id}`);
    this.#channels.delete(id);
    await channel.close();
    this.#sfu?.closeChannel(id);
    this.#log.info(`channel ${id} deleted`);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#channels.values()];
    this.#channels.clear();
    await Promise.all(all.map((c) => c.close()));
    for (const channel of all) this.#sfu?.closeChannel(channel.id);
  }
}
