// compressModel (src/pipeline/compress-model.ts) and report rows (src/deploy/report.ts) on an MNIST subset with tiny
// budgets: the joint objective is exactly the weighted sum of its terms at every step, and each term changes
// training when switched on; pruning reaches its sparsity with masks held; the int8 model agrees with the
// fake-quant model; bytes shrink; the caller's model is untouched; same seed → same result; bad options are
// errors naming them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds } from './helpers.js';
import {
  Engine, buildModel, fit, evaluate, loadDataset, subset, BatchIterator, compressModel, reportRow, formatReport,
  weightSparsity, LowRankLinear, QATModel, COMPRESS_METHODS, convert, convertToInt8, prepareQat, prepare_qat, prepareQAT, weightOnlyBytes,
} from '../dist/index.js';

const { train, test: testSet } = loadDataset('mnist');
const first = (n, from = 0) => Int32Array.from({ length: n }, (_, i) => from + i);
const [q] = (await builds()).slice(-1);
const e = new Engine(q.rt);
const idx = first(640); // 10 steps of 64
const evalSet = subset(testSet, first(400, 5000));

// a base model trained on 1 280 other images (≈ 85 % on MNIST): the teacher and the model to compress
const base = buildModel(e, 'refcnn', { seed: 1 });
fit(base, train, { epochs: 1, batchSize: 64, lr: 2e-3, indices: first(1280, 2000), seed: 1 }).optimizer.dispose();
const baseAcc = evaluate(base, evalSet).accuracy;

const close = (a, b, rel = 1e-4) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

/** Logits of the fake-quant model (eval mode) and of the int8 model on the first n evaluation images. */
function logitsBoth(res, n = 200) {
  const it = new BatchIterator(evalSet, { batchSize: n, shuffle: false });
  const xs = new Float32Array(n * it.sampleSize), ys = new Int32Array(n);
  it.next(xs, ys);
  const m = res.quantized;
  m.eval();
  const fq = e.noGrad(() => { const x = e.empty([n, 28, 28, 1], false); x.write(xs); return m.forward(x).toArray(); });
  e.endStep();
  return { fq, i8: res.int8.predict(xs, n), n };
}

const argmax = (v, i, c) => { let b = 0; for (let j = 1; j < c; j++) if (v[i * c + j] > v[i * c + b]) b = j; return b; };

test('joint: every step\'s loss is exactly w_task·CE + α·KD + w_h·hint + w_q·qerr, all terms on', async () => {
  assert.ok(baseAcc > 0.7, `base model accuracy ${baseAcc}`);
  const o = { method: 'joint', epochs: 1, indices: idx, seed: 3, taskWeight: 0.7, distill: { temperature: 3, alpha: 0.4, hint: { student: '5', teacher: '5', weight: 0.25 } },
    qat: { qerrWeight: 1e5 }, prune: { sparsity: 0.6, frequency: 2 } };
  const res = await compressModel(base, train, o);
  const h = res.history;
  assert.is(h.steps.length, 10);
  assert.equal(h.terms.distill, { alpha: 0.4, temperature: 3, hints: 1 });
  for (const s of h.steps) {
    for (const k of ['task', 'kd', 'qerr']) assert.ok(Number.isFinite(s[k]) && s[k] > 0, `step ${s.step}: term ${k} = ${s[k]}`);
    const want = 0.7 * s.task + 0.4 * s.kd + 0.25 * s.hints[0] + 1e5 * s.qerr;
    assert.ok(close(s.loss, want), `step ${s.step}: loss ${s.loss}, weighted terms ${want}`);
  }
  // the polynomial schedule ramps up to the target (endStep defaults to 2/3 of the steps) and the masks hold
  assert.ok(h.steps[0].sparsity < h.steps[9].sparsity);
  assert.ok(Math.abs(h.sparsity.global - 0.6) < 1e-3, `sparsity ${h.sparsity.global}`);
  assert.ok(Math.abs(weightSparsity(res.floatModel).global - 0.6) < 2e-3, 'pruned weights are exactly zero after training');
  assert.ok(res.model instanceof QATModel);
  res.int8.dispose();
});

