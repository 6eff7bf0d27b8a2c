// Int8Graph → ONNX (QDQ format, opset 13, or the opset a registered activation needs): the int8 model as a graph that onnxruntime (or any ONNX runtime)
// runs, with our int8 weights, int32 biases and quantisation parameters as they are.
//   input  'input': float [batch, H, W, C], NHWC and normalised exactly like the data qwasm was trained on
//          (meta.mean / meta.std are recorded in the metadata); a Transpose makes it NCHW for ONNX's Conv
//   → QuantizeLinear with the graph's input qparams, then per node:
//   conv     DQ(x) · DQ(w int8 OIHW, per-channel scales, axis 0) + DQ(bias int32, scale inScale·wScale[c]) →
//            Conv → [Relu | Clip] → Q(out)
//   linear   the same with Gemm (w int8 K×N, per-column scales, axis 1); sparse layers are written dense
//   lowrank  DQ(x)·DQ(P) → Q(mid) → DQ · DQ(Q) + DQ(bias) → Gemm → [act] → Q(out): two matmuls
//   maxpool  DQ → MaxPool → Q (same qparams); avgpool / gap: DQ → AveragePool (count_include_pad 0) /
//            GlobalAveragePool → [act] → Q(out); a 1×1 avgpool (qwasm's standalone activation) is only [act] → Q
//   residual DQ(body) + DQ(shortcut or input) → Add → [act] → Q(out)
//   lut      DQ → the activation's ONNX op (layer registry: pointwise.onnx, e.g. HardSwish, opset 14) → Q(out)
//   flatten  Flatten on the int8 tensor; ONNX flattens NCHW (c·H·W + h·W + w) where qwasm flattens NHWC, so the
//            rows of the linear that reads the features are permuted to match (no runtime cost)
//   output 'logits': DequantizeLinear of the last node → float [batch, classes].
// The fused ReLU / ReLU6 clamp of a node ([qmin, qmax]) becomes Relu (qmin = zero point, qmax = 127) or
// Clip((qmin − zp)·s, (qmax − zp)·s) before the QuantizeLinear; onnxruntime fuses DQ → op → Q groups into its
// int8 kernels. Requantisation there divides by the output scale where ours multiplies by a precomputed f32
// ratio, so an activation can differ by one step at exact rounding ties: predictions agree almost always
// (test/onnx.test.js measures it).
import type { GraphNode, Int8Graph, QParams } from '../deploy/graph.js';
import { validateGraph } from '../deploy/validate.js';
import { QwasmError, describe } from '../errors.js';
import { layerKind } from '../nn/registry.js';
import '../nn/layer-spec.js';
import { DataType, attr, encodeModel, type OnnxNode, type OnnxTensor, type OnnxModel } from './onnx-proto.js';

type Shape = { kind: 'map'; c: number; h: number; w: number } | { kind: 'flat'; k: number; perm: Int32Array | null; pooled4d: boolean };
interface Cur { name: string; q: QParams; shape: Shape }

export interface OnnxExportOptions {
  /** Graph name and producer (metadata). */
  name?: string;
  /** Use a symbolic batch dim (default true); false fixes it to `batch`. */
  dynamicBatch?: boolean;
  batch?: number;
}

class Builder {
  nodes: OnnxNode[] = [];
  inits: OnnxTensor[] = [];
  private ids = new Map<string, number>();

  id(base: string): string {
    const k = base.replace(/[^A-Za-z0-9_.]/g, '_');
    const n = this.ids.get(k) ?? 0;
    this.ids.set(k, n + 1);
    return n ? `${k}_${n}` : k;
  }

  init(base: string, dataType: number, dims: number[], data: ArrayLike<number>): string {
    const name = this.id(base);
    this.inits.push({ name, dataType, dims, data: Array.isArray(data) ? data : Array.from(data) });
    return name;
  }

