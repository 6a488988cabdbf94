/** Saved scenes: save a channel's scene under a name, list them, switch a channel to one, delete one. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { NotFoundError } from '../../domainErrors.js';
import type { Store } from '../../store.js';
import { addRoute } from '../route.js';

export interface SceneLibraryRoutesOptions {
  readonly channels: ChannelRegistry;
  readonly store: Store;
}

export async function sceneLibraryRoutes(api: FastifyInstance, options: SceneLibraryRoutesOptions): Promise<void> {
  const { channels, store } = options;

  addRoute(api, 'GET /api/scenes', async () => ({ scenes: store.scenes().map(({ id, name, updatedAt }) => ({ id, name, updatedAt })) }));

  addRoute(api, 'POST /api/channels/:id/scenes', async (request) => {
    const { name } = request.body;
    const { id, updatedAt } = channels.saveScene(request.params.id, name);
    return { id, name, updatedAt };
  });

  addRoute(api, 'POST /api/channels/:id/scene/apply', async (request) => (await channels.applyScene(request.params.id, request.body.scene)).status);

  addRoute(api, 'DELETE /api/scenes/:sceneId', async (request) => {
    if (!store.removeScene(request.params.sceneId)) throw new NotFoundError(`scene ${request.params.sceneId}`);
  });
}
