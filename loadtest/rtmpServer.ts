/**
 * A stand-alone RTMP server (node-media-server, as embedded in fenshen) for fault injection: push a
 * destination to it, then kill it, stop it (SIGSTOP) or restart it to see how fenshen copes.
 *
 *   node --import tsx loadtest/rtmpServer.ts --port 1936
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedRtmpServer } from '../server/embeddedRtmp.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '1936' }, host: { type: 'string', default: '127.0.0.1' } } });
const server = new EmbeddedRtmpServer(values.host, Number(values.port), 0);
await server.start(mkdtempSync(join(tmpdir(), 'fenshen-rtmp-')));
process.stdout.write(`rtmp server on rtmp://${values.host}:${values.port}/\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.stop().then(() => process.exit(0)));
