import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { PipelineMetrics } from '../../pipeline/metrics.js';
import { Backoff } from '../../pipeline/output/backoff.js';
import { liveChildCount } from '../../pipeline/process/childRegistry.js';
import { scrubLine } from '../../pipeline/process/scrubLog.js';
import { SupervisedProcess, silenceWatchdog, type ProcessExit, type ProcessRun, type SupervisedProcessOptions } from '../../pipeline/process/supervisedProcess.js';

/** A real child: node running `script`. */
function nodeProcess(script: string, options: Partial<SupervisedProcessOptions> = {}): SupervisedProcess {
  return new SupervisedProcess({ name: 'test child', command: process.execPath, launch: () => ({ args: ['-e', script] }), ...options });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the first line the run prints on stdout. */
async function firstLine(proc: SupervisedProcess): Promise<string> {
  const stdout = proc.run?.stdout;
  assert.ok(stdout);
  const [chunk] = (await once(stdout, 'data')) as [Buffer];
  return chunk.toString().trim();
}

test('a crashing child is restarted with a growing backoff, counted, and reported with its last stderr line', async () => {
  const proc = nodeProcess('console.error("boom: bad input"); process.exit(3)', {
    restart: { backoff: new Backoff({ baseMs: 40, capMs: 160, jitter: false }) },
  });
  const exits: ProcessExit[] = [];
  const spawned: boolean[] = [];
  proc.on('spawned', (run) => spawned.push(run.restarted));
  proc.on('exit', (exit) => exits.push(exit));
  const startedMs = performance.now();
  proc.start();
  while (exits.length < 4) await once(proc, 'exit');
  const tookMs = performance.now() - startedMs;
  assert.deepEqual(exits.map((e) => e.restartInMs), [40, 80, 160, 160]);
  assert.ok(tookMs >= 40 + 80 + 160, `restarts waited for the backoff (${tookMs.toFixed(0)} ms)`);
  for (const exit of exits) {
    assert.equal(exit.code, 3);
    assert.equal(exit.lastLine, 'boom: bad input');
    assert.equal(exit.reason, 'boom: bad input');
    assert.equal(exit.killedFor, null);
  }
  assert.deepEqual(spawned, [false, true, true, true]);
  assert.equal(proc.counters.starts, 4);
  assert.equal(proc.counters.restarts, 3);
  assert.equal(proc.counters.lastExit, exits[3]);
  await proc.close();
  assert.equal(proc.restartPending, false);
  assert.equal(liveChildCount(), 0);
});

test('a run that held for stableMs resets the backoff; shouldRestart false leaves it stopped', async () => {
  const backoff = new Backoff({ baseMs: 30, capMs: 1000, jitter: false });
  backoff.next();
  backoff.next();
  let verdict = true;
  const proc = nodeProcess('setTimeout(() => process.exit(1), 120)', { restart: { backoff, stableMs: 100, shouldRestart: () => verdict } });
  proc.start();
  const [first] = (await once(proc, 'exit')) as [ProcessExit];
  assert.equal(first.restartInMs, 30, 'back to the base delay after a stable run');
  verdict = false;
  const [second] = (await once(proc, 'exit')) as [ProcessExit];
  assert.equal(second.restartInMs, null);
  assert.equal(proc.running, false);
  assert.equal(proc.restartPending, false);
  await proc.close();
});

test('the watchdog kills a child that goes silent and reports why', async () => {
  const proc = nodeProcess('console.log("hello"); setInterval(() => {}, 1000)', { watchdog: silenceWatchdog(300) });
  proc.start();
  const pid = proc.pid as number;
  assert.equal(await firstLine(proc), 'hello');
  const startedMs = performance.now();
  const [exit] = (await once(proc, 'exit')) as [ProcessExit];
  assert.equal(exit.signal, 'SIGKILL');
  assert.match(exit.killedFor ?? '', /^stalled: no output for/);
  assert.equal(exit.reason, exit.killedFor);
  assert.equal(exit.restartInMs, null);
  assert.ok(performance.now() - startedMs < 1500);
  assert.equal(alive(pid), false);
  await proc.close();
});

test('a watchdog that is not armed leaves a silent child alone; output it is told of keeps it alive', async () => {
  let armed = false;
  const proc = nodeProcess('setInterval(() => {}, 1000)', { watchdog: { ...silenceWatchdog(150, () => armed), output: 'reported' } });
  let exited = false;
  proc.on('exit', () => {
    exited = true;
  });
  proc.start();
  const beat = setInterval(() => proc.noteOutput(), 30);
  await new Promise((r) => setTimeout(r, 400));
  armed = true;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(exited, false);
  clearInterval(beat);
  await once(proc, 'exit');
  await proc.close();
});

test('close sends SIGTERM, then SIGKILL to a child that ignores it; no child is left', async () => {
  const proc = nodeProcess('process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)', { killGraceMs: 300, stdin: 'pipe' });
  proc.start();
  const pid = proc.pid as number;
  assert.equal(await firstLine(proc), 'ready');
  assert.equal(liveChildCount(), 1);
  const startedMs = performance.now();
  await proc.close();
  const tookMs = performance.now() - startedMs;
  assert.ok(tookMs >= 280, `waited the grace period (${tookMs.toFixed(0)} ms)`);
  assert.ok(tookMs < 2000);
  assert.equal(alive(pid), false);
  assert.equal(proc.running, false);
  assert.equal(liveChildCount(), 0);
});

test('close of a child that obeys SIGTERM is quick; close twice is safe and emits nothing', async () => {
  const proc = nodeProcess('console.log("ready"); setInterval(() => {}, 1000)', { killGraceMs: 5000, restart: { backoff: Backoff.fixed(10) } });
  let events = 0;
  proc.on('exit', () => events++);
  proc.start();
  const pid = proc.pid as number;
  await firstLine(proc);
  const startedMs = performance.now();
  const first = proc.close();
  const second = proc.close();
  assert.equal(first, second);
  await Promise.all([first, second]);
  await proc.close();
  assert.ok(performance.now() - startedMs < 2000);
  assert.equal(alive(pid), false);
  assert.equal(events, 0, 'a requested end is no exit event and starts nothing');
  assert.equal(proc.listenerCount('exit'), 0);
  proc.start();
  assert.equal(proc.running, false, 'a closed process never starts again');
  assert.equal(liveChildCount(), 0);
});

test('stop ends the run without restarting; start runs it again', async () => {
  const proc = nodeProcess('console.log(process.pid); setInterval(() => {}, 1000)', { restart: { backoff: Backoff.fixed(10) } });
  proc.start();
  const firstPid = Number(await firstLine(proc));
  await proc.stop();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(proc.running, false);
  assert.equal(alive(firstPid), false);
  proc.start();
  const secondPid = Number(await firstLine(proc));
  assert.notEqual(secondPid, firstPid);
  await proc.close();
  assert.equal(alive(secondPid), false);
});

test('replace starts a fresh run at once, with no exit event', async () => {
  let launches = 0;
  const proc = new SupervisedProcess({
    name: 'test child',
    command: process.execPath,
    launch: () => ({ args: ['-e', `console.log("run ${++launches}"); setInterval(() => {}, 1000)`] }),
  });
  const exits: ProcessExit[] = [];
  proc.on('exit', (e) => exits.push(e));
  proc.start();
  assert.equal(await firstLine(proc), 'run 1');
  proc.replace();
  const [run] = (await once(proc, 'spawned')) as [ProcessRun];
  assert.equal(run.restarted, false);
  assert.equal(await firstLine(proc), 'run 2');
  assert.deepEqual(exits, []);
  await proc.close();
});

test('stderr is kept scrubbed: a stream key in a URL, a bare secret and a token never appear', async () => {
  const key = 'sk_live_9f8e7d6c5b4a';
  const script = [
    `console.error("[rtmp] Cannot open rtmp://live.example.com/app/${key}?auth=abc123: I/O error")`,
    `console.error("publishing ${key} failed, token=hunter22")`,
    'process.exit(1)',
  ].join(';');
  const proc = nodeProcess(script, { secrets: [key] });
  proc.start();
  const [exit] = (await once(proc, 'exit')) as [ProcessExit];
  const text = `${exit.stderrTail}\n${exit.lastLine}\n${exit.reason}`;
  assert.ok(!text.includes(key), text);
  assert.ok(!text.includes('abc123'), text);
  assert.ok(!text.includes('hunter22'), text);
  assert.match(exit.stderrTail, /rtmp:\/\/live\.example\.com\/app\/\*\*\*\?\*\*\*/);
  assert.equal(exit.lastLine, 'publishing *** failed, token=***');
  await proc.close();
});

test('a long stderr keeps only complete lines of its tail, so half a secret never survives', async () => {
  const key = 'KEY0123456789abcdef';
  // The key sits near where the 2000-character tail would cut.
  const script = `process.stderr.write("x".repeat(5000) + " ${key}\\n" + "y".repeat(1980) + "\\nlast words\\n"); setTimeout(() => process.exit(2), 50)`;
  const proc = nodeProcess(script, { secrets: [key] });
  proc.start();
  const [exit] = (await once(proc, 'exit')) as [ProcessExit];
  assert.ok(!exit.stderrTail.includes('abcdef'), exit.stderrTail);
  assert.equal(exit.lastLine, 'last words');
  await proc.close();
});

test('a program that cannot be started is reported once as an error and an exit with the reason', async () => {
  const proc = new SupervisedProcess({ name: 'ffmpeg', command: '/nonexistent/ffmpeg', launch: () => ({ args: ['-version'] }), stdin: 'pipe' });
  const errors: Error[] = [];
  proc.on('error', (err) => errors.push(err));
  proc.start();
  proc.run?.stdin?.write('ignored');
  // Not events.once: it would reject on the 'error' this test expects.
  const exit = await new Promise<ProcessExit>((resolve) => proc.once('exit', resolve));
  assert.equal(errors.length, 1);
  assert.match(exit.startError ?? '', /ffmpeg cannot be started: .*ENOENT/);
  assert.equal(exit.reason, exit.startError);
  assert.equal(proc.running, false);
  await proc.close();
});

test('extra pipes are wired as fd 3 and 4', async () => {
  const proc = nodeProcess('', {
    launch: () => ({ args: ['-e', 'require("fs").createReadStream(null, { fd: 3 }).pipe(require("fs").createWriteStream(null, { fd: 4 }))'], extraFds: ['pipe', 'pipe'] }),
  });
  proc.start();
  const [input, output] = proc.run?.extra ?? [];
  assert.ok(input && output);
  const echoed = once(output, 'data');
  (input as NodeJS.WritableStream).end('through fd 3 and 4');
  const [chunk] = (await echoed) as [Buffer];
  assert.equal(chunk.toString(), 'through fd 3 and 4');
  await proc.close();
});

test('a descriptor of ours is handed to the child as fd 3 and closed here at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-fd-'));
  const file = join(dir, 'handed.txt');
  writeFileSync(file, 'only through fd 3');
  let fd = -1;
  const proc = nodeProcess('', {
    launch: () => {
      fd = openSync(file, 'r');
      return { args: ['-e', 'process.stdout.write(require("fs").readFileSync(3))'], extraFds: [fd] };
    },
  });
  proc.start();
  assert.throws(() => fstatSync(fd), /EBADF/);
  assert.equal(await firstLine(proc), 'only through fd 3');
  await proc.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the parent exiting takes its supervised children with it', async () => {
  // A parent that starts a child which would run for ever, prints its pid, then exits with it still running.
  const parentScript = `
    import { SupervisedProcess } from '${new URL('../../pipeline/process/supervisedProcess.ts', import.meta.url).href}';
    const proc = new SupervisedProcess({ name: 'sleeper', command: process.execPath, launch: () => ({ args: ['-e', 'setInterval(() => {}, 1000)'] }) });
    proc.start();
    console.log(proc.pid);
    setTimeout(() => process.exit(0), 100);
  `;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const [code] = (await once(parent, 'close')) as [number];
  assert.equal(code, 0);
  const pid = Number(out.trim());
  assert.ok(pid > 0, out);
  const deadline = performance.now() + 2000;
  while (alive(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(pid), false, 'the child did not outlive its parent');
});

