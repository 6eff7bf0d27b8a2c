// The object `init()` returns: the loaded build, its runtime (pointer-level API) and the typed-array
// layer of every kernel family. Each method delegates to src/kernels/<family>.ts.
import type { Runtime, BuildName } from './runtime.js';
import * as gemm from './kernels/gemm_s8.js';
import { packCache } from './kernels/pack-cache.js';
import * as gemmf32 from './kernels/gemm_f32.js';
import * as sparse from './kernels/sparse.js';
import * as lowrank from './kernels/lowrank.js';
import * as conv from './kernels/conv_s8.js';
import * as pool from './kernels/pool_s8.js';
import * as adds8 from './kernels/add_s8.js';
import { EltwiseF32 } from './kernels/eltwise_f32.js';
import { LossF32 } from './kernels/loss_f32.js';
import { OptimF32 } from './kernels/optim_f32.js';

export class Qwasm {
  constructor(readonly rt: Runtime) {}

  /** Which build is loaded: 'scalar' | 'simd' | 'relaxed'. */
  get build(): BuildName { return this.rt.build; }
  /** Threads batch-parallel inference and data-parallel training use (docs/THREADS.md). */
  get threads(): number { return this.rt.threads; }
  /** Why `threads` is 1 (e.g. the browser main thread, a page that is not cross-origin isolated), else null. */
  get threadsReason(): string | null { return this.rt.threadsReason; }
  /** Raw kernel exports (pointer-level API). */
  get kernels() { return this.rt.exports; }

  // --- int8 GEMM (src/kernels/gemm_s8.ts) ---
  /**
   * C = A·B (int32). A convenience: layers should hold packGemmS8(b) and call runInt32 / runInt8. B's packed
   * form is cached and reused only while b's bytes are unchanged (src/kernels/pack-cache.ts).
   */
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
  /** Frees the packed weights gemmS8 / gemmS8Requant / conv2dS8 keep between calls (LRU, 64 MB budget). */
  clearPackCache(): void { packCache(this.rt).clear(); }
  // --- end int8 GEMM ---

