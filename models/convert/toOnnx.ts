import onnxProto from 'onnx-proto';
import { attrInts, attrString, attrStrings, type TfjsGraph, type TfjsNode, type TfjsTensor } from './tfjsGraph.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttr = onnxProto.onnx.IAttributeProto;

/** A converted model's interface, for the manifest. */
export interface OnnxSignature {
  readonly input: { readonly name: string; readonly shape: number[] };
  readonly outputs: { readonly name: string; readonly shape: number[] }[];
}

/** Graph conversion failed: an op or a pattern this converter does not handle. */
export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

/** A value in the ONNX graph: 4-D activations are kept NCHW (`nchw`), everything else as TF had it. */
interface Value {
  readonly name: string;
  readonly shape: number[];
  readonly nchw: boolean;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function ints(name: string, values: number[]): IAttr {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
function int(name: string, value: number): IAttr {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
function str(name: string, value: string): IAttr {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(value) };
}

/**
 * TF's SAME padding as explicit ONNX pads [top, left, bottom, right] (the extra pixel at the end), which
 * ORT's optimisers handle better than auto_pad; VALID is no padding; anything else (EXPLICIT) is refused.
 */
function samePads(nchw: number[], k: [number, number], s: [number, number], d: [number, number], padding: string, where: string): number[] {
  if (padding === 'VALID') return [0, 0, 0, 0];
  if (padding !== 'SAME') throw new ConversionError(`${where}: padding ${padding} is not supported`);
  const pad = (size: number, i: 0 | 1) => Math.max(0, (Math.ceil(size / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size);
  const ph = pad(nchw[2] as number, 0), pw = pad(nchw[3] as number, 1);
  return [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)];
}

/**
 * tfjs graph model → ONNX (opset 13), for the MediaPipe-style conv nets this project runs: fused
 * conv/depthwise conv with bias and PReLU/ReLU/ReLU6, add, pad, max pool, bilinear resize, concat,
 * reshape, sigmoid. TF computes in NHWC; the ONNX graph transposes the input once to NCHW, converts
 * weights (HWIO → OIHW, depthwise [kh,kw,C,M] → [C·M,1,kh,kw] with group C) and transposes back
 * before any reshape and at 4-D outputs. Batch is fixed to 1 so every shape is static.
 */
export function tfjsToOnnx(graph: TfjsGraph, modelName: string): { bytes: Uint8Array; signature: OnnxSignature } {
  const nodes: INode[] = [];
  const initializers: ITensor[] = [];
  const values = new Map<string, Value>();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;

  const addInit = (name: string, dims: number[], data: Float32Array | BigInt64Array): string => {
    const isInt = data instanceof BigInt64Array;
    initializers.push({ name, dims, dataType: isInt ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const constOf = (input: string): TfjsTensor => {
    const name = input.replace(/:\d+$/, '');
    const w = graph.weights.get(name);
    if (!w) throw new ConversionError(`${modelName}: ${name} is not a constant`);
    return w;
  };
  const valueOf = (input: string): Value => {
    const name = input.replace(/:0$/, '');
    const v = values.get(name);
    if (v) return v;
    const w = graph.weights.get(name);
    if (!w) throw new ConversionError(`${modelName}: input ${input} is not produced by any converted node`);
    // A constant used as data (e.g. an Add operand): laid out for NCHW broadcasting.
    const data = Float32Array.from(w.data as ArrayLike<number>);
    const c = w.shape.at(-1) ?? 1;
    const isChannelVector = w.shape.length >= 1 && data.length === c && c > 1;
    const dims = isChannelVector ? [1, c, 1, 1] : w.shape;
    return { name: addInit(fresh(name), dims, data), shape: dims, nchw: isChannelVector };
  };
  const emit = (opType: string, inputs: string[], attribute: IAttr[] = [], base = opType): string => {
    const out = fresh(base);
    nodes.push({ opType, input: inputs, output: [out], name: out, attribute });
    return out;
  };
  const toNhwc = (v: Value): Value => (v.nchw ? { name: emit('Transpose', [v.name], [ints('perm', NCHW_TO_NHWC)]), shape: NCHW_TO_NHWC.map((i) => v.shape[i] as number), nchw: false } : v);

  const activation = (x: string, op: string | undefined, alphaInput: string | undefined, channels: number): string => {
    switch (op) {
      case undefined:
        return x;
      case 'Relu':
        return emit('Relu', [x]);
      case 'Relu6':
        return emit('Clip', [x, addInit(fresh('zero'), [], new Float32Array([0])), addInit(fresh('six'), [], new Float32Array([6]))]);
      case 'Prelu': {
        if (!alphaInput) throw new ConversionError(`${modelName}: PReLU without alpha`);
        const alpha = constOf(alphaInput);
        return emit('PRelu', [x, addInit(fresh('alpha'), [channels, 1, 1], Float32Array.from(alpha.data as ArrayLike<number>))]);
      }
      default:
        throw new ConversionError(`${modelName}: fused activation ${op} is not supported`);
    }
  };

  const spatial = (inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number], padding: string): [number, number] => {
    if (padding === 'SAME') return [Math.ceil(inH / s[0]), Math.ceil(inW / s[1])];
    return [Math.ceil((inH - (k[0] - 1) * d[0]) / s[0]), Math.ceil((inW - (k[1] - 1) * d[1]) / s[1])];
  };

  const convert = (node: TfjsNode): void => {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const attr = node.attr ?? {};
    const set = (name: string, shape: number[], nchw: boolean) => values.set(node.name, { name, shape, nchw });
    switch (node.op) {
      case 'Const':
        return;
      case 'Placeholder': {
        const dims = (attr.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4) throw new ConversionError(`${modelName}: input ${node.name} is not 4-D NHWC`);
        const nhwc = [1, dims[1] as number, dims[2] as number, dims[3] as number];
        values.set(`input:${node.name}`, { name: node.name, shape: nhwc, nchw: false });
        set(emit('Transpose', [node.name], [ints('perm', NHWC_TO_NCHW)]), NHWC_TO_NCHW.map((i) => nhwc[i] as number), true);
        return;
      }
      case '_FusedConv2D':
      case 'Conv2D':
      case 'FusedDepthwiseConv2dNative':
      case 'DepthwiseConv2dNative': {
        const x = valueOf(inputs[0] as string);
        if (!x.nchw) throw new ConversionError(`${modelName}: ${node.name} takes a non-image input`);
        const filter = constOf(inputs[1] as string);
        const [kh, kw, cin, cm] = filter.shape as [number, number, number, number];
        const depthwise = node.op.includes('Depthwise');
        const cout = depthwise ? cin * cm : cm;
        const w = new Float32Array(filter.data.length);
        const f = filter.data;
        for (let h = 0; h < kh; h++) {
          for (let x2 = 0; x2 < kw; x2++) {
            for (let c = 0; c < cin; c++) {
              for (let m = 0; m < cm; m++) {
                const src = ((h * kw + x2) * cin + c) * cm + m;
                // Regular: OIHW with O = m, I = c. Depthwise: [C·M, 1, kh, kw] with O = c·M + m.
                const dst = depthwise ? ((c * cm + m) * kh + h) * kw + x2 : ((m * cin + c) * kh + h) * kw + x2;
                w[dst] = f[src] as number;
              }
            }
          }
        }
        const fused = attrStrings(attr.fused_ops);
        const strides = attrInts(attr.strides);
        const dilations = attrInts(attr.dilations);
        const s: [number, number] = [strides[1] ?? 1, strides[2] ?? 1];
        const d: [number, number] = [dilations[1] ?? 1, dilations[2] ?? 1];
        const padding = attrString(attr.padding);
        const convInputs = [x.name, addInit(fresh(`${node.name}/W`), depthwise ? [cout, 1, kh, kw] : [cout, cin, kh, kw], w)];
        if (fused.includes('BiasAdd')) convInputs.push(addInit(fresh(`${node.name}/B`), [cout], Float32Array.from(constOf(inputs[2] as string).data as ArrayLike<number>)));
        const conv = emit('Conv', convInputs, [
          ints('kernel_shape', [kh, kw]), ints('strides', s), ints('dilations', d), ints('pads', samePads(x.shape, [kh, kw], s, d, padding, `${modelName}: ${node.name}`)), int('group', depthwise ? cin : 1),
        ]);
        const act = fused.find((op) => op !== 'BiasAdd');
        const out = activation(conv, act, act === 'Prelu' ? inputs[3] : undefined, cout);
        const [oh, ow] = spatial(x.shape[2] as number, x.shape[3] as number, [kh, kw], s, d, padding);
        set(out, [1, cout, oh, ow], true);
        return;
      }
      case 'AddV2':
      case 'Add':
      case 'Mul':
      case 'Sub': {
        const a = valueOf(inputs[0] as string), b = valueOf(inputs[1] as string);
        // Broadcast, right-aligned: a squeeze-excitation gate [1, C, 1, 1] times [1, C, H, W] is [1, C, H, W].
        const rank = Math.max(a.shape.length, b.shape.length);
        const dim = (v: Value, i: number) => (v.shape[v.shape.length - rank + i] ?? 1) as number;
        const shape = Array.from({ length: rank }, (_, i) => Math.max(dim(a, i), dim(b, i)));
        const opType = node.op === 'AddV2' ? 'Add' : node.op;
        set(emit(opType, [a.name, b.name]), shape, a.nchw || b.nchw);
        return;
      }
      case 'Prelu': {
        const x = valueOf(inputs[0] as string);
        set(activation(x.name, 'Prelu', inputs[1], x.shape[1] as number), x.shape, x.nchw);
        return;
      }
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Identity': {
        const x = valueOf(inputs[0] as string);
        const out = node.op === 'Sigmoid' ? emit('Sigmoid', [x.name]) : node.op === 'Identity' ? x.name : activation(x.name, node.op, undefined, 0);
        set(out, x.shape, x.nchw);
        return;
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = valueOf(inputs[0] as string);
        const k = attrInts(attr.ksize), st = attrInts(attr.strides);
        const padding = attrString(attr.padding);
        const kk: [number, number] = [k[1] ?? 1, k[2] ?? 1], ss: [number, number] = [st[1] ?? 1, st[2] ?? 1];
        const poolAttrs = [ints('kernel_shape', kk), ints('strides', ss), ints('pads', samePads(x.shape, kk, ss, [1, 1], padding, `${modelName}: ${node.name}`))];
        // TF averages over the pixels inside the picture only: ONNX's count_include_pad = 0.
        const out = node.op === 'MaxPool' ? emit('MaxPool', [x.name], poolAttrs) : emit('AveragePool', [x.name], [...poolAttrs, int('count_include_pad', 0)]);
        const [oh, ow] = spatial(x.shape[2] as number, x.shape[3] as number, kk, ss, [1, 1], padding);
        set(out, [1, x.shape[1] as number, oh, ow], true);
        return;
      }
      case 'Pad': {
        const x = valueOf(inputs[0] as string);
        const p = Array.from(constOf(inputs[1] as string).data);
        if (!x.nchw || p.length !== 8) throw new ConversionError(`${modelName}: ${node.name} pads a non-image tensor`);
        // TF [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] → ONNX [n0,c0,h0,w0, n1,c1,h1,w1].
        const [n0, n1, h0, h1, w0, w1, c0, c1] = p as [number, number, number, number, number, number, number, number];
        const pads = addInit(fresh('pads'), [8], BigInt64Array.from([n0, c0, h0, w0, n1, c1, h1, w1].map(BigInt)));
        const shape = [1, (x.shape[1] as number) + c0 + c1, (x.shape[2] as number) + h0 + h1, (x.shape[3] as number) + w0 + w1];
        set(emit('Pad', [x.name, pads], [str('mode', 'constant')]), shape, true);
        return;
      }
      case 'AddN': {
        const parts = inputs.map(valueOf);
        const first = parts[0] as Value;
        set(emit('Sum', parts.map((p) => p.name)), first.shape, parts.every((p) => p.nchw));
        return;
      }
      case 'Conv2DBackpropInput': {
        // A transposed convolution (upsampling): inputs are the output's NHWC shape, the filter [kh, kw, out, in], the image.
        const outShape = Array.from(constOf(inputs[0] as string).data) as number[];
        const filter = constOf(inputs[1] as string);
        const x = valueOf(inputs[2] as string);
        if (!x.nchw) throw new ConversionError(`${modelName}: ${node.name} takes a non-image input`);
        const [kh, kw, cout, cin] = filter.shape as [number, number, number, number];
        // ONNX ConvTranspose weights: [in, out, kh, kw].
        const w = new Float32Array(filter.data.length);
        for (let h = 0; h < kh; h++) for (let x2 = 0; x2 < kw; x2++) for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) {
          w[((i * cout + o) * kh + h) * kw + x2] = filter.data[((h * kw + x2) * cout + o) * cin + i] as number;
        }
        const strides = attrInts(attr.strides);
        const s2: [number, number] = [strides[1] ?? 1, strides[2] ?? 1];
        const [oh, ow] = [outShape[1] as number, outShape[2] as number];
        // Pads that give exactly TF's output size, the smaller half at the start (as TF's SAME does).
        const total = (inSize: number, k: number, st: number, out: number) => st * (inSize - 1) + k - out;
        const th = total(x.shape[2] as number, kh, s2[0], oh), tw = total(x.shape[3] as number, kw, s2[1], ow);
        if (th < 0 || tw < 0) throw new ConversionError(`${modelName}: ${node.name}: output larger than a transposed convolution makes`);
        const pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
        const out = emit('ConvTranspose', [x.name, addInit(fresh(`${node.name}/W`), [cin, cout, kh, kw], w)], [ints('kernel_shape', [kh, kw]), ints('strides', s2), ints('pads', pads)]);
        set(out, [1, cout, oh, ow], true);
        return;
      }
      case 'ResizeBilinear': {
        const x = valueOf(inputs[0] as string);
        const size = Array.from(constOf(inputs[1] as string).data);
        const mode = attr.align_corners?.b ? 'align_corners' : attr.half_pixel_centers?.b ? 'half_pixel' : 'asymmetric';
        const sizes = addInit(fresh('sizes'), [4], BigInt64Array.from([1, x.shape[1] as number, size[0] as number, size[1] as number].map(BigInt)));
        const out = emit('Resize', [x.name, '', '', sizes], [str('mode', 'linear'), str('coordinate_transformation_mode', mode)]);
        set(out, [1, x.shape[1] as number, size[0] as number, size[1] as number], true);
        return;
      }
      case 'ConcatV2': {
        const parts = inputs.slice(0, -1).map(valueOf);
        const axis = Number(constOf(inputs.at(-1) as string).data[0]);
        const allNchw = parts.every((p) => p.nchw);
        const rank = parts[0]?.shape.length ?? 4;
        const a = axis < 0 ? axis + rank : axis;
        const onnxAxis = allNchw ? ([0, 2, 3, 1][a] as number) : a;
        const ready = allNchw ? parts : parts.map(toNhwc);
        const shape = [...(ready[0] as Value).shape];
        shape[onnxAxis] = ready.reduce((sum, p) => sum + (p.shape[onnxAxis] as number), 0);
        set(emit('Concat', ready.map((p) => p.name), [int('axis', onnxAxis)]), shape, allNchw);
        return;
      }
      case 'Reshape': {
        const x = toNhwc(valueOf(inputs[0] as string));
        const target = Array.from(constOf(inputs[1] as string).data).map((v, i) => (i === 0 && v === -1 ? 1 : v));
        const count = x.shape.reduce((p, q) => p * q, 1);
        const known = target.filter((v) => v !== -1).reduce((p, q) => p * q, 1);
        const shape = target.map((v) => (v === -1 ? count / known : v));
        const out = emit('Reshape', [x.name, addInit(fresh('shape'), [shape.length], BigInt64Array.from(shape.map(BigInt)))]);
        set(out, shape, false);
        return;
      }
      default:
        throw new ConversionError(`${modelName}: op ${node.op} (${node.name}) is not supported`);
    }
  };

  // Topological order: tfjs lists nodes in a valid order already, but be safe about it.
  const done = new Set<string>();
  const visit = (node: TfjsNode, depth = 0): void => {
    if (done.has(node.name)) return;
    if (depth > 10_000) throw new ConversionError(`${modelName}: graph too deep or cyclic`);
    for (const input of node.input ?? []) {
      const dep = byName.get(input.replace(/^\^/, '').replace(/:\d+$/, ''));
      if (dep) visit(dep, depth + 1);
    }
    done.add(node.name);
    convert(node);
  };
  // Only what the kept outputs need: unused heads (e.g. pose segmentation) cost time at every run.
  for (const o of graph.outputs) {
    const node = byName.get(o.node);
    if (!node) throw new ConversionError(`${modelName}: output node ${o.node} is missing`);
    visit(node);
  }

  const inputEntry = [...values.entries()].find(([k]) => k.startsWith('input:'));
  if (!inputEntry) throw new ConversionError(`${modelName}: no input`);
  const input = inputEntry[1];
  const outputs = graph.outputs.map((o) => {
    const v = values.get(o.node);
    if (!v) throw new ConversionError(`${modelName}: output ${o.node} was not converted`);
    const nhwc = toNhwc(v);
    nodes.push({ opType: 'Identity', input: [nhwc.name], output: [o.name], name: `${o.name}__out` });
    return { name: o.name, shape: nhwc.shape };
  });
  const valueInfo = (name: string, shape: number[]) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'fenshen tfjs-to-onnx',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: modelName,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(input.name, input.shape)],
      output: outputs.map((o) => valueInfo(o.name, o.shape)),
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), signature: { input: { name: input.name, shape: input.shape }, outputs } };
}
