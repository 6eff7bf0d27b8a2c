// InceptionV3 (nsfwjs, Keras, a Graph of concat blocks) through the int8 path on a real target:
//   import cut at mixed7 (--cut), input --size px; a new GAP + Linear head fitted on the frozen float features of
//   tuxpaint-natural's train split (full-batch softmax regression in JS); static PTQ (quantizeStatic, minmax, on
//   train images); convertToInt8 with concat inputs on the output's grid (TFLite) and per-input; then, on the test
//   split and on every image: float vs int8 accuracy and top-1 agreement, and batch-1 latency of the int8 runner
//   vs the float32 engine (interleaved rounds in this process, median), the .qwm size and the pure-WASM runner's
//   agreement with Int8Runner (bit for bit).
//   node bench/inception-int8.mjs [--size 139] [--cut mixed7] [--calib-batches 4] [--rounds 5] [--build simd]
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import {
  init, Engine, importTfjs, loadTuxPaintNatural, quantizeStatic, buildInt8Graph, Int8Model, encodeQwm, quantizeInput,
} from '../dist/index.js';
import { prefixOutputs } from '../dist/transfer/cache.js';

const { values: a } = parseArgs({ options: {
  size: { type: 'string', default: '139' }, cut: { type: 'string', default: 'mixed7' }, 'calib-batches': { type: 'string', default: '4' },
  rounds: { type: 'string', default: '5' }, build: { type: 'string', default: 'simd' },
} });
const size = Number(a.size), rounds = Number(a.rounds);
const cpu = (() => { try { return execSync("lscpu | grep 'Model name'", { encoding: 'utf8' }).split(':')[1].trim(); } catch { return 'unknown CPU'; } })();
const log = (...s) => console.log(...s);
const t0 = performance.now(), el = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

const q = await init({ build: a.build, threads: 1 });
const e = new Engine(q.rt);
const imp0 = importTfjs(e, 'nsfwjs:inception_v3', { cut: a.cut, classes: 5, inputSize: size });
const { train, test } = loadTuxPaintNatural({ size, channels: 3, norm: imp0.norm });
const classes = train.classes.length;
const imp = classes === 5 ? imp0 : importTfjs(e, 'nsfwjs:inception_v3', { cut: a.cut, classes, inputSize: size });
const model = imp.model;
model.train(false);
log(`InceptionV3 cut at ${a.cut}, ${size} px, ${classes} classes (${train.classes.join(', ')}); train ${train.length}, test ${test.length} images; ${el()}`);

// ---------------------------------------------------------------- head: softmax regression on the GAP features
const feats = (ds) => {
  const { data, shape } = prefixOutputs(model, 1, ds, 8);
  const [h, w, c] = shape, out = new Float32Array(ds.length * c);
  for (let i = 0; i < ds.length; i++) for (let p = 0; p < h * w; p++) for (let j = 0; j < c; j++) out[i * c + j] += data[(i * h * w + p) * c + j] / (h * w);
  return { f: out, c };
};
const ftr = feats(train), fte = feats(test), K = ftr.c;
log(`features [${K}] of ${train.length + test.length} images: ${el()}`);
const W = new Float32Array(K * classes), B = new Float32Array(classes);
const logits = (f, i, out) => { for (let k = 0; k < classes; k++) { let s = B[k]; for (let j = 0; j < K; j++) s += f[i * K + j] * W[j * classes + k]; out[k] = s; } return out; };
{
  const lr = 0.5, l2 = 1e-4, z = new Float32Array(classes), gW = new Float32Array(K * classes), gB = new Float32Array(classes);
  for (let it = 0; it < 300; it++) {
    gW.fill(0); gB.fill(0);
    for (let i = 0; i < train.length; i++) {
      logits(ftr.f, i, z);
      const m = Math.max(...z); let s = 0;
      for (let k = 0; k < classes; k++) { z[k] = Math.exp(z[k] - m); s += z[k]; }
      for (let k = 0; k < classes; k++) {
        const g = (z[k] / s - (train.labels[i] === k ? 1 : 0)) / train.length;
        gB[k] += g;
        for (let j = 0; j < K; j++) gW[j * classes + k] += g * ftr.f[i * K + j];
      }
    }
    for (let j = 0; j < W.length; j++) W[j] -= lr * (gW[j] + l2 * W[j]);
    for (let k = 0; k < classes; k++) B[k] -= lr * gB[k];
  }
}
const head = model.layers[model.layers.length - 1];
head.weight.write(W); head.bias.write(B);
const argmax = (v, i, k) => { let b = 0; for (let j = 1; j < k; j++) if (v[i * k + j] > v[i * k + b]) b = j; return b; };
const floatPred = (f, n) => { const z = new Float32Array(classes); return Array.from({ length: n }, (_, i) => argmax(logits(f, i, z), 0, classes)); };
const pTrF = floatPred(ftr.f, train.length), pTeF = floatPred(fte.f, test.length);
const acc = (p, ds) => p.filter((v, i) => v === ds.labels[i]).length / ds.length;
log(`float head fitted: train ${(100 * acc(pTrF, train)).toFixed(1)} %, test ${(100 * acc(pTeF, test)).toFixed(1)} %; ${el()}`);

