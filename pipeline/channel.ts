import { EventEmitter } from 'node:events';
import { OUTPUT_PRESETS, type OutputPreset } from '../config/presets.js';
import { avatarChoiceSchema, type ChannelConfig } from '../config/schema.js';
import { AudioMixer, BlockInput, dbToGain, RingInput } from './audio/mixer.js';
import { MusicSource } from './audio/musicSource.js';
import type { AvatarPlacement, ChannelAvatar } from './avatar/avatarPort.js';
import { CloneLoadError } from './clone/cloneFiles.js';
import { IdleAnimator } from './avatar/idle.js';
import { loadChannelAvatar, makeTts, encoderSettings, placementFor } from './channel/assembly.js';
import { aigcJson, KeyframeSeiStamper, type AigcFields } from './compliance/aigcLabel.js';
import { PresenceWatch } from './channel/presence.js';
import type { DrawingCache } from './compose/drawingCache.js';
import { AvTickMaker } from './channel/avTick.js';
import { DestinationFanout, type DestinationSpec } from './channel/destinations.js';
import { DriveControl } from './channel/driveControl.js';
import type { ChannelEvents, ChannelObserverEvents, LogLevel, SpeechEvent } from './channel/events.js';
import { ChannelMonitor } from './channel/observer.js';
import type { WebrtcOutput } from './channel/ports.js';
import { SceneControl } from './channel/sceneControl.js';
import { FpsMeter, type ChannelState, type ChannelStatus, type DriveSource } from './channel/status.js';
import { TickLoop } from './channel/tickLoop.js';
import { MediaClock, wallClock, type ClockSource } from './clock.js';
import { FrameCompositor } from './compose/compositor.js';
import { PreparedScene, type SceneMedia } from './compose/scene.js';
import type { PipelineMetrics } from './metrics.js';
import type { DestinationStatus } from './output/destinationStatus.js';
import { Encoder, FILE_CRF, FILE_THREADS, type EncoderSettings, type EncoderStats } from './output/encoder.js';
import type { FlvTag } from './output/flvTags.js';
import { Speaker, type PlaylistLine, type SpeakerEvents } from './speech/speaker.js';
import type { TtsProvider } from './speech/tts.js';

export type { ChannelEvents, SpeechEvent } from './channel/events.js';
export type { DestinationSpec } from './channel/destinations.js';
export { DestinationError, DriveError } from './channel/errors.js';
export type { OperatorTap, WebrtcOutput } from './channel/ports.js';
export type { ChannelState, ChannelStatus, DriveSource } from './channel/status.js';

export interface ChannelOptions {
  readonly id: string;
  readonly config: ChannelConfig;
  readonly ffmpegPath: string;
  /** Base folder for relative scene and avatar paths. */
  readonly dataDir: string;
  readonly metrics: PipelineMetrics;
  /** The channel's way into the SFU, or null when WebRTC is off. */
  readonly webrtc: WebrtcOutput | null;
  /** What paces the ticks: the wall clock (live, the default) or a virtual one (as fast as possible). */
  readonly clock?: ClockSource;
  readonly log: (level: LogLevel, message: string) => void;
  /**
   * The implicit AI label (GB 45438-2025) the encode carries: in its onMetaData and as an SEI in every
   * keyframe. None: unlabelled (an output that is not for publication).
   */
  readonly aigc?: AigcFields | null;
  /** Drawn avatars and sprites shared with earlier channels of this process (exports: each render reuses the last one's). */
  readonly drawings?: DrawingCache;
}

/** Seconds without encoded output after which a live channel counts as stalled. */
const STALL_AFTER_US = 5_000_000;

/**
 * One live channel, assembled from its stages: the tick loop pulls one picture and its sound per frame
 * (channel/avTick.ts) and hands them to the one encoder, whose FLV fans out to every RTMP destination
 * (channel/destinations.ts) while its RTP goes to the SFU. What moves the avatar is the drive control's,
 * what is shown the scene control's; metrics and logs listen on `observer` (channel/observer.ts).
 */
