import { EventEmitter } from 'node:events';
import { OUTPUT_PRESETS, type OutputPreset } from '../config/presets.js';
import type { ChannelConfig, SceneConfig } from '../config/schema.js';
import { AudioMixer, dbToGain } from './audio/mixer.js';
import { MicSource } from './audio/micSource.js';
import { AudioMouth } from './speech/audioMouth.js';
import type { MouthState } from './speech/visemes.js';
import { MusicSource } from './audio/musicSource.js';
import { IdleAnimator } from './avatar/idle.js';
import { loadAvatar, resolveAvatarDir } from './avatar/loader.js';
import { rasterizeAvatar } from './avatar/raster.js';
import { AvatarRenderer, type AvatarPlacement } from './avatar/renderer.js';
import { blendPose, clampPose, restPose, type RigPose } from './avatar/rig.js';
import { MediaClock, systemTime, type MediaTick, type MonotonicTime } from './clock.js';
import { DriveStartError, FaceDriver } from './drive/faceDriver.js';
import type { DriveInput } from './drive/videoSource.js';
import type { DriveRig } from './drive/retarget.js';
import { EspeakProvider } from './speech/espeakProvider.js';
import { HttpTtsProvider } from './speech/httpProvider.js';
import { Speaker, type PlaylistLine, type SpeakerEvents } from './speech/speaker.js';
import type { TtsProvider } from './speech/tts.js';
import { FrameCompositor, type ComposeTimings } from './compose/compositor.js';
import { PreparedScene, type SceneMedia } from './compose/scene.js';
import type { AudioFrame, VideoFrame } from './frames.js';
import { StageTimer, type PipelineMetrics } from './metrics.js';
import { Encoder, type EncoderSettings, type RtpTarget } from './output/encoder.js';
import type { FlvTag } from './output/flvTags.js';
import { PUSH_STATES, RtmpDestination, type DestinationOptions, type DestinationStatus } from './output/rtmpDestination.js';

