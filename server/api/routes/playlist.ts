/** A channel's playlist: the lines it says over and over while nothing else is said. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { addRoute } from '../route.js';

export interface PlaylistRoutesOptions {
  readonly channels: ChannelRegistry;
}

export async function playlistRoutes(api: FastifyInstance, options: PlaylistRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'GET /api/channels/:id/playlist', async (request) => channels.channel(request.params.id).playlist);

  addRoute(api, 'PUT /api/channels/:id/playlist', async (request) => {
    const { loop } = request.body;
    const lines = request.body.lines.map((line) => (typeof line === 'string' ? { text: line } : line));
    await channels.setPlaylist(request.params.id, { lines, loop });
    return { lines: lines.length, loop };
  });
}
