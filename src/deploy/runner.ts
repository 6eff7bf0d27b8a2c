// Runs an Int8Graph on the int8 kernels: the deployment half of Int8Model, with no training code, so the
// standalone entry (src/runtime-entry.ts, `qwasm/runtime`) can ship it alone.
//   conv (dense / grouped / depthwise) → PackedConv2dS8; ungrouped convs (any kernel) with a sparse spec →
//   SparseConv2dS8 (im2col + SparseMatrixS8; 1×1 stride-1 unpadded ones without im2col)
//   linear → PackedGemmS8 (dense) or SparseMatrixS8 (the node's SparseSpec; kept entries = the nonzeros)
//   lowrank → LowRankS8;  max / avg / global-average pool → pool_s8;  residual joins → add_s8;  flatten → nothing
// The graph is validated (src/deploy/validate.ts) before any handle is created; a failure frees what was built.
import type { Runtime } from '../runtime.js';
import type { ResolvedRequant } from '../kernels/requant.js';
import { QwasmError, checkInt, describe } from '../errors.js';
import { PackedGemmS8 } from '../kernels/gemm_s8.js';
import { SparseMatrixS8 } from '../kernels/sparse.js';
import { LowRankS8 } from '../kernels/lowrank.js';
import { PackedConv2dS8, SparseConv2dS8, type Geometry } from '../kernels/conv_s8.js';
import type { DagNode, GraphNode, Int8Graph, QParams, Requant, SparseSpec } from './graph.js';
import { validateGraph, windowGeometry, type SampleShape, type WindowGeometry } from './validate.js';
import { encodeQwm, qwmNodeBytes } from './qwm.js';
import { ThreadPool } from '../threads/pool.js';
import { backgroundPool } from '../threads/transport-browser.js';
import { SharedBatch, chunking } from '../threads/shared-batch.js';
import { runIntraOp } from './intra-op.js';
import { runLayout, scheduleOf, valuesLayout, type Schedule } from './schedule.js';

export interface Int8LayerSummary { name: string; kind: string; backend?: string; bytes: number; scale: number; zeroPoint: number }
export type TraceEntry = { data: Int8Array; shape: number[]; qparams: QParams };

/**
 * One WASM block holding a whole run of n samples (src/deploy/schedule.ts's layout): the input codes, the float
 * input while it is quantised, and every value of the schedule at its place (`ptrs`, absolute).
 */
interface Arena { n: number; base: number; bytes: number; input: number; staging: number; ptrs: number[] }

/** int8 matmul handles share this duck type. */
interface Matmul { runInt8(xPtr: number, m: number, yPtr: number): void; dispose(): void }

/** One compiled node (exported for src/deploy/bands.ts and intra-op.ts, which run ops on row bands). */
export interface Op {
  node: GraphNode;
  /** Per-sample input / output shapes. */
  inS: SampleShape; outS: SampleShape;
  /** Bytes of one sample's output. */
  outBytes: number;
  backend?: 'conv' | 'dense' | 'sparse' | 'lowrank';
  conv?: PackedConv2dS8 | SparseConv2dS8; mm?: Matmul; geo?: WindowGeometry;
  /** A conv handle's geometry for this op's (fixed) input size, resolved once at compile time. */
  convGeo?: Geometry;
  body?: Op[]; shortcut?: Op[] | null;
  /** dag: per step, its compiled chain (merges: none), its per-sample output shape and its inputs' channels. */
  steps?: { ops: Op[] | null; outS: SampleShape; inC: number[] }[];
  /** lut: the 256-entry table in WASM memory. */
  table?: number;
}

/** The compiled child lists of an op, in file order (a residual's body and shortcut, a DAG's chain steps). */
export function childOps(o: Op): Op[][] {
  if (o.body) return o.shortcut ? [o.body, o.shortcut] : [o.body];
  if (o.steps) return o.steps.flatMap((s) => (s.ops ? [s.ops] : []));
  return [];
}


