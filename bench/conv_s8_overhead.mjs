// Where an int8 3×3 conv's time goes, measured interleaved in one process (robust to a loaded machine):
//   conv      conv2d_s8 (packed, pointer-level, NHWC), this tree's simd build
//   gemm      gemm_s8 on the conv's GEMM shape (M = OH·OW, K = 9·C, N = OC) with the im2col matrix made
//             beforehand — the MAC work alone, no im2col, same 4×8 tile
//   ort       onnxruntime-web QLinearConv (NCHW u8 × s8, 1 thread; session.run included, as in bench/run.js)
//   old       (with --old FILE) conv2d_s8 of another simd .wasm, e.g. main's build, for an A/B of a change
// Each round times every contestant once (order rotated); prints per contestant the median GOPS over rounds and
// the median (min–max) of per-round time ratios. Usage:
//   node bench/conv_s8_overhead.mjs [--rounds 31] [--old /work/main/build/qwasm.simd.wasm] [--no-ort] [--wall]
//     [--shapes 32,56] [--ms 150]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { init } from '../dist/index.js';
import { qlinearConvModel } from './onnx-model.js';
import { ortWithPool } from './ort-pool.js';

const { values: opt } = parseArgs({ options: {
  rounds: { type: 'string', default: '31' }, old: { type: 'string' }, 'no-ort': { type: 'boolean', default: false },
  shapes: { type: 'string', default: '32,56' }, wall: { type: 'boolean', default: false },
  ms: { type: 'string', default: '150' },
} });
const rounds = Number(opt.rounds);
const q = await init({ build: 'simd', threads: 1 });
const qOld = opt.old ? await init({ build: 'simd', threads: 1, wasm: readFileSync(opt.old) }) : null;
const ort = opt['no-ort'] ? null : await ortWithPool(1);
const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// ms per call over ≥ minMs of back-to-back calls. Clock: the main thread's on-CPU time (Linux
// /proc/self/task/<pid>/schedstat, ns) by default — on a machine shared with other jobs the wall clock also counts
// the time slices other processes get, which swamps a few-% difference; every contestant runs on this one thread
// (ORT with a pool of 1), and V8's GC / compiler threads are not counted. --wall: performance.now() instead.
const statPath = `/proc/self/task/${process.pid}/schedstat`;
const threadMs = () => Number(readFileSync(statPath, 'utf8').split(' ')[0]) / 1e6;
const clock = opt.wall ? () => performance.now() : threadMs;
// Windows of --ms (150) ms: a contestant's first call after another's pays for refilling the caches with its own
// weights and buffers; short windows would charge that to the peer with the bigger footprint.
const MIN_MS = Number(opt.ms);
function timeIt(fn, minMs = MIN_MS) {
  let iters = 0; const t0 = clock(); let t = t0;
  do { fn(); iters++; t = clock(); } while (t - t0 < minMs);
  return (t - t0) / iters;
}
async function timeAsync(fn, minMs = MIN_MS) {
  let iters = 0; const t0 = clock(); let t = t0;
  do { await fn(); iters++; t = clock(); } while (t - t0 < minMs);
  return (t - t0) / iters;
}

for (const hs of opt.shapes.split(',').map(Number)) {
  const h = hs, w = hs, c = 64, oc = 64, k = 3, K = k * k * c, M = h * w, ops = 2 * M * K * oc;
  const wts = Int8Array.from({ length: oc * K }, (_, i) => ((i * 37) % 255) - 127);
  const input = Int8Array.from({ length: M * c }, (_, i) => ((i * 13) % 256) - 128);
  const cs = {};
  const convOf = (qq) => {
    const p = qq.packConv2dS8(wts, [oc, k, k, c], { padding: 1, inZeroPoint: 3, scale: 0.001, outZeroPoint: -2 });
    const ip = qq.rt.put(input), op = qq.rt.alloc(M * oc);
    return () => p.run(ip, 1, h, w, op);
  };
  cs.conv = { fn: convOf(q) };
  if (qOld) cs.old = { fn: convOf(qOld) };
  {
    const g = q.packGemmS8(wts, K, oc, { scale: 0.001, aZeroPoint: 3 });
    // the patch matrix: any bytes do for timing the MACs
    const ap = q.rt.put(Int8Array.from({ length: M * K }, (_, i) => ((i * 13) % 256) - 128)), op = q.rt.alloc(M * oc);
    cs.gemm = { fn: () => g.runInt8(ap, M, op) };
  }
  if (ort) {
    const bytes = qlinearConvModel({ n: 1, c, h, w, oc, kh: k, kw: k, pad: 1 }, wts);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const feeds = { x: new ort.Tensor('uint8', new Uint8Array(input.buffer), [1, c, h, w]) };
    await session.run(feeds);
    cs.ort = { fn: () => session.run(feeds), async: true };
  }
  const names = Object.keys(cs);
  for (const n of names) cs[n].t = [];
  for (let r = 0; r < rounds + 1; r++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(j + r) % names.length];
      const t = cs[n].async ? await timeAsync(cs[n].fn) : timeIt(cs[n].fn);
      if (r > 0) cs[n].t.push(t); // round 0 warms up
    }
  }
  console.log(`${h}x${w}x${c} -> ${oc} 3x3 pad 1 (GEMM ${M}x${K}x${oc}), ${rounds} rounds:`);
  for (const n of names) console.log(`  ${n.padEnd(5)} ${(ops / median(cs[n].t) / 1e6).toFixed(1).padStart(6)} GOPS (median), best ${(ops / Math.min(...cs[n].t) / 1e6).toFixed(1)}`);
  const ratio = (a, b) => {
    const rs = cs[a].t.map((t, i) => cs[b].t[i] / t);
    return `${median(rs).toFixed(3)} (${Math.min(...rs).toFixed(3)}–${Math.max(...rs).toFixed(3)})`;
  };
  for (const [a, b] of [['conv', 'gemm'], ['conv', 'ort'], ['gemm', 'ort'], ['conv', 'old'], ['old', 'ort']]) {
    if (cs[a] && cs[b]) console.log(`  ${b} time / ${a} time: ${ratio(a, b)}`);
  }
}
process.exit(0);
