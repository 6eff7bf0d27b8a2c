// Autograd: finite-difference gradient checks of every op through the graph, accumulation, views,
// no-grad mode, memory staying flat across steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import { Engine, ops } from '../dist/index.js';

// loss = mse(f(inputs), target); compares d loss / d input (analytic) with central differences (float64 sums
// of f32 evaluations) on a sample of coordinates.
function gradCheck(q, name, makeInputs, f, { eps = 1e-2, tol = 2e-2, samples = 12, seed = 1 } = {}) {
  const e = new Engine(q.rt);
  const r = rng(seed);
  const inputs = makeInputs(e, r);
  const probe = e.noGrad(() => f(...inputs));
  const target = e.persistent(probe.shape, Float32Array.from({ length: probe.size }, () => r.float() * 2 - 1));
  e.endStep();
  const lossAt = () => e.noGrad(() => { const v = ops.mse(f(...inputs), target).item(); e.endStep(); return v; });
  const L = ops.mse(f(...inputs), target);
  L.backward();
  const grads = inputs.map((t) => t.requiresGrad ? t.grad.toArray() : null);
  e.endStep();
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    for (let s = 0; s < samples; s++) {
      const i = r.int(0, t.size - 1);
      const d = t.data(); const old = d[i];
      d[i] = old + eps; const lp = lossAt();
      t.data()[i] = old - eps; const lm = lossAt();
      t.data()[i] = old;
      const num = (lp - lm) / (2 * eps), ana = grads[ti][i];
      const err = Math.abs(num - ana) / Math.max(1e-3, Math.abs(num) + Math.abs(ana));
      assert.ok(err < tol, `${q.build} ${name}: input ${ti}[${i}] analytic ${ana} vs numeric ${num}`);
    }
  });
  for (const t of inputs) t.dispose();
  target.dispose();
  assert.is(e.live, 0);
}

const param = (e, r, shape, scale = 1, awayFromZero = false) => e.persistent(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) },
  () => { let v = (r.float() * 2 - 1) * scale; if (awayFromZero) v = Math.sign(v || 1) * (0.2 * scale + Math.abs(v)); return v; }), true);

test('linear: grads of input, weight, bias', async () => {
  for (const q of await builds()) {
    gradCheck(q, 'linear', (e, r) => [param(e, r, [3, 7]), param(e, r, [7, 5]), param(e, r, [5])], (x, w, b) => ops.linear(x, w, b));
  }
});

test('conv2d (stride 2, padding, groups): grads of input, weight, bias', async () => {
  for (const q of await builds()) {
    gradCheck(q, 'conv2d', (e, r) => [param(e, r, [2, 7, 6, 4]), param(e, r, [6, 3, 3, 2]), param(e, r, [6])],
      (x, w, b) => ops.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }));
    gradCheck(q, 'depthwise', (e, r) => [param(e, r, [1, 5, 5, 3]), param(e, r, [3, 3, 3, 1]), param(e, r, [3])],
      (x, w, b) => ops.conv2d(x, w, b, { padding: 1, groups: 3 }));
  }
});

test('relu, relu6, pooling, global pooling, add, flatten', async () => {
  for (const q of await builds()) {
    gradCheck(q, 'relu', (e, r) => [param(e, r, [4, 9], 2, true)], (x) => ops.relu(x));
    gradCheck(q, 'relu6', (e, r) => [param(e, r, [4, 9], 8, true)], (x) => ops.relu6(x), { eps: 1e-3 });
    gradCheck(q, 'maxpool', (e, r) => [param(e, r, [2, 6, 6, 3])], (x) => ops.maxPool2d(x, { kernel: 2 }), { eps: 1e-3 });
    gradCheck(q, 'avgpool', (e, r) => [param(e, r, [2, 5, 5, 3])], (x) => ops.avgPool2d(x, { kernel: 3, stride: 2, padding: 1 }));
    gradCheck(q, 'gap', (e, r) => [param(e, r, [2, 4, 3, 5])], (x) => ops.globalAvgPool(x));
    gradCheck(q, 'add (same tensor twice accumulates)', (e, r) => [param(e, r, [3, 4]), param(e, r, [3, 4])], (a, b) => ops.add(ops.add(a, b), a));
    gradCheck(q, 'dropout (fixed seed)', (e, r) => [param(e, r, [5, 8])], (x) => ops.dropout(x, 0.3, 1234));
    gradCheck(q, 'flatten+linear', (e, r) => [param(e, r, [2, 3, 3, 2]), param(e, r, [18, 4])], (x, w) => ops.linear(ops.flatten(x), w, null));
  }
});

