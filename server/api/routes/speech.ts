/** Speech on a channel: say a line now (queued, or cutting in), interrupt whatever is being said. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { InvalidRequestError } from '../../domainErrors.js';
import { addRoute } from '../route.js';

export interface SpeechRoutesOptions {
  readonly channels: ChannelRegistry;
}

export async function speechRoutes(api: FastifyInstance, options: SpeechRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'POST /api/channels/:id/say', async (request) => {
    const channel = channels.channel(request.params.id);
    const { text, voice, interrupt } = request.body;
    // A voice that is not installed is refused up front, naming the installed ones.
    const voiceProblem = voice ? await channel.voiceProblem(voice) : null;
    if (voiceProblem) throw new InvalidRequestError(voiceProblem);
    return { utteranceId: channel.say(text, { voice, interrupt }) };
  });

  addRoute(api, 'POST /api/channels/:id/interrupt', async (request) => {
    const { mediaMs } = channels.channel(request.params.id).interrupt();
    return { interrupted: true, mediaMs };
  });
}
