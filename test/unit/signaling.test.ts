import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import WebSocket from 'ws';
import { MAX_MESSAGE_BYTES, parseRequest } from '../../signaling/messages.js';
import { SignalingServer } from '../../signaling/wsServer.js';

test('signaling messages: valid requests parse with their defaults; junk becomes an error that keeps the id when it can', () => {
  const join = parseRequest(JSON.stringify({ id: 7, type: 'join', channel: 'main' }));
  assert.ok(join.ok);
  assert.deepEqual(join.request, { id: 7, type: 'join', channel: 'main', role: 'viewer' });
  const send = parseRequest(JSON.stringify({ id: 8, type: 'createTransport', direction: 'send' }));
  assert.ok(send.ok && send.request.type === 'createTransport' && send.request.direction === 'send');

  const cases: [string, number | null, RegExp][] = [
    ['{', null, /not JSON/],
    ['[]', null, /bad request/],
    [JSON.stringify({ id: 1, type: 'dance' }), 1, /bad request: type/],
    [JSON.stringify({ id: 2, type: 'join', channel: '../etc' }), 2, /bad request: channel/],
    [JSON.stringify({ id: 3, type: 'join', channel: 'main', extra: 1 }), 3, /bad request/],
    [JSON.stringify({ id: -1, type: 'leave' }), null, /bad request: id/],
    [JSON.stringify({ id: 4, type: 'produce', transportId: 't', kind: 'smell', rtpParameters: {} }), 4, /bad request: kind/],
    [JSON.stringify({ id: 5, type: 'connect', transportId: '', dtlsParameters: {} }), 5, /bad request: transportId/],
    ['x'.repeat(MAX_MESSAGE_BYTES + 1), null, /too large/],
  ];
  for (const [text, id, error] of cases) {
    const parsed = parseRequest(text);
    assert.ok(!parsed.ok, text.slice(0, 40));
    assert.equal(parsed.id, id, text.slice(0, 40));
    assert.match(parsed.error, error, text.slice(0, 40));
  }
});

/** A signaling server on a plain HTTP server (no SFU: joins find no channel), listening on every address. */
async function signalingOn(limits: { maxConnections: number; maxConnectionsPerAddress: number }): Promise<{ http: Server; signaling: SignalingServer; port: number; close(): Promise<void> }> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const signaling = new SignalingServer(http, { path: '/ws', lookup: () => undefined, checkOperatorToken: () => 'operator token missing or wrong', log: () => {}, ...limits });
  await new Promise<void>((resolve) => http.listen(0, '0.0.0.0', resolve));
  const port = (http.address() as { port: number }).port;
  return {
    http,
    signaling,
    port,
    async close() {
      signaling.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

type Opened = { socket: WebSocket; replies: { id: number | null; ok: boolean; error?: string }[] } | { refused: number; body: string };

function open(host: string, port: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${host}:${port}/ws`);
    const replies: { id: number | null; ok: boolean; error?: string }[] = [];
    socket.on('message', (data) => replies.push(JSON.parse(data.toString()) as (typeof replies)[number]));
    socket.once('open', () => resolve({ socket, replies }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ refused: res.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
  });
}

const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

test('signaling caps connections: in all, and per address except loopback; a closed one frees its place', { skip: lanAddress ? false : 'no non-loopback IPv4 address to connect from' }, async () => {
  const server = await signalingOn({ maxConnections: 6, maxConnectionsPerAddress: 2 });
  const sockets: WebSocket[] = [];
  const accepted = (o: Opened) => {
    assert.ok('socket' in o, `refused: ${'body' in o ? o.body : ''}`);
    sockets.push(o.socket);
    return o.socket;
  };
  try {
    // Loopback (a reverse proxy carries everyone's) is not capped per address.
    for (let i = 0; i < 3; i++) accepted(await open('127.0.0.1', server.port));
    const lan = lanAddress as string;
    accepted(await open(lan, server.port));
    const second = accepted(await open(lan, server.port));
    const third = await open(lan, server.port);
    assert.ok('refused' in third);
    assert.equal(third.refused, 503);
    assert.deepEqual(JSON.parse(third.body), { error: 'too many signaling connections from this address (at most 2)' });
    accepted(await open('127.0.0.1', server.port));
    const over = await open('127.0.0.1', server.port);
    assert.ok('refused' in over && over.refused === 503 && /at most 6\)/.test(over.body), JSON.stringify(over));
    // A connection that closes gives its place back, in all and for its address.
    await new Promise((resolve) => {
      second.once('close', resolve);
      second.close();
    });
    await new Promise((r) => setTimeout(r, 100));
    accepted(await open(lan, server.port));
  } finally {
    for (const socket of sockets) socket.terminate();
    await server.close();
  }
});

test('signaling: an over-long message (up to 1 MB) gets an error reply and the connection stays; beyond 1 MB the socket closes', async () => {
  const server = await signalingOn({ maxConnections: 10, maxConnectionsPerAddress: 10 });
  try {
    const opened = await open('127.0.0.1', server.port);
    assert.ok('socket' in opened);
    const { socket, replies } = opened;
    socket.send(JSON.stringify({ id: 1, type: 'join', channel: 'main', pad: 'x'.repeat(70 * 1024) }));
    socket.send(JSON.stringify({ id: 2, type: 'join', channel: 'main' }));
    const deadline = Date.now() + 5000;
    while (replies.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(socket.readyState, WebSocket.OPEN, 'still connected');
    assert.match(replies[0]?.error ?? '', /message too large \(\d+ bytes; at most 65536\)/);
    assert.equal(replies[1]?.id, 2, 'the next request is answered');
    assert.match(replies[1]?.error ?? '', /no channel main/);
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.send('x'.repeat(1024 * 1024 + 1));
    assert.equal(await closed, 1009);
  } finally {
    await server.close();
  }
});

test('signaling: a connection that joins no channel is closed after the join timeout (4408, with a reason) and frees its place', async () => {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const signaling = new SignalingServer(http, {
    path: '/ws', lookup: () => undefined, checkOperatorToken: () => 'operator token missing or wrong', log: () => {},
    maxConnections: 1, maxConnectionsPerAddress: 1, joinTimeoutMs: 400,
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  try {
    const first = await open('127.0.0.1', port);
    assert.ok('socket' in first);
    // A failed join (no such channel) is not a join: the deadline still runs.
    first.socket.send(JSON.stringify({ id: 1, type: 'join', channel: 'nowhere' }));
    assert.deepEqual('refused' in (await open('127.0.0.1', port)) ? 'refused' : 'open', 'refused', 'the cap holds while the first is open');
    const started = Date.now();
    const code = await new Promise<number>((resolve) => {
      first.socket.once('close', resolve);
      setTimeout(() => resolve(-1), 3000).unref();
    });
    const waitedMs = Date.now() - started;
    assert.equal(code, 4408);
    assert.ok(waitedMs > 150 && waitedMs < 2000, `closed after ${waitedMs} ms`);
    assert.match(first.replies.at(-1)?.error ?? '', /no channel joined within 400 ms; closing/);
    assert.equal(first.replies.at(-1)?.id, undefined, 'a notification, not an answer');
    const again = await open('127.0.0.1', port);
    assert.ok('socket' in again, 'its place is free');
    again.socket.terminate();
  } finally {
    signaling.close();
    await new Promise((resolve) => http.close(resolve));
  }
});
