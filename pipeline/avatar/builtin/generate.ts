/**
 * Builds the built-in avatars (fenshen-avatar/1 folders) from DiceBear's vector art on npm:
 * avataaars (Pablo Stanley, free for commercial use) and micah (Micah Lanier, CC BY 4.0).
 * Each DiceBear component becomes a part file in design space with `{{palette}}` colour slots, so a
 * channel's style config can restyle an avatar without regenerating it. Run: `npm run avatars:build`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AvatarManifest } from '../format.js';

type Colors = Record<string, string>;
type ComponentFn = (components: Record<string, { name: string; value: ComponentFn } | undefined>, colors: Colors) => string;
type ComponentGroup = Record<string, ComponentFn>;

const here = dirname(fileURLToPath(import.meta.url));

/** DiceBear exports only `create`; its per-part functions live beside it in lib/components. */
async function loadComponents(style: string): Promise<Record<string, ComponentGroup>> {
  const entry = fileURLToPath(import.meta.resolve(`@dicebear/${style}`));
  return (await import(pathToFileURL(join(dirname(entry), 'components', 'index.js')).href)) as Record<string, ComponentGroup>;
}

function fn(group: ComponentGroup | undefined, name: string): ComponentFn {
  const f = group?.[name];
  if (!f) throw new Error(`missing DiceBear component ${name}`);
  return f;
}

class AvatarWriter {
  readonly files = new Map<string, string>();
  constructor(readonly id: string) {}
  part(path: string, body: string): string {
    this.files.set(path, body);
    return path;
  }
  write(manifest: AvatarManifest, licence: string): void {
    const dir = join(here, this.id);
    rmSync(dir, { recursive: true, force: true });
    for (const [path, body] of this.files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), `${body}\n`);
    }
    writeFileSync(join(dir, 'avatar.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(dir, 'LICENSE.txt'), licence);
  }
}

const placeholders = (keys: string[]): Colors => Object.fromEntries(keys.map((k) => [k, `{{${k}}}`]));

