/** Unauthenticated status for monitors: /healthz (the contract's answer) and Prometheus' /metrics. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { addRoute } from '../route.js';

export interface HealthRoutesOptions {
  readonly channels: ChannelRegistry;
  readonly registry: Registry;
  /** The channel whose state /healthz reports, or null when none is started at boot. */
  readonly mainChannelId: string | null;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { channels, mainChannelId } = options;

  // 200 while main streams; 503 while it starts or stalls. HTTP serves only once main has started, so
  // a main that is gone was deleted by the operator: nothing is wrong, and the answer says so.
  addRoute(app, 'GET /healthz', async (_request, reply) => {
    const main = mainChannelId ? channels.get(mainChannelId) : undefined;
    const list = channels.list().map((c) => ({ id: c.id, state: c.state }));
    if (mainChannelId !== null && main === undefined) return { status: 'ok', main: 'deleted', channels: list };
    const streaming = main === undefined || main.state === 'live';
    if (!streaming) reply.status(503);
    return { status: streaming ? 'ok' : main.state === 'stalled' ? 'stalled' : 'starting', channels: list };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });
}
