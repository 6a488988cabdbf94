import type { EventEmitter } from 'node:events';
import type { AudioMixer, BlockInput } from '../audio/mixer.js';
import type { IdleAnimator } from '../avatar/idle.js';
import { blendPose, clampPose, restPose } from '../avatar/rig.js';
import type { MediaTick } from '../clock.js';
import type { ComposeTimings, FrameCompositor } from '../compose/compositor.js';
import type { AudioFrame, AvTick, VideoFrame } from '../frames.js';
import type { Speaker } from '../speech/speaker.js';
import type { MouthState } from '../speech/visemes.js';

const NO_MOUTH_AHEAD: readonly MouthState[] = [];
import type { DriveControl } from './driveControl.js';
import type { PresenceWatch } from './presence.js';
import type { ChannelObserverEvents, TickTimings } from './events.js';
import type { SceneControl } from './sceneControl.js';

/** Where a tick's picture and sound go: the channel's encoder. */
export interface TickSink {
  /** Ticks it holds (queued, encoding, or waiting for a restart). */
  readonly heldTicks: number;
  /** Takes one tick; false when its queue refused it. */
  write(tick: AvTick): boolean;
}

/** Ticks the sink may hold beyond which pictures repeat instead of being drawn. */
const SLOW_SINK_BACKLOG_FRAMES = 8;

export interface AvTickParts {
  readonly width: number;
  readonly height: number;
  readonly sampleRateHz: number;
  /** On the wall clock a sink that falls behind gets repeated pictures; off it, the loop waits instead. */
  readonly live: boolean;
  readonly speaker: Speaker;
  readonly speechInput: BlockInput;
  readonly scene: SceneControl;
  readonly idle: IdleAnimator;
  readonly drive: DriveControl;
  readonly compositor: FrameCompositor;
  readonly mixer: AudioMixer;
  readonly sink: TickSink;
  readonly observer: EventEmitter<ChannelObserverEvents>;
  /** Whether a real person is driving; told each tick what showed one. */
  readonly presence: PresenceWatch;
  /** The person went away past the grace period (true) or came back (false). */
  readonly onAwayChanged: (away: boolean) => void;
}

/**
 * One tick of a channel, in order: the speech of this tick (its samples and the mouth taken from them),
 * the operator's microphone, the pose (idle motion, the tracked face, then the mouth), the picture, the
 * mix, and both to the encoder with the tick's one timestamp.
 */
export class AvTickMaker {
  readonly #parts: AvTickParts;
  readonly #pose = restPose();
  readonly #compose: ComposeTimings = { render: 0, convert: 0, damagedPixels: 0 };
  readonly #timings: TickTimings = { speech: 0, rig: 0, render: 0, convert: 0, mix: 0, tick: 0, rendered: false, encoderOverflow: false };
  framesRendered = 0;
  framesRepeated = 0;

  constructor(parts: AvTickParts) {
    this.#parts = parts;
  }

  make(tick: MediaTick, render: boolean): void {
    const { speaker, speechInput, scene, idle, drive, compositor, mixer, sink } = this.#parts;
    const t = this.#timings;
    const t0 = performance.now();
    // A slow, hung or restarting encoder gets repeated pictures (cheap for us, same timeline, and its
    // held ticks then share one buffer) before anything is dropped.
    const sinkBehind = this.#parts.live && sink.heldTicks > SLOW_SINK_BACKLOG_FRAMES;
    // Speech first: its audio is this tick's, and the mouth shown with it is taken from the same samples.
    const speech = speaker.next(tick.audioSamples, tick.firstSample);
    speechInput.set(speech.samples);
    scene.showCaption(speech.sentence);
    // The operator's live voice, when the camera drive brought a microphone: it is heard with the
    // picture and, while no scripted speech plays, moves the mouth.
    const mic = drive.takeMic(tick.audioSamples);
    const { presence } = this.#parts;
    if (presence.note(tick.ptsUs / 1e6, tick.audioSamples / this.#parts.sampleRateHz, drive.personSeen(mic?.voiced ?? false), speech.speaking)) this.#parts.onAwayChanged(presence.away);
    const t1 = performance.now();
    t.speech = t1 - t0;
    // Late ticks and a slow encoder repeat the last picture (this tick holds one reference to it).
    let picture = render && !sinkBehind ? null : compositor.repeatLast();
    t.rendered = picture === null;
    if (picture) {
      this.framesRepeated++;
      t.rig = t.render = t.convert = 0;
    } else if (presence.away && (picture = compositor.awayCard()) !== null) {
      // The host is away: the "host away" card, drawn once (with the pause action there is no card).
      this.framesRendered++;
      t.rig = t.render = t.convert = 0;
    } else {
      const pose = idle.poseAt(tick.ptsUs / 1e6, this.#pose);
      drive.applyTo(pose, tick.ptsUs / 1e6);
      // Speech has the last word on the mouth, over idle motion and a tracked face.
      const m = speech.mouth;
      if (speech.mouthWeight > 0) blendPose(pose, { mouthOpen: m.open, mouthForm: m.form, mouthRound: m.round }, speech.mouthWeight);
      else if (mic?.voiced) blendPose(pose, { mouthOpen: mic.mouth.open, mouthForm: mic.mouth.form, mouthRound: mic.mouth.round });
      clampPose(pose);
      t.rig = performance.now() - t1;
      // The scripted mouth's next ticks, for an avatar that chooses mouth sequences (a clone); none for a live voice.
      picture = compositor.compose(this.#pose, this.#compose, speech.mouthWeight > 0 ? speech.mouthAhead : NO_MOUTH_AHEAD);
      t.render = this.#compose.render;
      t.convert = this.#compose.convert;
      this.framesRendered++;
    }
    const t2 = performance.now();
    const pcm = mixer.mix(tick.audioSamples, Buffer.allocUnsafe(tick.audioSamples * 4), speech.voiced || (mic?.voiced ?? false));
    t.mix = performance.now() - t2;
    const { width, height, sampleRateHz } = this.#parts;
    const video: VideoFrame = { kind: 'video', ptsUs: tick.ptsUs, frameIndex: tick.frameIndex, width, height, picture, repeated: !render };
    const audio: AudioFrame = { kind: 'audio', ptsUs: tick.ptsUs, sampleRateHz, channels: 2, pcm };
    t.encoderOverflow = !sink.write({ video, audio });
    // The encoder holds its own reference while the picture is queued.
    picture.release();
    t.tick = performance.now() - t0;
    this.#parts.observer.emit('tick', t);
  }
}
