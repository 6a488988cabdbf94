/**
 * The sampled viewers: headless Debian Chromium pages on /watch/<channel> that really decode. They give
 * Chromium's decoded frame rate and glass-to-glass latency (a background colour change requested over
 * the API, timed until the page shows it).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { AWAIT_WATCH, FIRST_FRAME, PLAYBACK_QUALITY, SHOWING, arm, installColourWatch } from './pageScripts.js';
import { commandLine, descendants } from './procStats.js';

export interface Playback {
  readonly decoded: number;
  readonly dropped: number;
}

export interface FlipResult {
  /** Per page: ms from sending the PUT to the page showing the colour (null: never seen). */
  readonly latencies: (number | null)[][];
  /** Per page: ms from sending the PUT to Chromium receiving the first frame in the new colour. */
  readonly received: (number | null)[][];
  /** Round trip of each PUT /scene, ms: part of every latency (the server prepares the scene). */
  readonly putMs: number[];
}

/** A change not seen within this time counts as missed. */
const WATCH_TIMEOUT_MS = 5000;

/** Two backgrounds far apart in colour and from the default gradient. */
const COLOURS = [
  { hex: '#d02020', rgb: [208, 32, 32] as const },
  { hex: '#20b040', rgb: [32, 176, 64] as const },
];

export class BrowserViewers {
  readonly #browser: Browser;
  readonly #pages: Page[];
  /** Per page: ms from opening it to its first decoded frame. */
  readonly firstFrameMs: number[];

  private constructor(browser: Browser, pages: Page[], firstFrameMs: number[]) {
    this.#browser = browser;
    this.#pages = pages;
    this.firstFrameMs = firstFrameMs;
  }

  static async launch(url: string, channel: string, count: number): Promise<BrowserViewers> {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--autoplay-policy=no-user-gesture-required'],
      // The load test closes Chromium itself on a signal: Playwright's own handler would exit the process
      // before the server is stopped.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const pages: Page[] = [];
    const firstFrameMs: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        // A small viewport: the video still decodes at full size, but painting it costs less.
        const page = await browser.newPage({ viewport: { width: 180, height: 320 } });
        pages.push(page);
        const opened = Date.now();
        await page.goto(`${url}/watch/${channel}`);
        await page.waitForSelector('#state[data-state="live"]', { timeout: 30_000 });
        firstFrameMs.push(((await page.evaluate(FIRST_FRAME)) as number) - opened);
      }
    } catch (err) {
      await browser.close();
      throw err;
    }
    return new BrowserViewers(browser, pages, firstFrameMs);
  }

  /** Chromium's processes (browser, renderers, GPU and utility), all children of this process. */
  pids(): number[] {
    return descendants(process.pid).filter((pid) => /chrom/i.test(commandLine(pid)));
  }

  async playback(): Promise<Playback[]> {
    return Promise.all(this.#pages.map(async (p) => (await p.evaluate(PLAYBACK_QUALITY)) as Playback));
  }

  /**
   * Alternates the background between two colours `flips` times, at least `intervalMs` apart, and times
   * each change on every page. `setBackground` sends the PUT and resolves when it is answered.
   */
  async flipLatencies(setBackground: (hex: string) => Promise<void>, flips: number, intervalMs: number): Promise<FlipResult> {
    await Promise.all(this.#pages.map((p) => p.evaluate(installColourWatch(COLOURS.map((c) => c.rgb)))));
    /** Arms every page, sends the change, and answers per page the times it was received and shown. */
    const change = async (colour: number) => {
      await Promise.all(this.#pages.map((p) => p.evaluate(arm(colour, WATCH_TIMEOUT_MS))));
      const sent = Date.now();
      await setBackground(COLOURS[colour]?.hex ?? '#000000');
      const putMs = Date.now() - sent;
      const seen = await Promise.all(this.#pages.map(async (p) => (await p.evaluate(AWAIT_WATCH)) as { shown: number | null; received: number | null }));
      return { sent, putMs, seen };
    };
    // Settle on the first colour, untimed: the first change may also load what the scene needs.
    await change(0);
    const latencies: (number | null)[][] = this.#pages.map(() => []);
    const received: (number | null)[][] = this.#pages.map(() => []);
    const putMs: number[] = [];
    for (let i = 0; i < flips; i++) {
      const { sent, putMs: put, seen } = await change((i + 1) % 2);
      putMs.push(put);
      seen.forEach((t, page) => {
        latencies[page]?.push(t.shown === null ? null : t.shown - sent);
        received[page]?.push(t.received === null ? null : t.received - sent);
      });
      // A page that missed this change must show it before the next one, or the next would start
      // from an unknown picture: wait for it, untimed.
      await Promise.all(this.#pages.map((p, page) => (seen[page]?.shown === null ? this.#showing(p, (i + 1) % 2) : undefined)));
      const rest = intervalMs - (Date.now() - sent);
      if (rest > 0) await sleep(rest);
    }
    return { latencies, received, putMs };
  }

  /** Resolves once a page shows `colour` (or after a while: the run goes on). */
  async #showing(page: Page, colour: number): Promise<void> {
    const deadline = Date.now() + WATCH_TIMEOUT_MS;
    while (Date.now() < deadline && (await page.evaluate(SHOWING)) !== colour) await sleep(100);
  }

  async close(): Promise<void> {
    await this.#browser.close().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
