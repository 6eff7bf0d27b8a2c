// Low-rank (factorised) matmul: W ≈ P·Q with P K×r and Q r×N, y = (x·P)·Q + bias, W never materialised.
// Composed from the existing GEMMs (measured faster than a fused kernel would need to be: both stages are
// plain GEMMs with r = N/8 of the work each):
//   int8: t = requant_mid(x·P) (int8, own scale / zero point) → y = requant(t·Q + bias) — two PackedGemmS8,
//         the intermediate's zero point folded into the second stage's bias like any activation zero point.
//   f32:  t = x·P, y = t·Q + bias with gemm_f32 (assembly/gemm_f32.ts).
import { checkMatmulX, f32Result, s8Matmul, s8MatmulInt32, s8Run } from './int8-matmul-arrays.js';
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, describe, QwasmError } from '../errors.js';
import { resolveRequant as resolve, type RequantParams } from './requant.js';
import { PackedGemmS8 } from './gemm_s8.js';

function checkRank(k: number, r: number, n: number): void {
  checkInt('k', k, 1, 1 << 24);
  checkInt('r', r, 1, 1 << 24);
  checkInt('n', n, 1, 1 << 24);
}


export interface LowRankF32Options {
  bias?: Float32Array;
}

/** f32 factors P (K×r) and Q (r×N), row-major, held in WASM memory. */
export class LowRankF32 {
  readonly pPtr: number;
  readonly qPtr: number;
  readonly biasPtr: number;
  readonly bytes: number;
  private disposed = false;

  constructor(readonly rt: Runtime, p: Float32Array, q: Float32Array, readonly k: number, readonly r: number, readonly n: number,
              opts: LowRankF32Options = {}) {
    checkRank(k, r, n);
    checkArray('p', p, Float32Array, k * r);
    checkArray('q', q, Float32Array, r * n);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Float32Array, n);
    this.pPtr = rt.put(p);
    this.qPtr = rt.put(q);
    this.biasPtr = opts.bias ? rt.put(opts.bias) : 0;
    this.bytes = (k * r + r * n + (opts.bias ? n : 0)) * 4;
  }

  /** y (m×n f32, row stride ldy) for x at xPtr (m×k f32, row stride ldx). */
  runPtr(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    const g = this.rt.exports.gemm_f32;
    const t = this.rt.alloc(m * this.r * 4);
    try {
      g(m, this.k, this.r, 1, xPtr, ldx, 0, this.pPtr, this.r, 0, 0, t, this.r, 0);
      g(m, this.r, this.n, 1, t, this.r, 0, this.qPtr, this.n, 0, 0, yPtr, ldy, this.biasPtr);
    } finally {
      this.rt.free(t);
    }
  }

  matmul(x: Float32Array, m: number): Float32Array {
    this.live();
    checkMatmulX(this.k, x, m, Float32Array);
    return f32Result(this.rt, x, m, this.n, (xp, mm, yp) => this.runPtr(xp, mm, yp));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.pPtr);
    this.rt.free(this.qPtr);
    this.rt.free(this.biasPtr);
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('LowRankF32 used after dispose()');
  }
}

export interface LowRankS8Options extends Partial<RequantParams> {
  /** Zero point of x, in [-128, 127]; default 0. */
  aZeroPoint?: number;
  /** Requantisation of the intermediate t = x·P (r channels); its outZeroPoint is t's zero point. Required. */
  mid: RequantParams;
  /** int32 bias of the output (accumulator units of t·Q). */
  bias?: Int32Array;
}

function checkMid(opts: LowRankS8Options): RequantParams {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  if (!opts.mid || typeof opts.mid !== 'object') throw new TypeError(`opts.mid (requantisation of x·P: { scale, outZeroPoint? }) is required, got ${describe(opts.mid)}`);
  return opts.mid;
}

/** int8 factors P (K×r) and Q (r×N), weights in [-127, 127], packed once. */
export class LowRankS8 {
  readonly first: PackedGemmS8;
  readonly second: PackedGemmS8;
  readonly bytes: number;
  private disposed = false;

