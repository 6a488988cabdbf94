/**
 * The server under test: one this load test starts from the sources (test/e2e/helpers.ts, free ports,
 * its own data folder) and stops at the end, or one already running at --url. Also finds the server's
 * process so its CPU and memory can be read.
 */
import { spawnSync } from 'node:child_process';
import { startFenshen, waitFor, type FenshenProcess } from '../../test/e2e/helpers.js';

export interface Target {
  readonly url: string;
  readonly wsUrl: string;
  /** The server's process id (null: not found, CPU and memory of the server are not reported). */
  readonly serverPid: number | null;
  /** True when this run started the server (and may change its channel freely). */
  readonly own: boolean;
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

function bearer(url: string, token: string | null) {
  return (path: string, init: RequestInit = {}) =>
    fetch(url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) } });
}

/** The process listening on a local TCP port, from `ss` (null when not visible to this user). */
function listenerPid(port: number): number | null {
  const out = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }).stdout ?? '';
  const match = /pid=(\d+)/.exec(out);
  return match?.[1] ? Number(match[1]) : null;
}

async function waitLive(api: (path: string) => Promise<Response>, channel: string, timeoutMs: number): Promise<void> {
  await waitFor(`channel ${channel} live with its encoder running`, async () => {
    const res = await api(`/api/channels/${channel}`);
    if (!res.ok) return undefined;
    const status = (await res.json()) as { encoder?: { running?: boolean } };
    return status.encoder?.running ? true : undefined;
  }, timeoutMs);
}

/** `started` gets the way to stop the server as soon as it is spawned, so a signal during start-up stops it too. */
export async function ownServer(channel: string, env: Record<string, string>, started: (stop: () => Promise<void>) => void): Promise<Target & { readonly process: FenshenProcess }> {
  const proc = await startFenshen(env);
  started(() => proc.stop());
  // Last resort if this process exits without its cleanup: the server, told to stop, stops its children.
  process.once('exit', () => {
    if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
  });
  const api = bearer(proc.url, proc.token);
  const pid = proc.child.pid ?? null;
  try {
    await waitLive(api, channel, 90_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; server log:\n${proc.stderr().slice(-2000)}`);
  }
  return { url: proc.url, wsUrl: `${proc.url.replace(/^http/, 'ws')}/ws`, serverPid: pid, own: true, api, stop: () => proc.stop(), process: proc };
}

export async function remoteServer(url: string, token: string | null, channel: string, pidOverride: number | null): Promise<Target> {
  const base = url.replace(/\/+$/, '');
  const api = bearer(base, token);
  await waitLive(api, channel, 10_000);
  const parsed = new URL(base);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname);
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  return { url: base, wsUrl: `${base.replace(/^http/, 'ws')}/ws`, serverPid: pidOverride ?? (local ? listenerPid(port) : null), own: false, api, stop: async () => undefined };
}
