/**
 * Why the server refuses a request, in its own terms: each error has a stable code a client may switch on
 * and a message for the user. They say nothing about HTTP; server/api/errorAnswers.ts maps each code (and
 * the pipeline's own error classes) to a status in one table.
 */
import { errorCode } from './errors.js';

export type DomainErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_type'
  | 'unprocessable'
  | 'too_many_requests'
  | 'busy'
  | 'data_folder_full'
  | 'data_folder_not_writable';

export interface DomainErrorOptions {
  /** The underlying error, kept for the log (never shown). */
  readonly cause?: unknown;
  /** When trying again may succeed (the server is busy, not the request wrong). */
  readonly retryAfterS?: number;
}

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly code: DomainErrorCode;
  readonly retryAfterS: number | undefined;
  constructor(code: DomainErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** The request itself is wrong (its body, an id's form, a voice that is not installed). */
export class InvalidRequestError extends DomainError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string) {
    super('invalid_request', message);
  }
}

export class UnauthorizedError extends DomainError {
  override readonly name = 'UnauthorizedError';
  constructor() {
    super('unauthorized', 'missing or wrong bearer token');
  }
}

/** `what` (a channel, a scene, an upload…) does not exist. */
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** The request clashes with what exists (a taken id, a limit reached, a file still in use). */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(message: string) {
    super('conflict', message);
  }
}

export class TooLargeError extends DomainError {
  override readonly name = 'TooLargeError';
  constructor(message: string) {
    super('too_large', message);
  }
}

export class UnsupportedTypeError extends DomainError {
  override readonly name = 'UnsupportedTypeError';
  constructor(message: string) {
    super('unsupported_type', message);
  }
}

/** Well-formed but unusable: a damaged picture, a path outside the data folder, nothing to calibrate from. */
export class UnprocessableError extends DomainError {
  override readonly name = 'UnprocessableError';
  constructor(message: string) {
    super('unprocessable', message);
  }
}

/** Too many wrong tokens from one address: refused, right token or not, until `retryAfterS` passes. */
export class ThrottledError extends DomainError {
  override readonly name = 'ThrottledError';
  constructor(retryAfterS: number) {
    super('too_many_requests', `too many wrong tokens from this address; try again in ${retryAfterS} s`, { retryAfterS });
  }
}

/** The server cannot take this now; the same request after `retryAfterS` can succeed. */
export class BusyError extends DomainError {
  override readonly name = 'BusyError';
  constructor(message: string, retryAfterS: number, cause?: unknown) {
    super('busy', message, { retryAfterS, cause });
  }
}

/** A write under the data folder failed: it is full, or it cannot be written (the cause says why). */
export class DataFolderError extends DomainError {
  override readonly name = 'DataFolderError';
  constructor(code: 'data_folder_full' | 'data_folder_not_writable', message: string, cause: unknown) {
    super(code, message, { cause });
  }
}

/** Node's and SQLite's words for "cannot write there", as a person would say them. */
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

/**
 * A failed write under the data folder as a DataFolderError (full, or not writable); null when `err` is no
 * such failure. `what` names the place relative to the data folder, never the machine's absolute path.
 */
export function dataFolderError(err: unknown, what: string): DataFolderError | null {
  const code = errorCode(err);
  if (code === undefined) return null;
  const base = code.startsWith('SQLITE_IOERR') ? 'SQLITE_IOERR' : code;
  if (FULL.has(base)) return new DataFolderError('data_folder_full', `the data folder is full: no room to write ${what}`, err);
  const why = NOT_WRITABLE[base];
  return why ? new DataFolderError('data_folder_not_writable', `the data folder is not writable: ${what} (${why})`, err) : null;
}
