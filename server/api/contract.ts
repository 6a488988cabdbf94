/**
 * The HTTP API's contract: every request body it takes and every answer it gives, as zod schemas, and the
 * routes that use them (API_ROUTES). The routes validate bodies with these schemas once at the edge, the
 * console imports the answer types from here, and the tests parse real answers with them. Answers are
 * strict: a field the server adds, drops or retypes without changing this file fails a test, and
 * contractChecks.ts proves at compile time that what the pipeline produces fits.
 *
 * Only zod and config/ are imported: the console's type check reads this file too, and must not reach
 * the server's or the pipeline's code.
 */
import { z } from 'zod';
import { PRESET_NAMES } from '../../config/presets.js';
import { avatarChoiceSchema, avatarPlacementChangeSchema, backgroundSchema, captionSchema, logoSchema, productCardSchema, sceneSchema, aiLabelChangeSchema } from '../../config/schema.js';
import { qualityReportSchema } from '../../config/cloneReport.js';

// ---- Request bodies ----

/**
 * An avatar named over the API: a built-in one or a folder under the data folder's avatars/, by id. A
 * folder path (allowed in the config file, the machine owner's) could point anywhere on the disk.
 */
const apiAvatarId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "an avatar id (a built-in avatar or a folder under the data folder's avatars/; paths only in the config file)");
const apiAvatarChoice = avatarChoiceSchema.partial().extend({ id: apiAvatarId.optional() });
const voiceName = z.string().regex(/^[A-Za-z0-9_+-]{1,40}$/, 'a voice name (letters, digits, - + _)');

/** PUT /api/channels/:id/live-driver: the fields given replace the current ones. */
export const liveDriverBodySchema = z.strictObject({
  required: z.boolean().optional(),
  windowS: z.number().min(1).max(60).optional(),
  graceS: z.number().min(1).max(3600).optional(),
  away: z.enum(['card', 'pause']).optional(),
  awayText: z.string().trim().min(1).max(40).optional(),
});

/** POST /api/channels */
export const createChannelBodySchema = z.strictObject({
  id: z.string(),
  preset: z.enum(PRESET_NAMES).optional(),
  avatar: apiAvatarChoice.optional(),
  scene: z.record(z.string(), z.unknown()).optional(),
  /** Whether a real person must drive it (see PUT /api/channels/:id/live-driver). */
  liveDriver: liveDriverBodySchema.optional(),
});

/** PUT /api/channels/:id/scene: the fields given replace the current ones; null removes an overlay. */
export const sceneChangeBodySchema = z.strictObject({
  background: backgroundSchema.optional(),
  avatar: z.union([apiAvatarId, apiAvatarChoice]).optional(),
  /** Where the avatar stands and its size; the fields given replace the current ones. */
  avatarPlacement: avatarPlacementChangeSchema.optional(),
  overlays: z
    .strictObject({
      caption: captionSchema.nullable().optional(),
      logo: logoSchema.nullable().optional(),
      productCard: productCardSchema.nullable().optional(),
      /** The spoken sentence shown as a caption. */
      speechCaptions: z.boolean().optional(),
      /** The AI label: restyled (text, corner, size); hidden only where the output is not for publication. */
      aiLabel: aiLabelChangeSchema.optional(),
    })
    .optional(),
});

/** POST /api/channels/:id/say */
export const sayBodySchema = z.strictObject({
  text: z.string(),
  voice: voiceName.optional(),
  interrupt: z.boolean().optional(),
});

/** PUT /api/channels/:id/drive */
export const driveBodySchema = z.strictObject({
  source: z.enum(['idle', 'file', 'camera']),
  url: z.string().min(1).max(2000).optional(),
});

