// All-int8 deployment of a quantised model (TFLite int8 scheme), in two steps:
//   buildInt8Graph: QAT model + quantisation state → Int8Graph (src/deploy/graph.ts: plain data, what a .qwm
//                   file holds): BN folded, weights quantised per channel, biases in accumulator units, ReLU /
//                   ReLU6 fused as clamps, pruned layers (linears, ungrouped convs of any kernel) tagged with
//                   their sparse kernel format;
//   Int8Model:      the graph packed into kernel handles (src/deploy/runner.ts) plus dataset evaluation.
// convertToInt8 does both. predict() maps a float NHWC batch to float logits, like the fake-quant model.
import type { Runtime } from '../runtime.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../autograd/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { datasetBatches } from '../train/eval-loop.js';
import { QwasmError, checkArray, checkInt, describe } from '../errors.js';
import { activationRange } from '../kernels/requant.js';
import type { SparseOptions } from '../kernels/sparse.js';
import { padding4 } from '../kernels/conv_f32.js';
import { QATModel, foldBatchNorm, type QuantState, type Unit } from '../quant/qat.js';
import type { ActUnit, ConvUnit, GapUnit, GraphUnit, LinearUnit, LowRankUnit, PointwiseUnit, PoolUnit, ResidualUnit } from '../quant/qat-units.js';
import { lutTable } from '../kernels/lut_s8.js';
import { quantizeChannels, symmetricScales, type QParams } from '../quant/fakequant.js';
import type { DagStep, GraphMeta, GraphNode, Int8Graph, SparseSpec } from './graph.js';
import { Int8Runner } from './runner.js';
import { validateGraph } from './validate.js';

export type { Int8LayerSummary } from './runner.js';

export type MatmulBackend = 'dense' | 'sparse' | 'lowrank';

export interface LayerInfo {
  name: string;
  kind: 'conv' | 'linear' | 'lowrank';
  /** GEMM view: K (inputs) × N (outputs); conv: K = kh·kw·c/groups. */
  k: number; n: number;
  /** Fraction of nonzero int8 weights. */
  density: number;
  /** 1×1 / stride 1 / unpadded / ungrouped conv (a plain matmul over pixels). */
  pointwise: boolean;
  /** Conv groups (1 for linears and low-rank layers): only groups-1 convs can run on the sparse kernels. */
  groups: number;
}

export interface ConvertOptions {
  /**
   * Matmul backend per layer: 'auto' (default: 'sparse' for linears and ungrouped convs — any kernel, stride,
   * padding, dilation: im2col + the sparse GEMM — whose int8 density is ≤ sparseThreshold, that have a user mask or a structured (N:M, block) pruner mask,
   * 'lowrank' for factorised layers, else 'dense'), one backend for all, or a function (returning undefined =
   * auto). Grouped / depthwise convs always run dense: asking 'sparse' for one (directly or for all) throws,
   * naming the layer.
   */
  backend?: 'auto' | MatmulBackend | ((info: LayerInfo) => MatmulBackend | undefined);
  /** Density at or below which 'auto' picks the sparse kernels (default 0.4). */
  sparseThreshold?: number;
  /** Sparse format options (format 'csr' | 'block' | 'nm', block, nm); masks per layer name ([K×N] in×out). */
  sparse?: Omit<SparseOptions, 'mask'>;
  /** Kept weights per layer name (K×N, in×out); weights outside a mask are dropped (set to 0). */
  masks?: Record<string, Uint8Array>;
  /**
   * Pruned weights, as src/compress/prune.ts's prunedWeights(model) returns them (weight tensor → K×N mask and
   * sparse format): with an N:M or block format those linears / ungrouped convs run on the sparse kernels in that
   * format; with an unstructured one, when their density is ≤ sparseThreshold (else dense: the zeros stay zeros).
   */
  pruned?: Map<Tensor, PrunedInfo>;
  /** Input [h, w, c] (default: the shape the QAT model last saw; [1, 1, k] for a model starting with a linear). */
  inputShape?: [number, number, number];
  /**
   * Quantisation of a Graph's concat inputs: 'shared' (default, TFLite's int8 CONCATENATION) gives every input
   * that can take it the concat's output grid, so the concat copies it; 'per-input' keeps each input on its own
   * grid and the concat requantises it (finer branches, one more rounding).
   */
  concatInputs?: 'shared' | 'per-input';
  /** Stored in the graph (and the .qwm file): labels, mean / std of the input normalisation, source, … */
  meta?: GraphMeta;
}