test('joint: switching each term on changes training (same seed otherwise)', async () => {
  const o = { epochs: 1, indices: first(320), seed: 4, lrSchedule: 'constant', lr: 1e-3 };
  const weightsOf = (res) => res.floatModel.parameters().map((p) => p.toArray());
  const differs = (a, b) => a.some((w, i) => w.some((v, j) => v !== b[i][j]));
  const runs = {
    plain: await compressModel(base, train, { ...o, method: 'joint', distill: { alpha: 0 } }),
    kd: await compressModel(base, train, { ...o, method: 'joint', distill: { alpha: 0.5 }, taskWeight: 1 }),
    qerr: await compressModel(base, train, { ...o, method: 'joint', distill: { alpha: 0 }, qat: { qerrWeight: 1e6 } }),
    prune: await compressModel(base, train, { ...o, method: 'joint', distill: { alpha: 0 }, prune: { sparsity: 0.5, schedule: 'oneshot' } }),
  };
  const w = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, weightsOf(r)]));
  // the first step's task loss is the same forward for plain / kd / qerr: only the added term differs
  const s0 = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.history.steps[0]]));
  assert.ok(close(s0.plain.task, s0.kd.task) && close(s0.plain.task, s0.qerr.task), 'same first forward');
  assert.ok(close(s0.kd.loss, s0.plain.loss + 0.5 * s0.kd.kd), `kd adds α·KD: ${s0.kd.loss} vs ${s0.plain.loss} + 0.5·${s0.kd.kd}`);
  assert.ok(close(s0.qerr.loss, s0.plain.loss + 1e6 * s0.qerr.qerr), 'qerr adds w_q·qerr');
  assert.ok(!close(s0.prune.task, s0.plain.task, 1e-6), 'one-shot 50 % pruning changes the first forward');
  assert.is(s0.prune.sparsity, 0.5);
  for (const k of ['kd', 'qerr', 'prune']) assert.ok(differs(w[k], w.plain), `term ${k} left the weights unchanged`);
  for (const r of Object.values(runs)) r.int8.dispose();
  // the penalty does what it says: with steps small against the int8 grid (Adam moves each weight by ≈ lr per
  // step; the grid step here is ≈ 1e-3) the weights end closer to it
  const pen = await compressModel(base, train, { ...o, method: 'qat', lr: 2e-5, qat: { qerrWeight: 1e7, freezeObserversAt: 1 } });
  const qs = pen.history.steps.map((s) => s.qerr);
  assert.ok(qs.at(-1) < 0.8 * qs[0], `qerr ${qs[0]} → ${qs.at(-1)}`);
  pen.int8.dispose();
});

test('joint 80 % pruning + QAT: int8 agrees with fake quant, bytes shrink, accuracy holds, caller\'s model untouched', async () => {
  const before = base.stateDict();
  const res = await compressModel(base, train, { method: 'joint', epochs: 1, indices: idx, seed: 5, distill: { alpha: 0.5 }, prune: { sparsity: 0.8 }, evalData: evalSet });
  for (const [k, v] of Object.entries(base.stateDict())) assert.equal(v.data, before[k].data, `the input model's ${k} changed`);
  const { fq, i8, n } = logitsBoth(res);
  let agree = 0, maxDiff = 0, maxAbs = 0;
  for (let i = 0; i < n; i++) if (argmax(fq, i, 10) === argmax(i8, i, 10)) agree++;
  for (let i = 0; i < fq.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(fq[i] - i8[i])); maxAbs = Math.max(maxAbs, Math.abs(fq[i])); }
  assert.ok(agree >= 0.97 * n, `int8 and fake-quant agree on ${agree}/${n}`);
  assert.ok(maxDiff < 0.1 * maxAbs, `logits differ by up to ${maxDiff} (max |logit| ${maxAbs})`);
  const [floatRow, row] = res.rows;
  assert.is(floatRow.method, 'float');
  assert.is(row.method, 'joint');
  assert.is(row.bytes, res.int8.bytes());
  assert.is(row.float32Bytes, 4 * base.numParameters());
  assert.ok(row.bytes < 0.6 * (floatRow.bytes / 4), `80 % sparse int8 ${row.bytes} B vs dense int8 ≈ ${floatRow.bytes / 4} B`);
  assert.ok(Math.abs(row.sparsity - 0.8) < 2e-3);
  assert.ok(row.accuracyInt8 > baseAcc - 0.1 && row.accuracyInt8 > 0.6, `int8 ${row.accuracyInt8} vs base ${baseAcc}`);
  assert.ok(Math.abs(row.accuracyInt8 - row.accuracyFakeQuant) <= 0.02);
  assert.ok(row.latencyMs > 0 && Number.isFinite(row.latencyMs));   // measured, never bounded: speed lives in bench/
  const md = formatReport(res.rows);
  assert.match(md, /^\| method \| params/);
  assert.is(md.split('\n').length, 4);
  assert.match(md, /\| joint \| 225 034 \| 80\.0 %/);
  res.int8.dispose();
});

