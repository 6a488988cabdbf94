import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, parseRequest, type SignalingNotification, type SignalingResponse } from './messages.js';
import type { SfuChannel } from './sfu.js';
import { SignalingError, PeerSession, type PeerSessionHooks } from './peerSession.js';

export interface SignalingOptions {
  readonly path: string;
  readonly lookup: (channelId: string) => SfuChannel | undefined;
  /** Checks a token given at join (joining as operator, to send the camera, needs it): null when right, else why not. */
  readonly checkOperatorToken: (token: string, address: string) => string | null;
  /** Connections open at once, and from one non-loopback address; more are refused with 503. */
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** A connection not in a channel this long after it opened (or after it left one) is closed: it only holds a place. */
  readonly joinTimeoutMs?: number;
  readonly hooks?: PeerSessionHooks & { readonly error?: (kind: 'request' | 'internal') => void };
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Requests one client may have waiting; more is a misbehaving client. */
const MAX_PENDING = 16;
/** A client that does not answer pings for this long is gone: its session is closed. */
const HEARTBEAT_MS = 10_000;
/** Default time a connection may stay open without being in a channel. */
const JOIN_TIMEOUT_MS = 30_000;
/** Close code (application range) for a connection that did not join in time. */
const CLOSE_NOT_JOINED = 4408;

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
  /** Open connections by client address (loopback included, though not capped). */
  readonly #perAddress = new Map<string, number>();
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  constructor(server: Server, options: SignalingOptions) {
    this.#server = server;
    this.#options = options;
    // ws closes the connection (1009) over maxPayload; up to it, an over-long message gets an error reply.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    server.on('upgrade', this.#onUpgrade);
    this.#wss.on('connection', (socket, request: IncomingMessage) => this.#accept(socket, request.socket.remoteAddress ?? ''));
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
    const address = request.socket.remoteAddress ?? '';
    const refusal =
      this.#sessions.size >= this.#options.maxConnections
        ? `too many signaling connections (at most ${this.#options.maxConnections}); try again later`
        : !isLoopback(address) && (this.#perAddress.get(address) ?? 0) >= this.#options.maxConnectionsPerAddress
          ? `too many signaling connections from this address (at most ${this.#options.maxConnectionsPerAddress})`
          : null;
    if (refusal) {
      this.#options.hooks?.error?.('request');
      const body = JSON.stringify({ error: refusal });
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 10\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#wss.emit('connection', ws, request));
  };

  #accept(socket: WebSocket, address: string): void {
    const send = (message: SignalingResponse | SignalingNotification) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const session = new PeerSession({
      lookup: this.#options.lookup,
      checkOperatorToken: (token) => this.#options.checkOperatorToken(token, address),
      onChannelGone: () => {
        send({ notification: 'channelClosed' });
        watchJoin();
      },
      ...(this.#options.hooks ? { hooks: this.#options.hooks } : {}),
    });
    this.#sessions.set(socket, session);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#alive.add(socket);
    socket.on('pong', () => this.#alive.add(socket));
    // Live clients answer pings, so the heartbeat keeps an idle one for ever: one that never joins (or has
    // left and stays) is closed after the join timeout and its place freed.
    const joinTimeoutMs = this.#options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
    let joinTimer: NodeJS.Timeout | null = null;
    const watchJoin = () => {
      if (joinTimer || session.inChannel) return;
      joinTimer = setTimeout(() => {
        joinTimer = null;
        if (session.inChannel) return;
        send({ notification: 'notJoined', error: `no channel joined within ${joinTimeoutMs >= 1000 ? `${Math.round(joinTimeoutMs / 1000)} s` : `${joinTimeoutMs} ms`}; closing` });
        socket.close(CLOSE_NOT_JOINED, 'join a channel first');
      }, joinTimeoutMs);
      joinTimer.unref();
    };
    const unwatchJoin = () => {
      if (joinTimer) clearTimeout(joinTimer);
      joinTimer = null;
    };
    watchJoin();
    let chain = Promise.resolve();
    let pending = 0;
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#options.hooks?.error?.('request');
        send({ id: null, ok: false, error: 'binary messages are not part of the protocol; send JSON text' });
        return;
      }
      const bytes = byteLength(data);
      if (bytes > MAX_MESSAGE_BYTES) {
        this.#options.hooks?.error?.('request');
        send({ id: null, ok: false, error: `message too large (${bytes} bytes; at most ${MAX_MESSAGE_BYTES})` });
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
          if (session.inChannel) unwatchJoin();
          else watchJoin();
        }
      });
    });
    socket.on('close', () => {
      unwatchJoin();
      session.close();
      if (!this.#sessions.delete(socket)) return;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
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
    this.#perAddress.clear();
    this.#wss.close();
  }
}

function byteLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, part) => n + part.length, 0) : data.byteLength;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