  constructor(readonly rt: Runtime, p: Int8Array, q: Int8Array, readonly k: number, readonly r: number, readonly n: number,
              opts: LowRankS8Options) {
    checkRank(k, r, n);
    const mid = checkMid(opts);
    checkArray('p', p, Int8Array, k * r);
    checkArray('q', q, Int8Array, r * n);
    const midZp = checkInt('mid.outZeroPoint', mid.outZeroPoint ?? 0, -128, 127);
    resolve(mid, r, 'mid');
    checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
    let first: PackedGemmS8 | null = null;
    try {
      first = new PackedGemmS8(rt, p, k, r, { ...mid, aZeroPoint: opts.aZeroPoint ?? 0 });
      const out: Partial<RequantParams> = opts.scale !== undefined
        ? { scale: opts.scale, outZeroPoint: opts.outZeroPoint, activation: opts.activation, outScale: opts.outScale } : {};
      this.second = new PackedGemmS8(rt, q, r, n, { ...out, aZeroPoint: midZp, bias: opts.bias });
    } catch (e) {
      first?.dispose();
      // name the factor in errors about the weights
      if (e instanceof Error) e.message = e.message.replace(/^b(\[|\s)/, (s) => (first ? 'q' : 'p') + s.slice(1));
      throw e;
    }
    this.first = first;
    this.bytes = this.first.bytes + this.second.bytes;
  }

  /** Exact int32 output (second stage not requantised) for x at xPtr (int8 m×k). */
  runInt32(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    this.stages(xPtr, m, yPtr, ldx, ldy, false);
  }

  /** Requantised int8 output for x at xPtr. */
  runInt8(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    if (!this.second.requant) throw new QwasmError('this LowRankS8 was built without output requantisation parameters (scale)');
    this.stages(xPtr, m, yPtr, ldx, ldy, true);
  }

  /** x → int8 m×r temporary (first stage) → second stage, int8 or int32 out; the temporary is freed. */
  private stages(xPtr: number, m: number, yPtr: number, ldx: number, ldy: number, int8: boolean): void {
    const t = this.rt.alloc(m * this.r);
    try {
      this.first.runInt8(xPtr, m, t, ldx, this.r);
      if (int8) this.second.runInt8(t, m, yPtr, this.r, ldy);
      else this.second.runInt32(t, m, yPtr, this.r, ldy);
    } finally {
      this.rt.free(t);
    }
  }

  /** runInt8 when built with output requantisation parameters (scale), else runInt32. */
  runPtr(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    s8Run(this, !!this.second.requant, xPtr, m, yPtr, ldx, ldy);
  }

  matmulInt32(x: Int8Array, m: number): Int32Array {
    this.live();
    return s8MatmulInt32(this, x, m);
  }

  matmul(x: Int8Array, m: number): Int8Array {
    this.live();
    return s8Matmul(this, !!this.second.requant, 'this LowRankS8 was built without output requantisation parameters (scale); use matmulInt32', x, m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.first.dispose();
    this.second.dispose();
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('LowRankS8 used after dispose()');
  }
}

/** Plain-loop reference of LowRankF32 (sum over k in order, then over r in order, then + bias). */
export function lowRankF32Reference(rt: Runtime, p: Float32Array, q: Float32Array, k: number, r: number, n: number,
                                    x: Float32Array, m: number, opts: LowRankF32Options = {}): Float32Array {
  checkRank(k, r, n);
  checkArray('p', p, Float32Array, k * r);
  checkArray('q', q, Float32Array, r * n);
  checkMatmulX(k, x, m, Float32Array);
  if (opts.bias !== undefined) checkArray('bias', opts.bias, Float32Array, n);
  return rt.scoped((s) => {
    const xp = s.put(x), pp = s.put(p), qp = s.put(q), bp = opts.bias ? s.put(opts.bias) : 0;
    const tp = s.alloc(m * r * 4), yp = s.alloc(m * n * 4);
    rt.exports.sparse_gemm_f32_ref(m, k, r, xp, k, pp, 0, 0, tp, r);
    rt.exports.sparse_gemm_f32_ref(m, r, n, tp, r, qp, 0, bp, yp, n);
    return rt.f32(yp, m * n).slice();
  });
}

/** Plain-loop reference of LowRankS8: int32 without opts.scale, requantised int8 with it. */
export function lowRankS8Reference(rt: Runtime, p: Int8Array, q: Int8Array, k: number, r: number, n: number,
                                   x: Int8Array, m: number, opts: LowRankS8Options): Int32Array | Int8Array {
  checkRank(k, r, n);
  const mid = checkMid(opts);
  checkArray('p', p, Int8Array, k * r);
  checkArray('q', q, Int8Array, r * n);
  checkMatmulX(k, x, m, Int8Array);
  const zpA = checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
  const midZp = checkInt('mid.outZeroPoint', mid.outZeroPoint ?? 0, -128, 127);
  if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
  // both stages on the plain-loop int8 GEMM reference
  const e = rt.exports;
  return rt.scoped((s) => {
    const xp = s.put(x), pp = s.put(p), qp = s.put(q), bp = opts.bias ? s.put(opts.bias) : 0;
    const r1 = resolve(mid, r, 'mid');
    const s1 = s.put(r1.scale), tp = s.alloc(m * r);
    e.gemm_s8_ref(m, k, r, xp, k, zpA, pp, r, 0, tp, r, 1, s1, r1.zp, r1.qmin, r1.qmax);
    if (opts.scale === undefined) {
      const yp = s.alloc(m * n * 4);
      e.gemm_s8_ref(m, r, n, tp, r, midZp, qp, n, bp, yp, n, 0, 0, 0, 0, 0);
      return rt.i32(yp, m * n).slice();
    }
    const r2 = resolve(opts as RequantParams, n, 'requant');
    const s2 = s.put(r2.scale), yp = s.alloc(m * n);
    e.gemm_s8_ref(m, r, n, tp, r, midZp, qp, n, bp, yp, n, 1, s2, r2.zp, r2.qmin, r2.qmax);
    return rt.i8(yp, m * n).slice();
  });
}
