/** A live channel's scene: read it, or change its background, avatar, placement and overlays. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { confineSceneFiles } from '../../dataPaths.js';
import { addRoute } from '../route.js';

export interface SceneRoutesOptions {
  readonly channels: ChannelRegistry;
  /** FENSHEN_DATA: scene files named over the API must be inside it. */
  readonly dataDir: string;
}

export async function sceneRoutes(api: FastifyInstance, options: SceneRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'GET /api/channels/:id/scene', async (request) => {
    const { scene, avatar } = channels.channel(request.params.id).config;
    return { scene, avatar };
  });

  addRoute(api, 'PUT /api/channels/:id/scene', async (request) => {
    const body = request.body;
    // Scene files from the API stay inside the data folder (the config file's may be anywhere).
    const { background, ...overlays } = await confineSceneFiles({ background: body.background, ...body.overlays }, options.dataDir);
    const channel = await channels.updateScene(request.params.id, { background, avatar: body.avatar, avatarPlacement: body.avatarPlacement, ...overlays });
    return channel.status;
  });
}