test('float methods: prune / lowrank / distill / ptq go through static PTQ; lowrank shrinks the model', async () => {
  const lr = await compressModel(base, train, { method: 'lowrank', lowrank: { rank: 8, layers: ['7'] }, epochs: 1, indices: idx, seed: 6 });
  assert.ok(lr.floatModel.layers[7] instanceof LowRankLinear);
  assert.is(lr.history.terms.lowrank[0].rank, 8);
  assert.ok(lr.floatModel.numParameters() < base.numParameters() - 1600 * 128 + 8 * (1600 + 128) + 200);
  assert.ok(lr.int8.layers().some((l) => l.name === '7' && l.backend === 'lowrank'));
  assert.ok(lr.int8.evaluate(evalSet).accuracy > 0.6);
  lr.int8.dispose();
  const pr = await compressModel(base, train, { method: 'prune', prune: { sparsity: 0.9, schedule: 'oneshot' }, epochs: 1, indices: idx, seed: 6 });
  assert.ok(Math.abs(pr.history.sparsity.global - 0.9) < 1e-3);
  assert.ok(pr.int8.layers().some((l) => l.name === '7' && l.backend === 'sparse'), 'the pruned fc1 runs on the sparse kernel');
  assert.ok(!(pr.model instanceof QATModel) && pr.quantized instanceof QATModel);
  pr.int8.dispose();
  const ptq = await compressModel(base, train, { method: 'ptq', epochs: 0 });
  assert.is(ptq.history.steps.length, 0);
  assert.ok(Math.abs(ptq.int8.evaluate(evalSet).accuracy - baseAcc) <= 0.02);
  ptq.int8.dispose();
  const kd = await compressModel(buildModel(e, 'refcnn', { seed: 9 }), train, { method: 'distill', teacher: base, distill: { alpha: 0.9, temperature: 4 }, epochs: 1, indices: idx, seed: 6 });
  assert.ok(kd.history.steps.every((s) => s.kd > 0));
  assert.ok(kd.history.steps.at(-1).kd < kd.history.steps[0].kd, 'the KD loss falls');
  kd.int8.dispose();
});

/** Eval-mode float forward of `m` on the first n evaluation images. */
function forwardEval(m, n = 200) {
  const it = new BatchIterator(evalSet, { batchSize: n, shuffle: false });
  const xs = new Float32Array(n * it.sampleSize), ys = new Int32Array(n);
  it.next(xs, ys);
  m.eval();
  const y = e.noGrad(() => { const x = e.empty([n, 28, 28, 1], false); x.write(xs); return m.forward(x).toArray(); });
  e.endStep();
  return { y, xs, n };
}