async function avataaars(id: string, name: string, defaults: { hair: string; clothing: string; eyes: string; brows: string; accessories: string; facialHair: string }, palette: Record<string, string>): Promise<void> {
  const c = await loadComponents('avataaars');
  const colors = placeholders(['skin', 'hair', 'hat', 'clothes', 'accessories', 'facialHair']);
  const w = new AvatarWriter(id);
  // Everything in avataaars sits in a translate(8) group; parts keep their offsets from its base.
  const at = (x: number, y: number, inner: string) => `<g transform="translate(${8 + x} ${y})">${inner}</g>`;
  const silhouette = fn(c.base, 'default')({}, colors);
  w.part('parts/body.svg', `<defs><clipPath id="clip-body"><rect x="0" y="181" width="280" height="99"/></clipPath></defs><g clip-path="url(#clip-body)">${at(0, 0, silhouette)}</g>`);
  w.part('parts/head.svg', `<defs><clipPath id="clip-head"><rect x="0" y="0" width="280" height="191"/></clipPath></defs><g clip-path="url(#clip-head)">${at(0, 0, silhouette)}</g>`);
  w.part('parts/nose.svg', at(104, 122, fn(c.nose, 'default')({}, colors)));
  const graphic = { clothingGraphic: { name: 'diamond', value: fn(c.clothingGraphic, 'diamond') } };
  const options = (group: string, dir: string, dx: number, dy: number, names: string[], withNone = false) => {
    const out: Record<string, string | null> = withNone ? { none: null } : {};
    for (const n of names) out[n] = w.part(`parts/${dir}/${n}.svg`, at(dx, dy, fn(c[group], n)(graphic, colors)));
    return out;
  };
  const clothing = options('clothing', 'clothing', 0, 170, Object.keys(c.clothing ?? {}));
  const hair = options('top', 'hair', -1, 0, Object.keys(c.top ?? {}), true);
  const eyes = options('eyes', 'eyes', 76, 90, ['default', 'surprised', 'squint', 'side']);
  w.part('parts/eyes/closed.svg', at(76, 90, fn(c.eyes, 'closed')({}, colors)));
  const brows = options('eyebrows', 'brows', 76, 82, ['default', 'defaultNatural', 'flatNatural', 'raisedExcited', 'raisedExcitedNatural', 'upDownNatural', 'sadConcernedNatural']);
  const facialHair = options('facialHair', 'facial-hair', 49, 72, Object.keys(c.facialHair ?? {}), true);
  const accessories = options('accessories', 'accessories', 62, 42, Object.keys(c.accessories ?? {}), true);
  const mouth = (n: string) => w.part(`parts/mouth/${n}.svg`, at(78, 134, fn(c.mouth, n)({}, colors)));
  // Eyes sit at design x 114 and 166 (y 112): each eye layer keeps its half of the shared eyes part.
  const eyeLayer = (side: 'L' | 'R', x: number) => ({
    id: `eye${side}`, bone: 'head' as const, depth: 1, slot: 'eyes', clip: [x, 84, 52, 56] as [number, number, number, number],
    eyelid: { side, pivotY: 112, closedSrc: 'parts/eyes/closed.svg' }, gaze: [3, 2] as [number, number],
  });
  const manifest: AvatarManifest = {
    format: 'fenshen-avatar/1', id, name,
    credit: 'Art: Avataaars by Pablo Stanley (avataaars.com), via DiceBear (@dicebear/avataaars).',
    license: 'Avataaars: free for personal and commercial use. See LICENSE.txt.',
    viewBox: [280, 280],
    pivots: { hips: [140, 280], neck: [140, 186] },
    parallax: { yaw: 14, pitch: 8 },
    palette,
    slots: {
      hair: { default: defaults.hair, options: hair },
      clothing: { default: defaults.clothing, options: clothing },
      eyes: { default: defaults.eyes, options: eyes },
      brows: { default: defaults.brows, options: brows },
      facialHair: { default: defaults.facialHair, options: facialHair },
      accessories: { default: defaults.accessories, options: accessories },
    },
    layers: [
      { id: 'body', bone: 'body', depth: 0, src: 'parts/body.svg' },
      { id: 'clothing', bone: 'body', depth: 0, slot: 'clothing' },
      { id: 'head', bone: 'head', depth: 0, src: 'parts/head.svg' },
      {
        id: 'mouth', bone: 'head', depth: 1,
        mouth: [
          { src: mouth('twinkle'), open: 0, form: 0.45, round: 0 },
          { src: mouth('serious'), open: 0, form: 0, round: 0 },
          { src: mouth('sad'), open: 0, form: -0.8, round: 0 },
          { src: mouth('default'), open: 0.25, form: 0.5, round: 0 },
          { src: mouth('smile'), open: 0.45, form: 0.7, round: 0 },
          { src: mouth('disbelief'), open: 0.55, form: -0.3, round: 0.9 },
          { src: mouth('screamOpen'), open: 1, form: 0, round: 0.3 },
        ],
      },
      { id: 'nose', bone: 'head', depth: 1.1, src: 'parts/nose.svg' },
      eyeLayer('L', 88),
      eyeLayer('R', 140),
      { id: 'brows', bone: 'head', depth: 1, slot: 'brows', browRise: 6 },
      { id: 'facialHair', bone: 'head', depth: 0.9, slot: 'facialHair' },
      { id: 'hair', bone: 'head', depth: 0.35, slot: 'hair' },
      { id: 'accessories', bone: 'head', depth: 1.2, slot: 'accessories' },
    ],
  };
  w.write(manifest, AVATAAARS_LICENCE);
}

const AVATAAARS_LICENCE = `Design: Avataaars (https://avataaars.com/) by Pablo Stanley.
License: free for personal and commercial use (https://avataaars.com/).
Converted into fenshen-avatar/1 parts from the npm package @dicebear/avataaars (code MIT, Florian Körner).
`;

async function main(): Promise<void> {
  await avataaars(
    'xiaomei', '小美 Xiaomei',
    { hair: 'straight01', clothing: 'blazerAndShirt', eyes: 'default', brows: 'defaultNatural', accessories: 'none', facialHair: 'none' },
    { skin: '#ffdbb4', hair: '#2c1b18', hat: '#5199e4', clothes: '#e8e1e1', accessories: '#262e33', facialHair: '#2c1b18' },
  );
  await avataaars(
    'ajie', '阿杰 Ajie',
    { hair: 'shortFlat', clothing: 'hoodie', eyes: 'default', brows: 'default', accessories: 'none', facialHair: 'none' },
    { skin: '#edb98a', hair: '#4a312c', hat: '#25557c', clothes: '#25557c', accessories: '#262e33', facialHair: '#4a312c' },
  );
  console.log('built-in avatars written under', here);
}

await main();
