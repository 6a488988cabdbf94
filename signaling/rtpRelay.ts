import dgram from 'node:dgram';

/** Where the relay forwards one stream: the channel's plain transport in the SFU. */
export interface RelayDestination {
  readonly port: number;
  readonly rtcpPort: number;
}

export interface RtpRelayOptions {
  /** The stream's RTP clock (90000 for video, 48000 for Opus). */
  readonly clockRateHz: number;
  /** Ports to take the encoder's RTP and RTCP on (a worker restart keeps the ones it had); 0: any free. */
  readonly listenPort?: number;
  readonly listenRtcpPort?: number;
}

/** An SR whose timestamp would land this far from the stream's last packet belongs to another encoder. */
const MAX_SR_DISTANCE_S = 5;
const RTCP_SENDER_REPORT = 200;

/**
 * One RTP stream from the encoder to the SFU, kept continuous across encoder restarts. Every ffmpeg
 * process starts its RTP at a random sequence number and timestamp (its RTP muxer has no option for
 * the timestamp base); mediasoup passes timestamps through to the viewers, and a browser's video
 * jitter buffer stalls for seconds on such a jump. The relay recognises a new encoder by its new
 * source port and shifts its sequence numbers and timestamps (and its sender reports' timestamps,
 * which the browser uses for lip sync) to carry on from the last packet it forwarded.
 *
 * It listens on loopback only; the SFU's transport is connected to the relay's sending sockets, so
 * nothing else on the box can feed the channel.
 */
export class RtpRelay {
  readonly #clockRateHz: number;
  readonly #rtpIn: dgram.Socket;
  readonly #rtcpIn: dgram.Socket;
  readonly #rtpOut: dgram.Socket;
  readonly #rtcpOut: dgram.Socket;
  #forwarding = false;
  /** The encoder process now sending, as its RTP source port (null before the first packet). */
  #sourcePort: number | null = null;
  #seqDelta = 0;
  #tsDelta = 0;
  #lastSeq = 0;
  #lastTs = 0;
  #lastAtMs = 0;
  #closed = false;
  /** Encoders seen (the first one included): a restart shows as 2, 3, … */
  generations = 0;
  packets = 0;

  private constructor(clockRateHz: number, sockets: [dgram.Socket, dgram.Socket, dgram.Socket, dgram.Socket]) {
    this.#clockRateHz = clockRateHz;
    [this.#rtpIn, this.#rtcpIn, this.#rtpOut, this.#rtcpOut] = sockets;
    this.#rtpIn.on('message', (packet, from) => this.#onRtp(packet, from.port));
    this.#rtcpIn.on('message', (packet) => this.#onRtcp(packet));
    // The SFU's receiver reports and keyframe requests come back here; the encoder could not act on them.
    this.#rtpOut.on('message', () => {});
    this.#rtcpOut.on('message', () => {});
  }

  static async open(options: RtpRelayOptions): Promise<RtpRelay> {
    const bind = (port: number) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const socket = dgram.createSocket('udp4');
        socket.once('error', reject);
        socket.bind(port, '127.0.0.1', () => {
          socket.off('error', reject);
          // A send to a port nobody listens on yet (the SFU between workers) reports ECONNREFUSED here.
          socket.on('error', () => {});
          resolve(socket);
        });
      });
    const opened: dgram.Socket[] = [];
    try {
      for (const port of [options.listenPort ?? 0, options.listenRtcpPort ?? 0, 0, 0]) opened.push(await bind(port));
    } catch (err) {
      for (const socket of opened) socket.close();
      throw err;
    }
    return new RtpRelay(options.clockRateHz, opened as [dgram.Socket, dgram.Socket, dgram.Socket, dgram.Socket]);
  }

  /** Where the encoder sends RTP and RTCP. */
  get listenPort(): number {
    return this.#rtpIn.address().port;
  }

  get listenRtcpPort(): number {
    return this.#rtcpIn.address().port;
  }

  /** Where the relay sends from: the SFU's transport takes packets from these ports only. */
  get sendPort(): number {
    return this.#rtpOut.address().port;
  }

  get sendRtcpPort(): number {
    return this.#rtcpOut.address().port;
  }

  /** Starts forwarding to the SFU's transport (once: a new worker gets a new relay). */
  async forwardTo(destination: RelayDestination): Promise<void> {
    // Connected sockets send without an address to resolve on every packet (~200 a second).
    await Promise.all([
      new Promise<void>((resolve) => this.#rtpOut.connect(destination.port, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => this.#rtcpOut.connect(destination.rtcpPort, '127.0.0.1', resolve)),
    ]);
    this.#forwarding = true;
  }

  #onRtp(packet: Buffer, sourcePort: number): void {
    // RTP version 2 and a whole fixed header, or it is not ours to forward.
    if (this.#closed || packet.length < 12 || packet.readUInt8(0) >> 6 !== 2) return;
    const seq = packet.readUInt16BE(2);
    const ts = packet.readUInt32BE(4);
    const nowMs = performance.now();
    if (sourcePort !== this.#sourcePort) {
      if (this.generations > 0) {
        // A new encoder: carry on one packet and the elapsed time after the last one forwarded.
        const gapTicks = Math.max(1, Math.round(((nowMs - this.#lastAtMs) * this.#clockRateHz) / 1000));
        this.#seqDelta = (this.#lastSeq + 1 - seq) & 0xffff;
        this.#tsDelta = (this.#lastTs + gapTicks - ts) >>> 0;
      }
      this.#sourcePort = sourcePort;
      this.generations++;
    }
    this.#lastSeq = (seq + this.#seqDelta) & 0xffff;
    this.#lastTs = (ts + this.#tsDelta) >>> 0;
    this.#lastAtMs = nowMs;
    packet.writeUInt16BE(this.#lastSeq, 2);
    packet.writeUInt32BE(this.#lastTs, 4);
    this.packets++;
    if (this.#forwarding) this.#rtpOut.send(packet);
  }

  #onRtcp(packet: Buffer): void {
    if (this.#closed || !this.#forwarding || packet.length < 20 || packet.readUInt8(0) >> 6 !== 2) return;
    if (packet.readUInt8(1) === RTCP_SENDER_REPORT) {
      const ts = (packet.readUInt32BE(16) + this.#tsDelta) >>> 0;
      // A new encoder sends its first report before its first RTP packet, while the shift is still the
      // old one's: a report that lands far from the stream is dropped (the next comes in seconds).
      const distanceS = Math.abs((ts - this.#lastTs) | 0) / this.#clockRateHz;
      if (this.generations === 0 || distanceS > MAX_SR_DISTANCE_S) return;
      packet.writeUInt32BE(ts, 16);
    }
    this.#rtcpOut.send(packet);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of [this.#rtpIn, this.#rtcpIn, this.#rtpOut, this.#rtcpOut]) socket.close();
  }
}
