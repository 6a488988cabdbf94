/**
 * Errors as HTTP answers, in one place: the server's refusals (domainErrors.ts) by code and the pipeline's
 * own errors by class map to a status in the tables below; routes and the channel registry only throw.
 * Every answer has the contract's shape `{ error, code }`. Server errors (5xx) are logged with their cause,
 * scrubbed, under the route's pattern.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AvatarError } from '../../pipeline/avatar/loader.js';
import { CloneLoadError } from '../../pipeline/clone/cloneFiles.js';
import { DriveError } from '../../pipeline/channel.js';
import { SceneError } from '../../pipeline/compose/scene.js';
import { RtmpUrlError } from '../../pipeline/output/rtmpUrl.js';
import { SpeechInputError } from '../../pipeline/speech/speaker.js';
import { dataFolderError, DomainError, type DomainErrorCode } from '../domainErrors.js';
import { errorCode, serverErrorLine } from '../errors.js';
import type { Logger } from '../log.js';
import type { ErrorAnswer } from './contract.js';

/** The HTTP status of each refusal. */
const STATUS_BY_CODE: Readonly<Record<DomainErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_type: 415,
  unprocessable: 422,
  too_many_requests: 429,
  data_folder_not_writable: 500,
  busy: 503,
  data_folder_full: 507,
};

type ErrorClass = abstract new (...args: never[]) => Error;

/** The pipeline's errors that the request caused, by class, and the refusal each one is. */
const CODE_BY_CLASS: readonly (readonly [ErrorClass, DomainErrorCode])[] = [
  // A scene that cannot be drawn, an avatar that is not there or does not load.
  [SceneError, 'unprocessable'],
  [AvatarError, 'unprocessable'],
  [CloneLoadError, 'unprocessable'],
  // A drive source that cannot be used (no models, no camera sent yet).
  [DriveError, 'unprocessable'],
  // Text with nothing that can be spoken; a destination URL that is no push address.
  [SpeechInputError, 'invalid_request'],
  [RtmpUrlError, 'invalid_request'],
];

/** A refusal: what the user is told, under a stable code. */
export interface Refusal {
  readonly code: DomainErrorCode;
  readonly message: string;
  readonly retryAfterS?: number | undefined;
}

/** What `err` is as a refusal (a domain error, or a pipeline error the request caused); null for a failure. */
export function refusalOf(err: unknown): Refusal | null {
  if (err instanceof DomainError) return err;
  for (const [type, code] of CODE_BY_CLASS) if (err instanceof type) return { code, message: err.message };
  return null;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: ErrorAnswer;
  readonly retryAfterS?: number | undefined;
  /** For a server error (5xx): what the log line tells, with its cause chain. */
  readonly logged?: unknown;
}

/** The answer to an error a request met. */
export function answerFor(err: unknown): HttpAnswer {
  const refusal = refusalOf(err);
  if (refusal) {
    const status = STATUS_BY_CODE[refusal.code];
    return { status, body: { error: refusal.message, code: refusal.code }, retryAfterS: refusal.retryAfterS, ...(status >= 500 ? { logged: err } : {}) };
  }
  // Fastify's own refusals (a malformed JSON body, one too large, an unknown content type).
  const statusCode = (err as Partial<FastifyError> | null)?.statusCode;
  if (statusCode && statusCode >= 400 && statusCode < 500) return { status: statusCode, body: { error: (err as Error).message, code: 'bad_request' } };
  // The database lives in the data folder: a write it refuses (read-only, full) is said as such.
  const dataFolder = errorCode(err)?.startsWith('SQLITE_') ? dataFolderError(err, 'the database') : null;
  if (dataFolder) return { status: STATUS_BY_CODE[dataFolder.code], body: { error: dataFolder.message, code: dataFolder.code }, logged: dataFolder };
  return { status: 500, body: { error: 'internal error', code: 'internal' }, logged: err };
}

/**
 * Errors the router meets before any route (a broken %-escape, an over-long parameter), for fastify's
 * `frameworkErrors` option: the API's answer shape instead of fastify's.
 */
export function answerAddressError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const message = err.code === 'FST_ERR_BAD_URL' ? 'the address is not valid: a broken %-escape (percent-encoding)' : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'the address is not valid: a part of it is too long' : 'the address is not valid';
  void reply.status(status).send({ error: message, code: 'bad_url' } satisfies ErrorAnswer);
}

export interface ErrorHandlingOptions {
  /** Where server errors (5xx) are logged, each with its cause. */
  readonly log: Logger;
  /** Text no log line may hold (the operator token); URLs' keys are scrubbed anyway. */
  readonly secrets: readonly string[];
}

/** The app's one error handler (and its answer to unknown routes). */
export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions): void {
  app.setErrorHandler((err, request, reply) => {
    const answer = answerFor(err);
    if (answer.logged !== undefined) {
      const route = { method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0] ?? '' };
      options.log.error(serverErrorLine(route, { status: answer.status, code: answer.body.code }, answer.logged, options.secrets));
    }
    if (answer.retryAfterS !== undefined) reply.header('retry-after', String(answer.retryAfterS));
    return reply.status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'no such route', code: 'not_found' } satisfies ErrorAnswer));
}