const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** The largest batch·activation any kernel call may see (conv_s8's limit). */
const MAX_BATCH_ELEMS = 2 ** 30;

/**
 * The graph's requantisation carries an explicit clamp [qmin, qmax] (a fused ReLU / ReLU6, or whatever a file
 * says); the kernel handles derive theirs from an activation name, so they are built with 'none' and given the
 * graph's clamp afterwards (the handles read it at every run).
 */
function setClamp(r: ResolvedRequant | null, rq: Requant): void {
  if (!r) throw new QwasmError('internal: a kernel handle was built without requantisation');
  r.qmin = rq.qmin; r.qmax = rq.qmax;
}

/** Mask for a block-sparse kernel: every bk×bn block holding a nonzero (kept zeros add nothing). */
function blockMask(w: Int8Array, k: number, n: number, bk: number, bn: number): Uint8Array {
  const mask = new Uint8Array(k * n);
  for (let k0 = 0; k0 < k; k0 += bk) {
    for (let n0 = 0; n0 < n; n0 += bn) {
      let any = false;
      for (let kk = k0; kk < Math.min(k, k0 + bk) && !any; kk++) for (let j = n0; j < Math.min(n, n0 + bn); j++) if (w[kk * n + j] !== 0) { any = true; break; }
      if (!any) continue;
      for (let kk = k0; kk < Math.min(k, k0 + bk); kk++) for (let j = n0; j < Math.min(n, n0 + bn); j++) mask[kk * n + j] = 1;
    }
  }
  return mask;
}

function sparseHandle(rt: Runtime, w: Int8Array, k: number, n: number, spec: SparseSpec, inZp: number, bias: Int32Array, rq: Requant): SparseMatrixS8 {
  const fmt = spec.format === 'block' ? { format: 'block' as const, block: spec.block, mask: blockMask(w, k, n, spec.block![0], spec.block![1]) }
    : spec.format === 'nm' ? { format: 'nm' as const, nm: spec.nm } : { format: 'csr' as const };
  const h = new SparseMatrixS8(rt, w, k, n, { ...fmt, aZeroPoint: inZp, bias, scale: rq.mult, outZeroPoint: rq.outZp });
  setClamp(h.requant, rq);
  return h;
}

/** x → int8 codes with the input quantisation (round half to even, as quantizeArray in src/quant/fakequant.ts). */
export function quantizeInput(x: ArrayLike<number>, q: QParams, out = new Int8Array(x.length)): Int8Array {
  const s = Math.fround(q.scale), zp = q.zeroPoint, lo = -128 - zp, hi = 127 - zp;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i] / s);
    let t = Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
    t = t < lo ? lo : t > hi ? hi : t;
    out[i] = t + zp;
  }
  return out;
}

/** An int8 graph ready to run. Free its WASM memory with dispose(). */
/** One node's share of a run (Int8Runner.profile). */
export interface NodeTiming { name: string; kind: string; group: string; us: number }

export class Int8Runner {
  readonly graph: Int8Graph;
  readonly input: QParams;
  readonly output: QParams;
  readonly inputShape: [number, number, number];
  readonly classes: number;
  /** @internal the compiled nodes (src/deploy/intra-op.ts runs them on row bands). */
  readonly ops: Op[];
  private readonly handles: { dispose(): void }[] = [];
  /** The flat schedule of `ops`, and those of op sub-lists exec() was given (src/deploy/intra-op.ts). */
  private readonly schedule: Schedule;
  private readonly schedules = new WeakMap<readonly Op[], Schedule>();
  /** Arenas of the last batch sizes run, oldest first (Int8Runner.keepArenas). */
  private readonly arenas = new Map<number, Arena>();
  private readonly maxActivation: number;
  /** The largest DAG step output (per sample; merges are not graph nodes): set while compiling. */
  private mergeMax = 0;
  private encoded: Uint8Array | null = null;
  private disposed = false;
  /** Multiply-accumulates of one sample (validateGraph's count). */
  private readonly macs: number;
  /** Id of this graph's replicas in the pool threads (loaded on the first parallel batch), that pool, and the
   *  last parallel batch with its request (reused by the next batch of the same size; its buffer while large enough). */
  private replicas: { pool: ThreadPool; id: number; last: { batch: SharedBatch; msg: unknown } | null } | null = null;

  /**
   * Batch-parallel inference (docs/THREADS.md) splits a batch over the runtime's threads only when each
   * thread gets at least this many multiply-accumulates (below it, messages cost more than they save).
   */
  static parallelMinMacs = 1 << 20;

  /**
   * A run's memory is one block per batch size (input, quantisation staging, activations, laid out by lifetime),
   * kept for the next call of the same size: the last `keepArenas` sizes run, each while at most `arenaKeepBytes`
   * (a larger one is freed when its call returns). Batch 1, 64, 1 reuses the batch-1 block and keeps one of 64.
   */
  static keepArenas = 2;
  static arenaKeepBytes = 64 << 20;

