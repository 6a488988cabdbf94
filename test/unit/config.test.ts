import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'fenshen-config-'));

test('defaults: one channel, 720x1280 preset, the contract ports', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.rtmpPort, 1935);
  assert.equal(config.flvPort, 8000);
  assert.equal(config.channel.preset, 'portrait-720p');
  assert.ok(Object.isFrozen(config.channel));
});

test('environment overrides the file', () => {
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'port: 9000\nchannel:\n  preset: landscape-720p\n');
  const config = loadConfig({ FENSHEN_CONFIG: file, FENSHEN_PORT: '9100', FENSHEN_RTMP_PORT: '0' });
  assert.equal(config.port, 9100);
  assert.equal(config.rtmpPort, 0);
  assert.equal(config.channel.preset, 'landscape-720p');
});

test('an unknown key is named in the error', () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ channel: { scene: { backgroud: {} } } }));
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: file }), (err: Error) => err instanceof ConfigError && err.message.includes('channel.scene.backgroud'));
});

test('a bad value names its key', () => {
  assert.throws(() => loadConfig({ FENSHEN_PORT: 'eighty' }), /FENSHEN_PORT/);
  const file = join(dir, 'bad2.json');
  writeFileSync(file, JSON.stringify({ channel: { preset: 'square' } }));
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: file }), /channel\.preset/);
});

test('unreadable or malformed files give a clear message', () => {
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: join(dir, 'missing.yaml') }), /cannot read/);
  const file = join(dir, 'broken.json');
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: file }), /not valid JSON/);
});

test('compliance settings: a malformed producer or ProduceID prefix, or a label that does not say it is AI, is named; the Redis URL comes from the environment', () => {
  const write = (name: string, value: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: write('producer.json', { compliance: { producer: 'Acme "Live" <b>' } }) }), (err: Error) => err instanceof ConfigError && /compliance\.producer: plain text/.test(err.message));
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: write('prefix.json', { compliance: { produceIdPrefix: 'a b/c' } }) }), /compliance\.produceIdPrefix/);
  assert.throws(() => loadConfig({ FENSHEN_CONFIG: write('label.json', { channel: { scene: { aiLabel: { text: 'Hello' } } } }) }), /channel\.scene\.aiLabel\.text: must say the host is AI-made/);
  const config = loadConfig({ FENSHEN_CONFIG: write('ok.json', { compliance: { producer: '某某科技有限公司', produceIdPrefix: 'BJ-2026-' } }), FENSHEN_REDIS_URL: 'redis://10.0.0.5:6379' });
  assert.equal(config.compliance.producer, '某某科技有限公司');
  assert.equal(config.compliance.publication, true);
  assert.equal(config.videos.redisUrl, 'redis://10.0.0.5:6379');
  assert.throws(() => loadConfig({ FENSHEN_REDIS_URL: 'localhost:6379' }), /videos\.redisUrl: a redis:\/\/ or rediss:\/\/ URL/);
});
