// Domain adaptation: gradient checks of the extra ops (GRL, matmul with transposes, row means, covariance,
// CORAL), GRL sign flip, CORAL against a float64 computation, the DANN schedules, a tiny MNIST → digits run
// (flat memory), argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, needs, rng } from './helpers.js';
import { gradCheck, param } from './gradcheck.js';
import {
  Engine, ops, opsExtra, buildModel, loadDataset, subset, adapt, dannLambda, dannLr, splitSequential, domainClassifier,
} from '../dist/index.js';

const X = opsExtra;

test('gradient checks: matmul (all transposes, shared operand), meanRows, sub, scaleBy, sumSquares', async () => {
  for (const q of await builds()) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const [m, k, n] = [3, 5, 4];
      gradCheck(q, `matmul ${tA} ${tB}`, (e, r) => [param(e, r, tA ? [k, m] : [m, k]), param(e, r, tB ? [n, k] : [k, n])],
        (a, b) => X.matmul(a, b, { transA: tA, transB: tB, alpha: 0.7 }));
    }
    gradCheck(q, 'matmul xᵀx (same tensor twice)', (e, r) => [param(e, r, [6, 4])], (x) => X.matmul(x, x, { transA: true }));
    gradCheck(q, 'matmul x·xᵀ', (e, r) => [param(e, r, [3, 5])], (x) => X.matmul(x, x, { transB: true }));
    gradCheck(q, 'meanRows', (e, r) => [param(e, r, [7, 5])], (x) => X.meanRows(x));
    gradCheck(q, 'sub + scaleBy', (e, r) => [param(e, r, [3, 4]), param(e, r, [3, 4])], (a, b) => X.scaleBy(X.sub(a, b), -1.7));
    gradCheck(q, 'sumSquares', (e, r) => [param(e, r, [4, 3])], (x) => X.sumSquares(x));
  }
});

test('gradient checks: covariance, CORAL loss, gradient reversal', async () => {
  for (const q of await builds()) {
    gradCheck(q, 'covariance', (e, r) => [param(e, r, [9, 5])], (x) => X.covariance(x));
    gradCheck(q, 'coral', (e, r) => [param(e, r, [8, 4], 2), param(e, r, [6, 4])], (s, t) => X.scaleBy(X.coralLoss(s, t), 50), { eps: 5e-3 });
    // the GRL's backward is −λ × the true gradient of its (identity) forward, by design
    gradCheck(q, 'gradReverse λ=0.6', (e, r) => [param(e, r, [4, 6])], (x) => X.gradReverse(x, 0.6), { gradScale: -0.6 });
    gradCheck(q, 'linear(gradReverse(x, 2))', (e, r) => [param(e, r, [3, 4]), param(e, r, [4, 5])], (x, w) => ops.linear(X.gradReverse(x, 2), w, null), { gradScale: [-2, 1], samples: 6 });
  }
});

test('covariance = (xᵀx − n·μᵀμ)/(n−1) built from matmul / meanRows / sub / scaleBy', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt), r = rng(4);
  const x = param(e, r, [10, 6]);
  const fused = X.covariance(x).toArray();
  const mu = X.meanRows(x);
  const composed = X.scaleBy(X.sub(X.matmul(x, x, { transA: true }), X.matmul(mu, mu, { transA: true, alpha: 10 })), 1 / 9).toArray();
  for (let i = 0; i < 36; i++) assert.ok(Math.abs(fused[i] - composed[i]) < 1e-5, `${i}: ${fused[i]} vs ${composed[i]}`);
  e.endStep(); x.dispose();
});

test('gradient reversal: identity forward, −λ·grad backward (λ = 0 stops the gradient)', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(2);
    for (const lam of [1, 0.25, 0]) {
      const x = param(e, r, [3, 4]), w = param(e, r, [4, 2]);
      const plain = ops.linear(x, w, null);
      ops.mse(plain, e.empty(plain.shape)).backward();
      const g0 = x.grad.toArray(), gw0 = w.grad.toArray();
      e.endStep(); x.grad.zero(); w.grad.zero();
      const y = X.gradReverse(x, lam);
      assert.equal(y.toArray(), x.toArray());
      const out = ops.linear(y, w, null);
      ops.mse(out, e.empty(out.shape)).backward();
      const g1 = x.grad.toArray(), gw1 = w.grad.toArray();
      for (let i = 0; i < g0.length; i++) assert.ok(Math.abs(g1[i] + lam * g0[i]) < 1e-6, `λ ${lam}: ${g1[i]} vs ${-lam * g0[i]}`);
      assert.equal(gw1, gw0, 'layers after the GRL get the ordinary gradient');
      e.endStep(); x.dispose(); w.dispose();
    }
    assert.is(e.live, 0);
  }
});

