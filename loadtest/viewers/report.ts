/** The load test's results as markdown tables: goals first, then the details behind each. */
import { spread, type Spread } from './stats.js';

export interface CoreSplit {
  readonly node: number;
  readonly ffmpeg: number;
  readonly worker: number;
  readonly other: number;
}

export interface Results {
  readonly viewers: number;
  readonly sample: number;
  /** The counting viewers decrypted every packet (else: header-only after the first IDR, no NACKs). */
  readonly fullSrtp: boolean;
  readonly holdSeconds: number;
  readonly load: { readonly before: string; readonly after: string };
  /** Viewers the server counted during the hold (GET /api/channels/:id). */
  readonly serverViewers: number | null;
  readonly join: { readonly signaled: number[]; readonly iceConnected: number[]; readonly connected: number[]; readonly firstVideo: number[]; readonly firstKeyframe: number[] };
  /** Counting viewers that received video. */
  readonly joined: number;
  readonly failures: { readonly count: number; readonly messages: readonly string[] };
  /** Frames per second per joined counting viewer over the hold. */
  readonly fps: number[];
  readonly packets: { readonly video: number; readonly audio: number; readonly lostVideo: number; readonly lostAudio: number; readonly keyframes: number };
  readonly notifications: number;
  readonly browser: {
    readonly firstFrameMs: number[];
    readonly decodedFps: number[];
    readonly dropped: number[];
    readonly latencies: (number | null)[][];
    readonly received: (number | null)[][];
    readonly putMs: number[];
  } | null;
  readonly server: {
    readonly idle: CoreSplit;
    readonly hold: CoreSplit;
    readonly rssBefore: number;
    /** Once every viewer has joined, before any background change. */
    readonly rssJoined: number;
    /** Highest during the hold, background changes included. */
    readonly rssMax: number;
  } | null;
  readonly loadgen: {
    readonly selfCores: number;
    readonly chromiumCores: number;
    readonly selfRss: number;
    /** This process's event-loop delay during the hold, ms: high means its peers were served late. */
    readonly loopDelayP99: number;
    readonly loopDelayMax: number;
  };
}

