import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

interface NodeMediaServerInstance {
  run(): Promise<void>;
  stop(): Promise<void>;
}
type NodeMediaServerCtor = new (config: Record<string, unknown>) => NodeMediaServerInstance;

/** Fails with a clear message if a port is taken (node-media-server would exit the process instead). */
async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`${what} port ${host}:${port} is not available (${err.code ?? err.message}); set ${what === 'RTMP' ? 'FENSHEN_RTMP_PORT' : 'FENSHEN_FLV_PORT'} to another port`)),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * The embedded RTMP server (node-media-server): channels push to `rtmp://host:port/live/<id>`, and it
 * serves HTTP-FLV at `http://host:flvPort/live/<id>.flv`. Only one can run per process (it keeps
 * its state in a module-level context).
 */
export class EmbeddedRtmpServer {
  readonly host: string;
  readonly rtmpPort: number;
  readonly flvPort: number;
  #server: NodeMediaServerInstance | null = null;

  constructor(host: string, rtmpPort: number, flvPort: number) {
    this.host = host;
    this.rtmpPort = rtmpPort;
    this.flvPort = flvPort;
  }

  urlFor(channelId: string): string {
    return `rtmp://${this.host}:${this.rtmpPort}/live/${channelId}`;
  }

  async start(dataDir: string): Promise<void> {
    await assertPortFree(this.host, this.rtmpPort, 'RTMP');
    if (this.flvPort) await assertPortFree(this.host, this.flvPort, 'HTTP-FLV');
    const NodeMediaServer = require('node-media-server') as NodeMediaServerCtor;
    const server = new NodeMediaServer({
      bind: this.host,
      rtmp: { port: this.rtmpPort },
      ...(this.flvPort ? { http: { port: this.flvPort } } : {}),
      webadmin: { enable: false },
      store: { path: join(dataDir, 'rtmp-server') },
    });
    // Its constructor forces debug logging; keep warnings only (they never include our stream keys).
    (require('node-media-server/src/core/logger.js') as { level: string }).level = 'warn';
    await server.run();
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    await server?.stop();
  }
}
