#!/usr/bin/env node
// The one list of what fenshen needs from Debian, by phase: `setup` (running the server) and `test` (the
// test suite and benchmarks on top). Set-up and the test command install from this list, and `scan` fails
// when the code or the tests spawn a command that is not on it, so a tool installed by hand on one machine
// cannot hide a missing install step on a fresh one.
//
//   node scripts/system-deps.mjs missing setup|test   Debian packages still to install (space-separated)
//   node scripts/system-deps.mjs check setup|test     exit 1, naming each package, if anything is missing
//   node scripts/system-deps.mjs scan [DIR]           exit 1 if a spawned command is not on the list (DIR: the
//                                                     tree to read, the project by default)
//
// Plain Node with no dependencies: set-up runs it before `npm ci`.
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Commands spawned by the code (setup) or only by tests and benchmarks (test), with their Debian package. */
const COMMANDS = {
  'ffmpeg': { pkg: 'ffmpeg', phase: 'setup', why: 'encoder, muxers, decoders (config ffmpegPath)' },
  'ffprobe': { pkg: 'ffmpeg', phase: 'setup', why: 'upload checks, drive files' },
  'ps': { pkg: 'procps', phase: 'test', why: 'tests and bench find child processes' },
  'ss': { pkg: 'iproute2', phase: 'test', why: 'loadtest finds the server by its port' },
  'getconf': { pkg: 'libc-bin', phase: 'test', why: 'CPU accounting in bench and loadtest' },
  'espeak-ng': { pkg: 'espeak-ng', phase: 'test', why: 'the HTTP-voice stand-in and the VAD test speak with it' },
  'chromium': { pkg: 'chromium', phase: 'test', why: 'browser tests (playwright-core drives /usr/bin/chromium)' },
  'redis-server': { pkg: 'redis-server', phase: 'test', why: 'the video queue test starts a real Redis for BullMQ (the server itself only connects to FENSHEN_REDIS_URL)' },
};

/** Files the build or the picture need that no command stands for. Any one of `paths` will do. */
const FILES = [
  { paths: ['/usr/include/espeak-ng/speak_lib.h'], pkg: 'libespeak-ng-dev', phase: 'setup', why: 'builds the eSpeak helper' },
  { paths: ['/usr/share/espeak-ng-data/phontab', '/usr/lib/x86_64-linux-gnu/espeak-ng-data/phontab'], pkg: 'espeak-ng-data', phase: 'setup', why: 'the voices' },
  { paths: ['/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'], pkg: 'fonts-wqy-microhei', phase: 'setup', why: 'CJK captions' },
];

/** Spawned through the Node binary itself or a POSIX shell every Debian has. */
const ALWAYS_THERE = new Set(['sh', 'node', 'npm', 'npx']);

const PHASES = ['setup', 'test'];

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/** What is missing for `phase` (setup's needs are part of test's). */
function missing(phase) {
  const wanted = new Set(PHASES.slice(0, PHASES.indexOf(phase) + 1));
  const gaps = [];
  for (const [command, need] of Object.entries(COMMANDS)) {
    if (wanted.has(need.phase) && !onPath(command)) gaps.push({ what: `command ${command}`, ...need });
  }
  for (const need of FILES) {
    if (wanted.has(need.phase) && !need.paths.some((p) => existsSync(p))) gaps.push({ what: need.paths[0], ...need });
  }
  return gaps;
}

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mjs|js)$/.test(name)) yield path;
  }
}

/** Commands named literally where the code starts a process or a browser, with where. */
function spawnedCommands(root) {
  const found = new Map();
  const patterns = [
    /\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*['"`]([^'"`]+)['"`]/g,
    /\bexecutablePath:\s*['"`]([^'"`]+)['"`]/g,
  ];
  for (const top of ['server', 'pipeline', 'signaling', 'models', 'config', 'loadtest', 'test', 'scripts']) {
    if (!existsSync(join(root, top))) continue;
    for (const file of sourceFiles(join(root, top))) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          const command = match[1].split('/').pop();
          const line = text.slice(0, match.index).split('\n').length;
          if (!found.has(command)) found.set(command, []);
          found.get(command).push(`${relative(root, file)}:${line}`);
        }
      }
    }
  }
  return found;
}

const [mode, arg] = process.argv.slice(2);
const phase = arg ?? 'test';
if ((mode === 'missing' || mode === 'check') && !PHASES.includes(phase)) {
  console.error(`system-deps: phase must be one of ${PHASES.join(', ')}`);
  process.exit(2);
}
switch (mode) {
  case 'missing':
    console.log([...new Set(missing(phase).map((g) => g.pkg))].join(' '));
    break;
  case 'check': {
    const gaps = missing(phase);
    if (gaps.length > 0) {
      for (const gap of gaps) console.error(`fenshen: ${gap.what} is missing (${gap.why}): install Debian package ${gap.pkg}`);
      console.error(`fenshen: apt-get install ${[...new Set(gaps.map((g) => g.pkg))].join(' ')}  (npm run setup and npm test do this)`);
      process.exit(1);
    }
    break;
  }
  case 'scan': {
    let unlisted = 0;
    for (const [command, places] of spawnedCommands(arg ?? ROOT)) {
      if (ALWAYS_THERE.has(command) || command in COMMANDS) continue;
      unlisted++;
      console.error(`fenshen: ${places.join(', ')} spawn${places.length > 1 ? '' : 's'} "${command}", which scripts/system-deps.mjs does not list: add it with its Debian package`);
    }
    if (unlisted > 0) process.exit(1);
    break;
  }
  default:
    console.error('usage: node scripts/system-deps.mjs missing|check setup|test, or scan');
    process.exit(2);
}
