/**
 * The viewer page (/watch/:id): watches the channel over WebRTC and reconnects by itself. Video starts
 * muted (browsers only autoplay muted media); one tap turns the sound on.
 */
import { watchChannel, type ViewerState } from './viewerConnection.js';

const LABELS: Record<ViewerState, string> = {
  connecting: '连接中 · connecting',
  live: '直播中 · live',
  reconnecting: '重新连接 · reconnecting',
  offline: '未开播 · offline',
  refused: '无法观看 · refused',
};

const video = document.getElementById('video') as HTMLVideoElement;
const badge = document.getElementById('state') as HTMLElement;
const unmute = document.getElementById('unmute') as HTMLButtonElement;
const channelId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? 'main');

unmute.addEventListener('click', () => {
  video.muted = false;
  void video.play();
  unmute.hidden = true;
});

const watching = watchChannel({
  channel: channelId,
  video,
  onState(state, detail) {
    if (detail) console.warn('fenshen viewer:', detail);
    // An offline channel stays "offline" while the page keeps retrying.
    if (state === 'reconnecting' && badge.dataset.state === 'offline') return;
    badge.dataset.state = state;
    badge.textContent = LABELS[state];
    if (state === 'live') unmute.hidden = !video.muted;
  },
});
// For tests and diagnostics: the receive transport's WebRTC stats (inbound-rtp per kind).
(window as unknown as { fenshenViewer: unknown }).fenshenViewer = { stats: () => watching.stats() };
