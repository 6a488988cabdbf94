import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../config/paths.js';

// The CI version of `npm run soak`: the whole channel for 2 minutes (30 s warm-up), judged by the same verdict.
test('a 2-minute soak: no dropped frames, |A/V| ≤ 40 ms, flat fds and children, destinations and viewers live', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/soak.ts', '--minutes', '2', '--warmup', '30', '--viewers', '2'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.match(out, /\| frames dropped \(encoder\) \/ missing in the RTMP read-back \| 0 \/ 0 of \d+ /, out + err.slice(-2000));
  assert.equal(code, 0, `soak verdict:\n${out}\n${err.slice(-2000)}`);
  assert.match(out, /Verdict: PASS/);
});
