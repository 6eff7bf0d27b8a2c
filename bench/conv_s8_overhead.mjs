// conv2d time / bare gemm_s8 time on the same M×K×N, interleaved (robust to machine noise).
import { init } from '../dist/index.js';
const q = await init({ build: 'simd' });
for (const [h, c, oc] of [[32, 64, 64], [56, 64, 64]]) {
  const k = 3, K = k * k * c, M = h * h;
  const wts = Int8Array.from({ length: oc * K }, (_, i) => ((i * 37) % 255) - 127);
  const p = q.packConv2dS8(wts, [oc, k, k, c], { padding: 1, inZeroPoint: 3, scale: 0.001 });
  const g = q.packGemmS8(wts, K, oc, { scale: 0.001 });
  const ip = q.rt.put(Int8Array.from({ length: M * c }, (_, i) => ((i * 13) % 256) - 128));
  const ap = q.rt.put(Int8Array.from({ length: M * K }, (_, i) => ((i * 13) % 256) - 128));
  const op = q.rt.alloc(M * oc);
  let tc = Infinity, tg = Infinity;
  for (let rep = 0; rep < 30; rep++) {
    let t0 = performance.now(); for (let i = 0; i < 5; i++) p.run(ip, 1, h, h, op); tc = Math.min(tc, (performance.now() - t0) / 5);
    t0 = performance.now(); for (let i = 0; i < 5; i++) g.runInt8(ap, M, op); tg = Math.min(tg, (performance.now() - t0) / 5);
  }
  console.log(`${h}x${h}x${c}->${oc}: conv ${tc.toFixed(3)} ms (${(2 * M * K * oc / tc / 1e6).toFixed(1)} GOPS), gemm ${tg.toFixed(3)} ms, ratio ${(tc / tg).toFixed(3)}`);
}
