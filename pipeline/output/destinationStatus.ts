/** What the API says about an RTMP destination: plain data, shared with the console's code. */
import type { PresetName } from '../../config/presets.js';

/**
 * `connecting`: the muxer is reaching the server; `live`: bytes are flowing; `retrying`: it failed and
 * tries again in `retryInS`; `failed`: a retry cannot help (`lastError` says why); `stopped`: the operator
 * turned it off; `closed`: removed.
 */
export const PUSH_STATES = ['connecting', 'live', 'retrying', 'failed', 'stopped'] as const;
export type DestinationState = (typeof PUSH_STATES)[number] | 'closed';

export interface DestinationStatus {
  readonly id: string;
  /** The URL with its stream key masked. */
  readonly url: string;
  readonly preset: PresetName | null;
  readonly state: DestinationState;
  readonly enabled: boolean;
  /** Seconds until the next try while `retrying`. */
  readonly retryInS: number | null;
  readonly lastError: string | null;
  readonly reconnects: number;
  /** Bytes the muxer has written to the server, over all connections. */
  readonly bytesSent: number;
  /** Seconds the current connection has been live. */
  readonly uptimeS: number;
}
