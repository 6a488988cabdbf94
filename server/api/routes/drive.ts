/** What moves the avatar: idle motion, a video file or stream, or the operator's camera; and calibration. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../../channelRegistry.js';
import { confineDriveUrl } from '../../dataPaths.js';
import { UnprocessableError } from '../../domainErrors.js';
import { addRoute } from '../route.js';

export interface DriveRoutesOptions {
  readonly channels: ChannelRegistry;
  /** FENSHEN_DATA: a local drive video must be inside it. */
  readonly dataDir: string;
}

export async function driveRoutes(api: FastifyInstance, options: DriveRoutesOptions): Promise<void> {
  const { channels } = options;

  addRoute(api, 'PUT /api/channels/:id/drive', async (request) => {
    const channel = channels.channel(request.params.id);
    const { source, url } = request.body;
    // A local file must be inside the data folder; URLs go to ffmpeg as given.
    await channel.setDrive(source, source === 'file' && url ? await confineDriveUrl(url, options.dataDir) : url);
    return channel.status.drive;
  });

  // Whether a real person must drive the host, and what the destinations get when nobody does.
  addRoute(api, 'PUT /api/channels/:id/live-driver', async (request) => channels.setLiveDriver(request.params.id, request.body).status.liveDriver);

  addRoute(api, 'POST /api/channels/:id/drive/calibrate', async (request) => {
    const calibrated = await channels.channel(request.params.id).calibrateDrive();
    if (!calibrated) throw new UnprocessableError('no face is being tracked to calibrate from');
    return { calibrated };
  });
}