  /**
   * A parallel batch's claims are at most n / (chunksPerThread × threads) samples (a thread preempted in the middle
   * of a claim holds the call up by at most 1/chunksPerThread of its share), shrinking as the batch runs out
   * (src/threads/shared-batch.ts). bench/threads-ab.js --per-thread 2,4,8 compares settings.
   */
  static chunksPerThread = 4;

  /**
   * Cap (ms) on how long the caller of a parallel batch polls for the other threads' last samples once it has
   * none left to claim (it polls for 1.5 × its fastest sample of the call, capped here), and how long it then
   * polls for their replies, before blocking in the futex wait (docs/THREADS.md); 0 never polls.
   */
  static finishSpinMs = 0.15;
  static replySpinMs = 0.1;

  /**
   * Batch 1 on a runtime with threads: split the image's spatial layers into row bands across the threads
   * (src/deploy/intra-op.ts) when the plan is estimated to pay. false keeps one image on one thread.
   */
  intraOp = true;

  /** Validates `graph` and packs its weights into kernel handles. */
  constructor(readonly rt: Runtime, graph: Int8Graph) {
    if (!rt || typeof rt !== 'object' || typeof (rt as Runtime).alloc !== 'function') throw new TypeError(`rt must be a Runtime, got ${describe(rt)}`);
    const shapes = validateGraph(graph);
    this.graph = graph;
    this.input = graph.input; this.output = graph.output;
    this.inputShape = [...graph.inputShape] as [number, number, number];
    this.classes = graph.classes;
    this.macs = shapes.macs;
    try {
      this.ops = this.compile(graph.nodes, shapes.inputs, shapes.shapes);
    } catch (e) {
      for (const h of this.handles) h.dispose();
      throw e;
    }
    let maxAct = Math.max(size(this.inputShape), this.mergeMax);
    for (const s of shapes.shapes.values()) maxAct = Math.max(maxAct, size(s));
    this.maxActivation = maxAct;
    this.schedule = scheduleOf(this.ops);
  }

  /** Same as `new Int8Runner(rt, graph)` (or the subclass it is called on). */
  static fromGraph<T extends Int8Runner>(this: new (rt: Runtime, graph: Int8Graph) => T, rt: Runtime, graph: Int8Graph): T {
    return new this(rt, graph);
  }

  private compile(nodes: GraphNode[], ins: Map<GraphNode, SampleShape>, outs: Map<GraphNode, SampleShape>): Op[] {
    const rt = this.rt;
    return nodes.map((node): Op => {
      const op: Op = { node, inS: ins.get(node)!, outS: outs.get(node)!, outBytes: size(outs.get(node)!) };
      switch (node.kind) {
        case 'conv':
          if (node.sparse) {
            // validateGraph allows a sparse spec on groups-1 convs only; the GEMM's K×N view is
            // W[k][o] = w[o][ky][kx][c], k = (ky·kw + kx)·cg + c
            const k = node.kh * node.kw * node.cg, n = node.oc, sp = node.sparse;
            let mask: Uint8Array | undefined;
            if (sp.format === 'block') {
              const t = new Int8Array(k * n);
              for (let o = 0; o < n; o++) for (let kk = 0; kk < k; kk++) t[kk * n + o] = node.w[o * k + kk];
              mask = blockMask(t, k, n, sp.block![0], sp.block![1]);
            }
            const h = new SparseConv2dS8(rt, node.w, [node.oc, node.kh, node.kw, node.cg], {
              stride: node.stride, padding: node.padding, dilation: node.dilation, inZeroPoint: node.inZp,
              bias: node.bias, scale: node.rq.mult, outZeroPoint: node.rq.outZp,
              format: sp.format, block: sp.block, nm: sp.nm, mask,
            });
            this.handles.push(h);
            setClamp(h.requant, node.rq);
            op.conv = h; op.backend = 'sparse';
            op.convGeo = h.geometry(op.inS[0], op.inS[1]!);
          } else {
            const h = new PackedConv2dS8(rt, node.w, [node.oc, node.kh, node.kw, node.cg], {
              stride: node.stride, padding: node.padding, dilation: node.dilation, groups: node.groups, inZeroPoint: node.inZp,
              bias: node.bias, scale: node.rq.mult, outZeroPoint: node.rq.outZp,
            });
            this.handles.push(h);
            setClamp(h.requant, node.rq);
            op.conv = h; op.backend = 'conv';
            op.convGeo = h.geometry(op.inS[0], op.inS[1]!);
          }
          break;
        case 'linear':
          if (node.sparse) { op.mm = sparseHandle(rt, node.w, node.k, node.n, node.sparse, node.inZp, node.bias, node.rq); op.backend = 'sparse'; }
          else {
            const h = new PackedGemmS8(rt, node.w, node.k, node.n, { aZeroPoint: node.inZp, bias: node.bias, scale: node.rq.mult, outZeroPoint: node.rq.outZp });
            setClamp(h.requant, node.rq);
            op.mm = h; op.backend = 'dense';
          }
          this.handles.push(op.mm);
          break;
        case 'lowrank': {
          const h = new LowRankS8(rt, node.p, node.q, node.k, node.r, node.n, {
            aZeroPoint: node.inZp, mid: { scale: node.midRq.mult, outZeroPoint: node.mid.zeroPoint },
            bias: node.bias, scale: node.rq.mult, outZeroPoint: node.rq.outZp,
          });
          this.handles.push(h);
          setClamp(h.second.requant, node.rq);
          op.mm = h; op.backend = 'lowrank';
          break;
        }
        case 'maxpool': case 'avgpool': {
          const [h, w] = op.inS.length === 3 ? op.inS : [1, 1];
          op.geo = windowGeometry(h, w, node.kh, node.kw, node.stride, [1, 1], node.padding)!;
          break;
        }
        case 'lut': {
          const t = rt.alloc(256);
          rt.i8(t, 256).set(node.table);
          this.handles.push({ dispose: () => rt.free(t) });
          op.table = t;
          break;
        }
        case 'residual':
          op.body = this.compile(node.body, ins, outs);
          op.shortcut = node.shortcut ? this.compile(node.shortcut, ins, outs) : null;
          break;
        case 'dag': op.steps = this.compileDag(node, op.inS, ins, outs); break;
        default: break;
      }
      return op;
    });
  }

