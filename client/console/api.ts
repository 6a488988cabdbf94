/**
 * The console's way to the HTTP API: every call carries the operator token as a bearer header (never in a
 * URL, never in the page); a 401 anywhere signs the console out.
 */
import type { ErrorAnswer } from '../../server/api/contract.js';

const TOKEN_KEY = 'fenshen-token';

export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
const signedOutListeners: ((reason: string) => void)[] = [];

export const session = {
  get token(): string {
    return token;
  },
  signIn(value: string): void {
    token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
  },
  signOut(reason = ''): void {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    for (const listener of signedOutListeners) listener(reason);
  },
  onSignedOut(listener: (reason: string) => void): void {
    signedOutListeners.push(listener);
  },
};

export interface CallOptions {
  readonly method?: string;
  /** A JSON body, or a Blob sent as it is (uploads). */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

/** Calls the API and returns its JSON (undefined for 204); a 4xx/5xx throws with the server's message. */
export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: BodyInit | undefined;
  if (options.body instanceof Blob) {
    body = options.body;
    headers['content-type'] = 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method: options.method ?? (body ? 'POST' : 'GET'), headers, ...(body ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  if (res.status === 401) {
    session.signOut('refused');
    throw new ApiCallError(401, 'unauthorized');
  }
  if (res.status === 204) return undefined as T;
  // A refusal is the contract's {error, code}; anything else (a proxy's page) falls back to the status.
  const data = (await res.json().catch(() => ({}))) as Partial<ErrorAnswer>;
  if (!res.ok) throw new ApiCallError(res.status, data.error ?? `${res.status} ${res.statusText}`);
  return data as T;
}

/** An authorised file from the API (upload thumbnails) as an object URL for <img>/<video>. */
export async function blobUrl(path: string): Promise<string> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new ApiCallError(res.status, `${path}: ${res.status}`);
  return URL.createObjectURL(await res.blob());
}

/**
 * Server-sent events read through fetch (EventSource cannot send the bearer header). Calls `onEvent` per
 * event until `signal` aborts; resolves when the stream ends.
 */
export async function readEvents(path: string, signal: AbortSignal, onEvent: (type: string, data: unknown) => void): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
  if (res.status === 401) session.signOut('refused');
  if (!res.ok || !res.body) throw new ApiCallError(res.status, `${path}: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      try {
        onEvent(type, JSON.parse(data.join('\n')) as unknown);
      } catch {
        // not JSON: not one of ours
      }
    }
  }
}
