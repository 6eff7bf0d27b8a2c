// int8 conv2d (assembly/conv_s8.ts), NHWC activations and OHWI weights, TFLite semantics: a persistent
// packed-weights handle for layers of whole int8 models, plain typed-array calls, and the reference twin.
import { withPacked } from './pack-cache.js';
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, describe, QwasmError } from '../errors.js';
import { resolveRequant, type RequantParams, type ResolvedRequant } from './requant.js';
import { SparseMatrixS8, type SparseOptions } from './sparse.js';
import { convDescriptor, convDescriptorS8 } from './descriptor.js';

/** A pair of per-axis values, or one number for both (height, width). */
export type Pair = number | [number, number];
/**
 * Spatial padding: one number (all four sides), [top, left, bottom, right], 'valid' (none) or 'same'
 * (TensorFlow SAME: output size ceil(in / stride); the odd extra pixel goes to the bottom / right).
 */
export type Padding = number | [number, number, number, number] | 'same' | 'valid';

export interface Conv2dS8Options extends RequantParams {
  /** Stride (sh, sw) ≥ 1; default 1. */
  stride?: Pair;
  /** Padding (padded pixels hold the input zero point, i.e. real value 0); default 0. */
  padding?: Padding;
  /** Dilation (dh, dw) ≥ 1; default 1. */
  dilation?: Pair;
  /** Groups: divides C and OC; weights are [OC][KH][KW][C / groups]. groups == C is depthwise. Default 1. */
  groups?: number;
  /** Zero point of the input activations, in [-128, 127]; default 0. */
  inZeroPoint?: number;
  /** int32 bias per output channel, in accumulator units (inputScale · weightScale[o]); default none. */
  bias?: Int32Array;
  // From RequantParams: scale (per output channel: inputScale · weightScale[o] / outputScale, required),
  // outZeroPoint, activation ('none' | 'relu' | 'relu6'), outScale (for relu6).
}

export type Shape4 = [number, number, number, number];

export interface Tensor4S8 {
  data: Int8Array;
  shape: Shape4;
}

/** Resolved spatial geometry of one conv / pool. */
export interface Geometry {
  sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; dh: number; dw: number; oh: number; ow: number;
}

const MAX_ELEMS = 2 ** 30;

export function checkShape4(name: string, v: unknown, labels: readonly string[]): Shape4 {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new TypeError(`${name} must be an array of 4 integers, got ${describe(v)}`);
  const a = v as ArrayLike<number>;
  if (a.length !== 4) throw new RangeError(`${name} must have 4 entries [${labels.join(', ')}], got ${a.length}`);
  const out = [0, 0, 0, 0] as Shape4;
  for (let i = 0; i < 4; i++) out[i] = checkInt(`${name}[${i}] (${labels[i]})`, a[i], 1, MAX_ELEMS);
  if (out[0] * out[1] * out[2] * out[3] > MAX_ELEMS) throw new RangeError(`${name} [${out.join(', ')}] has more than 2^30 elements`);
  return out;
}

export function checkPair(name: string, v: unknown, dflt: number, min: number, max: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') { checkInt(name, v, min, max); return [v, v]; }
  if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`${name} must be an integer or a pair [h, w], got ${describe(v)}`);
  return [checkInt(`${name}[0]`, v[0], min, max), checkInt(`${name}[1]`, v[1], min, max)];
}

/**
 * Resolves stride / padding / dilation for an input of h×w and an effective kernel kh×kw; throws when the
 * output would be empty. maxPad bounds each explicit pad (pools: kernel − 1, so every window holds a pixel).
 */
