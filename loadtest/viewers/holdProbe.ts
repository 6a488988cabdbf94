/**
 * What is measured over the hold: the server's CPU by role, its resident memory, Chromium's CPU and
 * decoded frames, and this process's own CPU and event-loop delay.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BrowserViewers, Playback } from './browserViewers.js';
import { CpuWindow, type ServerRoles } from './cpuWindow.js';
import { rssBytes } from './procStats.js';
import type { CoreSplit } from './report.js';

export const serverRss = (roles: ServerRoles) => [...roles.node, ...roles.worker].reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
export const coreSplit = (c: Record<string, number>): CoreSplit => ({ node: c.node ?? 0, ffmpeg: c.ffmpeg ?? 0, worker: c.worker ?? 0, other: c.other ?? 0 });

export interface HoldMeasures {
  readonly seconds: number;
  readonly server: CoreSplit | null;
  /** Server RSS when the hold began (every viewer joined) and the highest seen during it. */
  readonly rssJoined: number;
  readonly rssMax: number;
  readonly chromiumCores: number;
  readonly playback: { readonly before: Playback[]; readonly after: Playback[] };
  readonly selfCores: number;
  readonly selfRss: number;
  readonly loopDelayP99: number;
  readonly loopDelayMax: number;
}

export class HoldProbe {
  readonly #startedAt = performance.now();
  readonly #roles: ServerRoles | null;
  readonly #browsers: BrowserViewers | null;
  readonly #server: CpuWindow | null;
  readonly #chromium: CpuWindow;
  readonly #self = process.cpuUsage();
  readonly #loop = monitorEventLoopDelay({ resolution: 10 });
  readonly #rssJoined: number;
  #rssMax: number;
  #selfRss = 0;
  readonly #timer: NodeJS.Timeout;
  #playbackBefore: Promise<Playback[]>;

  constructor(roles: ServerRoles | null, browsers: BrowserViewers | null) {
    this.#roles = roles;
    this.#browsers = browsers;
    this.#server = roles ? new CpuWindow(roles) : null;
    this.#chromium = new CpuWindow({ chromium: browsers?.pids() ?? [] });
    this.#playbackBefore = browsers?.playback() ?? Promise.resolve([]);
    this.#loop.enable();
    this.#rssJoined = this.#rssMax = roles ? serverRss(roles) : 0;
    this.#timer = setInterval(() => this.#sampleMemory(), 1000);
  }

  #sampleMemory(): void {
    if (this.#roles) this.#rssMax = Math.max(this.#rssMax, serverRss(this.#roles));
    this.#selfRss = Math.max(this.#selfRss, process.memoryUsage.rss());
  }

  async stop(): Promise<HoldMeasures> {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const self = process.cpuUsage(this.#self);
    const server = this.#server ? coreSplit(this.#server.cores()) : null;
    const chromiumCores = this.#chromium.cores().chromium ?? 0;
    this.#sampleMemory();
    clearInterval(this.#timer);
    this.#loop.disable();
    const playback = { before: await this.#playbackBefore, after: (await this.#browsers?.playback()) ?? [] };
    return {
      seconds,
      server,
      rssJoined: this.#rssJoined,
      rssMax: this.#rssMax,
      chromiumCores,
      playback,
      selfCores: (self.user + self.system) / 1e6 / seconds,
      selfRss: this.#selfRss,
      loopDelayP99: this.#loop.percentile(99) / 1e6,
      loopDelayMax: this.#loop.max / 1e6,
    };
  }
}