/** PUT /api/channels/:id/playlist: a line is its text, or its text with a pause after it and a voice. */
export const playlistBodySchema = z.strictObject({
  lines: z
    .array(
      z.union([
        z.string(),
        z.strictObject({
          text: z.string(),
          pauseMs: z.number().int().min(0).max(600_000).optional(),
          voice: z.string().regex(/^[A-Za-z0-9_+-]{1,40}$/).optional(),
        }),
      ]),
    )
    .max(1000),
  loop: z.boolean().default(true),
});

/** POST /api/channels/:id/destinations */
export const destinationBodySchema = z.strictObject({
  url: z.string().min(1).max(4096),
  id: z.string().max(64).optional(),
  preset: z.enum(PRESET_NAMES).optional(),
  enabled: z.boolean().optional(),
});

/** POST /api/channels/:id/scenes: saves the channel's scene under a name. */
export const saveSceneBodySchema = z.strictObject({ name: z.string().trim().min(1).max(40) });

/** POST /api/channels/:id/scene/apply: switches the channel to a saved scene. */
export const applySceneBodySchema = z.strictObject({ scene: z.string().min(1).max(64) });

// ---- Answers ----

/** Every refusal and failure: the message for the user and a stable code (server/domainErrors.ts). */
export const errorAnswerSchema = z.strictObject({ error: z.string(), code: z.string() });

export const channelStateSchema = z.enum(['starting', 'live', 'stalled', 'closed']);
const activitySchema = z.enum(['idle', 'speaking']);

/** GET /healthz (no token): 200 while main streams, 503 while it starts or stalls. */
export const healthAnswerSchema = z.strictObject({
  status: z.enum(['ok', 'starting', 'stalled']),
  /** Present once the operator deleted main: nothing is wrong. */
  main: z.literal('deleted').optional(),
  channels: z.array(z.strictObject({ id: z.string(), state: channelStateSchema })).readonly(),
});

/** An RTMP destination; its URL's stream key is masked (the key never reaches a page or a log). */
export const destinationStatusSchema = z.strictObject({
  id: z.string(),
  url: z.string(),
  preset: z.enum(PRESET_NAMES).nullable(),
  /** connecting, live, retrying (in `retryInS`), failed (`lastError` says why), stopped, closed. */
  state: z.enum(['connecting', 'live', 'retrying', 'failed', 'stopped', 'closed']),
  enabled: z.boolean(),
  retryInS: z.number().nullable(),
  lastError: z.string().nullable(),
  reconnects: z.number(),
  bytesSent: z.number(),
  /** Seconds the current connection has been live. */
  uptimeS: z.number(),
});

/** The rig values the camera drive last tracked, by parameter name (degrees, or 0-1 fractions). */
const driveRigSchema = z.record(z.string(), z.number());

/** The channel's drive (PUT /api/channels/:id/drive answers it alone). */
export const driveStatusSchema = z.strictObject({
  source: z.enum(['idle', 'file', 'camera']),
  url: z.string().optional(),
  /** `dropped`: camera or file frames that came while one was being tracked (skipped, not queued). */
  face: z.strictObject({ found: z.boolean(), fps: z.number(), ms: z.number(), dropped: z.number(), rig: driveRigSchema.nullable(), latencyMs: z.number() }),
  iris: z.strictObject({ fps: z.number(), ms: z.number() }),
  pose: z.strictObject({ found: z.boolean(), fps: z.number(), ms: z.number() }),
});

/** GET /api/channels/:id, and the answer of every change to a channel. */
/** Whether a real person drives the host (pipeline/channel/presence.ts). */
export const liveDriverStatusSchema = z.strictObject({
  driving: z.boolean(),
  via: z.enum(['camera', 'microphone']).nullable(),
  lastSeenAgoS: z.number().nullable(),
  required: z.boolean(),
  away: z.boolean(),
  awayAction: z.enum(['card', 'pause']),
  seconds: z.strictObject({ person: z.number(), script: z.number(), idle: z.number() }),
});

