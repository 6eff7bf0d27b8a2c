// The int8 graph: the plain-data form of a converted model (no kernel handles, no WASM pointers).
// It is what every deployment path shares:
//   convertToInt8 (src/deploy/int8-model.ts) builds it from a QAT model, Int8Model.fromGraph runs it on our
//   kernels, src/deploy/qwm.ts writes / reads it as a .qwm file, the pure-WASM runner (assembly/qwm_run.ts)
//   executes the same bytes without JS, and src/onnx/export.ts turns it into an ONNX model.
// Quantisation is the TFLite int8 scheme: int8 weights in [-127, 127] with zero point 0 and one scale per output
// channel, int8 activations per tensor (scale, zero point), int32 biases in accumulator units
// (bias / (inScale · wScale[c])). Every requantisation is the one rule of assembly/requant.ts:
//   y = clamp(rne(f32(acc) · mult[c]), qmin − outZp, qmax − outZp) + outZp,   mult[c] = f32(inScale·wScale[c]/outScale)
// Layouts: activations NHWC; conv weights OHWI [oc][kh][kw][cg]; linear weights K×N row-major (in × out).
import type { QParams } from '../quant/fakequant.js';

export type { QParams };

/** The requantisation of an accumulator row onto an int8 output (one multiplier per output channel). */
export interface Requant {
  /** f32 multiplier per output channel: inScale · wScale[c] / outScale. */
  mult: Float32Array;
  /** Output zero point and the clamp (a fused ReLU / ReLU6 is only a tighter clamp). */
  outZp: number; qmin: number; qmax: number;
}

/** How a pruned matmul runs on the sparse kernels (the kept entries are the nonzeros of the int8 weight). */
export interface SparseSpec { format: 'csr' | 'block' | 'nm'; block?: [number, number]; nm?: [number, number] }

interface NodeBase {
  name: string;
  /** The output activation's quantisation (what the next node's input zero point / scale come from). */
  out: QParams;
}

export interface ConvNode extends NodeBase {
  kind: 'conv';
  /** OHWI int8 weights, oc × kh × kw × cg, values in [-127, 127]. */
  w: Int8Array; oc: number; kh: number; kw: number; cg: number; groups: number;
  stride: [number, number]; dilation: [number, number];
  /** [top, left, bottom, right] zero padding (padding holds the input zero point, i.e. real 0). */
  padding: [number, number, number, number];
  inZp: number; bias: Int32Array; wScale: Float32Array; rq: Requant;
  /** Ungrouped convs (any kernel, stride, padding, dilation) may run on the sparse kernels (im2col + sparse GEMM). */
  sparse: SparseSpec | null;
}

export interface LinearNode extends NodeBase {
  kind: 'linear';
  /** K × N int8 weights (inputs × outputs). */
  w: Int8Array; k: number; n: number;
  inZp: number; bias: Int32Array; wScale: Float32Array; rq: Requant;
  sparse: SparseSpec | null;
}

/** y = requant(Q · requant(x·P)): P is K × r, Q is r × N; the middle activation has its own quantisation. */
export interface LowRankNode extends NodeBase {
  kind: 'lowrank';
  p: Int8Array; q: Int8Array; k: number; r: number; n: number;
  inZp: number; pScale: Float32Array; qScale: Float32Array;
  /** Requant of x·P onto the middle activation (no bias, clamp −128..127); mid = its qparams. */
  midRq: Requant; mid: QParams;
  /** int32 bias of the second matmul (mid.scale · qScale units) and the output requant. */
  bias: Int32Array; rq: Requant;
}

export interface MaxPoolNode extends NodeBase {
  kind: 'maxpool';
  kh: number; kw: number; stride: [number, number]; padding: [number, number, number, number];
}

/** Average pool (also a standalone activation: a 1×1 window that requantises and clamps). */
export interface AvgPoolNode extends NodeBase {
  kind: 'avgpool';
  kh: number; kw: number; stride: [number, number]; padding: [number, number, number, number];
  /** y = clamp(rne(mean(x − inZp) · ratio) + outZp, qmin, qmax); ratio = f32(inScale / outScale). */
  inZp: number; ratio: number; outZp: number; qmin: number; qmax: number;
}

