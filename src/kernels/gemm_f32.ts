// f32 GEMM (assembly/gemm_f32.ts): C = alpha·op(A)·op(B) + beta·C + bias, op = identity or transpose.
// Typed-array calls for users, and a pointer-level call for tensor code that keeps operands in WASM memory.
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe, QwasmError } from '../errors.js';
import { f32Result } from './int8-matmul-arrays.js';

export interface GemmF32Options {
  /** Use Aᵀ: `a` holds op(A)ᵀ, i.e. K×M row-major. Default false (A is M×K). */
  transA?: boolean;
  /** Use Bᵀ: `b` holds N×K row-major. Default false (B is K×N). */
  transB?: boolean;
  /** Added to every row of the result (one value per output column, length N). */
  bias?: Float32Array;
  /** Multiplies op(A)·op(B); default 1. */
  alpha?: number;
  /** Multiplies the incoming C; default 1 when `c` is given, else 0 (needs `c` when non-zero). */
  beta?: number;
  /** M×N: read (scaled by beta) and overwritten with the result, which is also returned. */
  c?: Float32Array;
}

export interface GemmF32PtrOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** Default 0: C is not read. */
  beta?: number;
  /** f32[N] in WASM memory, or 0 for none. */
  biasPtr?: number;
  /** Leading dimensions (row strides in elements); default packed: lda = transA ? m : k, ldb = transB ? k : n, ldc = n. */
  lda?: number;
  ldb?: number;
  ldc?: number;
}

function checkDims(m: number, k: number, n: number): void {
  checkInt('m', m, 1);
  checkInt('k', k, 1);
  checkInt('n', n, 1);
  if (m * k > 0x10000000 || k * n > 0x10000000 || m * n > 0x10000000) {
    throw new RangeError(`m×k×n = ${m}×${k}×${n} is too large for one call`);
  }
}

