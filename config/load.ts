import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** A configuration problem the user can fix; its message names the bad key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`FENSHEN_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`FENSHEN_CONFIG: ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

function envPort(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name}: expected a port number 0-65535, got "${raw}"`);
  }
  return value;
}

/** Formats the first schema issue as `key.path: message`. */
export function describeIssue(error: z.ZodError, prefix = 'config'): string {
  const issue = error.issues[0];
  if (!issue) return `${prefix}: invalid`;
  if (issue.code === 'unrecognized_keys') {
    const at = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `${prefix}: unknown key ${issue.keys.map((k) => `"${at}${k}"`).join(', ')}`;
  }
  const key = issue.path.length ? issue.path.join('.') : '(root)';
  return `${prefix}: ${key}: ${issue.message}`;
}

/** Reads FENSHEN_CONFIG (JSON or YAML) and the FENSHEN_* environment, validates once, freezes. */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): Config {
  const fromFile = env.FENSHEN_CONFIG ? readConfigFile(env.FENSHEN_CONFIG) : {};
  if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) {
    throw new ConfigError('FENSHEN_CONFIG: the file must hold an object of settings');
  }
  const fromEnv: Record<string, unknown> = {};
  if (env.FENSHEN_HOST) fromEnv.host = env.FENSHEN_HOST;
  const port = envPort(env, 'FENSHEN_PORT');
  if (port !== undefined) fromEnv.port = port;
  const rtmpPort = envPort(env, 'FENSHEN_RTMP_PORT');
  if (rtmpPort !== undefined) fromEnv.rtmpPort = rtmpPort;
  const flvPort = envPort(env, 'FENSHEN_FLV_PORT');
  if (flvPort !== undefined) fromEnv.flvPort = flvPort;
  const webrtcPort = envPort(env, 'FENSHEN_WEBRTC_PORT');
  if (webrtcPort !== undefined || env.FENSHEN_WEBRTC_ANNOUNCED_ADDRESS) {
    const fileWebrtc: unknown = (fromFile as Record<string, unknown>).webrtc;
    fromEnv.webrtc = {
      ...(typeof fileWebrtc === 'object' && fileWebrtc !== null ? fileWebrtc : {}),
      ...(webrtcPort !== undefined ? { port: webrtcPort } : {}),
      ...(env.FENSHEN_WEBRTC_ANNOUNCED_ADDRESS ? { announcedAddress: env.FENSHEN_WEBRTC_ANNOUNCED_ADDRESS } : {}),
    };
  }
  if (env.FENSHEN_DATA) fromEnv.dataDir = env.FENSHEN_DATA;
  if (env.FENSHEN_TOKEN) fromEnv.token = env.FENSHEN_TOKEN;
  if (env.FENSHEN_FFMPEG) fromEnv.ffmpegPath = env.FENSHEN_FFMPEG;
  if (env.FENSHEN_LOG_LEVEL) fromEnv.logLevel = env.FENSHEN_LOG_LEVEL;
  if (env.FENSHEN_REDIS_URL) {
    const fileVideos: unknown = (fromFile as Record<string, unknown>).videos;
    fromEnv.videos = { ...(typeof fileVideos === 'object' && fileVideos !== null ? fileVideos : {}), redisUrl: env.FENSHEN_REDIS_URL };
  }
  const result = configSchema.safeParse({ ...fromFile, ...fromEnv, ...overrides });
  if (!result.success) throw new ConfigError(describeIssue(result.error));
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
