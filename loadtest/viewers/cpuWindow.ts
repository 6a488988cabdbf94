/**
 * CPU used by groups of processes over a window, as cores (CPU seconds per wall second), and the server's
 * processes sorted into the roles the report names: the node process, its ffmpeg encoder(s), the
 * mediasoup worker, anything else it started.
 */
import { commandLine, cpuSeconds, descendants } from './procStats.js';

export type Groups = Readonly<Record<string, readonly number[]>>;

export interface ServerRoles extends Groups {
  readonly node: readonly number[];
  readonly ffmpeg: readonly number[];
  readonly worker: readonly number[];
  readonly other: readonly number[];
}

export function serverRoles(serverPid: number): ServerRoles {
  const children = descendants(serverPid).map((pid) => ({ pid, cmd: commandLine(pid) }));
  const is = (re: RegExp) => children.filter((c) => re.test(c.cmd)).map((c) => c.pid);
  const ffmpeg = is(/(^|\/)ffmpeg\b/);
  const worker = is(/mediasoup-worker/);
  return { node: [serverPid], ffmpeg, worker, other: children.map((c) => c.pid).filter((p) => !ffmpeg.includes(p) && !worker.includes(p)) };
}

export class CpuWindow {
  readonly #startedAt = performance.now();
  readonly #start = new Map<number, number>();
  readonly #groups: Groups;

  constructor(groups: Groups) {
    this.#groups = groups;
    for (const pids of Object.values(groups)) for (const pid of pids) this.#start.set(pid, cpuSeconds(pid) ?? 0);
  }

  /** Cores per group since the window opened; processes gone meanwhile count as 0. */
  cores(): Record<string, number> {
    const wall = (performance.now() - this.#startedAt) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.#groups)) {
      let used = 0;
      for (const pid of pids) {
        const now = cpuSeconds(pid);
        if (now !== null) used += now - (this.#start.get(pid) ?? 0);
      }
      out[name] = wall > 0 ? used / wall : 0;
    }
    return out;
  }
}
