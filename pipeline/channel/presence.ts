import type { ChannelConfig } from '../../config/schema.js';

/** Who moved the host this tick: a person (their face on the camera, their voice on the microphone), a script, or nobody. */
export type DrivenBy = 'person' | 'script' | 'idle';

/** What the channel says about the person in the loop. */
export interface LiveDriverStatus {
  /** A person was seen (camera face) or heard (microphone voice) within the window. */
  readonly driving: boolean;
  readonly via: 'camera' | 'microphone' | null;
  /** Seconds since the person was last seen or heard (null: never since the channel started). */
  readonly lastSeenAgoS: number | null;
  readonly required: boolean;
  /** Required, and nobody for longer than the grace period: the destinations get the "host away" card or are paused. */
  readonly away: boolean;
  readonly awayAction: 'card' | 'pause';
  /** Seconds of output so far by who drove it. */
  readonly seconds: Readonly<Record<DrivenBy, number>>;
}

/**
 * Whether a real person is in the loop (platform rules for virtual hosts: driven by a real, present person,
 * not only a script), from each tick's evidence on the channel's media clock: a face tracked on the
 * operator's camera or a voice on their microphone counts for `windowS`. With `required`, nobody for longer
 * than `graceS` makes the channel "away" until the person is back.
 */
export class PresenceWatch {
  #config: ChannelConfig['liveDriver'];
  #lastSeenS: number | null = null;
  #via: 'camera' | 'microphone' | null = null;
  #nowS = 0;
  #startS: number | null = null;
  #away = false;
  readonly #seconds: Record<DrivenBy, number> = { person: 0, script: 0, idle: 0 };

  constructor(config: ChannelConfig['liveDriver']) {
    this.#config = config;
  }

  /**
   * One tick at media time `timeS` lasting `durationS`: `seen` what showed a person this tick, `speaking`
   * whether a script spoke. Returns whether `away` changed.
   */
  note(timeS: number, durationS: number, seen: 'camera' | 'microphone' | null, speaking: boolean): boolean {
    this.#nowS = timeS;
    this.#startS ??= timeS;
    if (seen) {
      this.#lastSeenS = timeS;
      this.#via = seen;
    }
    this.#seconds[this.driving ? 'person' : speaking ? 'script' : 'idle'] += durationS;
    const away = this.#isAway();
    if (away === this.#away) return false;
    this.#away = away;
    return true;
  }

  #isAway(): boolean {
    if (!this.#config.required || this.driving || this.#startS === null) return false;
    return this.#nowS - (this.#lastSeenS ?? this.#startS) > this.#config.graceS;
  }

  /** New settings (a channel set to require a live driver, or not any more); returns whether `away` changed with them. */
  configure(config: ChannelConfig['liveDriver']): boolean {
    this.#config = config;
    const away = this.#isAway();
    if (away === this.#away) return false;
    this.#away = away;
    return true;
  }

  get config(): ChannelConfig['liveDriver'] {
    return this.#config;
  }

  get driving(): boolean {
    return this.#lastSeenS !== null && this.#nowS - this.#lastSeenS <= this.#config.windowS;
  }

  get away(): boolean {
    return this.#away;
  }

  get status(): LiveDriverStatus {
    const driving = this.driving;
    return {
      driving,
      via: driving ? this.#via : null,
      lastSeenAgoS: this.#lastSeenS === null ? null : Math.round((this.#nowS - this.#lastSeenS) * 10) / 10,
      required: this.#config.required,
      away: this.#away,
      awayAction: this.#config.away,
      seconds: { ...this.#seconds },
    };
  }
}
