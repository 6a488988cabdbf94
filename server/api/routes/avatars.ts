/** What channels can be made of: the avatars to choose from and the output presets. */
import type { FastifyInstance } from 'fastify';
import { PRESET_NAMES } from '../../../config/presets.js';
import { describeAvatars } from '../../../pipeline/avatar/loader.js';
import { addRoute } from '../route.js';

export interface AvatarRoutesOptions {
  /** FENSHEN_DATA: its avatars/ folder holds the operator's own avatars. */
  readonly dataDir: string;
}

export async function avatarRoutes(api: FastifyInstance, options: AvatarRoutesOptions): Promise<void> {
  addRoute(api, 'GET /api/avatars', async () => ({ avatars: describeAvatars(options.dataDir) }));
  addRoute(api, 'GET /api/presets', async () => ({ presets: PRESET_NAMES }));
}