test('CORAL loss: 0 for identical batches, matches a float64 computation', async () => {
  const f64Coral = (s, t, ns, nt, d) => {
    const cov = (x, n) => {
      const mu = new Float64Array(d), c = new Float64Array(d * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += x[i * d + j] / n;
      for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) c[a * d + b] += (x[i * d + a] - mu[a]) * (x[i * d + b] - mu[b]) / (n - 1);
      return c;
    };
    const cs = cov(s, ns), ct = cov(t, nt);
    let v = 0;
    for (let i = 0; i < d * d; i++) v += (cs[i] - ct[i]) ** 2;
    return v / (4 * d * d);
  };
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(9);
    for (const [ns, nt, d] of [[16, 16, 8], [13, 7, 5], [32, 24, 17]]) {
      const s = r.f32(ns * d, 2), t = Float32Array.from(r.f32(nt * d, 1), (v) => v * v + 0.3 * v);
      const S = e.persistent([ns, d], s), T = e.persistent([nt, d], t);
      const got = X.coralLoss(S, T).item(), want = f64Coral(s, t, ns, nt, d);
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want) + 1e-8, `${q.build} ${ns}/${nt}×${d}: ${got} vs ${want}`);
      assert.is(X.coralLoss(S, S).item(), 0);
      const S2 = e.persistent([ns, d], s);
      assert.is(X.coralLoss(S, S2).item(), 0, 'identical batches in two tensors');
      e.endStep(); S.dispose(); T.dispose(); S2.dispose();
    }
  }
});

test('DANN schedules: λ_p = 2/(1+exp(−10p)) − 1 and μ_p = μ0/(1+10p)^0.75', () => {
  assert.is(dannLambda(0), 0);
  assert.ok(Math.abs(dannLambda(1) - 0.9999092042625951) < 1e-12);
  assert.ok(Math.abs(dannLambda(0.1) - (2 / (1 + Math.exp(-1)) - 1)) < 1e-15);
  assert.ok(Math.abs(dannLambda(0.5) - 0.9866142981514305) < 1e-12);
  for (let p = 0; p < 1; p += 0.1) assert.ok(dannLambda(p + 0.1) > dannLambda(p));
  assert.is(dannLr(0.01, 0), 0.01);
  assert.ok(Math.abs(dannLr(0.01, 1) - 0.01 / Math.pow(11, 0.75)) < 1e-15);
  assert.ok(Math.abs(dannLr(0.01, 1) - 0.0016556) < 1e-6);
});