/** What the converter reads of a pruned weight (structurally src/compress/prune.ts's PrunedWeight). */
export interface PrunedInfo { kn: Uint8Array; k: number; n: number; format: string; nm?: [number, number]; block?: [number, number] }

const f32 = Math.fround;

function biasInt32(b: Float32Array, sIn: number, sW: Float32Array): Int32Array {
  const out = new Int32Array(b.length);
  for (let j = 0; j < b.length; j++) {
    const v = Math.round(b[j] / (sIn * sW[j]));
    out[j] = Math.max(-2147483647, Math.min(2147483647, v));
  }
  return out;
}

function density(q: Int8Array): number {
  let nz = 0;
  for (let i = 0; i < q.length; i++) if (q[i] !== 0) nz++;
  return nz / q.length;
}

const pairOf = (v: unknown, dflt: [number, number]): [number, number] =>
  v === undefined ? dflt : typeof v === 'number' ? [v, v] : [(v as number[])[0], (v as number[])[1]];

/** The int8 model: an Int8Runner (predict, predictCodes, trace, layers, bytes, latencyMs) that also evaluates datasets. */
export class Int8Model extends Int8Runner {
  /** Accuracy on a dataset (normalised with the dataset's statistics, like evaluate()). */
  evaluate(ds: Dataset, opts: { batchSize?: number; indices?: ArrayLike<number> } = {}): { accuracy: number; count: number; seconds: number } {
    this.live();
    const bs = checkInt('batchSize', opts.batchSize ?? 250, 1, 65536);
    const t0 = performance.now();
    let correct = 0, count = 0;
    datasetBatches(ds, { batchSize: bs, indices: opts.indices }, (xs, ys, nb) => {
      const logits = this.predict(xs, nb);
      const classes = logits.length / nb;
      for (let i = 0; i < nb; i++) {
        let best = 0;
        for (let j = 1; j < classes; j++) if (logits[i * classes + j] > logits[i * classes + best]) best = j;
        if (best === ys[i]) correct++;
      }
      count += nb;
    });
    return { accuracy: correct / Math.max(1, count), count, seconds: (performance.now() - t0) / 1000 };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Conversion: QAT units → graph nodes.

interface Lowered { nodes: GraphNode[]; out: QParams }

/** The unit whose output quantiser gives a unit list's output grid (null: a max pool or the list's input passes it through). */
function lastQuantised(units: Unit[]): string | null {
  for (let i = units.length - 1; i >= 0; i--) {
    const u = units[i];
    if (u.kind === 'flatten' || u.kind === 'dropout') continue;
    return ['conv', 'linear', 'lowrank', 'avgpool', 'gap', 'act', 'pointwise', 'residual'].includes(u.kind) ? u.name : null;
  }
  return null;
}

class GraphBuilder {
  /** Output quantisation imposed on a unit (a concat input takes the concat's, as TFLite requires). */
  private readonly forced = new Map<string, QParams>();

  constructor(readonly state: QuantState, readonly o: ConvertOptions) {}

  private unitState(name: string) {
    const s = this.state.units[name];
    if (!s) throw new QwasmError(`quantState has no entry for layer '${name}'`);
    return s;
  }

  private outQ(name: string, key: 'out' | 'mid' = 'out'): QParams {
    if (key === 'out' && this.forced.has(name)) return this.forced.get(name)!;
    const q = this.unitState(name)[key];
    if (!q) throw new QwasmError(`layer '${name}' has no ${key === 'out' ? 'output' : 'intermediate'} quantisation parameters: train the QAT model a step or calibrate it first`);
    return checkQ(`quantState.units['${name}'].${key}`, q);
  }

  private wScales(name: string, w: Float32Array, outer: number, c: number, inner: number, key: 'weightScales' | 'weightScales2' = 'weightScales'): Float32Array {
    const s = this.state.units[name]?.[key];
    if (s) {
      if (s.length !== c) throw new RangeError(`quantState.units['${name}'].${key} has ${s.length} scales, the layer has ${c} output channels`);
      return Float32Array.from(s, (v) => { if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`quantState.units['${name}'].${key} holds ${v}: scales must be finite and positive`); return v; });
    }
    const a = new Float32Array(c);
    for (let t = 0; t < outer; t++) for (let j = 0; j < c; j++) for (let i = 0; i < inner; i++) a[j] = Math.max(a[j], Math.abs(w[(t * c + j) * inner + i]));
    return symmetricScales(a);
  }

  /**
   * 'auto' runs a layer sparse when the user gave it a mask, when the pruner left it a structured pattern (N:M or
   * blocks, whose kernels win at their own densities), or when its int8 density is ≤ sparseThreshold. A pruner's
   * unstructured (csr) mask alone does not decide it: under global pruning one layer may keep 85 % of its weights,
   * and the sparse kernels are slower than the dense ones there (measured: 0.72× on refcnn's first conv).
   */
  private backend(info: LayerInfo, userMask: boolean, pruned?: PrunedInfo): MatmulBackend {
    const b = this.o.backend ?? 'auto';
    const chosen = typeof b === 'function' ? b(info) : b === 'auto' ? undefined : b;
    if (chosen !== undefined) {
      if (chosen !== 'dense' && chosen !== 'sparse' && chosen !== 'lowrank') throw new TypeError(`backend for '${info.name}' must be 'dense', 'sparse' or 'lowrank', got ${describe(chosen)}`);
      if (chosen === 'lowrank' && info.kind !== 'lowrank') throw new QwasmError(`backend 'lowrank' needs a factorised layer; '${info.name}' is a ${info.kind}`);
      if (chosen === 'sparse' && info.kind === 'conv' && info.groups !== 1) {
        throw new QwasmError(`backend 'sparse' supports linears and ungrouped convs; '${info.name}' is a conv with groups = ${info.groups} (grouped / depthwise convs run dense)`);
      }
      return chosen;
    }
    if (info.kind === 'lowrank') return 'lowrank';
    const sparseable = info.kind === 'linear' || (info.kind === 'conv' && info.groups === 1);
    const structured = !!pruned && ((pruned.format === 'nm' && !!pruned.nm) || (pruned.format === 'block' && !!pruned.block && (pruned.block[1] === 4 || pruned.block[1] === 8)));
    if (sparseable && (userMask || structured || info.density <= (this.o.sparseThreshold ?? 0.4))) return 'sparse';
    return 'dense';
  }

  private prunedOf(w: Tensor, k: number, n: number): PrunedInfo | undefined {
    const p = this.o.pruned?.get(w);
    if (!p) return undefined;
    if (p.k !== k || p.n !== n) throw new RangeError(`pruned entry for a ${k}×${n} weight has k×n = ${p.k}×${p.n}`);
    checkArray('pruned mask (kn)', p.kn, Uint8Array, k * n);
    return p;
  }

  /**
   * The sparse spec of a layer on the sparse kernels, and its K×N mask (user mask, else the pruner's, else none):
   * the caller zeroes the weights outside the mask, so the kept entries are exactly the nonzeros.
   */
  private sparseSpec(name: string, k: number, n: number, pruned?: PrunedInfo): { spec: SparseSpec; mask?: Uint8Array } {
    let mask = this.o.masks?.[name];
    if (mask !== undefined) checkArray(`masks['${name}']`, mask, Uint8Array, k * n);
    let fmt: Omit<SparseOptions, 'mask'> = this.o.sparse ?? {};
    if (pruned && mask === undefined) {
      mask = pruned.kn;
      if (pruned.format === 'nm' && pruned.nm) fmt = { format: 'nm', nm: pruned.nm };
      else if (pruned.format === 'block' && pruned.block && (pruned.block[1] === 4 || pruned.block[1] === 8)) fmt = { format: 'block', block: pruned.block };
      else fmt = { format: 'csr' };
    }
    const format = fmt.format ?? 'csr';
    if (format !== 'csr' && format !== 'block' && format !== 'nm') throw new TypeError(`sparse.format must be 'csr', 'block' or 'nm', got ${describe(format)}`);
    const spec: SparseSpec = format === 'block' ? { format, block: [...(fmt.block ?? [1, 8])] as [number, number] }
      : format === 'nm' ? { format, nm: [...(fmt.nm ?? [2, 4])] as [number, number] } : { format };
    return { spec, mask };
  }

  /** The int8 nodes of a list of QAT units, `cur` the quantisation of their input. */
  convert(units: Unit[], cur: QParams): Lowered {
    const nodes: GraphNode[] = [];
    for (const u of units) {
      const r = this.lower(u, cur);
      nodes.push(...r.nodes);
      cur = r.out;
    }
    return { nodes, out: cur };
  }

  /** One unit's int8 lowering (one method per unit kind). */
  private lower(u: Unit, cur: QParams): Lowered {
    switch (u.kind) {
      case 'conv': return this.lowerConv(u, cur);
      case 'linear': return this.lowerLinear(u, cur);
      case 'lowrank': return this.lowerLowRank(u, cur);
      case 'maxpool': case 'avgpool': return this.lowerPool(u, cur);
      case 'gap': case 'act': return this.lowerRequant(u, cur);
      case 'pointwise': return this.lowerPointwise(u, cur);
      case 'flatten': return { nodes: [{ kind: 'flatten', name: u.name, out: cur }], out: cur };
      case 'dropout': return { nodes: [], out: cur };
      case 'residual': return this.lowerResidual(u, cur);
      case 'graph': return this.lowerGraph(u, cur);
    }
  }

  /** Matmul backend and (for 'sparse') the spec, with the weights outside the mask zeroed in `qw` (K×N view `at`). */
  private sparsify(info: LayerInfo, w: Tensor | null, qw: Int8Array, at: (kk: number, o: number) => number): SparseSpec | null {
    const pruned = w ? this.prunedOf(w, info.k, info.n) : undefined;
    if (this.backend(info, !!this.o.masks?.[info.name], pruned) !== 'sparse') return null;
    const sp = this.sparseSpec(info.name, info.k, info.n, pruned);
    if (sp.mask) for (let kk = 0; kk < info.k; kk++) for (let o = 0; o < info.n; o++) if (!sp.mask[kk * info.n + o]) qw[at(kk, o)] = 0;
    return sp.spec;
  }

  private lowerConv(u: ConvUnit, cur: QParams): Lowered {
    const { conv, bn } = u, oc = conv.spec.outChannels;
    const { weight: wf, bias: bf } = bn ? foldBatchNorm(conv, bn)
      : { weight: conv.weight.toArray(), bias: conv.bias ? conv.bias.toArray() : new Float32Array(oc) };
    const inner = wf.length / oc;
    const sW = this.wScales(u.name, wf, 1, oc, inner);
    const qw = quantizeChannels(wf, sW, { outer: 1, c: oc, inner });
    const out = this.outQ(u.name);
    const [kh, kw, cg] = [conv.kh, conv.kw, conv.weight.shape[3]];
    const s = conv.spec, groups = s.groups ?? 1;
    const padding = padding4('padding', s.padding), stride = pairOf(s.stride, [1, 1]), dilation = pairOf(s.dilation, [1, 1]);
    const pointwise = kh === 1 && kw === 1 && groups === 1 && padding.every((p) => p === 0) && stride[0] === 1 && stride[1] === 1 && dilation[0] === 1 && dilation[1] === 1;
    const k = kh * kw * cg;
    const info: LayerInfo = { name: u.name, kind: 'conv', k, n: oc, density: density(qw), pointwise, groups };
    // mask is K×N [k][o] with k = (ky·kw + kx)·cg + c; weights are OHWI [o][ky][kx][c] = [o][k]
    const sparse = this.sparsify(info, groups === 1 ? conv.weight : null, qw, (kk, o) => o * k + kk);
    const { qmin, qmax } = activationRange(u.act, out.zeroPoint, out.scale);
    return {
      nodes: [{
        kind: 'conv', name: u.name, out, w: qw, oc, kh, kw, cg, groups, stride, dilation, padding, inZp: cur.zeroPoint,
        bias: biasInt32(bf, cur.scale, sW), wScale: sW,
        rq: { mult: Float32Array.from(sW, (v) => cur.scale * v / out.scale), outZp: out.zeroPoint, qmin, qmax }, sparse,
      }],
      out,
    };
  }

  private lowerLinear(u: LinearUnit, cur: QParams): Lowered {
    const { linear } = u, k = linear.inFeatures, n = linear.outFeatures;
    const w = linear.weight.toArray(), b = linear.bias ? linear.bias.toArray() : new Float32Array(n);
    const sW = this.wScales(u.name, w, k, n, 1);
    const qw = quantizeChannels(w, sW, { outer: k, c: n, inner: 1 });
    const out = this.outQ(u.name);
    const info: LayerInfo = { name: u.name, kind: 'linear', k, n, density: density(qw), pointwise: false, groups: 1 };
    const sparse = this.sparsify(info, linear.weight, qw, (kk, o) => kk * n + o);
    const { qmin, qmax } = activationRange(u.act, out.zeroPoint, out.scale);
    return {
      nodes: [{
        kind: 'linear', name: u.name, out, w: qw, k, n, inZp: cur.zeroPoint, bias: biasInt32(b, cur.scale, sW), wScale: sW,
        rq: { mult: Float32Array.from(sW, (v) => cur.scale * v / out.scale), outZp: out.zeroPoint, qmin, qmax }, sparse,
      }],
      out,
    };
  }

  private lowerLowRank(u: LowRankUnit, cur: QParams): Lowered {
    const [k, r] = u.p.shape, n = u.q.shape[1];
    const p = u.p.toArray(), q = u.q.toArray(), b = u.bias ? u.bias.toArray() : new Float32Array(n);
    const sP = this.wScales(u.name, p, k, r, 1), sQ = this.wScales(u.name, q, r, n, 1, 'weightScales2');
    const qp = quantizeChannels(p, sP, { outer: k, c: r, inner: 1 }), qq = quantizeChannels(q, sQ, { outer: r, c: n, inner: 1 });
    const mid = this.outQ(u.name, 'mid'), out = this.outQ(u.name);
    const info: LayerInfo = { name: u.name, kind: 'lowrank', k, n, density: (density(qp) * qp.length + density(qq) * qq.length) / (qp.length + qq.length), pointwise: false, groups: 1 };
    const backend = this.backend(info, false);
    if (backend !== 'lowrank') throw new QwasmError(`a factorised layer ('${u.name}') runs on the 'lowrank' backend, got '${backend}'`);
    const { qmin, qmax } = activationRange(u.act, out.zeroPoint, out.scale);
    return {
      nodes: [{
        kind: 'lowrank', name: u.name, out, p: qp, q: qq, k, r, n, inZp: cur.zeroPoint, pScale: sP, qScale: sQ,
        midRq: { mult: Float32Array.from(sP, (v) => cur.scale * v / mid.scale), outZp: mid.zeroPoint, qmin: -128, qmax: 127 }, mid,
        bias: biasInt32(b, mid.scale, sQ), rq: { mult: Float32Array.from(sQ, (v) => mid.scale * v / out.scale), outZp: out.zeroPoint, qmin, qmax },
      }],
      out,
    };
  }

  private lowerPool(u: PoolUnit, cur: QParams): Lowered {
    const po = u.module.opts;
    const [kh, kw] = typeof po.kernel === 'number' ? [po.kernel, po.kernel] : po.kernel;
    const padding = padding4('padding', po.padding ?? 0), stride = pairOf(po.stride, [kh, kw]);
    if (u.kind === 'maxpool') return { nodes: [{ kind: 'maxpool', name: u.name, kh, kw, stride, padding, out: cur }], out: cur };
    const out = this.outQ(u.name);
    const { qmin, qmax } = activationRange('none', out.zeroPoint, out.scale);
    return { nodes: [{ kind: 'avgpool', name: u.name, kh, kw, stride, padding, inZp: cur.zeroPoint, ratio: f32(cur.scale / out.scale), outZp: out.zeroPoint, qmin, qmax, out }], out };
  }

  /** Global average pool, or a standalone ReLU / ReLU6: a 1×1 average pool requantises and clamps. */
  private lowerRequant(u: GapUnit | ActUnit, cur: QParams): Lowered {
    const out = this.outQ(u.name);
    const { qmin, qmax } = activationRange(u.kind === 'act' ? u.act : 'none', out.zeroPoint, out.scale);
    const q = { inZp: cur.zeroPoint, ratio: f32(cur.scale / out.scale), outZp: out.zeroPoint, qmin, qmax, out };
    if (u.kind === 'gap') return { nodes: [{ kind: 'gap', name: u.name, ...q }], out };
    return { nodes: [{ kind: 'avgpool', name: u.name, kh: 1, kw: 1, stride: [1, 1], padding: [0, 0, 0, 0], ...q }], out };
  }

  /** An element-wise activation registered with `pointwise`: its 256-entry int8 table. */
  private lowerPointwise(u: PointwiseUnit, cur: QParams): Lowered {
    const out = this.outQ(u.name);
    const table = lutTable(u.fn.f, cur.scale, cur.zeroPoint, out.scale, out.zeroPoint);
    return { nodes: [{ kind: 'lut', name: u.name, op: u.type, table, out }], out };
  }

  /**
   * A Graph → one DAG node (src/deploy/graph.ts DagStep). TFLite's int8 CONCATENATION has its inputs and output
   * share one quantisation: an input whose chain ends in a requantising unit and that feeds exactly one concat is
   * given the concat's output grid (its values are then copied); any other input (a max pool's, the DAG's own
   * input, one shared by two concats) is requantised per input by the concat. Chain steps that lower to nothing
   * (dropout) alias their input.
   */
  private lowerGraph(u: GraphUnit, cur: QParams): Lowered {
    const concatReaders = new Map<number, number>();
    for (const st of u.steps) if (st.merge === 'concat') for (const j of new Set(st.inputs)) concatReaders.set(j, (concatReaders.get(j) ?? 0) + 1);
    for (const st of u.steps) {
      if (st.merge !== 'concat' || this.o.concatInputs === 'per-input') continue;
      const q = this.outQ(st.name);
      for (const j of st.inputs) {
        const src = j >= 0 ? u.steps[j] : null, last = src?.units ? lastQuantised(src.units) : null;
        if (last && concatReaders.get(j) === 1) this.forced.set(last, q);
      }
    }
    const map: number[] = [], steps: DagStep[] = [], outs: QParams[] = [];
    const qOf = (j: number) => (j < 0 ? cur : outs[j]);
    for (const st of u.steps) {
      const inputs = st.inputs.map((j) => (j < 0 ? -1 : map[j]));
      if (st.units) {
        const r = this.convert(st.units, qOf(inputs[0]));
        if (r.nodes.length === 0) { map.push(inputs[0]); continue; }
        steps.push({ inputs, nodes: r.nodes });
        outs.push(r.out);
      } else {
        const out = this.outQ(st.name), ins = inputs.map(qOf);
        const { qmin, qmax } = st.merge === 'add' ? activationRange('none', out.zeroPoint, out.scale) : { qmin: -128, qmax: 127 };
        steps.push({ inputs, merge: st.merge, name: st.name, out, qmin, qmax, zp: ins.map((p) => p.zeroPoint), mult: ins.map((p) => f32(p.scale / out.scale)) });
        outs.push(out);
      }
      map.push(steps.length - 1);
    }
    if (steps.length === 0 || map[map.length - 1] !== steps.length - 1) throw new QwasmError(`graph '${u.name}': its output is its input or an earlier value (nothing to lower)`);
    const out = outs[outs.length - 1];
    return { nodes: [{ kind: 'dag', name: u.name, steps, out }], out };
  }

  private lowerResidual(u: ResidualUnit, cur: QParams): Lowered {
    const a = this.convert(u.body, cur);
    const b = u.shortcut ? this.convert(u.shortcut, cur) : { nodes: null, out: cur };
    const out = this.outQ(u.name);
    const { qmin, qmax } = activationRange(u.act, out.zeroPoint, out.scale);
    return {
      nodes: [{
        kind: 'residual', name: u.name, body: a.nodes, shortcut: b.nodes, za: a.out.zeroPoint, ma: f32(a.out.scale / out.scale),
        zb: b.out.zeroPoint, mb: f32(b.out.scale / out.scale), outZp: out.zeroPoint, qmin, qmax, out,
      }],
      out,
    };
  }
}

function checkQ(name: string, q: unknown): QParams {
  if (!q || typeof q !== 'object') throw new TypeError(`${name} must be { scale, zeroPoint }, got ${describe(q)}`);
  const { scale, zeroPoint } = q as QParams;
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`${name}.scale must be a finite positive number, got ${describe(scale)}`);
  checkInt(`${name}.zeroPoint`, zeroPoint, -128, 127);
  const s = f32(scale);
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`${name}.scale = ${scale} is not a positive f32`);
  return { scale: s, zeroPoint };
}

