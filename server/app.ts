/**
 * The HTTP app assembled: fastify with the API's JSON parsing, its one error handler, the operator token
 * on /api, and one plugin per resource (server/api/routes/). What each route takes and answers is the
 * contract's (server/api/contract.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ffprobeBeside } from '../pipeline/mediaProbe.js';
import { answerAddressError, installErrorHandling } from './api/errorAnswers.js';
import { contractValidator } from './api/route.js';
import { avatarRoutes } from './api/routes/avatars.js';
import { videoRoutes } from './api/routes/videos.js';
import { channelRoutes } from './api/routes/channels.js';
import { destinationRoutes } from './api/routes/destinations.js';
import { driveRoutes } from './api/routes/drive.js';
import { eventRoutes } from './api/routes/events.js';
import { healthRoutes } from './api/routes/health.js';
import { pageRoutes } from './api/routes/pages.js';
import { playlistRoutes } from './api/routes/playlist.js';
import { auditRoutes } from './api/routes/audit.js';
import type { AuditLog } from './audit.js';
import { DiskReserve } from './diskReserve.js';
import { sceneRoutes } from './api/routes/scene.js';
import { sceneLibraryRoutes } from './api/routes/sceneLibrary.js';
import { speechRoutes } from './api/routes/speech.js';
import { uploadRoutes } from './api/routes/uploads.js';
import type { UploadLimits } from './uploads.js';
import { configSchema, type Config } from '../config/schema.js';
import { bearerToken, type OperatorAuth } from './auth.js';
import type { ChannelRegistry } from './channelRegistry.js';
import { ThrottledError, UnauthorizedError } from './domainErrors.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';

export interface AppOptions {
  /** Checks the bearer token (throttled per address, wrong ones logged). */
  readonly auth: OperatorAuth;
  readonly channels: ChannelRegistry;
  readonly registry: Registry;
  /** The channel whose state /healthz reports, or null when none is started at boot. */
  readonly mainChannelId: string | null;
  readonly store: Store;
  readonly dataDir: string;
  readonly ffmpegPath: string;
  /** Where server errors (5xx) are logged, each with its cause. */
  readonly log: Logger;
  /** Text no log line may hold (the operator token); URLs' keys are scrubbed anyway. */
  readonly secrets: readonly string[];
  /** What the rules ask (config compliance; default: for publication, producer "fenshen"). */
  readonly compliance?: Config['compliance'];
  /** The audit trail operators' actions are written to. */
  readonly audit: AuditLog;
  /** Where short videos render (default: on this server). */
  readonly videoQueue?: { readonly redisUrl?: string | undefined; readonly name: string };
  /** Largest uploads, bytes (default: the config's defaults). */
  readonly uploadLimits?: UploadLimits;
  /** Free space kept on the data folder's disk (default: the config's storage.reserveMB). */
  readonly diskReserve?: DiskReserve;
}

const MB = 1024 * 1024;
/** Methods that change something: each such request is an operator action for the audit trail. */
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const isStream = (value: object): boolean => typeof (value as { pipe?: unknown }).pipe === 'function';
const DEFAULT_UPLOADS = configSchema.shape.uploads.parse(undefined);
const DEFAULT_COMPLIANCE = configSchema.shape.compliance.parse(undefined);
const DEFAULT_STORAGE = configSchema.shape.storage.parse(undefined);

/** Plugins are registered, not loaded: they load on `ready()` or `listen()`. */
export function buildApp(options: AppOptions): FastifyInstance {
  const { channels, dataDir } = options;
  const diskReserve = options.diskReserve ?? new DiskReserve(dataDir, DEFAULT_STORAGE.reserveMB * MB);
  const app = Fastify({
    // Fastify's own request log is off: requests are many and routine; server errors are logged.
    logger: false,
    bodyLimit: 1024 * 1024,
    frameworkErrors: answerAddressError,
  });
  installErrorHandling(app, options);
  // Bodies are checked against the contract's zod schemas, once, before a handler runs.
  app.setValidatorCompiler(contractValidator);

  // Scripts and HTTP libraries often send `content-type: application/json` on every request: a body-less
  // POST (interrupt, calibrate, start/stop) with that header is no body, not a malformed one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return parseJson(request, text, done);
  });

  app.register(healthRoutes, { channels, registry: options.registry, mainChannelId: options.mainChannelId });
  app.register(pageRoutes);

  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      const verdict = options.auth.check(bearerToken(request.headers.authorization), request.ip);
      options.audit.noteToken(verdict.ok, request.ip);
      if (verdict.ok) return;
      throw verdict.reason === 'throttled' ? new ThrottledError(verdict.retryAfterS) : new UnauthorizedError();
    });
    // Every change an operator makes, answered or refused, goes into the audit trail.
    const audit = options.audit;
    api.addHook('onResponse', async (request, reply) => {
      if (!CHANGES.has(request.method)) return;
      const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
      const params = { ...(request.params as Record<string, string> | undefined) };
      const channel = route.startsWith('/api/channels/:id') ? params.id : undefined;
      if (channel !== undefined) delete params.id;
      const body = request.body !== null && typeof request.body === 'object' && !isStream(request.body) ? request.body : undefined;
      const query = request.query as Record<string, string> | undefined;
      const details = { ...(Object.keys(params).length ? { params } : {}), ...(body ? { body } : {}), ...(route === '/api/uploads' && query?.name ? { name: query.name } : {}) };
      audit.append({ action: `${request.method} ${route}`, ...(channel !== undefined ? { channel } : {}), from: request.ip, status: reply.statusCode, ...(Object.keys(details).length ? { details } : {}) });
    });
    api.register(auditRoutes, { audit });
    api.register(channelRoutes, { channels, dataDir });
    api.register(avatarRoutes, {
      dataDir, store: options.store, log: options.log, ffmpegPath: options.ffmpegPath, diskReserve,
      channelsShowing: (avatarId: string) => channels.list().filter((c) => c.config.avatar.id === avatarId).map((c) => c.id),
    });
    api.register(videoRoutes, { dataDir, diskReserve, store: options.store, log: options.log, ffmpegPath: options.ffmpegPath, queue: options.videoQueue ?? { name: 'fenshen-videos' }, compliance: options.compliance ?? DEFAULT_COMPLIANCE });
    api.register(speechRoutes, { channels });
    api.register(playlistRoutes, { channels });
    api.register(driveRoutes, { channels, dataDir });
    api.register(eventRoutes, { channels });
    api.register(sceneRoutes, { channels, dataDir });
    api.register(sceneLibraryRoutes, { channels, store: options.store });
    api.register(destinationRoutes, { channels });
    api.register(uploadRoutes, { store: options.store, dataDir, diskReserve, ffprobePath: ffprobeBeside(options.ffmpegPath), inUse: (file: string) => channels.fileInUse(file),
      limits: options.uploadLimits ?? { image: DEFAULT_UPLOADS.imageMB * MB, video: DEFAULT_UPLOADS.videoMB * MB },
    });
  });

  return app;
}
