/**
 * Routes from the contract: a route plugin names a contract route (`'PUT /api/channels/:id/playlist'`) and
 * gives its handler; the method, URL, body schema and success status come from API_ROUTES, so a route
 * cannot take a body the contract does not describe, and its handler's return is type-checked against the
 * contract's answer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler, HTTPMethods } from 'fastify';
import type { z } from 'zod';
import { describeIssue } from '../../config/load.js';
import { InvalidRequestError } from '../domainErrors.js';
import { API_ROUTES, type AnswerOf, type ApiRoute, type BodyOf, type RouteContract } from './contract.js';

/** The `:name` parts of a route pattern. */
type ParamNames<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<Rest> : Path extends `${string}:${infer Name}` ? Name : never;
type PathOf<Route extends string> = Route extends `${string} ${infer Path}` ? Path : never;
export type ParamsOf<R extends ApiRoute> = { readonly [Name in ParamNames<PathOf<R>>]: string };

export type ContractRequest<R extends ApiRoute> = FastifyRequest<{ Params: ParamsOf<R>; Body: BodyOf<R> }>;
export type ContractHandler<R extends ApiRoute> = (request: ContractRequest<R>, reply: FastifyReply) => Promise<AnswerOf<R>>;

/**
 * Adds the contract's route `route` to `api`: fastify validates the body against the contract's schema
 * before `handle` runs (contractValidator), and what `handle` returns is sent with the contract's status
 * (or the one `handle` set).
 */
export function addRoute<R extends ApiRoute>(api: FastifyInstance, route: R, handle: NoInfer<ContractHandler<R>>): void {
  const contract: RouteContract = API_ROUTES[route];
  const [method, url] = route.split(' ') as [HTTPMethods, string];
  api.route<{ Params: ParamsOf<R>; Body: BodyOf<R> }>({
    method,
    url,
    ...(contract.body ? { schema: { body: contract.body } } : {}),
    handler: async (request, reply) => {
      const answer = await handle(request, reply);
      // An event stream took the connection over, or a file is being sent: nothing more to send.
      if (reply.sent || answer === reply) return reply;
      // Fastify starts every reply at 200; a handler may answer otherwise (/healthz's 503).
      if (reply.statusCode === 200) reply.status(contract.status);
      return reply.send(answer);
    },
  });
}

/**
 * Fastify's validator for the contract's zod schemas: a body that does not fit is a 400 naming the first
 * problem (`body: text: …`); a missing body is checked as `{}`. The parsed value (defaults filled in)
 * replaces the body.
 */
export const contractValidator: FastifySchemaCompiler<z.ZodType> = ({ schema }) => (data: unknown) => {
  const result = schema.safeParse(data ?? {});
  return result.success ? { value: result.data } : { error: new InvalidRequestError(describeIssue(result.error, 'body')) };
};