export interface ChannelOptions {
  readonly id: string;
  readonly config: ChannelConfig;
  readonly ffmpegPath: string;
  /** Base folder for relative scene and avatar paths. */
  readonly dataDir: string;
  readonly metrics: PipelineMetrics;
  /** The channel's way into the SFU, or null when WebRTC is off. */
  readonly webrtc: WebrtcOutput | null;
  readonly time?: MonotonicTime;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Where the channel's RTP goes in the SFU (signaling/sfu.ts) and how many watch there. */
export interface WebrtcOutput {
  readonly rtpTargets: { readonly video: RtpTarget; readonly audio: RtpTarget };
  readonly viewerCount: number;
  /** Whether the operator sends its camera (video) or microphone (audio) now. */
  sends(kind: 'audio' | 'video'): boolean;
  /** The operator's camera or microphone as plain RTP for a local decoder; rejects when it is not sent. */
  openOperatorTap(kind: 'audio' | 'video'): Promise<OperatorTap>;
}

/** The operator's camera or microphone out of the SFU: an SDP for ffmpeg, and its start and end. */
export interface OperatorTap {
  readonly sdp: string;
  /** (Re)starts the flow; for video it also asks the sender for a keyframe. */
  resume(): Promise<void>;
  close(): void;
}

export type ChannelState = 'starting' | 'live' | 'stalled' | 'closed';
export type DriveSource = 'idle' | 'file' | 'camera';

export interface ChannelStatus {
  readonly id: string;
  readonly state: ChannelState;
  readonly preset: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly fpsMeasured: number;
  /** Output video minus audio timestamp, smoothed (see fenshen_av_offset_seconds). */
  readonly avOffsetMs: number | null;
  readonly activity: 'idle' | 'speaking';
  readonly speech: { readonly provider: string; readonly queued: number; readonly playlistLines: number; readonly playlistLoop: boolean; readonly sentence: string | null };
  readonly avatar: string;
  readonly drive: {
    readonly source: DriveSource;
    readonly url?: string;
    readonly face: { readonly found: boolean; readonly fps: number; readonly ms: number; readonly rig: DriveRig | null; readonly latencyMs: number };
    readonly iris: { readonly fps: number; readonly ms: number };
    readonly pose: { readonly found: boolean; readonly fps: number; readonly ms: number };
  };
  readonly encoder: { readonly running: boolean; readonly fps: number; readonly bitrateKbps: number; readonly speed: number; readonly restarts: number; readonly heldTicks: number };
  readonly destinations: readonly DestinationStatus[];
  readonly viewers: number;
  readonly framesRendered: number;
  readonly framesRepeated: number;
  readonly uptimeS: number;
}

interface ActiveDrive {
  readonly source: DriveSource;
  readonly url?: string;
  readonly face: FaceDriver;
  /**
   * The camera's way out of the SFU and the timer asking it for keyframes until frames decode; the
   * microphone, when the operator sends one: the voice goes out with the picture and moves the mouth.
   */
  readonly camera?: { readonly tap: OperatorTap; readonly keyframes: NodeJS.Timeout; readonly mic: { readonly tap: OperatorTap; readonly source: MicSource } | null };
}

/** What a destination is: its id, validated URL, preset (checked against the channel's) and whether it pushes. */
export type DestinationSpec = Pick<DestinationOptions, 'id' | 'url' | 'preset' | 'enabled'>;

/** A destination request that cannot be served (unknown id, taken id, closed channel). */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** A drive request that cannot be served (bad source, no models, camera not available yet). */
export class DriveError extends Error {
  override readonly name = 'DriveError';
}

/** Speech progress, for the console and API clients. */
export type SpeechEvent =
  | ({ readonly type: 'started' } & SpeakerEvents['started'][0])
  | ({ readonly type: 'sentence' } & SpeakerEvents['sentence'][0])
  | ({ readonly type: 'finished' } & SpeakerEvents['finished'][0])
  | ({ readonly type: 'error' } & SpeakerEvents['error'][0]);

export interface ChannelEvents {
  state: [ChannelState];
  speech: [SpeechEvent];
}

/** Ticks allowed in one catch-up burst; a longer stall re-anchors the clock instead. */
const MAX_CATCH_UP_S = 2;
/** Ticks the encoder holds (queued, encoding, or waiting for a restart) beyond which pictures repeat. */
const SLOW_ENCODER_BACKLOG_FRAMES = 8;

/**
 * One live channel: the media clock ticks at the video rate; each tick pulls the latest rig pose,
 * renders and composes one picture, mixes the matching audio and hands both to the one encoder, whose
 * FLV output fans out to every destination.
 */
export class Channel extends EventEmitter<ChannelEvents> {
  readonly id: string;
  readonly preset: OutputPreset;
  readonly clock: MediaClock;
  #config: ChannelConfig;
  readonly #options: ChannelOptions;
  readonly #time: MonotonicTime;
  readonly #compositor: FrameCompositor;
  readonly #composeTimings: ComposeTimings = { render: 0, convert: 0, damagedPixels: 0 };
  readonly #idle: IdleAnimator;
  readonly #pose = restPose();
  #webrtc: WebrtcOutput | null;
  #micBlock = new Float32Array(0);
  #micMouth: AudioMouth;
  readonly #mixer: AudioMixer;
  readonly #tts: TtsProvider;
  readonly #speaker: Speaker;
  /** The configured scene; the shown one may carry the spoken sentence as its caption. */
  #baseScene: PreparedScene;
  #captionText: string | null = null;
  /** Scene updates started so far (see update). */
  #updates = 0;
  #driver: ActiveDrive | null = null;
  /** How much the tracked face drives the avatar (fades in and out over ~0.4 s). */
  #driveWeight = 0;
  #lastRig: DriveRig | null = null;
  #driveSeq = 0;
  #driveLatencyMs = 0;
  #music: MusicSource | null = null;
  readonly #encoder: Encoder;
  readonly #destinations = new Map<string, RtmpDestination>();
  /** The latest metadata and sequence headers of the encoded stream, for destinations that join later. */
  readonly #streamHeaders = new Map<'script' | 'video' | 'audio', FlvTag>();
  #state: ChannelState = 'starting';
  #timer: NodeJS.Timeout | null = null;
  #anchorUs = 0;
  #startedAtUs = 0;
  #lastTagAtUs = 0;
  #framesRendered = 0;
  #framesRepeated = 0;
  #encoderRestarts = 0;
  #encoderStats = { fps: 0, bitrateKbps: 0, speed: 0 };
  #fpsWindow = { startUs: 0, frames: 0, value: 0 };
  readonly #avOffset: { lastAudioMs: number | null; smoothedMs: number | null } = { lastAudioMs: null, smoothedMs: null };
  readonly #timers: Record<'rig' | 'speech' | 'render' | 'convert' | 'mix' | 'tick', StageTimer>;
  readonly #counters;
  #closed = false;

