/** Short videos: a script queued as a render, its progress, the MP4 and its subtitles, delete. */
import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { avatarChoiceSchema, channelSchema, sceneSchema, type AvatarChoice, type Config, type SceneConfig } from '../../../config/schema.js';
import { describeAvatars } from '../../../pipeline/avatar/loader.js';
import { makeTts } from '../../../pipeline/channel/assembly.js';
import { CloneFiles, CloneLoadError, isCloneId } from '../../../pipeline/clone/cloneFiles.js';
import { SUBTITLES_FILE, VIDEO_FILE, type VideoSpec } from '../../../pipeline/export/videoRender.js';
import { checkScript, estimateSpeechS, VideoScriptError } from '../../../pipeline/export/videoScript.js';
import type { DiskReserve } from '../../diskReserve.js';
import type { PlaylistLine } from '../../../pipeline/speech/speaker.js';
import { InvalidRequestError, NotFoundError } from '../../domainErrors.js';
import { TtsError } from '../../../pipeline/speech/tts.js';
import type { Store } from '../../store.js';
import { LocalRenderQueue } from '../../localRenderQueue.js';
import type { Logger } from '../../log.js';
import { RedisRenderQueue } from '../../redisRenderQueue.js';
import { VideoJobs } from '../../videoJobs.js';
import type { CreateVideoBody } from '../contract.js';
import { addRoute } from '../route.js';

export interface VideoRoutesOptions {
  readonly dataDir: string;
  /** Refuses a video that would leave the data folder's disk under its reserve. */
  readonly diskReserve: DiskReserve;
  readonly ffmpegPath: string;
  readonly log: Logger;
  readonly store: Store;
  /** Where renders run: the BullMQ queue on `redisUrl`, or this server when none. */
  readonly queue: { readonly redisUrl?: string | undefined; readonly name: string };
  /** The AI labels: whether the output is for publication (the explicit label cannot be hidden), and the implicit label's producer. */
  readonly compliance: Pick<Config['compliance'], 'publication' | 'producer' | 'produceIdPrefix'>;
}

/** Music sits this far under full scale before ducking (the live channels' default). */
const DEFAULT_MUSIC_GAIN_DB = -18;