export const channelStatusSchema = z.strictObject({
  id: z.string(),
  state: channelStateSchema,
  preset: z.string(),
  width: z.number(),
  height: z.number(),
  fps: z.number(),
  fpsMeasured: z.number(),
  /** Output video minus audio timestamp, smoothed; null until measured. */
  avOffsetMs: z.number().nullable(),
  activity: activitySchema,
  speech: z.strictObject({ provider: z.string(), queued: z.number(), playlistLines: z.number(), playlistLoop: z.boolean(), sentence: z.string().nullable() }),
  avatar: z.string(),
  /** A clone shown cut out over the scene (false: full frame in its own room, or a drawn avatar). */
  avatarCutout: z.boolean(),
  drive: driveStatusSchema,
  liveDriver: liveDriverStatusSchema,
  encoder: z.strictObject({
    running: z.boolean(),
    fps: z.number(),
    bitrateKbps: z.number(),
    speed: z.number(),
    /** Frames the encoder has output since it (last) started, as it reports them (0 before its first report). */
    frames: z.number(),
    restarts: z.number(),
    heldTicks: z.number(),
  }),
  destinations: z.array(destinationStatusSchema).readonly(),
  viewers: z.number(),
  framesRendered: z.number(),
  framesRepeated: z.number(),
  uptimeS: z.number(),
});

/** GET /api/channels */
export const channelListSchema = z.strictObject({ channels: z.array(channelStatusSchema).readonly() });

/** GET /api/channels/:id/destinations */
export const destinationListSchema = z.strictObject({ destinations: z.array(destinationStatusSchema).readonly() });

/** POST /api/channels/:id/say (202): the id its speech events carry. */
export const sayAnswerSchema = z.strictObject({ utteranceId: z.string() });

/** POST /api/channels/:id/interrupt: the media time (channel clock, ms) speech stopped at. */
export const interruptAnswerSchema = z.strictObject({ interrupted: z.literal(true), mediaMs: z.number() });

export const playlistLineSchema = z.strictObject({ text: z.string(), pauseMs: z.number().optional(), voice: z.string().optional() });

/** GET /api/channels/:id/playlist */
export const playlistSchema = z.strictObject({ lines: z.array(playlistLineSchema).readonly(), loop: z.boolean() });

/** PUT /api/channels/:id/playlist: how many lines were kept. */
export const playlistSetAnswerSchema = z.strictObject({ lines: z.number(), loop: z.boolean() });

/** POST /api/channels/:id/drive/calibrate (a 422 when no face is tracked). */
export const calibrateAnswerSchema = z.strictObject({ calibrated: z.literal(true) });

/** What the console offers for an avatar: its name and its style options. */
export const avatarChoicesSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  palette: z.record(z.string(), z.string()),
  slots: z.record(z.string(), z.strictObject({ default: z.string(), options: z.array(z.string()).readonly() })),
});

/** A drawn avatar (built in, or a rig folder under the data folder's avatars/). */
export const rigAvatarSchema = avatarChoicesSchema.extend({ kind: z.literal('rig'), state: z.literal('ready') });

/** A clone (分身): a real person made from a recording; built by a job, so it has a state and progress. */
export const cloneAvatarSchema = z.strictObject({
  id: z.string(),
  kind: z.literal('clone'),
  name: z.string(),
  state: z.enum(['building', 'ready', 'failed']),
  progress: z.number().min(0).max(1),
  /** What the build is doing, or did last. */
  stage: z.string(),
  error: z.string().optional(),
  /** The recording's quality report: what refused it, what it warns about, the frames left out and why. */
  report: qualityReportSchema.optional(),
  consent: z.strictObject({
    person: z.string(),
    /** When the operator confirmed it here. */
    confirmedAt: z.string(),
    /** When the person agreed, as the operator gave it. */
    agreedAt: z.string().optional(),
    /** The signed consent kept with the clone (its file name in the clone's folder). */
    document: z.string().optional(),
  }),
  recording: z.strictObject({ upload: z.string(), name: z.string() }),
  createdAt: z.string(),
});

