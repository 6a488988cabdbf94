import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import ort from 'onnxruntime-node';
import type { OnnxSignature } from './toOnnx.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly worst: number;
  readonly tolerance: number;
  readonly detail: string;
  readonly ortMs: number;
  readonly tfjsMs: number;
}

/** Loads a tfjs graph model from disk without fetch (the CPU backend, no native TensorFlow). */
async function loadTfjs(modelJsonPath: string): Promise<GraphModel> {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: object[] }[];
    signature?: object;
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
  };
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p)))));
  const artifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
    signature: json.signature,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
  return loadGraphModel({ load: async () => artifacts } as unknown as Parameters<typeof loadGraphModel>[0]);
}

/**
 * Runs the ONNX model and its tfjs source on the same deterministic input (a smooth pattern in 0..1,
 * like an image) and compares every output: |onnx − tfjs| / max(1, |tfjs|) must stay within 1e-3.
 */
export async function compareWithTfjs(modelJsonPath: string, onnxBytes: Uint8Array, signature: OnnxSignature, tolerance = 1e-3): Promise<CheckResult> {
  const [, h, w, c] = signature.input.shape as [number, number, number, number];
  const input = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) input[(y * w + x) * c + k] = 0.5 + 0.5 * Math.sin(x * 0.11 + y * 0.07 + k * 1.3) * Math.cos(y * 0.05 - x * 0.03);
  const session = await ort.InferenceSession.create(onnxBytes);
  const t0 = performance.now();
  const out = await session.run({ [signature.input.name]: new ort.Tensor('float32', input, signature.input.shape) });
  const ortMs = performance.now() - t0;
  await session.release();
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const model = await loadTfjs(modelJsonPath);
  const nodes = signature.outputs.map((o) => {
    const sig = (model.outputs.find((m) => m.name === o.name || m.name.startsWith(`${o.name}:`)) ?? null)?.name;
    return sig ?? o.name;
  });
  const t1 = performance.now();
  const x = tf.tensor4d(input, [1, h, w, c]);
  const refs = tf.tidy(() => {
    const r = model.execute(x, nodes.length === 1 ? nodes[0] : nodes) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync().slice());
  });
  const tfjsMs = performance.now() - t1;
  x.dispose();
  model.dispose();
  let worst = 0, detail = '';
  for (const [i, o] of signature.outputs.entries()) {
    const a = out[o.name]?.data as Float32Array | undefined;
    const b = refs[i];
    if (!a || !b || a.length !== b.length) return { ok: false, worst: Number.POSITIVE_INFINITY, tolerance, detail: `output ${o.name} has ${a?.length} values, tfjs ${b?.length}`, ortMs, tfjsMs };
    for (let j = 0; j < b.length; j++) {
      const e = Math.abs((a[j] as number) - (b[j] as number)) / Math.max(1, Math.abs(b[j] as number));
      if (!(e <= worst)) {
        worst = e;
        detail = `output ${o.name}[${j}] differs by ${e.toExponential(2)}`;
      }
    }
  }
  return { ok: worst <= tolerance, worst, tolerance, detail, ortMs, tfjsMs };
}