export class Channel extends EventEmitter<ChannelEvents> {
  readonly id: string;
  readonly preset: OutputPreset;
  readonly clock: MediaClock;
  /** Monitoring events (metrics, logs): see ChannelObserverEvents. */
  readonly observer = new EventEmitter<ChannelObserverEvents>();
  readonly #options: ChannelOptions;
  readonly #clockSource: ClockSource;
  readonly #monitor: ChannelMonitor;
  readonly #compositor: FrameCompositor;
  readonly #scene: SceneControl;
  readonly #drive: DriveControl;
  /** Whether a real person drives the host (the rules' "person in the loop"). */
  readonly #presence: PresenceWatch;
  /** Destinations paused while the host is away (`liveDriver.away: pause`), to start again on return. */
  #pausedForAway: string[] = [];
  /** Puts the implicit AI label into every keyframe (null: unlabelled). */
  readonly #seiStamper: KeyframeSeiStamper | null;
  readonly #mixer: AudioMixer;
  readonly #tts: TtsProvider;
  readonly #speaker: Speaker;
  readonly #ticks: AvTickMaker;
  readonly #loop: TickLoop;
  readonly #encoder: Encoder;
  readonly #destinations: DestinationFanout;
  #webrtc: WebrtcOutput | null;
  #music: MusicSource | null = null;
  #state: ChannelState = 'starting';
  #startedAtUs: number | null = null;
  #lastTagAtUs = 0;
  #encoderRestarts = 0;
  #encoderStats: EncoderStats = { fps: 0, bitrateKbps: 0, speed: 0, frames: 0 };
  readonly #fps = new FpsMeter();
  readonly #avOffset: { lastAudioMs: number | null; smoothedMs: number | null } = { lastAudioMs: null, smoothedMs: null };
  #closed = false;

