// Compression measurements on MNIST refcnn (pruning + low rank, src/compress/):
//   node bench/compress.js [--steps N] [--ft-steps N] [--base FILE] [--build simd] [--json OUT]   (last run: bench/compress-results.json)
// 1. float baseline: refcnn trained for --steps steps (default one epoch, 937 × 64) with Adam 2e-3
//    (cached in --base, default /tmp/qwasm-refcnn-base.qck)
// 2. (a) 90 % unstructured global magnitude pruning, gradual (PolynomialDecay 0 → 0.9), fine-tuned; then static
//        PTQ int8 through convertToInt8 (sparse kernels picked from the masks): accuracy and bytes (Int8Model.bytes():
//        the .qwm file size, sparse tensors gap-coded) vs f32 bytes
// The documented targets run through the CLI instead (qwasm compress, docs/compression.md "Targets").
// 3. (b) fc1 (1600 → 128) at rank 16, fine-tuned; fc1 latency dense vs low rank, f32 and int8, M = 1 and 64
// 4. (c) channel pruning (50 % of the outputs of conv1, conv2, fc1), fine-tuned, then removed (smaller model)
import { existsSync, writeFileSync } from 'node:fs';
import {
  init, Engine, buildModel, fit, evaluate, loadDataset, saveModel, loadModelCheckpoint,
  Pruner, prunedWeights, removePrunedChannels, factorize, copyModel, quantizeStatic, convertToInt8,
  PackedGemmF32, LowRankF32, PackedGemmS8, LowRankS8, SparseMatrixS8,
} from '../dist/index.js';

const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const build = arg('build', 'simd');
const q = await init({ build });
const rt = q.rt;
const e = new Engine(rt);
const { train, test } = loadDataset('mnist');
const out = { build, date: new Date().toISOString() };
const log = (...a) => console.log(...a);
const acc = (m) => +(evaluate(m, test).accuracy * 100).toFixed(2);

// ------------------------------------------------------------------ 1. baseline
const steps = +arg('steps', 937), ftSteps = +arg('ft-steps', 600);
const baseFile = arg('base', '/tmp/qwasm-refcnn-base.qck');
let base;
if (existsSync(baseFile)) base = loadModelCheckpoint(e, baseFile).model;
else {
  base = buildModel(e, 'refcnn', { seed: 1 });
  const r = fit(base, train, { epochs: 1, batchSize: 64, lr: 2e-3, seed: 1, maxSteps: steps });
  log(`trained ${r.steps} steps in ${r.seconds.toFixed(1)} s`);
  saveModel(baseFile, base, { name: 'refcnn', options: { seed: 1 } });
  r.optimizer.dispose();
}
out.float = acc(base);
out.floatBytes = base.numParameters() * 4;
log(`float: ${out.float} % (${base.numParameters()} parameters, ${out.floatBytes} bytes)`);

function int8Of(model, label, sparse) {
  try {
    const qat = quantizeStatic(model, train, { batches: 16, batchSize: 64 });
    // every pruned weight (convs too: a dense conv kernel runs them, the .qwm stores them gap-coded)
    const im = convertToInt8(qat, undefined, { pruned: prunedWeights(model), ...(sparse ? { sparse } : {}) });
    const { accuracy } = im.evaluate(test, { batchSize: 500 });
    const res = { accuracy: +(100 * accuracy).toFixed(2), bytes: im.bytes(), layers: im.layers().filter((l) => l.backend).map((l) => `${l.name}:${l.backend}:${l.bytes}`) };
    im.dispose();
    log(`${label} int8 (static PTQ): ${res.accuracy} %, ${res.bytes} bytes (${(out.floatBytes / res.bytes).toFixed(1)}× smaller than f32) [${res.layers.join(' ')}]`);
    return res;
  } catch (err) {
    log(`${label} int8: not measured (${err.message})`);
    return { error: err.message };
  }
}
out.floatInt8 = int8Of(base, 'float');
{
  // fair reference for (a): the float model trained for the same extra steps, same learning rate, no pruning
  const m = copyModel(base);
  const r = fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, seed: 2, maxSteps: ftSteps });
  out.floatContinued = acc(m);
  log(`float + ${r.steps} more steps (lr 1e-3, the fine-tuning budget of (a)): ${out.floatContinued} %`);
  r.optimizer.dispose(); m.dispose();
}

