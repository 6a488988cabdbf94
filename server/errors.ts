/**
 * Errors the API answers with on purpose, each with a stable code and HTTP status; the message is for the
 * user. Most are theirs to fix (4xx); a few are the server's (5xx) with a message that is safe to show,
 * and the underlying error kept as `cause` for the log.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: string;
  readonly status: number;
  /** Sent as Retry-After: when trying again may succeed (the server is busy, not the request wrong). */
  readonly retryAfterS: number | undefined;
  constructor(status: number, code: string, message: string, options: { cause?: unknown; retryAfterS?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** Node's and SQLite's words for "cannot write there" and "no room", as a person would say them. */
const NOT_WRITABLE: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a file is where a folder should be',
  EEXIST: 'a file is where a folder should be',
  EISDIR: 'a folder is where a file should be',
  ENOENT: 'it is missing',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_CANTOPEN: 'the database cannot be opened',
  SQLITE_IOERR: 'a disk error',
};
const FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** The error's code (`EACCES`, `SQLITE_FULL`), when it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A failed write under the data folder as an answer: 507 when it is full, 500 when it cannot be written;
 * null when `err` is no such failure. `what` names the place relative to the data folder, never the
 * machine's absolute path.
 */
export function dataFolderError(err: unknown, what: string): ApiError | null {
  const code = errorCode(err);
  if (code === undefined) return null;
  const base = code.startsWith('SQLITE_IOERR') ? 'SQLITE_IOERR' : code;
  if (FULL.has(base)) return new ApiError(507, 'data_folder_full', `the data folder is full: no room to write ${what}`, { cause: err });
  const why = NOT_WRITABLE[base];
  return why ? new ApiError(500, 'data_folder_not_writable', `the data folder is not writable: ${what} (${why})`, { cause: err }) : null;
}

export const errors = {
  unauthorized: () => new ApiError(401, 'unauthorized', 'missing or wrong bearer token'),
  notFound: (what: string) => new ApiError(404, 'not_found', `${what} not found`),
  conflict: (message: string) => new ApiError(409, 'conflict', message),
  invalid: (message: string) => new ApiError(400, 'invalid_request', message),
  unprocessable: (message: string) => new ApiError(422, 'unprocessable', message),
  tooLarge: (message: string) => new ApiError(413, 'too_large', message),
  unsupportedType: (message: string) => new ApiError(415, 'unsupported_type', message),
  /** The server cannot take this now; the same request later can succeed. */
  busy: (message: string, retryAfterS: number, cause?: unknown) => new ApiError(503, 'busy', message, { retryAfterS, cause }),
} as const;

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
 * status and code, the message, and the cause chain with each error's code; for an unexpected error the
 * place in the code it came from. Never the request body; secrets scrubbed.
 */
export function serverErrorLine(request: { readonly method: string; readonly route: string }, status: number, err: unknown, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const code = depth === 0 ? undefined : errorCode(current);
    const message = current instanceof Error ? current.message : String(current);
    // Node's own messages start with their code already ("EEXIST: file already exists, …").
    parts.push(code && !message.startsWith(code) ? `${code}: ${message}` : message);
    current = current instanceof Error ? current.cause : undefined;
  }
  // Where an unexpected error was thrown (its first stack frame), so a bug can be found from the log.
  const innermost = err instanceof ApiError && err.cause instanceof Error ? err.cause : err;
  const frame = !(innermost instanceof ApiError) && innermost instanceof Error ? /\n\s+at (.+)/.exec(innermost.stack ?? '')?.[1] : undefined;
  const code = err instanceof ApiError ? err.code : 'internal';
  return scrubForLog(`${request.method} ${request.route} → ${status} ${code}: ${parts.join(' ← caused by ')}${frame ? ` (at ${frame})` : ''}`, secrets);
}
