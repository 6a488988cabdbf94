/** What channels can be made of: the avatars to choose from (drawn rigs and clones), clone builds, and the output presets. */
import type { FastifyInstance } from 'fastify';
import { PRESET_NAMES } from '../../../config/presets.js';
import { describeAvatars } from '../../../pipeline/avatar/loader.js';
import { CloneJobs, type CloneJobsOptions } from '../../cloneJobs.js';
import { NotFoundError } from '../../domainErrors.js';
import { addRoute } from '../route.js';

export type AvatarRoutesOptions = CloneJobsOptions;

export async function avatarRoutes(api: FastifyInstance, options: AvatarRoutesOptions): Promise<void> {
  const clones = new CloneJobs(options);
  clones.start();
  api.addHook('onClose', async () => clones.close());
  const rigs = () => describeAvatars(options.dataDir).map((rig) => ({ ...rig, kind: 'rig' as const, state: 'ready' as const }));

  addRoute(api, 'GET /api/avatars', async () => ({ avatars: [...rigs(), ...clones.list()] }));
  addRoute(api, 'POST /api/avatars', async (request) => clones.create(request.body));
  addRoute(api, 'GET /api/avatars/:id', async (request) => {
    const { id } = request.params;
    const found = clones.get(id) ?? rigs().find((rig) => rig.id === id);
    if (!found) throw new NotFoundError(`avatar ${id}`);
    return found;
  });
  addRoute(api, 'DELETE /api/avatars/:id', async (request) => {
    const { id } = request.params;
    if (!clones.get(id)) throw new NotFoundError(rigs().some((rig) => rig.id === id) ? `clone ${id} (a drawn avatar cannot be deleted over the API)` : `avatar ${id}`);
    await clones.remove(id);
  });
  addRoute(api, 'GET /api/presets', async () => ({ presets: PRESET_NAMES }));
}
