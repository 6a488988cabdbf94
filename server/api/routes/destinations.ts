/** A channel's RTMP destinations: list, add (validated, stored, pushing from the next keyframe), remove, start, stop. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { addRoute } from '../route.js';

export interface DestinationRoutesOptions {
  readonly channels: ChannelRegistry;
}

export async function destinationRoutes(api: FastifyInstance, options: DestinationRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'GET /api/channels/:id/destinations', async (request) => ({ destinations: channels.channel(request.params.id).status.destinations }));

  addRoute(api, 'POST /api/channels/:id/destinations', async (request) => channels.addDestination(request.params.id, request.body));

  addRoute(api, 'DELETE /api/channels/:id/destinations/:destId', async (request) => {
    await channels.removeDestination(request.params.id, request.params.destId);
  });

  addRoute(api, 'POST /api/channels/:id/destinations/:destId/start', async (request) => channels.setDestinationEnabled(request.params.id, request.params.destId, true));
  addRoute(api, 'POST /api/channels/:id/destinations/:destId/stop', async (request) => channels.setDestinationEnabled(request.params.id, request.params.destId, false));
}
