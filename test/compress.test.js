// Pruning (masks per mode, TF-MOT schedule, masks held through fit, channel removal) and low-rank
// factorisation (SVD accuracy, LowRankLinear / factorised convs at full rank, fc1 rank 16 fine-tuned on MNIST).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import {
  Engine, buildModel, fit, evaluate, loadDataset, layers, Optimizer, SparseMatrixF32, InitRng,
  Pruner, PolynomialDecay, ConstantSparsity, prunedWeights, weightSparsity, removePrunedChannels,
  LowRankLinear, factorize, factorizeLinear, factorizeConv, copyModel, svd, svdReconstruct, rankForEnergy,
} from '../dist/index.js';

const { train, test: testSet } = loadDataset('mnist');
const range = (a, n) => Int32Array.from({ length: n }, (_, i) => a + i);
const [q] = (await builds()).slice(-1); // the fastest build (kernels are checked against references elsewhere)

/** Eval-mode forward of random input; returns the output as a JS copy. */
function forward(model, shape, seed = 1) {
  const e = model.engine, r = rng(seed);
  model.eval();
  try {
    return e.noGrad(() => {
      const x = e.empty(shape, false);
      x.write(r.f32(x.size));
      return model.forward(x).toArray();
    });
  } finally { e.endStep(); model.train(); }
}

function maxRel(a, b) {
  let m = 0, s = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return m / Math.max(1e-12, s);
}

/** Randomises every parameter (so magnitudes differ between layers and ties are unlikely). */
function randomise(model, seed) {
  const r = rng(seed);
  for (const [n, p] of model.namedParameters()) p.tensor.write(r.f32(p.tensor.size, n.endsWith('gamma') ? 1 : 3 / Math.sqrt(p.tensor.size)));
}

// ------------------------------------------------------------------ SVD

test('svd: U·S·Vᵀ reconstructs, U and V orthonormal, descending σ (1600×128, 64×576, rank-deficient)', () => {
  const ortho = (x, rows, k) => {
    let e = 0;
    for (let p = 0; p < k; p++) for (let t = p; t < k; t++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += x[i * k + p] * x[i * k + t];
      e = Math.max(e, Math.abs(s - (p === t ? 1 : 0)));
    }
    return e;
  };
  const r = rng(11);
  const low = (m, n, rank) => {
    const b = r.f32(m * rank), c = r.f32(rank * n), a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let t = 0; t < rank; t++) s += b[i * rank + t] * c[t * n + j]; a[i * n + j] = s; }
    return a;
  };
  for (const [m, n, a] of [[1600, 128, r.f32(1600 * 128)], [64, 576, r.f32(64 * 576)], [40, 24, low(40, 24, 3)], [7, 7, new Float64Array(49)]]) {
    const d = svd(a, m, n);
    assert.is(d.k, Math.min(m, n));
    const rec = svdReconstruct(d);
    let err = 0, norm = 0;
    for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(rec[i] - a[i])); norm = Math.max(norm, Math.abs(a[i])); }
    assert.ok(err <= 1e-12 * Math.max(1, norm), `${m}×${n}: reconstruction error ${err}`);
    assert.ok(ortho(d.u, m, d.k) < 1e-12, `${m}×${n}: UᵀU − I = ${ortho(d.u, m, d.k)}`);
    assert.ok(ortho(d.v, n, d.k) < 1e-12, `${m}×${n}: VᵀV − I = ${ortho(d.v, n, d.k)}`);
    for (let i = 1; i < d.k; i++) assert.ok(d.s[i] <= d.s[i - 1] && d.s[i] >= 0);
    if (m === 40) assert.ok(d.s[3] < 1e-12 * d.s[0], 'rank 3 matrix has σ₄ ≈ 0');
  }
  // a diagonal matrix: σ exactly its sorted |entries|
  const diag = new Float64Array(16); diag[0] = 2; diag[5] = -5; diag[10] = 3; diag[15] = 0.5;
  assert.equal(Array.from(svd(diag, 4, 4).s).map((x) => +x.toFixed(12)), [5, 3, 2, 0.5]);
  assert.is(rankForEnergy([3, 2, 1], 0.9), 2); // 9/14 < 0.9 ≤ 13/14
  assert.is(rankForEnergy([3, 2, 1], 1), 3);
  assert.throws(() => svd(new Float32Array(5), 2, 3), /a must have length m×n = 6/);
  assert.throws(() => svd([1, NaN], 1, 2), /a\[1\] is NaN/);
  assert.throws(() => svd(new Float32Array(4), 0, 4), /m must be in/);
  assert.throws(() => rankForEnergy([1], 0), /energy must be in \(0, 1\]/);
});

