import type { types as ms } from 'mediasoup';
import type { ResponseData, SignalingRequest } from './messages.js';
import type { SfuChannel } from './sfu.js';

/** A request that cannot be served in this state or with these values: its message goes to the client. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
}

/** What a session reports for the metrics. */
export interface PeerSessionHooks {
  /** From join to the consumers resumed (the client then waits only for the network and a keyframe). */
  readonly joined?: (joinMs: number) => void;
}

export interface PeerSessionOptions {
  readonly lookup: (channelId: string) => SfuChannel | undefined;
  /** Checks a token given at join: null when it is the operators', else why not (constant time, throttling: the caller's). */
  readonly checkOperatorToken: (token: string) => string | null;
  readonly onChannelGone: () => void;
  readonly hooks?: PeerSessionHooks;
}

type Handled = ResponseData[SignalingRequest['type']];

/**
 * One signaling connection's side of the SFU. A viewer joins a channel, opens one receive transport,
 * consumes the channel's video and audio and resumes them. The operator (who joins with the token) may
 * also open a send transport and produce its camera and microphone, which drive the avatar. Requests
 * out of order get a SignalingError, never a crash; closing the session (leave, socket gone, channel
 * gone) frees its transports, consumers and producers.
 */
export class PeerSession {
  readonly #options: PeerSessionOptions;
  #channel: SfuChannel | null = null;
  #role: 'viewer' | 'operator' = 'viewer';
  #recv: ms.WebRtcTransport | null = null;
  #send: ms.WebRtcTransport | null = null;
  #consumers: ms.Consumer[] = [];
  /** Transports whose DTLS parameters were given (mediasoup takes them once). */
  readonly #connected = new Set<ms.WebRtcTransport>();
  #joinedAtMs = 0;
  #closed = false;

  constructor(options: PeerSessionOptions) {
    this.#options = options;
  }