  /** A DAG node's steps: chains compiled, merges' shapes (validateGraph checked them; it records the chains' nodes only). */
  private compileDag(node: DagNode, inS: SampleShape, ins: Map<GraphNode, SampleShape>, outs: Map<GraphNode, SampleShape>): Op['steps'] {
    const shapes: SampleShape[] = [], of = (j: number) => (j < 0 ? inS : shapes[j]);
    return node.steps.map((st) => {
      const sIn = st.inputs.map(of), inC = sIn.map((s) => s[s.length - 1]), c = inC.reduce((a, b) => a + b, 0);
      const outS: SampleShape = st.nodes ? outs.get(st.nodes[st.nodes.length - 1])! : st.merge === 'add' ? sIn[0] : sIn[0].length === 3 ? [sIn[0][0], sIn[0][1]!, c] : [c];
      shapes.push(outS);
      this.mergeMax = Math.max(this.mergeMax, size(outS));
      return { ops: st.nodes ? this.compile(st.nodes, ins, outs) : null, outS, inC };
    });
  }

  /** Layers with their kernel backend, bytes in the .qwm file and output quantisation (execution order). */
  layers(): Int8LayerSummary[] {
    const bytes = qwmNodeBytes(this.graph), out: Int8LayerSummary[] = [];
    const walk = (ops: Op[]) => {
      for (const o of ops) {
        out.push({ name: o.node.name, kind: o.node.kind, backend: o.backend, bytes: bytes.get(o.node)!, scale: o.node.out.scale, zeroPoint: o.node.out.zeroPoint });
        for (const l of childOps(o)) walk(l);
      }
    };
    walk(this.ops);
    return out;
  }

  /** The .qwm file of this graph (encoded once). */
  qwm(): Uint8Array {
    if (!this.encoded) this.encoded = encodeQwm(this.graph);
    return this.encoded;
  }

  /** Bytes on disk: the size of the encoded .qwm file. */
  bytes(): number { return this.qwm().length; }

  /** Logits (dequantised f32, n × classes) of a normalised NHWC float batch of n samples. */
  predict(x: Float32Array, n?: number): Float32Array {
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const m = this.batchOf('x', x.length, n);
    return this.dequantize(this.run(x, m, null));
  }

  /** Output int8 codes (n × classes) of int8 input codes (n samples, NHWC, quantised with `input`). */
  predictCodes(codes: Int8Array, n?: number): Int8Array {
    if (!(codes instanceof Int8Array)) throw new TypeError(`codes must be an Int8Array, got ${describe(codes)}`);
    return this.run(codes, this.batchOf('codes', codes.length, n), null);
  }