export const avatarSchema = z.discriminatedUnion('kind', [rigAvatarSchema, cloneAvatarSchema]);

/** GET /api/avatars */
export const avatarListSchema = z.strictObject({ avatars: z.array(avatarSchema).readonly() });

/** POST /api/avatars: a clone from an uploaded recording, only with the filmed person's consent on record. */
export const createCloneBodySchema = z.strictObject({
  kind: z.literal('clone'),
  name: z.string().trim().min(1).max(60),
  upload: z.string().min(1).max(64),
  consent: z.strictObject(
    {
      person: z.string().trim().min(1, 'consent: the name of the person filmed, who agreed to be cloned').max(100),
      /** When they agreed (a date or time, ISO 8601). */
      agreedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, 'consent.agreedAt: a date (2026-11-30) or an ISO 8601 time').optional(),
      /** The signed consent form, photographed or scanned: an uploaded picture's id, kept with the clone. */
      document: z.string().regex(/^u-[0-9a-f]{10}$/, 'consent.document: an uploaded picture\'s id (u-…)').optional(),
    },
    { error: 'consent {person}: the name of the person filmed, who agreed to be cloned, is required' },
  ),
});

/** POST /api/videos: a script made into a short video (an MP4 and its subtitles). */
const uploadId = z.string().regex(/^u-[0-9a-f]{10}$/, 'an upload id (u-…, from POST /api/uploads)');

export const createVideoBodySchema = z.strictObject({
  /** Text (a line a sentence group, a blank line a longer pause) or lines as for a playlist. */
  script: z.union([
    z.string().max(20_000, 'script: at most 20000 characters'),
    z.array(z.strictObject({ text: z.string().max(2000), pauseMs: z.number().int().min(0).max(60_000).optional(), voice: voiceName.optional() })).max(500, 'script: at most 500 lines'),
  ]),
  /** Default: the scene's avatar (a saved scene) or xiaomei. */
  avatar: z.union([apiAvatarId, z.strictObject({ id: apiAvatarId, cutout: z.boolean().optional() })]).optional(),
  /** A saved scene (its id or name); default: the default scene. */
  scene: z.string().min(1).max(100).optional(),
  preset: z.enum(PRESET_NAMES).default('portrait-720p'),
  /** The voice for lines that name none. */
  voice: voiceName.optional(),
  /** Burn the spoken sentences into the picture (the SRT is written either way). */
  subtitles: z.boolean().default(true),
  /** Music under the voice (an uploaded sound file, by its id), looped and ducked while the voice speaks; `gainDb` its level (default −18). */
  music: z.union([uploadId, z.strictObject({ upload: uploadId, gainDb: z.number().min(-40).max(0).optional() })]).optional(),
  /** The host's own recorded motion (an uploaded video, by its id): its face drives the avatar, every frame tracked. */
  drive: z.union([uploadId, z.strictObject({ upload: uploadId })]).optional(),
});

/** A short video and its render. */
export const videoSchema = z.strictObject({
  id: z.string(),
  state: z.enum(['queued', 'rendering', 'done', 'failed']),
  progress: z.number(),
  stage: z.string(),
  /** Seconds left while rendering (null until enough is done to tell). */
  etaS: z.number().nullable().optional(),
  error: z.string().optional(),
  durationS: z.number().optional(),
  /** Wall seconds the render took. */
  renderS: z.number().optional(),
  /** Who rendered it: "this server", or a worker (host:pid) when videos go through Redis. */
  worker: z.string().optional(),
  /** Its music (the sound file's path in the data folder), when it has some. */
  music: z.string().optional(),
  /** The video whose face drives it (its path in the data folder), when one does. */
  drive: z.string().optional(),
  createdAt: z.string(),
  preset: z.enum(PRESET_NAMES),
  avatar: z.string(),
  scene: z.string().nullable(),
  lines: z.number(),
  /** Once done: where the MP4 and the SRT are. */
  file: z.string().optional(),
  subtitles: z.string().optional(),
});

