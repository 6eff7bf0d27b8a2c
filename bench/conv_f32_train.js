// f32 training kernels at the shapes of the target MNIST CNN, batch 64 (one core):
//   conv1 28×28×1 → 32, 3×3 valid; maxpool 2; conv2 13×13×32 → 64, 3×3 valid; maxpool 2.
// Times forward, backward-data (dx) and backward-filter (dW + db) of each conv (GFLOPS = 2·MACs / s of each
// pass), the max pools and a batch norm over conv1's output. Pointer-level calls on buffers already in WASM
// memory, as the autograd engine makes them.
//   node bench/conv_f32_train.js [build …]        (default: simd)
// Each number is the best of 8 batches of 5 calls, measured as process CPU time (on a shared machine wall
// time measures the other tenants too); --wall measures wall time instead.
import {
  init, conv2dF32Shape, conv2dF32Forward, conv2dF32BackwardData, conv2dF32BackwardFilter, pool2dF32Shape,
  maxPool2dF32Forward, maxPool2dF32Backward, batchNormF32ForwardTrain, batchNormF32Backward,
} from '../dist/index.js';

const args = process.argv.slice(2);
const wall = args.includes('--wall');
const buildNames = args.filter((a) => !a.startsWith('--'));

function time(fn) {
  fn(); fn();
  let best = Infinity;
  for (let i = 0; i < 8; i++) {
    if (wall) {
      const t0 = performance.now();
      for (let j = 0; j < 5; j++) fn();
      best = Math.min(best, (performance.now() - t0) / 5);
    } else {
      const c0 = process.cpuUsage();
      for (let j = 0; j < 5; j++) fn();
      const c = process.cpuUsage(c0);
      best = Math.min(best, (c.user + c.system) / 1000 / 5);
    }
  }
  return best;
}

for (const build of buildNames.length ? buildNames : ['simd']) {
  const q = await init({ build });
  const rt = q.rt;
  const fill = (ptr, n) => { const a = rt.f32(ptr, n); for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5; return ptr; };
  const buf = (n) => fill(rt.alloc(n * 4), n);
  console.log(`build ${build} (${wall ? 'wall' : 'CPU'} time, batch 64)`);
  let total = 0, totalFlop = 0;
  for (const [name, p] of [['conv1', { n: 64, h: 28, w: 28, c: 1, oc: 32, kh: 3, kw: 3 }],
                           ['conv2', { n: 64, h: 13, w: 13, c: 32, oc: 64, kh: 3, kw: 3 }]]) {
    const s = conv2dF32Shape(p);
    const flop = 2 * s.n * s.oh * s.ow * s.oc * s.kh * s.kw * (s.c / s.groups);
    const x = buf(s.xLength), w = buf(s.wLength), b = buf(s.oc), y = buf(s.yLength);
    const dx = buf(s.xLength), dw = buf(s.wLength), db = buf(s.oc), dy = buf(s.yLength);
    const tf = time(() => conv2dF32Forward(rt, s, x, w, b, y));
    const td = time(() => conv2dF32BackwardData(rt, s, dy, w, dx));
    const tw = time(() => conv2dF32BackwardFilter(rt, s, x, dy, dw, db));
    const g = (t) => (flop / t / 1e6).toFixed(1);
    console.log(`  ${name} ${s.h}×${s.w}×${s.c}→${s.oc}: fwd ${tf.toFixed(2)} ms (${g(tf)} GFLOPS), dx ${td.toFixed(2)} ms (${g(td)}), ` +
      `dW+db ${tw.toFixed(2)} ms (${g(tw)}); all three ${(tf + td + tw).toFixed(2)} ms (${g((tf + td + tw) / 3)} GFLOPS)`);
    total += tf + td + tw; totalFlop += 3 * flop;
    for (const ptr of [x, w, b, y, dx, dw, db, dy]) rt.free(ptr);
  }
  console.log(`  both convs, fwd + dx + dW: ${total.toFixed(2)} ms = ${(totalFlop / total / 1e6).toFixed(1)} GFLOPS`);
  for (const p of [{ n: 64, h: 26, w: 26, c: 32, kh: 2, kw: 2 }, { n: 64, h: 11, w: 11, c: 64, kh: 2, kw: 2 }]) {
    const s = pool2dF32Shape(p);
    const x = buf(s.xLength), y = buf(s.yLength), idx = rt.alloc(s.yLength * 4), dx = buf(s.xLength);
    const tf = time(() => maxPool2dF32Forward(rt, s, x, y, idx));
    const tb = time(() => maxPool2dF32Backward(rt, s, y, idx, dx));
    console.log(`  maxpool 2×2 ${s.h}×${s.w}×${s.c}: fwd ${tf.toFixed(2)} ms, bwd ${tb.toFixed(2)} ms`);
    for (const ptr of [x, y, idx, dx]) rt.free(ptr);
  }
  {
    const m = 64 * 26 * 26, c = 32;
    const P = { x: buf(m * c), y: buf(m * c), mean: buf(c), invstd: buf(c), gamma: buf(c), beta: buf(c), runMean: buf(c), runVar: buf(c) };
    const dx = buf(m * c), dg = buf(c), dbt = buf(c);
    const tf = time(() => batchNormF32ForwardTrain(rt, { m, c }, P));
    const tb = time(() => batchNormF32Backward(rt, { m, c }, { x: P.x, dy: P.y, mean: P.mean, invstd: P.invstd, gamma: P.gamma, dx, dgamma: dg, dbeta: dbt }));
    console.log(`  batch norm 64×26×26×32 (training): fwd ${tf.toFixed(2)} ms, bwd ${tb.toFixed(2)} ms`);
  }
}