  private constructor(options: ChannelOptions, scene: PreparedScene, avatar: AvatarRenderer) {
    super();
    this.id = options.id;
    this.#options = options;
    this.#config = options.config;
    this.preset = OUTPUT_PRESETS[options.config.preset];
    this.clock = new MediaClock(options.config.audio.sampleRateHz, this.preset.fps);
    this.#time = options.time ?? systemTime;
    this.#compositor = new FrameCompositor(this.preset.width, this.preset.height, scene, avatar, Channel.placementFor(scene.config, this.preset));
    this.#idle = new IdleAnimator(options.config.avatar.seed ?? hashSeed(options.id));
    this.#baseScene = scene;
    this.#mixer = new AudioMixer(options.config.audio.sampleRateHz);
    this.#micMouth = new AudioMouth(options.config.audio.sampleRateHz);
    this.#tts = Channel.#makeTts(options.config);
    this.#speaker = new Speaker(this.#tts, options.config.audio.sampleRateHz, (level, message) => options.log(level, `channel ${this.id}: ${message}`));
    for (const type of ['started', 'sentence', 'finished', 'error'] as const) {
      this.#speaker.on(type, (event: SpeakerEvents[typeof type][0]) => this.emit('speech', { type, ...event } as SpeechEvent));
    }
    const { metrics } = options;
    this.#timers = {
      rig: new StageTimer(metrics, this.id, 'rig'),
      speech: new StageTimer(metrics, this.id, 'speech'),
      render: new StageTimer(metrics, this.id, 'render'),
      convert: new StageTimer(metrics, this.id, 'convert'),
      mix: new StageTimer(metrics, this.id, 'mix'),
      tick: new StageTimer(metrics, this.id, 'tick'),
    };
    this.#counters = {
      rendered: metrics.framesRendered.labels(this.id),
      repeated: metrics.framesDropped.labels(this.id, 'render', 'late'),
      encoderOverflow: metrics.framesDropped.labels(this.id, 'encoder', 'overflow'),
      fps: metrics.outputFps.labels(this.id),
      lag: metrics.clockLagSeconds.labels(this.id),
      avatarCache: metrics.avatarCacheBytes.labels(this.id),
      driveLatency: metrics.driveLatencySeconds.labels(this.id),
    };
    this.#encoder = new Encoder(Channel.encoderSettings(options.config, this.preset, options.ffmpegPath, options.webrtc?.rtpTargets ?? null));
    this.#webrtc = options.webrtc;
    this.#wireEncoder();
  }

  /**
   * A new way into the SFU (its worker was restarted), or none: the WebRTC rendition follows at once. A
   * camera drive on the old SFU has lost its camera; it goes back to idle until the operator sends again.
   */
  async setWebrtc(webrtc: WebrtcOutput | null): Promise<void> {
    this.#webrtc = webrtc;
    const rtp = webrtc ? { ...webrtc.rtpTargets, ...this.#config.webrtc } : null;
    // The SFU listens where it did before whenever it can: then the encoder need not restart.
    if (JSON.stringify(rtp) !== JSON.stringify(this.#encoder.settings.rtp)) this.#encoder.setRtp(rtp);
    if (this.#driver?.source === 'camera') await this.setDrive('idle');
  }

  /** Loads the avatar and scene (user errors surface here, before anything starts) and builds the channel. */
  static async create(options: ChannelOptions): Promise<Channel> {
    const preset = OUTPUT_PRESETS[options.config.preset];
    const scene = await PreparedScene.prepare(options.config.scene, preset.width, preset.height, options.dataDir, undefined, Channel.#sceneMedia(options, preset.fps));
    try {
      const avatar = await Channel.#loadAvatar(options.config, scene.config, preset, options.dataDir);
      return new Channel(options, scene, avatar);
    } catch (err) {
      scene.video?.close();
      throw err;
    }
  }

  static #sceneMedia(options: ChannelOptions, fps: number): SceneMedia {
    return { ffmpegPath: options.ffmpegPath, fps, onError: (message) => options.log('warn', `channel ${options.id}: ${message}`) };
  }

  static async #loadAvatar(config: ChannelConfig, scene: SceneConfig, preset: OutputPreset, dataDir: string): Promise<AvatarRenderer> {
    const definition = loadAvatar(resolveAvatarDir(config.avatar.id, dataDir), { palette: config.avatar.palette, slots: config.avatar.slots });
    const scale = (preset.height * scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1];
    return new AvatarRenderer(await rasterizeAvatar(definition, scale));
  }

  static #makeTts(config: ChannelConfig): TtsProvider {
    const speech = config.speech;
    if (speech.provider === 'http' && speech.http) {
      return new HttpTtsProvider({ ...speech.http, voices: speech.voices });
    }
    return new EspeakProvider({ rateWpm: speech.rateWpm, voices: speech.voices });
  }

  /** The channel's one encode, from its config and preset (`rtpTargets`: where the WebRTC rendition goes). */
  static encoderSettings(config: ChannelConfig, preset: OutputPreset, ffmpegPath: string, rtpTargets: WebrtcOutput['rtpTargets'] | null): EncoderSettings {
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

  static placementFor(scene: SceneConfig, preset: OutputPreset): AvatarPlacement {
    return { x: scene.avatarPlacement.x * preset.width, y: preset.height * (1 - scene.avatarPlacement.bottom) };
  }

  #wireEncoder(): void {
    const metrics = this.#options.metrics;
    const avOffset = metrics.avOffsetSeconds.labels(this.id);
    this.#encoder.on('tag', (tag: FlvTag) => {
      this.#lastTagAtUs = this.#time.nowUs();
      if (!tag.isSequenceHeader) this.#trackAvOffset(tag, avOffset);
      if (this.#state !== 'live') this.#setState('live');
      if (tag.isSequenceHeader || tag.type === 'script') this.#streamHeaders.set(tag.isSequenceHeader ? tag.type : 'script', tag);
      for (const destination of this.#destinations.values()) destination.push(tag);
    });
    this.#encoder.on('stats', (stats) => {
      this.#encoderStats = stats;
      metrics.encoderFps.labels(this.id).set(stats.fps);
      metrics.encoderBitrateKbps.labels(this.id).set(stats.bitrateKbps);
      metrics.encoderSpeed.labels(this.id).set(stats.speed);
    });
    this.#encoder.on('died', (why) => {
      this.#encoderRestarts++;
      metrics.encoderRestarts.labels(this.id).inc();
      this.#options.log('warn', `channel ${this.id}: encoder stopped (${why}); restarting`);
    });
  }

  /** Video minus audio timestamp of the output, smoothed over ~20 frames (a drift would show as a trend). */
  #trackAvOffset(tag: FlvTag, gauge: { set(value: number): void }): void {
    const av = this.#avOffset;
    if (tag.type === 'audio') {
      av.lastAudioMs = tag.timestampMs;
    } else if (tag.type === 'video' && av.lastAudioMs !== null) {
      const diff = tag.timestampMs - av.lastAudioMs;
      av.smoothedMs = av.smoothedMs === null ? diff : av.smoothedMs + (diff - av.smoothedMs) * 0.05;
      gauge.set(av.smoothedMs / 1000);
    }
  }

  #setState(state: ChannelState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.emit('state', state);
  }

  get state(): ChannelState {
    return this.#state;
  }

  get config(): ChannelConfig {
    return this.#config;
  }

  start(): void {
    if (this.#closed || this.#timer) return;
    const music = this.#config.audio.music;
    if (music) {
      this.#music = new MusicSource({
        ffmpegPath: this.#options.ffmpegPath,
        path: music.path,
        sampleRateHz: this.clock.sampleRateHz,
        onError: (message) => this.#options.log('warn', `channel ${this.id}: ${message}`),
      });
      this.#mixer.inputs.add({ ring: this.#music.ring, gain: dbToGain(music.gainDb), ducked: true, refill: () => this.#music?.refill() });
      this.#music.start();
    }
    this.#encoder.start();
    this.#speaker.warm().catch((err: Error) => this.#options.log('warn', `channel ${this.id}: speech is unavailable: ${err.message}`));
    for (const destination of this.#destinations.values()) destination.start();
    this.#startedAtUs = this.#time.nowUs();
    this.#anchorUs = this.#startedAtUs;
    this.#fpsWindow = { startUs: this.#startedAtUs, frames: 0, value: 0 };
    this.#loop();
  }

  /** Starts pushing to one more RTMP server (from the same encode). Throws DestinationError if the id is taken. */
  addDestination(spec: DestinationSpec): DestinationStatus {
    if (this.#closed) throw new DestinationError('the channel is closed');
    if (this.#destinations.has(spec.id)) throw new DestinationError(`destination ${spec.id} already exists`);
    const destination = new RtmpDestination({ ...spec, ffmpegPath: this.#options.ffmpegPath });
    const { metrics } = this.#options;
    const up = metrics.destinationUp.labels(this.id, spec.id);
    const bytes = metrics.destinationBytes.labels(this.id, spec.id);
    const reconnects = metrics.destinationReconnects.labels(this.id, spec.id);
    const uptime = metrics.destinationUptimeSeconds.labels(this.id, spec.id);
    const showState = (state: DestinationStatus['state']) => {
      for (const s of PUSH_STATES) metrics.destinationState.labels(this.id, spec.id, s).set(s === state ? 1 : 0);
      up.set(state === 'live' ? 1 : 0);
    };
    showState(destination.status.state);
    destination.on('state', (state) => {
      showState(state);
      if (state === 'retrying') {
        reconnects.inc();
        const { url, lastError, retryInS } = destination.status;
        this.#options.log('warn', `channel ${this.id}: destination ${spec.id} (${url}) lost: ${lastError ?? 'unknown'}; retrying in ${retryInS ?? '?'} s`);
      } else if (state === 'live') {
        this.#options.log('info', `channel ${this.id}: destination ${spec.id} live`);
      } else if (state === 'failed') {
        this.#options.log('error', `channel ${this.id}: destination ${spec.id} failed: ${destination.status.lastError ?? 'unknown'}`);
      }
    });
    destination.on('bytes', (n) => {
      bytes.inc(n);
      uptime.set(destination.status.uptimeS);
    });
    this.#destinations.set(spec.id, destination);
    // A destination added mid-stream needs the headers the encoder sent at its start.
    for (const header of this.#streamHeaders.values()) destination.push(header);
    if (this.#encoder.running || this.#timer) destination.start();
    return destination.status;
  }

  /** Stops a destination's push for good and forgets its metrics. */
  async removeDestination(id: string): Promise<void> {
    const destination = this.#destinations.get(id);
    if (!destination) throw new DestinationError(`no destination ${id}`);
    this.#destinations.delete(id);
    await destination.close();
    await this.#options.metrics.removeDestination(this.id, id);
  }

  /** Turns a destination's push on or off (it stays listed). */
  async setDestinationEnabled(id: string, enabled: boolean): Promise<DestinationStatus> {
    const destination = this.#destinations.get(id);
    if (!destination) throw new DestinationError(`no destination ${id}`);
    await destination.setEnabled(enabled);
    if (!enabled) this.#options.metrics.destinationUptimeSeconds.labels(this.id, id).set(0);
    return destination.status;
  }

  destination(id: string): DestinationStatus | undefined {
    return this.#destinations.get(id)?.status;
  }

  /** The tick loop: produce every frame that is due, then sleep until the next one. */
  #loop = (): void => {
    this.#timer = null;
    if (this.#closed) return;
    const now = this.#time.nowUs();
    let due = this.clock.framesDueAt(now - this.#anchorUs) - this.clock.frameIndex;
    const maxBurst = Math.ceil(MAX_CATCH_UP_S * this.clock.fps);
    if (due > maxBurst) {
      // A long stall (suspended process, overload): keep the media timeline continuous, move its anchor.
      this.#options.log('warn', `channel ${this.id}: tick stalled ${((due / this.clock.fps) | 0)} s; re-anchoring the clock`);
      this.#anchorUs = now - this.clock.ptsUsAtSample(this.clock.samplesElapsed);
      due = 1;
    }
    this.#counters.lag.set(Math.max(0, due - 1) / this.clock.fps);
    for (let i = 0; i < due; i++) this.#tick(this.clock.advance(), i === due - 1);
    if (this.#lastTagAtUs > 0 && now - this.#lastTagAtUs > 5_000_000 && this.#state === 'live') this.#setState('stalled');
    const nextPtsUs = this.clock.ptsUsAtSample(this.clock.samplesElapsed);
    const waitMs = Math.max(0, (this.#anchorUs + nextPtsUs - this.#time.nowUs()) / 1000);
    this.#timer = setTimeout(this.#loop, waitMs);
  };

  /** One tick of the media clock. `render` is false for catch-up ticks: they repeat the last picture. */
  #tick(tick: MediaTick, render: boolean): void {
    const t = this.#timers;
    t.tick.start();
    // A slow, hung or restarting encoder gets repeated pictures (cheap for us, same timeline, and its
    // held ticks then share one buffer) before anything is dropped.
    const encoderBehind = this.#encoder.heldTicks > SLOW_ENCODER_BACKLOG_FRAMES;
    // Speech first: its audio is this tick's, and the mouth shown with it is taken from the same samples.
    t.speech.start();
    const speech = this.#speaker.next(tick.audioSamples, tick.firstSample);
    this.#showCaption(speech.sentence);
    // The operator's live voice, when the camera drive brought a microphone: it is heard with the
    // picture and, while no scripted speech plays, moves the mouth.
    const mic = this.#driver?.camera?.mic?.source;
    let voice = speech.samples;
    let micMouth: MouthState | null = null;
    if (mic) {
      if (this.#micBlock.length < tick.audioSamples) this.#micBlock = new Float32Array(tick.audioSamples);
      const block = mic.take(tick.audioSamples, this.#micBlock);
      micMouth = this.#micMouth.process(block);
      if (voice) for (let i = 0; i < Math.min(voice.length, block.length); i++) block[i] = (block[i] as number) + (voice[i] as number);
      voice = block;
    }
    const micVoiced = micMouth !== null && this.#micMouth.voiced;
    t.speech.stop();
    // Late ticks and a slow encoder repeat the last picture (this tick holds one reference to it).
    let picture = render && !encoderBehind ? null : this.#compositor.repeatLast();
    if (picture) {
      this.#framesRepeated++;
      this.#counters.repeated.inc();
    } else {
      t.rig.start();
      const pose = this.#idle.poseAt(tick.ptsUs / 1e6, this.#pose);
      this.#applyDrive(pose);
      // Speech has the last word on the mouth, over idle motion and a tracked face.
      const m = speech.mouth;
      if (speech.mouthWeight > 0) blendPose(pose, { mouthOpen: m.open, mouthForm: m.form, mouthRound: m.round }, speech.mouthWeight);
      else if (micMouth && micVoiced) blendPose(pose, { mouthOpen: micMouth.open, mouthForm: micMouth.form, mouthRound: micMouth.round });
      clampPose(pose);
      t.rig.stop();
      const timings = this.#composeTimings;
      picture = this.#compositor.compose(this.#pose, timings);
      t.render.observe(timings.render);
      t.convert.observe(timings.convert);
      this.#framesRendered++;
      this.#counters.rendered.inc();
    }
    t.mix.start();
    const pcm = this.#mixer.mix(tick.audioSamples, Buffer.allocUnsafe(tick.audioSamples * 4), voice, speech.speaking || micVoiced);
    t.mix.stop();
    const video: VideoFrame = { kind: 'video', ptsUs: tick.ptsUs, frameIndex: tick.frameIndex, width: this.preset.width, height: this.preset.height, picture, repeated: !render };
    const audio: AudioFrame = { kind: 'audio', ptsUs: tick.ptsUs, sampleRateHz: this.clock.sampleRateHz, channels: 2, pcm };
    if (!this.#encoder.write({ video, audio })) this.#counters.encoderOverflow.inc();
    // The encoder holds its own reference while the picture is queued.
    picture.release();
    this.#measureFps();
    t.tick.stop();
  }

  /** Puts the spoken sentence in the caption's place (and the configured caption back after). */
  #showCaption(sentence: string | null): void {
    if (!this.#config.scene.speechCaptions || sentence === this.#captionText) return;
    this.#captionText = sentence;
    this.#compositor.setScene(sentence === null ? this.#baseScene : this.#baseScene.withCaptionText(sentence));
  }

  /** Lays the tracked face over the idle pose, fading in when a face appears and out when it is lost. */
  #applyDrive(pose: RigPose): void {
    const rig = this.#driver?.face.latest() ?? null;
    const frame = this.#driver?.face.latestFrame;
    if (rig && frame && frame.seq !== this.#driveSeq) {
      // A new tracking result reaches the picture in this tick: camera frame → rendered frame latency.
      this.#driveSeq = frame.seq;
      const ms = performance.timeOrigin + performance.now() - frame.frameAtMs;
      this.#driveLatencyMs = this.#driveLatencyMs === 0 ? ms : this.#driveLatencyMs + (ms - this.#driveLatencyMs) * 0.1;
      this.#counters.driveLatency.observe(ms / 1000);
    }
    this.#driveWeight = Math.max(0, Math.min(1, this.#driveWeight + (rig ? 1 : -1) / (0.4 * this.preset.fps)));
    if (this.#driveWeight > 0 && rig) blendPose(pose, rig, this.#driveWeight);
    else if (this.#driveWeight > 0 && this.#lastRig) blendPose(pose, this.#lastRig, this.#driveWeight);
    if (rig) this.#lastRig = rig;
  }

  /**
   * What moves the avatar: idle motion alone, a face tracked in a video file/URL, or the operator's
   * camera (sent from the console over WebRTC).
   */
  async setDrive(source: DriveSource, url?: string): Promise<void> {
    let next: ActiveDrive | null = null;
    if (source === 'file') {
      if (!url) throw new DriveError('drive source "file" needs a url (a video file path or URL)');
      next = { source, url, face: await this.#startFaceDriver({ kind: 'file', url }) };
    } else if (source === 'camera') {
      next = await this.#startCamera();
    }
    const previous = this.#driver;
    this.#driver = next;
    await this.#stopDrive(previous);
    if (this.#closed) await this.#stopDrive(next);
  }

  async #startFaceDriver(input: DriveInput): Promise<FaceDriver> {
    try {
      return await FaceDriver.start(input, {
        ffmpegPath: this.#options.ffmpegPath,
        tracking: this.#config.drive,
        onError: (m) => this.#options.log('warn', `channel ${this.id}: ${m}`),
        onLog: (m) => this.#options.log('info', `channel ${this.id}: ${m}`),
      });
    } catch (err) {
      throw new DriveError(err instanceof DriveStartError ? err.message : `drive failed to start: ${(err as Error).message}`);
    }
  }

  async #startCamera(): Promise<ActiveDrive> {
    const webrtc = this.#webrtc;
    if (!webrtc) throw new DriveError('the camera comes over WebRTC, which is off on this server (FENSHEN_WEBRTC_PORT=0 or no mediasoup worker)');
    let tap: OperatorTap;
    try {
      tap = await webrtc.openOperatorTap('video');
    } catch (err) {
      throw new DriveError((err as Error).message);
    }
    let face: FaceDriver;
    try {
      face = await this.#startFaceDriver({ kind: 'rtp', sdp: tap.sdp });
    } catch (err) {
      tap.close();
      throw err;
    }
    // The decoder joins mid-stream: it needs a keyframe, and again whenever frames stop (camera restarted).
    const ask = () => void tap.resume().catch(() => undefined);
    ask();
    const keyframes = setInterval(() => {
      if (performance.timeOrigin + performance.now() - face.lastResultAtMs > 2000) ask();
    }, 1000);
    return { source: 'camera', face, camera: { tap, keyframes, mic: await this.#startMic(webrtc) } };
  }

  /** The operator's microphone, when sent: decoded live for the mix and the mouth. A failure only logs. */
  async #startMic(webrtc: WebrtcOutput): Promise<{ tap: OperatorTap; source: MicSource } | null> {
    if (!webrtc.sends('audio')) return null;
    try {
      const tap = await webrtc.openOperatorTap('audio');
      const source = new MicSource({ ffmpegPath: this.#options.ffmpegPath, sdp: tap.sdp, sampleRateHz: this.clock.sampleRateHz, onError: (m) => this.#options.log('warn', `channel ${this.id}: ${m}`) });
      source.start();
      // ffmpeg binds its port within a moment; the first packets before that are lost, which is fine for a voice.
      setTimeout(() => void tap.resume().catch(() => undefined), 300);
      return { tap, source };
    } catch (err) {
      this.#options.log('warn', `channel ${this.id}: the microphone cannot be used: ${(err as Error).message}`);
      return null;
    }
  }

  async #stopDrive(drive: ActiveDrive | null): Promise<void> {
    if (!drive) return;
    if (drive.camera) clearInterval(drive.camera.keyframes);
    await drive.face.close();
    drive.camera?.tap.close();
    drive.camera?.mic?.source.close();
    drive.camera?.mic?.tap.close();
  }

  /** Takes the current face as the neutral one. */
  async calibrateDrive(): Promise<boolean> {
    return (await this.#driver?.face.calibrate()) ?? false;
  }

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

  #measureFps(): void {
    const w = this.#fpsWindow;
    w.frames++;
    const now = this.#time.nowUs();
    if (now - w.startUs >= 1_000_000) {
      w.value = (w.frames * 1e6) / (now - w.startUs);
      this.#counters.fps.set(w.value);
      this.#counters.avatarCache.set(this.#compositor.avatar.cache.bytes + this.#compositor.spriteBytes);
      w.startUs = now;
      w.frames = 0;
    }
  }

  /** Swaps scene and/or avatar at a tick boundary; a bad file leaves the running scene untouched. */
  async update(next: ChannelConfig): Promise<void> {
    // Updates may overlap (show, then hide a card at once): only the latest request's result is shown.
    const generation = ++this.#updates;
    const scene = await PreparedScene.prepare(next.scene, this.preset.width, this.preset.height, this.#options.dataDir, this.#baseScene, Channel.#sceneMedia(this.#options, this.preset.fps));
    // By value: every request's config is parsed afresh, so an unchanged avatar is a new but equal object
    // (by reference, each background change re-rasterised the avatar: 100-300 ms and a burst of memory).
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    // Only a new avatar or size is rasterised again; a move (the console's position sliders) reuses the sprites.
    const placement = next.scene.avatarPlacement;
    const avatarChanged = !same(next.avatar, this.#config.avatar) || placement.heightFraction !== this.#config.scene.avatarPlacement.heightFraction;
    const avatarMoved = avatarChanged || !same(placement, this.#config.scene.avatarPlacement);
    // A scene that is not shown stops the video it started for itself (one shared with the shown scene plays on).
    const discard = () => scene.video !== this.#baseScene.video && scene.video?.close();
    let avatar: AvatarRenderer;
    try {
      avatar = avatarChanged ? await Channel.#loadAvatar(next, scene.config, this.preset, this.#options.dataDir) : this.#compositor.avatar;
    } catch (err) {
      discard();
      throw err;
    }
    if (this.#closed || generation !== this.#updates) return void discard();
    if (this.#baseScene.video !== scene.video) this.#baseScene.video?.close();
    this.#baseScene = scene;
    this.#compositor.setScene(this.#captionText !== null && next.scene.speechCaptions ? scene.withCaptionText(this.#captionText) : scene);
    if (avatarMoved) this.#compositor.setAvatar(avatar, Channel.placementFor(scene.config, this.preset));
    this.#config = next;
  }

  get status(): ChannelStatus {
    const now = this.#time.nowUs();
    return {
      id: this.id,
      state: this.#state,
      preset: this.#config.preset,
      width: this.preset.width,
      height: this.preset.height,
      fps: this.preset.fps,
      fpsMeasured: Math.round(this.#fpsWindow.value * 100) / 100,
      avOffsetMs: this.#avOffset.smoothedMs === null ? null : Math.round(this.#avOffset.smoothedMs),
      activity: this.#speaker.speaking ? 'speaking' : 'idle',
      speech: { provider: this.#tts.name, queued: this.#speaker.queued, playlistLines: this.#speaker.playlist.lines.length, playlistLoop: this.#speaker.playlist.loop, sentence: this.#captionText },
      avatar: this.#compositor.avatar.avatar.definition.manifest.id,
      drive: {
        source: this.#driver?.source ?? 'idle',
        ...(this.#driver?.url ? { url: this.#driver.url } : {}),
        face: { ...(this.#driver ? this.#driver.face.stats : { found: false, fps: 0, ms: 0 }), rig: this.#driver?.face.latest() ?? null, latencyMs: Math.round(this.#driveLatencyMs) },
        iris: this.#driver ? this.#driver.face.irisStats : { fps: 0, ms: 0 },
        pose: this.#driver ? this.#driver.face.poseStats : { found: false, fps: 0, ms: 0 },
      },
      encoder: { running: this.#encoder.running, ...this.#encoderStats, restarts: this.#encoderRestarts, heldTicks: this.#encoder.heldTicks },
      destinations: [...this.#destinations.values()].map((d) => d.status),
      viewers: this.#webrtc?.viewerCount ?? 0,
      framesRendered: this.#framesRendered,
      framesRepeated: this.#framesRepeated,
      uptimeS: this.#startedAtUs ? Math.round((now - this.#startedAtUs) / 1e5) / 10 : 0,
    };
  }

  /** Stops the tick, every destination, the encoder and the music decoder; forgets its metrics. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#music?.close();
    this.#baseScene.video?.close();
    await this.#stopDrive(this.#driver);
    this.#driver = null;
    await this.#speaker.close();
    await this.#tts.close();
    await Promise.all([...this.#destinations.values()].map((d) => d.close()));
    this.#destinations.clear();
    await this.#encoder.close();
    this.#compositor.close();
    this.#state = 'closed';
    this.emit('state', 'closed');
    this.removeAllListeners();
    await this.#options.metrics.removeChannel(this.id);
  }
}

/** A stable seed from a channel id, so each channel idles differently but reproducibly. */
function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