/** GET /api/videos: newest first. */
export const videoListSchema = z.strictObject({ videos: z.array(videoSchema).readonly() });

/** GET /api/presets */
export const presetListSchema = z.strictObject({ presets: z.array(z.enum(PRESET_NAMES)).readonly() });

/** GET /api/channels/:id/scene: the channel's scene and avatar as configured (defaults filled in). */
export const channelSceneSchema = z.strictObject({ scene: sceneSchema, avatar: avatarChoiceSchema });

/** A scene saved under a name (its settings stay on the server). */
export const savedSceneSchema = z.strictObject({ id: z.string(), name: z.string(), updatedAt: z.number() });

/** GET /api/scenes */
export const savedSceneListSchema = z.strictObject({ scenes: z.array(savedSceneSchema).readonly() });

/** An uploaded file (background, logo, product picture, background video, music) as listed. */
export const uploadSchema = z.strictObject({
  id: z.string(),
  /** The name it was uploaded with (shown, never used as a path). */
  name: z.string(),
  kind: z.enum(['image', 'video', 'audio']),
  mime: z.string(),
  bytes: z.number(),
  /** Path relative to the data folder, as scenes refer to it. */
  file: z.string(),
  createdAt: z.number(),
  /** Where the file itself is served (with the bearer token). */
  url: z.string(),
});

/** POST /api/uploads (201): the upload and what its check found. */
export const uploadCreatedSchema = uploadSchema.extend({ width: z.number().optional(), height: z.number().optional(), durationS: z.number().optional() });

/** GET /api/uploads */
export const uploadListSchema = z.strictObject({
  uploads: z.array(uploadSchema).readonly(),
  /** Largest upload of each kind, bytes. */
  limits: z.strictObject({ image: z.number(), video: z.number() }),
});

// ---- Event stream (GET /api/channels/:id/events): server-sent events ----

/** Event `state`, sent first: the channel's state when the stream opened. */
export const channelStateEventSchema = z.strictObject({ state: channelStateSchema, activity: activitySchema });

const utteranceFields = {
  utteranceId: z.string(),
  text: z.string(),
  source: z.enum(['say', 'playlist']),
  /** For playlist speech: which line (0-based). */
  line: z.number().optional(),
  /** Media time (channel clock, ms) of the event; for starts, of the first audible sample. */
  mediaMs: z.number().optional(),
};

/** Event `speech`: speaking started, a sentence began, speaking finished (or was interrupted), an error. */
export const speechEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('started'), ...utteranceFields }),
  z.strictObject({ type: z.literal('sentence'), ...utteranceFields, index: z.number(), sentence: z.string() }),
  z.strictObject({ type: z.literal('finished'), ...utteranceFields, interrupted: z.boolean() }),
  z.strictObject({ type: z.literal('error'), ...utteranceFields, message: z.string() }),
]);

/** The event stream's events by name. */
export const EVENT_SCHEMAS = { state: channelStateEventSchema, speech: speechEventSchema } as const;

// ---- Routes ----

export interface RouteContract {
  /** The answer's status when the request succeeds. */
  readonly status: 200 | 201 | 202 | 204;
  /** The JSON body it takes; routes without one take no body (or, for uploads, the file itself). */
  readonly body?: z.ZodType;
  /** The JSON answer; absent for 204, pages, files and the event stream. */
  readonly answer?: z.ZodType;
}

