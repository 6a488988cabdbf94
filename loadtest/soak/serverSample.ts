/** One look at the server under soak: its process from /proc, its children, and its /metrics. */
import { readdirSync } from 'node:fs';
import { cpuSeconds, descendants, rssBytes } from '../viewers/procStats.js';

export interface ServerSample {
  readonly atS: number;
  readonly rssMb: number;
  readonly childrenRssMb: number;
  readonly heapMb: number;
  /** Memory outside the JS heap that V8 is told about: Skia canvases, buffers. */
  readonly externalMb: number;
  /** The avatar rotation cache, which fills toward its budget: growth that is not a leak. */
  readonly avatarCacheMb: number;
  readonly fds: number;
  readonly children: number;
  /** Worst event-loop delay since the previous sample, ms. */
  readonly lagMaxMs: number;
  readonly cpuSeconds: number;
  readonly framesDropped: number;
  readonly framesRepeated: number;
  readonly encoderRestarts: number;
  readonly avOffsetMs: number;
  readonly outputFps: number;
  readonly destinationsLive: number;
  readonly destinationReconnects: number;
}

/** Sum of every series of a metric whose labels contain all of `match` (Prometheus text format). */
export function metricSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (Object.entries(match).some(([k, v]) => !line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

export async function sampleServer(url: string, pid: number, channel: string, startedAtMs: number): Promise<ServerSample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const kids = descendants(pid);
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  let fds = 0;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    fds = -1;
  }
  const c = { channel };
  return {
    atS: (Date.now() - startedAtMs) / 1000,
    rssMb: mb(rssBytes(pid) ?? 0),
    childrenRssMb: mb(kids.reduce((s, k) => s + (rssBytes(k) ?? 0), 0)),
    heapMb: mb(metricSum(text, 'fenshen_nodejs_heap_size_used_bytes')),
    externalMb: mb(metricSum(text, 'fenshen_nodejs_external_memory_bytes')),
    avatarCacheMb: mb(metricSum(text, 'fenshen_avatar_cache_bytes', c)),
    fds,
    children: kids.length,
    lagMaxMs: Math.round(metricSum(text, 'fenshen_nodejs_eventloop_lag_max_seconds') * 10000) / 10,
    cpuSeconds: [pid, ...kids].reduce((s, p) => s + (cpuSeconds(p) ?? 0), 0),
    framesDropped: metricSum(text, 'fenshen_frames_dropped_total', { ...c, stage: 'encoder' }),
    framesRepeated: metricSum(text, 'fenshen_frames_dropped_total', { ...c, stage: 'render' }),
    encoderRestarts: metricSum(text, 'fenshen_encoder_restarts_total', c),
    avOffsetMs: Math.round(metricSum(text, 'fenshen_av_offset_seconds', c) * 10000) / 10,
    outputFps: metricSum(text, 'fenshen_output_fps', c),
    destinationsLive: metricSum(text, 'fenshen_destination_up', c),
    destinationReconnects: metricSum(text, 'fenshen_destination_reconnects_total', c),
  };
}
