// Quick measurement (not a test): GOPS of the int8 conv2d fast path (packed weights, pointer-level run) on
// 3×3 pad-1 convs; ops = 2·N·OH·OW·OC·KH·KW·Cg. Usage: node bench/conv_s8_gops.js [build]
import { init } from '../dist/index.js';

const build = process.argv[2] ?? 'simd';
const q = await init({ build });
const cases = [
  { name: '32×32×64→64 3×3 pad 1', n: 1, h: 32, w: 32, c: 64, oc: 64, k: 3, groups: 1 },
  { name: '56×56×64→64 3×3 pad 1', n: 1, h: 56, w: 56, c: 64, oc: 64, k: 3, groups: 1 },
  { name: '56×56×64→64 1×1', n: 1, h: 56, w: 56, c: 64, oc: 64, k: 1, groups: 1 },
  { name: '56×56×128 depthwise 3×3 pad 1', n: 1, h: 56, w: 56, c: 128, oc: 128, k: 3, groups: 128 },
];
for (const cs of cases) {
  const { n, h, w, c, oc, k, groups } = cs;
  const cg = c / groups;
  const wts = Int8Array.from({ length: oc * k * k * cg }, (_, i) => ((i * 37) % 255) - 127);
  const p = q.packConv2dS8(wts, [oc, k, k, cg], { padding: (k - 1) / 2, groups, inZeroPoint: 3, scale: 0.001, outZeroPoint: -2 });
  const [, oh, ow] = p.outputShape(n, h, w);
  const ip = q.rt.put(Int8Array.from({ length: n * h * w * c }, (_, i) => ((i * 13) % 256) - 128));
  const op = q.rt.alloc(n * oh * ow * oc);
  const ops = 2 * n * oh * ow * oc * k * k * cg;
  for (let i = 0; i < 20; i++) p.run(ip, n, h, w, op);
  let best = Infinity;
  for (let rep = 0; rep < 25; rep++) { // best of many short rounds: robust to a busy machine
    const iters = Math.max(3, Math.round(3e8 / ops));
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) p.run(ip, n, h, w, op);
    best = Math.min(best, (performance.now() - t0) / iters);
  }
  console.log(`${q.build} ${cs.name}: ${best.toFixed(3)} ms, ${(ops / best / 1e6).toFixed(2)} GOPS`);
  p.dispose(); q.rt.free(ip); q.rt.free(op);
}
