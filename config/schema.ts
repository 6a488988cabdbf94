import { z } from 'zod';
import { PRESET_NAMES, DEFAULT_PRESET } from './presets.js';

const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'a colour like #1a2b3c');
const port = z.number().int().min(0).max(65535);

export const backgroundSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('color'), color: hexColor }),
  z.strictObject({ type: z.literal('gradient'), from: hexColor, to: hexColor, angleDeg: z.number().default(180) }),
  z.strictObject({ type: z.literal('image'), path: z.string().min(1), fit: z.enum(['cover', 'contain']).default('cover') }),
  /** A video file looped forever (decoded by ffmpeg at the channel's frame rate). */
  z.strictObject({ type: z.literal('video'), path: z.string().min(1), fit: z.enum(['cover', 'contain']).default('cover') }),
]);

export const captionSchema = z.strictObject({
  text: z.string().max(200),
  fontSizePx: z.number().int().min(8).max(200).default(40),
  color: hexColor.default('#ffffff'),
  boxColor: hexColor.default('#00000099'),
  /** Vertical centre of the caption box, as a fraction of the frame height. */
  y: z.number().min(0).max(1).default(0.84),
});

export const logoSchema = z.strictObject({
  path: z.string().min(1),
  widthFraction: z.number().min(0.02).max(1).default(0.18),
  corner: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right']).default('top-left'),
});

/**
 * The explicit AI label (GB 45438-2025: AI-generated video carries a label people can see): text, corner and
 * size may be restyled; hiding it is refused unless the server's output is not for publication.
 */
const aiLabelFields = {
  text: z.string().trim().min(2).max(12, 'at most 12 characters').regex(/AI|人工智能|数字人|生成|合成/, 'must say the host is AI-made: contain "AI", "人工智能", "数字人", "生成" or "合成"'),
  corner: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right']),
  /** At a 720 px short side; scaled with the frame. */
  fontSizePx: z.number().int().min(18).max(72),
  shown: z.boolean(),
};
export const aiLabelSchema = z.strictObject({
  text: aiLabelFields.text.default('AI生成'),
  corner: aiLabelFields.corner.default('top-right'),
  fontSizePx: aiLabelFields.fontSizePx.default(26),
  shown: aiLabelFields.shown.default(true),
});
/** A change to the label: the fields given replace the current ones. */
export const aiLabelChangeSchema = z.strictObject({
  text: aiLabelFields.text.optional(),
  corner: aiLabelFields.corner.optional(),
  fontSizePx: aiLabelFields.fontSizePx.optional(),
  shown: aiLabelFields.shown.optional(),
});

export const DEFAULT_AI_LABEL = { text: 'AI生成', corner: 'top-right', fontSizePx: 26, shown: true } as const;

/** A product being sold: a card over the scene that the operator shows and hides live. */
export const productCardSchema = z.strictObject({
  visible: z.boolean().default(true),
  name: z.string().min(1).max(60),
  /** Free text, so any currency or wording fits: "¥99", "到手价 ¥59.9". */
  price: z.string().max(24).default(''),
  tagline: z.string().max(80).default(''),
  /** A product picture (path under FENSHEN_DATA, e.g. an upload's file). */
  image: z.string().min(1).optional(),
  side: z.enum(['left', 'right']).default('left'),
  /**
   * Vertical centre of the card, as a fraction of the frame height. Default: in the headroom above the
   * avatar's default framing (its hair starts near 0.26), clear of the face; 0.3 before framing filled the frame.
   */
  y: z.number().min(0).max(1).default(0.16),
  accentColor: hexColor.default('#ff2d55'),
});