test('log scrubbing: URL keys, queries and passwords, credentials, control characters; an owner-masked key stays as it is', () => {
  assert.equal(scrubLine('rtmp://u:pw@a.example.com:1935/live/abcdef?x=1 failed'), 'rtmp://a.example.com:1935/live/***?*** failed');
  assert.equal(scrubLine('rtmp://a.example.com/live/ab*** failed'), 'rtmp://a.example.com/live/ab*** failed');
  assert.equal(scrubLine('Authorization: Bearer abc.def', []), 'Authorization: Bearer ***');
  assert.equal(scrubLine('a\u0007b\r\n', []), 'a b');
  assert.equal(scrubLine('the abcd and abcdefgh', ['abcd', 'abcdefgh']), 'the *** and ***');
  assert.equal(scrubLine('Missing key frame; secret: s3cr3t, password=pw'), 'Missing key frame; secret: ***, password=***');
});

test('metrics count every supervised process by name: running now, starts and restarts, and how each unexpected end came about', async () => {
  const registry = new Registry();
  new PipelineMetrics(registry);
  const sample = async (metric: string, labels: string) => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${metric}{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const crashing = new SupervisedProcess({
    name: 'tally crasher',
    command: process.execPath,
    launch: () => ({ args: ['-e', 'process.exit(2)'] }),
    restart: { backoff: new Backoff({ baseMs: 20, capMs: 20, jitter: false }) },
  });
  const exits: ProcessExit[] = [];
  crashing.on('exit', (e) => exits.push(e));
  crashing.start();
  while (exits.length < 3) await once(crashing, 'exit');
  await crashing.close();
  assert.ok((await sample('fenshen_child_process_starts_total', 'process="tally crasher",restart="yes"')) >= 2);
  assert.equal(await sample('fenshen_child_process_starts_total', 'process="tally crasher",restart="no"'), 1);
  assert.ok((await sample('fenshen_child_process_failures_total', 'process="tally crasher",how="exit"')) >= 3);
  const silent = new SupervisedProcess({ name: 'tally sleeper', command: process.execPath, launch: () => ({ args: ['-e', 'setInterval(() => {}, 1000)'] }), killGraceMs: 0 });
  silent.start();
  assert.ok(silent.run?.pid, 'started');
  assert.equal(await sample('fenshen_child_processes', 'process="tally sleeper"'), 1, 'one running');
  silent.kill('test kill');
  await once(silent, 'exit');
  assert.equal(await sample('fenshen_child_process_failures_total', 'process="tally sleeper",how="watchdog"'), 1, 'a kill counts as the watchdog\'s');
  await silent.close();
  const byeMs = performance.now() + 2000;
  while ((await sample('fenshen_child_processes', 'process="tally sleeper"')) !== 0 && performance.now() < byeMs) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await sample('fenshen_child_processes', 'process="tally sleeper"'), 0, 'none running after close');
});
