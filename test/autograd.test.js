// Autograd: finite-difference gradient checks of every op through the graph, accumulation, views,
// no-grad mode, memory staying flat across steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import { gradCheck, param } from './gradcheck.js';
import { Engine, ops, opsGraph, Graph, layers, HardSigmoid, HardSwish, hardswish, SiLU, Sigmoid, Clip, describeLayers, buildLayers, cloneModule, InitRng } from '../dist/index.js';

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

test('imported-graph ops: sigmoid, hard sigmoid, hard swish, SiLU, clip, mul, squeeze-excite gate, concat', async () => {
  for (const q of await builds()) {
    gradCheck(q, 'sigmoid', (e, r) => [param(e, r, [3, 11], 4)], (x) => opsGraph.sigmoid(x));
    gradCheck(q, 'silu', (e, r) => [param(e, r, [3, 11], 4)], (x) => opsGraph.silu(x));
    // kinks (hard sigmoid at ±3, hard swish at ±3) are avoided by eps 1e-3 on random points
    gradCheck(q, 'hardsigmoid (PyTorch 1/6, 1/2)', (e, r) => [param(e, r, [3, 11], 5)], (x) => opsGraph.hardSigmoid(x, 1 / 6, 0.5), { eps: 1e-3 });
    gradCheck(q, 'hardsigmoid (ONNX 0.2, 0.5)', (e, r) => [param(e, r, [3, 11], 4)], (x) => opsGraph.hardSigmoid(x, 0.2, 0.5), { eps: 1e-3 });
    gradCheck(q, 'hardswish', (e, r) => [param(e, r, [3, 11], 5)], (x) => hardswish(x), { eps: 1e-3 });
    gradCheck(q, 'clip [-0.5, 0.7]', (e, r) => [param(e, r, [3, 11], 2)], (x) => opsGraph.clip(x, -0.5, 0.7), { eps: 1e-3 });
    gradCheck(q, 'clip [-∞, 0.3]', (e, r) => [param(e, r, [3, 11], 2)], (x) => opsGraph.clip(x, -Infinity, 0.3), { eps: 1e-3 });
    gradCheck(q, 'mul (and a tensor times itself)', (e, r) => [param(e, r, [3, 5]), param(e, r, [3, 5])], (a, b) => opsGraph.mul(opsGraph.mul(a, b), a));
    gradCheck(q, 'SE gate [n,1,1,c] × [n,h,w,c]', (e, r) => [param(e, r, [2, 3, 4, 5]), param(e, r, [2, 1, 1, 5])], (x, s) => opsGraph.mulChannels(x, s));
    gradCheck(q, 'SE gate [n,c] × [n,h,w,c]', (e, r) => [param(e, r, [2, 2, 3, 4]), param(e, r, [2, 4])], (x, s) => opsGraph.mulChannels(x, s));
    gradCheck(q, 'concat (channels, 3 inputs, one twice)', (e, r) => [param(e, r, [2, 3, 3, 2]), param(e, r, [2, 3, 3, 5])],
      (a, b) => opsGraph.concat([a, b, a]));
  }
});