  // --- f32 GEMM (src/kernels/gemm_f32.ts) ---
  /** C = alpha·op(A)·op(B) + beta·C + bias (opts.transA / transB, bias[N], alpha, beta, c). */
  gemmF32(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts?: gemmf32.GemmF32Options): Float32Array {
    return gemmf32.gemmF32(this.rt, a, b, m, k, n, opts);
  }
  gemmF32Reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts?: gemmf32.GemmF32Options): Float32Array {
    return gemmf32.gemmF32Reference(this.rt, a, b, m, k, n, opts);
  }
  /** Pointer-level f32 GEMM on buffers already in WASM memory (see GemmF32PtrOptions for strides). */
  gemmF32Ptr(m: number, k: number, n: number, aPtr: number, bPtr: number, cPtr: number, opts?: gemmf32.GemmF32PtrOptions): void {
    gemmf32.gemmF32Ptr(this.rt, m, k, n, aPtr, bPtr, cPtr, opts);
  }
  /** op(B) (K×N f32, or N×K with transB) packed once in WASM memory, with optional bias; reuse, then dispose(). */
  packGemmF32(b: Float32Array, k: number, n: number, opts?: gemmf32.PackGemmF32Options): gemmf32.PackedGemmF32 {
    return new gemmf32.PackedGemmF32(this.rt, b, k, n, opts);
  }
  // --- end f32 GEMM ---

  // --- sparse + low-rank matmul (src/kernels/sparse.ts, src/kernels/lowrank.ts) ---
  /** f32 sparse weights W (K×N, in×out) from a dense matrix + optional mask; format 'csr' | 'block' | 'nm'. */
  sparseF32(w: Float32Array, k: number, n: number, opts?: sparse.SparseF32Options): sparse.SparseMatrixF32 {
    return new sparse.SparseMatrixF32(this.rt, w, k, n, opts);
  }
  /** int8 sparse weights ([-127, 127]) with activation zero point, folded bias and optional requantisation. */
  sparseS8(w: Int8Array, k: number, n: number, opts?: sparse.SparseS8Options): sparse.SparseMatrixS8 {
    return new sparse.SparseMatrixS8(this.rt, w, k, n, opts);
  }
  sparseF32Reference(w: Float32Array, k: number, n: number, x: Float32Array, m: number, opts?: sparse.SparseF32Options): Float32Array {
    return sparse.sparseF32Reference(this.rt, w, k, n, x, m, opts);
  }
  sparseS8Reference(w: Int8Array, k: number, n: number, x: Int8Array, m: number, opts?: sparse.SparseS8Options): Int32Array | Int8Array {
    return sparse.sparseS8Reference(this.rt, w, k, n, x, m, opts);
  }
  /** y = (x·P)·Q + bias, P K×r, Q r×N (f32). */
  lowRankF32(p: Float32Array, q: Float32Array, k: number, r: number, n: number, opts?: lowrank.LowRankF32Options): lowrank.LowRankF32 {
    return new lowrank.LowRankF32(this.rt, p, q, k, r, n, opts);
  }
  /** int8: t = requant_mid(x·P), y = requant(t·Q + bias). */
  lowRankS8(p: Int8Array, q: Int8Array, k: number, r: number, n: number, opts: lowrank.LowRankS8Options): lowrank.LowRankS8 {
    return new lowrank.LowRankS8(this.rt, p, q, k, r, n, opts);
  }
  lowRankF32Reference(p: Float32Array, q: Float32Array, k: number, r: number, n: number, x: Float32Array, m: number, opts?: lowrank.LowRankF32Options): Float32Array {
    return lowrank.lowRankF32Reference(this.rt, p, q, k, r, n, x, m, opts);
  }
  lowRankS8Reference(p: Int8Array, q: Int8Array, k: number, r: number, n: number, x: Int8Array, m: number, opts: lowrank.LowRankS8Options): Int32Array | Int8Array {
    return lowrank.lowRankS8Reference(this.rt, p, q, k, r, n, x, m, opts);
  }
  // --- end sparse + low-rank ---

  // --- int8 CNN: conv2d, pooling, add (src/kernels/conv_s8.ts, pool_s8.ts, add_s8.ts) ---
  /**
   * int8 conv2d, NHWC input [n, h, w, c] (zero point opts.inZeroPoint), OHWI weights [oc, kh, kw, c / groups]
   * in [-127, 127], int32 bias, requantised per output channel (opts.scale, outZeroPoint, activation).
   * Returns NHWC [n, oh, ow, oc]. A convenience: the packed weights are cached and reused only while `weights`
   * is unchanged (a byte compare per call); layers should hold packConv2dS8.
   */
  conv2dS8(input: Int8Array, inShape: conv.Shape4, weights: Int8Array, wShape: conv.Shape4, opts: conv.Conv2dS8Options): conv.Tensor4S8 {
    return conv.conv2dS8(this.rt, input, inShape, weights, wShape, opts);
  }
  /** Plain-loop reference twin of conv2dS8. */
  conv2dS8Reference(input: Int8Array, inShape: conv.Shape4, weights: Int8Array, wShape: conv.Shape4, opts: conv.Conv2dS8Options): conv.Tensor4S8 {
    return conv.conv2dS8Reference(this.rt, input, inShape, weights, wShape, opts);
  }
  /** Conv weights packed once in WASM memory (run(inputPtr, n, h, w, outPtr), apply(), dispose()). */
  packConv2dS8(weights: Int8Array, wShape: conv.Shape4, opts: conv.Conv2dS8Options): conv.PackedConv2dS8 {
    return new conv.PackedConv2dS8(this.rt, weights, wShape, opts);
  }
  /** int8 max pool (NHWC), padded pixels ignored. */
  maxPool2dS8(input: Int8Array, inShape: conv.Shape4, opts: pool.MaxPool2dS8Options): conv.Tensor4S8 {
    return pool.maxPool2dS8(this.rt, input, inShape, opts);
  }
  maxPool2dS8Reference(input: Int8Array, inShape: conv.Shape4, opts: pool.MaxPool2dS8Options): conv.Tensor4S8 {
    return pool.maxPool2dS8Reference(this.rt, input, inShape, opts);
  }
  /** int8 average pool (NHWC) over valid pixels, optional requantisation inScale / outScale. */
  avgPool2dS8(input: Int8Array, inShape: conv.Shape4, opts: pool.AvgPool2dS8Options): conv.Tensor4S8 {
    return pool.avgPool2dS8(this.rt, input, inShape, opts);
  }
  avgPool2dS8Reference(input: Int8Array, inShape: conv.Shape4, opts: pool.AvgPool2dS8Options): conv.Tensor4S8 {
    return pool.avgPool2dS8Reference(this.rt, input, inShape, opts);
  }
  /** int8 global average pool: [n, h, w, c] → [n, 1, 1, c]. */
  globalAvgPoolS8(input: Int8Array, inShape: conv.Shape4, opts?: pool.AvgQuantOptions): conv.Tensor4S8 {
    return pool.globalAvgPoolS8(this.rt, input, inShape, opts);
  }
  globalAvgPoolS8Reference(input: Int8Array, inShape: conv.Shape4, opts?: pool.AvgQuantOptions): conv.Tensor4S8 {
    return pool.globalAvgPoolS8Reference(this.rt, input, inShape, opts);
  }
  /** Requantising int8 elementwise add (residuals): y = requant(real(a) + real(b)). */
  addS8(a: Int8Array, b: Int8Array, opts: adds8.AddS8Options): Int8Array {
    return adds8.addS8(this.rt, a, b, opts);
  }
  addS8Reference(a: Int8Array, b: Int8Array, opts: adds8.AddS8Options): Int8Array {
    return adds8.addS8Reference(this.rt, a, b, opts);
  }
  // --- end int8 CNN ---

  // --- f32 training elementwise / losses / optimisers (src/kernels/eltwise_f32.ts, loss_f32.ts, optim_f32.ts) ---
  /** Typed-array f32 elementwise ops, activations, dropout, reductions, fake-quant (`.reference`: the ref twins). */
  get eltwiseF32(): EltwiseF32 { return (this._eltwiseF32 ??= new EltwiseF32(this.rt)); }
  /** Typed-array softmax cross-entropy, (log-)softmax, distillation KL, MSE, exp/log. */
  get lossF32(): LossF32 { return (this._lossF32 ??= new LossF32(this.rt)); }
  /** Typed-array SGD / Adam / AdamW steps and gradient clipping. */
  get optimF32(): OptimF32 { return (this._optimF32 ??= new OptimF32(this.rt)); }
  private _eltwiseF32?: EltwiseF32;
  private _lossF32?: LossF32;
  private _optimF32?: OptimF32;
  // --- end f32 training elementwise / losses / optimisers ---
}