export interface GapNode extends NodeBase {
  kind: 'gap';
  inZp: number; ratio: number; outZp: number; qmin: number; qmax: number;
}

export interface FlattenNode extends NodeBase { kind: 'flatten' }

/** y = clamp(rne((a − za)·ma) + rne((b − zb)·mb) … as add_s8 computes it); b = the input when shortcut is null. */
export interface ResidualNode extends NodeBase {
  kind: 'residual';
  body: GraphNode[]; shortcut: GraphNode[] | null;
  za: number; ma: number; zb: number; mb: number; outZp: number; qmin: number; qmax: number;
}

/**
 * An element-wise activation as a 256-entry int8 table (lut_s8): y = table[x + 128]. The table is the real
 * function at every input code, requantised to `out` (src/kernels/lut_s8.ts lutTable). `op` is the layer type
 * of the function ('HardSwish'), which the ONNX exporter maps to its op.
 */
export interface LutNode extends NodeBase { kind: 'lut'; op: string; table: Int8Array }

/**
 * One step of a DAG node. `inputs` index earlier steps (−1: the DAG node's own input). A chain step runs its
 * nodes on its one input; a merge step joins two or more inputs:
 *   add     two inputs of equal per-sample size, add_s8's rule (as a residual join): y = clamp(rne((a − za)·ma +
 *           (b − zb)·mb), qmin, qmax) with zp = [za, zb], mult = [ma, mb]
 *   concat  inputs concatenated on the channel (last) axis (equal h, w), each requantised onto the output:
 *           y = clamp(rne((x_i − zp_i)·mult_i)) + outZp over [−128, 127]; an input already on the output's grid
 *           (zp_i = outZp, mult_i = 1) is copied exactly (TFLite's int8 CONCATENATION gives every input the
 *           output's quantisation; the converter does so where it can, see src/deploy/int8-model.ts)
 * A merge step's `out` is its output quantisation; a chain step's is its last node's (its input's when empty).
 */
export interface DagStep {
  inputs: number[];
  /** chain: the nodes (never empty) */
  nodes?: GraphNode[];
  merge?: 'add' | 'concat';
  /** merge: per input zero point and f32 multiplier (input scale / output scale) */
  zp?: number[]; mult?: number[];
  /** merge: output quantisation and clamp (concat: −128, 127) */
  out?: QParams; qmin?: number; qmax?: number;
  /** merge: a name (traces, ONNX) */
  name?: string;
}

/** A DAG of steps (an imported Inception block graph, src/nn/graph.ts's Graph); its output is its last step's. */
export interface DagNode extends NodeBase { kind: 'dag'; steps: DagStep[] }

export type GraphNode = ConvNode | LinearNode | LowRankNode | MaxPoolNode | AvgPoolNode | GapNode | FlattenNode | ResidualNode | LutNode | DagNode;

export interface Int8Graph {
  /** Quantisation of the float input (NHWC, normalised as in training). */
  input: QParams;
  /** [h, w, c] of one sample. */
  inputShape: [number, number, number];
  /** Quantisation of the logits (the last node's out). */
  output: QParams;
  /** Number of outputs per sample. */
  classes: number;
  nodes: GraphNode[];
  /** Free-form, JSON-serialisable: labels, normalisation (mean/std), source model, training command. */
  meta: GraphMeta;
}

export interface GraphMeta {
  labels?: string[];
  /** Input normalisation the model was trained with: x = (pixel/255 − mean) / std (one number, or one per channel). */
  mean?: number | number[]; std?: number | number[];
  [key: string]: unknown;
}

/** The child node lists of a node, in file (pre-)order: a residual's body then shortcut, a DAG's chain steps. */
export function childLists(n: GraphNode): GraphNode[][] {
  if (n.kind === 'residual') return n.shortcut ? [n.body, n.shortcut] : [n.body];
  if (n.kind === 'dag') return n.steps.flatMap((s) => (s.nodes ? [s.nodes] : []));
  return [];
}

/** Every node in execution order (residual bodies then shortcuts, DAG chain steps in order, depth first). */
export function walkGraph(nodes: GraphNode[], fn: (n: GraphNode, depth: number) => void, depth = 0): void {
  for (const n of nodes) {
    fn(n, depth);
    for (const l of childLists(n)) walkGraph(l, fn, depth + 1);
  }
}
