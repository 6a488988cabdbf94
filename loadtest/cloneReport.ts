/**
 * `npm run clone:report -- <clone id> [--data DIR]`: a built clone's quality, for the operator who made it:
 * the recording's report (what it warned about, the frames left out), the library's coverage, and, drawn
 * here at 720x1280 over 8 s of syllables, the seam along the mask's edge, how often the mouth cuts
 * elsewhere in the recording and how far it misses the wanted opening. The mouth-to-voice offset is
 * measured on a live stream's RTMP output (test/e2e/clones.test.ts), not here.
 */
import { parseArgs } from 'node:util';
import { CloneFiles } from '../pipeline/clone/cloneFiles.js';
import { cloneQuality } from './cloneBench.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string', default: process.env.FENSHEN_DATA ?? './data' } } });
const id = positionals[0];
if (!id) {
  console.error('usage: npm run clone:report -- <clone id> [--data DIR]');
  process.exit(2);
}
const dataDir = values.data ?? './data';
const files = CloneFiles.open(dataDir, id);
const { manifest } = files;
files.close();
const r = manifest.report;
const rows: [string, string][] = [
  ['recording', `${manifest.source.name}: ${manifest.source.width}x${manifest.source.height}, ${manifest.source.fps} fps, ${manifest.source.durationS.toFixed(1)} s`],
  ['consent', `${manifest.consent.person} (${manifest.consent.confirmedAt})`],
  ['face: eye distance / width (median px)', `${r.medianEyeDistancePx.toFixed(0)} / ${r.medianFaceWidthPx.toFixed(0)}`],
  ['tracked / usable frames', `${(r.trackedShare * 100).toFixed(0)}% / ${(r.usableShare * 100).toFixed(0)}%`],
  ['turn (yaw, 95th percentile), brightness, sharpness', `${r.yawP95Deg.toFixed(0)}°, ${r.medianBrightness.toFixed(0)}, ${r.medianSharpness.toFixed(0)}`],
  ['base loop', `${(manifest.loop.frames / manifest.source.fps).toFixed(2)} s (frames ${manifest.loop.from}-${manifest.loop.to}, cross-fade ${manifest.loop.crossfade})`],
  ['mouth library', `${manifest.mouths.count} mouths of ${manifest.mouths.patchWidth}x${manifest.mouths.patchHeight}; coverage ${manifest.mouths.coverage.toFixed(2)}`],
  ...r.warnings.map((w): [string, string] => ['warning', w.message]),
  ...r.rejectedFrames.slice(0, 10).map((f): [string, string] => ['frames left out', `${f.from}-${f.to}: ${f.reason}`]),
];
const speech = await cloneQuality(dataDir, true, 240, id);
const live = await cloneQuality(dataDir, false, 240, id);
rows.push(
  ['seam ratio (mean / p95; 1 = no edge)', `${speech.seam.toFixed(2)} / ${speech.seamP95.toFixed(2)}`],
  ['mouth cuts elsewhere: speech (4 frames ahead) / live voice or camera', `${(speech.jumpRate * 100).toFixed(0)}% / ${(live.jumpRate * 100).toFixed(0)}%`],
  ['opening missed by (share of the widest): speech / live', `${(speech.openingError * 100).toFixed(1)}% / ${(live.openingError * 100).toFixed(1)}%`],
);
console.log(`clone ${id} (${manifest.name})`);
console.log('| measure | value |');
console.log('|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
