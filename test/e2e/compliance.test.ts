/**
 * On air within the rules (issue [12]) on a running server: the explicit AI label is in the RTMP output's
 * pixels and can be restyled but not removed; the implicit label is in the stream's onMetaData and in an SEI
 * on every keyframe; the audit trail holds the run's actions and what was said, and no secret.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { auditListSchema, errorAnswerSchema, type ChannelStatusAnswer } from '../../server/api/contract.js';
import { aigcSeis, formatTag, readAnswer, recordAndProbe, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'fenshen-rules-'));
  fenshen = await startFenshen();
  await fenshen.live();
});
after(async () => {
  await fenshen?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(fenshen.dataDir, { recursive: true, force: true });
});

/** Luma of the first decoded frame of `file` in `region`: how many pixels are bright (text) and the mean. */
function lumaIn(file: string, region: { x: number; y: number; width: number; height: number }): { bright: number; mean: number } {
  const out = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-vf', `crop=${region.width}:${region.height}:${region.x}:${region.y},format=gray`, '-f', 'rawvideo', '-'], { maxBuffer: 16 * 1024 * 1024 });
  const y = out.stdout as Buffer;
  let bright = 0, sum = 0;
  for (const v of y) {
    if (v > 200) bright++;
    sum += v;
  }
  return { bright, mean: sum / Math.max(1, y.length) };
}

const sceneChange = (body: unknown) => fenshen.api('/api/channels/main/scene', { method: 'PUT', body: JSON.stringify(body) });

test('the AI label: in the picture on RTMP (top right by default), in onMetaData and in an SEI on every keyframe; restyled, never removed while for publication', async () => {
  const file = join(work, 'labelled.flv');
  const { packets } = recordAndProbe(`${fenshen.rtmpBase}/main`, 6, file);
  // The explicit label: white text on a dark box in the top-right corner; the top-left (no logo) has no text.
  const topRight = lumaIn(file, { x: 720 - 200, y: 10, width: 190, height: 70 });
  const topLeft = lumaIn(file, { x: 10, y: 10, width: 190, height: 70 });
  console.log(`# label corner: ${topRight.bright} bright pixels (mean luma ${topRight.mean.toFixed(0)}); the other corner ${topLeft.bright} (${topLeft.mean.toFixed(0)})`);
  assert.ok(topRight.bright >= 80, `the label's text is not in the top-right corner (${topRight.bright} bright pixels)`);
  assert.equal(topLeft.bright, 0);
  // The implicit label: onMetaData, and an SEI in every keyframe (a recording cut anywhere keeps it).
  const meta = JSON.parse(String(formatTag(file, 'AIGC'))) as Record<string, string>;
  assert.equal(meta.Label, '1');
  assert.equal(meta.ContentProducer, 'fenshen');
  assert.match(meta.ProduceID ?? '', /^main-\d{8}T\d{6}$/);
  for (const field of ['ReservedCode1', 'ContentPropagator', 'PropagateID', 'ReservedCode2']) assert.equal(typeof meta[field], 'string', field);
  const keyframes = packets.filter((p) => p.stream === 'video' && p.key).length;
  const seis = aigcSeis(file);
  console.log(`# AIGC ${JSON.stringify(meta)}; ${seis.length} SEIs for ${keyframes} keyframes in 6 s`);
  assert.ok(keyframes >= 2);
  assert.equal(seis.length, keyframes, 'one SEI per keyframe');
  assert.deepEqual(seis[0], meta);

  // Restyled: another text and corner, drawn where asked (recorded after a whole GOP, so no earlier frame is cached).
  const restyled = await sceneChange({ overlays: { aiLabel: { text: '数字人直播', corner: 'top-left' } } });
  assert.equal(restyled.status, 200, await restyled.clone().text());
  await new Promise((r) => setTimeout(r, 3000));
  const moved = join(work, 'moved.flv');
  recordAndProbe(`${fenshen.rtmpBase}/main`, 2, moved);
  assert.ok(lumaIn(moved, { x: 10, y: 10, width: 240, height: 70 }).bright >= 80, 'the restyled label is top left');
  assert.ok(lumaIn(moved, { x: 720 - 200, y: 10, width: 190, height: 70 }).bright < 10, 'and no longer top right');
  // Not removed, and not emptied of its meaning.
  for (const [label, message] of [
    [{ shown: false }, /aiLabel\.shown: the AI label can be restyled, not removed/],
    [{ text: 'Welcome' }, /must say the host is AI-made/],
    [{ text: '这是一个非常非常长的人工智能标签' }, /at most 12 characters/],
  ] as const) {
    const res = await sceneChange({ overlays: { aiLabel: label } });
    assert.equal(res.status, 400, JSON.stringify(label));
    assert.match((await readAnswer(res, errorAnswerSchema)).error, message);
  }
});

test('the audit trail holds this run\'s actions (with the address) and what was said on air with its media time, and no secret', async () => {
  const started = Date.now();
  const said = await fenshen.api('/api/channels/main/say', { method: 'POST', body: JSON.stringify({ text: '啊，欢迎来到直播间。' }) });
  assert.equal(said.status, 202);
  const destination = await fenshen.api('/api/channels/main/destinations', { method: 'POST', body: JSON.stringify({ id: 'douyin', url: 'rtmp://127.0.0.1:1/live/STREAM-KEY-777', enabled: false }) });
  assert.ok(destination.status < 300, await destination.clone().text());
  const entries = await waitFor('the sentence in the audit trail', async () => {
    const res = await fenshen.api(`/api/audit?from=${started - 1000}`);
    const list = auditListSchema.parse(await res.json()).entries;
    return list.some((e) => e.action === 'said' && e.details?.text === '啊，欢迎来到直播间。') ? list : undefined;
  }, 20_000);
  const sentence = entries.find((e) => e.action === 'said' && e.details?.text === '啊，欢迎来到直播间。');
  assert.equal(sentence?.channel, 'main');
  assert.equal(typeof sentence?.details?.mediaMs, 'number');
  const status = (await (await fenshen.api('/api/channels/main')).json()) as ChannelStatusAnswer;
  assert.ok((sentence?.details?.mediaMs as number) <= status.uptimeS * 1000 + 5000, 'its media time is on the channel\'s clock');
  const say = entries.find((e) => e.action === 'POST /api/channels/:id/say');
  assert.equal(say?.from, '127.0.0.1');
  assert.equal(say?.status, 202);
  const added = entries.find((e) => e.action === 'POST /api/channels/:id/destinations');
  assert.ok(added && !JSON.stringify(added).includes('STREAM-KEY-777'), JSON.stringify(added));
  // The label changes of the test before are in it too, refusals included.
  const all = auditListSchema.parse(await (await fenshen.api(`/api/audit?from=${started - 10 * 60_000}&action=scene`)).json()).entries;
  assert.ok(all.some((e) => e.status === 200) && all.some((e) => e.status === 400), `scene changes, accepted and refused: ${JSON.stringify(all)}`);
  // On disk: nothing secret at all.
  const dir = join(fenshen.dataDir, 'audit');
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  assert.ok(!text.includes(fenshen.token) && !text.includes('STREAM-KEY-777'));
  await fenshen.api('/api/channels/main/destinations/douyin', { method: 'DELETE' });
});