  /**
   * predict() without blocking the calling thread, for a browser main thread (docs/THREADS.md): the runtime's Web
   * Workers run the whole batch while this thread stays free. Elsewhere (Node, a Worker, one thread) it is
   * predict(). Bit-identical to predict().
   */
  async predictAsync(x: Float32Array, n?: number): Promise<Float32Array> {
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const m = this.batchOf('x', x.length, n);
    const pool = await backgroundPool(this.rt);
    return pool ? this.dequantize(await this.execAsync(pool, x, m)) : this.predict(x, m);
  }

  /** predictCodes() without blocking the calling thread (see predictAsync). */
  async predictCodesAsync(codes: Int8Array, n?: number): Promise<Int8Array> {
    if (!(codes instanceof Int8Array)) throw new TypeError(`codes must be an Int8Array, got ${describe(codes)}`);
    const m = this.batchOf('codes', codes.length, n);
    const pool = await backgroundPool(this.rt);
    return pool ? await this.execAsync(pool, codes, m) : this.predictCodes(codes, m);
  }

  /** int8 activations of every quantised layer (name → codes, shape, qparams) for one batch: per-layer checks. */
  trace(x: Float32Array, n?: number): Map<string, TraceEntry> {
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const m = this.batchOf('x', x.length, n), tr = new Map<string, TraceEntry>();
    this.run(x, m, tr);
    return tr;
  }

  /** real = output.scale · (code − output.zeroPoint). */
  dequantize(codes: Int8Array): Float32Array {
    const out = new Float32Array(codes.length), { scale, zeroPoint } = this.output;
    for (let i = 0; i < codes.length; i++) out[i] = scale * (codes[i] - zeroPoint);
    return out;
  }

  private batchOf(name: string, len: number, nArg: number | undefined): number {
    this.live();
    const per = size(this.inputShape);
    if (nArg === undefined && (len === 0 || len % per !== 0)) throw new RangeError(`${name} must hold a multiple of ${this.inputShape.join('×')} = ${per} values, got ${len}`);
    const n = nArg ?? len / per;
    checkInt('n', n, 1, 1 << 24);
    if (len !== n * per) throw new RangeError(`${name} must hold n × ${this.inputShape.join('×')} = ${n * per} values, got ${len}`);
    if (n * this.maxActivation > MAX_BATCH_ELEMS) throw new RangeError(`n = ${n} is too large: the largest activation would hold ${n * this.maxActivation} values (limit 2^30); run smaller batches`);
    return n;
  }

  /** Runs a batch of int8 codes or floats (one thread, or split over the pool: execParallel). */
  private run(input: Int8Array | Float32Array, n: number, trace: Map<string, TraceEntry> | null): Int8Array {
    const pool = trace ? null : this.parallelPool(n);
    if (pool) return this.execParallel(pool, input, n);
    const rt = this.rt, a = this.arena(n);
    try {
      const inPtr = this.loadInput(input, a);
      if (trace) trace.set('input', { data: rt.i8(inPtr, input.length).slice(), shape: [n, ...this.inputShape], qparams: this.input });
      if (!trace && n === 1 && this.intraOp && rt.threads > 1 && this.macs >= Int8Runner.parallelMinMacs) {
        const bufs: number[] = [];
        try {
          // one-thread images (the adaptive choice) run in this call's arena
          const banded = runIntraOp(this, inPtr, bufs, () => this.walk(this.schedule, inPtr, 1, a.ptrs, null));
          if (banded !== null) return rt.i8(banded, this.classes).slice();
        } finally {
          for (const p of bufs) rt.free(p);
        }
      }
      const out = this.walk(this.schedule, inPtr, n, a.ptrs, trace);
      return rt.i8(out, n * this.classes).slice();
    } finally {
      this.release(a);
    }
  }

  /** The arena of an n-sample run: kept from an earlier call of that size, or laid out and allocated now. */
  private arena(n: number): Arena {
    let a = this.arenas.get(n);
    if (a) {
      this.arenas.delete(n); // most recently used last
      this.arenas.set(n, a);
      return a;
    }
    const values = this.schedule.bytes.length, { offsets, total } = runLayout(this.schedule, n, size(this.inputShape));
    const base = this.rt.alloc(total);
    a = { n, base, bytes: total, input: base + offsets[values], staging: base + offsets[values + 1], ptrs: offsets.slice(0, values).map((o) => base + o) };
    this.arenas.set(n, a);
    return a;
  }