  node(opType: string, inputs: string[], base: string, attributes = [] as OnnxNode['attributes']): string {
    const out = this.id(base);
    this.nodes.push({ name: out, opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  }

  scalarQ(base: string, q: QParams): [string, string] {
    return [this.init(`${base}.scale`, DataType.FLOAT, [], [q.scale]), this.init(`${base}.zero_point`, DataType.INT8, [], [q.zeroPoint])];
  }

  quantize(x: string, q: QParams, base: string): string {
    const [s, z] = this.scalarQ(base, q);
    return this.node('QuantizeLinear', [x, s, z], `${base}.q`);
  }

  dequantize(x: string, q: QParams, base: string): string {
    const [s, z] = this.scalarQ(`${base}.in`, q);
    return this.node('DequantizeLinear', [x, s, z], `${base}.dq`);
  }

  /** Per-channel int8 weights (zero points 0) along `axis`, dequantised. */
  weight(base: string, dims: number[], data: Int8Array, scales: Float32Array, axis: number): string {
    const w = this.init(`${base}.weight_q`, DataType.INT8, dims, data);
    const s = this.init(`${base}.weight_scale`, DataType.FLOAT, [scales.length], scales);
    const z = this.init(`${base}.weight_zero_point`, DataType.INT8, [scales.length], new Int8Array(scales.length));
    return this.node('DequantizeLinear', [w, s, z], `${base}.weight`, [attr.int('axis', axis)]);
  }

  /** int32 bias in units inScale·wScale[c], dequantised with exactly those scales. */
  bias(base: string, bias: Int32Array, inScale: number, wScale: Float32Array): string {
    const b = this.init(`${base}.bias_q`, DataType.INT32, [bias.length], bias);
    const s = this.init(`${base}.bias_scale`, DataType.FLOAT, [bias.length], Float32Array.from(wScale, (v) => Math.fround(inScale * v)));
    const z = this.init(`${base}.bias_zero_point`, DataType.INT32, [bias.length], new Int32Array(bias.length));
    return this.node('DequantizeLinear', [b, s, z], `${base}.bias`, [attr.int('axis', 0)]);
  }

  /** The fused clamp [qmin, qmax] (int8 codes around zero point zp) as Relu / Clip on the float value. */
  activation(x: string, q: QParams, qmin: number, qmax: number, base: string): string {
    const zp = q.zeroPoint;
    if (qmin <= -128 && qmax >= 127) return x;
    if (qmin === zp && qmax >= 127) return this.node('Relu', [x], `${base}.relu`);
    const lo = qmin <= -128 ? '' : this.init(`${base}.clip_min`, DataType.FLOAT, [], [(qmin - zp) * q.scale]);
    const hi = qmax >= 127 ? '' : this.init(`${base}.clip_max`, DataType.FLOAT, [], [(qmax - zp) * q.scale]);
    return this.node('Clip', [x, lo, hi], `${base}.clip`);
  }
}

function checkQ(where: string, q: QParams): QParams {
  if (!q || typeof q !== 'object' || !(q.scale > 0) || !Number.isFinite(q.scale) || !Number.isInteger(q.zeroPoint) || q.zeroPoint < -128 || q.zeroPoint > 127) {
    throw new QwasmError(`${where}: quantisation parameters must be { scale > 0, zeroPoint in [-128, 127] }, got ${JSON.stringify(q)}`);
  }
  return q;
}

class Exporter {
  readonly b = new Builder();
  /** Default-domain opset: 13 (per-axis QDQ), raised by ops that need a later one (HardSwish: 14). */
  opset = 13;

  /** Makes `cur` a [batch, features] tensor for a matmul; returns it and the NCHW → NHWC row permutation. */
  private flat(cur: Cur, node: string): { cur: Cur; perm: Int32Array | null; k: number } {
    if (cur.shape.kind === 'flat') {
      if (!cur.shape.pooled4d) return { cur, perm: cur.shape.perm, k: cur.shape.k };
      const name = this.b.node('Flatten', [cur.name], `${node}.flatten`, [attr.int('axis', 1)]);
      return { cur: { ...cur, name, shape: { kind: 'flat', k: cur.shape.k, perm: null, pooled4d: false } }, perm: null, k: cur.shape.k };
    }
    const s = cur.shape, k = s.c * s.h * s.w;
    const name = this.b.node('Flatten', [cur.name], `${node}.flatten`, [attr.int('axis', 1)]);
    return { cur: { ...cur, name, shape: { kind: 'flat', k, perm: null, pooled4d: false } }, perm: nchwPerm(s), k };
  }

  // Long (~105 lines): one switch over int8 node kinds, each case a few lines of DQ → op → Q; the cases share
  // the running `cur` (name, qparams, shape).
  run(nodes: GraphNode[], cur: Cur): Cur {
    const b = this.b;
    for (const n of nodes) {
      const base = n.name || n.kind;
      const out = checkQ(`node '${base}'.out`, n.out);
      switch (n.kind) {
        case 'conv': {
          if (cur.shape.kind !== 'map') throw new QwasmError(`conv '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
          const s = cur.shape;
          if (s.c !== n.cg * n.groups) throw new QwasmError(`conv '${base}': ${n.cg}×${n.groups} input channels expected, the input has ${s.c}`);
          const oihw = new Int8Array(n.w.length);
          for (let o = 0; o < n.oc; o++) for (let i = 0; i < n.kh; i++) for (let j = 0; j < n.kw; j++) for (let c = 0; c < n.cg; c++) {
            oihw[((o * n.cg + c) * n.kh + i) * n.kw + j] = n.w[((o * n.kh + i) * n.kw + j) * n.cg + c];
          }
          const x = b.dequantize(cur.name, cur.q, base);
          const w = b.weight(base, [n.oc, n.cg, n.kh, n.kw], oihw, n.wScale, 0);
          const bias = b.bias(base, n.bias, cur.q.scale, n.wScale);
          const [t, l, bo, r] = n.padding;
          const y = b.node('Conv', [x, w, bias], `${base}.conv`, [
            attr.ints('kernel_shape', [n.kh, n.kw]), attr.ints('strides', n.stride), attr.ints('dilations', n.dilation),
            attr.ints('pads', [t, l, bo, r]), attr.int('group', n.groups),
          ]);
          const a = b.activation(y, out, n.rq.qmin, n.rq.qmax, base);
          const oh = Math.floor((s.h + t + bo - (n.dilation[0] * (n.kh - 1) + 1)) / n.stride[0]) + 1;
          const ow = Math.floor((s.w + l + r - (n.dilation[1] * (n.kw - 1) + 1)) / n.stride[1]) + 1;
          if (oh < 1 || ow < 1) throw new QwasmError(`conv '${base}': output would be ${oh}×${ow} for a ${s.h}×${s.w} input`);
          cur = { name: b.quantize(a, out, base), q: out, shape: { kind: 'map', c: n.oc, h: oh, w: ow } };
          break;
        }
        case 'linear': case 'lowrank': {
          const f = this.flat(cur, base);
          if (f.k !== n.k) throw new QwasmError(`${n.kind} '${base}' expects ${n.k} input features, the input has ${f.k}`);
          const x = b.dequantize(f.cur.name, cur.q, base);
          let y: string;
          if (n.kind === 'linear') {
            const w = b.weight(base, [n.k, n.n], permuteRows(n.w, n.k, n.n, f.perm), n.wScale, 1);
            y = b.node('Gemm', [x, w, b.bias(base, n.bias, cur.q.scale, n.wScale)], `${base}.gemm`);
          } else {
            const mid = checkQ(`node '${base}'.mid`, n.mid);
            const p = b.weight(`${base}.p`, [n.k, n.r], permuteRows(n.p, n.k, n.r, f.perm), n.pScale, 1);
            const t = b.node('MatMul', [x, p], `${base}.p.matmul`);
            const tq = b.quantize(b.activation(t, mid, n.midRq.qmin, n.midRq.qmax, `${base}.mid`), mid, `${base}.mid`);
            const td = b.dequantize(tq, mid, `${base}.mid`);
            const qw = b.weight(`${base}.q`, [n.r, n.n], n.q, n.qScale, 1);
            y = b.node('Gemm', [td, qw, b.bias(`${base}.q`, n.bias, mid.scale, n.qScale)], `${base}.q.gemm`);
          }
          const a = b.activation(y, out, n.rq.qmin, n.rq.qmax, base);
          cur = { name: b.quantize(a, out, base), q: out, shape: { kind: 'flat', k: n.n, perm: null, pooled4d: false } };
          break;
        }
        case 'maxpool': case 'avgpool': {
          const one = n.kh === 1 && n.kw === 1 && n.stride[0] === 1 && n.stride[1] === 1 && n.padding.every((p) => p === 0);
          if (n.kind === 'maxpool' && one) { cur = { ...cur, q: out }; break; }
          if (n.kind === 'maxpool' && (out.scale !== cur.q.scale || out.zeroPoint !== cur.q.zeroPoint)) {
            throw new QwasmError(`maxpool '${base}' changes the quantisation (${JSON.stringify(cur.q)} → ${JSON.stringify(out)}); int8 max pooling keeps it`);
          }
          const x = b.dequantize(cur.name, cur.q, base);
          let y = x, shape = cur.shape;
          if (!one) {
            if (cur.shape.kind !== 'map') throw new QwasmError(`${n.kind} '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
            const s = cur.shape, [t, l, bo, r] = n.padding;
            const attrs = [attr.ints('kernel_shape', [n.kh, n.kw]), attr.ints('strides', n.stride), attr.ints('pads', [t, l, bo, r])];
            if (n.kind === 'avgpool') attrs.push(attr.int('count_include_pad', 0));
            y = b.node(n.kind === 'maxpool' ? 'MaxPool' : 'AveragePool', [x], `${base}.pool`, attrs);
            shape = { kind: 'map', c: s.c, h: Math.floor((s.h + t + bo - n.kh) / n.stride[0]) + 1, w: Math.floor((s.w + l + r - n.kw) / n.stride[1]) + 1 };
          }
          const a = n.kind === 'avgpool' ? b.activation(y, out, n.qmin, n.qmax, base) : y;
          cur = { name: b.quantize(a, out, base), q: out, shape };
          break;
        }
        case 'gap': {
          if (cur.shape.kind !== 'map') throw new QwasmError(`gap '${base}' needs a feature map input, got [batch, ${cur.shape.k}]`);
          const y = b.node('GlobalAveragePool', [b.dequantize(cur.name, cur.q, base)], `${base}.gap`);
          const a = b.activation(y, out, n.qmin, n.qmax, base);
          cur = { name: b.quantize(a, out, base), q: out, shape: { kind: 'flat', k: cur.shape.c, perm: null, pooled4d: true } };
          break;
        }
        case 'flatten': {
          const f = this.flat(cur, base);
          cur = { ...f.cur, shape: { kind: 'flat', k: f.k, perm: f.perm, pooled4d: false } };
          break;
        }
        case 'lut': {
          // an element-wise activation: its registered ONNX op between DQ and Q (a runtime may fuse it back into a table)
          const onnx = layerKind(n.op)?.pointwise?.onnx;
          if (!onnx) throw new QwasmError(`lut '${base}': the function '${n.op}' has no ONNX op (its layer kind registers none)`);
          this.opset = Math.max(this.opset, onnx.opset);
          const y = b.node(onnx.op, [b.dequantize(cur.name, cur.q, base)], `${base}.${onnx.op.toLowerCase()}`);
          cur = { name: b.quantize(y, out, base), q: out, shape: cur.shape };
          break;
        }
        case 'residual': {
          const a = this.run(n.body, cur);
          const s = n.shortcut ? this.run(n.shortcut, cur) : cur;
          if (!sameShape(a.shape, s.shape)) throw new QwasmError(`residual '${base}': body ${showShape(a.shape)} and shortcut ${showShape(s.shape)} differ`);
          const y = b.node('Add', [b.dequantize(a.name, a.q, `${base}.body`), b.dequantize(s.name, s.q, `${base}.shortcut`)], `${base}.add`);
          const act = b.activation(y, out, n.qmin, n.qmax, base);
          cur = { name: b.quantize(act, out, base), q: out, shape: a.shape };
          break;
        }
        default:
          throw new QwasmError(`cannot export a node of kind ${describe((n as { kind?: unknown }).kind)}`);
      }
    }
    return cur;
  }
}

/** perm[i] = the NCHW flatten index of NHWC flatten position i. */
function nchwPerm(s: { c: number; h: number; w: number }): Int32Array | null {
  if (s.h * s.w === 1 || s.c === 1) return null;
  const p = new Int32Array(s.c * s.h * s.w);
  for (let h = 0; h < s.h; h++) for (let w = 0; w < s.w; w++) for (let c = 0; c < s.c; c++) p[(h * s.w + w) * s.c + c] = (c * s.h + h) * s.w + w;
  return p;
}

/** Rows of a K×N matrix in NHWC feature order → NCHW order: out[perm[i]] = w[i]. */
function permuteRows(w: Int8Array, k: number, n: number, perm: Int32Array | null): Int8Array {
  if (!perm) return w;
  const out = new Int8Array(k * n);
  for (let i = 0; i < k; i++) out.set(w.subarray(i * n, (i + 1) * n), perm[i] * n);
  return out;
}

function sameShape(a: Shape, b: Shape): boolean {
  if (a.kind === 'map' && b.kind === 'map') return a.c === b.c && a.h === b.h && a.w === b.w;
  if (a.kind === 'flat' && b.kind === 'flat') return a.k === b.k && a.pooled4d === b.pooled4d && (!a.perm && !b.perm || (!!a.perm && !!b.perm && a.perm.every((p, i) => p === b.perm![i])));
  return false;
}

function showShape(s: Shape): string { return s.kind === 'map' ? `[batch, ${s.c}, ${s.h}, ${s.w}]` : `[batch, ${s.k}]`; }

/**
 * The ONNX model (QDQ, opset 13) of an int8 graph: see the file header. Input 'input' float NHWC
 * [batch, h, w, c] (normalised as in training), output 'logits' float [batch, classes].
 */
export function int8GraphToOnnx(graph: Int8Graph, opts: OnnxExportOptions = {}): Uint8Array {
  if (!graph || typeof graph !== 'object' || !Array.isArray(graph.nodes)) throw new TypeError(`graph must be an Int8Graph, got ${describe(graph)}`);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  // every field and the activation shapes, with errors naming the node (what Int8Model.fromGraph checks too)
  validateGraph(graph, { what: 'int8GraphToOnnx' });
  const shape = graph.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new QwasmError(`graph.inputShape must be [h, w, c] positive integers, got ${describe(shape)}: convert with opts.inputShape`);
  }
  const [h, w, c] = shape;
  const batch: number | string = opts.dynamicBatch === false ? (opts.batch ?? 1) : 'batch';
  const inQ = checkQ('graph.input', graph.input);
  const ex = new Exporter(), b = ex.b;
  const nchw = b.node('Transpose', ['input'], 'input.nchw', [attr.ints('perm', [0, 3, 1, 2])]);
  const first: Cur = { name: b.quantize(nchw, inQ, 'input'), q: inQ, shape: { kind: 'map', c, h, w } };
  let last = ex.run(graph.nodes, first);
  const end = last.shape;
  if (end.kind === 'map') throw new QwasmError(`the graph ends in a feature map ${showShape(end)}; a classifier ends in [batch, classes]`);
  if (end.pooled4d) last = { ...last, name: b.node('Flatten', [last.name], 'output.flatten', [attr.int('axis', 1)]) };
  if (end.perm) throw new QwasmError('the graph ends in flattened feature-map features, whose NHWC order ONNX cannot reproduce without a Transpose');
  if (end.k !== graph.classes) throw new QwasmError(`the graph's last node gives ${end.k} outputs, graph.classes is ${graph.classes}`);
  const [s, z] = b.scalarQ('output', checkQ('graph.output', last.q));
  b.nodes.push({ name: 'output.dq', opType: 'DequantizeLinear', domain: '', inputs: [last.name, s, z], outputs: ['logits'], attributes: [] });
  const model: OnnxModel = {
    irVersion: 8, opsets: [{ domain: '', version: ex.opset }], producerName: 'qwasm', producerVersion: '1',
    docString: 'int8 model exported by qwasm (QDQ): input NHWC float, normalised as in training; output logits',
    graph: {
      name: opts.name ?? 'qwasm_int8', nodes: b.nodes, initializers: b.inits,
      inputs: [{ name: 'input', elemType: DataType.FLOAT, dims: [batch, h, w, c] }],
      outputs: [{ name: 'logits', elemType: DataType.FLOAT, dims: [batch, graph.classes] }],
      valueInfo: [],
    },
    metadata: { layout: 'NHWC', qwasm_meta: JSON.stringify(graph.meta ?? {}) },
  };
  return encodeModel(model);
}
