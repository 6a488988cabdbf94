/**
 * Receiving a channel over WebRTC (mediasoup-client): join, one receive transport, consume the channel's
 * video and audio into a MediaStream, and reconnect by itself with a short backoff. The viewer page and the
 * console's preview both watch through it.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { SignalingClient } from './signalingClient.js';

export type ViewerState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'refused';

export interface WatchOptions {
  readonly channel: string;
  readonly video: HTMLVideoElement;
  /** The operator token (the console sends it; a wrong one is refused). */
  readonly token?: string;
  readonly onState: (state: ViewerState, detail?: string) => void;
}

export interface Watching {
  /** The receive transport's WebRTC stats (inbound-rtp per kind, candidate pairs), or [] between connections. */
  stats(): Promise<RTCStats[]>;
  stop(): void;
}

export function watchChannel(options: WatchOptions): Watching {
  let stopped = false;
  let current: { transport: types.Transport; signaling: SignalingClient } | null = null;
  let wake: (() => void) | null = null;
  // A stopped watcher says nothing more (its page may already watch another channel).
  const report = (state: ViewerState, detail?: string) => {
    if (!stopped) options.onState(state, detail);
  };

  async function once(): Promise<void> {
    const signaling = await SignalingClient.open(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    let transport: types.Transport | null = null;
    try {
      const { routerRtpCapabilities } = await signaling.request('join', { channel: options.channel, ...(options.token ? { token: options.token } : {}) });
      const device = new Device();
      await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
      const { transport: info } = await signaling.request('createTransport', {});
      const recv = device.createRecvTransport(info as types.TransportOptions);
      transport = recv;
      recv.on('connect', ({ dtlsParameters }, callback, errback) => {
        signaling.request('connect', { transportId: recv.id, dtlsParameters }).then(() => callback(), errback);
      });
      const ended = new Promise<void>((resolve) => {
        wake = resolve;
        recv.on('connectionstatechange', (state) => {
          if (state === 'failed' || state === 'closed') resolve();
        });
        signaling.onClose(resolve);
        signaling.onNotification((n) => {
          if (n.notification === 'channelClosed') resolve();
        });
      });
      const { consumers } = await signaling.request('consume', { transportId: recv.id, rtpCapabilities: device.recvRtpCapabilities });
      const stream = new MediaStream();
      for (const c of consumers) {
        const consumer = await recv.consume({ id: c.id, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters as types.RtpParameters });
        stream.addTrack(consumer.track);
      }
      options.video.srcObject = stream;
      current = { transport: recv, signaling };
      await signaling.request('resume', {});
      options.video.play().catch(() => undefined);
      report('live');
      await ended;
    } finally {
      current = null;
      wake = null;
      transport?.close();
      signaling.close();
    }
  }

  void (async () => {
    let failures = 0;
    report('connecting');
    while (!stopped) {
      try {
        await once();
        failures = 0;
      } catch (err) {
        failures++;
        const message = (err as Error).message;
        if (/token/.test(message)) {
          report('refused', message);
          return;
        }
        report(/no channel/.test(message) ? 'offline' : 'reconnecting', message);
      }
      if (stopped) return;
      report('reconnecting');
      // Back off 0.5 s, 1 s, 2 s … up to 5 s between attempts.
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(failures, 4))));
    }
  })();

  return {
    async stats() {
      return current ? [...(await current.transport.getStats()).values()] as RTCStats[] : [];
    },
    stop() {
      stopped = true;
      wake?.();
      options.video.srcObject = null;
    },
  };
}
