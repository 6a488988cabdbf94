/**
 * `npm run loadtest:viewers -- --viewers N --seconds T [--sample K] [--url … --token …]`
 *
 * Joins N real WebRTC viewers (werift peers: ICE, DTLS, SRTP through the same /ws signaling as the
 * page; they count RTP and never decode) plus K headless Chromium pages on /watch/<channel> (they decode,
 * and time background colour changes for glass-to-glass latency), holds them T seconds, and prints
 * markdown tables: join times, frames per viewer, loss, latency, and CPU and memory of the server's node,
 * ffmpeg and mediasoup-worker processes apart from the load generator's own. Without --url it starts the
 * server from the sources on free ports and stops it at the end. The counting viewers count from the clear
 * RTP header of the SRTP packets once they have seen an IDR; --full-srtp has werift decrypt every packet.
 */
import { sceneSchema, type BackgroundConfig } from '../config/schema.js';
import { parseLoadTestArgs, type LoadTestArgs } from './viewers/args.js';
import { BrowserViewers, type FlipResult } from './viewers/browserViewers.js';
import { CpuWindow, serverRoles } from './viewers/cpuWindow.js';
import { Crowd } from './viewers/crowd.js';
import { crowdResults } from './viewers/crowdResults.js';
import { HoldProbe, coreSplit, serverRss } from './viewers/holdProbe.js';
import { cleanup, installHandlers, isStopping, onCleanup } from './viewers/lifecycle.js';
import { loadAverage } from './viewers/procStats.js';
import { formatReport, type Results } from './viewers/report.js';
import { ownServer, remoteServer, type Target } from './viewers/target.js';

const log = (message: string) => process.stderr.write(`[loadtest] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

installHandlers(log);

async function openTarget(args: LoadTestArgs): Promise<Target> {
  if (!args.url) {
    log('starting the server from the sources …');
    return ownServer(args.channel, { FENSHEN_LOG_LEVEL: 'warn' }, onCleanup);
  }
  return remoteServer(args.url, args.token, args.channel, args.serverPid);
}

async function run(args: LoadTestArgs): Promise<Results> {
  const target = await openTarget(args);
  const roles = target.serverPid ? serverRoles(target.serverPid) : null;
  if (roles) log(`server pid ${target.serverPid}: ffmpeg ${roles.ffmpeg.join(',') || '?'}, mediasoup-worker ${roles.worker.join(',') || '?'}`);
  const loadBefore = loadAverage();
  // The server's cost with nobody watching, to tell the viewers' share apart.
  const idleWindow = roles ? new CpuWindow(roles) : null;
  await sleep(3000);
  const idle = idleWindow ? coreSplit(idleWindow.cores()) : null;
  const rssBefore = roles ? serverRss(roles) : 0;

  let browsers: BrowserViewers | null = null;
  if (args.sample > 0) {
    log(`opening ${args.sample} Chromium viewer page(s) …`);
    browsers = await BrowserViewers.launch(target.url, args.channel, args.sample);
    const opened = browsers;
    onCleanup(() => opened.close());
  }
  const crowd = new Crowd(args.fullSrtp);
  onCleanup(() => crowd.close());
  log(`joining ${args.viewers} werift viewers at ${args.joinRate}/s (${args.fullSrtp ? 'full SRTP' : 'header-only counting after the first IDR'}) …`);
  await crowd.join(target.wsUrl, args.channel, args.viewers, args.joinRate, (started, live) => log(`  started ${started}, receiving video ${live}`));

  log(`holding ${args.seconds} s …`);
  const before = crowd.snapshot();
  const probe = new HoldProbe(roles, browsers);
  let serverViewers: number | null = null;
  const countTimer = setTimeout(() => {
    void target.api(`/api/channels/${args.channel}`).then(async (res) => (serverViewers = ((await res.json()) as { viewers?: number }).viewers ?? null)).catch(() => undefined);
  }, Math.min(2000, args.seconds * 500));
  const putBackground = async (background: BackgroundConfig) => {
    const res = await target.api(`/api/channels/${args.channel}/scene`, { method: 'PUT', body: JSON.stringify({ background }) });
    if (!res.ok) throw new Error(`PUT scene: ${res.status} ${await res.text()}`);
  };
  const setBackground = (hex: string) => putBackground({ type: 'color', color: hex });
  // The colour flips run inside the hold (latency under load); the hold lasts until both are done.
  const flipping: Promise<FlipResult | null> = browsers ? sleep(1000).then(() => browsers.flipLatencies(setBackground, args.flips, 1000)) : Promise.resolve(null);
  const [flips] = await Promise.all([flipping, sleep(args.seconds * 1000)]);
  const after = crowd.snapshot();
  const hold = await probe.stop();
  clearTimeout(countTimer);
  // A server this run did not start gets the default background back (its own is not readable over the API).
  if (flips && !target.own) await putBackground(sceneSchema.parse({}).background).catch(() => undefined);

  const { before: pb, after: pa } = hold.playback;
  return {
    viewers: args.viewers,
    sample: args.sample,
    fullSrtp: args.fullSrtp,
    holdSeconds: hold.seconds,
    load: { before: loadBefore, after: loadAverage() },
    serverViewers,
    ...crowdResults(crowd, before, after, hold.seconds),
    browser: browsers && flips
      ? {
          firstFrameMs: browsers.firstFrameMs,
          decodedFps: pa.map((p, i) => (p.decoded - (pb[i]?.decoded ?? 0)) / hold.seconds),
          dropped: pa.map((p, i) => p.dropped - (pb[i]?.dropped ?? 0)),
          latencies: flips.latencies,
          received: flips.received,
          putMs: flips.putMs,
        }
      : null,
    server: idle && hold.server ? { idle, hold: hold.server, rssBefore, rssJoined: hold.rssJoined, rssMax: hold.rssMax } : null,
    loadgen: { selfCores: hold.selfCores, chromiumCores: hold.chromiumCores, selfRss: hold.selfRss, loopDelayP99: hold.loopDelayP99, loopDelayMax: hold.loopDelayMax },
  };
}

try {
  const results = await run(parseLoadTestArgs(process.argv.slice(2)));
  console.log(formatReport(results));
} catch (err) {
  if (!isStopping()) log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup(log);
}
process.exit(process.exitCode ?? 0);
