/**
 * `npm run models:build`: converts every registered tfjs model to ONNX, checks each against tfjs on the
 * same input, and writes models/onnx/<id>.onnx with a manifest (source, sha256, shapes, check). A model
 * that fails its check is recorded as failed and never loaded.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareWithTfjs } from './convert/check.js';
import { loadTfjsGraph } from './convert/tfjsGraph.js';
import { tfjsToOnnx } from './convert/toOnnx.js';
import { MANIFEST_PATH, MODEL_SOURCES, ONNX_DIR, sourcePath } from './registry.js';
import { sha256, type ModelManifest, type ModelManifestEntry } from './manifest.js';

mkdirSync(ONNX_DIR, { recursive: true });
const entries: ModelManifestEntry[] = [];
for (const source of MODEL_SOURCES) {
  const path = sourcePath(source);
  const started = performance.now();
  try {
    const full = loadTfjsGraph(path);
    const graph = source.outputs ? { ...full, outputs: full.outputs.filter((o) => source.outputs?.includes(o.name)) } : full;
    const { bytes, signature } = tfjsToOnnx(graph, source.id);
    const check = await compareWithTfjs(path, bytes, signature);
    const file = `${source.id}.onnx`;
    writeFileSync(join(ONNX_DIR, file), bytes);
    entries.push({
      id: source.id,
      status: check.ok ? 'ok' : `failed: ${check.detail}`,
      file,
      sha256: sha256(bytes),
      source: { package: source.package, file: source.file, sha256: sha256(readFileSync(path)), licence: source.licence },
      purpose: source.purpose,
      input: signature.input,
      outputs: signature.outputs,
      check: { maxRelativeError: check.worst, tolerance: check.tolerance, ortMs: check.ortMs, tfjsMs: check.tfjsMs },
    });
    console.log(`${source.id}: ${check.ok ? 'ok' : 'FAILED'} (max error ${check.worst.toExponential(2)}, ${(performance.now() - started).toFixed(0)} ms)`);
  } catch (err) {
    entries.push({ id: source.id, status: `failed: ${(err as Error).message}`, file: null, sha256: null, source: { package: source.package, file: source.file, sha256: null, licence: source.licence }, purpose: source.purpose, input: null, outputs: [], check: null });
    console.log(`${source.id}: FAILED (${(err as Error).message})`);
  }
}
const manifest: ModelManifest = { format: 'fenshen-models/1', built: new Date().toISOString(), models: entries };
writeFileSync(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
