/** Turns the soak's samples into growth rates and a pass/fail line per goal, as a markdown table. */
import type { ServerSample } from './serverSample.js';
import type { StreamWindow } from './streamWatch.js';

export interface SoakRecord {
  readonly minutes: number;
  readonly warmupS: number;
  readonly samples: readonly ServerSample[];
  readonly windows: readonly (StreamWindow & { readonly atS: number })[];
  readonly readerReconnects: number;
  readonly viewers: { readonly count: number; readonly fps: readonly number[] } | null;
  readonly destinationsAtEnd: readonly { readonly id: string; readonly state: string }[];
}

export interface Verdict {
  readonly pass: boolean;
  readonly table: string;
}

/** A judged growth rate needs this long after warm-up; shorter runs report it without judging. */
const MIN_JUDGED_WINDOW_S = 600;

/** Least-squares slope of y over x (per unit of x). */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Growth in % of the mean per hour. */
function growthPerHour(samples: readonly ServerSample[], pick: (s: ServerSample) => number): number {
  const ys = samples.map(pick);
  const mean = ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length);
  return mean === 0 ? 0 : ((slope(samples.map((s) => s.atS), ys) * 3600) / mean) * 100;
}

const range = (values: readonly number[]) => (values.length ? `${Math.min(...values)}–${Math.max(...values)}` : '–');
const fixed = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');

export function judge(record: SoakRecord): Verdict {
  const steady = record.samples.filter((s) => s.atS >= record.warmupS);
  const first = steady[0];
  const last = steady.at(-1);
  const windowS = first && last ? last.atS - first.atS : 0;
  const judged = windowS >= MIN_JUDGED_WINDOW_S;
  const windows = record.windows.filter((w) => w.atS >= record.warmupS);
  const rssGrowth = growthPerHour(steady, (s) => s.rssMb);
  const childGrowth = growthPerHour(steady, (s) => s.childrenRssMb);
  const heapGrowth = growthPerHour(steady, (s) => s.heapMb);
  const dropped = first && last ? last.framesDropped - first.framesDropped : NaN;
  const repeated = first && last ? last.framesRepeated - first.framesRepeated : NaN;
  const missing = windows.reduce((s, w) => s + w.missingFrames, 0);
  const backward = windows.reduce((s, w) => s + w.backwardSteps, 0);
  const received = windows.reduce((s, w) => s + w.videoFrames, 0);
  const avServer = Math.max(0, ...steady.map((s) => Math.abs(s.avOffsetMs)));
  const avReader = Math.max(0, ...windows.flatMap((w) => (w.avOffsetMs === null ? [] : [Math.abs(w.avOffsetMs)])));
  const worstLag = Math.max(0, ...steady.map((s) => s.lagMaxMs));
  const restarts = first && last ? last.encoderRestarts - first.encoderRestarts : NaN;
  const reconnects = first && last ? last.destinationReconnects - first.destinationReconnects : NaN;
  const cpu = first && last && windowS > 0 ? (last.cpuSeconds - first.cpuSeconds) / windowS : NaN;
  const allLive = record.destinationsAtEnd.length > 0 && record.destinationsAtEnd.every((d) => d.state === 'live');

  const rows: [string, string, string, boolean | null][] = [
    ['RSS growth after warm-up (server)', `${fixed(rssGrowth, 2)} %/h (${range(steady.map((s) => s.rssMb))} MB)`, '< 1 %/h', judged ? rssGrowth < 1 : null],
    ['RSS growth (ffmpeg and other children)', `${fixed(childGrowth, 2)} %/h (${range(steady.map((s) => s.childrenRssMb))} MB)`, 'reported', null],
    ['avatar rotation cache and sprites (fill toward their budgets)', `${range(steady.map((s) => s.avatarCacheMb))} MB`, 'reported', null],
    ['external memory (canvases, buffers)', `${range(steady.map((s) => s.externalMb))} MB`, 'reported', null],
    ['heap used growth', `${fixed(heapGrowth, 2)} %/h (${range(steady.map((s) => s.heapMb))} MB)`, 'reported', null],
    ['frames dropped (encoder) / missing in the RTMP read-back', `${dropped} / ${missing} of ${received}`, '0 / 0', dropped === 0 && missing === 0 && backward === 0],
    ['late renders (picture repeated, frame kept)', String(repeated), 'reported', null],
    ['|A/V| max: encoder output / RTMP read-back', `${fixed(avServer)} / ${fixed(avReader)} ms`, '≤ 40 ms', avServer <= 40 && avReader <= 40],
    ['worst event-loop lag', `${fixed(worstLag)} ms`, 'reported', null],
    ['open fds / child processes', `${range(steady.map((s) => s.fds))} / ${range(steady.map((s) => s.children))}`, 'flat', steady.length > 0 && new Set(steady.map((s) => s.children)).size === 1 && Math.max(...steady.map((s) => s.fds)) - Math.min(...steady.map((s) => s.fds)) <= 4],
    ['encoder restarts / destination reconnects', `${restarts} / ${reconnects}`, '0 / 0', restarts === 0 && reconnects === 0],
    ['destinations live at the end', record.destinationsAtEnd.map((d) => `${d.id}: ${d.state}`).join(', ') || '–', 'all live', allLive],
    ['output fps (min of samples)', fixed(Math.min(...steady.map((s) => s.outputFps)), 2), 'reported', null],
    ['CPU (server + children)', `${fixed(cpu, 2)} cores`, 'reported', null],
  ];
  if (record.viewers) rows.push(['WebRTC viewers: frames/s each', `${record.viewers.count} viewers, ${record.viewers.fps.map((f) => f.toFixed(1)).join(', ')}`, '> 25', record.viewers.fps.length === record.viewers.count && record.viewers.fps.every((f) => f > 25)]);
  const pass = rows.every(([, , , ok]) => ok !== false);
  const mark = (ok: boolean | null) => (ok === null ? (judged ? '' : 'n/a (short run)') : ok ? 'pass' : '**FAIL**');
  const lines = [
    `Soak: ${record.minutes} min, warm-up ${record.warmupS} s excluded, ${steady.length} samples over ${fixed(windowS / 60)} min; RTMP reader reconnects ${record.readerReconnects}.`,
    '',
    '| measure | value | goal | verdict |',
    '|---|---|---|---|',
    ...rows.map(([what, value, goal, ok]) => `| ${what} | ${value} | ${goal} | ${goal === 'reported' ? '' : mark(ok)} |`),
    '',
    `Verdict: ${pass ? 'PASS' : 'FAIL'}${judged ? '' : ` (memory growth is judged only on runs with ≥ ${MIN_JUDGED_WINDOW_S / 60} min after warm-up)`}`,
  ];
  return { pass, table: lines.join('\n') };
}
