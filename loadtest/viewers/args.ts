/** Command line of `npm run loadtest:viewers`. */
import { parseArgs } from 'node:util';

export interface LoadTestArgs {
  /** Counting (werift) viewers. */
  readonly viewers: number;
  /** Hold time once every viewer has joined, s. */
  readonly seconds: number;
  /** Chromium pages on /watch/<channel> that decode and measure glass-to-glass latency. */
  readonly sample: number;
  /** Joins started per second. */
  readonly joinRate: number;
  /** Background colour flips per sampled viewer. */
  readonly flips: number;
  readonly channel: string;
  /** A running server; null: start one from the sources. */
  readonly url: string | null;
  readonly token: string | null;
  readonly serverPid: number | null;
  /** Counting viewers let werift decrypt and parse every SRTP packet (default: count from the clear RTP header). */
  readonly fullSrtp: boolean;
}

export const USAGE = `usage: npm run loadtest:viewers -- [--viewers N=200] [--seconds T=60] [--sample K=2] [--join-rate 20]
       [--flips 10] [--channel main] [--full-srtp] [--url http://host:port --token TOKEN [--server-pid PID]]`;

function positive(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${text})\n${USAGE}`);
  return n;
}

export function parseLoadTestArgs(argv: readonly string[]): LoadTestArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      viewers: { type: 'string' },
      seconds: { type: 'string' },
      sample: { type: 'string' },
      'join-rate': { type: 'string' },
      flips: { type: 'string' },
      channel: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'server-pid': { type: 'string' },
      'full-srtp': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    viewers: Math.floor(positive('viewers', values.viewers, 200, 0)),
    seconds: positive('seconds', values.seconds, 60),
    sample: Math.floor(positive('sample', values.sample, 2, 0)),
    joinRate: positive('join-rate', values['join-rate'], 20),
    flips: Math.floor(positive('flips', values.flips, 10)),
    channel: values.channel ?? 'main',
    url: values.url ?? null,
    token: values.token ?? process.env.FENSHEN_TOKEN ?? null,
    serverPid: values['server-pid'] ? Math.floor(positive('server-pid', values['server-pid'], 0)) : null,
    fullSrtp: values['full-srtp'] ?? false,
  };
}
