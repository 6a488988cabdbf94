/** The counting viewers as a group: joined at a steady rate (so joins do not all land at once), closed together. */
import { RTCDtlsTransport } from 'werift';
import { WeriftViewer, type ViewerSnapshot } from './weriftViewer.js';

/** A viewer that has no video this long after opening its WebSocket has failed. */
const JOIN_TIMEOUT_MS = 20_000;

export class Crowd {
  readonly viewers: WeriftViewer[] = [];
  #closed = false;

  /** `fullSrtp`: werift decrypts every packet instead of header-only counting (see WeriftViewer). */
  constructor(private readonly fullSrtp = false) {}

  /** Starts `count` joins, `perSecond` a second, and resolves when every join has succeeded or failed. */
  async join(wsUrl: string, channel: string, count: number, perSecond: number, progress: (started: number, live: number) => void): Promise<void> {
    // werift makes one DTLS certificate per process, on first use: make it now, outside every join time.
    await RTCDtlsTransport.SetupCertificate();
    const joins: Promise<void>[] = [];
    const gapMs = 1000 / perSecond;
    const start = performance.now();
    for (let i = 0; i < count && !this.#closed; i++) {
      const wait = start + i * gapMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const viewer = new WeriftViewer(this.fullSrtp);
      this.viewers.push(viewer);
      joins.push(viewer.join(wsUrl, channel, JOIN_TIMEOUT_MS));
      if (i % Math.max(1, Math.round(perSecond)) === 0) progress(i + 1, this.live().length);
    }
    await Promise.all(joins);
    progress(this.viewers.length, this.live().length);
  }

  /** Viewers that have received video. */
  live(): WeriftViewer[] {
    return this.viewers.filter((v) => v.times.firstVideo !== null);
  }

  snapshot(): Map<WeriftViewer, ViewerSnapshot> {
    return new Map(this.viewers.map((v) => [v, v.snapshot()]));
  }

  async close(): Promise<void> {
    this.#closed = true;
    // werift's close may wait on timers: a bounded wait is enough, the process exits afterwards.
    await Promise.race([Promise.all(this.viewers.map((v) => v.close())), new Promise((r) => setTimeout(r, 5000))]);
  }
}
