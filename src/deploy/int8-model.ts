// All-int8 deployment of a quantised model: every layer runs on the int8 kernels (TFLite int8 scheme).
//   conv (dense / grouped / depthwise) → PackedConv2dS8, BN folded, ReLU / ReLU6 fused via the clamp
//   linear → a pluggable int8 matmul: PackedGemmS8 (dense), SparseMatrixS8 (pruned: mostly zeros or a mask;
//            also 1×1 convs), LowRankS8 (factorised P·Q layers)
//   max / avg / global-average pool → pool_s8 kernels; residual joins → add_s8 (requantised, ReLU fused);
//   flatten / dropout → nothing (NHWC rows are already the flattened layout).
// The input is quantised with the model's input parameters, the logits dequantised: predict() maps a float
// NHWC batch to float logits, like the fake-quant model it was converted from.
import type { Runtime } from '../runtime.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../autograd/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { BatchIterator } from '../data/batch.js';
import { QwasmError, checkArray, checkInt, describe } from '../errors.js';
import { activationRange } from '../quant.js';
import { PackedGemmS8 } from '../kernels/gemm_s8.js';
import { SparseMatrixS8, type SparseOptions } from '../kernels/sparse.js';
import { LowRankS8 } from '../kernels/lowrank.js';
import { PackedConv2dS8, resolveGeometry, type Padding } from '../kernels/conv_s8.js';
import { padding4 } from '../kernels/conv_f32.js';
import { QATModel, foldBatchNorm, type FusedActivation, type QuantState, type Unit } from '../quant/qat.js';
import { quantizeArray, quantizeChannels, symmetricScales, type QParams } from '../quant/fakequant.js';

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
}

export interface ConvertOptions {
  /**
   * Matmul backend per layer: 'auto' (default: 'sparse' for linears and pointwise convs whose int8 density is
   * ≤ sparseThreshold or that have a mask, 'lowrank' for factorised layers, else 'dense'), one backend for
   * all, or a function (returning undefined = auto).
   */
  backend?: 'auto' | MatmulBackend | ((info: LayerInfo) => MatmulBackend | undefined);
  /** Density at or below which 'auto' picks the sparse kernels (default 0.4). */
  sparseThreshold?: number;
  /** Sparse format options (format 'csr' | 'block' | 'nm', block, nm); masks per layer name ([K×N] in×out). */
  sparse?: Omit<SparseOptions, 'mask'>;
  masks?: Record<string, Uint8Array>;
  /**
   * Pruned weights, as src/compress/prune.ts's prunedWeights(model) returns them (weight tensor → K×N mask and
   * sparse format): those linears / pointwise convs run on SparseMatrixS8 with that mask and format.
   */
  pruned?: Map<Tensor, PrunedInfo>;
  /** Input [h, w, c] (default: the shape the QAT model last saw). */
  inputShape?: [number, number, number];
}

/** What the converter reads of a pruned weight (structurally src/compress/prune.ts's PrunedWeight). */
export interface PrunedInfo { kn: Uint8Array; k: number; n: number; format: string; nm?: [number, number]; block?: [number, number] }

type Shape = number[];
interface Buf { ptr: number; shape: Shape }

/** int8 matmul handles share this duck type. */
interface Matmul { runInt8(xPtr: number, m: number, yPtr: number): void; dispose(): void }

interface OpBase { name: string; out: QParams; bytes: number; backend?: MatmulBackend | 'conv' }
/** expand1: run a single-input-channel conv as a 2-channel one (zero weights on a zero-point channel); no longer
 *  needed since conv_s8 sends groups = 1 convs to its GEMM path, kept as an option (null = off). */
interface ConvOp extends OpBase { kind: 'conv'; conv: PackedConv2dS8 | null; mm: Matmul | null; oc: number; expand1: number | null }
interface MatmulOp extends OpBase { kind: 'linear' | 'lowrank'; mm: Matmul; k: number; n: number }
interface MaxPoolOp extends OpBase { kind: 'maxpool'; kh: number; kw: number; stride: unknown; padding: Padding }
interface AvgPoolOp extends OpBase { kind: 'avgpool'; kh: number; kw: number; stride: unknown; padding: Padding; zpIn: number; ratio: number; qmin: number; qmax: number }
interface GapOp extends OpBase { kind: 'gap'; zpIn: number; ratio: number; qmin: number; qmax: number }
interface ResOp extends OpBase { kind: 'residual'; body: Op[]; shortcut: Op[] | null; za: number; ma: number; zb: number; mb: number; qmin: number; qmax: number }
interface FlatOp extends OpBase { kind: 'flatten' }
type Op = ConvOp | MatmulOp | MaxPoolOp | AvgPoolOp | GapOp | ResOp | FlatOp;