// ------------------------------------------------------------------ schedules

test('PolynomialDecay / ConstantSparsity follow the TF-MOT formulas', () => {
  const s = new PolynomialDecay({ initialSparsity: 0.1, finalSparsity: 0.9, beginStep: 20, endStep: 120, frequency: 10 });
  assert.is(s.power, 3);
  for (const step of [0, 20, 35, 50, 70, 100, 119, 120, 500]) {
    const p = Math.min(1, Math.max(0, (step - 20) / 100));
    const want = 0.9 + (0.1 - 0.9) * (1 - p) ** 3;
    assert.ok(Math.abs(s.sparsity(step) - want) < 1e-15, `step ${step}: ${s.sparsity(step)} vs ${want}`);
  }
  assert.ok(Math.abs(s.sparsity(20) - 0.1) < 1e-15);
  assert.is(s.sparsity(120), 0.9);
  assert.equal([0, 19, 20, 25, 30, 110, 120, 130].map((t) => s.shouldPrune(t)), [false, false, true, false, true, true, true, false]);
  const c = new ConstantSparsity({ targetSparsity: 0.5, beginStep: 4, frequency: 2 });
  assert.equal([3, 4, 5, 6, 1000].map((t) => c.shouldPrune(t)), [false, true, false, true, true]);
  assert.is(c.sparsity(7), 0.5);
  assert.throws(() => new PolynomialDecay({ initialSparsity: 0, finalSparsity: 1, beginStep: 0, endStep: 10 }), /finalSparsity must be in \[0, 1\)/);
  assert.throws(() => new PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 10, endStep: 10 }), /endStep \(10\) must be greater than beginStep/);
  assert.throws(() => new PolynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 0, endStep: 10, frequency: 0 }), /frequency must be in/);
});

// ------------------------------------------------------------------ masks per mode

test('unstructured masks: exact sparsity per layer / one threshold globally, smallest |w| pruned', () => {
  const e = new Engine(q.rt);
  for (const scope of ['layer', 'global']) {
    const m = buildModel(e, 'refcnn', { seed: 5 });
    randomise(m, 3);
    const before = new Map(m.parameters().map((t) => [t, t.toArray()]));
    const p = new Pruner(m, { sparsity: 0.7, scope });
    const rep = p.sparsity();
    assert.is(rep.layers.length, 4);
    assert.is(rep.pruned, Math.round(0.7 * rep.size));
    let maxPruned = 0, minKept = Infinity;
    for (const [t, pw] of p.prunedWeights()) {
      const w0 = before.get(t), w = t.toArray();
      if (scope === 'layer') { maxPruned = 0; minKept = Infinity; assert.is(pw.mask.length - pw.mask.reduce((a, b) => a + b, 0), Math.round(0.7 * w.length), pw.name); }
      for (let i = 0; i < w.length; i++) {
        if (pw.mask[i]) { assert.is(w[i], w0[i]); minKept = Math.min(minKept, Math.abs(w0[i])); } else { assert.is(w[i], 0); maxPruned = Math.max(maxPruned, Math.abs(w0[i])); }
      }
      if (scope === 'layer') assert.ok(maxPruned <= minKept, `${pw.name}: pruned |w| ${maxPruned} > kept ${minKept}`);
      assert.is(pw.format, 'csr');
    }
    if (scope === 'global') {
      assert.ok(maxPruned <= minKept, 'one global threshold');
      // layers end up with different sparsities
      const sp = rep.layers.map((l) => l.sparsity);
      assert.ok(Math.max(...sp) - Math.min(...sp) > 0.05, `global sparsities ${sp}`);
    }
    assert.ok(Math.abs(weightSparsity(m).global - 0.7) < 1e-4);
    p.dispose(); m.dispose();
  }
});