const ms = (v: number | null) => (v === null ? '–' : `${Math.round(v)} ms`);
const num = (v: number | null, digits = 1) => (v === null ? '–' : v.toFixed(digits));
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const verdict = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'yes' : '**no**');
const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const pct = (s: Spread) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.max)}`;

export function formatReport(r: Results): string {
  const out: string[] = [];
  const joinVideo = spread(r.join.firstVideo);
  const fps = spread(r.fps);
  const g2g = r.browser ? spread(r.browser.latencies.flat().filter((v): v is number => v !== null)) : null;
  const totalViewers = r.joined + (r.browser?.firstFrameMs.length ?? 0);
  const sfuPerViewer = r.server && totalViewers ? (r.server.hold.worker - r.server.idle.worker) / totalViewers : null;

  out.push(`## Viewer load test: ${r.viewers} werift viewers + ${r.sample} Chromium, ${r.holdSeconds.toFixed(0)} s hold`, '');
  out.push(`load average before ${r.load.before}, after ${r.load.after}; server counted ${r.serverViewers ?? '?'} viewers during the hold`, '');
  // This process's event loop running late delays when packets are seen (join times) and, past a point,
  // overflows its sockets (loss, low frame rates): say so rather than blame the server.
  if (r.loadgen.loopDelayP99 > 500) {
    out.push(`**The load generator was starved**: its event loop ran ${ms(r.loadgen.loopDelayP99)} late (p99), load average ${r.load.after}. The counting viewers' joins, frame rates and losses describe this box's overload as much as the server.`, '');
  } else if (r.loadgen.loopDelayP99 > 100) {
    out.push(`The load generator ran late (event loop ${ms(r.loadgen.loopDelayP99)} late, p99): its join times include up to that much of its own delay.`, '');
  }
  out.push(row(['goal', 'target', 'measured', 'met']), row(['---', '---', '---', '---']));
  out.push(row(['viewers, each > 25 fps', '200', `${r.fps.filter((f) => f > 25).length} of ${r.viewers} (${r.joined} joined)`, verdict(r.viewers >= 200 && r.fps.filter((f) => f > 25).length === r.viewers)]));
  out.push(row(['SFU CPU (mediasoup-worker)', '< 1 core', r.server ? `${num(r.server.hold.worker, 2)} cores` : 'not measured', verdict(r.server ? r.server.hold.worker < 1 : null)]));
  out.push(row(['join p95 (to first video RTP)', '< 1 s', ms(joinVideo.p95), verdict(joinVideo.p95 === null ? null : joinVideo.p95 < 1000)]));
  out.push(row(['glass-to-glass p95', '< 300 ms', g2g ? ms(g2g.p95) : 'not measured', verdict(g2g?.p95 == null ? null : g2g.p95 < 300)]));
  out.push('');

  out.push('### Joins (from opening the WebSocket)', '', row(['milestone', 'n', 'p50 / p95 / max']), row(['---', '---', '---']));
  out.push(row(['signaling done (resume answered)', r.join.signaled.length, pct(spread(r.join.signaled))]));
  out.push(row(['ICE connected', r.join.iceConnected.length, pct(spread(r.join.iceConnected))]));
  out.push(row(['DTLS connected (SRTP keys)', r.join.connected.length, pct(spread(r.join.connected))]));
  out.push(row(['first video RTP', r.join.firstVideo.length, pct(joinVideo)]));
  out.push(row(['first keyframe (IDR)', r.join.firstKeyframe.length, pct(spread(r.join.firstKeyframe))]));
  if (r.browser) out.push(row(['Chromium: page open → first decoded frame', r.browser.firstFrameMs.length, pct(spread(r.browser.firstFrameMs))]));
  out.push('', 'werift waits a fixed 100 ms before its DTLS ClientHello (a browser does not): the counting viewers\' joins are that much slower than a browser\'s would be.');
  out.push('', `failures (no video): ${r.failures.count}${r.failures.messages.length ? ` — ${r.failures.messages.join('; ')}` : ''}`, '');

  out.push('### Media at the counting viewers (hold window)', '', row(['frames/s per viewer: min', 'p5', 'median', 'video packets', 'audio packets', r.fullSrtp ? 'lost after NACK (video + audio)' : 'lost, no NACK (video + audio)', 'IDR received', 'producer notifications']), row(Array(8).fill('---')));
  out.push(row([num(fps.min), num(fps.p5), num(fps.p50), r.packets.video, r.packets.audio, `${r.packets.lostVideo} + ${r.packets.lostAudio}`, r.fullSrtp ? r.packets.keyframes : 'n/a (header-only)', r.notifications]));
  if (!r.fullSrtp) out.push('', 'Counted from the clear RTP header of the SRTP packets after each viewer\'s first IDR (werift decrypts nothing after it, so it sends no NACKs and IDRs are not counted); --full-srtp decrypts every packet.');
  out.push('');

  if (r.browser && g2g) {
    out.push('### Sampled Chromium viewers (decode)', '', row(['viewer', 'decoded fps', 'dropped', 'glass-to-glass p50 / p95 / max', 'flips seen']), row(Array(5).fill('---')));
    r.browser.latencies.forEach((list, i) => {
      const seen = list.filter((v): v is number => v !== null);
      out.push(row([`chromium ${i + 1}`, num(r.browser?.decodedFps[i] ?? null), r.browser?.dropped[i] ?? '–', pct(spread(seen)), `${seen.length}/${list.length}`]));
    });
    out.push(row(['all', num(spread(r.browser.decodedFps).p50), '', pct(g2g), `${g2g.count}`]));
    // Split per flip, only where the page both received and showed the new colour.
    const serverPart: number[] = [];
    const browserPart: number[] = [];
    r.browser.latencies.forEach((list, page) =>
      list.forEach((shown, flip) => {
        const got = r.browser?.received[page]?.[flip] ?? null;
        if (shown === null || got === null) return;
        serverPart.push(got);
        browserPart.push(shown - got);
      }),
    );
    out.push('', 'Where the time goes (p50 / p95 / max over all flips):', '');
    out.push(`- PUT /scene answered (the server prepares the new scene; inside every figure): ${pct(spread(r.browser.putMs))}`);
    out.push(`- PUT sent → Chromium received the first frame in the new colour (server, encoder, SFU, network): ${pct(spread(serverPart))}`);
    out.push(`- frame received → shown (Chromium: jitter buffer, decode, paint, ≤ 1 animation frame of polling): ${pct(spread(browserPart))}`, '');
  }

  out.push('### CPU (cores) and memory', '', row(['process', 'idle, 0 viewers', `hold, ${totalViewers} viewers`]), row(['---', '---', '---']));
  if (r.server) {
    const { idle, hold } = r.server;
    out.push(row(['server node', num(idle.node, 2), num(hold.node, 2)]), row(['ffmpeg encoder', num(idle.ffmpeg, 2), num(hold.ffmpeg, 2)]));
    out.push(row(['mediasoup-worker (SFU)', num(idle.worker, 2), num(hold.worker, 2)]));
    if (idle.other || hold.other) out.push(row(['other server children', num(idle.other, 2), num(hold.other, 2)]));
    out.push(row(['SFU per viewer', '', sfuPerViewer === null ? '–' : `${(sfuPerViewer * 1000).toFixed(2)} millicores`]));
    out.push(row(['server RSS (node + worker), all joined', mb(r.server.rssBefore), `${mb(r.server.rssJoined)} (${totalViewers ? ((r.server.rssJoined - r.server.rssBefore) / totalViewers / 1024).toFixed(0) : '–'} kB per viewer)`]));
    if (r.browser) out.push(row(['server RSS, highest (after background changes)', '', mb(r.server.rssMax)]));
  } else {
    out.push(row(['server', 'not found (pass --server-pid)', '']));
  }
  const perPeer = r.joined ? ` (${((r.loadgen.selfCores / r.joined) * 1000).toFixed(1)} millicores per werift peer)` : '';
  out.push(row(['load generator: this process (werift peers)', '', `${num(r.loadgen.selfCores, 2)}${perPeer}`]), row(['load generator: Chromium', '', num(r.loadgen.chromiumCores, 2)]));
  out.push(row(['load generator RSS (this process)', '', mb(r.loadgen.selfRss)]));
  out.push(row(['load generator event-loop delay p99 / max', '', `${ms(r.loadgen.loopDelayP99)} / ${ms(r.loadgen.loopDelayMax)}`]));
  return out.join('\n');
}
