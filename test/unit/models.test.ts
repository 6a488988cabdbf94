import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareWithTfjs } from '../../models/convert/check.js';
import { loadTfjsGraph } from '../../models/convert/tfjsGraph.js';
import { ConversionError, tfjsToOnnx } from '../../models/convert/toOnnx.js';
import type { ModelManifest } from '../../models/manifest.js';
import { loadModel, ModelError, readManifest } from '../../models/onnxModels.js';
import { MODEL_SOURCES, ONNX_DIR, sourcePath } from '../../models/registry.js';

test('the converted face mesh matches tfjs on the same input', async () => {
  const source = MODEL_SOURCES.find((s) => s.id === 'facemesh');
  assert.ok(source);
  const graph = loadTfjsGraph(sourcePath(source));
  const { bytes, signature } = tfjsToOnnx(graph, 'facemesh');
  assert.deepEqual(signature.input, { name: 'input_1', shape: [1, 192, 192, 3] });
  assert.deepEqual(signature.outputs.map((o) => [o.name, o.shape]), [['output_mesh', [1, 1404]], ['output_faceflag', [1, 1]], ['output_contours', [1, 266]]]);
  const check = await compareWithTfjs(sourcePath(source), bytes, signature);
  assert.ok(check.ok, check.detail);
  assert.ok(check.worst < 1e-4, `max relative error ${check.worst}`);
});

test('set-up converted every registered model and each passed its check', () => {
  const manifest = readManifest();
  for (const source of MODEL_SOURCES) {
    const entry = manifest.models.find((m) => m.id === source.id);
    assert.equal(entry?.status, 'ok', `${source.id}: ${entry?.status}`);
    assert.ok((entry?.check?.maxRelativeError ?? 1) <= 1e-3);
    assert.match(entry?.sha256 ?? '', /^[0-9a-f]{64}$/);
  }
});

test('an unsupported op is refused by name', () => {
  const graph = { nodes: [{ name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } } }, { name: 'y', op: 'Softmax', input: ['x'] }], weights: new Map(), outputs: [{ name: 'y', node: 'y' }] };
  assert.throws(() => tfjsToOnnx(graph, 'toy'), (err: Error) => err instanceof ConversionError && /op Softmax \(y\) is not supported/.test(err.message));
});

test('missing, corrupt and failed models give clear errors; cuda falls back to cpu with a log line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fenshen-models-'));
  const manifest = JSON.parse(readFileSync(join(ONNX_DIR, 'manifest.json'), 'utf8')) as ModelManifest;
  const write = (m: ModelManifest) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  write(manifest);
  await assert.rejects(loadModel('iris', { dir }), /iris.onnx is missing/);
  copyFileSync(join(ONNX_DIR, 'iris.onnx'), join(dir, 'iris.onnx'));
  const logs: string[] = [];
  const loaded = await loadModel('iris', { dir, provider: 'cuda', log: (m) => logs.push(m) });
  assert.equal(loaded.provider, 'cpu');
  assert.match(logs.join('\n'), /cuda is unavailable .*running on cpu/);
  await loaded.session.release();
  const bytes = readFileSync(join(dir, 'iris.onnx'));
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
  writeFileSync(join(dir, 'iris.onnx'), bytes);
  await assert.rejects(loadModel('iris', { dir }), /does not match its manifest/);
  // A file that matches its (edited) manifest but is not ONNX at all.
  writeFileSync(join(dir, 'iris.onnx'), 'not a model');
  const { createHash } = await import('node:crypto');
  write({ ...manifest, models: manifest.models.map((m) => (m.id === 'iris' ? { ...m, sha256: createHash('sha256').update('not a model').digest('hex') } : m)) });
  await assert.rejects(loadModel('iris', { dir }), (err: Error) => err instanceof ModelError && /cannot be loaded/.test(err.message));
  write({ ...manifest, models: manifest.models.map((m) => (m.id === 'iris' ? { ...m, status: 'failed: output differs' } : m)) });
  await assert.rejects(loadModel('iris', { dir }), /not usable \(failed: output differs\)/);
  await assert.rejects(loadModel('nope', { dir }), /not in the manifest/);
  await assert.rejects(loadModel('iris', { dir: join(dir, 'absent') }), /run npm run setup/);
});
