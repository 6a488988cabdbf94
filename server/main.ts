import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { PipelineMetrics } from '../pipeline/metrics.js';
import { refusalOf } from './api/errorAnswers.js';
import { buildApp } from './app.js';
import { AuthThrottle, OperatorAuth, resolveToken } from './auth.js';
import { ChannelRegistry } from './channelRegistry.js';
import { DiskReserve } from './diskReserve.js';
import { EmbeddedRtmpServer } from './embeddedRtmp.js';
import { createLogger, type Logger } from './log.js';
import { WebrtcMetrics } from '../signaling/metrics.js';
import { Sfu } from '../signaling/sfu.js';
import { SignalingServer } from '../signaling/wsServer.js';
import { AuditLog } from './audit.js';
import { Store } from './store.js';

export interface RunningServer {
  readonly url: string;
  readonly token: string;
  readonly channels: ChannelRegistry;
  readonly rtmp: EmbeddedRtmpServer | null;
  readonly sfu: Sfu | null;
  close(): Promise<void>;
}

function checkFfmpeg(path: string): void {
  const probe = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new ConfigError(`ffmpeg not found or not runnable at "${path}": run \`npm run setup\` (installs Debian's ffmpeg) or set FENSHEN_FFMPEG`);
  }
  const encoders = spawnSync(path, ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout ?? '';
  if (!/\blibx264\b/.test(encoders)) throw new ConfigError(`ffmpeg at "${path}" has no libx264 encoder`);
}

/** Starts everything: metrics, embedded RTMP server, channel `main`, HTTP. */
export async function startServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  checkFfmpeg(config.ffmpegPath);
  // Owner-only when we make it: it holds the token and the stream keys.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { token, created } = resolveToken(config.dataDir, config.token);
  const store = Store.open(config.dataDir, log);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fenshen_' });
  const metrics = new PipelineMetrics(registry);

  const rtmp = config.rtmpPort > 0 ? new EmbeddedRtmpServer(config.host, config.rtmpPort, config.flvPort) : null;
  await rtmp?.start(config.dataDir);
  const sfu = await startSfu(config, log);
  const webrtcMetrics = sfu ? new WebrtcMetrics(registry, sfu) : null;
  const audit = new AuditLog({ dataDir: config.dataDir, retentionDays: config.compliance.auditRetentionDays, secrets: [token], log });
  const channels = new ChannelRegistry(config, metrics, rtmp, sfu, store, log, audit);
  const mainChannelId = config.startMain ? 'main' : null;
  const auth = new OperatorAuth(token, new AuthThrottle(), (message, key) => log.warn(message, key));
  const diskReserve = new DiskReserve(config.dataDir, config.storage.reserveMB * 1024 * 1024);
  diskReserve.registerMetric(registry);
  const app = buildApp({
    auth, channels, registry, mainChannelId, store, dataDir: config.dataDir, ffmpegPath: config.ffmpegPath, log, secrets: [token], audit, compliance: config.compliance,
    uploadLimits: { image: config.uploads.imageMB * 1024 * 1024, video: config.uploads.videoMB * 1024 * 1024 },
    videoQueue: { redisUrl: config.videos.redisUrl, name: config.videos.queue }, diskReserve,
  });
  const signaling = sfu
    ? new SignalingServer(app.server, {
        path: '/ws',
        lookup: (id) => sfu.channel(id),
        checkOperatorToken: (given, address) => {
          const verdict = auth.check(given, address);
          if (verdict.ok) return null;
          return verdict.reason === 'throttled' ? `too many wrong tokens from this address; try again in ${verdict.retryAfterS} s` : 'operator token missing or wrong';
        },
        maxConnections: config.webrtc.maxConnections,
        maxConnectionsPerAddress: config.webrtc.maxConnectionsPerAddress,
        hooks: { joined: (ms) => webrtcMetrics?.joinSeconds.observe(ms / 1000), error: (kind) => webrtcMetrics?.signalingErrors.inc({ kind }) },
        log: (level, message) => log[level](message),
      })
    : null;
  try {
    // The routes load now, before any channel is live: the upload checker process is forked while the
    // server is still small and no tick can be held by the fork.
    await app.ready();
    if (mainChannelId) await channels.start(mainChannelId);
    await channels.restoreStored();
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    signaling?.close();
    await channels.closeAll();
    await app.close();
    sfu?.close();
    await rtmp?.stop();
    await audit.close();
    store.close();
    // A main the configuration describes wrongly (an avatar that is not there): the owner's to fix.
    if (refusalOf(err)) throw new ConfigError(`channel main: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log.info(`fenshen listening on ${url} (console ${url}/, metrics ${url}/metrics)`);
  if (rtmp) log.info(`embedded RTMP server on rtmp://${config.host}:${config.rtmpPort}/live/<channel>, HTTP-FLV on http://${config.host}:${config.flvPort}/live/<channel>.flv`);
  if (!process.env.GLIBC_TUNABLES?.includes('malloc.mmap_threshold')) {
    log.warn('started without scripts/tuned.sh (npm start uses it): every frame read back will page-fault, costing several ms of CPU a frame');
  }
  if (!config.compliance.publication) log.warn('compliance.publication is false: this output is not for publication, and scenes may hide the AI label (each time is in the audit trail)');
  if (created) log.info(`operator token (stored under ${config.dataDir}, shown once): ${token}`);

  let closed = false;
  return {
    url,
    token,
    channels,
    rtmp,
    sfu,
    async close() {
      if (closed) return;
      closed = true;
      // The SFU first: a terminal's Ctrl-C reaches its worker too, and a worker that dies while the SFU
      // is open gets replaced, which must not happen on the way out.
      signaling?.close();
      sfu?.close();
      await app.close();
      await channels.closeAll();
      await rtmp?.stop();
      await audit.close();
      store.close();
    },
  };
}

/** The SFU for WebRTC viewers; without a worker (not built) the RTMP side still runs, and the log says why. */
async function startSfu(config: Config, log: Logger): Promise<Sfu | null> {
  if (config.webrtc.port === 0) return null;
  try {
    const sfu = await Sfu.create({
      listenIp: config.host,
      ...(config.webrtc.announcedAddress ? { announcedAddress: config.webrtc.announcedAddress } : {}),
      port: config.webrtc.port,
      log: (level, message) => log[level](message),
    });
    log.info(`WebRTC media on ${config.host}:${config.webrtc.port} (UDP and TCP), viewer page /watch/<channel>`);
    return sfu;
  } catch (err) {
    log.error(`WebRTC viewers are off: the SFU did not start (${(err as Error).message}); run npm run setup to build mediasoup's worker, or set FENSHEN_WEBRTC_PORT to a free port`);
    return null;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fenshen: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let server: RunningServer;
  try {
    server = await startServer(config, log);
  } catch (err) {
    process.stderr.write(`fenshen: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const shutdown = (signal: string) => {
    log.info(`${signal}: shutting down`);
    // Whatever hangs on the way out (a client that keeps a connection open), the process still ends.
    setTimeout(() => {
      log.error('shutdown took over 10 s; exiting anyway');
      process.exit(1);
    }, 10_000).unref();
    // Counts of folded repeats still pending are written before the process ends.
    server.close().then(
      () => (log.flushRepeats(), process.exit(0)),
      () => (log.flushRepeats(), process.exit(1)),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  // A bug in one stage must not end every stream: log it and keep running.
  process.on('uncaughtException', (err) => log.error(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
