/** The audit trail over the API: entries in a time range as JSON, or the same as a JSON-lines download. */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog, AuditQuery } from '../../audit.js';
import { InvalidRequestError } from '../../domainErrors.js';
import { addRoute } from '../route.js';

/** Entries a JSON answer holds at most (the download has no limit). */
const MAX_ENTRIES = 5000;
const DAY_MS = 24 * 3600 * 1000;

/** A time as the query gives it: ISO 8601, or milliseconds since 1970. */
function timeOf(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidRequestError(`${name}: a time (ISO 8601, e.g. 2026-11-30T21:14:00+08:00, or milliseconds since 1970)`);
  return ms;
}

/** The query's range and filters (the last 24 hours by default). */
function queryOf(request: FastifyRequest, limit: number): AuditQuery {
  const q = request.query as Record<string, string | undefined>;
  const now = Date.now();
  const toMs = timeOf('to', q.to, now);
  const fromMs = timeOf('from', q.from, toMs - DAY_MS);
  if (fromMs > toMs) throw new InvalidRequestError('from: must not be after to');
  const wanted = q.limit === undefined ? limit : Number(q.limit);
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > limit) throw new InvalidRequestError(`limit: a whole number from 1 to ${limit}`);
  return { fromMs, toMs, action: q.action || undefined, channel: q.channel || undefined, limit: wanted };
}

export async function auditRoutes(api: FastifyInstance, options: { readonly audit: AuditLog }): Promise<void> {
  addRoute(api, 'GET /api/audit', async (request) => {
    const query = queryOf(request, MAX_ENTRIES);
    // One more than asked tells whether there was more.
    const entries = await options.audit.read({ ...query, limit: query.limit + 1 });
    return { from: new Date(query.fromMs).toISOString(), to: new Date(query.toMs).toISOString(), entries: entries.slice(0, query.limit), truncated: entries.length > query.limit };
  });
  addRoute(api, 'GET /api/audit.jsonl', async (request, reply) => {
    const query = queryOf(request, Number.MAX_SAFE_INTEGER);
    const lines = async function* () {
      for await (const entry of options.audit.entries(query)) yield `${JSON.stringify(entry)}\n`;
    };
    const name = `audit-${new Date(query.fromMs).toISOString().slice(0, 10)}-${new Date(query.toMs).toISOString().slice(0, 10)}.jsonl`;
    return reply.type('application/x-ndjson; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(Readable.from(lines()));
  });
}
