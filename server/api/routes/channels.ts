/** Channels themselves: list, create (with a preset, avatar and scene), read one, delete. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { confineSceneFiles } from '../../dataPaths.js';
import { addRoute } from '../route.js';

export interface ChannelRoutesOptions {
  readonly channels: ChannelRegistry;
  /** FENSHEN_DATA: scene files named over the API must be inside it. */
  readonly dataDir: string;
}

export async function channelRoutes(api: FastifyInstance, options: ChannelRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'GET /api/channels', async () => ({ channels: channels.list().map((c) => c.status) }));

  addRoute(api, 'GET /api/channels/:id', async (request) => channels.channel(request.params.id).status);

  addRoute(api, 'POST /api/channels', async (request) => {
    const { id, ...overrides } = request.body;
    // Scene files from the API stay inside the data folder (the config file's may be anywhere).
    const scene = overrides.scene ? await confineSceneFiles(overrides.scene, options.dataDir) : undefined;
    const channel = await channels.create(id, scene ? { ...overrides, scene } : overrides);
    return channel.status;
  });

  addRoute(api, 'DELETE /api/channels/:id', async (request) => {
    await channels.delete(request.params.id);
  });
}
