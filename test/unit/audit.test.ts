import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AuditLog } from '../../server/audit.js';
import { createLogger } from '../../server/log.js';

const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-audit-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const DAY = 24 * 3600 * 1000;

test('the audit log: a file a UTC day, kept for its retention; secret fields left out, long text cut; the token noted once an hour per address, refusals counted', async () => {
  const logged: string[] = [];
  const audit = new AuditLog({ dataDir, retentionDays: 30, secrets: ['the-token-123456'], log: createLogger('error', { write: (l) => void logged.push(l) }) });
  const now = Date.parse('2026-11-30T13:14:00Z');
  // An old day's file, past the retention, and one inside it.
  writeFileSync(join(audit.dir, 'audit-2026-10-01.jsonl'), '{"at":"2026-10-01T00:00:00.000Z","action":"old"}\n');
  writeFileSync(join(audit.dir, 'audit-2026-11-15.jsonl'), '{"at":"2026-11-15T00:00:00.000Z","action":"kept"}\n');
  audit.prune(now);
  assert.ok(!existsSync(join(audit.dir, 'audit-2026-10-01.jsonl')));
  assert.ok(existsSync(join(audit.dir, 'audit-2026-11-15.jsonl')));

  audit.append({ action: 'POST /api/channels/:id/destinations', channel: 'main', details: { body: { url: 'rtmp://a.example/live/abc', key: 'k-999', note: 'x'.repeat(5000), auth: 'Bearer the-token-123456', other: 'Bearer the-token-xyz' } } }, now);
  audit.append({ action: 'said', channel: 'main', details: { text: '欢迎', mediaMs: 1234 } }, now + DAY);
  for (let i = 0; i < 5; i++) audit.noteToken(true, '10.0.0.7', now + i * 1000);
  audit.noteToken(true, '10.0.0.7', now + 3601_000);
  for (let i = 0; i < 4; i++) audit.noteToken(false, '10.0.0.9', now + i * 1000);
  audit.noteToken(false, '10.0.0.9', now + 61_000);

  const all = await audit.read({ fromMs: now - DAY * 30, toMs: now + DAY * 2, limit: 100 });
  // In the order written: the second use an hour later, then the refusals (the first, and one for the next minute).
  assert.deepEqual(all.map((e) => e.action), ['kept', 'POST /api/channels/:id/destinations', 'token used', 'token used', 'token refused', 'token refused', 'said']);
  const pushed = all[1]?.details as { body: Record<string, string> };
  assert.equal(pushed.body.key, undefined, 'a field named key is never kept');
  assert.equal(pushed.body.url, 'rtmp://a.example/live/***');
  assert.equal(pushed.body.note?.length, 601, 'long text cut as a log line is');
  assert.ok(!JSON.stringify(all).includes('the-token-123456') && !JSON.stringify(all).includes('the-token-xyz'));
  assert.equal(pushed.body.other, 'Bearer ***', 'a bearer token is masked wherever it is');
  assert.deepEqual(all[5]?.details, { refusedSinceLastEntry: 4 }, 'the second refusal entry counts the three folded into the minute and itself');
  // By day file: "what did the host say" on the next day.
  const nextDay = await audit.read({ fromMs: now + DAY - 1000, toMs: now + DAY + 1000, action: 'said', channel: 'main', limit: 10 });
  assert.deepEqual(nextDay.map((e) => e.details), [{ text: '欢迎', mediaMs: 1234 }]);
  assert.ok(readFileSync(join(audit.dir, 'audit-2026-12-01.jsonl'), 'utf8').includes('欢迎'));
  await audit.close();
  assert.deepEqual(logged, []);
});
