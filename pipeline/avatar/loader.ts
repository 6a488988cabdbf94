import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { describeIssue } from '../../config/load.js';
import { BUILTIN_AVATARS_DIR } from '../paths.js';
import { manifestSchema, type AvatarManifest, type LayerSpec, type MouthShape } from './format.js';

/** A broken or unknown avatar: a message for the operator, never a crash of the stream. */
export class AvatarError extends Error {
  override readonly name = 'AvatarError';
}

export interface AvatarStyle {
  /** Colour overrides by palette key. */
  readonly palette?: Readonly<Record<string, string>>;
  /** Chosen option by slot name. */
  readonly slots?: Readonly<Record<string, string>>;
}

/** A layer with its SVG text resolved for one style; colours already filled in. */
export interface ResolvedLayer {
  readonly spec: LayerSpec;
  readonly svg: string;
  readonly closedSvg?: string;
  readonly mouthShapes?: readonly { readonly shape: MouthShape; readonly svg: string }[];
}

export interface AvatarDefinition {
  readonly manifest: AvatarManifest;
  readonly dir: string;
  readonly layers: readonly ResolvedLayer[];
  readonly palette: Readonly<Record<string, string>>;
  readonly slots: Readonly<Record<string, string>>;
}

const MAX_PART_BYTES = 2 * 1024 * 1024;

export function listBuiltinAvatars(): string[] {
  return ['xiaomei', 'ajie'].filter((id) => existsSync(join(BUILTIN_AVATARS_DIR, id, 'avatar.json')));
}

/** What the console offers for an avatar: its name and its style options. */
export interface AvatarChoices {
  readonly id: string;
  readonly name: string;
  readonly palette: Readonly<Record<string, string>>;
  readonly slots: Readonly<Record<string, { readonly default: string; readonly options: readonly string[] }>>;
}

/** The built-in avatars and those under FENSHEN_DATA/avatars whose avatar.json reads; broken ones are left out. */
export function describeAvatars(baseDir: string): AvatarChoices[] {
  const userDir = join(baseDir, 'avatars');
  const user = existsSync(userDir) ? readdirSync(userDir).filter((id) => /^[a-z0-9][a-z0-9-]*$/.test(id) && existsSync(join(userDir, id, 'avatar.json'))) : [];
  const ids = [...new Set([...listBuiltinAvatars(), ...user])];
  return ids.flatMap((id) => {
    try {
      const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(resolveAvatarDir(id, baseDir), 'avatar.json'), 'utf8')));
      const slots = Object.fromEntries(Object.entries(manifest.slots).map(([name, slot]) => [name, { default: slot.default, options: Object.keys(slot.options) }]));
      return [{ id, name: manifest.name, palette: manifest.palette, slots }];
    } catch {
      return [];
    }
  });
}

/** Finds an avatar folder: a built-in id, or a path (absolute, or relative to `baseDir`). */
export function resolveAvatarDir(idOrPath: string, baseDir: string): string {
  if (/^[a-z0-9][a-z0-9-]*$/.test(idOrPath)) {
    const builtin = join(BUILTIN_AVATARS_DIR, idOrPath);
    if (existsSync(join(builtin, 'avatar.json'))) return builtin;
    const inData = join(baseDir, 'avatars', idOrPath);
    if (existsSync(join(inData, 'avatar.json'))) return inData;
  }
  const dir = isAbsolute(idOrPath) ? idOrPath : resolve(baseDir, idOrPath);
  if (existsSync(join(dir, 'avatar.json'))) return dir;
  throw new AvatarError(`avatar "${idOrPath}" not found (built-in avatars: ${listBuiltinAvatars().join(', ')})`);
}

function readPart(dir: string, rel: string, palette: Readonly<Record<string, string>>): string {
  const path = join(dir, rel);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new AvatarError(`avatar part missing: ${rel}`);
  }
  if (size > MAX_PART_BYTES) throw new AvatarError(`avatar part too large (${size} bytes): ${rel}`);
  const text = readFileSync(path, 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_whole, key: string) => {
    const colour = palette[key];
    if (colour === undefined) throw new AvatarError(`avatar part ${rel} uses colour "${key}", which the palette lacks`);
    return colour;
  });
}

export function loadAvatar(dir: string, style: AvatarStyle = {}): AvatarDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'avatar.json'), 'utf8'));
  } catch (err) {
    throw new AvatarError(`avatar.json in ${dir} is unreadable: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new AvatarError(describeIssue(parsed.error, 'avatar.json'));
  const manifest = parsed.data;

  for (const key of Object.keys(style.palette ?? {})) {
    if (!Object.hasOwn(manifest.palette, key)) {
      throw new AvatarError(`avatar ${manifest.id} has no colour "${key}" (colours: ${Object.keys(manifest.palette).join(', ')})`);
    }
  }
  const palette = { ...manifest.palette, ...style.palette };
  const slots: Record<string, string> = {};
  for (const [name, slot] of Object.entries(manifest.slots)) slots[name] = slot.default;
  for (const [name, option] of Object.entries(style.slots ?? {})) {
    const slot = manifest.slots[name];
    if (!slot) throw new AvatarError(`avatar ${manifest.id} has no part slot "${name}" (slots: ${Object.keys(manifest.slots).join(', ')})`);
    if (!Object.hasOwn(slot.options, option)) {
      throw new AvatarError(`avatar ${manifest.id}: "${option}" is not a ${name} option (options: ${Object.keys(slot.options).join(', ')})`);
    }
    slots[name] = option;
  }

  const layers: ResolvedLayer[] = [];
  for (const spec of manifest.layers) {
    if (spec.mouth) {
      layers.push({ spec, svg: '', mouthShapes: spec.mouth.map((shape) => ({ shape, svg: readPart(dir, shape.src, palette) })) });
      continue;
    }
    const src = spec.slot !== undefined ? manifest.slots[spec.slot]?.options[slots[spec.slot] as string] : spec.src;
    if (!src) continue; // an empty slot ("none") hides the layer
    const closedSrc = spec.eyelid?.closedSrc;
    layers.push({ spec, svg: readPart(dir, src, palette), ...(closedSrc ? { closedSvg: readPart(dir, closedSrc, palette) } : {}) });
  }
  return { manifest, dir, layers, palette, slots };
}
