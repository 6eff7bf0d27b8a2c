// Quick measurement (not a test): sparse int8 / f32 and low-rank matmul against the dense kernels at
// K = N = 1024, M = 1 and 64 (pointer-level runs, best of several repetitions).
// Usage: node bench/sparse_lowrank.js [build] [K] [N]
import { init, magnitudeMask, nmMask, blockMask } from '../dist/index.js';

const build = process.argv[2] ?? 'simd';
const K = Number(process.argv[3] ?? 1024), N = Number(process.argv[4] ?? 1024);
const q = await init({ build });
let seed = 12345;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
const w8 = Int8Array.from({ length: K * N }, () => Math.round(rnd() * 254) - 127);
const wf = Float32Array.from(w8, (v) => v / 127);

// The machine may be shared: each case is timed interleaved with its dense baseline in short bursts, and
// the minimum burst time of each is kept (ratios from the same window of time).
function burst(fn, iters) { const t0 = performance.now(); for (let i = 0; i < iters; i++) fn(); return (performance.now() - t0) / iters; }
function itersFor(fn) { let it = 1; while (burst(fn, it) * it < 2) it *= 2; return it; }
function pair(a, b, reps = 60) {
  for (let i = 0; i < 3; i++) { a(); b(); }
  const ia = itersFor(a), ib = itersFor(b);
  let ta = Infinity, tb = Infinity;
  for (let r = 0; r < reps; r++) { ta = Math.min(ta, burst(a, ia)); tb = Math.min(tb, burst(b, ib)); }
  return [ta * 1000, tb * 1000]; // µs
}
const f = (x) => x.toFixed(1).padStart(8);
for (const M of (process.env.BENCH_M ?? '1,64').split(',').map(Number)) {
  const xp = q.rt.put(Int8Array.from({ length: M * K }, () => Math.round(rnd() * 255) - 128));
  const xfp = q.rt.put(Float32Array.from({ length: M * K }, () => rnd() * 2 - 1));
  const yp = q.rt.alloc(M * N * 4);
  const dense = q.packGemmS8(w8, K, N, { aZeroPoint: 3, scale: 0.001 });
  const runDense = () => dense.runInt8(xp, M, yp);
  console.log(`${q.build} M=${M} K=${K} N=${N} (dense int8 gemm_s8 packed: ${(dense.bytes / 1024).toFixed(0)} KiB)`);
  const cases = [];
  for (const sp of [0.5, 0.7, 0.9, 0.95]) cases.push([`unstructured ${sp * 100}%`, { mask: magnitudeMask(w8, K, N, 1 - sp) }]);
  cases.push(['2:4 (50%)', { format: 'nm', nm: [2, 4], mask: nmMask(w8, K, N, 2, 4) }]);
  cases.push(['1:4 (75%)', { format: 'nm', nm: [1, 4], mask: nmMask(w8, K, N, 1, 4) }]);
  for (const sp of [0.5, 0.9]) {
    cases.push([`block 1x8 ${sp * 100}%`, { format: 'block', block: [1, 8], mask: blockMask(w8, K, N, 1, 8, 1 - sp) }]);
    cases.push([`block 4x4 ${sp * 100}%`, { format: 'block', block: [4, 4], mask: blockMask(w8, K, N, 4, 4, 1 - sp) }]);
  }
  for (const [name, o] of cases) {
    const s = q.sparseS8(w8, K, N, { ...o, aZeroPoint: 3, scale: 0.001 });
    const [td, t] = pair(runDense, () => s.runInt8(xp, M, yp));
    console.log(`  sparse int8 ${name.padEnd(20)} ${f(t)} µs  dense ${f(td)} µs  ×${(td / t).toFixed(2)}  (${(s.bytes / 1024).toFixed(0)} KiB)`);
    s.dispose();
  }
  const r = N / 8;
  const P = Int8Array.from({ length: K * r }, () => Math.round(rnd() * 254) - 127), Q = Int8Array.from({ length: r * N }, () => Math.round(rnd() * 254) - 127);
  const lr = q.lowRankS8(P, Q, K, r, N, { aZeroPoint: 3, mid: { scale: 0.001 }, scale: 0.001 });
  const [td, tl] = pair(runDense, () => lr.runInt8(xp, M, yp));
  console.log(`  low-rank int8 r=${r} ${' '.repeat(12)}${f(tl)} µs  dense ${f(td)} µs  ×${(td / tl).toFixed(2)}`);
  lr.dispose();
  // f32: dense gemm_f32 (unpacked B) vs sparse f32 / low-rank f32
  const wp = q.rt.put(wf);
  const runDenseF = () => q.kernels.gemm_f32(M, K, N, 1, xfp, K, 0, wp, N, 0, 0, yp, N, 0);
  for (const [name, o] of [cases[2], cases[4], cases[7]]) {
    const s = q.sparseF32(wf, K, N, o);
    const [tdf, t] = pair(runDenseF, () => s.runPtr(xfp, M, yp));
    console.log(`  sparse f32 ${name.padEnd(21)} ${f(t)} µs  dense f32 ${f(tdf)} µs  ×${(tdf / t).toFixed(2)}`);
    s.dispose();
  }
  const lf = q.lowRankF32(Float32Array.from(P, (v) => v / 127), Float32Array.from(Q, (v) => v / 127), K, r, N);
  const [tdf, tlf] = pair(runDenseF, () => lf.runPtr(xfp, M, yp));
  console.log(`  low-rank f32 r=${r} ${' '.repeat(13)}${f(tlf)} µs  dense f32 ${f(tdf)} µs  ×${(tdf / tlf).toFixed(2)}`);
  lf.dispose();
  q.rt.free(wp);
  dense.dispose();
  q.rt.free(xp); q.rt.free(xfp); q.rt.free(yp);
}
