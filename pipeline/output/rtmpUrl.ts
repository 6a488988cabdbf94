/** RTMP push URLs: validated before anything is spawned, and masked wherever they are shown. */

export class RtmpUrlError extends Error {
  override readonly name = 'RtmpUrlError';
}

const MAX_URL_LENGTH = 2048;

/**
 * Checks a push URL: rtmp:// or rtmps://, a host, an app and a stream name. It is handed to ffmpeg as one
 * argument (never through a shell), and anything ffmpeg could read as more than an address is refused.
 * Returns the URL unchanged (stream keys are case-sensitive; nothing is normalised).
 */
export function validateRtmpUrl(url: string): string {
  if (url.length > MAX_URL_LENGTH) throw new RtmpUrlError(`url: longer than ${MAX_URL_LENGTH} characters`);
  // librtmp-style "url option=value" pairs, control characters and quotes never belong in a push URL.
  if (/[\s\u0000-\u001f\u007f"'`\\<>]/.test(url)) throw new RtmpUrlError('url: must not contain spaces, quotes, backslashes or control characters');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RtmpUrlError('url: not a URL (expected rtmp://host[:port]/app/stream-key)');
  }
  if (parsed.protocol !== 'rtmp:' && parsed.protocol !== 'rtmps:') throw new RtmpUrlError(`url: scheme must be rtmp or rtmps, not ${parsed.protocol.replace(/:$/, '') || '(none)'}`);
  if (!parsed.hostname) throw new RtmpUrlError('url: no host');
  if (parsed.hash) throw new RtmpUrlError('url: no #fragment allowed');
  const segments = parsed.pathname.split('/').filter((s) => s.length > 0);
  if (segments.length < 2) throw new RtmpUrlError('url: needs an app and a stream name (rtmp://host/app/stream-key)');
  return url;
}

/** The parts of a URL that are secret: the stream name (last path segment), the query and any password. */
function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    const key = u.pathname.split('/').pop() ?? '';
    return [key, u.search.slice(1), u.password, ...[...u.searchParams.values()]].filter((s) => s.length >= 3);
  } catch {
    return [];
  }
}

/** Hides the stream key (last path segment, query, password) of a push URL, for logs, metrics and the API. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const parts = u.pathname.split('/');
    const key = parts.pop() ?? '';
    const shown = key.length > 0 ? `${key.slice(0, 2)}***` : '';
    return `${u.protocol}//${u.host}${parts.join('/')}/${shown}`;
  } catch {
    return '(invalid url)';
  }
}

/** Removes a URL's secrets from free text (ffmpeg's error lines may quote the URL or the key alone). */
export function scrubSecrets(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  for (const secret of secretsOf(url).sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}

/** What ffmpeg's RTMP client is told: the address ps may show, and the app and stream name (the key) it may not. */
export interface PushUrlParts {
  /** scheme://[user@]host[:port]/app: the URL without the stream name and query. */
  readonly address: string;
  readonly app: string;
  /** The stream name with its query: the secret part. */
  readonly playpath: string;
}

/** A preset file line is read into 1000 bytes: longer values cannot go that way. */
const MAX_PRESET_VALUE = 900;

/**
 * Splits a validated push URL the way ffmpeg's RTMP client does (rtmpproto.c: the app is the first path
 * segment, or the first two when more follow and no ':' comes first; the rest, query included, is the
 * stream name), so handing ffmpeg the parts as `rtmp_app` / `rtmp_playpath` says exactly what the whole
 * URL said. Null for the forms ffmpeg treats specially (/ondemand/, slist=, a name ending .flv, .mp4 or
 * .f4v, which it rewrites) and values too long for a preset line: those go as the whole URL.
 */
export function pushUrlParts(url: string): PushUrlParts | null {
  const authorityAt = url.indexOf('//');
  const pathAt = url.indexOf('/', authorityAt + 2);
  if (authorityAt < 0 || pathAt < 0) return null;
  const path = url.slice(pathAt);
  const query = path.indexOf('?');
  if ((query >= 0 && path.includes('slist=', query)) || path.startsWith('/ondemand/')) return null;
  const next = path.slice(1);
  const firstSlash = next.indexOf('/');
  if (firstSlash < 0) return null;
  const colon = next.indexOf(':', firstSlash + 1);
  const secondSlash = next.indexOf('/', firstSlash + 1);
  const appEnd = secondSlash < 0 || (colon >= 0 && colon < secondSlash) ? firstSlash : secondSlash;
  const app = next.slice(0, appEnd);
  const playpath = next.slice(appEnd + 1);
  if (!app || !playpath || /\.(flv|mp4|f4v)$/.test(playpath) || app.length > MAX_PRESET_VALUE || playpath.length > MAX_PRESET_VALUE) return null;
  return { address: url.slice(0, pathAt + 1 + appEnd), app, playpath };
}
