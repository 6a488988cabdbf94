import type { types as ms } from 'mediasoup';
import type { ResponseData, SignalingRequest } from './messages.js';
import type { SfuChannel } from './sfu.js';

/** A request that cannot be served in this state or with these values: its message goes to the client. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
}

/** What a session reports for the metrics. */
export interface ViewerSessionHooks {
  /** From join to the consumers resumed (the client then waits only for the network and a keyframe). */
  readonly joined?: (joinMs: number) => void;
}

/**
 * One viewer's side of the signaling: join a channel, one receive transport, consumers for the channel's
 * video and audio, resume, leave. Requests out of order get a SignalingError, never a crash; closing
 * the session (leave, socket gone, channel gone) frees its transport and consumers.
 */
export class ViewerSession {
  readonly #lookup: (channelId: string) => SfuChannel | undefined;
  readonly #hooks: ViewerSessionHooks;
  readonly #onChannelGone: () => void;
  #channel: SfuChannel | null = null;
  #transport: ms.WebRtcTransport | null = null;
  #consumers: ms.Consumer[] = [];
  #joinedAtMs = 0;
  #closed = false;

  constructor(lookup: (channelId: string) => SfuChannel | undefined, onChannelGone: () => void, hooks: ViewerSessionHooks = {}) {
    this.#lookup = lookup;
    this.#onChannelGone = onChannelGone;
    this.#hooks = hooks;
  }

  get consumers(): readonly ms.Consumer[] {
    return this.#consumers;
  }

  async handle(request: SignalingRequest): Promise<ResponseData[SignalingRequest['type']]> {
    if (this.#closed) throw new SignalingError('session is closed');
    switch (request.type) {
      case 'join':
        return this.#join(request.channel);
      case 'createTransport':
        return this.#createTransport();
      case 'connect':
        await this.#transportFor(request.transportId).connect({ dtlsParameters: request.dtlsParameters as unknown as ms.DtlsParameters });
        return {};
      case 'consume':
        return this.#consume(request.transportId, request.rtpCapabilities as unknown as ms.RtpCapabilities);
      case 'resume':
        return this.#resume();
      case 'leave':
        this.#leave();
        return {};
    }
  }

  #join(channelId: string): ResponseData['join'] {
    if (this.#channel) throw new SignalingError(`already joined channel ${this.#channel.id}; leave first`);
    const channel = this.#lookup(channelId);
    if (!channel || channel.closed) throw new SignalingError(`no channel ${channelId} is live over WebRTC`);
    this.#channel = channel;
    this.#joinedAtMs = performance.now();
    channel.router.observer.once('close', this.#channelClosed);
    return { routerRtpCapabilities: channel.router.rtpCapabilities };
  }

  readonly #channelClosed = (): void => {
    this.#leave();
    this.#onChannelGone();
  };

  async #createTransport(): Promise<ResponseData['createTransport']> {
    const channel = this.#joined();
    if (this.#transport) throw new SignalingError('a transport is already open for this session');
    const transport = await channel.openViewerTransport();
    if (this.#closed || this.#channel !== channel) {
      transport.close();
      throw new SignalingError('session left while the transport was opening');
    }
    this.#transport = transport;
    return { transport: { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters } };
  }

  async #consume(transportId: string, rtpCapabilities: ms.RtpCapabilities): Promise<ResponseData['consume']> {
    const channel = this.#joined();
    const transport = this.#transportFor(transportId);
    if (this.#consumers.length) throw new SignalingError('already consuming; resume or leave');
    const consumers: ms.Consumer[] = [];
    for (const producer of [channel.producers.video, channel.producers.audio]) {
      let canConsume = false;
      try {
        canConsume = channel.router.canConsume({ producerId: producer.id, rtpCapabilities });
      } catch {
        throw new SignalingError('rtpCapabilities are not valid RTP capabilities');
      }
      if (!canConsume) {
        for (const c of consumers) c.close();
        throw new SignalingError(`this client cannot receive the channel's ${producer.kind} (${producer.rtpParameters.codecs[0]?.mimeType})`);
      }
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
      channel.watchConsumer(consumer);
      consumers.push(consumer);
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
    this.#hooks.joined?.(performance.now() - this.#joinedAtMs);
    return {};
  }

  #joined(): SfuChannel {
    if (!this.#channel) throw new SignalingError('join a channel first');
    return this.#channel;
  }

  #transportFor(id: string): ms.WebRtcTransport {
    this.#joined();
    if (!this.#transport || this.#transport.id !== id) throw new SignalingError(`unknown transport ${id}`);
    return this.#transport;
  }

  #leave(): void {
    this.#channel?.router.observer.off('close', this.#channelClosed);
    // Closing the transport closes its consumers.
    this.#transport?.close();
    this.#transport = null;
    this.#consumers = [];
    this.#channel = null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave();
  }
}