export async function videoRoutes(api: FastifyInstance, options: VideoRoutesOptions): Promise<void> {
  const queue = options.queue.redisUrl
    ? new RedisRenderQueue({ url: options.queue.redisUrl, queue: options.queue.name, log: options.log })
    : new LocalRenderQueue({ dataDir: options.dataDir, ffmpegPath: options.ffmpegPath, log: options.log });
  const videos = new VideoJobs({ dataDir: options.dataDir, log: options.log, queue, aigc: options.compliance });
  await videos.start();
  // Voices are checked before a render is queued (a render that fails on its third line wastes the first two).
  const voices = makeTts(channelSchema.parse({}));
  api.addHook('onClose', async () => {
    await videos.close();
    await voices.close();
  });

  /** The request as a render takes it, or a 400 naming what is wrong (script, scene, avatar, voice). */
  async function specOf(body: CreateVideoBody): Promise<{ spec: VideoSpec; sceneId: string | null }> {
    let lines: PlaylistLine[];
    try {
      lines = checkScript(body.script);
    } catch (err) {
      if (err instanceof VideoScriptError) throw new InvalidRequestError(err.message);
      throw err;
    }
    if (body.voice) lines = lines.map((line) => ({ ...line, voice: line.voice ?? body.voice }));
    for (const voice of new Set(lines.flatMap((line) => (line.voice ? [line.voice] : [])))) {
      const check = await voices.checkVoice?.(voice).catch((err: unknown) => {
        // The voice cannot be checked now (the helper is down): the render says so if it cannot speak.
        if (err instanceof TtsError) return undefined;
        throw err;
      });
      if (check && !check.installed) throw new InvalidRequestError(`voice "${voice}" is not installed${check.available.length ? `; installed: ${check.available.join(', ')}` : ''}`);
    }
    let scene: SceneConfig = sceneSchema.parse({});
    let avatar: AvatarChoice = avatarChoiceSchema.parse({});
    let sceneId: string | null = null;
    if (body.scene !== undefined) {
      const saved = options.store.scenes().find((s) => s.id === body.scene || s.name === body.scene);
      if (!saved) throw new InvalidRequestError(`scene "${body.scene}" is not a saved scene (GET /api/scenes lists them)`);
      sceneId = saved.id;
      scene = sceneSchema.parse(saved.settings.scene ?? {});
      if (saved.settings.avatar) avatar = avatarChoiceSchema.parse(saved.settings.avatar);
    }
    if (body.avatar !== undefined) avatar = avatarChoiceSchema.parse(typeof body.avatar === 'string' ? { id: body.avatar } : body.avatar);
    checkAvatar(avatar, options.dataDir);
    // A video for publication carries its AI label whatever its saved scene says.
    if (!scene.aiLabel.shown && options.compliance.publication) scene = { ...scene, aiLabel: { ...scene.aiLabel, shown: true } };
    const music = body.music === undefined ? undefined : musicOf(typeof body.music === 'string' ? { upload: body.music } : body.music);
    const drive = body.drive === undefined ? undefined : { file: uploadOf('drive', typeof body.drive === 'string' ? body.drive : body.drive.upload, 'video').file };
    return { spec: { lines, preset: body.preset, avatar, scene, subtitles: body.subtitles, music, drive }, sceneId };
  }

  /** The upload `id` for `field`, or a 400 unless it is there and of `kind`. */
  function uploadOf(field: string, id: string, kind: 'audio' | 'video'): { file: string } {
    const upload = options.store.upload(id);
    if (!upload) throw new InvalidRequestError(`${field}: upload ${id} is not there (GET /api/uploads lists them)`);
    if (upload.kind !== kind) throw new InvalidRequestError(`${field}: upload ${id} (${upload.name}) is a ${upload.kind}, not a ${kind === 'audio' ? 'sound file' : 'video'}`);
    return upload;
  }

  /** The music as a render takes it, or a 400 unless the upload is a sound file that is there. */
  function musicOf(choice: { upload: string; gainDb?: number | undefined }): VideoSpec['music'] {
    return { file: uploadOf('music', choice.upload, 'audio').file, gainDb: choice.gainDb ?? DEFAULT_MUSIC_GAIN_DB };
  }

  addRoute(api, 'POST /api/videos', async (request) => {
    const { spec, sceneId } = await specOf(request.body);
    // While it renders a video takes its encode and then the MP4: about 2 MB a second of speech at most.
    await options.diskReserve.ensureRoom(estimateSpeechS(spec.lines) * 2 * 1024 * 1024, 'this video');
    return videos.create(spec, sceneId);
  });
  addRoute(api, 'GET /api/videos', async () => ({ videos: videos.list() }));
  addRoute(api, 'GET /api/videos/:id', async (request) => {
    const video = videos.get(request.params.id);
    if (!video) throw new NotFoundError(`video ${request.params.id}`);
    return video;
  });
  for (const [route, name, type] of [['GET /api/videos/:id/file', VIDEO_FILE, 'video/mp4'], ['GET /api/videos/:id/subtitles.srt', SUBTITLES_FILE, 'application/x-subrip; charset=utf-8']] as const) {
    addRoute(api, route, async (request, reply) => {
      const file = videos.file(request.params.id, name);
      if (!existsSync(file)) throw new InvalidRequestError(`video ${request.params.id}: ${name} is missing`);
      const download = name === VIDEO_FILE ? `${request.params.id}.mp4` : `${request.params.id}.srt`;
      return reply.type(type).header('content-disposition', `inline; filename="${download}"`).send(createReadStream(file));
    });
  }
  addRoute(api, 'DELETE /api/videos/:id', async (request) => {
    await videos.remove(request.params.id);
  });
}

/** A 400 unless `avatar` can be shown: a drawn avatar installed, or a clone built (and with a matte if cut out). */
function checkAvatar(avatar: AvatarChoice, dataDir: string): void {
  if (isCloneId(avatar.id)) {
    try {
      const files = CloneFiles.open(dataDir, avatar.id);
      const cutoutMissing = avatar.cutout === true && !files.manifest.cutout;
      files.close();
      if (cutoutMissing) throw new InvalidRequestError(`clone ${avatar.id} cannot be cut out: it was built before cut-outs; build it again from its recording`);
    } catch (err) {
      if (err instanceof CloneLoadError) throw new InvalidRequestError(err.message);
      throw err;
    }
    return;
  }
  const rigs = describeAvatars(dataDir).map((rig) => rig.id);
  if (!rigs.includes(avatar.id)) throw new InvalidRequestError(`avatar "${avatar.id}" is not installed; avatars: ${rigs.join(', ')} or a clone (GET /api/avatars)`);
}