test('errors name the bad argument', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt), r = rng(3);
  const a = param(e, r, [3, 4]), b = param(e, r, [5, 4]), v = param(e, r, [4]), one = param(e, r, [1, 4]);
  assert.throws(() => X.gradReverse(a, NaN), /lambda/);
  assert.throws(() => X.gradReverse(null, 1), /x must be a Tensor/);
  assert.throws(() => X.matmul(a, b), /matmul: op\(a\) is 3×4 but op\(b\) is 5×4/);
  assert.throws(() => X.matmul(a, b, { transB: 1 }), /transB must be a boolean/);
  assert.throws(() => X.matmul(v, a), /matmul a must have rank 2/);
  assert.throws(() => X.covariance(one), /covariance needs at least 2 rows/);
  assert.throws(() => X.coralLoss(a, param(e, r, [3, 5])), /source features have 4 dimensions, target features 5/);
  assert.throws(() => X.sub(a, b), /sub: shapes/);
  assert.throws(() => dannLambda('x'), /p must be/);
  const m = buildModel(e, 'mlp', { hidden: [8], seed: 1 });
  const ds = { ...fakeSet(40, 28), name: 'fake' };
  assert.throws(() => adapt(m, ds, ds, { method: 'mmd', steps: 1, lr: 1e-3 }), /method must be one of 'source-only', 'dann', 'coral'/);
  assert.throws(() => adapt(m, ds, ds, { method: 'dann', steps: 0, lr: 1e-3 }), /steps/);
  assert.throws(() => adapt(m, ds, ds, { method: 'dann', steps: 1, lr: -1 }), /lr must be positive/);
  assert.throws(() => adapt(m, ds, ds, { method: 'coral', steps: 1, lr: 1e-3, weight: -2 }), /weight must be ≥ 0/);
  assert.throws(() => adapt(m, ds, ds, { method: 'coral', steps: 1, lr: 1e-3, batchSize: 64 }), /source set \(40 examples\) is smaller than one batch of 64/);
  assert.throws(() => adapt(m, ds, fakeSet(40, 20), { method: 'coral', steps: 1, lr: 1e-3, batchSize: 8 }), /source images are 28×28×1 but target images are 20×20×1/);
  assert.throws(() => adapt(m, ds, null, { method: 'coral', steps: 1, lr: 1e-3, batchSize: 8 }), /target must be a Dataset/);
  assert.throws(() => adapt(m, ds, ds, { method: 'dann', steps: 1, lr: 1e-3, split: 9 }), /split/);
  assert.throws(() => adapt({}, ds, ds, { method: 'dann', steps: 1, lr: 1e-3 }), /model must be a Sequential/);
  assert.throws(() => domainClassifier(e, 8, [4, 0]), /domainHidden\[1\]/);
  assert.is(e.live, 0);
  m.dispose();
  for (const t of [a, b, v, one]) t.dispose();
});

function fakeSet(n, size) {
  const r = rng(n + size);
  const images = Uint8Array.from({ length: n * size * size }, () => r.int(0, 255));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { name: 'fake', images, labels, length: n, height: size, width: size, channels: 1, shape: [n, size, size, 1],
    classes: [...'0123456789'], norm: { mean: [0.5], std: [0.3] }, flipSafe: false };
}

needs(test, 'digits')('tiny MNIST → digits runs (source-only, DANN, CORAL): finite, seeded, memory flat', async () => {
  const [q] = (await builds()).slice(-1);
  const mnist = loadDataset('mnist'), digits = loadDataset('digits', { centre: true });
  const src = subset(mnist.train, Int32Array.from({ length: 640 }, (_, i) => i));
  const tgtTest = subset(digits.test, Int32Array.from({ length: 100 }, (_, i) => i));
  const run = (method, steps, extra = {}) => {
    const e = new Engine(q.rt);
    const m = buildModel(e, 'mlp', { hidden: [32, 16], seed: 2 });
    const info = [];
    let mem = [];
    const r = adapt(m, src, digits.train, { method, steps, batchSize: 16, lr: 2e-3, seed: 5, targetTest: tgtTest, evalEvery: 6,
      onStep: (s) => { info.push(s); mem.push(q.rt.memoryBytes()); assert.is(e.live, 0); }, ...extra });
    const w = m.stateDict();
    assert.is(e.live, 0);
    r.dispose(); m.dispose();
    return { r, info, mem, w: Object.values(w).map((t) => Buffer.from(t.data.buffer).toString('base64')).join() };
  };
  for (const method of ['source-only', 'dann', 'coral']) {
    const a = run(method, 12);
    assert.is(a.r.steps, 12);
    assert.ok(a.info.every((s) => Number.isFinite(s.loss) && Number.isFinite(s.adaptLoss)), method);
    assert.is(a.mem[a.mem.length - 1], a.mem[6], `${method}: memory grew ${a.mem[6]} → ${a.mem[a.mem.length - 1]}`);
    assert.equal(a.r.evals.map((v) => v.step), [6, 12]);
    assert.ok(a.r.targetAccuracy >= 0 && a.r.targetAccuracy <= 1);
    if (method === 'dann') {
      assert.ok(a.r.domainHead !== null);
      assert.ok(Math.abs(a.info[0].lambda) < 1e-12 && Math.abs(a.info[11].lambda - dannLambda(1)) < 1e-12, 'λ follows the schedule');
      assert.ok(a.info.every((s) => s.domainAccuracy >= 0 && s.domainAccuracy <= 1));
    }
    if (method === 'coral') assert.ok(a.info.some((s) => s.adaptLoss > 0));
    if (method === 'source-only') assert.ok(a.info.every((s) => s.adaptLoss === 0 && s.loss === s.taskLoss));
  }
  // same seed → same weights; the adaptation term changes them (CORAL weight 0 = source-only)
  const s1 = run('source-only', 4), s2 = run('source-only', 4), c = run('coral', 4, { weight: 10 }), c0 = run('coral', 4, { weight: 0 });
  assert.ok(s1.w === s2.w, 'same seed differs');
  assert.ok(c.w !== s1.w, 'CORAL does not change the weights');
  assert.ok(c0.w === s1.w, 'CORAL with weight 0 differs from source-only');
  const d = run('dann', 6, { lrAnneal: true, lambdaSchedule: 'constant', weight: 0.5, domainHidden: [8] });
  assert.ok(d.info.every((s) => s.lambda === 0.5));
  assert.ok(Math.abs(d.info[5].lr - dannLr(2e-3, 1)) < 1e-12 && d.info[0].lr === 2e-3, 'lr annealing');
});