// ------------------------------------------------------------------ 2. (a) 90 % gradual global magnitude pruning
{
  const oneShot = copyModel(base);
  const p1 = new Pruner(oneShot, { sparsity: 0.9, scope: 'global' });
  out.oneShot90NoFinetune = acc(oneShot);
  p1.dispose(); oneShot.dispose();

  const m = copyModel(base);
  const end = Math.round(ftSteps * 2 / 3);
  const p = new Pruner(m, { scope: 'global', schedule: { initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: end, frequency: 50 } });
  const t0 = performance.now();
  const r = fit(m, train, p.fitOptions({ epochs: 1, batchSize: 64, lr: 1e-3, seed: 2, maxSteps: ftSteps }));
  const rep = p.sparsity();
  out.pruned90 = {
    accuracy: acc(m), steps: r.steps, seconds: +((performance.now() - t0) / 1000).toFixed(1), schedule: `PolynomialDecay 0→0.9, steps 0..${end}, every 50`,
    sparsity: +rep.global.toFixed(4), layers: Object.fromEntries(rep.layers.map((l) => [l.name, +l.sparsity.toFixed(4)])),
  };
  log(`(a) 90 % global unstructured, gradual + ${r.steps} fine-tune steps: ${out.pruned90.accuracy} % (one-shot, no fine-tune: ${out.oneShot90NoFinetune} %); sparsity ${JSON.stringify(out.pruned90.layers)}`);
  out.pruned90Int8 = int8Of(m, '(a) pruned');
  r.optimizer.dispose(); p.dispose(); m.dispose();
}

// (a2) the same with 1×8 blocks (one index per 8 weights): what the int8 storage would gain from structure
{
  const m = copyModel(base);
  const end = Math.round(ftSteps * 2 / 3);
  const p = new Pruner(m, { mode: 'block', block: [1, 8], scope: 'global', schedule: { initialSparsity: 0, finalSparsity: 0.9, beginStep: 0, endStep: end, frequency: 50 } });
  const r = fit(m, train, p.fitOptions({ epochs: 1, batchSize: 64, lr: 1e-3, seed: 2, maxSteps: ftSteps }));
  const rep = p.sparsity();
  const fc1 = p.prunedWeights().get(m.layers[7].weight);
  const h = new SparseMatrixS8(rt, new Int8Array(fc1.k * fc1.n).fill(1), fc1.k, fc1.n, { mask: fc1.kn, format: 'block', block: [1, 8] });
  const hc = new SparseMatrixS8(rt, new Int8Array(fc1.k * fc1.n).fill(1), fc1.k, fc1.n, { mask: fc1.kn });
  out.pruned90Block = { accuracy: acc(m), sparsity: +rep.global.toFixed(4), layers: Object.fromEntries(rep.layers.map((l) => [l.name, +l.sparsity.toFixed(4)])),
    fc1HandleBytes: { block1x8: h.bytes, csrSameMask: hc.bytes, nnz: h.nnz } };
  h.dispose(); hc.dispose();
  log(`(a2) 90 % global 1×8 blocks, gradual + ${r.steps} steps: ${out.pruned90Block.accuracy} %; fc1 SparseMatrixS8 bytes: block ${out.pruned90Block.fc1HandleBytes.block1x8} vs csr ${out.pruned90Block.fc1HandleBytes.csrSameMask} (${out.pruned90Block.fc1HandleBytes.nnz} nonzeros)`);
  out.pruned90BlockInt8 = int8Of(m, '(a2) block-pruned', { format: 'block', block: [1, 8] });
  r.optimizer.dispose(); p.dispose(); m.dispose();
}

// ------------------------------------------------------------------ 3. (b) fc1 rank 16
{
  const { model: lr, report } = factorize(base, { rank: 16, layers: ['7'] });
  out.rank16NoFinetune = acc(lr);
  const r = fit(lr, train, { epochs: 1, batchSize: 64, lr: 1e-3, seed: 3, maxSteps: Math.round(ftSteps / 2) });
  out.rank16 = { accuracy: acc(lr), steps: r.steps, energyKept: +report[0].energy.toFixed(4), weights: `${report[0].weightsBefore} → ${report[0].weightsAfter}` };
  log(`(b) fc1 rank 16: ${out.rank16NoFinetune} % before fine-tuning, ${out.rank16.accuracy} % after ${r.steps} steps (energy kept ${out.rank16.energyKept})`);
  out.rank16Int8 = int8Of(lr, '(b) rank-16');
  r.optimizer.dispose(); lr.dispose();
}

