import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MESSAGE_BYTES, parseRequest } from '../../signaling/messages.js';

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
