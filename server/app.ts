import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { PRESET_NAMES } from '../config/presets.js';
import { avatarChoiceSchema, avatarPlacementChangeSchema, backgroundSchema, captionSchema, logoSchema, productCardSchema } from '../config/schema.js';
import { describeIssue } from '../config/load.js';
import { DriveError, type Channel, type SpeechEvent } from '../pipeline/channel.js';
import { SpeechInputError } from '../pipeline/speech/speaker.js';
import { PROJECT_ROOT } from '../pipeline/paths.js';
import { describeAvatars } from '../pipeline/avatar/loader.js';
import { bearerToken, type OperatorAuth } from './auth.js';
import type { ChannelRegistry } from './channelRegistry.js';
import { ApiError, dataFolderError, errorCode, errors, serverErrorLine } from './errors.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';
import { ffprobeBeside, uploadRoutes } from './uploads.js';
import { confineDriveUrl, confineSceneFiles } from './dataPaths.js';

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
}

/**
 * An avatar named over the API: a built-in one or a folder under the data folder's avatars/, by id. A
 * folder path (allowed in the config file, the machine owner's) could point anywhere on the disk.
 */
const apiAvatarId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "an avatar id (a built-in avatar or a folder under the data folder's avatars/; paths only in the config file)");
const apiAvatarChoice = avatarChoiceSchema.partial().extend({ id: apiAvatarId.optional() });

const createChannelBody = z.strictObject({
  id: z.string(),
  preset: z.enum(PRESET_NAMES).optional(),
  avatar: apiAvatarChoice.optional(),
  scene: z.record(z.string(), z.unknown()).optional(),
});

const sceneBody = z.strictObject({
  background: backgroundSchema.optional(),
  avatar: z.union([apiAvatarId, apiAvatarChoice]).optional(),
  /** Where the avatar stands and its size; the fields given replace the current ones. */
  avatarPlacement: avatarPlacementChangeSchema.optional(),
  overlays: z
    .strictObject({
      caption: captionSchema.nullable().optional(),
      logo: logoSchema.nullable().optional(),
      productCard: productCardSchema.nullable().optional(),
      /** The spoken sentence shown as a caption. */
      speechCaptions: z.boolean().optional(),
    })
    .optional(),
});

const sayBody = z.strictObject({
  text: z.string(),
  voice: z.string().regex(/^[A-Za-z0-9_+-]{1,40}$/, 'a voice name (letters, digits, - + _)').optional(),
  interrupt: z.boolean().optional(),
});

const driveBody = z.strictObject({
  source: z.enum(['idle', 'file', 'camera']),
  url: z.string().min(1).max(2000).optional(),
});

const playlistBody = z.strictObject({
  lines: z
    .array(
      z.union([
        z.string(),
        z.strictObject({
          text: z.string(),
          pauseMs: z.number().int().min(0).max(600_000).optional(),
          voice: z.string().regex(/^[A-Za-z0-9_+-]{1,40}$/).optional(),
        }),
      ]),
    )
    .max(1000),
  loop: z.boolean().default(true),
});