export interface Int8LayerSummary { name: string; kind: string; backend?: string; bytes: number; scale: number; zeroPoint: number }

const f32 = Math.fround;

function toPadding(p: unknown): Padding {
  const [t, l, b, r] = padding4('padding', p);
  return t === l && l === b && b === r ? t : [t, l, b, r];
}

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

/** The int8 model: see the file header. Free its WASM memory with dispose(). */
export class Int8Model {
  private disposed = false;
  constructor(readonly rt: Runtime, private readonly ops: Op[], readonly input: QParams, readonly inputShape: [number, number, number] | null,
              readonly output: QParams) {}

  /** Layers with their backend, bytes and output quantisation. */
  layers(): Int8LayerSummary[] {
    const out: Int8LayerSummary[] = [];
    const walk = (ops: Op[]) => {
      for (const o of ops) {
        out.push({ name: o.name, kind: o.kind, backend: o.backend, bytes: o.bytes, scale: o.out.scale, zeroPoint: o.out.zeroPoint });
        if (o.kind === 'residual') { walk(o.body); if (o.shortcut) walk(o.shortcut); }
      }
    };
    walk(this.ops);
    return out;
  }

  /** What an export would hold: int8 weights, int32 biases, f32 weight scales, requant parameters, activation qparams. */
  bytes(): number { return 8 + this.layers().reduce((a, l) => a + l.bytes, 0); }

  /** Logits (dequantised f32, n × classes) of a normalised NHWC float batch of n samples. */
  predict(x: Float32Array, n?: number): Float32Array {
    return this.runBatch(x, n, null).logits;
  }

  /** int8 activations of every quantised layer (name → codes, shape, qparams) for one batch: per-layer checks. */
  trace(x: Float32Array, n?: number): Map<string, { data: Int8Array; shape: Shape; qparams: QParams }> {
    const m = new Map<string, { data: Int8Array; shape: Shape; qparams: QParams }>();
    this.runBatch(x, n, m);
    return m;
  }

  private runBatch(x: Float32Array, nArg: number | undefined, trace: Map<string, { data: Int8Array; shape: Shape; qparams: QParams }> | null) {
    this.live();
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const per = this.inputShape ? this.inputShape[0] * this.inputShape[1] * this.inputShape[2] : 0;
    if (nArg === undefined && per && (x.length === 0 || x.length % per !== 0)) throw new RangeError(`x must hold a multiple of ${this.inputShape!.join('×')} = ${per} values, got ${x.length}`);
    const n = nArg ?? (per ? x.length / per : NaN);
    checkInt('n', n, 1, 1 << 24);
    if (x.length % n !== 0 || x.length === 0) throw new RangeError(`x has ${x.length} values, not a multiple of n = ${n}`);
    if (per && x.length !== n * per) throw new RangeError(`x must hold n × ${this.inputShape!.join('×')} = ${n * per} values, got ${x.length}`);
    const shape: Shape = this.inputShape ? [n, ...this.inputShape] : [n, x.length / n];
    const rt = this.rt, bufs: number[] = [];
    try {
      const inPtr = rt.alloc(x.length); bufs.push(inPtr);
      const q = quantizeArray(x, this.input);
      rt.i8(inPtr, x.length).set(q);
      if (trace) trace.set('input', { data: q, shape, qparams: this.input });
      const out = this.exec(this.ops, { ptr: inPtr, shape }, bufs, trace);
      const len = out.shape.reduce((a, b) => a * b, 1);
      const codes = rt.i8(out.ptr, len);
      const logits = new Float32Array(len);
      for (let i = 0; i < len; i++) logits[i] = this.output.scale * (codes[i] - this.output.zeroPoint);
      return { logits, shape: out.shape };
    } finally {
      for (const p of bufs) rt.free(p);
    }
  }