/** The avatar's placement fields, each with its range; one set of checks for the config file and the HTTP API. */
const placementFields = {
  /** Horizontal centre, as a fraction of the frame width. */
  x: z.number().min(0, 'must be between 0 (left edge) and 1 (right edge)').max(1, 'must be between 0 (left edge) and 1 (right edge)'),
  /**
   * Size: the height of the avatar's design box (its viewBox, head to the bottom of the bust) as a fraction of
   * the frame height. Relative to the height, so one value frames the same in portrait and landscape.
   */
  heightFraction: z.number().min(0.1, 'must be between 0.1 and 1.5 (of the frame height)').max(1.5, 'must be between 0.1 and 1.5 (of the frame height)'),
  /** Where the bottom of the bust is, as a fraction of the frame height above its bottom edge (negative: below it). */
  bottom: z.number().min(-0.5, 'must be between -0.5 (below the frame) and 1 (of the frame height)').max(1, 'must be between -0.5 (below the frame) and 1 (of the frame height)'),
};

/**
 * The default framing, a host on camera: the head's top in the upper third (hair near 0.26 of the height
 * for the built-in avatars), the bust cut just below the bottom edge (so a breath or a small lean never
 * shows its lower edge), centred; the product card's default place is the headroom above (README,
 * "Framing"). Before this default the bust filled only the bottom ~45% ({x: 0.5, heightFraction: 0.56,
 * bottom: -0.01}); stored scenes that still held that value get this one (server/store.ts, migration 4).
 */
export const DEFAULT_AVATAR_PLACEMENT = { x: 0.5, heightFraction: 0.8, bottom: -0.02 } as const;

export const avatarPlacementSchema = z.strictObject({
  x: placementFields.x.default(DEFAULT_AVATAR_PLACEMENT.x),
  heightFraction: placementFields.heightFraction.default(DEFAULT_AVATAR_PLACEMENT.heightFraction),
  bottom: placementFields.bottom.default(DEFAULT_AVATAR_PLACEMENT.bottom),
});

/** A placement change (PUT /api/channels/:id/scene): any of the fields, merged over the current ones. */
export const avatarPlacementChangeSchema = z.strictObject({
  x: placementFields.x.optional(),
  heightFraction: placementFields.heightFraction.optional(),
  bottom: placementFields.bottom.optional(),
});

export const sceneSchema = z.strictObject({
  background: backgroundSchema.default({ type: 'gradient', from: '#1d2b53', to: '#7e2553', angleDeg: 180 }),
  logo: logoSchema.optional(),
  caption: captionSchema.optional(),
  productCard: productCardSchema.optional(),
  /** Show the sentence being spoken in the caption's place (with its style), in sync with the voice. */
  speechCaptions: z.boolean().default(true),
  /** Where the avatar stands and how big it is (see avatarPlacementSchema). */
  avatarPlacement: avatarPlacementSchema.default(DEFAULT_AVATAR_PLACEMENT),
  /** The AI label on the picture (see aiLabelSchema). */
  aiLabel: aiLabelSchema.default(DEFAULT_AI_LABEL),
});

export const avatarChoiceSchema = z.strictObject({
  /** A built-in avatar id or a folder holding avatar.json. */
  id: z.string().min(1).default('xiaomei'),
  /** Style mixing: colour overrides by palette key, and a part option per slot. */
  palette: z.record(z.string(), hexColor).default({}),
  slots: z.record(z.string(), z.string()).default({}),
  /** Seeds the idle motion so two channels never move in step. */
  seed: z.number().int().optional(),
  /**
   * A clone: cut out over the scene's background, placed and sized by the scene's avatar placement, instead
   * of full frame in the room it was recorded in (the default). Drawn avatars always stand in the scene.
   */
  cutout: z.boolean().optional(),
});

export const httpTtsSchema = z.strictObject({
  /** POST endpoint: JSON {text, language, voice, sampleRate} in; WAV or raw s16le mono audio out, streamed. */
  url: z.string().url().refine((u) => /^https?:/.test(u), 'an http(s) URL'),
  headers: z.record(z.string(), z.string()).default({}),
  /** Rate of raw PCM replies (a WAV reply states its own). */
  sampleRateHz: z.number().int().min(8000).max(96000).default(24000),
  timeoutMs: z.number().int().min(500).max(60000).default(8000),
});

