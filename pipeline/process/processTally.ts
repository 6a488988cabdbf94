/**
 * What every supervised child process has done, by name (encoder, muxer, …), process-wide: how many run
 * now, how many were started and restarted, and how their unexpected ends came about. Metrics read it
 * when scraped (pipeline/metrics.ts), so a process costs nothing to count.
 */
export type ProcessEndKind = 'exit' | 'watchdog' | 'start';

export interface ProcessTallyEntry {
  running: number;
  starts: number;
  restarts: number;
  readonly ends: Record<ProcessEndKind, number>;
}

const entries = new Map<string, ProcessTallyEntry>();

function entry(name: string): ProcessTallyEntry {
  let found = entries.get(name);
  if (!found) {
    found = { running: 0, starts: 0, restarts: 0, ends: { exit: 0, watchdog: 0, start: 0 } };
    entries.set(name, found);
  }
  return found;
}

export const processTally = {
  started(name: string, restarted: boolean): void {
    const e = entry(name);
    e.starts++;
    if (restarted) e.restarts++;
  },
  running(name: string, delta: 1 | -1): void {
    entry(name).running += delta;
  },
  /** An end nobody asked for: by itself, killed by the watchdog (or kill()), or it could not start. */
  ended(name: string, kind: ProcessEndKind): void {
    entry(name).ends[kind]++;
  },
  entries(): ReadonlyMap<string, Readonly<ProcessTallyEntry>> {
    return entries;
  },
};