  private constructor(options: ChannelOptions, scene: PreparedScene, avatar: ChannelAvatar) {
    super();
    const { config } = options;
    this.id = options.id;
    this.#options = options;
    this.preset = OUTPUT_PRESETS[config.preset];
    this.clock = new MediaClock(config.audio.sampleRateHz, this.preset.fps);
    this.#clockSource = options.clock ?? wallClock;
    this.#monitor = new ChannelMonitor(this.id, options.metrics, this.observer, options.log);
    this.#webrtc = options.webrtc;
    // Live, a big layer's new rotation is made off the tick; an export draws every pose exactly (it may wait).
    this.#compositor = new FrameCompositor(this.preset.width, this.preset.height, scene, avatar, placementFor(scene.config, this.preset), { offTickSprites: this.#clockSource.realTime, ...(options.drawings ? { drawings: options.drawings } : {}) });
    this.#scene = new SceneControl({ preset: this.preset, dataDir: options.dataDir, media: Channel.#sceneMedia(options, this.preset.fps) }, this.#compositor, scene, config);
    this.#drive = new DriveControl({ channelId: this.id, ffmpegPath: options.ffmpegPath, tracking: config.drive, sampleRateHz: config.audio.sampleRateHz, fps: this.preset.fps, observer: this.observer, dataDir: options.dataDir, paced: !this.#clockSource.realTime }, options.webrtc);
    this.#mixer = new AudioMixer(config.audio.sampleRateHz);
    const speechInput = new BlockInput();
    this.#mixer.inputs.add(speechInput);
    this.#mixer.inputs.add(this.#drive.micInput);
    this.#tts = makeTts(config);
    this.#speaker = new Speaker(this.#tts, config.audio.sampleRateHz, (level, message) => this.#log(level, message));
    for (const type of ['started', 'sentence', 'finished', 'error'] as const) {
      this.#speaker.on(type, (event: SpeakerEvents[typeof type][0]) => this.emit('speech', { type, ...event } as SpeechEvent));
    }
    const aigc = options.aigc ?? null;
    // A channel on a virtual clock writes a file (a short video): constant quality on a fixed number of
    // frame threads, so the same request makes the same frames on any machine.
    this.#encoder = new Encoder({
      ...encoderSettings(config, this.preset, options.ffmpegPath, options.webrtc?.rtpTargets ?? null),
      ...(aigc ? { metadata: { AIGC: aigcJson(aigc) } } : {}),
      ...(this.#clockSource.realTime ? {} : { file: { crf: FILE_CRF }, threads: FILE_THREADS }),
    });
    this.#seiStamper = aigc ? new KeyframeSeiStamper(aigc) : null;
    this.#destinations = new DestinationFanout(options.ffmpegPath, this.observer);
    this.#presence = new PresenceWatch(config.liveDriver);
    this.#ticks = new AvTickMaker({
      width: this.preset.width,
      height: this.preset.height,
      sampleRateHz: config.audio.sampleRateHz,
      live: this.#clockSource.realTime,
      speaker: this.#speaker,
      speechInput,
      scene: this.#scene,
      idle: new IdleAnimator(config.avatar.seed ?? hashSeed(this.id)),
      drive: this.#drive,
      compositor: this.#compositor,
      mixer: this.#mixer,
      sink: this.#encoder,
      observer: this.observer,
      presence: this.#presence,
      onAwayChanged: (away) => void this.#onAwayChanged(away),
    });
    this.#loop = new TickLoop({
      media: this.clock,
      source: this.#clockSource,
      onTick: (tick, render) => {
        this.#ticks.make(tick, render);
        this.#countFrame();
      },
      afterTurn: (nowUs) => {
        if (this.#lastTagAtUs > 0 && nowUs - this.#lastTagAtUs > STALL_AFTER_US && this.#state === 'live') this.#setState('stalled');
      },
      onStall: (stalledS) => this.#log('warn', `tick stalled ${stalledS | 0} s; re-anchoring the clock`),
      // Off the wall clock: up to a second of ticks inside the encoder (its lookahead) before waiting, and
      // never a tick before its speech is made and its pictures decoded.
      holdBack: () => {
        const tickSamples = this.clock.sampleAtFrame(this.clock.frameIndex + 1) - this.clock.samplesElapsed;
        const nextS = this.clock.ptsUsAtSample(this.clock.samplesElapsed) / 1e6;
        return this.#encoder.heldTicks > this.preset.fps || !this.#speaker.settled(tickSamples) || !this.#compositor.inputsReady
          || (this.#music !== null && !this.#music.holds(tickSamples)) || !this.#drive.readyFor(nextS);
      },
    });
    this.#wireEncoder();
  }

  /** Loads the avatar and scene (user errors surface here, before anything starts) and builds the channel. */
  static async create(options: ChannelOptions): Promise<Channel> {
    const preset = OUTPUT_PRESETS[options.config.preset];
    const scene = await PreparedScene.prepare(options.config.scene, preset.width, preset.height, options.dataDir, undefined, Channel.#sceneMedia(options, preset.fps));
    const media = Channel.#sceneMedia(options, preset.fps);
    let avatar: ChannelAvatar;
    try {
      avatar = await loadChannelAvatar(options.config, scene.config, preset, options.dataDir, media, options.drawings);
    } catch (err) {
      // A clone damaged or deleted by hand while the server was down: the channel goes on air with the default
      // avatar rather than not at all, and says why.
      if (!(err instanceof CloneLoadError)) throw err;
      const fallback = avatarChoiceSchema.parse({});
      options.log('error', `channel ${options.id}: ${err.message}; showing the default avatar ${fallback.id} instead`);
      options = { ...options, config: { ...options.config, avatar: fallback } };
      avatar = await loadChannelAvatar(options.config, scene.config, preset, options.dataDir, media);
    }
    return new Channel(options, scene, avatar);
  }

  /** The channel's one encode, from its config and preset (`rtpTargets`: where the WebRTC rendition goes). */
  static encoderSettings(config: ChannelConfig, preset: OutputPreset, ffmpegPath: string, rtpTargets: WebrtcOutput['rtpTargets'] | null): EncoderSettings {
    return encoderSettings(config, preset, ffmpegPath, rtpTargets);
  }

  static placementFor(scene: ChannelConfig['scene'], preset: OutputPreset): AvatarPlacement {
    return placementFor(scene, preset);
  }

  static #sceneMedia(options: ChannelOptions, fps: number): SceneMedia {
    return { ffmpegPath: options.ffmpegPath, fps, onError: (message) => options.log('warn', `channel ${options.id}: ${message}`) };
  }

  get state(): ChannelState {
    return this.#state;
  }

  get config(): ChannelConfig {
    return this.#scene.config;
  }

  start(): void {
    if (this.#closed || this.#loop.running) return;
    const music = this.config.audio.music;
    if (music) {
      this.#music = new MusicSource({ ffmpegPath: this.#options.ffmpegPath, path: music.path, sampleRateHz: this.clock.sampleRateHz, onError: (message) => this.#log('warn', message) });
      this.#mixer.inputs.add(new RingInput(this.#music.ring, { gain: dbToGain(music.gainDb), ducked: true, refill: () => this.#music?.refill() }));
      this.#music.start();
    }
    this.#encoder.start();
    this.#speaker.warm().catch((err: Error) => this.#log('warn', `speech is unavailable: ${err.message}`));
    this.#destinations.start();
    this.#startedAtUs = this.#clockSource.nowUs();
    this.#fps.reset(this.#startedAtUs);
    this.#loop.start();
  }

  /**
   * A new way into the SFU (its worker was restarted), or none: the WebRTC rendition follows at once. A
   * camera drive on the old SFU has lost its camera; it goes back to idle until the operator sends again.
   */
  async setWebrtc(webrtc: WebrtcOutput | null): Promise<void> {
    this.#webrtc = webrtc;
    const rtp = webrtc ? { ...webrtc.rtpTargets, ...this.config.webrtc } : null;
    // The SFU listens where it did before whenever it can: then the encoder need not restart.
    if (JSON.stringify(rtp) !== JSON.stringify(this.#encoder.settings.rtp)) this.#encoder.setRtp(rtp);
    await this.#drive.setWebrtc(webrtc);
  }

  // Destinations: the encode once, fanned out.

  /** Starts pushing to one more RTMP server (from the same encode). Throws DestinationError if the id is taken. */
  addDestination(spec: DestinationSpec): DestinationStatus {
    return this.#destinations.add(spec);
  }

  /** Stops a destination's push for good and forgets its metrics. */
  async removeDestination(id: string): Promise<void> {
    await this.#destinations.remove(id);
    await this.#monitor.forgetDestination(id);
  }

  /** Turns a destination's push on or off (it stays listed). */
  setDestinationEnabled(id: string, enabled: boolean): Promise<DestinationStatus> {
    return this.#destinations.setEnabled(id, enabled);
  }

  destination(id: string): DestinationStatus | undefined {
    return this.#destinations.status(id);
  }

  // Drive: what moves the avatar.

  /**
   * What moves the avatar: idle motion alone, a face tracked in a video file/URL, or the operator's
   * camera (sent from the console over WebRTC).
   */
  setDrive(source: DriveSource, url?: string): Promise<void> {
    return this.#drive.set(source, url);
  }

  /** Takes the current face as the neutral one. */
  calibrateDrive(): Promise<boolean> {
    return this.#drive.calibrate();
  }

  // Speech.

  /** Queues speech (or cuts in with `interrupt`); returns the utterance id. Throws SpeechInputError. */
  say(text: string, options: { voice?: string; interrupt?: boolean } = {}): string {
    return this.#speaker.say(text, options);
  }

  /** Why `voice` cannot be spoken with (not installed), or null; see Speaker.voiceProblem. */
  voiceProblem(voice: string): Promise<string | null> {
    return this.#speaker.voiceProblem(voice);
  }

  /** Stops speech at the next frame and clears the queue; returns the media time (ms) it takes effect. */
  interrupt(): { mediaMs: number } {
    this.#speaker.interrupt();
    return { mediaMs: this.clock.ptsUsAtSample(this.clock.samplesElapsed) / 1000 };
  }

  get playlist(): { readonly lines: readonly PlaylistLine[]; readonly loop: boolean } {
    return this.#speaker.playlist;
  }

  setPlaylist(lines: readonly PlaylistLine[], loop: boolean): void {
    this.#speaker.setPlaylist(lines, loop);
  }

  // Scene.

  /** Swaps scene and/or avatar at a tick boundary; a bad file leaves the running scene untouched. */
  update(next: ChannelConfig): Promise<void> {
    return this.#scene.update(next);
  }

  /** Whether a real person must drive, and what the destinations get when nobody does (from the next tick). */
  setLiveDriver(liveDriver: ChannelConfig['liveDriver']): void {
    if (this.#presence.configure(liveDriver)) void this.#onAwayChanged(this.#presence.away);
  }

  get liveDriver(): ChannelConfig['liveDriver'] {
    return this.#presence.config;
  }

  /**
   * Nobody has driven the host for longer than the grace period (`away`), or the person is back: the
   * playlist waits (a script alone must not play on air), and the destinations get the "host away" card or
   * are paused; said in the log and the status.
   */
  async #onAwayChanged(away: boolean): Promise<void> {
    const { graceS, away: action, awayText } = this.#presence.config;
    this.#speaker.playlistHeld = away;
    if (away) {
      this.#speaker.interrupt();
      this.#log('warn', `nobody has driven the host for over ${graceS} s (a live driver is required): ${action === 'card' ? 'showing the host-away card' : 'destinations paused'} until the person is back`);
      if (action === 'card') this.#compositor.setAwayCard(awayText);
      else {
        this.#pausedForAway = this.#destinations.statuses.filter((d) => d.enabled).map((d) => d.id);
        for (const id of this.#pausedForAway) await this.#destinations.setEnabled(id, false).catch(() => undefined);
      }
    } else {
      this.#log('info', 'the host is driven by a person again: back on air');
      this.#compositor.setAwayCard(null);
      const paused = this.#pausedForAway;
      this.#pausedForAway = [];
      for (const id of paused) await this.#destinations.setEnabled(id, true).catch(() => undefined);
    }
    this.observer.emit('liveDriver', this.#presence.status);
  }

  get status(): ChannelStatus {
    const config = this.config;
    return {
      id: this.id,
      state: this.#state,
      preset: config.preset,
      width: this.preset.width,
      height: this.preset.height,
      fps: this.preset.fps,
      fpsMeasured: Math.round(this.#fps.value * 100) / 100,
      avOffsetMs: this.#avOffset.smoothedMs === null ? null : Math.round(this.#avOffset.smoothedMs),
      activity: this.#speaker.speaking ? 'speaking' : 'idle',
      speech: { provider: this.#tts.name, queued: this.#speaker.queued, playlistLines: this.#speaker.playlist.lines.length, playlistLoop: this.#speaker.playlist.loop, sentence: this.#scene.captionText },
      avatar: this.#compositor.avatar.id,
      avatarCutout: this.#compositor.avatar.kind === 'frame' && this.#compositor.avatar.cutout,
      drive: this.#drive.status,
      liveDriver: this.#presence.status,
      encoder: { running: this.#encoder.running, ...this.#encoderStats, restarts: this.#encoderRestarts, heldTicks: this.#encoder.heldTicks },
      destinations: this.#destinations.statuses,
      viewers: this.#webrtc?.viewerCount ?? 0,
      framesRendered: this.#ticks.framesRendered,
      framesRepeated: this.#ticks.framesRepeated,
      uptimeS: this.#startedAtUs !== null ? Math.round((this.#clockSource.nowUs() - this.#startedAtUs) / 1e5) / 10 : 0,
    };
  }

  /**
   * An export's end: no tick after the one running now; the encoder encodes what it holds and exits, so
   * every frame is out (as 'output') before the rest closes.
   */
  async finish(): Promise<void> {
    this.#loop.stop();
    await this.#encoder.finish();
    await this.close();
  }

  /** Stops the tick, every destination, the encoder and the decoders; forgets its metrics. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#loop.stop();
    this.#music?.close();
    this.#scene.close();
    await this.#drive.close();
    await this.#speaker.close();
    await this.#tts.close();
    await this.#destinations.close();
    await this.#encoder.close();
    this.#compositor.close();
    this.#state = 'closed';
    this.emit('state', 'closed');
    this.removeAllListeners();
    this.observer.emit('closed');
    await this.#monitor.close();
    this.observer.removeAllListeners();
  }

  #log(level: LogLevel, message: string): void {
    this.observer.emit('log', { level, message: `channel ${this.id}: ${message}` });
  }

  #setState(state: ChannelState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.emit('state', state);
  }

  #wireEncoder(): void {
    this.#encoder.on('tag', (encoded: FlvTag) => {
      const tag = this.#seiStamper ? this.#seiStamper.stamp(encoded) : encoded;
      this.#lastTagAtUs = this.#clockSource.nowUs();
      if (!tag.isSequenceHeader) this.#trackAvOffset(tag);
      if (this.#state !== 'live') this.#setState('live');
      this.#destinations.push(tag);
      this.emit('output', tag);
    });
    this.#encoder.on('stats', (stats) => {
      this.#encoderStats = stats;
      this.observer.emit('encoderStats', stats);
    });
    this.#encoder.on('died', (why) => {
      this.#encoderRestarts++;
      this.observer.emit('encoderDied', why);
    });
  }

  /** Video minus audio timestamp of the output, smoothed over ~20 frames (a drift would show as a trend). */
  #trackAvOffset(tag: FlvTag): void {
    const av = this.#avOffset;
    if (tag.type === 'audio') {
      av.lastAudioMs = tag.timestampMs;
    } else if (tag.type === 'video' && av.lastAudioMs !== null) {
      const diff = tag.timestampMs - av.lastAudioMs;
      av.smoothedMs = av.smoothedMs === null ? diff : av.smoothedMs + (diff - av.smoothedMs) * 0.05;
      this.observer.emit('avOffset', av.smoothedMs / 1000);
    }
  }

  #countFrame(): void {
    if (this.#fps.count(this.#clockSource.nowUs())) {
      this.observer.emit('fps', { fps: this.#fps.value, lagS: this.#loop.lagS, cacheBytes: this.#compositor.cacheBytes, spriteWorkerMs: this.#compositor.spriteWorkerMs, drivenS: this.#presence.status.seconds });
    }
  }
}

/** A stable seed from a channel id, so each channel idles differently but reproducibly. */
function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
