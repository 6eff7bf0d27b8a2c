// Benchmark set-ups of our kernels, shared by `qwasm bench` and bench/run.js: each builds its operands in WASM
// memory once (weights packed outside the timing, like a layer's persistent handle) and returns a `run()` that
// calls the kernel pointer-level, plus the operation count of one call (2·MACs of the dense-equivalent problem,
// so sparse / low-rank GOPS are "effective" and compare directly with the dense kernel at the same shape).
import type { Qwasm } from '../qwasm.js';

export interface BenchCase {
  kernel: string;
  shape: string;
  /** Operations per call (2 × multiply-accumulates of the dense problem). */
  ops: number;
  run(): void;
  dispose(): void;
}

export interface KernelSpec {
  /** Shape syntax, e.g. 'MxKxN'. */
  syntax: string;
  defaultShape: string;
  about: string;
  /** Returns null when this build of qwasm lacks the kernel (e.g. another family not merged yet). */
  make(q: Qwasm, shape: string): BenchCase | null;
}

export class ShapeError extends Error {}

function dims(shape: string, count: number, syntax: string): number[] {
  const parts = shape.split(/[x×]/i).map((s) => Number(s.trim()));
  if (parts.length !== count || parts.some((v) => !Number.isInteger(v) || v < 1 || v > 1 << 16)) {
    throw new ShapeError(`shape must be ${syntax} (positive integers), got '${shape}'`);
  }
  return parts;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
const randI8 = (n: number, r: () => number, lo = -127, hi = 127) => Int8Array.from({ length: n }, () => lo + (r() % (hi - lo + 1)));
const randF32 = (n: number, r: () => number) => Float32Array.from({ length: n }, () => r() / 2147483648 - 1);

/** Allocates and fills buffers; dispose() frees them all. */
function buffers(q: Qwasm) {
  const ptrs: number[] = [];
  return {
    put(a: ArrayBufferView): number { const p = q.rt.put(a); ptrs.push(p); return p; },
    alloc(bytes: number): number { const p = q.rt.alloc(bytes); ptrs.push(p); return p; },
    free(): void { for (const p of ptrs) q.rt.free(p); ptrs.length = 0; },
  };
}

// Loose access to families that other parts of the tree may or may not provide yet.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const has = (q: Qwasm, method: string): boolean => typeof (q as any)[method] === 'function';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = (q: Qwasm, method: string, ...args: unknown[]): any => (q as any)[method](...args);

type Buffers = ReturnType<typeof buffers>;
/** What a matmul-shaped set-up returns: the call, and the handle to dispose besides the buffers. */
interface MatmulRun { run(): void; handle?: { dispose(): void } }

/**
 * A kernel benchmarked at an M×K×N matmul shape (default 256³; ops = 2·M·K·N, dense-equivalent). `setup` builds
 * the operands from rng(seed) into `buf`; `needs` names the Qwasm method whose absence means this build lacks it.
 */
function matmulSpec(kernel: string, about: string, seed: number, needs: string | null,
                    setup: (q: Qwasm, m: number, k: number, n: number, r: () => number, buf: Buffers) => MatmulRun): KernelSpec {
  return {
    syntax: 'MxKxN',
    defaultShape: '256x256x256',
    about,
    make(q, shape) {
      if (needs !== null && !has(q, needs)) return null;
      const [m, k, n] = dims(shape, 3, 'MxKxN');
      const buf = buffers(q);
      const { run, handle } = setup(q, m, k, n, rng(seed), buf);
      return { kernel, shape: `${m}x${k}x${n}`, ops: 2 * m * k * n, run, dispose: () => { handle?.dispose(); buf.free(); } };
    },
  };
}

function gemmS8(requant: boolean): KernelSpec {
  const about = requant ? 'int8 GEMM, requantised int8 output (packed weights)' : 'int8 GEMM, exact int32 output (packed weights)';
  return matmulSpec(requant ? 'gemm_s8_requant' : 'gemm_s8', about, 1, null, (q, m, k, n, r, buf) => {
    const packed = q.packGemmS8(randI8(k * n, r), k, n, requant
      ? { aZeroPoint: -3, scale: 0.004, outZeroPoint: 1, bias: Int32Array.from({ length: n }, () => r() % 2000 - 1000) }
      : { aZeroPoint: -3 });
    const a = buf.put(randI8(m * k, r, -128, 127)), c = buf.alloc(m * n * (requant ? 1 : 4));
    return { run: requant ? () => packed.runInt8(a, m, c) : () => packed.runInt32(a, m, c), handle: packed };
  });
}

export const KERNELS: Record<string, KernelSpec> = {
  gemm_s8: gemmS8(false),
  gemm_s8_requant: gemmS8(true),
  gemm_f32: matmulSpec('gemm_f32', 'f32 GEMM C = A·B (SIMD128 4×8 register tile) on prepacked B (packGemmF32)', 2, null, (q, m, k, n, r, buf) => {
    const packed = q.packGemmF32(randF32(k * n, r), k, n);
    const a = buf.put(randF32(m * k, r)), c = buf.alloc(m * n * 4);
    return { run: () => packed.runPtr(a, m, c), handle: packed };
  }),
  gemm_f32_unpacked: matmulSpec('gemm_f32_unpacked', 'f32 GEMM C = A·B with B packed inside every call (gemmF32Ptr)', 2, null, (q, m, k, n, r, buf) => {
    const a = buf.put(randF32(m * k, r)), b = buf.put(randF32(k * n, r)), c = buf.alloc(m * n * 4);
    return { run: () => q.gemmF32Ptr(m, k, n, a, b, c) };
  }),
  conv_s8: {
    syntax: 'NxHxWxC[:OCxKHxKW]',
    defaultShape: '1x32x32x64:64x3x3',
    about: "int8 conv2d NHWC, stride 1, 'same' padding (pad 1 for 3×3), requantised (packed weights)",
    make(q, shape) {
      if (!has(q, 'packConv2dS8')) return null;
      const [inp, flt] = shape.split(':');
      const [n, h, w, c] = dims(inp, 4, 'NxHxWxC[:OCxKHxKW]');
      const [oc, kh, kw] = flt === undefined ? [c, 3, 3] : dims(flt, 3, 'NxHxWxC[:OCxKHxKW]');
      const r = rng(3), buf = buffers(q);
      const packed = call(q, 'packConv2dS8', randI8(oc * kh * kw * c, r), [oc, kh, kw, c], {
        scale: 0.002, inZeroPoint: -5, outZeroPoint: 2, padding: 'same',
        bias: Int32Array.from({ length: oc }, () => r() % 2000 - 1000),
      });
      const [, oh, ow] = packed.outputShape(n, h, w) as number[];
      const x = buf.put(randI8(n * h * w * c, r, -128, 127)), y = buf.alloc(n * oh * ow * oc);
      return {
        kernel: 'conv_s8', shape: `${n}x${h}x${w}x${c}:${oc}x${kh}x${kw}`, ops: 2 * n * oh * ow * oc * kh * kw * c,
        run: () => packed.run(x, n, h, w, y), dispose: () => { packed.dispose(); buf.free(); },
      };
    },
  },
  sparse_s8: matmulSpec('sparse_s8', 'int8 sparse matmul, 90 % unstructured sparsity (csr), int32 output; GOPS = dense-equivalent', 4, 'sparseS8', (q, m, k, n, r, buf) => {
    const w = randI8(k * n, r);
    for (let i = 0; i < w.length; i++) if (r() % 10 !== 0) w[i] = 0;
    const sp = call(q, 'sparseS8', w, k, n, { format: 'csr', aZeroPoint: -3 });
    const x = buf.put(randI8(m * k, r, -128, 127)), y = buf.alloc(m * n * 4);
    return { run: typeof sp.runPtr === 'function' ? () => sp.runPtr(x, m, y) : () => sp.runInt32(x, m, y), handle: sp };
  }),
  lowrank_s8: matmulSpec('lowrank_s8', 'int8 low-rank x·P·Q with r = N/8, requantised; GOPS = dense-equivalent', 5, 'lowRankS8', (q, m, k, n, r, buf) => {
    const rank = Math.max(1, Math.floor(n / 8));
    const lr = call(q, 'lowRankS8', randI8(k * rank, r), randI8(rank * n, r), k, rank, n,
      { aZeroPoint: -3, mid: { scale: 0.004, outZeroPoint: 0 }, scale: 0.004, outZeroPoint: 1 });
    const x = buf.put(randI8(m * k, r, -128, 127)), y = buf.alloc(m * n);
    return { run: () => lr.runInt8(x, m, y), handle: lr };
  }),
  lowrank_f32: matmulSpec('lowrank_f32', 'f32 low-rank x·P·Q with r = N/8; GOPS = dense-equivalent', 6, 'lowRankF32', (q, m, k, n, r, buf) => {
    const rank = Math.max(1, Math.floor(n / 8));
    const lr = call(q, 'lowRankF32', randF32(k * rank, r), randF32(rank * n, r), k, rank, n);
    const x = buf.put(randF32(m * k, r)), y = buf.alloc(m * n * 4);
    return { run: () => lr.runPtr(x, m, y), handle: lr };
  }),
};

export interface Timing {
  /** Seconds per call: best and median over passes. */
  best: number;
  median: number;
  calls: number;
}

/** Simple timer for the CLI: a warm-up, then `passes` passes of ≈ seconds/passes each; best and median. */
export function timeCase(c: BenchCase, seconds = 1, passes = 5): Timing {
  const now = () => performance.now() / 1000;
  let t0 = now();
  c.run();
  let one = Math.max(now() - t0, 1e-7);
  const per = seconds / passes;
  const reps = Math.max(1, Math.round(per / one));
  const samples: number[] = [];
  for (let p = 0; p < passes; p++) {
    t0 = now();
    for (let i = 0; i < reps; i++) c.run();
    samples.push((now() - t0) / reps);
  }
  samples.sort((x, y) => x - y);
  return { best: samples[0], median: samples[samples.length >> 1], calls: reps * passes + 1 };
}