test('channel pruning removes the pruned channels: fewer params and bytes, the masked model\'s outputs', async () => {
  // refcnn widths 32 / 64 / 128 → 16 / 32 / 64 at 50 % per layer ('9', the output layer, keeps its 10)
  const slimParams = (3 * 3 * 1 * 16 + 16) + (3 * 3 * 16 * 32 + 32) + (5 * 5 * 32 * 64 + 64) + (64 * 10 + 10);
  for (const [method, lsq] of [['prune', false], ['joint', false], ['joint', true]]) {
    // same seed → the same training; only the removal after it differs. joint + LSQ: the learned per-channel
    // step sizes are sliced with the channels
    const o = { method, epochs: 1, indices: first(320), seed: 11, prune: { sparsity: 0.5, structure: 'channel' },
      ...(method === 'joint' ? { distill: { alpha: 0 }, qat: { options: { lsq } } } : {}) };
    const masked = await compressModel(base, train, { ...o, prune: { ...o.prune, removeChannels: false } });
    const slim = await compressModel(base, train, o);
    const ch = slim.history.channels;
    assert.equal(Object.fromEntries(Object.entries(ch.removed).map(([k, v]) => [k, v.length])), { 0: 16, 3: 32, 7: 64 }, method);
    assert.is(masked.history.channels, undefined);
    assert.is(masked.floatModel.numParameters(), 225034);
    assert.is(ch.paramsBefore, 225034);
    assert.is(slim.floatModel.numParameters(), slimParams, `${method}: slim parameters`);
    assert.is(ch.paramsAfter, slimParams);
    assert.is(slim.floatModel.layers[0].weight.shape[0], 16);
    assert.is(slim.floatModel.layers[7].weight.shape.join('x'), '800x64');
    assert.ok(slim.int8.bytes() < 0.5 * masked.int8.bytes(), `${method}: slim int8 ${slim.int8.bytes()} B vs masked ${masked.int8.bytes()} B`);
    assert.is(slim.model instanceof QATModel, method === 'joint');
    // the removed channels were exactly 0: the narrower float model computes the masked model's function
    const a = forwardEval(masked.floatModel), b = forwardEval(slim.floatModel);
    let d = 0, mx = 0;
    for (let i = 0; i < a.y.length; i++) { d = Math.max(d, Math.abs(a.y[i] - b.y[i])); mx = Math.max(mx, Math.abs(a.y[i])); }
    assert.ok(mx > 1 && d <= 1e-5 * mx, `${method}: float logits differ by ${d} (max |logit| ${mx})`);
    const ia = masked.int8.predict(a.xs, a.n), ib = slim.int8.predict(a.xs, a.n);
    if (method === 'joint') {
      // QAT: the narrower fake-quant model took over the trained grid, so the int8 models are the same
      const fa = forwardEval(masked.quantized).y, fb = forwardEval(slim.quantized).y;
      assert.equal(fb, fa, `fake-quant logits (lsq ${lsq})`);
      assert.equal(ib, ia, `int8 logits (lsq ${lsq})`);
      assert.is(slim.history.terms.lsq, lsq);
      if (lsq) assert.is(slim.quantized.namedParameters().find(([n]) => n === 'quant.3.log_scales')[1].tensor.size, 32);
    } else {
      // static PTQ calibrated on the narrower model: the same activations, so at most a rounding apart
      let agree = 0;
      for (let i = 0; i < a.n; i++) if (argmax(ia, i, 10) === argmax(ib, i, 10)) agree++;
      assert.ok(agree >= 0.98 * a.n, `prune: int8 argmax agrees on ${agree}/${a.n}`);
    }
    for (const r of [masked, slim]) r.int8.dispose();
  }
});

test('factorised convs (channel and spatial modes): int8 agrees with the fake-quant model', async () => {
  for (const [method, conv] of [['lowrank', 'channel'], ['lowrank', 'spatial'], ['joint', 'spatial']]) {
    const res = await compressModel(base, train, { method, lowrank: { rank: 8, layers: ['3'], conv }, epochs: 1, indices: first(320), seed: 12, ...(method === 'joint' ? { distill: { alpha: 0 } } : {}) });
    assert.is(res.history.terms.lowrank[0].mode, conv);
    const [ka, kb] = [res.floatModel.layers[3].weight.shape, res.floatModel.layers[4].weight.shape];
    // channel: 3×3 conv to 8 channels, then 1×1; spatial: 3×1 conv to 8 channels, then 1×3 (OHWI)
    assert.equal([ka, kb], conv === 'channel' ? [[8, 3, 3, 32], [64, 1, 1, 8]] : [[8, 3, 1, 32], [64, 1, 3, 8]]);
    const names = res.int8.layers().map((l) => `${l.name}:${l.kind}`);
    assert.ok(names.includes('3a:conv') && names.includes('3b:conv'), names.join(' '));
    const { fq, i8, n } = logitsBoth(res);
    let agree = 0, maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < n; i++) if (argmax(fq, i, 10) === argmax(i8, i, 10)) agree++;
    for (let i = 0; i < fq.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(fq[i] - i8[i])); maxAbs = Math.max(maxAbs, Math.abs(fq[i])); }
    assert.ok(agree >= 0.98 * n, `${method} ${conv}: int8 and fake-quant agree on ${agree}/${n}`);
    assert.ok(maxDiff < 0.03 * maxAbs, `${method} ${conv}: logits differ by up to ${maxDiff} (max |logit| ${maxAbs})`);
    const fqAcc = evaluate(res.quantized, evalSet).accuracy, i8Acc = res.int8.evaluate(evalSet).accuracy;
    assert.ok(Math.abs(fqAcc - i8Acc) <= 0.01, `${method} ${conv}: int8 ${i8Acc} vs fake-quant ${fqAcc}`);
    res.int8.dispose();
  }
});

