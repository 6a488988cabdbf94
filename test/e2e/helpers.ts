import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { OUTPUT_PRESETS } from '../../config/presets.js';
import { channelSchema } from '../../config/schema.js';
import { loadAvatar, resolveAvatarDir } from '../../pipeline/avatar/loader.js';
import { rasterizeAvatar } from '../../pipeline/avatar/raster.js';
import { AvatarRenderer } from '../../pipeline/avatar/renderer.js';
import { restPose } from '../../pipeline/avatar/rig.js';
import { Channel } from '../../pipeline/channel.js';
import { PROJECT_ROOT } from '../../pipeline/paths.js';
import { AIGC_SEI_UUID } from '../../pipeline/compliance/aigcLabel.js';
import { EVENT_SCHEMAS } from '../../server/api/contract.js';

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
  /** GET `path` (or `init`'s request) and its answer read through the contract's `schema`; a 4xx/5xx throws. */
  read<S extends z.ZodType>(path: string, schema: S, init?: RequestInit): Promise<z.output<S>>;
  /** Waits (60 s at most) for /healthz to say ok; a timeout says what /healthz answered and the server's last log lines. */
  live(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An answer's JSON read through the contract's schema (server/api/contract.ts): the answers are strict,
 * so a field the server adds, drops or retypes without the contract fails the test here, naming it.
 */
export async function readAnswer<S extends z.ZodType>(res: Response, schema: S): Promise<z.output<S>> {
  const text = await res.text();
  const result = schema.safeParse(JSON.parse(text));
  if (!result.success) throw new Error(`${res.url} answered ${res.status} outside the contract: ${result.error.message}\n${text.slice(0, 1000)}`);
  return result.data;
}

/** Starts the real server process (`server/main.ts`) on free ports with its own data folder. */
export async function startFenshen(env: Record<string, string> = {}): Promise<FenshenProcess> {
  // `env` may pin a port or the data folder (a restart on the same ones); the rest are fresh.
  const pick = async (name: string) => Number(env[name] ?? (await freePort()));
  const [port, rtmpPort, flvPort, webrtcPort] = [await pick('FENSHEN_PORT'), await pick('FENSHEN_RTMP_PORT'), await pick('FENSHEN_FLV_PORT'), await pick('FENSHEN_WEBRTC_PORT')];
  const dataDir = env.FENSHEN_DATA ?? mkdtempSync(join(tmpdir(), 'fenshen-e2e-'));
  const token = 'e2e-token-0123456789';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FENSHEN_PORT: String(port), FENSHEN_RTMP_PORT: String(rtmpPort), FENSHEN_FLV_PORT: String(flvPort), FENSHEN_WEBRTC_PORT: String(webrtcPort), FENSHEN_DATA: dataDir, FENSHEN_TOKEN: token, ...env },
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
    async read(path, schema, init) {
      const res = await proc.api(path, init);
      if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
      return readAnswer(res, schema);
    },
    async live() {
      let last = 'no answer';
      try {
        await waitFor('main live', async () => {
          const res = await fetch(`${url}/healthz`).catch((err: Error) => err);
          if (res instanceof Error) {
            last = res.message;
            return undefined;
          }
          last = `${res.status} ${await res.text()}`;
          return res.ok ? true : undefined;
        }, 60_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}: /healthz answered ${last}; the server ${child.exitCode === null ? 'is running' : `exited (${child.exitCode})`}; its log ends:\n${stderr.split('\n').slice(-15).join('\n')}`);
      }
    },
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

/** Records a live RTMP stream with ffmpeg (stream copy) in the background; resolves when it ends. */
export function recordAsync(rtmpUrl: string, seconds: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -rw_timeout: a stream that stops sending fails the reader (and the test, with a reason) instead of hanging it.
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-rw_timeout', '10000000', '-i', rtmpUrl, '-t', String(seconds), '-c', 'copy', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const deadline = setTimeout(() => {
      err += `\nstill recording ${seconds + 30} s after the start of a ${seconds} s recording: killed`;
      child.kill('SIGKILL');
    }, (seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      if (code === 0) resolve();
      else reject(new Error(`recording ${rtmpUrl.replace(/\/[^/]*$/, '/…')} failed (${code}): ${err.trim()}`));
    });
  });
}

/** RMS of the decoded audio (mono, 16 kHz) in windows of `windowMs`, with the stream's start time. */
export function audioEnvelope(file: string, windowMs = 5): { startS: number; windowS: number; rms: number[] } {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', '16000', '-'], { maxBuffer: 256 * 1024 * 1024 });
  const pcm = out.stdout as Buffer;
  const n = Math.round((16000 * windowMs) / 1000);
  const rms: number[] = [];
  for (let at = 0; at + n * 2 <= pcm.length; at += n * 2) {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const x = pcm.readInt16LE(at + i * 2);
      e += x * x;
    }
    rms.push(Math.sqrt(e / n));
  }
  return { startS: streamStart(file, 'audio'), windowS: windowMs / 1000, rms };
}

/** The first timestamp of a stream in a recording. */
export function streamStart(file: string, type: 'audio' | 'video'): number {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', type === 'audio' ? 'a:0' : 'v:0', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(probe.stdout.trim()) || 0;
}

/** Per decoded frame: how many pixels of a region are darker than `below` (8-bit luma), and its mean luma. */
export function darkPixels(file: string, region: { x: number; y: number; width: number; height: number }, below = 90): { startS: number; counts: number[]; means: number[] } {
  // Even offsets and sizes: ffmpeg's crop rounds odd ones on 4:2:0 video, which would misalign frames here.
  const even = (v: number) => Math.max(2, Math.floor(v / 2) * 2);
  const rect = { x: even(region.x), y: even(region.y), width: even(region.width), height: even(region.height) };
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v', '-vf', `crop=${rect.width}:${rect.height}:${rect.x}:${rect.y},format=gray`, '-vsync', '0', '-f', 'rawvideo', '-'], { maxBuffer: 512 * 1024 * 1024 });
  const frame = rect.width * rect.height;
  const buf = out.stdout as Buffer;
  const counts: number[] = [];
  const means: number[] = [];
  for (let at = 0; at + frame <= buf.length; at += frame) {
    let c = 0, sum = 0;
    for (let i = 0; i < frame; i++) {
      const v = buf[at + i] as number;
      sum += v;
      if (v < below) c++;
    }
    counts.push(c);
    means.push(sum / frame);
  }
  return { startS: streamStart(file, 'video'), counts, means };
}

/**
 * Times where a series rises above `threshold` after at least `quietS` below it (onsets), in the
 * series' own clock (start + index * step).
 */
export function onsets(values: readonly number[], startS: number, stepS: number, threshold: number, quietS: number): number[] {
  const out: number[] = [];
  let quiet = 0;
  for (let i = 0; i < values.length; i++) {
    if ((values[i] as number) > threshold) {
      if (quiet * stepS >= quietS) out.push(startS + i * stepS);
      quiet = 0;
    } else {
      quiet++;
    }
  }
  return out;
}

/**
 * Listens to a channel's server-sent events; `events` fills as they come, with their arrival time. Each
 * event's data is read through the contract's schema for its name: one outside the contract is left out
 * and makes `close()` throw, naming it.
 */
export function listenEvents(url: string, token: string): { events: { atMs: number; type: string; data: Record<string, unknown> }[]; close: () => void; ready: Promise<void> } {
  const events: { atMs: number; type: string; data: Record<string, unknown> }[] = [];
  const outsideContract: string[] = [];
  const controller = new AbortController();
  const ready = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    const reader = res.body.getReader();
    let text = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += Buffer.from(value).toString('utf8');
          let end;
          while ((end = text.indexOf('\n\n')) !== -1) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!type || !data) continue;
            const schema = EVENT_SCHEMAS[type as keyof typeof EVENT_SCHEMAS] as z.ZodType | undefined;
            const checked = schema?.safeParse(JSON.parse(data));
            if (!checked?.success) {
              outsideContract.push(`event ${type} ${data}${checked ? `: ${checked.error.message}` : ' (no such event in the contract)'}`);
              console.error(`# outside the contract: ${outsideContract.at(-1)}`);
            } else events.push({ atMs: performance.now(), type, data: checked.data as Record<string, unknown> });
          }
        }
      } catch {
        // closed
      }
    })();
  })();
  const close = () => {
    controller.abort();
    if (outsideContract.length) throw new Error(`events outside the contract:\n${outsideContract.join('\n')}`);
  };
  return { events, close, ready };
}