/** The first unit that fixes the input size when the QAT model never saw an image batch (an MLP: [1, 1, k]). */
function flatInputShape(units: Unit[]): [number, number, number] | null {
  for (const u of units) {
    if (u.kind === 'flatten' || u.kind === 'dropout') continue;
    if (u.kind === 'linear') return [1, 1, u.linear.inFeatures];
    if (u.kind === 'lowrank') return [1, 1, u.p.shape[0]];
    return null;
  }
  return null;
}

/**
 * Builds the Int8Graph of a quantised model: `model` is a QATModel (from prepareQAT / quantizeStatic; its BN
 * frozen or in eval mode) or the float model it wraps; `quantState` defaults to the QAT model's.
 */
export function buildInt8Graph(model: Module, quantState?: QuantState, opts: ConvertOptions = {}): Int8Graph {
  if (!model || typeof model !== 'object' || typeof (model as Module).forward !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const qat = model instanceof QATModel ? model : new QATModel(model);
  const state = quantState ?? (model instanceof QATModel ? model.quantState() : undefined);
  if (!state || typeof state !== 'object' || !state.units) throw new TypeError(`quantState must be a QuantState (qat.quantState()), got ${describe(state)}`);
  if (opts.sparseThreshold !== undefined && !(typeof opts.sparseThreshold === 'number' && opts.sparseThreshold >= 0 && opts.sparseThreshold <= 1)) {
    throw new RangeError(`sparseThreshold must be in [0, 1], got ${describe(opts.sparseThreshold)}`);
  }
  if (opts.backend !== undefined && typeof opts.backend !== 'function' && !['auto', 'dense', 'sparse', 'lowrank'].includes(opts.backend as string)) {
    throw new TypeError(`backend must be 'auto', 'dense', 'sparse', 'lowrank' or a function, got ${describe(opts.backend)}`);
  }
  if (opts.concatInputs !== undefined && opts.concatInputs !== 'shared' && opts.concatInputs !== 'per-input') throw new TypeError(`concatInputs must be 'shared' or 'per-input', got ${describe(opts.concatInputs)}`);
  if (opts.meta !== undefined && (!opts.meta || typeof opts.meta !== 'object' || Array.isArray(opts.meta))) throw new TypeError(`meta must be an object, got ${describe(opts.meta)}`);
  const input = checkQ('quantState.input', state.input);
  const { nodes, out } = new GraphBuilder(state, opts).convert(qat.units, input);
  const inputShape = opts.inputShape ?? state.inputShape ?? qat.inputShape ?? flatInputShape(qat.units);
  if (!inputShape) throw new QwasmError('convertToInt8 needs the input shape: pass opts.inputShape [h, w, c] (or run the QAT model on a batch first)');
  if (!Array.isArray(inputShape) || inputShape.length !== 3) throw new TypeError(`inputShape must be [h, w, c], got ${describe(inputShape)}`);
  inputShape.forEach((d, i) => checkInt(`inputShape[${i}]`, d, 1, 4096));
  const graph: Int8Graph = {
    input, inputShape: [...inputShape] as [number, number, number], output: out, classes: 0, nodes,
    meta: JSON.parse(JSON.stringify(opts.meta ?? {})) as GraphMeta,
  };
  const { output } = validateGraph(graph, { checkClasses: false, what: 'convertToInt8' });
  graph.classes = output.reduce((a, b) => a * b, 1);
  return graph;
}

/**
 * Converts a quantised model to an all-int8 Int8Model: buildInt8Graph, then Int8Model.fromGraph (the kernel
 * handles). See buildInt8Graph for the arguments.
 */
export function convertToInt8(model: Module, quantState?: QuantState, opts: ConvertOptions = {}): Int8Model {
  const graph = buildInt8Graph(model, quantState, opts);
  const rt: Runtime = (model as Module).engine.rt;
  return Int8Model.fromGraph(rt, graph);
}
