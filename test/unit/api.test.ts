/**
 * The HTTP API against its contract (server/api/contract.ts), on the real app with no channel running:
 * every JSON route is the contract's and takes exactly the contract's body, checked before its handler;
 * answers and errors have the contract's shape; errors map to HTTP in one table; the console's code
 * reaches no server or pipeline code but the contract.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { z } from 'zod';
import { configSchema } from '../../config/schema.js';
import { AvatarError } from '../../pipeline/avatar/loader.js';
import { DestinationError, DriveError } from '../../pipeline/channel.js';
import { SceneError } from '../../pipeline/compose/scene.js';
import { PipelineMetrics } from '../../pipeline/metrics.js';
import { RtmpUrlError } from '../../pipeline/output/rtmpUrl.js';
import { PROJECT_ROOT } from '../../pipeline/paths.js';
import { SpeechInputError } from '../../pipeline/speech/speaker.js';
import { API_ROUTES, auditListSchema, avatarListSchema, channelListSchema, errorAnswerSchema, healthAnswerSchema, presetListSchema, savedSceneListSchema, uploadListSchema, type ApiRoute } from '../../server/api/contract.js';
import { answerFor } from '../../server/api/errorAnswers.js';
import { buildApp } from '../../server/app.js';
import { AuthThrottle, OperatorAuth } from '../../server/auth.js';
import { ChannelRegistry } from '../../server/channelRegistry.js';
import { BusyError, ConflictError, InvalidRequestError, NotFoundError, UnprocessableError } from '../../server/domainErrors.js';
import { createLogger } from '../../server/log.js';
import { AuditLog } from '../../server/audit.js';
import { Store } from '../../server/store.js';

const TOKEN = 'unit-token-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-api-'));
let app: FastifyInstance;
let store: Store;
let audit: AuditLog;
/** Every route the app registered, as `METHOD /path`, with the body schema it validates. */
const registered = new Map<string, unknown>();
const logged: string[] = [];

