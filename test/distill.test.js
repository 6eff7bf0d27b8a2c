// Knowledge distillation (src/compress/distill.ts): the objective fit minimises equals a float64 JS
// computation of (1 − α)·CE + α·T²·KL + w·MSE(adapter(student tap), teacher tap); the teacher stays frozen
// (no gradient, no change, eval mode); the hint adapters train; a short run lowers the KD loss; bad arguments
// are errors naming them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds } from './helpers.js';
import { Engine, buildModel, fit, loadDataset, BatchIterator, Distiller, distillationLoss, evaluateDistillation, tapModules, layers, InitRng } from '../dist/index.js';

const { train, test: testSet } = loadDataset('mnist');
const first = (n, from = 0) => Int32Array.from({ length: n }, (_, i) => from + i);
const simd = async () => (await builds()).slice(-1)[0];

/** The first n training images as a float32 NHWC batch (the same normalisation fit uses) and their labels. */
function batchOf(ds, idx) {
  const it = new BatchIterator(ds, { batchSize: idx.length, shuffle: false, dropLast: false, indices: idx });
  const xs = new Float32Array(idx.length * it.sampleSize), ys = new Int32Array(idx.length);
  it.next(xs, ys);
  return { xs, ys, shape: [idx.length, it.outHeight, it.outWidth, it.channels] };
}

/** Logits and named activations of `model` on xs (eval mode, no graph), copied to JS. */
function run(e, model, b, names = []) {
  const was = model.training;
  model.eval();
  try {
    return e.noGrad(() => {
      const x = e.empty(b.shape, false);
      x.write(b.xs);
      const { output, taps } = model.forwardWithTaps(x, names);
      const r = { logits: output.toArray(), n: output.shape[1], taps: Object.fromEntries([...taps].map(([k, t]) => [k, { data: t.toArray(), shape: [...t.shape] }])) };
      e.endStep();
      return r;
    });
  } finally { model.train(was); }
}

const logSoftmax = (row, T = 1) => {
  const s = Array.from(row, (v) => v / T), mx = Math.max(...s);
  const lse = mx + Math.log(s.reduce((a, v) => a + Math.exp(v - mx), 0));
  return s.map((v) => v - lse);
};

function jsObjective(st, te, ys, T, alpha) {
  const m = ys.length, n = st.n;
  let ce = 0, kl = 0;
  for (let i = 0; i < m; i++) {
    const s = st.logits.subarray(i * n, (i + 1) * n), t = te.logits.subarray(i * n, (i + 1) * n);
    ce -= logSoftmax(s)[ys[i]];
    const lp = logSoftmax(s, T), lq = logSoftmax(t, T);
    for (let j = 0; j < n; j++) kl += Math.exp(lq[j]) * (lq[j] - lp[j]);
  }
  ce /= m; kl = T * T * kl / m;
  return { ce, kl, total: (1 - alpha) * ce + alpha * kl };
}

const close = (a, b, rel = 2e-4) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

test('fit minimises (1 − α)·CE + α·T²·KL (+ hint MSE) exactly as a JS computation (every build)', async () => {
  const T = 3, alpha = 0.6, idx = first(8);
  const b = batchOf(train, idx);
  for (const q of await builds()) {
    const e = new Engine(q.rt);
    // a teacher with dropout: the hook must run it in eval mode (or the numbers would not match)
    const teacher = buildModel(e, 'mlp', { hidden: [16], dropout: 0.5, seed: 2 });
    // 1) logits only, through the function form
    {
      const student = buildModel(e, 'mlp', { hidden: [8], seed: 3 });
      const want = jsObjective(run(e, student, b), run(e, teacher, b), b.ys, T, alpha);
      const h = distillationLoss({ teacher, temperature: T, alpha });
      assert.is(h.taskWeight, 1 - alpha);
      let got = NaN;
      const r = fit(student, train, { epochs: 1, batchSize: 8, lr: 1e-3, indices: idx, extraLoss: h, taskWeight: h.taskWeight, extraParameters: h.extraParameters, onStep: (s) => { got = s.loss; } });
      assert.ok(close(got, want.total), `${q.build}: fit loss ${got}, JS ${want.total}`);
      assert.ok(close(h.distiller.last.kd, want.kl), `${q.build}: KD ${h.distiller.last.kd}, JS ${want.kl}`);
      assert.is(e.live, 0);
      student.dispose(); r.optimizer.dispose(); h.distiller.dispose();
    }
    // 2) with a hint: student ReLU '2' (8 wide) → adapter → teacher dropout output '3' (16 wide, identity in eval)
    {
      const student = buildModel(e, 'mlp', { hidden: [8], seed: 4 });
      const w = 0.5;
      const kd = new Distiller(student, teacher, { temperature: T, alpha, hints: [{ student: 'layers.2', teacher: '3', weight: w }], seed: 9 });
      const st = run(e, student, b, ['2']), te = run(e, teacher, b, ['3']);
      const want = jsObjective(st, te, b.ys, T, alpha);
      const [aw, ab] = kd.parameters().map((p) => p.toArray());
      assert.equal(kd.parameters().map((p) => [...p.shape]), [[8, 16], [16]]);
      assert.equal(kd.namedParameters().map(([n]) => n), ['distill.hint0.weight', 'distill.hint0.bias']);
      const s = st.taps['2'].data, t = te.taps['3'].data;
      let mse = 0;
      for (let i = 0; i < 8; i++) for (let o = 0; o < 16; o++) {
        let y = ab[o];
        for (let k = 0; k < 8; k++) y += s[i * 8 + k] * aw[k * 16 + o];
        mse += (y - t[i * 16 + o]) ** 2;
      }
      mse /= 8 * 16;
      let got = NaN;
      const r = fit(student, train, { epochs: 1, batchSize: 8, lr: 1e-3, indices: idx, ...kd.fitOptions(), onStep: (x) => { got = x.loss; } });
      const total = want.total + w * mse;
      assert.ok(close(got, total), `${q.build}: fit loss ${got}, JS ${total}`);
      assert.ok(close(kd.last.hints[0], mse), `${q.build}: hint MSE ${kd.last.hints[0]}, JS ${mse}`);
      student.dispose(); r.optimizer.dispose(); kd.dispose();
    }
    teacher.dispose();
  }
});

