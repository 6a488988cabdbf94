/**
 * The live preview: the channel as viewers get it (WebRTC through the SFU, joined with the operator token),
 * with the frame rate the browser decodes, the delay it adds (network, jitter buffer, decode) and the
 * encoder's A/V offset.
 */
import { session } from './api.js';
import { t, onLanguageChange, type MessageKey } from './i18n.js';
import { $, consoleState } from './state.js';
import { watchChannel, type ViewerState, type Watching } from '../viewerConnection.js';

interface InboundVideo {
  framesPerSecond?: number;
  framesDecoded?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
  totalDecodeTime?: number;
}

export interface PreviewStats {
  readonly state: ViewerState;
  readonly fps: number | null;
  /** Receive-side delay: half the round trip, the jitter buffer and decoding, ms. */
  readonly latencyMs: number | null;
  readonly avOffsetMs: number | null;
}

const video = $<HTMLVideoElement>('preview');
const badge = $('preview-state');
let watching: Watching | null = null;
let state: ViewerState = 'connecting';
let stats: PreviewStats = { state, fps: null, latencyMs: null, avOffsetMs: null };
let previous: { jb: number; emitted: number; decode: number; decoded: number } | null = null;

function showState(next: ViewerState): void {
  state = next;
  badge.dataset.state = next;
  badge.textContent = t(`state_${next}` as MessageKey);
}

async function sample(): Promise<void> {
  const all = watching ? await watching.stats() : [];
  // The video stream that is playing: a receiver may also list a paused one with nothing decoded.
  const videos = all.filter((s) => s.type === 'inbound-rtp' && (s as { kind?: string }).kind === 'video') as InboundVideo[];
  const inbound = videos.sort((a, b) => (b.framesDecoded ?? 0) - (a.framesDecoded ?? 0))[0];
  const pair = all.find((s) => s.type === 'candidate-pair' && (s as { nominated?: boolean }).nominated) as { currentRoundTripTime?: number } | undefined;
  let latencyMs: number | null = null;
  if (inbound) {
    const now = { jb: inbound.jitterBufferDelay ?? 0, emitted: inbound.jitterBufferEmittedCount ?? 0, decode: inbound.totalDecodeTime ?? 0, decoded: inbound.framesDecoded ?? 0 };
    if (previous && now.emitted > previous.emitted && now.decoded > previous.decoded) {
      const buffer = (now.jb - previous.jb) / (now.emitted - previous.emitted);
      const decode = (now.decode - previous.decode) / (now.decoded - previous.decoded);
      latencyMs = Math.round(((pair?.currentRoundTripTime ?? 0) / 2 + buffer + decode) * 1000);
    }
    previous = now;
  } else {
    previous = null;
  }
  stats = { state, fps: inbound?.framesPerSecond ?? null, latencyMs, avOffsetMs: consoleState.status?.avOffsetMs ?? null };
  $('stat-fps').textContent = stats.fps === null ? '—' : stats.fps.toFixed(0);
  $('stat-latency').textContent = stats.latencyMs === null ? '—' : `${stats.latencyMs} ms`;
  $('stat-av').textContent = stats.avOffsetMs === null ? '—' : `${stats.avOffsetMs} ms`;
}

function watch(channel: string): void {
  watching?.stop();
  previous = null;
  watching = watchChannel({ channel, video, token: session.token, onState: showState });
}

export function initPreview(): void {
  consoleState.onChannel(watch);
  consoleState.onStatus((status) => ($('stat-viewers').textContent = String(status.viewers)));
  session.onSignedOut(() => {
    watching?.stop();
    watching = null;
    showState('connecting');
  });
  onLanguageChange(() => showState(state));
  $('preview-sound').addEventListener('click', () => {
    video.muted = !video.muted;
    void video.play();
  });
  setInterval(() => void sample().catch(() => undefined), 1000);
  // For tests and diagnostics: what the preview shows and measures.
  (window as unknown as { fenshenConsole: unknown }).fenshenConsole = { previewStats: () => stats };
}