// ------------------------------------------------------------------ (c) channel pruning, 50 % of conv / fc1 outputs removed
{
  const m = copyModel(base);
  const p = new Pruner(m, { mode: 'channel', scope: 'layer', sparsity: 0.5 });
  out.channel50NoFinetune = acc(m);
  const r = fit(m, train, p.fitOptions({ epochs: 1, batchSize: 64, lr: 1e-3, seed: 4, maxSteps: Math.round(ftSteps / 2) }));
  const masked = acc(m);
  const { model: small, removed } = removePrunedChannels(m, p);
  out.channel50 = { maskedAccuracy: masked, shrunkAccuracy: acc(small), steps: r.steps, parameters: `${m.numParameters()} → ${small.numParameters()}`,
    removed: Object.fromEntries(Object.entries(removed).map(([k, v]) => [k, v.length])) };
  log(`(c) 50 % channels per layer: ${out.channel50NoFinetune} % before fine-tuning; after ${r.steps} steps masked ${masked} %, shrunk model ${out.channel50.shrunkAccuracy} % (${out.channel50.parameters} parameters)`);
  r.optimizer.dispose(); p.dispose(); m.dispose(); small.dispose();
}

// fc1 latency: dense vs low rank (r = 16), f32 and int8
function time(fn) {
  for (let i = 0; i < 20; i++) fn();
  const rounds = [];
  for (let r = 0; r < 7; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 60) { fn(); n++; }
    rounds.push((performance.now() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[3] * 1000; // µs, median
}
{
  const K = 1600, N = 128, R = 16;
  const rnd = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.05);
  const w = rnd(K * N, 1), p = rnd(K * R, 2), qq = rnd(R * N, 3);
  const i8 = (n, s) => Int8Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 78.233 + s) * 120));
  const dense = new PackedGemmF32(rt, w, K, N), low = new LowRankF32(rt, p, qq, K, R, N);
  const d8 = new PackedGemmS8(rt, i8(K * N, 1), K, N, { scale: 1e-3 });
  const l8 = new LowRankS8(rt, i8(K * R, 2), i8(R * N, 3), K, R, N, { mid: { scale: 1e-3 }, scale: 1e-3 });
  const mask = new Uint8Array(K * N).map((_, i) => (Math.sin(i * 3.7) > 0.8 ? 1 : 0)); // ≈ 10 % density
  const s8 = new SparseMatrixS8(rt, i8(K * N, 1), K, N, { mask, scale: 1e-3 });
  out.fc1Latency = {};
  for (const M of [1, 64]) {
    const xf = rt.alloc(M * K * 4), yf = rt.alloc(M * N * 4), x8 = rt.alloc(M * K), y8 = rt.alloc(M * N);
    rt.f32(xf, M * K).set(rnd(M * K, 4));
    rt.i8(x8, M * K).set(i8(M * K, 4));
    const r = {
      f32Dense: time(() => dense.runPtr(xf, M, yf)),
      f32LowRank: time(() => low.runPtr(xf, M, yf)),
      int8Dense: time(() => d8.runInt8(x8, M, y8)),
      int8LowRank: time(() => l8.runInt8(x8, M, y8)),
      int8Sparse90: time(() => s8.runInt8(x8, M, y8)),
    };
    for (const k of Object.keys(r)) r[k] = +r[k].toFixed(2);
    out.fc1Latency[`M${M}`] = { ...r, f32Speedup: +(r.f32Dense / r.f32LowRank).toFixed(2), int8Speedup: +(r.int8Dense / r.int8LowRank).toFixed(2), int8SparseSpeedup: +(r.int8Dense / r.int8Sparse90).toFixed(2) };
    log(`fc1 M=${M} (µs): ${JSON.stringify(out.fc1Latency[`M${M}`])}`);
    for (const x of [xf, yf, x8, y8]) rt.free(x);
  }
  for (const h of [dense, low, d8, l8, s8]) h.dispose();
}
const jsonOut = arg('json', null);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
log(JSON.stringify(out));