test('N:M and block masks keep their structure (the sparse kernels accept them), conv OHWI included', () => {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 5 });
  randomise(m, 4);
  const p = new Pruner(m, { mode: 'nm', nm: [2, 4] });
  for (const [t, pw] of p.prunedWeights()) {
    assert.is(pw.format, 'nm'); assert.equal(pw.nm, [2, 4]);
    const w = t.toArray();
    for (let j = 0; j < pw.n; j++) for (let k0 = 0; k0 < pw.k; k0 += 4) {
      let c = 0;
      for (let kk = k0; kk < Math.min(pw.k, k0 + 4); kk++) {
        const i = pw.layout === 'linear' ? kk * pw.n + j : j * pw.k + kk;
        c += pw.kn[kk * pw.n + j];
        assert.is(pw.mask[i], pw.kn[kk * pw.n + j]);
        if (!pw.mask[i]) assert.is(w[i], 0);
      }
      assert.is(c, Math.min(2, pw.k - k0), `${pw.name} column ${j} group ${k0}`);
    }
    if (pw.layout === 'linear') {
      const s = new SparseMatrixF32(q.rt, w, pw.k, pw.n, { mask: pw.kn, format: 'nm', nm: [2, 4] });
      assert.ok(Math.abs(s.density - 0.5) < 0.01); s.dispose();
    }
  }
  p.dispose();
  const b = new Pruner(m, { mode: 'block', block: [4, 8], sparsity: 0.75, layers: ['7', '9'] });
  for (const [t, pw] of b.prunedWeights()) {
    assert.is(pw.format, 'block');
    const s = new SparseMatrixF32(q.rt, t.toArray(), pw.k, pw.n, { mask: pw.kn, format: 'block', block: [4, 8] }); // throws if not blocks
    s.dispose();
    if (pw.name === '7.weight') assert.is(pw.sparsity, 0.75); // 1600×128: whole 4×8 blocks
    else assert.ok(pw.sparsity > 0.6, `${pw.name} sparsity ${pw.sparsity}`); // 128×10: partial blocks at the edge
  }
  assert.is(b.prunedWeights().size, 2);
  b.dispose(); m.dispose();
});

test('channel pruning: whole channels (+ bias) zeroed; the shrunk model computes the same outputs', () => {
  const e = new Engine(q.rt);
  // refcnn: conv → relu → pool → conv → … → flatten → linear → relu → linear
  const m = buildModel(e, 'refcnn', { seed: 5 });
  randomise(m, 6);
  const p = new Pruner(m, { mode: 'channel', sparsity: 0.5 });
  assert.equal(p.sparsity().layers.map((l) => l.name), ['0', '3', '7']); // the output layer cannot lose channels
  for (const [t, pw] of p.prunedWeights()) {
    assert.is(pw.format, 'channel');
    const w = t.toArray();
    let gone = 0;
    for (let j = 0; j < pw.n; j++) {
      const kept = pw.kn[j];
      for (let kk = 0; kk < pw.k; kk++) {
        const i = pw.layout === 'linear' ? kk * pw.n + j : j * pw.k + kk;
        assert.is(pw.mask[i], kept);
        if (!kept) assert.is(w[i], 0);
      }
      gone += 1 - kept;
    }
    assert.is(gone, pw.n / 2);
  }
  const yMasked = forward(m, [3, 28, 28, 1]);
  const { model: small, removed } = removePrunedChannels(m, p);
  assert.equal(Object.keys(removed), ['0', '3', '7']);
  assert.is(removed['3'].length, 32);
  const cfg = small.config().layers;
  assert.equal([cfg[0].outChannels, cfg[3].inChannels, cfg[3].outChannels, cfg[7].in, cfg[7].out, cfg[9].in], [16, 16, 32, 5 * 5 * 32, 64, 64]);
  assert.ok(maxRel(forward(small, [3, 28, 28, 1]), yMasked) < 1e-5);
  // without the pruner: zero channels detected
  const again = removePrunedChannels(m);
  assert.equal(again.removed, removed);
  again.model.dispose();

  // mobilenet: conv → BN → ReLU6 → depthwise → BN → ReLU6 → conv (BN in eval mode, random running stats)
  const mb = buildModel(e, 'mobilenet', { seed: 2, width: 8, input: [12, 12, 1] });
  randomise(mb, 7);
  for (const [n, b] of mb.namedBuffers()) b.write(rng(n.length).f32(b.size, 0.3).map((v) => (n.endsWith('var') ? 1 + v : v)));
  const pm = new Pruner(mb, { mode: 'channel', sparsity: 0.25, scope: 'global' });
  const y0 = forward(mb, [2, 12, 12, 1]);
  const sm = removePrunedChannels(mb, pm);
  assert.ok(Object.keys(sm.removed).length > 0);
  assert.ok(sm.model.numParameters() < mb.numParameters());
  assert.ok(maxRel(forward(sm.model, [2, 12, 12, 1]), y0) < 1e-5, 'mobilenet shrunk ≠ masked');
  // resnet: channels inside a residual body can go, a join cannot
  const rn = buildModel(e, 'resnet', { seed: 2, width: 8, blocks: [1, 1], input: [8, 8, 1] });
  randomise(rn, 8);
  const pr = new Pruner(rn, { mode: 'channel', sparsity: 0.5 });
  assert.equal(pr.sparsity().layers.map((l) => l.name), ['3.body.0', '4.body.0']);
  const yr = forward(rn, [2, 8, 8, 1]);
  const sr = removePrunedChannels(rn, pr);
  assert.ok(maxRel(forward(sr.model, [2, 8, 8, 1]), yr) < 1e-5, 'resnet shrunk ≠ masked');
  assert.throws(() => new Pruner(rn, { mode: 'channel', sparsity: 0.5, layers: ['0'] }), /cannot channel-prune '0': its output feeds a Residual/);
  assert.throws(() => new Pruner(m, { mode: 'channel', sparsity: 0.5, layers: ['9'] }), /cannot channel-prune '9': its output leaves its Sequential/);
  for (const x of [p, pm, pr]) x.dispose();
  for (const x of [m, small, mb, sm.model, rn, sr.model]) x.dispose();
});

