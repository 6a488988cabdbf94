import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { OperatorTap } from '../pipeline/channel.js';
import type { RtpTarget } from '../pipeline/output/encoder.js';
import { RtpRelay } from './rtpRelay.js';

/**
 * The SFU: one mediasoup worker (this box has two cores; the encoder and the tick need the other), one
 * WebRtcServer so every viewer shares a single UDP/TCP port, and a router per channel. A channel's
 * picture and sound enter as plain RTP from its encoder (H.264 and Opus, see pipeline/output/encoder.ts)
 * into a PlainTransport and leave to each viewer through a WebRtcTransport.
 */

export interface SfuOptions {
  /** Address the media port listens on. */
  readonly listenIp: string;
  /** Address given to browsers in ICE candidates when it differs (NAT, a public IP or host name). */
  readonly announcedAddress?: string;
  /** UDP and TCP port shared by all viewers. */
  readonly port: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface ChannelRtpTargets {
  readonly video: RtpTarget;
  readonly audio: RtpTarget;
}

const VIDEO_PT = 102;
const AUDIO_PT = 111;
/** Constrained baseline, level 3.1: what every browser decodes; the encoder is told to match. */
export const H264_PROFILE_LEVEL_ID = '42e01f';

const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  // The operator's camera comes in as VP8 (listed first, browsers pick it for sending); viewers get H.264.
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': H264_PROFILE_LEVEL_ID, 'level-asymmetry-allowed': 1 },
  },
];

/** One channel in the SFU: its router, the encoder's way in, the viewers' transports. */
export class SfuChannel {
  readonly id: string;
  readonly router: ms.Router;
  readonly producers: { readonly video: ms.Producer; readonly audio: ms.Producer };
  readonly rtpTargets: ChannelRtpTargets;
  /** The encoder's way in, one relay a stream (their counters show encoder restarts). */
  readonly relays: { readonly video: RtpRelay; readonly audio: RtpRelay };
  readonly #webRtcServer: ms.WebRtcServer;
  readonly #viewers = new Set<ms.WebRtcTransport>();
  readonly #scores = new Map<string, number>();
  readonly #operator = new Map<'audio' | 'video', ms.Producer>();
  #closed = false;

  private constructor(id: string, router: ms.Router, webRtcServer: ms.WebRtcServer, producers: { video: ms.Producer; audio: ms.Producer }, relays: { video: RtpRelay; audio: RtpRelay }, rtpTargets: ChannelRtpTargets) {
    this.id = id;
    this.router = router;
    this.#webRtcServer = webRtcServer;
    this.producers = producers;
    this.relays = relays;
    this.rtpTargets = rtpTargets;
  }