  private exec(ops: Op[], x: Buf, bufs: number[], trace: Map<string, { data: Int8Array; shape: Shape; qparams: QParams }> | null): Buf {
    const rt = this.rt, e = rt.exports;
    for (const o of ops) {
      const s = x.shape;
      let y: Buf;
      const alloc = (shape: Shape): Buf => { const len = shape.reduce((a, b) => a * b, 1); const ptr = rt.alloc(len); bufs.push(ptr); return { ptr, shape }; };
      switch (o.kind) {
        case 'conv': {
          if (s.length !== 4) throw new QwasmError(`${o.name}: conv input must be NHWC, got shape [${s}]`);
          if (o.conv) {
            let xp = x.ptr;
            if (o.expand1 !== null) {
              const len = s[0] * s[1] * s[2], src = alloc([len * 2]);
              const a = rt.i8(x.ptr, len), b = rt.i8(src.ptr, len * 2);
              for (let i = 0; i < len; i++) { b[2 * i] = a[i]; b[2 * i + 1] = o.expand1; }
              xp = src.ptr;
            }
            y = alloc(o.conv.outputShape(s[0], s[1], s[2]));
            o.conv.run(xp, s[0], s[1], s[2], y.ptr);
          } else {
            y = alloc([s[0], s[1], s[2], o.oc]);
            o.mm!.runInt8(x.ptr, s[0] * s[1] * s[2], y.ptr);
          }
          break;
        }
        case 'linear': case 'lowrank': {
          const m = s[0], k = s.reduce((a, b) => a * b, 1) / m;
          if (k !== o.k) throw new QwasmError(`${o.name}: expects ${o.k} input features, got ${k} (shape [${s}])`);
          y = alloc([m, o.n]);
          o.mm.runInt8(x.ptr, m, y.ptr);
          break;
        }
        case 'maxpool': case 'avgpool': {
          // a standalone activation after a linear sees [n, k]: a 1×1 window over [n, 1, 1, k]
          const [n, h, w, c] = s.length === 2 ? [s[0], 1, 1, s[1]] : s;
          const g = resolveGeometry(h, w, o.kh, o.kw, o.stride ?? [o.kh, o.kw], o.padding, undefined, [o.kh - 1, o.kw - 1]);
          y = alloc(s.length === 2 ? [n, c] : [n, g.oh, g.ow, c]);
          if (o.kind === 'maxpool') e.max_pool_s8(n, h, w, c, x.ptr, o.kh, o.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, y.ptr, -128, 127);
          else e.avg_pool_s8(n, h, w, c, x.ptr, o.zpIn, o.kh, o.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, y.ptr, o.ratio, o.out.zeroPoint, o.qmin, o.qmax);
          break;
        }
        case 'gap': {
          if (s.length !== 4) throw new QwasmError(`${o.name}: global pool input must be NHWC, got shape [${s}]`);
          const [n, h, w, c] = s;
          y = alloc([n, c]);
          e.global_avg_pool_s8(n, h, w, c, x.ptr, o.zpIn, y.ptr, o.ratio, o.out.zeroPoint, o.qmin, o.qmax);
          break;
        }
        case 'flatten': y = { ptr: x.ptr, shape: [s[0], s.reduce((a, b) => a * b, 1) / s[0]] }; break;
        case 'residual': {
          const a = this.exec(o.body, x, bufs, trace);
          const b = o.shortcut ? this.exec(o.shortcut, x, bufs, trace) : x;
          const la = a.shape.reduce((p, q) => p * q, 1), lb = b.shape.reduce((p, q) => p * q, 1);
          if (la !== lb) throw new QwasmError(`${o.name}: residual branches have shapes [${a.shape}] and [${b.shape}]`);
          y = alloc(a.shape);
          e.add_s8(la, a.ptr, o.za, o.ma, b.ptr, o.zb, o.mb, y.ptr, o.out.zeroPoint, o.qmin, o.qmax);
          break;
        }
      }
      if (trace && o.kind !== 'flatten' && o.kind !== 'maxpool') {
        const len = y.shape.reduce((a, b) => a * b, 1);
        trace.set(o.name, { data: rt.i8(y.ptr, len).slice(), shape: y.shape, qparams: o.out });
      }
      x = y;
    }
    return x;
  }

