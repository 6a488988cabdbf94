/**
 * Errors as the log shows them: their system code, secrets and stream keys scrubbed, one line per server
 * error. What the user is told is server/domainErrors.ts and server/api/errorAnswers.ts.
 */

/** The error's code (`EACCES`, `SQLITE_FULL`), when it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** How much of an error's text a log line keeps. */
const MAX_LOGGED_CHARS = 600;
/** Media and web URLs: their last path segment, query and password can be a stream key or a signature. */
const URL_PATTERN = /\b(rtmps?|srt|rtsp|https?):\/\/[^\s"'<>]+/gi;

/** `text` with the given secrets and any URL's key, query or password replaced, on one line. */
export function scrubForLog(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  out = out.replace(URL_PATTERN, (url) => {
    try {
      const u = new URL(url);
      const path = u.pathname.split('/');
      if (path.length > 2) path[path.length - 1] = '***';
      return `${u.protocol}//${u.host}${path.join('/')}${u.search ? '?***' : ''}`;
    } catch {
      return '(url)';
    }
  });
  out = out.replace(/\b(Bearer|token|key|sign|signature|secret|password)([=: ]+)[^\s&"',;]+/gi, '$1$2***');
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return out.length > MAX_LOGGED_CHARS ? `${out.slice(0, MAX_LOGGED_CHARS)}…` : out;
}

/**
 * The log line for a server error (5xx): the route (its pattern, not the URL with its ids and query), the
 * status and code answered, the message, and the cause chain with each error's code; for an unexpected
 * error (code `internal`) or a refusal's cause, the place in the code it came from. Never the request
 * body; secrets scrubbed.
 */
export function serverErrorLine(request: { readonly method: string; readonly route: string }, answer: { readonly status: number; readonly code: string }, err: unknown, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const code = depth === 0 ? undefined : errorCode(current);
    const message = current instanceof Error ? current.message : String(current);
    // Node's own messages start with their code already ("EEXIST: file already exists, …").
    parts.push(code && !message.startsWith(code) ? `${code}: ${message}` : message);
    current = current instanceof Error ? current.cause : undefined;
  }
  // Where an unexpected error was thrown (its first stack frame), so a bug can be found from the log; a
  // refusal made on purpose is no bug, but the failure it wraps may be.
  const refusal = answer.code !== 'internal';
  const innermost = refusal && err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const frame = (!refusal || innermost !== err) && innermost instanceof Error ? /\n\s+at (.+)/.exec(innermost.stack ?? '')?.[1] : undefined;
  return scrubForLog(`${request.method} ${request.route} → ${answer.status} ${answer.code}: ${parts.join(' ← caused by ')}${frame ? ` (at ${frame})` : ''}`, secrets);
}