// ---------------------------------------------------------------- PTQ + int8
const qat = quantizeStatic(model, train, { batches: Number(a['calib-batches']), batchSize: 16 });
log(`calibrated (${a['calib-batches']} × 16 train images, minmax): ${el()}`);
const norm = (ds) => {
  const c = ds.channels, { mean, std } = ds.norm;
  return Float32Array.from(ds.images, (v, i) => (v / 255 - mean[i % c]) / std[i % c]);
};
const xtr = norm(train), xte = norm(test);
const results = {};
for (const concatInputs of ['shared', 'per-input']) {
  const graph = buildInt8Graph(qat, undefined, { concatInputs, meta: { labels: train.classes } });
  const i8 = Int8Model.fromGraph(q.rt, graph);
  const pred = (x, n) => { const out = []; for (let s = 0; s < n; s += 8) { const m = Math.min(8, n - s), y = i8.predict(x.subarray(s * x.length / n, (s + m) * x.length / n), m); for (let i = 0; i < m; i++) out.push(argmax(y, i, classes)); } return out; };
  const pTr = pred(xtr, train.length), pTe = pred(xte, test.length);
  const agree = (p, f) => p.filter((v, i) => v === f[i]).length;
  const bytes = encodeQwm(graph);
  // pure-WASM runner on the same codes
  const n = Math.min(4, test.length), codes = quantizeInput(xte.subarray(0, n * xte.length / test.length), graph.input);
  const p = q.rt.put(bytes); let wasmSame = null;
  try {
    const r = q.kernels.qwm_load(p, bytes.length);
    if (r === 0) wasmSame = q.rt.scoped((sc) => { const ip = sc.put(codes), op = sc.alloc(n * classes); q.kernels.qwm_run(ip, n, op); const w = q.rt.i8(op, n * classes).slice(); const j = i8.predictCodes(codes, n); return w.every((v, i) => v === j[i]); });
    else wasmSame = `qwm_load ${r}`;
  } finally { q.rt.free(p); }
  results[concatInputs] = { i8, testAcc: acc(pTe, test), trainAcc: acc(pTr, train), agreeTest: agree(pTe, pTeF), agreeAll: agree(pTr, pTrF) + agree(pTe, pTeF), bytes: bytes.length, wasmSame };
  log(`int8 (${concatInputs} concat grids): test ${(100 * acc(pTe, test)).toFixed(1)} %, train ${(100 * acc(pTr, train)).toFixed(1)} %; top-1 agreement with float ${agree(pTe, pTeF)}/${test.length} test, ${results[concatInputs].agreeAll}/${train.length + test.length} all; .qwm ${bytes.length} B; qwm_run == Int8Runner: ${wasmSame}; ${el()}`);
}

// ---------------------------------------------------------------- batch-1 latency, interleaved
const per = size * size * 3, x1 = xte.subarray(0, per);
const xt = e.persistent([1, size, size, 3], x1);
const floatMs = () => { const t = performance.now(); e.noGrad(() => { model.forward(xt); e.endStep(); }); return performance.now() - t; };
const i8Ms = (m) => { const t = performance.now(); m.predict(x1, 1); return performance.now() - t; };
floatMs(); i8Ms(results.shared.i8); i8Ms(results['per-input'].i8);
const tf = [], ts = [], tp = [];
for (let r = 0; r < rounds; r++) { tf.push(floatMs()); ts.push(i8Ms(results.shared.i8)); tp.push(i8Ms(results['per-input'].i8)); }
const med = (v) => v.sort((x, y) => x - y)[v.length >> 1];
log(`batch-1 latency (${a.build} build, one thread, median of ${rounds} interleaved rounds): float32 ${med(tf).toFixed(0)} ms, int8 shared ${med(ts).toFixed(0)} ms (${(med(tf) / med(ts)).toFixed(2)}×), int8 per-input ${med(tp).toFixed(0)} ms (${(med(tf) / med(tp)).toFixed(2)}×)`);
log(`CPU: ${cpu}; load average ${execSync('cat /proc/loadavg', { encoding: 'utf8' }).trim()}; ${el()}`);
