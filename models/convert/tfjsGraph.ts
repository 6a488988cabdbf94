import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A TensorFlow.js graph model read from its model.json and weight shards: nodes as the converter
 * wrote them and every constant decoded to float32/int32 (fp16 and uint8/uint16 quantisation undone).
 */

export interface TfjsAttr {
  readonly s?: string;
  readonly i?: string;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: string;
  readonly list?: { readonly s?: string[]; readonly i?: string[]; readonly f?: number[] };
  readonly shape?: { readonly dim?: { readonly size: string }[] };
}

export interface TfjsNode {
  readonly name: string;
  readonly op: string;
  readonly input?: string[];
  readonly attr?: Record<string, TfjsAttr>;
}

export interface TfjsTensor {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

export interface TfjsGraph {
  readonly nodes: TfjsNode[];
  readonly weights: Map<string, TfjsTensor>;
  /** Signature output names (e.g. output_mesh) → node names, when the model has a signature. */
  readonly outputs: { readonly name: string; readonly node: string }[];
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number };
}

interface ModelJson {
  modelTopology: { node: TfjsNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  signature?: { outputs?: Record<string, { name: string }> };
}

/** IEEE 754 half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function loadTfjsGraph(modelJsonPath: string): TfjsGraph {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  const dir = dirname(modelJsonPath);
  const weights = new Map<string, TfjsTensor>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    let at = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const q = spec.quantization;
      const dtype = spec.dtype === 'int32' ? 'int32' : 'float32';
      const data = dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
      if (q?.dtype === 'float16') {
        for (let i = 0; i < count; i++) data[i] = halfToFloat(bytes.readUInt16LE(at + i * 2));
        at += count * 2;
      } else if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
        const size = q.dtype === 'uint8' ? 1 : 2;
        for (let i = 0; i < count; i++) {
          const v = size === 1 ? bytes.readUInt8(at + i) : bytes.readUInt16LE(at + i * 2);
          data[i] = v * (q.scale ?? 1) + (q.min ?? 0);
        }
        at += count * size;
      } else if (spec.dtype === 'bool') {
        for (let i = 0; i < count; i++) data[i] = bytes.readUInt8(at + i);
        at += count;
      } else {
        for (let i = 0; i < count; i++) data[i] = dtype === 'int32' ? bytes.readInt32LE(at + i * 4) : bytes.readFloatLE(at + i * 4);
        at += count * 4;
      }
      weights.set(spec.name, { shape: spec.shape, dtype, data });
    }
  }
  const nodes = json.modelTopology.node;
  const signature = json.signature?.outputs;
  const outputs = signature
    ? Object.entries(signature).map(([name, o]) => ({ name, node: o.name.replace(/:0$/, '') }))
    : nodes.filter((n) => n.op === 'Identity' && !nodes.some((m) => m.input?.includes(n.name))).map((n) => ({ name: n.name, node: n.name }));
  return { nodes, weights, outputs };
}

/** Decodes a tfjs string attribute (base64 in model.json). */
export function attrString(attr: TfjsAttr | undefined): string {
  return attr?.s ? Buffer.from(attr.s, 'base64').toString('utf8') : '';
}

export function attrInts(attr: TfjsAttr | undefined): number[] {
  return (attr?.list?.i ?? []).map(Number);
}

export function attrStrings(attr: TfjsAttr | undefined): string[] {
  return (attr?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}
