import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { tokenMatches } from '../server/auth.js';
import { MAX_MESSAGE_BYTES, parseRequest, type SignalingNotification, type SignalingResponse } from './messages.js';
import type { SfuChannel } from './sfu.js';
import { SignalingError, PeerSession, type PeerSessionHooks } from './peerSession.js';

export interface SignalingOptions {
  readonly path: string;
  readonly lookup: (channelId: string) => SfuChannel | undefined;
  /** The operators' bearer token: joining as operator (to send the camera) needs it. */
  readonly operatorToken: string;
  readonly hooks?: PeerSessionHooks & { readonly error?: (kind: 'request' | 'internal') => void };
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Requests one client may have waiting; more is a misbehaving client. */
const MAX_PENDING = 16;
/** A client that does not answer pings for this long is gone: its session is closed. */
const HEARTBEAT_MS = 10_000;

/**
 * WebSocket signaling on the HTTP server's port: `ws` in noServer mode takes the upgrades for `path`.
 * Each connection gets one PeerSession; its requests are handled one at a time in arrival order.
 */
export class SignalingServer {
  readonly #wss: WebSocketServer;
  readonly #server: Server;
  readonly #options: SignalingOptions;
  readonly #sessions = new Map<WebSocket, PeerSession>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  constructor(server: Server, options: SignalingOptions) {
    this.#server = server;
    this.#options = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
    server.on('upgrade', this.#onUpgrade);
    this.#wss.on('connection', (socket) => this.#accept(socket));
    this.#heartbeat = setInterval(() => {
      for (const socket of this.#sessions.keys()) {
        if (!this.#alive.has(socket)) {
          socket.terminate();
          continue;
        }
        this.#alive.delete(socket);
        socket.ping();
      }
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== this.#options.path || this.#closed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#wss.emit('connection', ws, request));
  };

  #accept(socket: WebSocket): void {
    const send = (message: SignalingResponse | SignalingNotification) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const session = new PeerSession({
      lookup: this.#options.lookup,
      isOperatorToken: (token) => tokenMatches(token, this.#options.operatorToken),
      onChannelGone: () => send({ notification: 'channelClosed' }),
      ...(this.#options.hooks ? { hooks: this.#options.hooks } : {}),
    });
    this.#sessions.set(socket, session);
    this.#alive.add(socket);
    socket.on('pong', () => this.#alive.add(socket));
    let chain = Promise.resolve();
    let pending = 0;
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#options.hooks?.error?.('request');
        send({ id: null, ok: false, error: 'binary messages are not part of the protocol; send JSON text' });
        return;
      }
      if (pending >= MAX_PENDING) {
        this.#options.hooks?.error?.('request');
        send({ id: null, ok: false, error: `too many requests in flight (at most ${MAX_PENDING})` });
        return;
      }
      pending++;
      const text = data.toString();
      chain = chain.then(async () => {
        try {
          const parsed = parseRequest(text);
          if (!parsed.ok) {
            this.#options.hooks?.error?.('request');
            send({ id: parsed.id, ok: false, error: parsed.error });
            return;
          }
          try {
            const result = await session.handle(parsed.request);
            send({ id: parsed.request.id, ok: true, data: result });
          } catch (err) {
            // mediasoup rejects bad DTLS parameters or capabilities with TypeError: the client's fault too.
            const userError = err instanceof SignalingError || err instanceof TypeError;
            this.#options.hooks?.error?.(userError ? 'request' : 'internal');
            if (!userError) this.#options.log('warn', `signaling: ${parsed.request.type} failed: ${(err as Error).message}`);
            send({ id: parsed.request.id, ok: false, error: userError ? (err as Error).message : `${parsed.request.type} failed on the server` });
          }
        } finally {
          pending--;
        }
      });
    });
    socket.on('close', () => {
      session.close();
      this.#sessions.delete(socket);
    });
    socket.on('error', () => socket.terminate());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#server.off('upgrade', this.#onUpgrade);
    for (const [socket, session] of this.#sessions) {
      session.close();
      socket.terminate();
    }
    this.#sessions.clear();
    this.#wss.close();
  }
}
