// The object `init()` returns: the loaded build, its runtime (pointer-level API) and the typed-array
// layer of every kernel family. Each method delegates to src/kernels/<family>.ts.
import type { Runtime, BuildName } from './runtime.js';
import * as gemm from './kernels/gemm_s8.js';

export class Qwasm {
  constructor(readonly rt: Runtime) {}

  /** Which build is loaded: 'scalar' | 'simd' | 'relaxed'. */
  get build(): BuildName { return this.rt.build; }
  /** Raw kernel exports (pointer-level API). */
  get kernels() { return this.rt.exports; }

  // --- int8 GEMM (src/kernels/gemm_s8.ts) ---
  gemmS8(a: Int8Array, b: Int8Array, m: number, k: number, n: number): Int32Array {
    return gemm.gemmS8(this.rt, a, b, m, k, n);
  }
  gemmS8Requant(a: Int8Array, b: Int8Array, m: number, k: number, n: number, opts: gemm.GemmS8Options): Int8Array {
    return gemm.gemmS8Requant(this.rt, a, b, m, k, n, opts);
  }
  gemmS8Reference(a: Int8Array, b: Int8Array, m: number, k: number, n: number, opts?: gemm.GemmS8Options): Int32Array | Int8Array {
    return gemm.gemmS8Reference(this.rt, a, b, m, k, n, opts);
  }
  packGemmS8(b: Int8Array, k: number, n: number, opts?: gemm.GemmS8Options): gemm.PackedGemmS8 {
    return new gemm.PackedGemmS8(this.rt, b, k, n, opts);
  }
  // --- end int8 GEMM ---
}
