/**
 * One counting viewer: a real WebRTC peer (werift: ICE, DTLS, SRTP in TypeScript) that joins through the
 * same signaling as the page, receives the channel's video and audio and only counts RTP; nothing is
 * decoded, so hundreds fit in one process.
 *
 * By default (header-only) werift handles every packet until the first IDR, then the viewer counts RTP
 * from the clear 12-byte header of the still-encrypted SRTP packets and never hands them to werift:
 * werift's SRTP decryption and RTP parsing cost ~50–90 µs of JS a packet, too much for 200 peers on the
 * same box as the server. STUN, DTLS and SRTCP still reach werift (ICE consent, DTLS alerts, sender
 * reports). What that gives up: no NACKs once counting is header-only (loss is what the SFU's first send
 * lost) and no IDR count after the first. `fullSrtp` keeps werift's full processing for comparison.
 */
import type { Socket } from 'node:dgram';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack } from 'werift';
import { viewerCapabilities } from './capabilities.js';
import { consumerSchema, routerCapabilitiesSchema, transportSchema, type ConsumerShape } from './mediasoupShapes.js';
import { fingerprintOf, remoteOffer } from './remoteSdp.js';
import { RtpCounter, type RtpCounts } from './rtpCounter.js';
import { SignalingClient } from './signalingClient.js';

/** Milestones after opening the WebSocket, ms (null: not reached). */
export interface JoinTimes {
  readonly signaled: number | null;
  readonly iceConnected: number | null;
  readonly connected: number | null;
  readonly firstVideo: number | null;
  readonly firstKeyframe: number | null;
}

export interface ViewerSnapshot {
  readonly video: RtpCounts;
  readonly audio: RtpCounts;
}

const isLoopback = (address: string) => address.startsWith('127.') || address === '::1';

/** werift's UDP socket wrapper (common/src/transport.ts): its one `onData` gets every datagram. */
interface UdpTransportLike {
  onData?: (data: Buffer, addr: unknown) => void;
  socket?: Socket;
}

/**
 * Receive buffer per peer socket: 200 peers and the server share 2 cores, so this process's event loop
 * can run a few hundred ms late, and the default 208 kB (~90 video packets) then overflows and drops.
 */
const RECV_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * Puts `take` in front of werift's handling of every datagram on the ICE connection's UDP sockets
 * (StunProtocol.transport.onData, before STUN parsing and the SRTP session); a datagram `take` answers
 * true for never reaches werift. `protocols` is private in werift's types, hence the casts.
 */
function interceptDatagrams(pc: RTCPeerConnection, take: (data: Buffer) => boolean): void {
  const connection = pc.iceTransports[0]?.connection as unknown as { protocols?: { transport?: UdpTransportLike }[] } | undefined;
  for (const protocol of connection?.protocols ?? []) {
    const transport = protocol.transport;
    const werift = transport?.onData;
    if (!transport || !werift || (werift as { intercepted?: boolean }).intercepted) continue; // TCP, or done
    const hook = (data: Buffer, addr: unknown) => {
      if (!take(data)) werift(data, addr);
    };
    transport.onData = Object.assign(hook, { intercepted: true });
    try {
      transport.socket?.setRecvBufferSize(RECV_BUFFER_BYTES); // the kernel caps it at net.core.rmem_max
    } catch {
      // not bound any more: nothing to receive
    }
  }
}

export class WeriftViewer {
  readonly video = new RtpCounter(true);
  readonly audio = new RtpCounter(false);
  #signaling: SignalingClient | null = null;
  #pc: RTCPeerConnection | null = null;
  #startedAt = 0;
  #times: { -readonly [K in keyof JoinTimes]: JoinTimes[K] } = { signaled: null, iceConnected: null, connected: null, firstVideo: null, firstKeyframe: null };
  #error: string | null = null;
  #closed = false;
  /** Where the join is, for the message when it times out. */
  #stage = 'opening the WebSocket';
  #onFirstVideo: () => void = () => undefined;

  /** `fullSrtp`: werift decrypts and parses every packet (no header-only counting). */
  constructor(private readonly fullSrtp = false) {}