test('dynamic (weight-only) PTQ: no int8 model, the row says int8-weights with f32 activations', async () => {
  const res = await compressModel(base, train, { method: 'ptq', ptq: { method: 'dynamic' }, evalData: evalSet });
  assert.is(res.int8, null);
  assert.is(res.quantized.options.activations, false);
  const [f, row] = res.rows;
  assert.is(f.precision, 'f32');
  assert.is(row.precision, 'int8-weights');
  assert.is(row.accuracyInt8, null);
  assert.is(row.accuracy, row.accuracyFakeQuant);
  assert.is(row.accuracy, evaluate(res.quantized, evalSet).accuracy);
  assert.ok(Math.abs(row.accuracy - baseAcc) <= 0.02, `weight-only ${row.accuracy} vs float ${baseAcc}`);
  assert.is(row.bytes, weightOnlyBytes(res.quantized));
  assert.ok(row.bytes < 0.27 * row.float32Bytes);
  assert.match(formatReport(res.rows), /\| ptq \(int8 weights, f32 activations\) \|/);
  // per-output-channel int8 weight scales, no activation ranges
  const st = res.quantized.quantState();
  assert.is(st.units['7'].weightScales.length, 128);
  assert.is(st.units['7'].out, undefined);
  assert.is(st.input, null);
  // a static row for contrast: an all-int8 model
  const stat = await compressModel(base, train, { method: 'ptq', ptq: { method: 'percentile', percentile: 99.9, batches: 2 } });
  assert.ok(stat.int8 && stat.int8.bytes() > 0);
  stat.int8.dispose();
});

test('polynomial schedule options (initialSparsity, beginStep) reach the pruner', async () => {
  const res = await compressModel(base, train, { method: 'prune', epochs: 1, indices: idx, seed: 13, prune: { sparsity: 0.8, initialSparsity: 0.3, beginStep: 2, endStep: 8, frequency: 2 } });
  assert.equal(res.history.terms.prune.schedule, { initialSparsity: 0.3, finalSparsity: 0.8, beginStep: 2, endStep: 8, frequency: 2, power: 3 });
  const sp = res.history.steps.map((s) => +s.sparsity.toFixed(4));
  assert.equal(sp.slice(0, 2), [0, 0], 'nothing pruned before beginStep');
  assert.is(sp[2], 0.3, 'initialSparsity at beginStep');
  assert.ok(sp[4] > 0.3 && sp[4] < 0.8);
  assert.is(sp[8], 0.8);
  res.int8.dispose();
});

test('PyTorch names: prepareQat / prepare_qat and convert are prepareQAT and convertToInt8', () => {
  assert.is(prepareQat, prepareQAT);
  assert.is(prepare_qat, prepareQAT);
  assert.is(convert, convertToInt8);
});

test('same seed → identical int8 model; different seed → different', async () => {
  const o = { method: 'joint', epochs: 1, indices: first(256), seed: 7, prune: { sparsity: 0.5 }, distill: { alpha: 0.3 } };
  const a = await compressModel(base, train, o), b = await compressModel(base, train, o), c = await compressModel(base, train, { ...o, seed: 8 });
  const x = new Float32Array(4 * 784).map((_, i) => Math.sin(i));
  assert.equal(a.int8.predict(x, 4), b.int8.predict(x, 4));
  assert.equal(a.history.steps.map((s) => s.loss), b.history.steps.map((s) => s.loss));
  assert.not.equal(a.history.steps.map((s) => s.loss), c.history.steps.map((s) => s.loss));
  for (const r of [a, b, c]) r.int8.dispose();
});