// ------------------------------------------------------------------ masks through fine-tuning

test('masks persist through fit (Adam + weight decay, SGD momentum); gradual schedule reaches its final sparsity', () => {
  const e = new Engine(q.rt);
  for (const optimizer of [{ kind: 'adamw', weightDecay: 0.01 }, { kind: 'sgd', momentum: 0.9 }]) {
    const m = buildModel(e, 'mlp', { seed: 3, hidden: [64] });
    const p = new Pruner(m, { sparsity: 0.8, scope: 'global' });
    const masks = [...p.prunedWeights()].map(([t, pw]) => [t, pw.mask, t.toArray()]);
    const r = fit(m, train, p.fitOptions({ epochs: 1, batchSize: 32, lr: 1e-2, indices: range(0, 640), optimizer }));
    assert.is(r.steps, 20);
    for (const [t, mask, w0] of masks) {
      const w = t.toArray();
      let changed = 0;
      for (let i = 0; i < w.length; i++) { if (!mask[i]) assert.is(w[i], 0, `${optimizer.kind}: pruned weight ${i} is ${w[i]}`); else if (w[i] !== w0[i]) changed++; }
      assert.ok(changed > 0.5 * mask.reduce((a, b) => a + b, 0), 'kept weights train');
    }
    p.dispose(); m.dispose(); r.optimizer.dispose();
  }
  // gradual: 0 → 0.9 over steps 2..14, every 4 steps (+ the end step), then frozen masks
  const m = buildModel(e, 'mlp', { seed: 3, hidden: [64] });
  const p = new Pruner(m, { scope: 'global', schedule: { initialSparsity: 0, finalSparsity: 0.9, beginStep: 2, endStep: 14, frequency: 4 } });
  assert.is(p.sparsity().global, 0);
  const seen = [];
  const r = fit(m, train, p.fitOptions({ epochs: 1, batchSize: 32, lr: 1e-3, indices: range(0, 640), afterStep: () => seen.push(+p.current.toFixed(6)) }));
  const sched = p.schedule;
  assert.equal(seen.slice(0, 15), [0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 10, 10, 10, 10, 14].map((s) => +sched.sparsity(s).toFixed(6)));
  assert.is(p.sparsity().pruned, Math.round(0.9 * p.sparsity().size));
  assert.is(weightSparsity(m).pruned, p.sparsity().pruned);
  p.dispose(); m.dispose(); r.optimizer.dispose();
});