before(async () => {
  const config = configSchema.parse({ dataDir, startMain: false, rtmpPort: 0 });
  const log = createLogger('error', { write: (line) => void logged.push(line) });
  store = Store.open(dataDir, log);
  const channels = new ChannelRegistry(config, new PipelineMetrics(new Registry()), null, null, store, log);
  audit = new AuditLog({ dataDir, retentionDays: 30, secrets: [TOKEN], log });
  app = buildApp({ auth: new OperatorAuth(TOKEN, new AuthThrottle(), () => {}), channels, registry: new Registry(), mainChannelId: null, store, dataDir, ffmpegPath: 'ffmpeg', log, secrets: [TOKEN], audit });
  // The plugins load on ready(): this sees every route they add.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') registered.set(`${method} ${route.url}`, route.schema?.body);
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await audit?.close();
  store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = (method: string, url: string, payload?: unknown, token = TOKEN) =>
  app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

/** The answer's JSON through the contract's schema: an added, dropped or retyped field fails here. */
function parsed<S extends z.ZodType>(schema: S, body: string): z.output<S> {
  const result = schema.safeParse(JSON.parse(body));
  assert.ok(result.success, `${body.slice(0, 300)}\n${result.error?.message}`);
  return result.data;
}

const isJsonRoute = (key: string) => / \/(api\/|healthz$)/.test(key);

test('every JSON route the app serves is in the contract, and every contract route is served', () => {
  const served = [...registered.keys()].filter(isJsonRoute).sort();
  assert.ok(served.length >= 25, `routes seen: ${served.length}`);
  assert.deepEqual(served, Object.keys(API_ROUTES).sort());
});

test('each route validates exactly the body schema the contract gives it (none where the contract has none)', () => {
  for (const [key, contract] of Object.entries(API_ROUTES)) {
    const body = 'body' in contract ? contract.body : undefined;
    assert.equal(registered.get(key), body, `${key}: ${body ? 'the contract body schema' : 'no body schema'}`);
  }
});

test('a body that breaks the contract is a 400 naming the problem, before the handler runs (no such channel is not reached)', async () => {
  for (const [key, contract] of Object.entries(API_ROUTES)) {
    if (!('body' in contract)) continue;
    const [method, pattern] = key.split(' ') as [string, string];
    const url = pattern.replace(/:[A-Za-z]+/g, 'nope');
    const res = await api(method, url, { unexpected: 1 });
    assert.equal(res.statusCode, 400, `${key}: ${res.body}`);
    const answer = parsed(errorAnswerSchema, res.body);
    assert.equal(answer.code, 'invalid_request');
    assert.match(answer.error, /^body: /, key);
  }
  const say = await api('POST', '/api/channels/nope/say', { text: 'hi', voice: 'no spaces allowed' });
  assert.deepEqual(JSON.parse(say.body), { error: 'body: voice: a voice name (letters, digits, - + _)', code: 'invalid_request' });
  const empty = await api('POST', '/api/channels', undefined);
  assert.equal(JSON.parse(empty.body).error, 'body: id: Invalid input: expected string, received undefined');
});

test('answers parse with the contract: health, channels, avatars, presets, scenes, uploads', async () => {
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(parsed(healthAnswerSchema, health.body), { status: 'ok', channels: [] });
  assert.deepEqual(parsed(channelListSchema, (await api('GET', '/api/channels')).body), { channels: [] });
  const { avatars } = parsed(avatarListSchema, (await api('GET', '/api/avatars')).body);
  assert.ok(avatars.some((a) => a.id === 'xiaomei'), JSON.stringify(avatars.map((a) => a.id)));
  assert.ok(parsed(presetListSchema, (await api('GET', '/api/presets')).body).presets.includes('portrait-720p'));
  assert.deepEqual(parsed(savedSceneListSchema, (await api('GET', '/api/scenes')).body), { scenes: [] });
  assert.deepEqual(parsed(uploadListSchema, (await api('GET', '/api/uploads')).body).uploads, []);
});

test('refusals have the contract shape and their status: 401, 404 (channel, scene, upload, route), 429 with Retry-After', async () => {
  const cases: [string, string, number, string, string][] = [
    ['GET', '/api/channels/nope', 404, 'not_found', 'channel nope not found'],
    ['GET', '/api/channels/nope/destinations', 404, 'not_found', 'channel nope not found'],
    ['DELETE', '/api/channels/nope', 404, 'not_found', 'channel nope not found'],
    ['POST', '/api/channels/nope/interrupt', 404, 'not_found', 'channel nope not found'],
    ['DELETE', '/api/scenes/s-none', 404, 'not_found', 'scene s-none not found'],
    ['DELETE', '/api/uploads/u-none', 404, 'not_found', 'upload u-none not found'],
    ['GET', '/api/no/such/route', 404, 'not_found', 'no such route'],
  ];
  for (const [method, url, status, code, error] of cases) {
    const res = await api(method, url);
    assert.equal(res.statusCode, status, `${method} ${url}`);
    assert.deepEqual(parsed(errorAnswerSchema, res.body), { error, code });
  }
  const badId = await api('POST', '/api/channels', { id: 'Bad Id!' });
  assert.deepEqual(JSON.parse(badId.body), { error: 'id: 1-32 lower-case letters, digits, - or _, starting with a letter or digit', code: 'invalid_request' });
  const broken = await app.inject({ method: 'POST', url: '/api/channels', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: '{"id": ' });
  assert.equal(broken.statusCode, 400);
  assert.equal(parsed(errorAnswerSchema, broken.body).code, 'bad_request');

  const missing = await app.inject({ method: 'GET', url: '/api/channels' });
  assert.equal(missing.statusCode, 401);
  assert.deepEqual(parsed(errorAnswerSchema, missing.body), { error: 'missing or wrong bearer token', code: 'unauthorized' });
  const remote = { remoteAddress: '10.9.8.7' };
  const guess = (token: string) => app.inject({ method: 'GET', url: '/api/channels', headers: { authorization: `Bearer ${token}` }, ...remote });
  for (let i = 1; i <= 4; i++) assert.equal((await guess(`guess-${i}`)).statusCode, 401);
  const throttled = await guess('guess-5');
  assert.equal(throttled.statusCode, 429);
  assert.ok(Number(throttled.headers['retry-after']) > 0);
  const answer = parsed(errorAnswerSchema, throttled.body);
  assert.equal(answer.code, 'too_many_requests');
  assert.match(answer.error, /^too many wrong tokens from this address; try again in \d+ s$/);
  assert.deepEqual(logged.filter((l) => / → 5\d\d /.test(l)), [], 'no refusal is logged as a server error');
});

test('one table maps errors to HTTP: the server\'s refusals by code, the pipeline\'s errors by class, anything else 500', () => {
  const cases: [unknown, number, string][] = [
    [new InvalidRequestError('x'), 400, 'invalid_request'],
    [new NotFoundError('channel x'), 404, 'not_found'],
    [new ConflictError('x'), 409, 'conflict'],
    [new UnprocessableError('x'), 422, 'unprocessable'],
    [new BusyError('x', 10), 503, 'busy'],
    [new SceneError('x'), 422, 'unprocessable'],
    [new AvatarError('x'), 422, 'unprocessable'],
    [new DriveError('x'), 422, 'unprocessable'],
    [new SpeechInputError('x'), 400, 'invalid_request'],
    [new RtmpUrlError('x'), 400, 'invalid_request'],
    [new DestinationError('x'), 500, 'internal'],
    [new TypeError('x'), 500, 'internal'],
    [Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' }), 507, 'data_folder_full'],
    [Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), 500, 'data_folder_not_writable'],
  ];
  for (const [err, status, code] of cases) {
    const answer = answerFor(err);
    assert.equal(answer.status, status, `${(err as Error).name}: ${status}`);
    assert.equal(answer.body.code, code);
    assert.equal(answer.logged !== undefined, status >= 500, `${(err as Error).name}: logged only as a server error`);
  }
  assert.equal(answerFor(new BusyError('x', 10)).retryAfterS, 10);
  assert.deepEqual(answerFor(new TypeError('secret detail')).body, { error: 'internal error', code: 'internal' }, 'an unexpected error says nothing of itself');
});

/** Relative imports of a TypeScript file, with whether each is type-only. */
function importsOf(file: string): { readonly target: string; readonly typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)].map((m) => ({
    target: resolve(dirname(file), (m[3] as string).replace(/\.js$/, '.ts')),
    typeOnly: m[2] !== undefined,
  }));
}

