/**
 * A channel's events as server-sent events: its state when the stream opens, then speech as it happens
 * (started, sentence, finished, error); the contract's EVENT_SCHEMAS describe each.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { SpeechEvent } from '../../../pipeline/channel.js';
import type { ChannelRegistry } from '../../channelRegistry.js';
import type { ChannelStateEvent } from '../contract.js';
import { addRoute } from '../route.js';

/** A comment line now and then, so proxies do not close a quiet stream. */
const PING_INTERVAL_MS = 15_000;

export interface EventRoutesOptions {
  readonly channels: ChannelRegistry;
}

export async function eventRoutes(api: FastifyInstance, options: EventRoutesOptions): Promise<void> {
  // Event streams never end by themselves: closing the server ends them, or it would wait for them forever.
  const streams = new Set<ServerResponse>();
  api.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  addRoute(api, 'GET /api/channels/:id/events', async (request, reply) => {
    const channel = options.channels.channel(request.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const state: ChannelStateEvent = { state: channel.state, activity: channel.status.activity };
    res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
    const onSpeech = (event: SpeechEvent) => res.write(`event: speech\ndata: ${JSON.stringify(event)}\n\n`);
    const ping = setInterval(() => res.write(': ping\n\n'), PING_INTERVAL_MS);
    channel.on('speech', onSpeech);
    streams.add(res);
    request.raw.on('close', () => {
      clearInterval(ping);
      channel.off('speech', onSpeech);
      streams.delete(res);
    });
  });
}
