/** Errors a user can cause, each with a stable code and HTTP status; the message is for them. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const errors = {
  unauthorized: () => new ApiError(401, 'unauthorized', 'missing or wrong bearer token'),
  notFound: (what: string) => new ApiError(404, 'not_found', `${what} not found`),
  conflict: (message: string) => new ApiError(409, 'conflict', message),
  invalid: (message: string) => new ApiError(400, 'invalid_request', message),
  unprocessable: (message: string) => new ApiError(422, 'unprocessable', message),
  tooLarge: (message: string) => new ApiError(413, 'too_large', message),
  unsupportedType: (message: string) => new ApiError(415, 'unsupported_type', message),
} as const;
