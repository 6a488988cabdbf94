/**
 * The viewer side of the signaling protocol (signaling/messages.ts) for Node: JSON requests with an id
 * over one WebSocket, each answered by {id, ok, data | error}. Typed by the server's own message types.
 */
import WebSocket from 'ws';
import type { z } from 'zod';
import type { requestSchema, ResponseData, SignalingResponse } from '../../signaling/messages.js';

/** What a client may send: the schema's input (fields with defaults may be left out). */
type ClientRequest = z.input<typeof requestSchema>;
type RequestType = ClientRequest['type'] & keyof ResponseData;
type RequestBody<T extends RequestType> = Omit<Extract<ClientRequest, { type: T }>, 'id' | 'type'>;

/** A request the server does not answer within this time fails: a stuck server must not hang a viewer. */
const REQUEST_TIMEOUT_MS = 15_000;

export class SignalingClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (data: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #closedReason: string | null = null;
  /** Notifications received (channelClosed): a load test holds on, and reports them. */
  readonly notifications: string[] = [];

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => this.#onMessage(data.toString()));
    socket.on('close', (code) => this.#failAll(`signaling closed (${code})`));
    socket.on('error', (err) => this.#failAll(`signaling error: ${err.message}`));
  }

  static open(url: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      socket.once('open', () => resolve(new SignalingClient(socket)));
      socket.once('error', (err) => reject(new Error(`cannot open ${url}: ${err.message}`)));
    });
  }

  /** Why the socket closed, or null while it is open. */
  get closedReason(): string | null {
    return this.#closedReason;
  }

  request<T extends RequestType>(type: T, body: RequestBody<T>): Promise<ResponseData[T]> {
    if (this.#closedReason) return Promise.reject(new Error(`${type}: ${this.#closedReason}`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${type}: no answer in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.#socket.send(JSON.stringify({ id, type, ...body }));
    });
  }

  close(): void {
    this.#socket.terminate();
  }

  #failAll(reason: string): void {
    this.#closedReason ??= reason;
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new Error(reason));
    }
    this.#pending.clear();
  }

  #onMessage(text: string): void {
    let message: SignalingResponse | { notification: string };
    try {
      message = JSON.parse(text) as SignalingResponse | { notification: string };
    } catch {
      return;
    }
    if ('notification' in message) {
      this.notifications.push(message.notification);
      return;
    }
    if (message.id === null) return;
    const waiting = this.#pending.get(message.id);
    if (!waiting) return;
    this.#pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.ok) waiting.resolve(message.data);
    else waiting.reject(new Error(message.error));
  }
}