  /** After a call on arena `a`: frees it if too large to keep, and the oldest arenas beyond keepArenas. */
  private release(a: Arena): void {
    if (a.bytes > Int8Runner.arenaKeepBytes) { this.arenas.delete(a.n); this.rt.free(a.base); }
    for (const [n, old] of this.arenas) {
      if (this.arenas.size <= Math.max(1, Int8Runner.keepArenas)) break;
      this.arenas.delete(n);
      this.rt.free(old.base);
    }
  }

  /**
   * `input` as int8 codes at a.input: codes copied in, or floats quantised inside WASM (quantize_f32, the same
   * rule as quantizeInput, when the loaded build has it) from a.staging.
   */
  private loadInput(input: Int8Array | Float32Array, a: Arena): number {
    const rt = this.rt, len = input.length;
    // every build exports it; a hand-supplied older .wasm may not: then the same rule in JS
    const quantize: ((x: number, n: number, scale: number, zp: number, out: number) => void) | undefined = rt.exports.quantize_f32;
    if (input instanceof Int8Array) rt.i8(a.input, len).set(input);
    else if (typeof quantize === 'function') {
      rt.f32(a.staging, len).set(input);
      quantize(a.staging, len, Math.fround(this.input.scale), this.input.zeroPoint, a.input);
    } else rt.i8(a.input, len).set(quantizeInput(input, this.input));
    return a.input;
  }

  /**
   * Samples [start, start + count) of a parallel call's shared batch, on this runner: quantised here (each thread
   * quantises what it claims), run, codes written into the batch's output. Called by execParallel on the caller's
   * thread and by the pool threads on their replicas (src/deploy/parallel.ts).
   */
  runShared(batch: SharedBatch, start: number, count: number): void {
    const a = this.arena(count);
    try {
      const y = this.walk(this.schedule, this.loadInput(batch.input(start, count), a), count, a.ptrs, null);
      batch.output(start, count).set(this.rt.i8(y, count * this.classes));
    } finally {
      this.release(a);
    }
  }

  /** The pool to split this batch over, or null (one thread, a batch too small, or too little work per thread). */
  private parallelPool(n: number): ThreadPool | null {
    const t = this.rt.threads;
    if (t < 2 || n < 2 || (n / Math.min(t, n)) * this.macs < Int8Runner.parallelMinMacs) return null;
    return ThreadPool.of(this.rt);
  }

  /**
   * Batch-parallel run (docs/THREADS.md): the batch (floats or codes, as given) goes into a SharedArrayBuffer
   * once; this thread and every pool thread (each with its own replica of the graph, decoded once from the same
   * .qwm) claim runs of samples until none is left, each quantising what it claimed and writing its codes into
   * the shared output. Samples never interact in an int8 graph and quantisation is per value, so the codes are
   * bit-identical to one thread whoever runs which samples.
   */
  private execParallel(pool: ThreadPool, input: Int8Array | Float32Array, n: number): Int8Array {
    this.replicaId(pool);
    const r = this.replicas!, batch = this.openBatch(r.last?.batch ?? null, input, n, pool.threads);
    if (r.last?.batch !== batch) r.last = { batch, msg: { task: 'infer.chunks', id: r.id, batch: batch.spec } };
    const msg = r.last.msg;
    // the request goes out first: the workers wake up while this thread copies the input in
    pool.run(pool.workers.map(() => msg), () => {
      batch.fill(input);
      let perSample = Infinity;
      batch.drain((start, count) => { const t = performance.now(); this.runShared(batch, start, count); perSample = Math.min(perSample, (performance.now() - t) / count); });
      // the others are in their last claims (single samples by then): poll about a sample's time for them (a
      // thread preempted meanwhile is not polled for long), and for their replies only if they finished
      return batch.awaitOthers(Math.min(1.5 * perSample, Int8Runner.finishSpinMs));
    }, (finished) => (finished ? Int8Runner.replySpinMs : 0));
    return batch.output(0, n).slice();
  }

  /** @internal the id of this graph's replicas in `pool`'s threads, loaded on first use. */
  replicaId(pool: ThreadPool): number {
    if (!this.replicas || this.replicas.pool !== pool) {
      const id = pool.newId();
      pool.broadcast({ task: 'infer.load', id, qwm: this.qwm() });
      this.replicas = { pool, id, last: null };
    }
    return this.replicas.id;
  }