/** One entry of the audit trail (server/audit.ts). */
export const auditEntrySchema = z.strictObject({
  at: z.string(),
  /** A route ("PUT /api/channels/:id/scene"), "said", "token used", "token refused", "label hidden", ... */
  action: z.string(),
  channel: z.string().optional(),
  from: z.string().optional(),
  status: z.number().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** GET /api/audit?from=&to=&action=&channel=&limit= */
export const auditListSchema = z.strictObject({ from: z.string(), to: z.string(), entries: z.array(auditEntrySchema).readonly(), truncated: z.boolean() });

/** Every JSON route: `METHOD /path` (fastify's pattern) → what it takes and answers. */
export const API_ROUTES = {
  'GET /healthz': { status: 200, answer: healthAnswerSchema },
  'GET /api/presets': { status: 200, answer: presetListSchema },
  'GET /api/avatars': { status: 200, answer: avatarListSchema },
  'POST /api/avatars': { status: 202, body: createCloneBodySchema, answer: cloneAvatarSchema },
  'GET /api/avatars/:id': { status: 200, answer: avatarSchema },
  'DELETE /api/avatars/:id': { status: 204 },
  'GET /api/channels': { status: 200, answer: channelListSchema },
  'POST /api/channels': { status: 201, body: createChannelBodySchema, answer: channelStatusSchema },
  'GET /api/channels/:id': { status: 200, answer: channelStatusSchema },
  'DELETE /api/channels/:id': { status: 204 },
  'GET /api/channels/:id/events': { status: 200 },
  'POST /api/channels/:id/say': { status: 202, body: sayBodySchema, answer: sayAnswerSchema },
  'POST /api/channels/:id/interrupt': { status: 200, answer: interruptAnswerSchema },
  'GET /api/channels/:id/playlist': { status: 200, answer: playlistSchema },
  'PUT /api/channels/:id/playlist': { status: 200, body: playlistBodySchema, answer: playlistSetAnswerSchema },
  'PUT /api/channels/:id/drive': { status: 200, body: driveBodySchema, answer: driveStatusSchema },
  'POST /api/channels/:id/drive/calibrate': { status: 200, answer: calibrateAnswerSchema },
  'GET /api/channels/:id/scene': { status: 200, answer: channelSceneSchema },
  'PUT /api/channels/:id/scene': { status: 200, body: sceneChangeBodySchema, answer: channelStatusSchema },
  'GET /api/scenes': { status: 200, answer: savedSceneListSchema },
  'POST /api/channels/:id/scenes': { status: 201, body: saveSceneBodySchema, answer: savedSceneSchema },
  'POST /api/channels/:id/scene/apply': { status: 200, body: applySceneBodySchema, answer: channelStatusSchema },
  'DELETE /api/scenes/:sceneId': { status: 204 },
  'GET /api/channels/:id/destinations': { status: 200, answer: destinationListSchema },
  'POST /api/channels/:id/destinations': { status: 201, body: destinationBodySchema, answer: destinationStatusSchema },
  'DELETE /api/channels/:id/destinations/:destId': { status: 204 },
  'POST /api/channels/:id/destinations/:destId/start': { status: 200, answer: destinationStatusSchema },
  'POST /api/channels/:id/destinations/:destId/stop': { status: 200, answer: destinationStatusSchema },
  'POST /api/videos': { status: 202, body: createVideoBodySchema, answer: videoSchema },
  'GET /api/videos': { status: 200, answer: videoListSchema },
  'GET /api/videos/:id': { status: 200, answer: videoSchema },
  'GET /api/videos/:id/file': { status: 200 },
  'GET /api/videos/:id/subtitles.srt': { status: 200 },
  'DELETE /api/videos/:id': { status: 204 },
  'POST /api/uploads': { status: 201, answer: uploadCreatedSchema },
  'GET /api/uploads': { status: 200, answer: uploadListSchema },
  'GET /api/uploads/:id': { status: 200 },
  'DELETE /api/uploads/:id': { status: 204 },
  'PUT /api/channels/:id/live-driver': { status: 200, body: liveDriverBodySchema, answer: liveDriverStatusSchema },
  'GET /api/audit': { status: 200, answer: auditListSchema },
  'GET /api/audit.jsonl': { status: 200 },
} as const satisfies Record<string, RouteContract>;

export type ApiRoute = keyof typeof API_ROUTES;

// ---- Types ----

export type CreateChannelBody = z.input<typeof createChannelBodySchema>;
export type SceneChangeBody = z.input<typeof sceneChangeBodySchema>;
export type SayBody = z.input<typeof sayBodySchema>;
export type DriveBody = z.input<typeof driveBodySchema>;
export type PlaylistBody = z.input<typeof playlistBodySchema>;
export type DestinationBody = z.input<typeof destinationBodySchema>;
export type SaveSceneBody = z.input<typeof saveSceneBodySchema>;
export type ApplySceneBody = z.input<typeof applySceneBodySchema>;

export type ErrorAnswer = z.output<typeof errorAnswerSchema>;
export type HealthAnswer = z.output<typeof healthAnswerSchema>;
export type ChannelState = z.output<typeof channelStateSchema>;
export type DestinationStatusAnswer = z.output<typeof destinationStatusSchema>;
export type DriveStatusAnswer = z.output<typeof driveStatusSchema>;
export type ChannelStatusAnswer = z.output<typeof channelStatusSchema>;
export type ChannelListAnswer = z.output<typeof channelListSchema>;
export type DestinationListAnswer = z.output<typeof destinationListSchema>;
export type SayAnswer = z.output<typeof sayAnswerSchema>;
export type InterruptAnswer = z.output<typeof interruptAnswerSchema>;
export type VideoAnswer = z.output<typeof videoSchema>;
export type AuditListAnswer = z.output<typeof auditListSchema>;
export type LiveDriverBody = z.output<typeof liveDriverBodySchema>;
export type LiveDriverStatusAnswer = z.output<typeof liveDriverStatusSchema>;
export type VideoListAnswer = z.output<typeof videoListSchema>;
export type CreateVideoBody = z.output<typeof createVideoBodySchema>;
export type PlaylistLineAnswer = z.output<typeof playlistLineSchema>;
export type PlaylistAnswer = z.output<typeof playlistSchema>;
export type PlaylistSetAnswer = z.output<typeof playlistSetAnswerSchema>;
export type CalibrateAnswer = z.output<typeof calibrateAnswerSchema>;
export type AvatarChoicesAnswer = z.output<typeof avatarChoicesSchema>;
export type AvatarListAnswer = z.output<typeof avatarListSchema>;
export type RigAvatarAnswer = z.output<typeof rigAvatarSchema>;
export type CloneAvatarAnswer = z.output<typeof cloneAvatarSchema>;
export type CreateCloneBody = z.input<typeof createCloneBodySchema>;
export type PresetListAnswer = z.output<typeof presetListSchema>;
export type ChannelSceneAnswer = z.output<typeof channelSceneSchema>;
export type SavedSceneAnswer = z.output<typeof savedSceneSchema>;
export type SavedSceneListAnswer = z.output<typeof savedSceneListSchema>;
export type UploadAnswer = z.output<typeof uploadSchema>;
export type UploadCreatedAnswer = z.output<typeof uploadCreatedSchema>;
export type UploadListAnswer = z.output<typeof uploadListSchema>;
export type ChannelStateEvent = z.output<typeof channelStateEventSchema>;
export type SpeechEventAnswer = z.output<typeof speechEventSchema>;

/** What a route's handler is checked against: the answer as sent (before any defaults are filled in). */
export type AnswerOf<R extends ApiRoute> = (typeof API_ROUTES)[R] extends { readonly answer: infer S extends z.ZodType } ? z.input<S> : unknown;
/** A route's body after validation (defaults filled in). */
export type BodyOf<R extends ApiRoute> = (typeof API_ROUTES)[R] extends { readonly body: infer S extends z.ZodType } ? z.output<S> : unknown;
