/** The browser's pages: the console, the viewer page, and the bundled code and style they load. */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../pipeline/paths.js';
import { NotFoundError } from '../../domainErrors.js';

// The console is static: the token is typed in and kept in the tab, never rendered into the page.
const CONSOLE_POLICY = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self'; object-src 'none'; frame-ancestors 'none'";
/** The bundled browser code (npm run build) and its source maps, by file name. */
const BUNDLES = new Map(['watch.js', 'console.js'].flatMap((f) => [[f, 'text/javascript; charset=utf-8'], [`${f}.map`, 'application/json']] as const));

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const consolePage = readFileSync(join(PROJECT_ROOT, 'client', 'console.html'), 'utf8');
  const watchPage = readFileSync(join(PROJECT_ROOT, 'client', 'watch.html'), 'utf8');
  const consoleCss = readFileSync(join(PROJECT_ROOT, 'client', 'console.css'), 'utf8');

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', CONSOLE_POLICY).header('referrer-policy', 'no-referrer').send(consolePage));
  app.get('/watch/:id', async (_request, reply) => reply.type('text/html; charset=utf-8').send(watchPage));
  app.get('/client/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(consoleCss));
  // Read per request so a rebuild needs no restart.
  app.get<{ Params: { file: string } }>('/client/:file', async (request, reply) => {
    const { file } = request.params;
    const type = BUNDLES.get(file);
    if (!type) throw new NotFoundError(`client file ${file}`);
    try {
      return reply.type(type).send(await readFile(join(PROJECT_ROOT, 'dist', 'client', file)));
    } catch {
      throw new NotFoundError(`client file ${file} (run npm run build)`);
    }
  });
}