  /** Accuracy on a dataset (normalised with the dataset's statistics, like evaluate()). */
  evaluate(ds: Dataset, opts: { batchSize?: number; indices?: ArrayLike<number> } = {}): { accuracy: number; count: number; seconds: number } {
    this.live();
    const bs = checkInt('batchSize', opts.batchSize ?? 250, 1, 65536);
    const it = new BatchIterator(ds, { batchSize: bs, shuffle: false, dropLast: false, indices: opts.indices });
    const xs = new Float32Array(bs * it.sampleSize), ys = new Int32Array(bs);
    const t0 = performance.now();
    let correct = 0, count = 0;
    for (;;) {
      const nb = it.next(xs, ys);
      if (nb === 0) break;
      const logits = this.predict(xs.subarray(0, nb * it.sampleSize), nb);
      const classes = logits.length / nb;
      for (let i = 0; i < nb; i++) {
        let best = 0;
        for (let j = 1; j < classes; j++) if (logits[i * classes + j] > logits[i * classes + best]) best = j;
        if (best === ys[i]) correct++;
      }
      count += nb;
    }
    return { accuracy: correct / Math.max(1, count), count, seconds: (performance.now() - t0) / 1000 };
  }

  /** Median wall time (ms) of predict() on a batch (default 1) over `runs` runs after 2 warm-ups. */
  latencyMs(batch = 1, runs = 20): number {
    this.live();
    checkInt('batch', batch, 1, 65536);
    checkInt('runs', runs, 1, 100000);
    if (!this.inputShape) throw new QwasmError('latencyMs needs the input shape (convert with opts.inputShape or after a forward pass)');
    const per = this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
    const x = new Float32Array(batch * per);
    let s = 12345;
    for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 4294967296) * 2 - 1; }
    for (let i = 0; i < 2; i++) this.predict(x, batch);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) { const t = performance.now(); this.predict(x, batch); times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const walk = (ops: Op[]) => {
      for (const o of ops) {
        if (o.kind === 'conv') { o.conv?.dispose(); o.mm?.dispose(); }
        else if (o.kind === 'linear' || o.kind === 'lowrank') o.mm.dispose();
        else if (o.kind === 'residual') { walk(o.body); if (o.shortcut) walk(o.shortcut); }
      }
    };
    walk(this.ops);
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('Int8Model used after dispose()');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Conversion.

class Converter {
  readonly handles: { dispose(): void }[] = [];
  constructor(readonly rt: Runtime, readonly state: QuantState, readonly o: ConvertOptions) {}

  private unitState(name: string) {
    const s = this.state.units[name];
    if (!s) throw new QwasmError(`quantState has no entry for layer '${name}'`);
    return s;
  }

  private outQ(name: string, key: 'out' | 'mid' = 'out'): QParams {
    const q = this.unitState(name)[key];
    if (!q) throw new QwasmError(`layer '${name}' has no ${key === 'out' ? 'output' : 'intermediate'} quantisation parameters: train the QAT model a step or calibrate it first`);
    checkQ(`quantState.units['${name}'].${key}`, q);
    return q;
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

  private backend(info: LayerInfo, hasMask: boolean): MatmulBackend {
    const b = this.o.backend ?? 'auto';
    const chosen = typeof b === 'function' ? b(info) : b === 'auto' ? undefined : b;
    if (chosen !== undefined) {
      if (chosen !== 'dense' && chosen !== 'sparse' && chosen !== 'lowrank') throw new TypeError(`backend for '${info.name}' must be 'dense', 'sparse' or 'lowrank', got ${describe(chosen)}`);
      if (chosen === 'lowrank' && info.kind !== 'lowrank') throw new QwasmError(`backend 'lowrank' needs a factorised layer; '${info.name}' is a ${info.kind}`);
      if (chosen === 'sparse' && info.kind === 'conv' && !info.pointwise) throw new QwasmError(`backend 'sparse' supports linears and pointwise (1×1, stride 1, unpadded, ungrouped) convs; '${info.name}' is not one`);
      return chosen;
    }
    if (info.kind === 'lowrank') return 'lowrank';
    if ((info.kind === 'linear' || info.pointwise) && (hasMask || info.density <= (this.o.sparseThreshold ?? 0.4))) return 'sparse';
    return 'dense';
  }

  private prunedOf(w: Tensor, k: number, n: number): PrunedInfo | undefined {
    const p = this.o.pruned?.get(w);
    if (!p) return undefined;
    if (p.k !== k || p.n !== n) throw new RangeError(`pruned entry for a ${k}×${n} weight has k×n = ${p.k}×${p.n}`);
    checkArray('pruned mask (kn)', p.kn, Uint8Array, k * n);
    return p;
  }

  private matmul(name: string, qw: Int8Array, k: number, n: number, backend: MatmulBackend, opts: {
    aZeroPoint: number; bias: Int32Array; scale: Float32Array; outZeroPoint: number; activation: FusedActivation; outScale: number;
  }, pruned?: PrunedInfo): { mm: Matmul; bytes: number } {
    const rt = this.rt;
    if (backend === 'sparse') {
      let mask = this.o.masks?.[name];
      if (mask !== undefined) checkArray(`masks['${name}']`, mask, Uint8Array, k * n);
      let fmt: Omit<SparseOptions, 'mask'> = this.o.sparse ?? {};
      if (pruned && mask === undefined) {
        mask = pruned.kn;
        if (pruned.format === 'nm' && pruned.nm) fmt = { format: 'nm', nm: pruned.nm };
        else if (pruned.format === 'block' && pruned.block && (pruned.block[1] === 4 || pruned.block[1] === 8)) fmt = { format: 'block', block: pruned.block };
        else fmt = { format: 'csr' };
      }
      const h = new SparseMatrixS8(rt, qw, k, n, { ...fmt, mask, ...opts });
      this.handles.push(h);
      // an export holds the kept values with their row indices (CSR by output column: int8 + uint16, or
      // uint32 rows for k > 65535), column starts, biases and scales; the kernel's in-memory format
      // (h.bytes) also keeps SIMD-friendly duplicates
      return { mm: h, bytes: h.nnz * (k <= 65535 ? 3 : 5) + 4 * (n + 1) + 8 * n };
    }
    const h = new PackedGemmS8(rt, qw, k, n, opts);
    this.handles.push(h);
    return { mm: h, bytes: k * n + 8 * n };
  }

  convert(units: Unit[], cur: QParams): { ops: Op[]; out: QParams } {
    const ops: Op[] = [];
    for (const u of units) {
      switch (u.kind) {
        case 'conv': {
          const { conv, bn } = u, oc = conv.spec.outChannels;
          const { weight: wf, bias: bf } = bn ? foldBatchNorm(conv, bn)
            : { weight: conv.weight.toArray(), bias: conv.bias ? conv.bias.toArray() : new Float32Array(oc) };
          const inner = wf.length / oc;
          const sW = this.wScales(u.name, wf, 1, oc, inner);
          const qw = quantizeChannels(wf, sW, { outer: 1, c: oc, inner });
          const out = this.outQ(u.name);
          const scale = Float32Array.from(sW, (s) => cur.scale * s / out.scale);
          const bias = biasInt32(bf, cur.scale, sW);
          const [kh, kw, cg] = [conv.kh, conv.kw, conv.weight.shape[3]];
          const s = conv.spec, groups = s.groups ?? 1;
          const pad = padding4('padding', s.padding), one = (v: unknown) => v === undefined || v === 1 || (Array.isArray(v) && v[0] === 1 && v[1] === 1);
          const pointwise = kh === 1 && kw === 1 && groups === 1 && pad.every((p) => p === 0) && one(s.stride) && one(s.dilation);
          const info: LayerInfo = { name: u.name, kind: 'conv', k: kh * kw * cg, n: oc, density: density(qw), pointwise };
          const pruned = pointwise ? this.prunedOf(conv.weight, cg, oc) : undefined;
          const backend = this.backend(info, !!this.o.masks?.[u.name] || !!pruned);
          const common = { bias, scale, outZeroPoint: out.zeroPoint, activation: u.act, outScale: out.scale };
          if (backend === 'sparse') {
            const t = new Int8Array(cg * oc); // OHWI [oc][1][1][c] → [c × oc]
            for (let o = 0; o < oc; o++) for (let c = 0; c < cg; c++) t[c * oc + o] = qw[o * cg + c];
            const { mm, bytes } = this.matmul(u.name, t, cg, oc, 'sparse', { aZeroPoint: cur.zeroPoint, ...common }, pruned);
            ops.push({ kind: 'conv', name: u.name, conv: null, mm, oc, out, bytes: bytes + 8, backend: 'sparse', expand1: null });
          } else {
            // the conv kernel now runs a 1-channel, groups = 1 conv through im2col + GEMM itself
            const expand = false;
            let wk = qw;
            if (expand) { wk = new Int8Array(qw.length * 2); for (let i = 0; i < qw.length; i++) wk[2 * i] = qw[i]; }
            const h = new PackedConv2dS8(this.rt, wk, [oc, kh, kw, expand ? 2 : cg], {
              stride: s.stride, padding: toPadding(s.padding), dilation: s.dilation, groups, inZeroPoint: cur.zeroPoint, ...common,
            });
            this.handles.push(h);
            ops.push({ kind: 'conv', name: u.name, conv: h, mm: null, oc, out, bytes: qw.length + 8 * oc + 8, backend: 'conv', expand1: expand ? cur.zeroPoint : null });
          }
          cur = out;
          break;
        }
        case 'linear': {
          const { linear } = u, k = linear.inFeatures, n = linear.outFeatures;
          const w = linear.weight.toArray(), b = linear.bias ? linear.bias.toArray() : new Float32Array(n);
          const sW = this.wScales(u.name, w, k, n, 1);
          const qw = quantizeChannels(w, sW, { outer: k, c: n, inner: 1 });
          const out = this.outQ(u.name);
          const info: LayerInfo = { name: u.name, kind: 'linear', k, n, density: density(qw), pointwise: false };
          const pruned = this.prunedOf(linear.weight, k, n);
          const backend = this.backend(info, !!this.o.masks?.[u.name] || !!pruned);
          const { mm, bytes } = this.matmul(u.name, qw, k, n, backend, {
            aZeroPoint: cur.zeroPoint, bias: biasInt32(b, cur.scale, sW), scale: Float32Array.from(sW, (s) => cur.scale * s / out.scale),
            outZeroPoint: out.zeroPoint, activation: u.act, outScale: out.scale,
          }, pruned);
          ops.push({ kind: 'linear', name: u.name, mm, k, n, out, bytes: bytes + 8, backend });
          cur = out;
          break;
        }
        case 'lowrank': {
          const [k, r] = u.p.shape, n = u.q.shape[1];
          const p = u.p.toArray(), q = u.q.toArray(), b = u.bias ? u.bias.toArray() : new Float32Array(n);
          const sP = this.wScales(u.name, p, k, r, 1), sQ = this.wScales(u.name, q, r, n, 1, 'weightScales2');
          const qp = quantizeChannels(p, sP, { outer: k, c: r, inner: 1 }), qq = quantizeChannels(q, sQ, { outer: r, c: n, inner: 1 });
          const mid = this.outQ(u.name, 'mid'), out = this.outQ(u.name);
          const info: LayerInfo = { name: u.name, kind: 'lowrank', k, n, density: (density(qp) * qp.length + density(qq) * qq.length) / (qp.length + qq.length), pointwise: false };
          const backend = this.backend(info, false);
          if (backend !== 'lowrank') throw new QwasmError(`a factorised layer ('${u.name}') runs on the 'lowrank' backend, got '${backend}'`);
          const h = new LowRankS8(this.rt, qp, qq, k, r, n, {
            aZeroPoint: cur.zeroPoint, mid: { scale: Float32Array.from(sP, (s) => cur.scale * s / mid.scale), outZeroPoint: mid.zeroPoint },
            bias: biasInt32(b, mid.scale, sQ), scale: Float32Array.from(sQ, (s) => mid.scale * s / out.scale),
            outZeroPoint: out.zeroPoint, activation: u.act, outScale: out.scale,
          });
          this.handles.push(h);
          ops.push({ kind: 'lowrank', name: u.name, mm: h, k, n, out, bytes: qp.length + qq.length + 8 * n + 4 * r + 16, backend: 'lowrank' });
          cur = out;
          break;
        }
        case 'maxpool': case 'avgpool': {
          const po = u.module.opts;
          const [kh, kw] = typeof po.kernel === 'number' ? [po.kernel, po.kernel] : po.kernel;
          const padding = toPadding(po.padding ?? 0);
          if (u.kind === 'maxpool') { ops.push({ kind: 'maxpool', name: u.name, kh, kw, stride: po.stride, padding, out: cur, bytes: 0 }); break; }
          const out = this.outQ(u.name);
          const { qmin, qmax } = activationRange('none', out.zeroPoint, out.scale);
          ops.push({ kind: 'avgpool', name: u.name, kh, kw, stride: po.stride, padding, zpIn: cur.zeroPoint, ratio: f32(cur.scale / out.scale), qmin, qmax, out, bytes: 8 });
          cur = out;
          break;
        }
        case 'gap': case 'act': {
          const out = this.outQ(u.name);
          const { qmin, qmax } = activationRange(u.kind === 'act' ? u.act : 'none', out.zeroPoint, out.scale);
          if (u.kind === 'gap') ops.push({ kind: 'gap', name: u.name, zpIn: cur.zeroPoint, ratio: f32(cur.scale / out.scale), qmin, qmax, out, bytes: 8 });
          // a standalone activation: a 1×1 average pool requantises and clamps
          else ops.push({ kind: 'avgpool', name: u.name, kh: 1, kw: 1, stride: 1, padding: 0, zpIn: cur.zeroPoint, ratio: f32(cur.scale / out.scale), qmin, qmax, out, bytes: 8 });
          cur = out;
          break;
        }
        case 'flatten': ops.push({ kind: 'flatten', name: u.name, out: cur, bytes: 0 }); break;
        case 'dropout': break;
        case 'residual': {
          const a = this.convert(u.body, cur);
          const b = u.shortcut ? this.convert(u.shortcut, cur) : { ops: null, out: cur };
          const out = this.outQ(u.name);
          const { qmin, qmax } = activationRange(u.act, out.zeroPoint, out.scale);
          ops.push({
            kind: 'residual', name: u.name, body: a.ops, shortcut: b.ops, za: a.out.zeroPoint, ma: f32(a.out.scale / out.scale),
            zb: b.out.zeroPoint, mb: f32(b.out.scale / out.scale), qmin, qmax, out, bytes: 8,
          });
          cur = out;
          break;
        }
      }
    }
    return { ops, out: cur };
  }
}

function checkQ(name: string, q: unknown): QParams {
  if (!q || typeof q !== 'object') throw new TypeError(`${name} must be { scale, zeroPoint }, got ${describe(q)}`);
  const { scale, zeroPoint } = q as QParams;
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`${name}.scale must be a finite positive number, got ${describe(scale)}`);
  checkInt(`${name}.zeroPoint`, zeroPoint, -128, 127);
  return { scale: f32(scale), zeroPoint };
}

/**
 * Converts a quantised model to an all-int8 Int8Model. `model` is a QATModel (from prepareQAT / quantizeStatic;
 * its BN must be frozen or in eval mode for the fake-quant and int8 functions to agree) or the float model it
 * wraps; `quantState` defaults to the QAT model's (qat.quantState()).
 */
export function convertToInt8(model: Module, quantState?: QuantState, opts: ConvertOptions = {}): Int8Model {
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
  const input = checkQ('quantState.input', state.input);
  const inputShape = opts.inputShape ?? state.inputShape ?? qat.inputShape;
  if (inputShape) inputShape.forEach((d, i) => checkInt(`inputShape[${i}]`, d, 1, 1 << 16));
  const conv = new Converter(qat.engine.rt, state, opts);
  try {
    const { ops, out } = conv.convert(qat.units, input);
    return new Int8Model(qat.engine.rt, ops, input, inputShape ? [...inputShape] as [number, number, number] : null, out);
  } catch (err) {
    for (const h of conv.handles) h.dispose();
    throw err;
  }
}
