// int8 GEMM on the packed "4x8c2" microkernel (assembly/gemm_s8.ts): a persistent packed-weights handle for
// layers, and plain typed-array calls for people who just want C = A·B.
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, QwasmError } from '../errors.js';
import { resolveRequant, type RequantParams, type ResolvedRequant } from './requant.js';
import { withPacked } from './pack-cache.js';

/** `mode` of gemm_s8 / gemm_s8_ref / sparse_gemm_s8_*: exact int32 output (the same constant as assembly/requant.ts's OUT_I32, a wasm global). */
export const OUT_I32 = 0;
/** `mode`: int8 output requantised with scale[N], zp, [qmin, qmax] (assembly/requant.ts OUT_S8). */
export const OUT_S8 = 1;

export interface GemmS8Options extends Partial<RequantParams> {
  /** Zero point of the activations A, in [-128, 127]; default 0. */
  aZeroPoint?: number;
  /** int32 bias per output column (in accumulator units: inputScale·weightScale). */
  bias?: Int32Array;
}

function checkDims(m: number, k: number, n: number): void {
  checkInt('m', m, 1);
  checkInt('k', k, 1, 1 << 24);
  checkInt('n', n, 1, 1 << 24);
  if (m * k > 0x40000000 || k * n > 0x40000000 || m * n > 0x10000000) throw new RangeError(`m×k×n = ${m}×${k}×${n} is too large for one call`);
}

/**
 * B (K×N int8, row-major) packed once into WASM memory with bias and the activation zero-point correction
 * folded in, plus its requantisation parameters. Reused for every call; free with dispose().
 */
export class PackedGemmS8 {
  readonly ptr: number;
  readonly bytes: number;
  readonly scalePtr: number;
  readonly requant: ResolvedRequant | null;
  private disposed = false;

  constructor(readonly rt: Runtime, b: Int8Array, readonly k: number, readonly n: number, opts: GemmS8Options = {}) {
    checkInt('k', k, 1, 1 << 24);
    checkInt('n', n, 1, 1 << 24);
    checkArray('b', b, Int8Array, k * n);
    for (let i = 0; i < b.length; i++) {
      if (b[i] === -128) throw new RangeError(`b[${i}] is -128: int8 weights must lie in [-127, 127] (TFLite symmetric)`);
    }
    const zpA = checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
    this.requant = opts.scale !== undefined ? resolveRequant(opts as RequantParams, n) : null;
    const e = rt.exports;
    this.bytes = e.gemm_s8_packed_size(k, n);
    this.ptr = rt.alloc(this.bytes);
    this.scalePtr = this.requant ? rt.put(this.requant.scale) : 0;
    rt.scoped((s) => {
      const bp = s.put(b);
      const biasp = opts.bias ? s.put(opts.bias) : 0;
      e.gemm_s8_pack(k, n, bp, n, biasp, zpA, this.ptr);
    });
  }

  /** C (int32, m×n, row stride ldc) = A·B + bias' for A at aPtr (int8, m×k, row stride lda). */
  runInt32(aPtr: number, m: number, cPtr: number, lda = this.k, ldc = this.n): void {
    this.live();
    this.checkStrides(lda, ldc);
    this.rt.exports.gemm_s8(m, this.k, this.n, aPtr, lda, this.ptr, cPtr, ldc, OUT_I32, 0, 0, 0, 0);
  }

  /** C (int8, requantised) for A at aPtr. */
  runInt8(aPtr: number, m: number, cPtr: number, lda = this.k, ldc = this.n): void {
    this.live();
    this.checkStrides(lda, ldc);
    const r = this.requant;
    if (!r) throw new QwasmError('this PackedGemmS8 was built without requantisation parameters (scale)');
    this.rt.exports.gemm_s8(m, this.k, this.n, aPtr, lda, this.ptr, cPtr, ldc, OUT_S8, this.scalePtr, r.zp, r.qmin, r.qmax);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.ptr);
    this.rt.free(this.scalePtr);
  }

  /** Row strides in elements: A rows lda ≥ k apart, C rows ldc ≥ n apart (a slice of a wider matrix). */
  private checkStrides(lda: number, ldc: number): void {
    checkInt('lda', lda, this.k, 1 << 30);
    checkInt('ldc', ldc, this.n, 1 << 30);
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('PackedGemmS8 used after dispose()');
  }
}

/** B packed for these options: the runtime's pack cache (src/kernels/pack-cache.ts) when b is unchanged. */
function withPackedB<R>(rt: Runtime, b: Int8Array, k: number, n: number, opts: GemmS8Options | undefined, fn: (p: PackedGemmS8) => R): R {
  checkArray('b', b, Int8Array, k * n);
  return withPacked(rt, b, ['gemm_s8', k, n, opts], () => new PackedGemmS8(rt, b, k, n, opts), (p) => p.bytes, fn);
}

/**
 * C = A·B in exact int32 (A m×k, B k×n, both row-major int8; B in [-127, 127]). A convenience: B's packed
 * form is cached between calls and reused only while b's bytes are unchanged (a compare per call, about the
 * cost of one M = 1 GEMM); a layer should hold a PackedGemmS8 (q.packGemmS8) instead.
 */
export function gemmS8(rt: Runtime, a: Int8Array, b: Int8Array, m: number, k: number, n: number): Int32Array {
  checkDims(m, k, n);
  checkArray('a', a, Int8Array, m * k);
  return withPackedB(rt, b, k, n, undefined, (packed) => rt.scoped((s) => {
    const ap = s.put(a), cp = s.alloc(m * n * 4);
    packed.runInt32(ap, m, cp);
    return rt.i32(cp, m * n).slice();
  }));
}

/** Requantised int8 GEMM: out = requant(bias + (A − zpA)·B). */
export function gemmS8Requant(rt: Runtime, a: Int8Array, b: Int8Array, m: number, k: number, n: number, opts: GemmS8Options): Int8Array {
  checkDims(m, k, n);
  checkArray('a', a, Int8Array, m * k);
  if (!opts || opts.scale === undefined) throw new TypeError('opts.scale is required for a requantised GEMM');
  return withPackedB(rt, b, k, n, opts, (packed) => rt.scoped((s) => {
    const ap = s.put(a), cp = s.alloc(m * n);
    packed.runInt8(ap, m, cp);
    return rt.i8(cp, m * n).slice();
  }));
}

/** The plain-loop reference (ruy's idea): same semantics as gemmS8 / gemmS8Requant, no packing, no SIMD. */
export function gemmS8Reference(rt: Runtime, a: Int8Array, b: Int8Array, m: number, k: number, n: number, opts?: GemmS8Options): Int32Array | Int8Array {
  checkDims(m, k, n);
  checkArray('a', a, Int8Array, m * k);
  checkArray('b', b, Int8Array, k * n);
  const zpA = checkInt('aZeroPoint', opts?.aZeroPoint ?? 0, -128, 127);
  if (opts?.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
  const r = opts?.scale !== undefined ? resolveRequant(opts as RequantParams, n) : null;
  return rt.scoped((s) => {
    const ap = s.put(a), bp = s.put(b), biasp = opts?.bias ? s.put(opts.bias) : 0;
    const cp = s.alloc(m * n * (r ? 1 : 4));
    const sp = r ? s.put(r.scale) : 0;
    rt.exports.gemm_s8_ref(m, k, n, ap, k, zpA, bp, n, biasp, cp, n, r ? OUT_S8 : OUT_I32, sp, r?.zp ?? 0, r?.qmin ?? 0, r?.qmax ?? 0);
    return r ? rt.i8(cp, m * n).slice() : rt.i32(cp, m * n).slice();
  });
}
