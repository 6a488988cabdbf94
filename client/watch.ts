/**
 * The viewer page (/watch/:id): joins the channel over the signaling WebSocket, receives its video and
 * audio through mediasoup-client, and reconnects by itself. Video starts muted (browsers only autoplay
 * muted media); one tap turns the sound on.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { SignalingClient } from './signalingClient.js';

type ViewerState = 'connecting' | 'live' | 'reconnecting' | 'offline';

const LABELS: Record<ViewerState, string> = {
  connecting: '连接中 · connecting',
  live: '直播中 · live',
  reconnecting: '重新连接 · reconnecting',
  offline: '未开播 · offline',
};

const video = document.getElementById('video') as HTMLVideoElement;
const badge = document.getElementById('state') as HTMLElement;
const unmute = document.getElementById('unmute') as HTMLButtonElement;
const channelId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? 'main');

function show(state: ViewerState): void {
  badge.dataset.state = state;
  badge.textContent = LABELS[state];
}

unmute.addEventListener('click', () => {
  video.muted = false;
  void video.play();
  unmute.hidden = true;
});

/** One connection attempt: resolves when it ends (socket closed, transport failed, channel gone). */
async function watchOnce(): Promise<void> {
  const signaling = await SignalingClient.open(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  let transport: types.Transport | null = null;
  try {
    const { routerRtpCapabilities } = await signaling.request('join', { channel: channelId });
    const device = new Device();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    const { transport: info } = await signaling.request('createTransport', {});
    const recv = device.createRecvTransport(info as types.TransportOptions);
    transport = recv;
    recv.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('connect', { transportId: recv.id, dtlsParameters }).then(() => callback(), errback);
    });
    const ended = new Promise<void>((resolve) => {
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
    video.srcObject = stream;
    // For tests and diagnostics: the receive transport's WebRTC stats (inbound-rtp per kind).
    (window as unknown as { fenshenViewer: unknown }).fenshenViewer = { stats: async () => [...(await recv.getStats()).values()] };
    await signaling.request('resume', {});
    video.play().catch(() => undefined);
    show('live');
    unmute.hidden = !video.muted;
    await ended;
  } finally {
    transport?.close();
    signaling.close();
  }
}

async function run(): Promise<void> {
  let failures = 0;
  for (;;) {
    try {
      await watchOnce();
      failures = 0;
    } catch (err) {
      failures++;
      console.warn('fenshen viewer:', (err as Error).message);
      if (/no channel/.test((err as Error).message)) show('offline');
    }
    if (badge.dataset.state !== 'offline') show('reconnecting');
    // Back off 0.5 s, 1 s, 2 s … up to 5 s between attempts.
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(failures, 4))));
  }
}

void run();
