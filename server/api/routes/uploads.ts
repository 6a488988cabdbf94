/**
 * Scene files from the operator's computer: upload (the body is the file itself), list, fetch, delete. Its
 * own plugin scope: the upload route takes any body as a stream, the other routes only JSON.
 */
import type { FastifyInstance } from 'fastify';
import { UploadIntake, type UploadIntakeOptions } from '../../uploads.js';
import { addRoute } from '../route.js';

export async function uploadRoutes(api: FastifyInstance, options: UploadIntakeOptions): Promise<void> {
  const intake = new UploadIntake(options);
  intake.start();
  api.addHook('onClose', async () => intake.close());

  // Streamed to disk as it comes, never buffered whole in memory.
  api.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  addRoute(api, 'POST /api/uploads', async (request) => intake.add(request.body, Number(request.headers['content-length']), (request.query as { name?: unknown }).name));

  addRoute(api, 'GET /api/uploads', async () => intake.list());

  addRoute(api, 'GET /api/uploads/:id', async (request, reply) => {
    const { upload, content } = intake.open(request.params.id);
    reply.header('cache-control', 'private, max-age=3600').type(upload.mime);
    return content;
  });

  addRoute(api, 'DELETE /api/uploads/:id', async (request) => intake.remove(request.params.id));
}