const destinationBody = z.strictObject({
  url: z.string().min(1).max(4096),
  id: z.string().max(64).optional(),
  preset: z.enum(PRESET_NAMES).optional(),
  enabled: z.boolean().optional(),
});

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw errors.invalid(describeIssue(result.error, 'body'));
  return result.data;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { channels } = options;
  const app = Fastify({
    // Fastify's own request log is off: requests are many and routine; server errors are logged below.
    logger: false,
    bodyLimit: 1024 * 1024,
    // Errors the router meets before any route (a broken %-escape, an over-long parameter) get the API's
    // own answer shape instead of fastify's.
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const message = err.code === 'FST_ERR_BAD_URL' ? 'the address is not valid: a broken %-escape (percent-encoding)' : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'the address is not valid: a part of it is too long' : 'the address is not valid';
      // frameworkErrors is generic over route types that do not apply before routing: a plain reply.
      return (reply as FastifyReply).status(status).send({ error: message, code: 'bad_url' });
    },
  });

  const routeOf = (request: FastifyRequest) => ({ method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0] ?? '' });
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) {
      if (err.status >= 500) options.log.error(serverErrorLine(routeOf(request), err.status, err, options.secrets));
      if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS));
      return reply.status(err.status).send({ error: err.message, code: err.code });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.status(status).send({ error: (err as Error).message, code: 'bad_request' });
    // The database lives in the data folder: a write it refuses (read-only, full) is said as such.
    const known = errorCode(err)?.startsWith('SQLITE_') ? dataFolderError(err, 'the database') : null;
    const answer = known ?? new ApiError(500, 'internal', 'internal error', { cause: err });
    options.log.error(serverErrorLine(routeOf(request), answer.status, known ?? err, options.secrets));
    return reply.status(answer.status).send({ error: answer.message, code: answer.code });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'no such route', code: 'not_found' }));
  // Scripts and HTTP libraries often send `content-type: application/json` on every request: a body-less
  // POST (interrupt, calibrate, start/stop) with that header is no body, not a malformed one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return parseJson(request, text, done);
  });

  // Event streams never end by themselves: closing the server ends them, or it would wait for them forever.
  const eventStreams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of eventStreams) res.end();
  });

  const requireToken = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const verdict = options.auth.check(bearerToken(request.headers.authorization), request.ip);
    if (verdict.ok) return undefined;
    if (verdict.reason !== 'throttled') throw errors.unauthorized();
    // Answered here (a hook that sends returns the reply) so the Retry-After header goes with it.
    return reply
      .status(429)
      .header('retry-after', String(verdict.retryAfterS))
      .send({ error: `too many wrong tokens from this address; try again in ${verdict.retryAfterS} s`, code: 'too_many_requests' });
  };

  // 200 while main streams; 503 while it starts or stalls. HTTP serves only once main has started, so
  // a main that is gone was deleted by the operator: nothing is wrong, and the answer says so.
  app.get('/healthz', async (_request, reply) => {
    const main = options.mainChannelId ? channels.get(options.mainChannelId) : undefined;
    const list = channels.list().map((c) => ({ id: c.id, state: c.state }));
    if (options.mainChannelId !== null && main === undefined) return reply.send({ status: 'ok', main: 'deleted', channels: list });
    const streaming = main === undefined || main.state === 'live';
    return reply.status(streaming ? 200 : 503).send({ status: streaming ? 'ok' : main.state === 'stalled' ? 'stalled' : 'starting', channels: list });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });

  const consolePage = readFileSync(join(PROJECT_ROOT, 'client', 'console.html'), 'utf8');
  // The console is static: the token is typed in and kept in the tab, never rendered into the page.
  const consolePolicy = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self'; object-src 'none'; frame-ancestors 'none'";
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', consolePolicy).header('referrer-policy', 'no-referrer').send(consolePage));
  const watchPage = readFileSync(join(PROJECT_ROOT, 'client', 'watch.html'), 'utf8');
  app.get('/watch/:id', async (_request, reply) => reply.type('text/html; charset=utf-8').send(watchPage));
  // The bundled browser code (npm run build); read per request so a rebuild needs no restart.
  const bundles = new Map(['watch.js', 'console.js'].flatMap((f) => [[f, 'text/javascript; charset=utf-8'], [`${f}.map`, 'application/json']] as const));
  const consoleCss = readFileSync(join(PROJECT_ROOT, 'client', 'console.css'), 'utf8');
  app.get('/client/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(consoleCss));
  app.get('/client/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = bundles.get(file);
    if (!type) throw errors.notFound(`client file ${file}`);
    try {
      return reply.type(type).send(await readFile(join(PROJECT_ROOT, 'dist', 'client', file)));
    } catch {
      throw errors.notFound(`client file ${file} (run npm run build)`);
    }
  });

  app.register(async (api) => {
    api.addHook('onRequest', requireToken);

    const channelOf = (id: string): Channel => {
      const channel = channels.get(id);
      if (!channel) throw errors.notFound(`channel ${id}`);
      return channel;
    };
    const speechInput = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        if (err instanceof SpeechInputError) throw errors.invalid(err.message);
        throw err;
      }
    };

    api.post<{ Params: { id: string } }>('/api/channels/:id/say', async (request, reply) => {
      const channel = channelOf(request.params.id);
      const body = parseBody(sayBody, request.body);
      const voiceProblem = body.voice ? await channel.voiceProblem(body.voice) : null;
      if (voiceProblem) throw errors.invalid(voiceProblem);
      const utteranceId = speechInput(() => channel.say(body.text, { voice: body.voice, interrupt: body.interrupt }));
      return reply.status(202).send({ utteranceId });
    });

    api.post<{ Params: { id: string } }>('/api/channels/:id/interrupt', async (request) => {
      const { mediaMs } = channelOf(request.params.id).interrupt();
      return { interrupted: true, mediaMs };
    });

    api.get<{ Params: { id: string } }>('/api/channels/:id/playlist', async (request) => channelOf(request.params.id).playlist);

    api.put<{ Params: { id: string } }>('/api/channels/:id/playlist', async (request) => {
      const body = parseBody(playlistBody, request.body);
      const lines = body.lines.map((line) => (typeof line === 'string' ? { text: line } : line));
      await channels.setPlaylist(request.params.id, { lines, loop: body.loop });
      return { lines: lines.length, loop: body.loop };
    });

    api.put<{ Params: { id: string } }>('/api/channels/:id/drive', async (request) => {
      const channel = channelOf(request.params.id);
      const body = parseBody(driveBody, request.body);
      try {
        // A local file must be inside the data folder; URLs go to ffmpeg as given.
        const url = body.source === 'file' && body.url ? await confineDriveUrl(body.url, options.dataDir) : body.url;
        await channel.setDrive(body.source, url);
      } catch (err) {
        if (err instanceof DriveError) throw errors.unprocessable(err.message);
        throw err;
      }
      return channel.status.drive;
    });

    api.post<{ Params: { id: string } }>('/api/channels/:id/drive/calibrate', async (request) => {
      const calibrated = await channelOf(request.params.id).calibrateDrive();
      if (!calibrated) throw errors.unprocessable('no face is being tracked to calibrate from');
      return { calibrated };
    });

    // Server-sent events: speaking started / sentence / finished / error, as they happen.
    api.get<{ Params: { id: string } }>('/api/channels/:id/events', async (request, reply) => {
      const channel = channelOf(request.params.id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(`event: state\ndata: ${JSON.stringify({ state: channel.state, activity: channel.status.activity })}\n\n`);
      const onSpeech = (event: SpeechEvent) => res.write(`event: speech\ndata: ${JSON.stringify(event)}\n\n`);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      channel.on('speech', onSpeech);
      eventStreams.add(res);
      request.raw.on('close', () => {
        clearInterval(ping);
        channel.off('speech', onSpeech);
        eventStreams.delete(res);
      });
    });

    api.get('/api/channels', async () => ({ channels: channels.list().map((c) => c.status) }));

    api.get('/api/avatars', async () => ({ avatars: describeAvatars(options.dataDir) }));

    api.get('/api/presets', async () => ({ presets: PRESET_NAMES }));

    api.get<{ Params: { id: string } }>('/api/channels/:id', async (request) => {
      const channel = channels.get(request.params.id);
      if (!channel) throw errors.notFound(`channel ${request.params.id}`);
      return channel.status;
    });

    api.post('/api/channels', async (request, reply) => {
      const body = parseBody(createChannelBody, request.body);
      const { id, ...overrides } = body;
      const scene = overrides.scene ? await confineSceneFiles(overrides.scene, options.dataDir) : undefined;
      const channel = await channels.create(id, scene ? { ...overrides, scene } : overrides);
      return reply.status(201).send(channel.status);
    });

    api.delete<{ Params: { id: string } }>('/api/channels/:id', async (request, reply) => {
      await channels.delete(request.params.id);
      return reply.status(204).send();
    });

    api.put<{ Params: { id: string } }>('/api/channels/:id/scene', async (request) => {
      const body = parseBody(sceneBody, request.body);
      // Scene files from the API stay inside the data folder (the config file's may be anywhere).
      const { background, ...overlays } = await confineSceneFiles({ background: body.background, ...body.overlays }, options.dataDir);
      const channel = await channels.updateScene(request.params.id, { background, avatar: body.avatar, avatarPlacement: body.avatarPlacement, ...overlays });
      return channel.status;
    });

    api.get('/api/scenes', async () => ({ scenes: options.store.scenes().map(({ id, name, updatedAt }) => ({ id, name, updatedAt })) }));

    api.post<{ Params: { id: string } }>('/api/channels/:id/scenes', async (request, reply) => {
      const { name } = parseBody(z.strictObject({ name: z.string().trim().min(1).max(40) }), request.body);
      const { id, updatedAt } = channels.saveScene(request.params.id, name);
      return reply.status(201).send({ id, name, updatedAt });
    });

    api.post<{ Params: { id: string } }>('/api/channels/:id/scene/apply', async (request) => {
      const { scene } = parseBody(z.strictObject({ scene: z.string().min(1).max(64) }), request.body);
      return (await channels.applyScene(request.params.id, scene)).status;
    });

    api.delete<{ Params: { sceneId: string } }>('/api/scenes/:sceneId', async (request, reply) => {
      if (!options.store.removeScene(request.params.sceneId)) throw errors.notFound(`scene ${request.params.sceneId}`);
      return reply.status(204).send();
    });

    api.get<{ Params: { id: string } }>('/api/channels/:id/scene', async (request) => {
      const { scene, avatar } = channelOf(request.params.id).config;
      return { scene, avatar };
    });

    type DestinationParams = { Params: { id: string; destId: string } };
    api.get<{ Params: { id: string } }>('/api/channels/:id/destinations', async (request) => {
      const channel = channels.get(request.params.id);
      if (!channel) throw errors.notFound(`channel ${request.params.id}`);
      return { destinations: channel.status.destinations };
    });

    api.post<{ Params: { id: string } }>('/api/channels/:id/destinations', async (request, reply) => {
      const body = parseBody(destinationBody, request.body);
      return reply.status(201).send(channels.addDestination(request.params.id, body));
    });

    api.delete<DestinationParams>('/api/channels/:id/destinations/:destId', async (request, reply) => {
      await channels.removeDestination(request.params.id, request.params.destId);
      return reply.status(204).send();
    });

    // Its own scope: the upload route takes any body as a stream, the others only JSON.
    await api.register(async (scope) =>
      uploadRoutes(scope, { store: options.store, dataDir: options.dataDir, ffprobePath: ffprobeBeside(options.ffmpegPath), inUse: (file) => channels.fileInUse(file) }),
    );

    for (const [action, enabled] of [['start', true], ['stop', false]] as const) {
      api.post<DestinationParams>(`/api/channels/:id/destinations/:destId/${action}`, async (request) =>
        channels.setDestinationEnabled(request.params.id, request.params.destId, enabled),
      );
    }
  });

  return app;
}
