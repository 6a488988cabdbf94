import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Sfu } from './sfu.js';

/**
 * WebRTC metrics: viewers and transports, bitrate out and worst consumer score per channel (read from
 * mediasoup when Prometheus scrapes), join time, signaling errors.
 */
export class WebrtcMetrics {
  readonly joinSeconds: Histogram;
  readonly signalingErrors: Counter<'kind'>;

  constructor(registry: Registry, sfu: Sfu) {
    const registers = [registry];
    new Gauge({
      name: 'fenshen_webrtc_viewers',
      help: 'WebRTC viewers connected (DTLS up) per channel',
      labelNames: ['channel'],
      registers,
      collect() {
        this.reset();
        for (const channel of sfu.channels()) this.set({ channel: channel.id }, channel.viewerCount);
      },
    });
    // Registered first: one stats round per scrape fills it and the two gauges after it.
    new Gauge({
      name: 'fenshen_webrtc_bytes_sent',
      help: 'Bytes sent to the WebRTC viewers connected now, per channel',
      labelNames: ['channel'],
      registers,
      async collect() {
        this.reset();
        bitrate.reset();
        score.reset();
        for (const channel of sfu.channels()) {
          const stats = await channel.stats();
          this.set({ channel: channel.id }, stats.bytesSent);
          bitrate.set({ channel: channel.id }, stats.sendBitrateBps);
          if (stats.minScore !== null) score.set({ channel: channel.id }, stats.minScore);
        }
      },
    });
    const bitrate = new Gauge({ name: 'fenshen_webrtc_send_bitrate_bps', help: 'Bits per second sent to all WebRTC viewers of a channel', labelNames: ['channel'], registers });
    const score = new Gauge({ name: 'fenshen_webrtc_consumer_score_min', help: 'Worst viewer consumer score (0-10, 10 is a clean path) per channel', labelNames: ['channel'], registers });
    this.joinSeconds = new Histogram({
      name: 'fenshen_webrtc_join_seconds',
      help: 'Viewer join to media resumed, on the server (signaling and transport set-up)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers,
    });
    this.signalingErrors = new Counter({ name: 'fenshen_webrtc_signaling_errors_total', help: 'Signaling requests refused (request: the client\'s fault; internal: ours)', labelNames: ['kind'], registers });
  }
}
