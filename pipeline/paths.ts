import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';

export { PROJECT_ROOT };
export const BUILTIN_AVATARS_DIR = join(PROJECT_ROOT, 'pipeline', 'avatar', 'builtin');
