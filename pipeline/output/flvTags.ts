/** One FLV tag with its 11-byte header and trailing PreviousTagSize, ready to forward as is. */
export interface FlvTag {
  readonly type: 'audio' | 'video' | 'script';
  readonly timestampMs: number;
  readonly bytes: Buffer;
  readonly isKeyframe: boolean;
  /** AVC/AAC sequence header: a new receiver needs it before any media. */
  readonly isSequenceHeader: boolean;
}

const TAG_TYPES = { 8: 'audio', 9: 'video', 18: 'script' } as const;

/** FLV's 9-byte file header followed by PreviousTagSize0. */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  return Buffer.from([0x46, 0x4c, 0x56, 0x01, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** FLV's sound format 3: linear PCM, little-endian. */
const FLV_PCM_LE = 3;

/** The samples of an audio tag holding 16-bit little-endian PCM (a file's sound before it is finished), or null for any other. */
export function flvPcmSamples(tag: FlvTag): Int16Array | null {
  const flags = tag.bytes[11] ?? 0;
  if (tag.type !== 'audio' || flags >> 4 !== FLV_PCM_LE || (flags & 0x02) === 0) return null;
  const data = tag.bytes.subarray(12, tag.bytes.length - 4);
  // Copied when not on a 2-byte boundary (a typed view needs one).
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return new Int16Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.length / 2));
}

/**
 * Splits a byte stream of FLV (as ffmpeg writes it to a pipe) into tags. It skips file headers wherever
 * they appear, so a restarted encoder's output continues the same tag stream.
 */
export class FlvTagReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onTag: (tag: FlvTag) => void): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (buf.length - at >= 13 && buf[at] === 0x46 && buf[at + 1] === 0x4c && buf[at + 2] === 0x56) {
        at += buf.readUInt32BE(at + 5) + 4;
        continue;
      }
      if (buf.length - at < 11) break;
      const typeCode = buf[at] as number;
      const dataSize = buf.readUIntBE(at + 1, 3);
      const total = 11 + dataSize + 4;
      if (buf.length - at < total) break;
      const type = TAG_TYPES[typeCode as keyof typeof TAG_TYPES];
      if (type) {
        const timestampMs = (buf.readUIntBE(at + 4, 3) | ((buf[at + 7] as number) << 24)) >>> 0;
        const bytes = Buffer.from(buf.subarray(at, at + total));
        const first = bytes[11] ?? 0;
        const second = bytes[12] ?? 0xff;
        const isKeyframe = type === 'video' && first >> 4 === 1;
        const isSequenceHeader = (type === 'video' && (first & 0x0f) === 7 && second === 0) || (type === 'audio' && first >> 4 === 10 && second === 0);
        onTag({ type, timestampMs, bytes, isKeyframe, isSequenceHeader });
      }
      at += total;
    }
    this.#pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    buf = this.#pending;
  }
}

/**
 * Keeps one FLV timeline across encoder restarts: media tags that do not move forward in time (a
 * restarted encoder re-encodes a few ticks its predecessor had already delivered) are dropped, and so
 * are sequence headers and metadata equal to the last ones sent (a reader would otherwise reset its decoder).
 */
export class FlvTimelineGuard {
  readonly #lastTs = new Map<FlvTag['type'], number>();
  readonly #lastHeader = new Map<string, Buffer>();

  accept(tag: FlvTag): boolean {
    if (tag.isSequenceHeader || tag.type === 'script') {
      const key = tag.type;
      const body = tag.bytes.subarray(11, tag.bytes.length - 4);
      const last = this.#lastHeader.get(key);
      if (last && last.equals(body)) return false;
      this.#lastHeader.set(key, Buffer.from(body));
      return true;
    }
    const last = this.#lastTs.get(tag.type);
    if (last !== undefined && tag.timestampMs <= last) return false;
    this.#lastTs.set(tag.type, tag.timestampMs);
    return true;
  }
}