  get times(): JoinTimes {
    return { ...this.#times };
  }

  /** The first thing that went wrong (signaling, ICE/DTLS, no media), or null. */
  get error(): string | null {
    return this.#error;
  }

  get notifications(): readonly string[] {
    return this.#signaling?.notifications ?? [];
  }

  snapshot(): ViewerSnapshot {
    return { video: this.video.counts(), audio: this.audio.counts() };
  }

  /** Joins and resolves once video flows (or fails); `timeoutMs` bounds the whole join. */
  async join(wsUrl: string, channel: string, timeoutMs: number): Promise<void> {
    this.#startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const firstVideo = new Promise<void>((resolve) => (this.#onFirstVideo = resolve));
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no video within ${timeoutMs} ms (${this.#stage})`)), timeoutMs);
    });
    try {
      await Promise.race([this.#negotiate(wsUrl, channel).then(() => firstVideo), deadline]);
    } catch (err) {
      this.#error ??= (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
  }

  async #negotiate(wsUrl: string, channel: string): Promise<void> {
    const signaling = await SignalingClient.open(wsUrl);
    this.#signaling = signaling;
    if (this.#closed) return;
    this.#stage = 'join';
    const { routerRtpCapabilities } = await signaling.request('join', { channel });
    const capabilities = viewerCapabilities(routerCapabilitiesSchema.parse(routerRtpCapabilities));
    this.#stage = 'createTransport';
    const transport = transportSchema.parse((await signaling.request('createTransport', {})).transport);
    this.#stage = 'consume';
    const { consumers: raw } = await signaling.request('consume', { transportId: transport.id, rtpCapabilities: capabilities });
    const consumers = raw.map((c) => consumerSchema.parse(c));
    const pc = this.#peer(transport.iceCandidates.some((c) => isLoopback(c.address)), consumers);
    if (this.#closed) return;
    this.#stage = 'ICE/DTLS';
    await pc.setRemoteDescription({ type: 'offer', sdp: remoteOffer(transport, consumers) });
    const answer = await pc.createAnswer();
    // The SFU must know our fingerprint and role before our ClientHello arrives, or it drops it and
    // the handshake waits for a retransmission: connect first, then start ICE/DTLS.
    await signaling.request('connect', { transportId: transport.id, dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(answer.sdp)] } });
    await pc.setLocalDescription(answer);
    await signaling.request('resume', {});
    this.#times.signaled = this.#since();
    this.#stage = 'waiting for video';
  }

  #peer(loopback: boolean, consumers: readonly ConsumerShape[]): RTCPeerConnection {
    const codec = (kind: 'audio' | 'video') => {
      const c = consumers.find((x) => x.kind === kind)?.rtpParameters.codecs[0];
      if (!c) throw new Error(`the SFU sent no ${kind} consumer`);
      return new RTCRtpCodecParameters({
        mimeType: c.mimeType,
        clockRate: c.clockRate,
        payloadType: c.payloadType,
        ...(c.channels ? { channels: c.channels } : {}),
        rtcpFeedback: kind === 'video' ? [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] : [],
      });
    };
    const pc = new RTCPeerConnection({
      // No STUN: nothing outside is reachable, and the SFU's candidates are host candidates.
      iceServers: [],
      iceUseIpv6: false,
      bundlePolicy: 'max-bundle',
      codecs: { video: [codec('video')], audio: [codec('audio')] },
      // werift leaves loopback out of its host candidates; the SFU listens there when the server does.
      ...(loopback ? { iceAdditionalHostAddresses: ['127.0.0.1'], iceFilterCandidatePair: (pair) => isLoopback(pair.protocol.localCandidate?.host ?? '') === isLoopback(pair.remoteCandidate.host) } : {}),
    });
    this.#pc = pc;
    pc.onTrack.subscribe((track) => this.#count(track));
    pc.iceConnectionStateChange.subscribe((state) => {
      if (state !== 'connected') return;
      this.#times.iceConnected ??= this.#since();
      // Before DTLS starts, so before any SRTP: the sockets exist once candidates are gathered. With
      // --full-srtp everything goes on to werift (the hook only enlarges the receive buffer).
      interceptDatagrams(pc, this.fullSrtp ? () => false : this.#headerOnly(consumers));
    });
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.#times.connected ??= this.#since();
      if (state === 'failed') this.#error ??= `connection ${state} (${this.#stage})`;
    });
    return pc;
  }

  #count(track: MediaStreamTrack): void {
    const counter = track.kind === 'video' ? this.video : this.audio;
    track.onReceiveRtp.subscribe((rtp) => {
      const key = counter.add(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload);
      if (track.kind !== 'video') return;
      if (this.#times.firstVideo === null) {
        this.#times.firstVideo = this.#since();
        this.#onFirstVideo();
      }
      if (key) this.#times.firstKeyframe ??= this.#since();
    });
  }

  /**
   * Counts one datagram from its clear RTP header and answers true (drop it) once the first IDR is in;
   * anything else (STUN: first byte 0–3, DTLS: 20–63, SRTCP: payload type 64–95, other payload types,
   * RTP before the first IDR) goes on to werift.
   */
  #headerOnly(consumers: readonly ConsumerShape[]): (data: Buffer) => boolean {
    const videoPt = consumers.find((c) => c.kind === 'video')?.rtpParameters.codecs[0]?.payloadType;
    const audioPt = consumers.find((c) => c.kind === 'audio')?.rtpParameters.codecs[0]?.payloadType;
    return (data) => {
      if (this.#times.firstKeyframe === null || data.length < 12 || (data.readUInt8(0) & 0xc0) !== 0x80) return false;
      const pt = data.readUInt8(1) & 0x7f;
      const counter = pt === videoPt ? this.video : pt === audioPt ? this.audio : null;
      if (!counter) return false;
      counter.add(data.readUInt16BE(2), data.readUInt32BE(4), (data.readUInt8(1) & 0x80) !== 0, null);
      return true;
    };
  }

  #since(): number {
    return performance.now() - this.#startedAt;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#signaling?.close();
    await this.#pc?.close().catch(() => undefined);
  }
}
