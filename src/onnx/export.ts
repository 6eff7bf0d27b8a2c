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
// This file checks the graph and threads the current tensor through the nodes; each node kind's writer is its
// section in src/onnx/onnx-kinds.ts (the ONNX aspect of the layer registry), the QDQ helpers are src/onnx/qdq.ts.
import type { GraphNode, Int8Graph } from '../deploy/graph.js';
import { validateGraph } from '../deploy/validate.js';
import { QwasmError, describe } from '../errors.js';
import '../nn/layer-spec.js';
import { DataType, attr, encodeModel, type OnnxModel } from './onnx-proto.js';
import { Builder, checkQ, nchwPerm, showShape, type Cur, type ExportContext } from './qdq.js';
import { onnxExporters } from './onnx-kinds.js';
import './onnx-dag.js';

export interface OnnxExportOptions {
  /** Graph name and producer (metadata). */
  name?: string;
  /** Use a symbolic batch dim (default true); false fixes it to `batch`. */
  dynamicBatch?: boolean;
  batch?: number;
}

class Exporter implements ExportContext {
  readonly b = new Builder();
  /** Default-domain opset: 13 (per-axis QDQ), raised by ops that need a later one (HardSwish: 14). */
  opset = 13;

  /** Makes `cur` a [batch, features] tensor for a matmul; returns it and the NCHW → NHWC row permutation. */
  flat(cur: Cur, node: string): { cur: Cur; perm: Int32Array | null; k: number } {
    if (cur.shape.kind === 'flat') {
      if (!cur.shape.pooled4d) return { cur, perm: cur.shape.perm, k: cur.shape.k };
      const name = this.b.node('Flatten', [cur.name], `${node}.flatten`, [attr.int('axis', 1)]);
      return { cur: { ...cur, name, shape: { kind: 'flat', k: cur.shape.k, perm: null, pooled4d: false } }, perm: null, k: cur.shape.k };
    }
    const s = cur.shape, k = s.c * s.h * s.w;
    const name = this.b.node('Flatten', [cur.name], `${node}.flatten`, [attr.int('axis', 1)]);
    return { cur: { ...cur, name, shape: { kind: 'flat', k, perm: null, pooled4d: false } }, perm: nchwPerm(s), k };
  }

  /** Each node through its kind's writer in src/onnx/onnx-kinds.ts, threading the current tensor. */
  run(nodes: GraphNode[], cur: Cur): Cur {
    for (const n of nodes) {
      const base = n.name || n.kind;
      const out = checkQ(`node '${base}'.out`, n.out);
      const write = onnxExporters.get((n as { kind?: unknown }).kind as string);
      if (!write) throw new QwasmError(`cannot export a node of kind ${describe((n as { kind?: unknown }).kind)}`);
      cur = write(this, n, cur, out, base);
    }
    return cur;
  }
}


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