test('the teacher gets no gradient and does not change; student and hint adapters train; taps come off', async () => {
  const q = await simd();
  const e = new Engine(q.rt);
  const teacher = buildModel(e, 'mlp', { hidden: [32, 24], dropout: 0.2, seed: 5 });
  const student = buildModel(e, 'mlp', { hidden: [16, 12], seed: 6 });
  const kd = new Distiller(student, teacher, { temperature: 4, alpha: 0.7, hints: [{ student: '2', teacher: '3' }, { student: '4', teacher: '6', weight: 0.1 }] });
  const tBefore = teacher.stateDict(), sBefore = student.stateDict(), aBefore = kd.parameters().map((p) => p.toArray());
  const r = fit(student, train, { epochs: 1, batchSize: 16, lr: 1e-3, indices: first(96), shift: 1, ...kd.fitOptions() });
  assert.is(r.steps, 6);
  for (const p of teacher.parameters()) assert.is(p.grad, null, 'a teacher parameter got a gradient buffer');
  for (const [k, v] of Object.entries(teacher.stateDict())) assert.equal(v.data, tBefore[k].data, `teacher ${k} changed`);
  assert.ok(teacher.training, 'the teacher mode is restored after each step');
  for (const [k, v] of Object.entries(student.stateDict())) assert.not.equal(v.data, sBefore[k].data, `student ${k} did not train`);
  kd.parameters().forEach((p, i) => assert.not.equal(p.toArray(), aBefore[i], `adapter parameter ${i} did not train`));
  assert.is(r.optimizer.stateDict()['distill.hint1.weight.s1'].data.length, 12 * 24);
  assert.is(e.live, 0);
  kd.dispose();
  for (const m of [...student.layers, ...teacher.layers]) assert.not.ok(Object.hasOwn(m, 'forward'), 'a tap was left on a module');
  teacher.dispose(); student.dispose(); r.optimizer.dispose();
});