test('imported-graph ops: values against formulas, SIMD = reference twin, shape errors', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(3);
    const x = Float32Array.from({ length: 203 }, () => (r.float() * 2 - 1) * 8);
    const run = (f) => e.noGrad(() => { const t = e.persistent([x.length], x); try { return f(t).toArray(); } finally { t.dispose(); e.endStep(); } });
    const check = (name, got, f, tol) => got.forEach((v, i) => assert.ok(Math.abs(v - f(x[i])) <= tol, `${q.build} ${name}(${x[i]}) = ${v}, expected ${f(x[i])}`));
    const sig = (v) => 1 / (1 + Math.exp(-v));
    check('sigmoid', run(opsGraph.sigmoid), sig, 1e-6);
    check('silu', run(opsGraph.silu), (v) => v * sig(v), 1e-5);
    check('hardsigmoid', run((t) => opsGraph.hardSigmoid(t, 0.2, 0.5)), (v) => Math.max(0, Math.min(1, 0.2 * v + 0.5)), 1e-6);
    check('hardswish', run(hardswish), (v) => v * Math.min(Math.max(v + 3, 0), 6) / 6, 1e-5);
    check('clip', run((t) => opsGraph.clip(t, -1.5, 2.25)), (v) => Math.min(Math.max(v, -1.5), 2.25), 1e-6);
    // the hard sigmoid SIMD path and its plain-loop twin agree bit for bit (forward and backward)
    const xs = q.rt.alloc(x.length * 4), ys = q.rt.alloc(x.length * 4), yr = q.rt.alloc(x.length * 4), dy = q.rt.alloc(x.length * 4);
    q.rt.f32(xs, x.length).set(x); q.rt.f32(dy, x.length).set(x.map((v) => v * 0.5 - 1));
    const ex = q.rt.exports;
    ex.hardsigmoid_f32_fwd(xs, ys, x.length, 1 / 6, 0.5); ex.hardsigmoid_f32_fwd_ref(xs, yr, x.length, 1 / 6, 0.5);
    assert.equal(Array.from(q.rt.f32(ys, x.length)), Array.from(q.rt.f32(yr, x.length)));
    ex.hardsigmoid_f32_bwd(xs, dy, ys, x.length, 1 / 6, 0.5, 0); ex.hardsigmoid_f32_bwd_ref(xs, dy, yr, x.length, 1 / 6, 0.5, 0);
    assert.equal(Array.from(q.rt.f32(ys, x.length)), Array.from(q.rt.f32(yr, x.length)));
    ex.clip_f32_fwd(xs, ys, x.length, -1, Infinity); ex.clip_f32_fwd_ref(xs, yr, x.length, -1, Infinity);
    assert.equal(Array.from(q.rt.f32(ys, x.length)), Array.from(q.rt.f32(yr, x.length)));
    ex.clip_f32_bwd(xs, dy, ys, x.length, -2, 3, 0); ex.clip_f32_bwd_ref(xs, dy, yr, x.length, -2, 3, 0);
    assert.equal(Array.from(q.rt.f32(ys, x.length)), Array.from(q.rt.f32(yr, x.length)));
    for (const p of [xs, ys, yr, dy]) q.rt.free(p);
    // a Clip with an infinite bound survives the JSON description (null) and rebuilds the same
    const c = buildLayers(e, JSON.parse(JSON.stringify(describeLayers(new Clip(e, -Infinity, 0.25)))));
    assert.is(c.lo, -Infinity); assert.is(c.hi, 0.25);
    assert.throws(() => new Clip(e, 2, 1), /lo ≤ hi/);
    const a = e.persistent([2, 3, 3, 4]), g = e.persistent([2, 1, 1, 3]), b = e.persistent([2, 3, 2, 4]);
    assert.throws(() => opsGraph.mulChannels(a, g), /gate \[2,1,1,3\] must be \[2, 1, 1, 4\]/);
    assert.throws(() => opsGraph.concat([a, b]), /differ outside the channel/);
    assert.throws(() => opsGraph.mul(a, b), /mul: shapes/);
    for (const t of [a, g, b]) t.dispose();
  }
});