export const speechSchema = z
  .strictObject({
    provider: z.enum(['espeak', 'http']).default('espeak'),
    http: httpTtsSchema.optional(),
    /** Default voice per language (provider-specific names). */
    voices: z.strictObject({ zh: z.string().optional(), en: z.string().optional() }).default({}),
    /** eSpeak speaking rate, words a minute. */
    rateWpm: z.number().int().min(80).max(400).optional(),
  })
  .refine((s) => s.provider !== 'http' || s.http !== undefined, { message: 'speech.provider http needs speech.http.url', path: ['http'] });

export const encoderSchema = z.strictObject({
  x264Preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('superfast'),
  /** Keyframe spacing of the RTMP encode; default: the preset's (2 s, what the platforms require). */
  gopSeconds: z.number().min(0.5).max(10).optional(),
  videoKbps: z.number().int().min(200).max(20000).optional(),
  audioKbps: z.number().int().min(32).max(320).optional(),
  threads: z.number().int().min(0).max(16).default(0),
  /**
   * Extra x264 options (key=value:key=value). The default skips sub-pixel motion search: the renderer
   * moves layers by whole pixels, so it finds nothing, and it is ~30% of the encoder's CPU.
   */
  x264Params: z.string().regex(/^([a-z0-9_-]+=[A-Za-z0-9_.,/-]+)(:[a-z0-9_-]+=[A-Za-z0-9_.,/-]+)*$|^$/, 'x264Params must look like key=value:key=value').default('subme=0'),
});

/** The channel's WebRTC rendition: a second, short-GOP H.264 encode in the same encoder process (see README). */
export const channelWebrtcSchema = z.strictObject({
  videoKbps: z.number().int().min(200).max(8000).default(1500),
  /** Keyframe spacing: a viewer who joins waits at most this long for a picture. */
  keyframeSeconds: z.number().min(0.2).max(2).default(0.5),
  audioKbps: z.number().int().min(16).max(256).default(64),
});

export const audioSchema = z.strictObject({
  sampleRateHz: z.union([z.literal(44100), z.literal(48000)]).default(48000),
  music: z
    .strictObject({ path: z.string().min(1), gainDb: z.number().min(-60).max(12).default(-18) })
    .optional(),
});

export const channelSchema = z.strictObject({
  preset: z.enum(PRESET_NAMES).default(DEFAULT_PRESET),
  avatar: avatarChoiceSchema.default({ id: 'xiaomei', palette: {}, slots: {} }),
  scene: sceneSchema.default(() => sceneSchema.parse({})),
  audio: audioSchema.default({ sampleRateHz: 48000 }),
  encoder: encoderSchema.default(() => encoderSchema.parse({})),
  speech: speechSchema.default(() => speechSchema.parse({})),
  webrtc: channelWebrtcSchema.default(() => channelWebrtcSchema.parse({})),
  /**
   * A real person in the loop (platforms' rules for virtual hosts): the channel tracks whether someone is
   * driving (a face on the operator's camera, a voice on their microphone, within `windowS`). With `required`,
   * nobody for longer than `graceS` shows the "host away" card (`away: card`, the playlist held) or pauses the
   * destinations (`away: pause`) until the person is back.
   */
  liveDriver: z
    .strictObject({
      required: z.boolean().default(false),
      windowS: z.number().min(1).max(60).default(3),
      graceS: z.number().min(1).max(3600).default(30),
      away: z.enum(['card', 'pause']).default('card'),
      awayText: z.string().trim().min(1).max(40).default('主播暂时离开，马上回来'),
    })
    .default({ required: false, windowS: 3, graceS: 30, away: 'card', awayText: '主播暂时离开，马上回来' }),
  drive: z
    .strictObject({
      provider: z.enum(['cpu', 'cuda']).default('cpu'),
      /** BlazePose variant for the body: lite keeps tracking within a frame's time on one core; full is more accurate. */
      poseModel: z.enum(['lite', 'full']).default('lite'),
    })
    .default({ provider: 'cpu', poseModel: 'lite' }),
});

