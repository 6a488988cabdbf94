import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const SCRIPT = 'scripts/system-deps.mjs';

test('every command the code and tests spawn is on the list set-up and the test command install from', () => {
  const scan = spawnSync(process.execPath, [SCRIPT, 'scan'], { encoding: 'utf8' });
  assert.equal(scan.status, 0, scan.stderr);
});

test('a spawned command missing from the list fails the scan, naming the command and where', () => {
  const root = mkdtempSync(join(tmpdir(), 'fenshen-deps-'));
  try {
    mkdirSync(join(root, 'test'));
    // Written from pieces, so that this file itself does not read as spawning them.
    const call = (fn: string, command: string) => `${fn}('${command}', []);`;
    writeFileSync(join(root, 'test', 'probe.ts'), `import { spawnSync } from 'node:child_process';\n\n${call('spawnSync', 'sox')}\n`);
    mkdirSync(join(root, 'pipeline'));
    writeFileSync(join(root, 'pipeline', 'ok.ts'), `${call('spawn', 'ffmpeg')}\nchromium.launch({ ${'executablePath'}: '/usr/bin/firefox-esr' });\n`);
    const scan = spawnSync(process.execPath, [SCRIPT, 'scan', root], { encoding: 'utf8' });
    assert.equal(scan.status, 1);
    assert.match(scan.stderr, /test\/probe\.ts:3 spawns "sox"/);
    assert.match(scan.stderr, /pipeline\/ok\.ts:2 spawns "firefox-esr"/);
    assert.doesNotMatch(scan.stderr, /"ffmpeg"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a missing package is named, and a bad phase is refused', () => {
  // An empty PATH hides every command: the check must name each package to install.
  const check = spawnSync(process.execPath, [SCRIPT, 'check', 'test'], { encoding: 'utf8', env: { PATH: '' } });
  assert.equal(check.status, 1);
  for (const pkg of ['ffmpeg', 'espeak-ng', 'chromium', 'procps']) assert.match(check.stderr, new RegExp(`install Debian package ${pkg}\\b`));
  const missing = spawnSync(process.execPath, [SCRIPT, 'missing', 'setup'], { encoding: 'utf8', env: { PATH: '' } });
  assert.match(missing.stdout, /\bffmpeg\b/);
  assert.doesNotMatch(missing.stdout, /chromium/, 'the browser is for tests only');
  assert.equal(spawnSync(process.execPath, [SCRIPT, 'check', 'prod'], { encoding: 'utf8' }).status, 2);
});