test('reportRow: float baseline row and argument errors', () => {
  const r = reportRow('float', base, null, evalSet, { latencyRuns: 3 });
  assert.is(r.bytes, 4 * base.numParameters());
  assert.is(r.accuracyInt8, null);
  assert.is(r.accuracy, r.accuracyFloat);
  assert.is(r.count, 400);
  assert.throws(() => reportRow('', base, null, evalSet), /method/);
  assert.throws(() => reportRow('x', {}, null, evalSet), /model must be a Module/);
  assert.throws(() => reportRow('x', base, {}, evalSet), /int8 must be an Int8Model/);
  assert.throws(() => reportRow('x', base, null, {}), /testData/);
});

test('compressModel: bad options are errors naming them', async () => {
  const bad = async (o, re) => {
    let err = null;
    try { (await compressModel(base, train, o)).int8.dispose(); } catch (x) { err = x; }
    assert.ok(err && re.test(err.message), `${JSON.stringify(o)}: ${err?.message}`);
  };
  assert.equal([...COMPRESS_METHODS], ['qat', 'ptq', 'prune', 'lowrank', 'distill', 'joint']);
  await bad({ method: 'zip' }, /method must be one of/);
  await bad({ method: 'qat', prune: { sparsity: 0.5 } }, /opts\.prune is not used by method 'qat'/);
  await bad({ method: 'distill', indices: idx }, /needs opts\.teacher/);
  await bad({ method: 'prune', indices: idx }, /needs opts\.prune/);
  await bad({ method: 'prune', prune: { sparsity: 1.5 }, indices: idx }, /prune\.sparsity must be in \(0, 1\)/);
  await bad({ method: 'prune', prune: { sparsity: 0.5, structure: 'rows' }, indices: idx }, /prune\.structure/);
  await bad({ method: 'joint', distill: { hint: { student: '3', teacher: '3' } }, indices: idx }, /fused into a QAT unit/);
  await bad({ method: 'joint', qat: { qerrWeight: -1 }, indices: idx }, /qat\.qerrWeight must be ≥ 0/);
  await bad({ method: 'qat', lr: 0, indices: idx }, /lr must be > 0/);
  await bad({ method: 'qat', epochs: 1, batchSize: 64, indices: first(10) }, /smaller than one batch/);
  await bad({ method: 'qat', speed: 2 }, /unknown option 'speed'/);
  await bad({ method: 'lowrank', lowrank: { rank: 8, energy: 0.9 }, indices: idx }, /exactly one of rank, energy, compression/);
  await bad({ method: 'prune', prune: { sparsity: 0.5, initialSparsity: 0.7 }, indices: idx }, /prune\.initialSparsity must be in \[0, prune\.sparsity/);
  await bad({ method: 'prune', prune: { sparsity: 0.5, schedule: 'oneshot', beginStep: 2 }, indices: idx }, /prune\.beginStep is a polynomial-schedule option/);
  await bad({ method: 'prune', prune: { structure: 'nm', frequency: 2 }, indices: idx }, /prune\.frequency is a polynomial-schedule option/);
  await bad({ method: 'prune', prune: { sparsity: 0.5, removeChannels: false }, indices: idx }, /prune\.removeChannels is only for structure 'channel'/);
  await bad({ method: 'ptq', ptq: { method: 'minmax', percentile: 99 } }, /ptq\.percentile needs ptq\.method 'percentile'/);
  await bad({ method: 'ptq', ptq: { method: 'percentile', percentile: 30 } }, /ptq\.percentile must be in \(50, 100\]/);
  await bad({ method: 'ptq', ptq: { method: 'dynamic', batches: 4 } }, /ptq\.batches is for static calibration/);
  await bad({ method: 'ptq', ptq: { method: 'dynamic' }, convert: {} }, /opts\.convert is not used with ptq\.method 'dynamic'/);
  await bad({ method: 'ptq', ptq: { method: 'weights' } }, /ptq\.method must be 'minmax', 'percentile' or 'dynamic'/);
  assert.is(e.live, 0, 'no temporaries left behind');
});

test.run();