function checkBool(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

interface Resolved { transA: boolean; transB: boolean; alpha: number; beta: number; bias?: Float32Array; c?: Float32Array }

function resolve(a: unknown, b: unknown, m: number, k: number, n: number, opts: GemmF32Options | undefined): Resolved {
  checkDims(m, k, n);
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const o = opts ?? {};
  checkArray('a', a, Float32Array, m * k);
  checkArray('b', b, Float32Array, k * n);
  const transA = checkBool('transA', o.transA), transB = checkBool('transB', o.transB);
  const alpha = o.alpha === undefined ? 1 : checkFinite('alpha', o.alpha);
  if (o.bias !== undefined) checkArray('bias', o.bias, Float32Array, n);
  if (o.c !== undefined) checkArray('c', o.c, Float32Array, m * n);
  const beta = o.beta === undefined ? (o.c ? 1 : 0) : checkFinite('beta', o.beta);
  if (beta !== 0 && !o.c) throw new TypeError('c (the M×N matrix beta scales) is required when beta is not 0');
  return { transA, transB, alpha, beta, bias: o.bias, c: o.c };
}

type Kernel = 'gemm_f32' | 'gemm_f32_ref';

function run(rt: Runtime, kernel: Kernel, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
             opts: GemmF32Options | undefined): Float32Array {
  const r = resolve(a, b, m, k, n, opts);
  return rt.scoped((s) => {
    const ap = s.put(a), bp = s.put(b);
    const biasp = r.bias ? s.put(r.bias) : 0;
    const cp = r.c && r.beta !== 0 ? s.put(r.c) : s.alloc(m * n * 4);
    rt.exports[kernel](m, k, n, r.alpha, ap, r.transA ? m : k, r.transA ? 1 : 0, bp, r.transB ? k : n, r.transB ? 1 : 0,
      r.beta, cp, n, biasp);
    const out = rt.f32(cp, m * n);
    if (r.c) { r.c.set(out); return r.c; }
    return out.slice();
  });
}

/** C = alpha·op(A)·op(B) + beta·C + bias (SIMD128 register-blocked kernel in the simd/relaxed builds). */
export function gemmF32(rt: Runtime, a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts?: GemmF32Options): Float32Array {
  return run(rt, 'gemm_f32', a, b, m, k, n, opts);
}

/** Same semantics through plain loops (no packing, no SIMD): what the fast path is tested against. */
export function gemmF32Reference(rt: Runtime, a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts?: GemmF32Options): Float32Array {
  return run(rt, 'gemm_f32_ref', a, b, m, k, n, opts);
}

/**
 * Pointer-level GEMM on operands already in WASM memory (byte offsets, f32, row-major with leading dimensions).
 * Checks only the integers; the caller owns the buffers and their sizes.
 */
export function gemmF32Ptr(rt: Runtime, m: number, k: number, n: number, aPtr: number, bPtr: number, cPtr: number,
                           opts: GemmF32PtrOptions = {}): void {
  checkDims(m, k, n);
  const transA = checkBool('transA', opts.transA), transB = checkBool('transB', opts.transB);
  const lda = checkInt('lda', opts.lda ?? (transA ? m : k), transA ? m : k);
  const ldb = checkInt('ldb', opts.ldb ?? (transB ? k : n), transB ? k : n);
  const ldc = checkInt('ldc', opts.ldc ?? n, n);
  const alpha = opts.alpha === undefined ? 1 : checkFinite('alpha', opts.alpha);
  const beta = opts.beta === undefined ? 0 : checkFinite('beta', opts.beta);
  for (const [name, p] of [['aPtr', aPtr], ['bPtr', bPtr], ['cPtr', cPtr], ['biasPtr', opts.biasPtr ?? 0]] as const) {
    checkInt(name, p, 0, rt.memoryBytes());
  }
  rt.exports.gemm_f32(m, k, n, alpha, aPtr, lda, transA ? 1 : 0, bPtr, ldb, transB ? 1 : 0, beta, cPtr, ldc, opts.biasPtr ?? 0);
}

export interface PackGemmF32Options {
  /** `b` holds N×K (the transpose of op(B)); default false (K×N). */
  transB?: boolean;
  /** Added to every output row (length N). */
  bias?: Float32Array;
}

export interface PackedRunOptions {
  transA?: boolean;
  alpha?: number;
  /** Default 0: C is not read. */
  beta?: number;
  /** Row strides in elements; default lda = transA ? m : k, ldc = n. */
  lda?: number;
  ldc?: number;
}

/**
 * op(B) packed once into the kernel's panel layout (what a dense layer's constant weights want): every call
 * then skips the B packing. C = alpha·op(A)·op(B) + beta·C + bias. Free with dispose().
 */
export class PackedGemmF32 {
  readonly ptr: number;
  readonly bytes: number;
  readonly biasPtr: number;
  private disposed = false;

  constructor(readonly rt: Runtime, b: Float32Array, readonly k: number, readonly n: number, opts: PackGemmF32Options = {}) {
    checkInt('k', k, 1);
    checkInt('n', n, 1);
    if (k * n > 0x10000000) throw new RangeError(`k×n = ${k}×${n} is too large`);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    checkArray('b', b, Float32Array, k * n);
    const transB = checkBool('transB', opts.transB);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Float32Array, n);
    const e = rt.exports;
    this.bytes = e.gemm_f32_packed_size(k, n);
    this.ptr = rt.alloc(this.bytes);
    this.biasPtr = 0;
    try {
      rt.scoped((s) => e.gemm_f32_pack(k, n, s.put(b), transB ? k : n, transB ? 1 : 0, this.ptr));
      this.biasPtr = opts.bias ? rt.put(opts.bias) : 0;
    } catch (err) {
      rt.free(this.ptr);
      throw err;
    }
  }

  /** Pointer-level: A at aPtr (f32 m×k, or k×m with transA), C at cPtr (f32 m×n, row stride ldc). */
  runPtr(aPtr: number, m: number, cPtr: number, opts: PackedRunOptions = {}): void {
    this.live();
    checkInt('m', m, 1);
    const transA = checkBool('transA', opts.transA);
    const lda = checkInt('lda', opts.lda ?? (transA ? m : this.k), transA ? m : this.k);
    const ldc = checkInt('ldc', opts.ldc ?? this.n, this.n);
    const alpha = opts.alpha === undefined ? 1 : checkFinite('alpha', opts.alpha);
    const beta = opts.beta === undefined ? 0 : checkFinite('beta', opts.beta);
    checkInt('aPtr', aPtr, 0, this.rt.memoryBytes());
    checkInt('cPtr', cPtr, 0, this.rt.memoryBytes());
    this.rt.exports.gemm_f32_packed(m, this.k, this.n, alpha, aPtr, lda, transA ? 1 : 0, this.ptr, beta, cPtr, ldc, this.biasPtr);
  }

  /** Typed-array call: returns alpha·op(A)·op(B) + bias (m×n). */
  matmul(a: Float32Array, m: number, opts: { transA?: boolean; alpha?: number } = {}): Float32Array {
    this.live();
    checkInt('m', m, 1);
    if (m * this.n > 0x10000000 || m * this.k > 0x10000000) throw new RangeError(`m = ${m} is too large`);
    checkArray('a', a, Float32Array, m * this.k);
    return f32Result(this.rt, a, m, this.n, (ap, mm, cp) => this.runPtr(ap, mm, cp, { transA: opts.transA, alpha: opts.alpha }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.ptr);
    this.rt.free(this.biasPtr);
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('PackedGemmF32 used after dispose()');
  }
}
