/**
 * Keeps secrets out of what a child process printed before any of it is kept or shown. The same rules as
 * the server's log scrubber (server/errors.ts), which the pipeline cannot import: given secrets, and any
 * URL's stream key, query and password.
 */

/** How much of one line is kept. */
const MAX_LINE_CHARS = 600;
/** Media and web URLs: their last path segment, query and password can be a stream key or a signature. */
const URL_PATTERN = /\b(rtmps?|srt|rtsp|https?):\/\/[^\s"'<>]+/gi;
/**
 * `key=value` credentials and bearer tokens ffmpeg may echo from an option or a header. A bare space does
 * not count as `key value` here, unlike the server's rule: ffmpeg says "Missing key frame".
 */
const CREDENTIAL_PATTERN = /\b(token|key|sign|signature|secret|password)(\s*[=:]\s*)[^\s&"',;]+/gi;
const BEARER_PATTERN = /\b(Bearer\s+)[^\s&"',;]+/gi;

/** `text` with the given secrets and any URL's key, query or password replaced, on one line. */
export function scrubLine(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first: a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 4) out = out.split(secret).join('***');
  out = out.replace(URL_PATTERN, redactUrlInText);
  out = out.replace(CREDENTIAL_PATTERN, '$1$2***').replace(BEARER_PATTERN, '$1***');
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > MAX_LINE_CHARS ? `${out.slice(0, MAX_LINE_CHARS)}…` : out;
}

function redactUrlInText(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.split('/');
    const last = path.length - 1;
    // A segment already masked (an owner's own redaction, "se***") is left as it is.
    if (path.length > 2 && !(path[last] as string).includes('***')) path[last] = '***';
    return `${u.protocol}//${u.host}${path.join('/')}${u.search ? '?***' : ''}`;
  } catch {
    return '(url)';
  }
}