export const configSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  rtmpPort: port.default(1935),
  flvPort: port.default(8000),
  dataDir: z.string().default('./data'),
  token: z.string().min(8).optional(),
  ffmpegPath: z.string().default('ffmpeg'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Where frames are pushed when no destination is configured: the embedded server's `live/<id>`. */
  channel: channelSchema.default(() => channelSchema.parse({})),
  /** WebRTC viewers: one UDP + TCP media port for all of them (0 turns WebRTC off). */
  webrtc: z
    .strictObject({
      port: port.default(40000),
      /** The address browsers are told to reach (a public IP or host name behind NAT); default: host. */
      announcedAddress: z.string().min(1).optional(),
      /** Signaling connections (/ws) open at once, all channels together: each viewer holds one. */
      maxConnections: z.number().int().min(1).max(100_000).default(1000),
      /** From one address (loopback excepted: a reverse proxy there carries everyone's). */
      maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(50),
    })
    .default({ port: 40000, maxConnections: 1000, maxConnectionsPerAddress: 50 }),
  /** Start `main` at boot (tests and embedding may turn it off). */
  startMain: z.boolean().default(true),
  /** Largest uploads, MB: pictures for scenes; videos for backgrounds and clone recordings (a phone's 1-5 min at 1080p is a few GB). */
  uploads: z.strictObject({
    imageMB: z.number().int().min(1).max(200).default(20),
    videoMB: z.number().int().min(1).max(16_384).default(2048),
  }).default({ imageMB: 20, videoMB: 2048 }),
  /** The data folder's disk. */
  storage: z.strictObject({
    /**
     * MB kept free on the data folder's disk for the database, the audit trail and the live rooms: an upload,
     * a short video or a clone build that would leave less is refused (507) up front.
     */
    reserveMB: z.number().int().min(0).max(1_000_000).default(1024),
  }).default({ reserveMB: 1024 }),
  /** What the rules ask of published AI content (GB 45438-2025, platforms' virtual-host rules). */
  compliance: z.strictObject({
    /**
     * The output is for publication (default): every channel and short video carries the AI label, restyled
     * at most. false (rehearsals, internal tests) lets a scene hide it; the server logs that at start and
     * the audit trail each time a label is hidden.
     */
    publication: z.boolean().default(true),
    /** ContentProducer of the implicit label: who makes the content (a company name or its filing number). */
    producer: z.string().trim().min(1).max(100).regex(/^[^\u0000-\u001f"<>&\\]+$/, 'plain text: no quotes, <, >, & or backslashes').default('fenshen'),
    /** ProduceID of the implicit label starts with this (then the channel or video id): a registration or filing number. */
    produceIdPrefix: z.string().regex(/^[A-Za-z0-9._-]{0,40}$/, 'letters, digits, . _ - (at most 40)').default(''),
    /** Days the audit trail (FENSHEN_DATA/audit) is kept. */
    auditRetentionDays: z.number().int().min(1).max(3650).default(30),
  }).default({ publication: true, producer: 'fenshen', produceIdPrefix: '', auditRetentionDays: 30 }),
  /**
   * Short videos. Without `redisUrl` they render on this server, one at a time, below the live rooms. With it
   * (env FENSHEN_REDIS_URL) they go through a BullMQ queue on that Redis and `npm run worker` processes render
   * them, here or on other machines that share FENSHEN_DATA.
   */
  videos: z.strictObject({
    redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL').optional(),
    /** The BullMQ queue's name (servers and workers that share one Redis must agree). */
    queue: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _').default('fenshen-videos'),
    /** How long a worker holds a job without renewing its lock before another worker takes the job over (a worker that died). */
    lockS: z.number().min(2).max(600).default(30),
  }).default({ queue: 'fenshen-videos', lockS: 30 }),
});

export type Config = z.infer<typeof configSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type SceneConfig = z.infer<typeof sceneSchema>;
export type BackgroundConfig = z.infer<typeof backgroundSchema>;
export type ProductCardConfig = z.infer<typeof productCardSchema>;
export type AvatarPlacementConfig = z.infer<typeof avatarPlacementSchema>;
export type AvatarChoice = z.infer<typeof avatarChoiceSchema>;
export type EncoderConfig = z.infer<typeof encoderSchema>;
export type SpeechConfig = z.infer<typeof speechSchema>;
export type AudioConfig = z.infer<typeof audioSchema>;