  async handle(request: SignalingRequest): Promise<Handled> {
    if (this.#closed) throw new SignalingError('session is closed');
    switch (request.type) {
      case 'join':
        return this.#join(request.channel, request.role, request.token);
      case 'createTransport':
        return this.#createTransport(request.direction);
      case 'connect':
        return this.#connect(request.transportId, request.dtlsParameters as unknown as ms.DtlsParameters);
      case 'consume':
        return this.#consume(request.transportId, request.rtpCapabilities as unknown as ms.RtpCapabilities);
      case 'resume':
        return this.#resume();
      case 'produce':
        return this.#produce(request.transportId, request.kind, request.rtpParameters as unknown as ms.RtpParameters);
      case 'leave':
        this.#leave();
        return {};
    }
  }

  #join(channelId: string, role: 'viewer' | 'operator', token: string | undefined): ResponseData['join'] {
    if (this.#channel) throw new SignalingError(`already joined channel ${this.#channel.id}; leave first`);
    if (role === 'operator' && !token) throw new SignalingError('operator token missing or wrong');
    // A viewer needs no token; one that sends a token (the console's preview) must send the right one.
    const refusal = token === undefined ? null : this.#options.checkOperatorToken(token);
    if (refusal) throw new SignalingError(refusal);
    const channel = this.#options.lookup(channelId);
    if (!channel || channel.closed) throw new SignalingError(`no channel ${channelId} is live over WebRTC`);
    this.#channel = channel;
    this.#role = role;
    this.#joinedAtMs = performance.now();
    channel.router.observer.once('close', this.#channelClosed);
    return { routerRtpCapabilities: channel.router.rtpCapabilities };
  }

  readonly #channelClosed = (): void => {
    this.#leave();
    this.#options.onChannelGone();
  };

  async #createTransport(direction: 'recv' | 'send'): Promise<ResponseData['createTransport']> {
    const channel = this.#joined();
    if (direction === 'send' && this.#role !== 'operator') throw new SignalingError('only the operator may send media; join as operator');
    if ((direction === 'recv' ? this.#recv : this.#send) !== null) throw new SignalingError(`a ${direction} transport is already open for this session`);
    const transport = direction === 'recv' ? await channel.openViewerTransport() : await channel.openOperatorTransport();
    if (this.#closed || this.#channel !== channel) {
      transport.close();
      throw new SignalingError('session left while the transport was opening');
    }
    if (direction === 'recv') this.#recv = transport;
    else this.#send = transport;
    return { transport: { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters } };
  }

  async #connect(transportId: string, dtlsParameters: ms.DtlsParameters): Promise<ResponseData['connect']> {
    const transport = this.#transportFor(transportId);
    if (this.#connected.has(transport)) throw new SignalingError(`transport ${transportId} is already connected`);
    this.#connected.add(transport);
    try {
      await transport.connect({ dtlsParameters });
    } catch (err) {
      // Refused parameters: the client may try again with better ones.
      this.#connected.delete(transport);
      throw err;
    }
    return {};
  }

  async #consume(transportId: string, rtpCapabilities: ms.RtpCapabilities): Promise<ResponseData['consume']> {
    const channel = this.#joined();
    const transport = this.#transportFor(transportId);
    if (transport !== this.#recv) throw new SignalingError('consume needs the receive transport');
    if (this.#consumers.length) throw new SignalingError('already consuming; resume or leave');
    const consumers: ms.Consumer[] = [];
    try {
      for (const producer of [channel.producers.video, channel.producers.audio]) {
        let canConsume = false;
        try {
          canConsume = channel.router.canConsume({ producerId: producer.id, rtpCapabilities });
        } catch {
          throw new SignalingError('rtpCapabilities are not valid RTP capabilities');
        }
        if (!canConsume) throw new SignalingError(`this client cannot receive the channel's ${producer.kind} (${producer.rtpParameters.codecs[0]?.mimeType})`);
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
        channel.watchConsumer(consumer);
        consumers.push(consumer);
      }
    } catch (err) {
      for (const c of consumers) c.close();
      throw err;
    }
    this.#consumers = consumers;
    return { consumers: consumers.map((c) => ({ id: c.id, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters })) };
  }

  async #resume(): Promise<ResponseData['resume']> {
    if (!this.#consumers.length) throw new SignalingError('nothing to resume: consume first');
    for (const consumer of this.#consumers) {
      await consumer.resume();
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
    }
    this.#options.hooks?.joined?.(performance.now() - this.#joinedAtMs);
    return {};
  }

  async #produce(transportId: string, kind: 'audio' | 'video', rtpParameters: ms.RtpParameters): Promise<ResponseData['produce']> {
    const channel = this.#joined();
    const transport = this.#transportFor(transportId);
    if (transport !== this.#send) throw new SignalingError('produce needs the send transport');
    let producer: ms.Producer;
    try {
      producer = await transport.produce({ kind, rtpParameters });
    } catch (err) {
      throw new SignalingError(`the ${kind} cannot be received: ${(err as Error).message}`);
    }
    channel.setOperatorProducer(producer);
    return { producerId: producer.id };
  }

  #joined(): SfuChannel {
    if (!this.#channel) throw new SignalingError('join a channel first');
    return this.#channel;
  }

  #transportFor(id: string): ms.WebRtcTransport {
    this.#joined();
    if (this.#recv?.id === id) return this.#recv;
    if (this.#send?.id === id) return this.#send;
    throw new SignalingError(`unknown transport ${id}`);
  }

  #leave(): void {
    this.#channel?.router.observer.off('close', this.#channelClosed);
    // Closing a transport closes its consumers and producers.
    this.#recv?.close();
    this.#send?.close();
    this.#recv = null;
    this.#send = null;
    this.#connected.clear();
    this.#consumers = [];
    this.#channel = null;
    this.#role = 'viewer';
  }

  /** Whether the session is in a channel now (joined and not left). */
  get inChannel(): boolean {
    return this.#channel !== null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave();
  }
}