test('the console reaches no server or pipeline code: only the contract (types) and the signaling messages', () => {
  const client = join(PROJECT_ROOT, 'client');
  const files = readdirSync(client, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(client, f));
  assert.ok(files.length >= 10, `client files: ${files.length}`);
  const contract = join(PROJECT_ROOT, 'server', 'api', 'contract.ts');
  const allowed = new Set([contract, join(PROJECT_ROOT, 'signaling', 'messages.ts')]);
  let usesContract = false;
  for (const file of files) {
    for (const { target, typeOnly } of importsOf(file)) {
      if (target.startsWith(client + '/')) continue;
      assert.ok(allowed.has(target), `${relative(PROJECT_ROOT, file)} imports ${relative(PROJECT_ROOT, target)}`);
      assert.ok(typeOnly, `${relative(PROJECT_ROOT, file)} imports ${relative(PROJECT_ROOT, target)} for types only (nothing of it is bundled)`);
      if (target === contract) usesContract = true;
    }
  }
  assert.ok(usesContract, 'the console reads its answer types from the contract');
  // The contract itself: zod and config/ only, so the console's type check reaches nothing else.
  for (const { target } of importsOf(contract)) assert.ok(target.startsWith(join(PROJECT_ROOT, 'config') + '/'), relative(PROJECT_ROOT, target));
});

test('the audit trail: each change through the API with its address and answer, token use and refusals, read back by time range; no token or stream key in it', async () => {
  const started = Date.now();
  await api('POST', '/api/channels/nochannel/say', { text: '今天的保温杯只要九十九元' });
  await api('POST', '/api/channels/nochannel/destinations', { url: 'rtmp://push.example.com/live/SECRET-KEY-123' });
  await api('GET', '/api/channels', undefined, 'wrong-token-0000000000');
  const res = await api('GET', `/api/audit?from=${new Date(started - 1000).toISOString()}`);
  assert.equal(res.statusCode, 200, res.body);
  const { entries, truncated } = auditListSchema.parse(res.json());
  assert.equal(truncated, false);
  const said = entries.find((e) => e.action === 'POST /api/channels/:id/say' && e.channel === 'nochannel');
  assert.ok(said, JSON.stringify(entries));
  assert.equal(said.channel, 'nochannel');
  assert.equal(said.status, 404);
  assert.equal(said.from, '127.0.0.1');
  assert.deepEqual(said.details, { body: { text: '今天的保温杯只要九十九元' } });
  assert.ok(entries.some((e) => e.action === 'token used' && e.from === '127.0.0.1'));
  assert.ok(entries.some((e) => e.action === 'token refused'));
  const pushed = entries.find((e) => e.action === 'POST /api/channels/:id/destinations' && e.channel === 'nochannel');
  assert.match(JSON.stringify(pushed?.details), /rtmp:\/\/push\.example\.com\/live\/\*\*\*/);
  // Reads (GET) are not actions; the range leaves out what came before it.
  assert.ok(!entries.some((e) => e.action.startsWith('GET ')));
  const later = auditListSchema.parse((await api('GET', `/api/audit?from=${Date.now() + 60_000}&to=${Date.now() + 120_000}`)).json());
  assert.equal(later.entries.length, 0);
  // As a download: the same entries, one JSON object a line.
  const download = await api('GET', `/api/audit.jsonl?from=${started - 1000}`);
  assert.equal(download.statusCode, 200);
  assert.match(String(download.headers['content-type']), /ndjson/);
  const lines = download.body.trim().split('\n').map((l) => JSON.parse(l) as { action: string });
  assert.ok(lines.length >= entries.length);
  assert.equal((await api('GET', '/api/audit?from=yesterday')).statusCode, 400);
  assert.equal((await api('GET', '/api/audit?limit=0')).statusCode, 400);
  // Nothing secret on disk.
  const files = readdirSync(join(dataDir, 'audit'));
  const text = files.map((f) => readFileSync(join(dataDir, 'audit', f), 'utf8')).join('');
  assert.ok(!text.includes(TOKEN) && !text.includes('wrong-token') && !text.includes('SECRET-KEY-123'), text);
});