  /** A SharedBatch for the n samples of `input` (not copied in yet: fill), cut for `threads` claimants (reusing `prev`: SharedBatch.open). */
  private openBatch(prev: SharedBatch | null, input: Int8Array | Float32Array, n: number, threads: number): SharedBatch {
    const minSamples = Math.ceil(Int8Runner.parallelMinMacs / 4 / Math.max(1, this.macs));
    return SharedBatch.open(prev, n, size(this.inputShape), this.classes, input instanceof Float32Array, chunking(n, threads, minSamples, Int8Runner.chunksPerThread));
  }

  /**
   * The asynchronous twin of execParallel for a caller that may not block: the pool's workers claim every chunk;
   * each call has its own SharedBatch (calls may overlap), requests queue per worker (ThreadPool.runAsync).
   */
  private async execAsync(pool: ThreadPool, input: Int8Array | Float32Array, n: number): Promise<Int8Array> {
    if (!this.replicas || this.replicas.pool !== pool) {
      const replicas = { pool, id: pool.newId(), last: null };
      this.replicas = replicas;
      try {
        await pool.runAsync(pool.workers.map(() => ({ task: 'infer.load', id: replicas.id, qwm: this.qwm() })));
      } catch (e) {
        if (this.replicas === replicas) this.replicas = null;
        throw e;
      }
    }
    const batch = this.openBatch(null, input, n, pool.workers.length);
    batch.fill(input);
    await pool.runAsync(pool.workers.map(() => ({ task: 'infer.chunks', id: this.replicas!.id, batch: batch.spec })));
    return batch.output(0, n).slice();
  }

  /**
   * @internal runs `ops` (this runner's, or a sub-list of them) on n samples at x, in one block it pushes on
   * `bufs`; returns the output's pointer (in that block). `times` collects each op's own µs (Int8Runner.profile).
   */
  exec(ops: readonly Op[], x: number, n: number, bufs: number[], trace: Map<string, TraceEntry> | null, times?: Map<Op, number>): number {
    let sc = ops === this.ops ? this.schedule : this.schedules.get(ops);
    if (!sc) this.schedules.set(ops, sc = scheduleOf(ops));
    const { offsets, total } = valuesLayout(sc, n), base = this.rt.alloc(total);
    bufs.push(base);
    return this.walk(sc, x, n, offsets.map((o) => base + o), trace, times);
  }

  /** Runs schedule `sc` on n samples at x, value v at ptrs[v]; returns the output's pointer. */
  private walk(sc: Schedule, x: number, n: number, ptrs: readonly number[], trace: Map<string, TraceEntry> | null, times?: Map<Op, number>): number {
    const rt = this.rt, e = rt.exports, at = (v: number) => (v < 0 ? x : ptrs[v]);
    const record = trace ? (rs: Schedule['pre']) => {
      for (const r of rs) trace.set(r.name, { data: rt.i8(at(r.v), n * r.bytes).slice(), shape: [n, ...r.shape], qparams: r.qparams });
    } : null;
    record?.(sc.pre);
    for (const st of sc.steps) {
      const o = st.op, nd = o.node, s = o.inS, xp = at(st.ins[0]), y = ptrs[st.out];
      const t0 = times ? performance.now() : 0;
      switch (nd.kind) {
        // geometry and sizes were resolved and checked when the graph was compiled (n by batchOf)
        case 'conv': o.conv!.runResolved(xp, n, s[0], s[1]!, o.convGeo!, y); break;
        case 'linear': case 'lowrank': o.mm!.runInt8(xp, n, y); break;
        case 'maxpool': case 'avgpool': {
          const [h, w, c] = s.length === 3 ? s : [1, 1, s[0]];
          const g = o.geo!;
          if (nd.kind === 'maxpool') e.maxpool2d_s8(n, h, w, c, xp, nd.kh, nd.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, y, -128, 127);
          else e.avgpool2d_s8(n, h, w, c, xp, nd.inZp, nd.kh, nd.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, y, nd.ratio, nd.outZp, nd.qmin, nd.qmax);
          break;
        }
        case 'gap': e.global_avgpool_s8(n, s[0], s[1]!, s[2]!, xp, nd.inZp, y, nd.ratio, nd.outZp, nd.qmin, nd.qmax); break;
        case 'lut': e.lut_s8(xp, o.table!, y, n * o.outBytes); break;
        case 'residual': e.add_s8(n * o.outBytes, xp, nd.za, nd.ma, at(st.ins[1]), nd.zb, nd.mb, y, nd.outZp, nd.qmin, nd.qmax); break;
        case 'dag': { // a merge
          const dst = nd.steps[st.dag], sp = o.steps![st.dag], bytes = size(sp.outS), q = dst.out!, zp = dst.zp!, m = dst.mult!;
          if (dst.merge === 'add') e.add_s8(n * bytes, xp, zp[0], m[0], at(st.ins[1]), zp[1], m[1], y, q.zeroPoint, dst.qmin!, dst.qmax!);
          else {
            const ctot = sp.outS[sp.outS.length - 1], pixels = n * (bytes / ctot);
            let off = 0;
            st.ins.forEach((v, k) => { e.concat_s8(pixels, at(v), sp.inC[k], zp[k], m[k], y, ctot, off, q.zeroPoint); off += sp.inC[k]; });
          }
          break;
        }
        default: throw new QwasmError(`internal: a ${nd.kind} node has no kernel step`);
      }
      if (times) times.set(o, (times.get(o) ?? 0) + performance.now() - t0);
      record?.(st.traces);
    }
    return at(sc.result);
  }