export function resolveGeometry(h: number, w: number, kh: number, kw: number, stride: unknown, padding: unknown,
                                dilation: unknown, maxPad?: [number, number]): Geometry {
  const [sh, sw] = checkPair('stride', stride, 1, 1, 1 << 16);
  const [dh, dw] = checkPair('dilation', dilation, 1, 1, 1 << 16);
  const ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
  let pt = 0, pl = 0, pb = 0, pr = 0;
  if (padding === undefined || padding === 'valid') { /* none */ }
  else if (padding === 'same') {
    const th = Math.max((Math.ceil(h / sh) - 1) * sh + ekh - h, 0), tw = Math.max((Math.ceil(w / sw) - 1) * sw + ekw - w, 0);
    pt = th >> 1; pb = th - pt; pl = tw >> 1; pr = tw - pl;
  } else if (typeof padding === 'number') {
    pt = pl = pb = pr = checkInt('padding', padding, 0, 1 << 16);
  } else if (Array.isArray(padding) && padding.length === 4) {
    [pt, pl, pb, pr] = padding.map((p, i) => checkInt(`padding[${i}]`, p, 0, 1 << 16));
  } else {
    throw new TypeError(`padding must be a number, [top, left, bottom, right], 'same' or 'valid', got ${describe(padding)}`);
  }
  if (maxPad) {
    const names = ['top', 'left', 'bottom', 'right'];
    [pt, pl, pb, pr].forEach((p, i) => {
      const lim = maxPad[i & 1];
      if (p > lim) throw new RangeError(`padding ${names[i]} must be < the kernel size (at most ${lim}), got ${p}`);
    });
  }
  const oh = Math.floor((h + pt + pb - ekh) / sh) + 1, ow = Math.floor((w + pl + pr - ekw) / sw) + 1;
  if (!(oh >= 1 && ow >= 1)) {
    throw new RangeError(`output size would be ${Math.max(oh, 0)}×${Math.max(ow, 0)}: the (dilated) kernel ${ekh}×${ekw} does not fit the padded input ${h + pt + pb}×${w + pl + pr}`);
  }
  return { sh, sw, pt, pl, pb, pr, dh, dw, oh, ow };
}

interface ConvParams {
  oc: number; kh: number; kw: number; cg: number; groups: number; c: number; zpIn: number; requant: ResolvedRequant;
}