test('a short distillation run on an MNIST subset lowers the KD loss and raises agreement', async () => {
  const q = await simd();
  const e = new Engine(q.rt);
  const teacher = buildModel(e, 'mlp', { hidden: [64], seed: 7 });
  fit(teacher, train, { epochs: 1, batchSize: 50, lr: 2e-3, indices: first(1500) }).optimizer.dispose();
  const student = buildModel(e, 'mlp', { hidden: [32], seed: 8 });
  const o = { temperature: 4, indices: first(500) };
  const before = evaluateDistillation(student, teacher, testSet, o);
  const kd = new Distiller(student, teacher, { temperature: 4, alpha: 0.9 });
  const losses = [];
  const r = fit(student, train, { epochs: 1, batchSize: 50, lr: 2e-3, indices: first(1000, 1500), ...kd.fitOptions(), afterStep: () => losses.push(kd.last.kd) });
  const after = evaluateDistillation(student, teacher, testSet, o);
  assert.is(losses.length, 20);
  assert.ok(after.kd < 0.5 * before.kd, `test KD loss ${before.kd} → ${after.kd}`);
  assert.ok(losses.at(-1) < 0.5 * losses[0], `train KD loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(after.agreement > before.agreement && after.agreement > 0.7, `agreement ${before.agreement} → ${after.agreement}`);
  kd.dispose(); teacher.dispose(); student.dispose(); r.optimizer.dispose();
});

test('forwardWithTaps returns the forward output and the named activations, leaving no tap behind', async () => {
  const q = await simd();
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { hidden: [8, 6], seed: 1 });
  const b = batchOf(train, first(4));
  const plain = e.noGrad(() => { const x = e.empty(b.shape, false); x.write(b.xs); const y = m.forward(x).toArray(); e.endStep(); return y; });
  const r = run(e, m, b, ['layers.1', '4']);
  assert.equal(r.logits, plain);
  assert.equal(r.taps['layers.1'].shape, [4, 8]);
  assert.equal(r.taps['4'].shape, [4, 6]);
  assert.ok(r.taps['4'].data.every((v) => v >= 0), 'ReLU output');
  for (const l of m.layers) assert.not.ok(Object.hasOwn(l, 'forward'));
  m.dispose();
});

test('conv hints: the adapter is a 1×1 convolution over NHWC channels (value check); spatial mismatch is refused', async () => {
  const q = await simd();
  const e = new Engine(q.rt);
  const net = (c, seed) => { const r = new InitRng(seed); return new layers.Sequential(e, [
    new layers.Conv2d(e, { inChannels: 1, outChannels: c, kernel: 3, stride: 2 }, r), new layers.ReLU(e), new layers.Flatten(e), new layers.Linear(e, 13 * 13 * c, 10, r)]); };
  const teacher = net(6, 1), student = net(3, 2);
  const kd = new Distiller(student, teacher, { temperature: 2, alpha: 0.5, hints: [{ student: '1', teacher: '1' }] });
  assert.equal(kd.parameters().map((p) => [...p.shape]), [[3, 6], [6]]);
  const b = batchOf(train, first(4));
  const st = run(e, student, b, ['1']), te = run(e, teacher, b, ['1']);
  const [aw, ab] = kd.parameters().map((p) => p.toArray());
  const s = st.taps['1'].data, t = te.taps['1'].data, px = 4 * 13 * 13;
  let mse = 0;
  for (let i = 0; i < px; i++) for (let o = 0; o < 6; o++) {
    let y = ab[o];
    for (let k = 0; k < 3; k++) y += s[i * 3 + k] * aw[k * 6 + o];
    mse += (y - t[i * 6 + o]) ** 2;
  }
  mse /= px * 6;
  const r = fit(student, train, { epochs: 1, batchSize: 4, lr: 1e-3, indices: first(4), ...kd.fitOptions() });
  assert.ok(close(kd.last.hints[0], mse), `hint MSE ${kd.last.hints[0]}, JS ${mse}`);
  kd.dispose(); r.optimizer.dispose();
  assert.throws(() => new Distiller(student, teacher, { temperature: 2, alpha: 0.5, hints: [{ student: '1', teacher: '2' }] }),
    /student '1' output \[1,13,13,3\] and teacher '2' output \[1,1014\] must agree in every dimension but the last/);
  teacher.dispose(); student.dispose();
});

test('bad arguments are errors naming them', async () => {
  const q = await simd();
  const e = new Engine(q.rt);
  const teacher = buildModel(e, 'mlp', { hidden: [16], seed: 1 }), student = buildModel(e, 'mlp', { hidden: [8], seed: 2 });
  for (const t of [0, -1, NaN, Infinity, '20', undefined]) {
    assert.throws(() => new Distiller(student, teacher, { temperature: t, alpha: 0.5 }), /temperature must be a positive/, `T = ${t}`);
  }
  for (const a of [-0.1, 1.5, NaN, '0.5', undefined]) {
    assert.throws(() => new Distiller(student, teacher, { temperature: 2, alpha: a }), /alpha must be in \[0, 1\]/, `α = ${a}`);
  }
  assert.throws(() => new Distiller(student, teacher, { temperature: 2, alpha: 0.5, hints: [{ student: 'nope', teacher: '2' }] }), /no sub-module named 'nope'/);
  assert.throws(() => new Distiller(student, teacher, { temperature: 2, alpha: 0.5, hints: [{ student: '2', teacher: 'layers.9' }] }), /no sub-module named 'layers\.9'/);
  assert.throws(() => new Distiller(student, teacher, { temperature: 2, alpha: 0.5, hints: [{ student: '2', teacher: '2', weight: -1 }] }), /hints\[0\]\.weight/);
  assert.throws(() => distillationLoss({ teacher, temperature: 2, alpha: 0.5, hints: [{ student: '2', teacher: '2' }] }), /hints need the student/);
  assert.throws(() => distillationLoss({ teacher: {}, temperature: 2, alpha: 0.5 }), /teacher must be a Module/);
  assert.throws(() => new Distiller(student, student, { temperature: 2, alpha: 0.5 }), /different modules/);
  assert.throws(() => tapModules(student, ['7']), /no sub-module named '7'/);
  // a failed construction leaves no tap behind
  for (const m of [...student.layers, ...teacher.layers]) assert.not.ok(Object.hasOwn(m, 'forward'));
  // a teacher whose logits do not match the student's
  const wide = buildModel(e, 'mlp', { hidden: [8], classes: 12, seed: 3 });
  const kd = new Distiller(student, wide, { temperature: 2, alpha: 0.5 });
  assert.throws(() => fit(student, train, { epochs: 1, batchSize: 8, lr: 1e-3, indices: first(8), ...kd.fitOptions() }), /teacher logits \[8,12\] do not match student logits \[8,10\]/);
  assert.is(e.live, 0);
  kd.dispose(); wide.dispose(); teacher.dispose(); student.dispose();
});

test.run();