  /** Median wall time (ms) of predict() on a batch (default 1) over `runs` runs after 2 warm-ups. */
  latencyMs(batch = 1, runs = 20): number {
    this.live();
    checkInt('batch', batch, 1, 65536);
    checkInt('runs', runs, 1, 100000);
    const x = new Float32Array(batch * size(this.inputShape));
    let s = 12345;
    for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 4294967296) * 2 - 1; }
    for (let i = 0; i < 2; i++) this.predict(x, batch);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) { const t = performance.now(); this.predict(x, batch); times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    return times[times.length >> 1];
  }

  /**
   * Where a run's time goes: each node's median µs over `rounds` runs of a normalised float batch (one thread;
   * a residual node's time is its add, its body's nodes are listed on their own), in execution order, with a
   * `group` naming the kernel family (1×1 convs are GEMMs over the pixels).
   */
  profile(x: Float32Array, n?: number, rounds = 7): NodeTiming[] {
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const m = this.batchOf('x', x.length, n);
    checkInt('rounds', rounds, 1, 100000);
    const rt = this.rt, per = size(this.inputShape), samples = new Map<Op, number[]>();
    for (let r = -1; r < rounds; r++) { // round −1 warms up
      const bufs: number[] = [], times = new Map<Op, number>();
      try {
        const inPtr = rt.alloc(m * per); bufs.push(inPtr);
        rt.i8(inPtr, m * per).set(quantizeInput(x, this.input));
        this.exec(this.ops, inPtr, m, bufs, null, times);
      } finally { for (const p of bufs) rt.free(p); }
      if (r >= 0) for (const [o, t] of times) { if (!samples.has(o)) samples.set(o, []); samples.get(o)!.push(t * 1000); }
    }
    const out: NodeTiming[] = [];
    const walk = (ops: Op[]) => {
      for (const o of ops) {
        for (const l of childOps(o)) walk(l);
        const t = (samples.get(o) ?? [0]).sort((a, b) => a - b), nd = o.node; // a flatten has no kernel
        const group = nd.kind === 'conv' ? (nd.groups > 1 && nd.groups === nd.oc ? `depthwise ${nd.kh}×${nd.kw}` : nd.kh === 1 && nd.kw === 1 ? 'conv 1×1 (GEMM)' : `conv ${nd.kh}×${nd.kw}`)
          : nd.kind === 'residual' ? 'residual add' : nd.kind === 'dag' ? 'dag merges' : nd.kind === 'linear' || nd.kind === 'lowrank' || nd.kind === 'gap' || nd.kind === 'flatten' ? 'pool + head' : nd.kind;
        out.push({ name: nd.name, kind: nd.kind, group, us: t[t.length >> 1] });
      }
    };
    walk(this.ops);
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const h of this.handles) h.dispose();
    for (const a of this.arenas.values()) this.rt.free(a.base);
    this.arenas.clear();
    if (this.replicas) {
      const { pool, id } = this.replicas;
      this.replicas = null;
      if (this.rt.threading?.blocking) pool.broadcast({ task: 'infer.free', id });
      else void pool.runAsync(pool.workers.map(() => ({ task: 'infer.free', id }))).catch(() => undefined); // may not block here
    }
  }

  protected live(): void {
    if (this.disposed) throw new QwasmError(`${this.constructor.name} used after dispose()`);
  }
}
