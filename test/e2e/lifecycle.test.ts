import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { commandOf, descendants, recordAndProbe, recordAsync, startFenshen, waitFor, type FenshenProcess } from './helpers.js';

let fenshen: FenshenProcess;
const work = mkdtempSync(join(tmpdir(), 'fenshen-life-'));

async function healthy(f: FenshenProcess): Promise<void> {
  await waitFor('healthz 200', async () => ((await fetch(`${f.url}/healthz`)).status === 200 ? true : undefined), 40_000);
}

function alive(pids: readonly number[]): number[] {
  return pids.filter((p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  });
}

before(async () => {
  fenshen = await startFenshen();
  await healthy(fenshen);
});

after(async () => {
  await fenshen?.stop();
});

test('a hung encoder is replaced and the timeline goes on without a hole', async () => {
  const encoder = descendants(fenshen.child.pid as number).find((pid) => commandOf(pid).includes('rawvideo'));
  assert.ok(encoder);
  const file = join(work, 'through-encoder-stall.flv');
  const recording = recordAsync(`${fenshen.rtmpBase}/main`, 12, file);
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(encoder, 'SIGSTOP');
  await waitFor('encoder replaced', async () => (/fenshen_encoder_restarts_total\{channel="main"\} [1-9]/.test(await (await fetch(`${fenshen.url}/metrics`)).text()) ? true : undefined), 20_000);
  assert.match(fenshen.stderr(), /encoder stopped \(stalled: no output/);
  await recording;
  const { packets } = recordAndProbe(`file:${file}`, 12, join(work, 'stall-copy.flv'));
  const times = packets.filter((p) => p.stream === 'video').map((p) => p.ptsS);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  // The held ticks went into the new encoder: timestamps run on frame by frame (the picture paused, the timeline did not jump).
  assert.ok(Math.max(...gaps) < 0.1, `largest timestamp step ${Math.max(...gaps).toFixed(3)} s`);
  assert.ok(times.length >= 200, `${times.length} frames`);
});

test('stopping the server leaves no process behind; neither does a killed server', async () => {
  const children = descendants(fenshen.child.pid as number);
  assert.ok(children.length >= 2, 'encoder and muxer run');
  await fenshen.stop();
  assert.deepEqual(alive(children), []);

  // SIGKILL gives the server no chance to clean up: its children notice their closed pipes and end.
  fenshen = await startFenshen({ FENSHEN_DATA: fenshen.dataDir });
  await healthy(fenshen);
  await waitFor('muxer running', () => (descendants(fenshen.child.pid as number).length >= 2 ? true : undefined));
  const orphans = descendants(fenshen.child.pid as number);
  fenshen.child.kill('SIGKILL');
  await waitFor('orphans gone', () => (alive(orphans).length === 0 ? true : undefined), 10_000).catch(() => {
    throw new Error(`still running after the server was killed: ${alive(orphans).map(commandOf).join(' | ')}`);
  });
});
