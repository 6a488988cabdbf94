import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../pipeline/paths.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface FenshenProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly rtmpBase: string;
  readonly token: string;
  readonly dataDir: string;
  readonly stderr: () => string;
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts the real server process (`server/main.ts`) on free ports with its own data folder. */
export async function startFenshen(env: Record<string, string> = {}): Promise<FenshenProcess> {
  const [port, rtmpPort, flvPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'fenshen-e2e-'));
  const token = 'e2e-token-0123456789';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FENSHEN_PORT: String(port), FENSHEN_RTMP_PORT: String(rtmpPort), FENSHEN_FLV_PORT: String(flvPort), FENSHEN_DATA: dataDir, FENSHEN_TOKEN: token, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const proc: FenshenProcess = {
    child,
    url,
    rtmpBase: `rtmp://127.0.0.1:${rtmpPort}/live`,
    token,
    dataDir,
    stderr: () => stderr,
    api: (path, init = {}) =>
      fetch(url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) } }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  return proc;
}

export function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const result: number[] = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      result.push(c);
      stack.push(c);
    }
  }
  return result;
}

export function commandOf(pid: number): string {
  return spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
}

export interface ProbedPacket {
  readonly stream: 'video' | 'audio';
  readonly ptsS: number;
  readonly key: boolean;
}

/** Records `seconds` of a live RTMP stream with ffmpeg (stream copy) and lists its packets with ffprobe. */
export function recordAndProbe(rtmpUrl: string, seconds: number, file: string): { streams: Record<string, string | number>[]; packets: ProbedPacket[] } {
  const rec = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', rtmpUrl, '-t', String(seconds), '-c', 'copy', file], { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  if (rec.status !== 0) throw new Error(`recording failed: ${rec.stderr}`);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_packets', '-show_entries', 'stream=codec_type,codec_name,width,height,sample_rate,channels,has_b_frames:packet=codec_type,pts_time,flags', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const parsed = JSON.parse(probe.stdout) as { streams: Record<string, string | number>[]; packets: { codec_type: string; pts_time: string; flags: string }[] };
  return {
    streams: parsed.streams,
    packets: parsed.packets.map((p) => ({ stream: p.codec_type as 'video' | 'audio', ptsS: Number(p.pts_time), key: p.flags.startsWith('K') })),
  };
}

/** MD5 of every decoded video frame of a file. */
export function frameHashes(file: string): string[] {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)?.trim() ?? '');
}

/** Peak absolute sample of the decoded audio (s16). */
export function audioPeak(file: string): { samples: number; peak: number } {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const pcm = out.stdout as Buffer;
  let peak = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
  return { samples: pcm.length / 2, peak };
}