test('prunedWeights(model): the masks of a live or disposed Pruner; inferred from zeros otherwise', () => {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { seed: 3, hidden: [64] });
  const p = new Pruner(m, { mode: 'nm', nm: [1, 4], layers: ['1'] });
  const live = prunedWeights(m);
  assert.is(live.size, 1);
  const [[t, pw]] = [...live];
  assert.is(t, m.parameters()[0]);
  assert.equal([pw.format, pw.nm, pw.source, pw.sparsity], ['nm', [1, 4], 'pruner', 0.75]);
  p.dispose();
  assert.equal(prunedWeights(m).get(t).mask, pw.mask);
  // a copy of the weights (as after a checkpoint reload): inferred from zeros, 2:4 detected
  const m2 = buildModel(e, 'mlp', { seed: 3, hidden: [64] });
  m2.loadStateDict(m.stateDict());
  const inf = prunedWeights(m2);
  assert.is(inf.size, 1);
  const w = [...inf.values()][0];
  assert.equal([w.source, w.format, w.nm, w.sparsity], ['zeros', 'nm', [2, 4], 0.75]);
  m.dispose(); m2.dispose();
});

test('pruning errors name the bad argument', () => {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { seed: 1, hidden: [16] });
  assert.throws(() => new Pruner(m, { sparsity: 1.5 }), /sparsity must be in \[0, 1\)/);
  assert.throws(() => new Pruner(m, { mode: 'nope', sparsity: 0.5 }), /mode must be 'unstructured', 'nm', 'block' or 'channel'/);
  assert.throws(() => new Pruner(m, { scope: 'all', sparsity: 0.5 }), /scope must be 'layer' or 'global'/);
  assert.throws(() => new Pruner(m, {}), /give sparsity \(one-shot\) or schedule/);
  assert.throws(() => new Pruner(m, { mode: 'nm', sparsity: 0.5 }), /sparsity cannot be set in 'nm' mode/);
  assert.throws(() => new Pruner(m, { mode: 'nm', nm: [4, 4] }), /nm\[0\] \(keep\) must be in \[1, 3\]/);
  assert.throws(() => new Pruner(m, { sparsity: 0.5, layers: ['7'] }), /layers: no layer named '7'/);
  assert.throws(() => new Pruner(m, { sparsity: 0.5, layers: ['2'] }), /layers: '2' is a ReLU, not a Linear or Conv2d/);
  assert.throws(() => new Pruner(m, { sparsity: 0.5, schedule: { initialSparsity: 0, finalSparsity: 0.5, beginStep: 0, endStep: 9 } }), /either sparsity .* or schedule/);
  assert.throws(() => new Pruner(m, { schedule: { initialSparsity: 0, finalSparsity: 0.5, beginStep: 0 } }), /endStep must be an integer/);
  assert.throws(() => new Pruner({}, { sparsity: 0.5 }), /model must be a Module/);
  const p = new Pruner(m, { sparsity: 0.5 });
  p.dispose();
  assert.throws(() => p.apply(), /Pruner used after dispose/);
  assert.throws(() => removePrunedChannels(m, new Pruner(m, { sparsity: 0.5 })), /'unstructured' mode; removePrunedChannels needs a 'channel' pruner/);
  m.dispose();
});

// ------------------------------------------------------------------ low rank