test('batch norm (training and eval statistics)', async () => {
  for (const q of await builds()) {
    for (const training of [true, false]) {
      gradCheck(q, `batchnorm training=${training}`, (e, r) => {
        const x = param(e, r, [4, 3, 3, 5]), g = param(e, r, [5]), b = param(e, r, [5]);
        return [x, g, b];
      }, (x, g, b) => {
        const st = { runMean: x.engine.persistent([5], new Float32Array(5).fill(0.1)), runVar: x.engine.persistent([5], new Float32Array(5).fill(0.9)), momentum: 0, eps: 1e-5 };
        const y = ops.batchNorm(x, g, b, st, training);
        st.runMean.dispose(); st.runVar.dispose();
        return y;
      }, { eps: 1e-2, tol: 3e-2 });
    }
  }
});

test('losses: cross-entropy, distillation KL, weighted sum', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt);
    const labels = q.rt.alloc(4 * 4);
    q.rt.i32(labels, 4).set([0, 3, 2, 1]);
    const r = rng(9);
    const x = param(e, r, [4, 5], 3);
    const t = param(e, r, [4, 5], 3); t.requiresGrad = false;
    const f = () => ops.weightedSum([[ops.crossEntropy(x, labels), 0.3], [ops.distillKL(x, t, 4), 0.7]]);
    const L = f(); L.backward();
    const g = x.grad.toArray();
    e.endStep();
    for (let i = 0; i < 20; i += 3) {
      const d = x.data(), old = d[i], h = 1e-2;
      d[i] = old + h; const lp = e.noGrad(() => f().item()); e.endStep();
      x.data()[i] = old - h; const lm = e.noGrad(() => f().item()); e.endStep();
      x.data()[i] = old;
      const num = (lp - lm) / (2 * h);
      assert.ok(Math.abs(num - g[i]) < 2e-3 + 2e-2 * Math.abs(num), `${q.build} loss grad [${i}] ${g[i]} vs ${num}`);
    }
    x.dispose(); t.dispose(); q.rt.free(labels);
  }
});

test('no-grad records nothing; temporaries are freed by endStep and memory stays flat', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const r = rng(4);
  const w = param(e, r, [16, 8]);
  const x = e.persistent([32, 16], Float32Array.from({ length: 512 }, () => r.float()));
  const t = e.persistent([32, 8], Float32Array.from({ length: 256 }, () => r.float()));
  const y = e.noGrad(() => ops.relu(ops.linear(x, w, null)));
  assert.is(y.requiresGrad, false);
  assert.is(y.parents.length, 0);
  e.endStep();
  for (let i = 0; i < 50; i++) { ops.mse(ops.relu(ops.linear(x, w, null)), t).backward(); e.endStep(); }
  const before = q.rt.memoryBytes();
  for (let i = 0; i < 500; i++) { ops.mse(ops.relu(ops.linear(x, w, null)), t).backward(); e.endStep(); }
  assert.is(q.rt.memoryBytes(), before);
  assert.is(e.live, 0);
  assert.throws(() => y.data(), /used after it was freed/);
  w.dispose(); x.dispose(); t.dispose();
});

test('shape errors name the problem', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const a = e.persistent([2, 3]), b = e.persistent([4, 5]);
  assert.throws(() => ops.linear(a, b, null), /linear weight has shape \[4,5\], input has 3 features/);
  assert.throws(() => ops.conv2d(a, b, null), /conv2d input must have rank 4/);
  assert.throws(() => a.reshape([5]), /cannot reshape/);
  assert.throws(() => ops.add(a, b), /add: shapes/);
  a.dispose(); b.dispose();
});

test.run();