test('DANN domainLrScale: the domain classifier trains at lr × scale (0 freezes it), the model still trains', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const src = fakeSet(48, 28), tgt = fakeSet(40, 28);
  const flat = (m) => Object.values(m.stateDict()).map((t) => Array.from(t.data).join()).join('|');
  const init = domainClassifier(e, 8, [6], 3 + 7); // adapt seeds the domain head with seed + 7
  const before = flat(init);
  init.dispose();
  for (const scale of [0, 1]) {
    const m = buildModel(e, 'mlp', { hidden: [16, 8], seed: 1 });
    const w0 = flat(m);
    const r = adapt(m, src, tgt, { method: 'dann', steps: 4, batchSize: 8, lr: 1e-2, seed: 3, domainHidden: [6], domainLrScale: scale, lambdaSchedule: 'constant' });
    assert.is(flat(r.domainHead) === before, scale === 0, `domainLrScale ${scale}`);
    assert.ok(flat(m) !== w0, 'the model trains');
    r.dispose(); m.dispose();
  }
  const m = buildModel(e, 'mlp', { hidden: [8] });
  assert.throws(() => adapt(m, src, tgt, { method: 'dann', steps: 1, batchSize: 8, lr: 1e-3, domainLrScale: -1 }), /domainLrScale must be ≥ 0/);
  m.dispose();
  assert.is(e.live, 0);
});

test('a diverging adaptation run stops with a message naming the step, and frees its state', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { hidden: [8], seed: 1 });
  const ds = fakeSet(64, 28);
  const w = m.parameters()[0];
  assert.throws(() => adapt(m, ds, fakeSet(48, 28), { method: 'dann', steps: 10, batchSize: 8, lr: 1e-3, onStep: (s) => { if (s.step === 3) w.data().fill(Infinity); } }),
    /adaptation \(dann\) stopped: the loss became NaN at step 3/);
  assert.is(e.live, 0);
  m.dispose();
});

test('splitSequential: refcnn features are its 128-d ReLU output', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 1 });
  const sp = splitSequential(m);
  assert.is(sp.split, 9);
  const x = e.empty([2, 28, 28, 1]);
  x.write(rng(1).f32(2 * 784));
  const f = e.noGrad(() => sp.features(x));
  assert.equal([...f.shape], [2, 128]);
  const full = e.noGrad(() => m.forward(x)).toArray(), split = e.noGrad(() => sp.classify(f)).toArray();
  assert.equal(split, full);
  e.endStep();
  // DANN needs flat features: a split inside the conv stack is refused (no leak, model back in training mode)
  const ds = fakeSet(16, 28);
  assert.throws(() => adapt(m, ds, ds, { method: 'dann', steps: 1, batchSize: 8, lr: 1e-3, split: 3 }), /DANN needs \[n, d\] features at split 3, got shape \[1,13,13,32\]/);
  assert.ok(m.training);
  assert.is(e.live, 0);
  m.dispose();
});

test.run();
