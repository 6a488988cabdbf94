/**
 * Counts one received RTP stream without decoding it: packets, sequence gaps never filled (NACK
 * retransmissions arrive with their original sequence number, so they fill gaps and are not counted
 * twice), frames (a set marker bit ends a video frame) and H.264 IDR pictures.
 */

/** H.264 NAL unit types (RFC 6184): 5 is an IDR slice; 24 and 28 are STAP-A and FU-A packets. */
const NAL_IDR = 5;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/** True when an H.264 RTP payload carries (the start of) an IDR slice. */
export function carriesIdr(payload: Uint8Array): boolean {
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === NAL_IDR) return true;
  if (type === NAL_FU_A) return ((payload[1] ?? 0) & 0x1f) === NAL_IDR;
  if (type !== NAL_STAP_A) return false;
  for (let at = 1; at + 2 < payload.length; ) {
    const size = ((payload[at] ?? 0) << 8) | (payload[at + 1] ?? 0);
    if (((payload[at + 2] ?? 0) & 0x1f) === NAL_IDR) return true;
    at += 2 + size;
  }
  return false;
}

export interface RtpCounts {
  readonly packets: number;
  /** Sequence numbers between the first and the highest that never arrived. */
  readonly lost: number;
  readonly frames: number;
  readonly keyframes: number;
}

export class RtpCounter {
  /** Per sequence number, a tag of the 64 Ki cycle it was last seen in (0: never): duplicates count once. */
  readonly #seen = new Uint8Array(65536);
  #firstExt = -1;
  #highestExt = -1;
  #unique = 0;
  #packets = 0;
  #frames = 0;
  #keyframes = 0;
  #lastKeyTimestamp = -1;

  constructor(private readonly video: boolean) {}

  /**
   * Adds one packet; answers whether it carried an IDR (video only). `payload` null: still encrypted
   * (header-only counting), so IDRs are not looked for.
   */
  add(sequenceNumber: number, timestamp: number, marker: boolean, payload: Uint8Array | null): boolean {
    this.#packets++;
    const ext = this.#extend(sequenceNumber);
    const tag = (Math.floor(ext / 65536) % 255) + 1;
    const index = ext & 0xffff;
    if (this.#seen[index] === tag) return false;
    this.#seen[index] = tag;
    this.#unique++;
    if (!this.video) return false;
    if (marker) this.#frames++;
    if (payload !== null && timestamp !== this.#lastKeyTimestamp && carriesIdr(payload)) {
      this.#lastKeyTimestamp = timestamp;
      this.#keyframes++;
      return true;
    }
    return false;
  }

  counts(): RtpCounts {
    const expected = this.#firstExt < 0 ? 0 : this.#highestExt - this.#firstExt + 1;
    return { packets: this.#packets, lost: Math.max(0, expected - this.#unique), frames: this.#frames, keyframes: this.#keyframes };
  }

  /** Extends a 16-bit sequence number against the highest seen (RFC 3550 A.1, without probation). */
  #extend(seq: number): number {
    if (this.#highestExt < 0) {
      this.#firstExt = this.#highestExt = seq + 65536;
      return this.#highestExt;
    }
    const high = this.#highestExt & 0xffff;
    const cycle = this.#highestExt - high;
    let delta = seq - high;
    if (delta < -32768) delta += 65536;
    else if (delta > 32768) delta -= 65536;
    const ext = cycle + high + delta;
    if (ext > this.#highestExt) this.#highestExt = ext;
    return ext;
  }
}