function checkConvParams(weights: unknown, wShape: unknown, opts: Conv2dS8Options | undefined): ConvParams {
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object with at least 'scale', got ${describe(opts)}`);
  const [oc, kh, kw, cg] = checkShape4('wShape', wShape, ['oc', 'kh', 'kw', 'cPerGroup']);
  const groups = checkInt('groups', opts.groups ?? 1, 1, 1 << 20);
  if (oc % groups !== 0) throw new RangeError(`groups (${groups}) must divide the output channels wShape[0] (${oc})`);
  const w = checkArray('weights', weights, Int8Array, oc * kh * kw * cg);
  const bad = w.indexOf(-128);
  if (bad >= 0) throw new RangeError(`weights[${bad}] is -128: int8 weights must lie in [-127, 127] (TFLite symmetric)`);
  const zpIn = checkInt('inZeroPoint', opts.inZeroPoint ?? 0, -128, 127);
  if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, oc);
  const requant = resolveRequant(opts, oc, 'opts');
  return { oc, kh, kw, cg, groups, c: cg * groups, zpIn, requant };
}

function checkInput(p: ConvParams, input: unknown, inShape: unknown): Shape4 {
  const s = checkShape4('inShape', inShape, ['n', 'h', 'w', 'c']);
  if (s[3] !== p.c) throw new RangeError(`inShape[3] (c = ${s[3]}) must equal wShape[3] · groups = ${p.cg} · ${p.groups} = ${p.c}`);
  checkArray('input', input, Int8Array, s[0] * s[1] * s[2] * s[3]);
  return s;
}

function checkOutSize(n: number, g: Geometry, oc: number): void {
  if (n * g.oh * g.ow * oc > MAX_ELEMS) throw new RangeError(`output [${n}, ${g.oh}, ${g.ow}, ${oc}] has more than 2^30 elements`);
}

/**
 * What every int8 conv layer object shares, whatever kernel runs it: the fixed geometry options, the per-run
 * geometry and checks, the typed-array apply() and the dispose() guard. Subclasses give runResolved() (the
 * kernel call) and release() (their WASM memory).
 */
abstract class Conv2dS8Layer {
  readonly oc: number; readonly kh: number; readonly kw: number; readonly c: number;
  readonly groups: number; readonly inZeroPoint: number;
  private readonly opts: Conv2dS8Options;
  private disposed = false;

  protected constructor(readonly rt: Runtime, p: ConvParams, opts: Conv2dS8Options, private readonly kind: string) {
    // validate the geometry options now (on a dummy input big enough) so errors surface at construction
    resolveGeometry(MAX_ELEMS, MAX_ELEMS, p.kh, p.kw, opts.stride, opts.padding, opts.dilation);
    this.oc = p.oc; this.kh = p.kh; this.kw = p.kw; this.c = p.c; this.groups = p.groups; this.inZeroPoint = p.zpIn;
    this.opts = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation } as Conv2dS8Options;
  }

  /** Spatial geometry (stride, resolved padding, dilation, output size) for an h×w input. */
  geometry(h: number, w: number): Geometry {
    checkInt('h', h, 1, MAX_ELEMS);
    checkInt('w', w, 1, MAX_ELEMS);
    return resolveGeometry(h, w, this.kh, this.kw, this.opts.stride, this.opts.padding, this.opts.dilation);
  }

  /** The int8 conv descriptor (assembly/conv_desc.ts) of one call, in the runtime's descriptor block. */
  protected descriptor(n: number, h: number, w: number, g: Geometry, r: ResolvedRequant): number {
    return convDescriptorS8(this.rt, n, h, w, this.c, this.oc, this.kh, this.kw, this.groups, g, this.inZeroPoint, r.zp, r.qmin, r.qmax);
  }

  /** Output shape [n, oh, ow, oc] for an input [n, h, w, c]. */
  outputShape(n: number, h: number, w: number): Shape4 {
    checkInt('n', n, 1, MAX_ELEMS);
    const g = this.geometry(h, w);
    return [n, g.oh, g.ow, this.oc];
  }

  /**
   * Pointer-level run: input at inputPtr (int8 NHWC [n, h, w, c]) → output at outPtr (int8 NHWC
   * outputShape(n, h, w), n·oh·ow·oc bytes, caller-allocated). Allocates only scratch it frees.
   */
  run(inputPtr: number, n: number, h: number, w: number, outPtr: number): void {
    this.live();
    checkInt('n', n, 1, MAX_ELEMS);
    const g = this.geometry(h, w);
    if (n * h * w * this.c > MAX_ELEMS) throw new RangeError(`input [${n}, ${h}, ${w}, ${this.c}] has more than 2^30 elements`);
    checkOutSize(n, g, this.oc);
    checkInt('inputPtr', inputPtr, 1);
    checkInt('outPtr', outPtr, 1);
    this.runResolved(inputPtr, n, h, w, g, outPtr);
  }

  /**
   * run() without its checks, for a caller that resolved `g = geometry(h, w)` once and checked the sizes
   * itself (the int8 runner does it when it compiles a graph: at batch 1 the checks cost as much as a small layer).
   */
  abstract runResolved(inputPtr: number, n: number, h: number, w: number, g: Geometry, outPtr: number): void;

  /** Typed-array run: copies input in, runs, copies the output out. */
  apply(input: Int8Array, inShape: Shape4): Tensor4S8 {
    this.live();
    const s = checkShape4('inShape', inShape, ['n', 'h', 'w', 'c']);
    if (s[3] !== this.c) throw new RangeError(`inShape[3] (c = ${s[3]}) must equal wShape[3] · groups = ${this.c}`);
    checkArray('input', input, Int8Array, s[0] * s[1] * s[2] * s[3]);
    const shape = this.outputShape(s[0], s[1], s[2]);
    checkOutSize(s[0], this.geometry(s[1], s[2]), this.oc);
    const len = shape[0] * shape[1] * shape[2] * shape[3];
    return this.rt.scoped((sc) => {
      const ip = sc.put(input), op = sc.alloc(len);
      this.run(ip, s[0], s[1], s[2], op);
      return { data: this.rt.i8(op, len).slice(), shape };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }

  /** Frees the subclass's WASM memory (once, from dispose()). */
  protected abstract release(): void;

  protected live(): void {
    if (this.disposed) throw new QwasmError(`${this.kind} used after dispose()`);
  }
}

/**
 * Conv weights packed once into WASM memory (per group in the int8 GEMM layout, or the depthwise layout),
 * with bias, the input zero-point correction and the requantisation scales folded in. Stride, padding,
 * dilation, zero points and activation are fixed at construction; the input size is given per run.
 */
export class PackedConv2dS8 extends Conv2dS8Layer {
  readonly ptr: number;
  readonly bytes: number;
  readonly cPerGroup: number;
  readonly requant: ResolvedRequant;

  constructor(rt: Runtime, weights: Int8Array, wShape: Shape4, opts: Conv2dS8Options) {
    const p = checkConvParams(weights, wShape, opts);
    super(rt, p, opts, 'PackedConv2dS8');
    this.cPerGroup = p.cg; this.requant = p.requant;
    const e = rt.exports;
    this.bytes = e.conv2d_s8_packed_size(p.oc, p.kh, p.kw, p.cg, p.groups);
    this.ptr = rt.alloc(this.bytes);
    try {
      rt.scoped((s) => {
        const wp = s.put(weights), bp = opts.bias ? s.put(opts.bias) : 0, sp = s.put(p.requant.scale);
        e.conv2d_s8_pack(p.oc, p.kh, p.kw, p.cg, p.groups, wp, bp, p.zpIn, sp, this.ptr);
      });
    } catch (err) {
      rt.free(this.ptr);
      throw err;
    }
  }

  runResolved(inputPtr: number, n: number, h: number, w: number, g: Geometry, outPtr: number): void {
    const r = this.requant;
    this.rt.exports.conv2d_s8(this.descriptor(n, h, w, g, r), this.ptr, inputPtr, outPtr);
  }

  protected release(): void { this.rt.free(this.ptr); }
}

/** What both whole-call forms check before any work: weights and options, the input, the geometry, the output size. */
function checkCall(input: Int8Array, inShape: Shape4, weights: Int8Array, wShape: Shape4, opts: Conv2dS8Options) {
  const p = checkConvParams(weights, wShape, opts);
  const s = checkInput(p, input, inShape);
  const g = resolveGeometry(s[1], s[2], p.kh, p.kw, opts.stride, opts.padding, opts.dilation);
  checkOutSize(s[0], g, p.oc);
  return { p, s, g };
}

/** int8 conv2d through the fast paths (the packed weights are cached while `weights` is unchanged: src/kernels/pack-cache.ts). */
export function conv2dS8(rt: Runtime, input: Int8Array, inShape: Shape4, weights: Int8Array, wShape: Shape4,
                         opts: Conv2dS8Options): Tensor4S8 {
  const { s } = checkCall(input, inShape, weights, wShape, opts);
  return withPacked(rt, weights, ['conv2d_s8', wShape, opts], () => new PackedConv2dS8(rt, weights, wShape, opts), (h) => h.bytes,
    (packed) => packed.apply(input, s));
}

/** The plain-loop reference (unpacked weights, no SIMD): same semantics as conv2dS8. */
export function conv2dS8Reference(rt: Runtime, input: Int8Array, inShape: Shape4, weights: Int8Array, wShape: Shape4,
                                  opts: Conv2dS8Options): Tensor4S8 {
  const { p, s, g } = checkCall(input, inShape, weights, wShape, opts);
  const shape: Shape4 = [s[0], g.oh, g.ow, p.oc];
  const len = s[0] * g.oh * g.ow * p.oc;
  const r = p.requant;
  return rt.scoped((sc) => {
    const ip = sc.put(input), wp = sc.put(weights), bp = opts.bias ? sc.put(opts.bias) : 0, sp = sc.put(r.scale);
    const op = sc.alloc(len);
    const desc = convDescriptor(rt, { n: s[0], h: s[1], w: s[2], c: s[3], oc: p.oc, kh: p.kh, kw: p.kw, groups: p.groups, ...g },
      { zpIn: p.zpIn, zpOut: r.zp, qmin: r.qmin, qmax: r.qmax });
    rt.exports.conv2d_s8_ref(desc, ip, wp, bp, sp, op);
    return { data: rt.i8(op, len).slice(), shape };
  });
}

export interface SparseConv2dS8Options extends Conv2dS8Options, SparseOptions {
  // From SparseOptions: format ('csr' | 'block' | 'nm'), block, nm, and mask: u8[K×N] over the GEMM view
  // W[k][o] = w[o][ky][kx][c], k = (ky·KW + kx)·C + c (as src/compress/prune.ts's `kn`); default the nonzeros.
}

/** Target bytes of one im2col chunk: big enough that per-chunk call overhead vanishes, small enough for L2. */
const SPARSE_CHUNK_BYTES = 1 << 17;

/**
 * An ungrouped int8 conv (any kernel, stride, padding, dilation) on the sparse int8 GEMM: im2col (im2col_s8,
 * padding written as the input zero point) into a [N·OH·OW × KH·KW·C] patch matrix, then SparseMatrixS8 over the
 * K×N view of the OHWI weights. The sparse GEMM folds −zpIn·Σ kept w into the bias, so padded taps add exactly 0
 * and the int8 output equals PackedConv2dS8's (and conv2d_s8_ref's) bit for bit for the same weights; a 1×1 /
 * stride 1 / unpadded conv skips im2col (the NHWC input already is the patch matrix). Same API as PackedConv2dS8.
 */
export class SparseConv2dS8 extends Conv2dS8Layer {
  readonly matrix: SparseMatrixS8;
  readonly k: number;

  constructor(rt: Runtime, weights: Int8Array, wShape: Shape4, opts: SparseConv2dS8Options) {
    const p = checkConvParams(weights, wShape, opts);
    if (p.groups !== 1) throw new RangeError(`groups must be 1 for SparseConv2dS8, got ${p.groups} (grouped / depthwise convs run on PackedConv2dS8)`);
    super(rt, p, opts, 'SparseConv2dS8');
    this.k = p.kh * p.kw * p.cg;
    const k = this.k, n = p.oc;
    const t = new Int8Array(k * n); // OHWI [o][k] → K×N [k][o]
    for (let o = 0; o < n; o++) for (let kk = 0; kk < k; kk++) t[kk * n + o] = weights[o * k + kk];
    this.matrix = new SparseMatrixS8(rt, t, k, n, {
      mask: opts.mask, format: opts.format, block: opts.block, nm: opts.nm,
      aZeroPoint: p.zpIn, bias: opts.bias, scale: opts.scale, outZeroPoint: opts.outZeroPoint,
      activation: opts.activation, outScale: opts.outScale,
    });
  }

  /** The requantisation the GEMM applies (the int8 runner sets its clamp from the graph). */
  get requant(): ResolvedRequant { return this.matrix.requant!; }

  runResolved(inputPtr: number, n: number, h: number, w: number, g: Geometry, outPtr: number): void {
    this.live();
    const m = this.matrix, k = this.k, oc = this.oc;
    if (this.kh === 1 && this.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.oh === h && g.ow === w) {
      m.runInt8(inputPtr, n * h * w, outPtr); // the NHWC input is the patch matrix already
      return;
    }
    const total = n * g.oh * g.ow;
    // whole 16-row blocks per chunk: the GEMM runs 16 / 8 rows at a time and only the last chunk has a tail
    let rows = Math.max(16, Math.floor(SPARSE_CHUNK_BYTES / k) & ~15);
    if (rows > total) rows = total;
    const e = this.rt.exports;
    // kernel memory may grow inside these calls: only pointers are held across them, no ArrayBuffer views
    const a = this.rt.alloc(rows * k);
    const desc = this.descriptor(n, h, w, g, this.requant);
    try {
      for (let p0 = 0; p0 < total; p0 += rows) {
        const r = Math.min(rows, total - p0);
        e.im2col_s8(desc, p0, r, inputPtr, a);
        m.runInt8(a, r, outPtr + p0 * oc);
      }
    } finally {
      this.rt.free(a);
    }
  }

  protected release(): void { this.matrix.dispose(); }
}

/**
 * im2col of an ungrouped conv (typed arrays): the [n·oh·ow × kh·kw·c] int8 patch matrix, k = (ky·kw + kx)·c + ci,
 * padding = inZeroPoint. What SparseConv2dS8 feeds its GEMM (exposed for tests and tools).
 */
export function im2colS8(rt: Runtime, input: Int8Array, inShape: Shape4, kernel: Pair,
                         opts: { stride?: Pair; padding?: Padding; dilation?: Pair; inZeroPoint?: number } = {}): { data: Int8Array; rows: number; k: number } {
  const s = checkShape4('inShape', inShape, ['n', 'h', 'w', 'c']);
  checkArray('input', input, Int8Array, s[0] * s[1] * s[2] * s[3]);
  const [kh, kw] = checkPair('kernel', kernel, 1, 1, 65535);
  const zp = checkInt('inZeroPoint', opts.inZeroPoint ?? 0, -128, 127);
  const g = resolveGeometry(s[1], s[2], kh, kw, opts.stride, opts.padding, opts.dilation);
  const rows = s[0] * g.oh * g.ow, k = kh * kw * s[3];
  if (rows * k > MAX_ELEMS) throw new RangeError(`the patch matrix ${rows}×${k} has more than 2^30 elements`);
  return rt.scoped((sc) => {
    const ip = sc.put(input), ap = sc.alloc(rows * k);
    const desc = convDescriptor(rt, { n: s[0], h: s[1], w: s[2], c: s[3], oc: 1, kh, kw, groups: 1, ...g },
      { zpIn: zp, zpOut: 0, qmin: -128, qmax: 127 });
    rt.exports.im2col_s8(desc, 0, rows, ip, ap);
    return { data: rt.i8(ap, rows * k).slice(), rows, k };
  });
}
