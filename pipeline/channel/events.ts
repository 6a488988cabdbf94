import type { DrivenBy, LiveDriverStatus } from './presence.js';
import type { EncoderStats } from '../output/encoder.js';
import type { FlvTag } from '../output/flvTags.js';
import type { DestinationStatus } from '../output/destinationStatus.js';
import type { SpeakerEvents } from '../speech/speaker.js';
import type { ChannelState } from './status.js';

/** Speech progress, for the console and API clients. */
export type SpeechEvent =
  | ({ readonly type: 'started' } & SpeakerEvents['started'][0])
  | ({ readonly type: 'sentence' } & SpeakerEvents['sentence'][0])
  | ({ readonly type: 'finished' } & SpeakerEvents['finished'][0])
  | ({ readonly type: 'error' } & SpeakerEvents['error'][0]);

/** What a channel tells its users (the API, the console). */
export interface ChannelEvents {
  state: [ChannelState];
  speech: [SpeechEvent];
  /** The one encode, tag by tag, as every destination gets it (an export writes it to a file). */
  output: [FlvTag];
}

/** Milliseconds each stage of one tick took; one object, reused every tick. */
export interface TickTimings {
  speech: number;
  rig: number;
  render: number;
  convert: number;
  mix: number;
  tick: number;
  /** Whether a new picture was drawn (false: the last one repeated). */
  rendered: boolean;
  /** Whether the encoder's queue refused the tick. */
  encoderOverflow: boolean;
}

export type LogLevel = 'info' | 'warn' | 'error';

/**
 * What a channel reports for monitoring: metrics and logs listen here (channel/observer.ts), so the
 * stages carry no metric or log lines of their own.
 */
export interface ChannelObserverEvents {
  tick: [TickTimings];
  /** The output frame rate over the last seconds, and the bytes of sprites kept ready; once a second. */
  fps: [{ readonly fps: number; readonly lagS: number; readonly cacheBytes: number; readonly spriteWorkerMs: number; readonly drivenS: Readonly<Record<DrivenBy, number>> }];
  /** Output video minus audio timestamp, smoothed, seconds. */
  avOffset: [number];
  encoderStats: [EncoderStats];
  encoderDied: [string];
  /** The host went away past the grace period, or came back (see PresenceWatch). */
  liveDriver: [LiveDriverStatus];
  destinationState: [{ readonly id: string; readonly status: DestinationStatus }];
  destinationBytes: [{ readonly id: string; readonly bytes: number; readonly uptimeS: number }];
  destinationDisabled: [string];
  /** Camera frame to rendered frame, for a tracking result that reached the picture. */
  driveLatency: [{ readonly ms: number }];
  log: [{ readonly level: LogLevel; readonly message: string }];
  closed: [];
}
