/** The browser side of the signaling protocol (signaling/messages.ts): request/response over one WebSocket. */
import type { ResponseData, SignalingNotification, SignalingRequestInput, SignalingResponse } from '../signaling/messages.js';

type RequestType = SignalingRequestInput['type'];
type RequestBody<T extends RequestType> = Omit<Extract<SignalingRequestInput, { type: T }>, 'id' | 'type'>;

/** Requests that get no answer within this time fail (a stuck server must not hang the page). */
const REQUEST_TIMEOUT_MS = 10_000;

export class SignalingClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (data: unknown) => void; reject: (err: Error) => void; timer: number }>();
  readonly #closeListeners: (() => void)[] = [];
  readonly #notificationListeners: ((n: SignalingNotification) => void)[] = [];
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event) => this.#onMessage(String(event.data)));
    socket.addEventListener('close', () => {
      for (const { reject, timer } of this.#pending.values()) {
        clearTimeout(timer);
        reject(new Error('signaling connection closed'));
      }
      this.#pending.clear();
      for (const listener of this.#closeListeners) listener();
    });
  }

  static open(url: string): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener('open', () => resolve(new SignalingClient(socket)), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot reach ${url}`)), { once: true });
    });
  }

  request<T extends RequestType>(type: T, body: RequestBody<T>): Promise<ResponseData[T]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${type}: no answer`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.#socket.send(JSON.stringify({ id, type, ...body }));
    });
  }

  onClose(listener: () => void): void {
    this.#closeListeners.push(listener);
  }

  onNotification(listener: (n: SignalingNotification) => void): void {
    this.#notificationListeners.push(listener);
  }

  close(): void {
    this.#socket.close();
  }

  #onMessage(text: string): void {
    let message: SignalingResponse | SignalingNotification;
    try {
      message = JSON.parse(text) as SignalingResponse | SignalingNotification;
    } catch {
      return;
    }
    if ('notification' in message) {
      for (const listener of this.#notificationListeners) listener(message);
      return;
    }
    const waiting = message.id === null ? undefined : this.#pending.get(message.id);
    if (!waiting || message.id === null) return;
    this.#pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.ok) waiting.resolve(message.data);
    else waiting.reject(new Error(message.error));
  }
}
