import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { presetMismatch } from '../../config/presets.js';
import { Backoff } from '../../pipeline/output/backoff.js';
import { redactUrl, RtmpUrlError, scrubSecrets, validateRtmpUrl } from '../../pipeline/output/rtmpUrl.js';
import { Store } from '../../server/store.js';

test('push URLs: rtmp/rtmps with host, app and stream; nothing ffmpeg could read as more', () => {
  for (const ok of ['rtmp://push.example.com/live/key', 'rtmps://a.b:443/app/stream?sign=x&t=1', 'rtmp://10.0.0.2:1936/live/main', 'rtmp://[::1]/live/k']) assert.equal(validateRtmpUrl(ok), ok);
  const bad: [string, RegExp][] = [
    ['http://example.com/live/key', /scheme must be rtmp or rtmps, not http/],
    ['file:///etc/passwd', /scheme/],
    ['rtmp://example.com/live/key -f null', /spaces/],
    ['rtmp://example.com/live/key\n-y', /control characters/],
    ["rtmp://example.com/live/k'ey", /quotes/],
    ['-i rtmp://x/a/b', /spaces/],
    ['-y', /not a URL/],
    ['rtmp:///live/key', /host|app and a stream/],
    ['rtmp://example.com/live', /an app and a stream name/],
    ['rtmp://example.com/live/key#frag', /fragment/],
    [`rtmp://example.com/live/${'k'.repeat(3000)}`, /longer than/],
  ];
  for (const [url, message] of bad) assert.throws(() => validateRtmpUrl(url), (err: Error) => err instanceof RtmpUrlError && message.test(err.message), url);
});

test('stream keys are hidden in URLs and in any text quoting them', () => {
  assert.equal(redactUrl('rtmp://push.example.com/live/secretkey123?auth=abc'), 'rtmp://push.example.com/live/se***');
  assert.equal(redactUrl('not a url'), '(invalid url)');
  const url = 'rtmp://u:hunter22@push.example.com/live/secretkey123?auth=tok9876';
  const text = `${url}: Connection refused; stream secretkey123 busy (auth tok9876, pass hunter22)`;
  const scrubbed = scrubSecrets(text, url);
  for (const secret of ['secretkey123', 'tok9876', 'hunter22']) assert.ok(!scrubbed.includes(secret), scrubbed);
  assert.match(scrubbed, /Connection refused/);
});

test('reconnect delays grow exponentially with jitter up to the cap, and reset after a good connection', () => {
  const low = new Backoff({ baseMs: 1000, capMs: 30_000, random: () => 0 });
  const high = new Backoff({ baseMs: 1000, capMs: 30_000, random: () => 0.999999 });
  const lows = Array.from({ length: 8 }, () => low.next());
  const highs = Array.from({ length: 8 }, () => high.next());
  assert.deepEqual(lows, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.deepEqual(highs, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  low.reset();
  assert.equal(low.next(), 500);
  // Forever: even after many failures the delay stays at the cap, never overflows.
  const many = new Backoff({ baseMs: 1000, capMs: 30_000, random: () => 0.5 });
  for (let i = 0; i < 2000; i++) many.next();
  assert.equal(many.next(), 22500);
});

test('a destination preset must match the picture the channel encodes', () => {
  assert.equal(presetMismatch('douyin-720p', 'taobao-720p'), null);
  assert.equal(presetMismatch('taobao-720p', 'portrait-720p'), null);
  assert.match(presetMismatch('douyin-1080p', 'douyin-720p') ?? '', /1080x1920.*720x1280/);
  assert.match(presetMismatch('landscape-720p', 'douyin-720p') ?? '', /1280x720/);
});

test('the store migrates once, keeps destinations across opens, and is owner-only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-store-'));
  const store = Store.open(dir);
  store.addDestination({ channel: 'main', id: 'douyin', url: 'rtmp://a/b/c', preset: 'douyin-720p', enabled: true });
  store.addDestination({ channel: 'main', id: 'backup', url: 'rtmp://d/e/f', preset: null, enabled: true });
  store.addDestination({ channel: 'side', id: 'x', url: 'rtmp://g/h/i', preset: null, enabled: true });
  store.setDestinationEnabled('main', 'backup', false);
  assert.throws(() => store.addDestination({ channel: 'main', id: 'douyin', url: 'rtmp://a/b/c', preset: null, enabled: true }), /UNIQUE/);
  store.close();
  assert.equal(statSync(join(dir, 'fenshen.db')).mode & 0o777, 0o600);
  const again = Store.open(dir);
  assert.deepEqual(
    again.destinations('main').map((d) => [d.id, d.preset, d.enabled]),
    [['douyin', 'douyin-720p', true], ['backup', null, false]],
  );
  again.removeDestination('main', 'douyin');
  again.removeChannel('side');
  assert.deepEqual(again.destinations('main').map((d) => d.id), ['backup']);
  assert.deepEqual(again.destinations('side'), []);
  again.close();
});