  /**
   * Opens the channel's router and its way in. With `reuse` (the targets it had on a worker that died)
   * it listens on the same ports for the same SSRCs, so the running encoder carries on untouched.
   */
  static async open(id: string, worker: ms.Worker, webRtcServer: ms.WebRtcServer, reuse?: ChannelRtpTargets): Promise<SfuChannel> {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { channel: id } });
    const relays: RtpRelay[] = [];
    try {
      // The encoder sends to a relay (signaling/rtpRelay.ts) that keeps each stream continuous across
      // encoder restarts; the transport is connected to the relay's sending ports and takes nothing else.
      // RTCP has its own port: ffmpeg sends it from a second socket.
      const ingress = async (clockRateHz: number, previous?: RtpTarget) => {
        const open = async () => {
          if (previous) {
            try {
              return await RtpRelay.open({ clockRateHz, listenPort: previous.port, listenRtcpPort: previous.rtcpPort });
            } catch {
              // Taken meanwhile: new ports (the encoder is then pointed at them).
            }
          }
          return RtpRelay.open({ clockRateHz });
        };
        const relay = await open();
        relays.push(relay);
        const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
        await transport.connect({ ip: '127.0.0.1', port: relay.sendPort, rtcpPort: relay.sendRtcpPort });
        await relay.forwardTo({ port: transport.tuple.localPort, rtcpPort: rtcpPortOf(transport) });
        return { relay, transport };
      };
      const [videoIn, audioIn] = [await ingress(90000, reuse?.video), await ingress(48000, reuse?.audio)];
      const videoSsrc = reuse?.video.ssrc ?? randomSsrc();
      const audioSsrc = reuse?.audio.ssrc ?? randomSsrc();
      const video = await videoIn.transport.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [{ mimeType: 'video/H264', clockRate: 90000, payloadType: VIDEO_PT, parameters: { 'packetization-mode': 1, 'profile-level-id': H264_PROFILE_LEVEL_ID } }],
          encodings: [{ ssrc: videoSsrc }],
        },
      });
      const audio = await audioIn.transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: AUDIO_PT, parameters: { 'sprop-stereo': 1 } }],
          encodings: [{ ssrc: audioSsrc }],
        },
      });
      return new SfuChannel(id, router, webRtcServer, { video, audio }, { video: videoIn.relay, audio: audioIn.relay }, {
        video: { host: '127.0.0.1', port: videoIn.relay.listenPort, rtcpPort: videoIn.relay.listenRtcpPort, ssrc: videoSsrc, payloadType: VIDEO_PT },
        audio: { host: '127.0.0.1', port: audioIn.relay.listenPort, rtcpPort: audioIn.relay.listenRtcpPort, ssrc: audioSsrc, payloadType: AUDIO_PT },
      });
    } catch (err) {
      for (const relay of relays) relay.close();
      router.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Viewers receiving: transports whose DTLS is up (one opened and never connected watches nothing). */
  get viewerCount(): number {
    let connected = 0;
    for (const transport of this.#viewers) if (transport.dtlsState === 'connected') connected++;
    return connected;
  }

  /**
   * Sending bitrate to all viewers and the worst viewer's consumer score (0..10: 10 is a clean path; low
   * means packet loss), from each transport's and consumer's stats.
   */
  async stats(): Promise<{ sendBitrateBps: number; bytesSent: number; minScore: number | null }> {
    let sendBitrateBps = 0, bytesSent = 0;
    let minScore: number | null = null;
    for (const transport of this.#viewers) {
      try {
        const [stats] = await transport.getStats();
        sendBitrateBps += stats?.sendBitrate ?? 0;
        bytesSent += stats?.bytesSent ?? 0;
      } catch {
        // Closed while asked: it no longer counts.
      }
    }
    for (const score of this.#scores.values()) minScore = minScore === null ? score : Math.min(minScore, score);
    return { sendBitrateBps, bytesSent, minScore };
  }

  /** Follows a viewer consumer's score (mediasoup emits it as the path's quality changes). */
  watchConsumer(consumer: ms.Consumer): void {
    this.#scores.set(consumer.id, consumer.score.score);
    consumer.on('score', (score) => this.#scores.set(consumer.id, score.score));
    consumer.observer.once('close', () => this.#scores.delete(consumer.id));
  }

  /** The operator's send transport (not counted as a viewer). */
  async openOperatorTransport(): Promise<ms.WebRtcTransport> {
    if (this.#closed) throw new Error(`channel ${this.id} is closed`);
    return this.router.createWebRtcTransport({ webRtcServer: this.#webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true });
  }

  /** The operator's camera or microphone; a new one of a kind replaces the old. */
  setOperatorProducer(producer: ms.Producer): void {
    const kind = producer.kind;
    this.#operator.get(kind)?.close();
    this.#operator.set(kind, producer);
    producer.observer.once('close', () => {
      if (this.#operator.get(kind) === producer) this.#operator.delete(kind);
    });
  }

  /** Whether the operator sends its camera (video) or microphone (audio) now. */
  sends(kind: 'audio' | 'video'): boolean {
    return this.#operator.has(kind);
  }

  /**
   * Sends the operator's camera or microphone as plain RTP to a local port pair and describes it in an
   * SDP, for ffmpeg to decode (drive frames, or the voice). The consumer starts paused: resume it
   * (requestKeyFrame) once ffmpeg listens.
   */
  async openOperatorTap(kind: 'audio' | 'video'): Promise<OperatorTap> {
    const producer = this.#operator.get(kind);
    if (!producer) throw new Error(kind === 'video' ? 'no camera is being sent: turn the camera on in the console first' : 'no microphone is being sent');
    const port = await freeUdpPortPair();
    const transport = await this.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
    try {
      await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: this.router.rtpCapabilities, paused: true });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('camera consumer has no codec');
      const name = codec.mimeType.split('/')[1] ?? 'VP8';
      const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(';');
      const sdp = [
        'v=0', 'o=- 0 0 IN IP4 127.0.0.1', `s=fenshen operator ${kind}`, 'c=IN IP4 127.0.0.1', 't=0 0',
        `m=${kind} ${port} RTP/AVP ${codec.payloadType}`,
        `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`,
        ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
        'a=recvonly', '',
      ].join('\r\n');
      return {
        sdp,
        resume: async () => {
          if (consumer.closed) return;
          if (consumer.paused) await consumer.resume();
          if (kind === 'video') await consumer.requestKeyFrame();
        },
        close: () => transport.close(),
      };
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  /** A receive transport for one viewer, on the shared media port. */
  async openViewerTransport(): Promise<ms.WebRtcTransport> {
    if (this.#closed) throw new Error(`channel ${this.id} is closed`);
    const transport = await this.router.createWebRtcTransport({ webRtcServer: this.#webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true });
    this.#viewers.add(transport);
    transport.observer.once('close', () => this.#viewers.delete(transport));
    return transport;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the router closes its transports, producers and consumers.
    this.router.close();
    this.relays.video.close();
    this.relays.audio.close();
    this.#viewers.clear();
  }
}

/** An even UDP port whose next one is free too (ffmpeg takes RTP on it and RTCP on the next). */
async function freeUdpPortPair(): Promise<number> {
  const bind = (port: number) =>
    new Promise<dgram.Socket | null>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(null));
      socket.bind(port, '127.0.0.1', () => resolve(socket));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bind(0);
    if (!first) continue;
    const port = first.address().port;
    first.close();
    const even = port % 2 === 0 ? port : port + 1;
    const [a, b] = [await bind(even), await bind(even + 1)];
    a?.close();
    b?.close();
    if (a && b) return even;
  }
  throw new Error('no free UDP port pair for the operator tap');
}

function rtcpPortOf(transport: ms.PlainTransport): number {
  const port = transport.rtcpTuple?.localPort;
  if (!port) throw new Error('plain transport has no RTCP port');
  return port;
}

function randomSsrc(): number {
  return 100_000_000 + Math.floor(Math.random() * 800_000_000);
}

export interface SfuEvents {
  /** A new worker runs and these channels are open again (with new RTP targets for their encoders). */
  restarted: [SfuChannel[]];
}

/** Waits between attempts to start a new worker after one died. */
const RESTART_DELAYS_MS = [500, 2000, 5000, 15_000, 30_000];

interface WorkerAndServer {
  readonly worker: ms.Worker;
  readonly webRtcServer: ms.WebRtcServer;
}

export class Sfu extends EventEmitter<SfuEvents> {
  readonly options: SfuOptions;
  #current: WorkerAndServer;
  readonly #channels = new Map<string, SfuChannel>();
  /** Channels the server wants open: a dead worker's routers close first, this list survives them. */
  readonly #wanted = new Set<string>();
  /** Where each channel's encoder sends RTP, kept so a new worker can listen there again. */
  readonly #targets = new Map<string, ChannelRtpTargets>();
  #restartTimer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(options: SfuOptions, current: WorkerAndServer) {
    super();
    this.options = options;
    this.#current = current;
    this.#watch(current.worker);
  }

  static async create(options: SfuOptions): Promise<Sfu> {
    return new Sfu(options, await Sfu.#startWorker(options));
  }

  static async #startWorker(options: SfuOptions): Promise<WorkerAndServer> {
    const worker = await mediasoup.createWorker({ logLevel: 'warn', disableLiburing: true });
    try {
      const listen = (protocol: 'udp' | 'tcp'): ms.TransportListenInfo => ({
        protocol,
        ip: options.listenIp,
        ...(options.announcedAddress ? { announcedAddress: options.announcedAddress } : {}),
        port: options.port,
      });
      const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
      return { worker, webRtcServer };
    } catch (err) {
      worker.close();
      throw err;
    }
  }

  /** A dead worker takes every router with it: the channels are closed, then reopened on a new worker. */
  #watch(worker: ms.Worker): void {
    worker.on('died', (err) => {
      this.options.log('error', `mediasoup worker died: ${err.message}; starting a new one`);
      const ids = [...this.#wanted];
      for (const channel of this.#channels.values()) channel.close();
      this.#channels.clear();
        this.#restart(ids, 0);
    });
  }

  #restart(ids: string[], attempt: number): void {
    if (this.#closed) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      void (async () => {
        try {
          const next = await Sfu.#startWorker(this.options);
          if (this.#closed) {
            next.worker.close();
            return;
          }
          this.#current = next;
          this.#watch(next.worker);
          const reopened: SfuChannel[] = [];
          for (const id of ids) if (this.#wanted.has(id)) reopened.push(await this.openChannel(id));
          this.options.log('info', `mediasoup worker restarted (pid ${next.worker.pid}); ${reopened.length} channel(s) open again`);
          this.emit('restarted', reopened);
        } catch (err) {
          this.options.log('error', `mediasoup worker restart failed: ${(err as Error).message}; trying again`);
          this.#restart(ids, attempt + 1);
        }
      })();
    }, RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]);
  }

  async openChannel(id: string): Promise<SfuChannel> {
    if (this.#closed) throw new Error('the SFU is closed');
    if (this.#channels.has(id)) throw new Error(`channel ${id} is already open in the SFU`);
    this.#wanted.add(id);
    const channel = await SfuChannel.open(id, this.#current.worker, this.#current.webRtcServer, this.#targets.get(id));
    this.#targets.set(id, channel.rtpTargets);
    this.#channels.set(id, channel);
    channel.router.observer.once('close', () => {
      if (this.#channels.get(id) === channel) this.#channels.delete(id);
    });
    return channel;
  }

  /** The server no longer wants this channel (deleted): closed, and not reopened after a restart. */
  closeChannel(id: string): void {
    this.#wanted.delete(id);
    this.#targets.delete(id);
    this.#channels.get(id)?.close();
  }

  channel(id: string): SfuChannel | undefined {
    return this.#channels.get(id);
  }

  channels(): SfuChannel[] {
    return [...this.#channels.values()];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
    this.#current.worker.close();
  }
}