test('LowRankLinear / factorised convs at full rank reproduce the original layers', () => {
  const e = new Engine(q.rt);
  const R = new InitRng(4);
  const lin = new layers.Linear(e, 40, 24, R);
  const full = factorizeLinear(lin, { rank: 24 });
  assert.ok(full instanceof LowRankLinear);
  assert.equal(full.config(), { type: 'LowRankLinear', in: 40, out: 24, rank: 24, bias: true });
  assert.equal([full.p.shape, full.q.shape, full.P.bias, full.namedParameters().map(([n]) => n)], [[40, 24], [24, 24], null, ['P.weight', 'Q.weight', 'Q.bias']]);
  assert.ok(maxRel(forward(full, [5, 40]), forward(lin, [5, 40])) < 1e-5);
  const r8 = factorizeLinear(lin, { rank: 8 });
  assert.is(r8.rank, 8);
  assert.ok(maxRel(forward(r8, [5, 40]), forward(lin, [5, 40])) > 1e-3, 'rank 8 of a random matrix is an approximation');
  assert.is(factorizeLinear(lin, { energy: 1 }).rank, 24);
  assert.is(factorizeLinear(lin, { compression: 2 }).rank, Math.floor(40 * 24 / (2 * 64)));
  // convs with stride, padding, dilation: both factorisations
  const conv = new layers.Conv2d(e, { inChannels: 3, outChannels: 8, kernel: [3, 5], stride: [2, 1], padding: [1, 2, 0, 1], dilation: [1, 2] }, R);
  const y = forward(conv, [2, 9, 11, 3]);
  for (const [mode, rank] of [['channel', 8], ['spatial', 9]]) {
    const [a, b] = factorizeConv(conv, { rank, mode });
    const seq = new layers.Sequential(e, [a, b]);
    assert.ok(maxRel(forward(seq, [2, 9, 11, 3]), y) < 1e-5, `${mode} full rank`);
  }
  const [sa, sb] = factorizeConv(conv, { rank: 2, mode: 'spatial' });
  assert.equal([sa.weight.shape, sb.weight.shape], [[2, 3, 1, 3], [8, 1, 5, 2]]);
  assert.throws(() => factorizeLinear(lin, { rank: 25 }), /rank must be in \[1, 24\]/);
  assert.throws(() => factorizeLinear(lin, { rank: 4, energy: 0.9 }), /exactly one of rank, energy, compression \(got rank, energy\)/);
  assert.throws(() => factorizeLinear(lin, { compression: 0.5 }), /compression must be a finite number > 1/);
  assert.throws(() => factorizeLinear(lin, { ratio: 2 }), /now called `compression`/);
  assert.throws(() => factorizeConv(conv, { rank: 2, mode: 'diagonal' }), /mode must be 'channel' or 'spatial'/);
  assert.throws(() => factorizeLinear(conv, { rank: 2 }), /layer must be a Linear/);
});

test('refcnn fc1 (1600→128) at rank 16, fine-tuned briefly on an MNIST subset, recovers accuracy', () => {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 3 });
  const r0 = fit(m, train, { epochs: 1, batchSize: 64, lr: 2e-3, indices: range(0, 3200), seed: 3 });
  const base = evaluate(m, testSet, 250, range(0, 1000)).accuracy;
  const { model: lr, report } = factorize(m, { rank: 16, layers: ['7'] });
  assert.equal(report.map((x) => [x.name, x.rank, x.weightsAfter]), [['7', 16, 16 * (1600 + 128)]]);
  assert.ok(lr.layers[7] instanceof LowRankLinear);
  assert.is(lr.numParameters(), m.numParameters() - 1600 * 128 + 16 * 1728);
  const r1 = fit(lr, train, { epochs: 1, batchSize: 64, lr: 1e-3, indices: range(3200, 1280), seed: 4 });
  const after = evaluate(lr, testSet, 250, range(0, 1000)).accuracy;
  assert.ok(base > 0.85, `base accuracy ${base}`);
  assert.ok(after >= base - 0.02, `rank 16 fine-tuned ${after} vs float ${base}`);
  // copyModel: same outputs, independent tensors
  const cp = copyModel(lr);
  assert.equal(cp.config(), lr.config());
  assert.ok(maxRel(forward(cp, [2, 28, 28, 1]), forward(lr, [2, 28, 28, 1])) === 0);
  assert.ok(cp.parameters().every((t, i) => t !== lr.parameters()[i]));
  cp.dispose();
  // factorize's default picks only layers it shrinks (not the 128→10 output layer at rank 16)
  const def = factorize(m, { rank: 16 });
  assert.equal(def.report.map((x) => x.name), ['3', '7']);
  assert.throws(() => factorize(m, { rank: 16, layers: ['2'] }), /layers: '2' is a MaxPool2d, not a Linear or Conv2d/);
  assert.throws(() => factorize(m, { rank: 16, layers: ['x'] }), /layers: no layer named 'x'/);
  for (const x of [m, lr, def.model]) x.dispose();
  r0.optimizer.dispose(); r1.optimizer.dispose();
});

test.run();