test('Graph: squeeze-excite + concat DAG trains, describes / builds / clones, and rejects bad wiring', async () => {
  const q = (await builds())[0], e = new Engine(q.rt), rg = new InitRng(2);
  const conv = (ci, co, k = 1) => new layers.Conv2d(e, { inChannels: ci, outChannels: co, kernel: k, padding: (k - 1) / 2 }, rg);
  const g = new Graph(e, [
    { name: 'stem', inputs: ['input'], module: new layers.Sequential(e, [conv(3, 8, 3), new HardSwish(e)]) },
    { name: 'sq', inputs: ['stem'], module: new layers.Sequential(e, [new layers.GlobalAvgPool(e, true), conv(8, 4), new SiLU(e), conv(4, 8), new HardSigmoid(e)]) },
    { name: 'se', inputs: ['stem', 'sq'], merge: 'mul' },
    { name: 'b1', inputs: ['se'], module: conv(8, 4) },
    { name: 'b3', inputs: ['se'], module: new layers.Sequential(e, [conv(8, 4, 3), new Sigmoid(e)]) },
    { name: 'cat', inputs: ['b1', 'b3'], merge: 'concat' },
    { name: 'res', inputs: ['cat', 'se'], merge: 'add' },
    { name: 'head', inputs: ['res'], module: new layers.Sequential(e, [new layers.GlobalAvgPool(e), new layers.Linear(e, 8, 3, rg)]) },
  ]);
  const r = rng(5), x = e.persistent([4, 6, 6, 3], Float32Array.from({ length: 4 * 108 }, () => r.float() * 2 - 1));
  const target = e.persistent([4, 3], Float32Array.from({ length: 12 }, () => r.float() * 2 - 1));
  const loss = () => { const l = ops.mse(g.forward(x), target); return l; };
  const lossValue = () => e.noGrad(() => { const v = loss().item(); e.endStep(); return v; });
  // d loss / d parameter through every node kind matches central differences
  g.zeroGrad(); loss().backward(); e.endStep();
  for (const [name, info] of g.namedParameters().filter((_, i) => i % 3 === 0)) {
    const t = info.tensor, i = t.size >> 1, ana = t.grad.data()[i], old = t.data()[i], eps = 1e-2;
    t.data()[i] = old + eps; const lp = lossValue(); t.data()[i] = old - eps; const lm = lossValue(); t.data()[i] = old;
    const num = (lp - lm) / (2 * eps);
    assert.ok(Math.abs(num - ana) <= 2e-2 * Math.max(1e-3, Math.abs(num) + Math.abs(ana)), `${name}[${i}]: analytic ${ana} vs numeric ${num}`);
  }
  // SGD steps lower the loss
  const first = lossValue();
  for (let s = 0; s < 40; s++) {
    g.zeroGrad(); loss().backward();
    for (const p of g.parameters()) { const d = p.data(), gr = p.grad.data(); for (let i = 0; i < d.length; i++) d[i] -= 1 * gr[i]; }
    e.endStep();
  }
  const last = lossValue();
  assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
  // describe → build → load state gives the same function; cloneModule too
  const spec = JSON.parse(JSON.stringify(describeLayers(g)));
  assert.is(spec.type, 'Graph'); assert.is(spec.nodes[2].merge, 'mul'); assert.is(spec.nodes[1].module.layers[0].module.keepDims, true);
  const rebuilt = buildLayers(e, spec); rebuilt.loadStateDict(g.stateDict());
  const copy = cloneModule(g);
  const out = (m) => e.noGrad(() => { const v = m.forward(x).toArray(); e.endStep(); return v; });
  const y = out(g);
  assert.equal(out(rebuilt), y); assert.equal(out(copy), y);
  assert.equal(Object.keys(g.stateDict()).sort(), Object.keys(copy.stateDict()).sort());
  assert.ok(Object.keys(g.stateDict()).includes('sq.1.weight'));
  for (const m of [g, rebuilt, copy]) m.dispose();
  x.dispose(); target.dispose();
  const relu = () => new layers.ReLU(e);
  assert.throws(() => new Graph(e, [{ name: 'a', inputs: ['b'], module: relu() }]), /input 'b' is not 'input' or an earlier node/);
  assert.throws(() => new Graph(e, [{ name: 'a', inputs: ['input'], module: relu() }, { name: 'a', inputs: ['input'], module: relu() }]), /used twice/);
  assert.throws(() => new Graph(e, [{ name: 'a', inputs: ['input', 'input'], merge: 'mul' }, { name: 'b', inputs: ['a'], merge: 'add' }]), /'add' merges two inputs, got 1/);
  assert.throws(() => new Graph(e, [{ name: 'a', inputs: ['input'], merge: 'max' }]), /merges two or more|merge must be one of/);
  assert.throws(() => new Graph(e, [{ name: 'a.b', inputs: ['input'], module: relu() }]), /without '\.'/);
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