/** A stand-alone RTMP server (loadtest/rtmpServer.ts) in its own process, resolved once it listens. */
export async function spawnRtmpServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'loadtest/rtmpServer.ts', '--port', String(port)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => (c.toString().includes('rtmp server on') ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`RTMP server on port ${port} exited (${code})`)));
  });
  return child;
}

/** xiaomei's mouth box (with a margin) in a 720x1280 frame of the default scene, where the mouth-vs-voice tests look. */
export async function mouthRegion(): Promise<{ x: number; y: number; width: number; height: number }> {
  const config = channelSchema.parse({});
  const preset = OUTPUT_PRESETS['portrait-720p'];
  const definition = loadAvatar(resolveAvatarDir('xiaomei', '.'));
  const renderer = new AvatarRenderer(await rasterizeAvatar(definition, (preset.height * config.scene.avatarPlacement.heightFraction) / definition.manifest.viewBox[1]));
  const mouth = renderer.frame(restPose(), Channel.placementFor(config.scene, preset)).find((item) => item.layer.includes('mouth'));
  if (!mouth) throw new Error('xiaomei has no mouth layer');
  const [x0, y0, x1, y1] = mouth.bounds;
  return { x: x0 - 14, y: y0 - 14, width: x1 - x0 + 28, height: y1 - y0 + 28 };
}

/** The AIGC implicit label of a file's H.264: each SEI carrying it (user data unregistered, our UUID) with its fields, in stream order. */
export function aigcSeis(file: string): Record<string, string>[] {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v', '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', '-'], { maxBuffer: 256 * 1024 * 1024 });
  const stream = out.stdout as Buffer;
  const found: Record<string, string>[] = [];
  for (let at = stream.indexOf(AIGC_SEI_UUID); at >= 0; at = stream.indexOf(AIGC_SEI_UUID, at + 16)) {
    const end = stream.indexOf(0x80, at + 16);
    found.push(JSON.parse(stream.toString('utf8', at + 16, end)) as Record<string, string>);
  }
  return found;
}

/** A file's container-level metadata tag (FLV onMetaData, MP4 keys), or undefined. */
export function formatTag(file: string, tag: string): string | undefined {
  const out = spawnSync('ffprobe', ['-v', 'error', '-show_entries', `format_tags=${tag}`, '-of', 'json', file], { encoding: 'utf8' });
  return (JSON.parse(out.stdout || '{}') as { format?: { tags?: Record<string, string> } }).format?.tags?.[tag];
}
