import { z } from 'zod';

/**
 * The WebSocket signaling protocol on `/ws`: JSON text messages. A client sends requests with its own
 * `id`; the server answers each with a response carrying the same `id` (`ok: true` and data, or
 * `ok: false` and an error a person can read). The server also sends notifications (no `id`).
 *
 * A viewer: join → createTransport → consume → connect (when DTLS starts) → resume … leave.
 * The operator's camera: join as operator (with the token) → createTransport send → connect → produce.
 * mediasoup's own objects (RTP capabilities and parameters, ICE and DTLS parameters) travel as JSON
 * objects: the schema bounds their size and shape here, mediasoup validates their content.
 */

/** Largest message accepted, bytes: RTP capabilities of a browser are ~10 kB. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest frame read at all: between the two, a message gets an error reply; beyond, the socket closes (1009). */
export const MAX_FRAME_BYTES = 1024 * 1024;

const mediasoupObject = z.record(z.string(), z.unknown());
const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const objectId = z.string().min(1).max(64);

export const requestSchema = z.discriminatedUnion('type', [
  /** Join a channel (as a viewer, or as its operator with the operator token): the answer carries the router's RTP capabilities. */
  z.strictObject({
    id: requestId,
    type: z.literal('join'),
    channel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
    role: z.enum(['viewer', 'operator']).default('viewer'),
    token: z.string().max(256).optional(),
  }),
  /** A receive transport (viewers), or a send transport (the operator's camera and microphone). */
  z.strictObject({ id: requestId, type: z.literal('createTransport'), direction: z.enum(['recv', 'send']).default('recv') }),
  z.strictObject({ id: requestId, type: z.literal('connect'), transportId: objectId, dtlsParameters: mediasoupObject }),
  /** Consumers (paused) for everything the channel sends, given what the client can receive. */
  z.strictObject({ id: requestId, type: z.literal('consume'), transportId: objectId, rtpCapabilities: mediasoupObject }),
  /** Starts media on the consumers once the client has set them up; asks for a keyframe. */
  z.strictObject({ id: requestId, type: z.literal('resume') }),
  /** The operator sends its camera or microphone on its send transport. */
  z.strictObject({ id: requestId, type: z.literal('produce'), transportId: objectId, kind: z.enum(['audio', 'video']), rtpParameters: mediasoupObject }),
  z.strictObject({ id: requestId, type: z.literal('leave') }),
]);

export type SignalingRequest = z.infer<typeof requestSchema>;
/** What a client sends (fields with defaults may be left out). */
export type SignalingRequestInput = z.input<typeof requestSchema>;
export type RequestType = SignalingRequest['type'];

export interface TransportInfo {
  readonly id: string;
  readonly iceParameters: unknown;
  readonly iceCandidates: unknown;
  readonly dtlsParameters: unknown;
}

export interface ConsumerInfo {
  readonly id: string;
  readonly producerId: string;
  readonly kind: 'audio' | 'video';
  readonly rtpParameters: unknown;
}

/** What each request answers with. */
export interface ResponseData {
  join: { routerRtpCapabilities: unknown };
  createTransport: { transport: TransportInfo };
  connect: Record<string, never>;
  consume: { consumers: ConsumerInfo[] };
  resume: Record<string, never>;
  produce: { producerId: string };
  leave: Record<string, never>;
}

export type SignalingResponse = { id: number; ok: true; data: ResponseData[RequestType] } | { id: number | null; ok: false; error: string };

/** Server → client, unasked: the channel's SFU side closed (deleted, or its worker died): join again later. */
export type SignalingNotification = { notification: 'channelClosed' } | { notification: 'notJoined'; error: string };

/**
 * Parses one incoming text message. Never throws: junk becomes an error message for the client, with
 * the request's id when one could be read.
 */
export function parseRequest(text: string): { ok: true; request: SignalingRequest } | { ok: false; id: number | null; error: string } {
  if (text.length > MAX_MESSAGE_BYTES) return { ok: false, id: null, error: `message too large (over ${MAX_MESSAGE_BYTES} bytes)` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: 'message is not JSON' };
  }
  const parsed = requestSchema.safeParse(value);
  if (parsed.success) return { ok: true, request: parsed.data };
  const id = typeof value === 'object' && value !== null && 'id' in value && requestId.safeParse(value.id).success ? (value.id as number) : null;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { ok: false, id, error: `bad request: ${where}${issue?.message ?? 'invalid'}` };
}
