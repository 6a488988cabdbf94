/**
 * The parts of mediasoup's signaling answers this load test reads (the server sends them as opaque JSON),
 * checked with zod so a changed server fails with a clear message instead of a wrong SDP.
 */
import { z } from 'zod';

const codecSchema = z.object({
  mimeType: z.string(),
  payloadType: z.number().int(),
  clockRate: z.number().int(),
  channels: z.number().int().optional(),
  parameters: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  rtcpFeedback: z.array(z.object({ type: z.string(), parameter: z.string().optional() })).optional(),
});

export const rtpParametersSchema = z.object({
  mid: z.string().optional(),
  codecs: z.array(codecSchema).min(1),
  headerExtensions: z.array(z.object({ uri: z.string(), id: z.number().int() })).optional(),
  encodings: z.array(z.object({ ssrc: z.number().int().optional() })).optional(),
  rtcp: z.object({ cname: z.string().optional() }).optional(),
});

export const consumerSchema = z.object({
  id: z.string(),
  kind: z.enum(['audio', 'video']),
  rtpParameters: rtpParametersSchema,
});

export const transportSchema = z.object({
  id: z.string(),
  iceParameters: z.object({ usernameFragment: z.string(), password: z.string(), iceLite: z.boolean().optional() }),
  iceCandidates: z.array(
    z.object({ foundation: z.string(), priority: z.number(), address: z.string(), port: z.number().int(), protocol: z.enum(['udp', 'tcp']), type: z.string() }),
  ),
  dtlsParameters: z.object({ role: z.string().optional(), fingerprints: z.array(z.object({ algorithm: z.string(), value: z.string() })).min(1) }),
});

export const routerCapabilitiesSchema = z.object({
  codecs: z.array(z.object({ kind: z.enum(['audio', 'video']), mimeType: z.string(), preferredPayloadType: z.number().int(), clockRate: z.number().int(), channels: z.number().int().optional(), parameters: z.record(z.string(), z.unknown()).optional() })),
});

export type RtpParameters = z.infer<typeof rtpParametersSchema>;
export type ConsumerShape = z.infer<typeof consumerSchema>;
export type TransportShape = z.infer<typeof transportSchema>;
export type RouterCapabilities = z.infer<typeof routerCapabilitiesSchema>;
