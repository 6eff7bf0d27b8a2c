// Quantisation: fake-quant ops and observers against plain JS, QAT / PTQ on real MNIST subsets, BN folding,
// conversion to the all-int8 model (per-layer agreement, accuracy, size), pluggable sparse / low-rank
// backends, argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import {
  Engine, Module, layers, InitRng, ops, buildModel, fit, evaluate, loadDataset, BatchIterator,
  fakeQuant, fakeQuantChannel, MinMaxObserver, PerChannelMinMaxObserver, affineQParams, quantizeArray, rne,
  nmMask, prepareQAT, QATModel, QATSchedule, foldBatchNorm, quantizeStatic, quantizeDynamic, weightOnlyBytes, convertToInt8,
} from '../dist/index.js';

const { train, test: testSet } = loadDataset('mnist');
const range = (a, n) => Int32Array.from({ length: n }, (_, i) => a + i);
const TEST = range(0, 1000);

// JS twins of the kernels' rules
const f = Math.fround;
function fqJs(x, s, zp, qmin, qmax) {
  const t = Math.min(Math.max(rne(f(x / s)), qmin - zp), qmax - zp);
  return f(t * s);
}
const inGrid = (x, s, zp, qmin, qmax) => { const t = rne(f(x / s)); return t >= qmin - zp && t <= qmax - zp; };

test('fakeQuant: forward, clipped STE and LSQ gradient match JS (every build)', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(7);
    const n = 203, s = 0.037, zp = -11;
    const xv = r.f32(n, 6);
    xv[0] = s * 2.5; xv[1] = -s * 3.5; // ties to even
    const x = e.persistent([n], xv, true);
    const lsq = e.persistent([1], new Float32Array([s]), true);
    const y = fakeQuant(x, { scale: s, zeroPoint: zp }, -128, 127, lsq);
    const yv = y.toArray(), dy = r.f32(n, 1);
    for (let i = 0; i < n; i++) assert.is(yv[i], fqJs(xv[i], f(s), zp, -128, 127), `${q.build} y[${i}]`);
    y.backward(dy);
    const gx = x.grad.toArray();
    let gs = 0;
    for (let i = 0; i < n; i++) {
      assert.is(gx[i], inGrid(xv[i], f(s), zp, -128, 127) ? dy[i] : 0, `${q.build} dx[${i}]`);
      const v = f(xv[i] / f(s)), t = rne(v);
      gs += dy[i] * (t < -128 - zp ? -128 - zp : t > 127 - zp ? 127 - zp : t - v);
    }
    gs /= Math.sqrt(n * (127 - zp));
    assert.ok(Math.abs(lsq.grad.item() - gs) < 1e-4 * Math.max(1, Math.abs(gs)), `${q.build} LSQ grad ${lsq.grad.item()} vs ${gs}`);
    // log-domain step size (what prepareQAT's lsq trains): same forward, ∂L/∂ln s = s·∂L/∂s
    const logS = e.persistent([1], new Float32Array([Math.log(s)]), true);
    const y2 = fakeQuant(x, { scale: 1, zeroPoint: zp }, -128, 127, logS, true);
    assert.equal(y2.toArray(), yv);
    y2.backward(dy);
    assert.ok(Math.abs(logS.grad.item() - gs * s) < 1e-4 * Math.max(1e-3, Math.abs(gs * s)), `${q.build} log-domain grad ${logS.grad.item()} vs ${gs * s}`);
    logS.dispose();
    // per channel: conv OHWI weights, channel axis 0
    const w = e.persistent([5, 3, 3, 2], r.f32(90, 1), true);
    const sc = Float32Array.from({ length: 5 }, (_, j) => 0.004 + 0.003 * j);
    const wq = fakeQuantChannel(w, sc);
    const wv = w.toArray(), wqv = wq.toArray(), g = r.f32(90, 1);
    for (let i = 0; i < 90; i++) assert.is(wqv[i], fqJs(wv[i], sc[Math.floor(i / 18)], 0, -127, 127), `${q.build} wq[${i}]`);
    wq.backward(g);
    const gw = w.grad.toArray();
    for (let i = 0; i < 90; i++) assert.is(gw[i], inGrid(wv[i], sc[Math.floor(i / 18)], 0, -127, 127) ? g[i] : 0);
    e.endStep();
    for (const t of [x, lsq, w]) t.dispose();
  }
});

test('observers: EMA / min-max / percentile per tensor, per channel, zero exactly representable', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt), r = rng(3);
  const a = r.f32(1000, 2), b = r.f32(1000, 3);
  const mm = (v) => [Math.min(...v), Math.max(...v)];
  const ema = new MinMaxObserver({ averagingConstant: 0.25 });
  const ta = e.persistent([1000], a), tb = e.persistent([1000], b);
  ema.observe(ta); ema.observe(tb);
  const [a0, a1] = mm(a), [b0, b1] = mm(b);
  assert.ok(Math.abs(ema.min - (a0 + 0.25 * (b0 - a0))) < 1e-6 && Math.abs(ema.max - (a1 + 0.25 * (b1 - a1))) < 1e-6);
  const plain = new MinMaxObserver({ mode: 'minmax' });
  plain.observe(ta); plain.observe(tb);
  assert.equal([plain.min, plain.max], [Math.min(a0, b0), Math.max(a1, b1)]);
  // percentile clips a rare outlier that min-max keeps
  const c = Float32Array.from({ length: 20000 }, (_, i) => (i % 100) / 100);
  c[5] = 50;
  const tc = e.persistent([c.length], c);
  const pct = new MinMaxObserver({ mode: 'percentile', percentile: 99.9 }), mx = new MinMaxObserver({ mode: 'minmax' });
  pct.observe(tc); mx.observe(tc);
  assert.is(mx.bounds[1], 50);
  assert.ok(pct.bounds[1] < 1.05 && pct.bounds[1] > 0.9, `percentile max ${pct.bounds[1]}`);
  assert.ok(pct.qparams().scale < mx.qparams().scale / 20);
  // asymmetric parameters always represent real 0 exactly
  for (const [lo, hi] of [[0, 6], [-1, 3], [0.5, 2], [-4, -1]]) {
    const p = affineQParams(lo, hi);
    assert.ok(p.zeroPoint >= -128 && p.zeroPoint <= 127);
    assert.is(quantizeArray([0], p)[0], p.zeroPoint);
    assert.is(fqJs(0, p.scale, p.zeroPoint, -128, 127), 0);
  }
  // per-channel weights: Linear [in, out], channel axis 1
  const w = r.f32(12 * 7, 1), tw = e.persistent([12, 7], w);
  const pc = new PerChannelMinMaxObserver(7);
  pc.observe(tw);
  const s = pc.scales();
  for (let j = 0; j < 7; j++) {
    let m = 0;
    for (let i = 0; i < 12; i++) m = Math.max(m, Math.abs(w[i * 7 + j]));
    assert.is(s[j], f(m / 127));
  }
  for (const t of [ta, tb, tc, tw]) t.dispose();
});

// One float refcnn trained briefly, shared by the QAT / PTQ / conversion tests (simd build when available).
let shared = null;
async function trained() {
  if (shared) return shared;
  const q = (await builds()).find((b) => b.build === 'simd') ?? (await builds())[0];
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 3 });
  fit(m, train, { epochs: 1, batchSize: 64, lr: 2e-3, indices: range(0, 3200), seed: 3 }).optimizer.dispose();
  const floatAcc = evaluate(m, testSet, 250, TEST).accuracy;
  shared = { q, e, m, floatAcc, state: m.stateDict() };
  return shared;
}

test('PTQ: static min-max and percentile calibration, dynamic weight-only', async () => {
  const { m, floatAcc } = await trained();
  const mmx = quantizeStatic(m, train, { batches: 3, batchSize: 64, method: 'minmax' });
  const pct = quantizeStatic(m, train, { batches: 3, batchSize: 64, method: 'percentile', percentile: 99.99 });
  const dyn = quantizeDynamic(m);
  const acc = (x) => evaluate(x, testSet, 250, TEST).accuracy;
  const [am, ap, ad] = [acc(mmx), acc(pct), acc(dyn)];
  assert.ok(floatAcc > 0.85, `float ${floatAcc}`);
  for (const [k, v] of [['minmax', am], ['percentile', ap], ['dynamic', ad]]) assert.ok(v > floatAcc - 0.02, `${k} ${v} vs float ${floatAcc}`);
  // percentile ranges are never wider than min-max ones
  const sm = mmx.quantState().units, sp = pct.quantState().units;
  for (const k of Object.keys(sm)) if (sm[k].out) assert.ok(sp[k].out.scale <= sm[k].out.scale * 1.001, `${k}: ${sp[k].out.scale} > ${sm[k].out.scale}`);
  assert.ok(Math.abs(weightOnlyBytes(dyn) - m.numParameters()) / m.numParameters() < 0.02);
});

test('QAT fine-tune on refcnn keeps accuracy; schedule freezes observers; convert agrees per layer', async () => {
  const { e, m, floatAcc } = await trained();
  const qat = prepareQAT(m);
  assert.ok(qat instanceof QATModel);
  const sch = new QATSchedule(qat, { freezeObserversAt: 20 });
  let frozenQ = null;
  const r = fit(qat, train, {
    epochs: 1, batchSize: 64, lr: 5e-4, indices: range(3200, 1920), seed: 4, beforeStep: sch.beforeStep,
    afterStep: (s) => { if (s === 20) frozenQ = JSON.stringify(qat.quantState().units['7'].out); },
  });
  r.optimizer.dispose();
  assert.ok(qat.observersFrozen);
  assert.is(JSON.stringify(qat.quantState().units['7'].out), frozenQ, 'activation qparams moved after freezing');
  const qatAcc = evaluate(qat, testSet, 250, TEST).accuracy;
  assert.ok(qatAcc >= floatAcc - 0.01, `QAT ${qatAcc} vs float ${floatAcc}`);

  const i8 = convertToInt8(qat);
  const i8Acc = i8.evaluate(testSet, { indices: TEST }).accuracy;
  assert.ok(Math.abs(i8Acc - qatAcc) <= 0.001 + 1e-9, `int8 ${i8Acc} vs fake-quant ${qatAcc}`);
  // int8 weights + int32 biases + scales ≈ 1/4 of the f32 parameters
  const ratio = i8.bytes() / (4 * m.numParameters());
  assert.ok(ratio > 0.24 && ratio < 0.27, `bytes ratio ${ratio}`);
  assert.ok(i8.latencyMs(1, 3) > 0);

  // per-layer agreement on one batch: the fake-quant model's codes vs the int8 model's
  const it = new BatchIterator(testSet, { batchSize: 64, shuffle: false });
  const xs = new Float32Array(64 * 784), ys = new Int32Array(64);
  it.next(xs, ys);
  const fq = new Map();
  qat.eval();
  qat.trace = (name, y, qp) => fq.set(name, quantizeArray(y.data(), qp));
  e.noGrad(() => { const x = e.empty([64, 28, 28, 1]); x.write(xs); qat.forward(x); });
  e.endStep();
  qat.trace = null;
  const tr = i8.trace(xs, 64);
  assert.equal([...tr.keys()], [...fq.keys()]);
  for (const [name, v] of tr) {
    const a = fq.get(name);
    let same = 0, worst = 0;
    for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - v.data[i]); if (d === 0) same++; worst = Math.max(worst, d); }
    assert.ok(worst <= 1, `${name}: max difference ${worst} LSB`);
    assert.ok(same / a.length > 0.98, `${name}: only ${same}/${a.length} identical`);
  }
  // logits dequantised from the same codes
  const logits = i8.predict(xs, 64);
  assert.is(logits.length, 640);
  i8.dispose();
  assert.throws(() => i8.predict(xs, 64), /after dispose/);
  // LSQ + the quantisation-error penalty train a few steps (scales are parameters, the penalty is a loss term)
  const lsq = prepareQAT(m, { lsq: true });
  const names = lsq.namedParameters().map(([n]) => n);
  assert.ok(names.includes('quant.input.log_scale') && names.includes('quant.0.log_scales'));
  const s0 = lsq.quantState().units['7'];
  const r2 = fit(lsq, train, { epochs: 1, batchSize: 32, lr: 1e-4, indices: range(0, 160), extraLoss: () => [[lsq.quantizationPenalty(), 10]] });
  r2.optimizer.dispose();
  assert.ok(Number.isFinite(r2.finalTrainLoss));
  const s1 = lsq.quantState().units['7'];
  assert.ok(s0.out === undefined && s1.out.scale > 0);
  for (const [n, p] of lsq.namedParameters()) if (n.startsWith('quant.')) p.tensor.dispose();
  m.loadStateDict(shared.state); // later tests start from the float weights
});

test('LSQ: the learned log-scales move during a short fit and are the grid quantState reports', async () => {
  const { m } = await trained();
  const lsq = prepareQAT(m, { lsq: true });
  const logScales = lsq.namedParameters().filter(([n]) => n.startsWith('quant.'));
  // one per activation quantiser (input + conv / linear outputs) and one [channels] vector per weight quantiser
  assert.is(logScales.length, 1 + 4 + 4);
  const r = fit(lsq, train, { epochs: 1, batchSize: 32, lr: 2e-3, indices: range(0, 320), seed: 5 });
  r.optimizer.dispose();
  // the step sizes are initialised from the observers on the first training forward, after which the observers
  // stop updating: their ranges are the initial step sizes, so any difference was learned
  const units = new Map(lsq.allUnits().map((u) => [u.name, u]));
  const initial = (n) => {
    const [, name, kind] = /^quant\.(.+)\.(log_scales?)$/.exec(n);
    if (kind === 'log_scale') return [Math.log(name === 'input' ? lsq.input.observer.qparams().scale : units.get(name).out.observer.qparams().scale)];
    return Array.from(units.get(name).wq.observer.scales(), Math.log);
  };
  const state = lsq.quantState();
  for (const [n, p] of logScales) {
    const v = p.tensor.toArray(), v0 = initial(n);
    assert.is(v.length, v0.length, n);
    let moved = 0, maxMove = 0;
    for (let i = 0; i < v.length; i++) { const d = Math.abs(v[i] - v0[i]); if (d > 1e-4) moved++; maxMove = Math.max(maxMove, d); }
    assert.ok(moved >= Math.ceil(0.5 * v.length), `${n}: only ${moved}/${v.length} log-scales moved (max ${maxMove})`);
    assert.ok(maxMove < 0.5, `${n}: a log-scale moved by ${maxMove} in 10 steps`);
    // the grid used (and exported) is exp(log-scale), not the observer's
    const [, name, kind] = /^quant\.(.+)\.(log_scales?)$/.exec(n);
    if (kind === 'log_scale') {
      const qp = name === 'input' ? state.input : state.units[name].out;
      assert.ok(Math.abs(qp.scale - Math.exp(v[0])) <= 1e-6 * qp.scale, `${n}: quantState scale ${qp.scale} vs e^${v[0]}`);
    } else {
      state.units[name].weightScales.forEach((sc, i) => assert.ok(Math.abs(sc - Math.exp(v[i])) <= 1e-6 * sc, `${n}[${i}]: ${sc} vs e^${v[i]}`));
    }
  }
  for (const [, p] of logScales) p.tensor.dispose();
  m.loadStateDict(shared.state);
});

test('BN folding: conv→BN(eval) equals conv with folded weights (resnet, mobilenet)', async () => {
  const [q] = (await builds()).slice(-1);
  const e = new Engine(q.rt), r = rng(11);
  for (const name of ['resnet', 'mobilenet']) {
    const m = buildModel(e, name, { seed: 2, width: 4 });
    let pairs = 0;
    const visit = (mod) => {
      const kids = mod.children().map(([, k]) => k);
      for (let i = 0; i + 1 < kids.length; i++) {
        const [conv, bn] = [kids[i], kids[i + 1]];
        if (!(conv instanceof layers.Conv2d) || !(bn instanceof layers.BatchNorm2d)) continue;
        const c = conv.spec.outChannels;
        bn.gamma.write(r.f32(c, 2)); bn.beta.write(r.f32(c, 1)); bn.runMean.write(r.f32(c, 1));
        bn.runVar.write(Float32Array.from(r.f32(c, 1), (v) => 0.2 + Math.abs(v)));
        const x = e.persistent([2, 7, 7, conv.spec.inChannels], r.f32(2 * 49 * conv.spec.inChannels, 1));
        bn.training = false;
        const ref = e.noGrad(() => bn.forward(conv.forward(x))).toArray();
        const { weight, bias } = foldBatchNorm(conv, bn);
        const wt = e.persistent(conv.weight.shape, weight), bt = e.persistent([c], bias);
        const s = conv.spec;
        const got = e.noGrad(() => ops.conv2d(x, wt, bt, { stride: s.stride, padding: s.padding, groups: s.groups })).toArray();
        for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ref[i] - got[i]) <= 1e-4 * (1 + Math.abs(ref[i])), `${name} pair ${pairs}: ${ref[i]} vs ${got[i]}`);
        e.endStep();
        for (const t of [x, wt, bt]) t.dispose();
        pairs++;
      }
      for (const k of kids) visit(k);
    };
    visit(m);
    assert.ok(pairs >= (name === 'resnet' ? 7 : 9), `${name}: ${pairs} conv-BN pairs`);
    m.dispose();
  }
});

test('resnet / mobilenet: QAT with frozen BN converts to int8 (residual adds, depthwise, ReLU6, global pool)', async () => {
  const [q] = (await builds()).slice(-1);
  const e = new Engine(q.rt);
  for (const name of ['resnet', 'mobilenet']) {
    const m = buildModel(e, name, { seed: 1, width: 4 });
    const qat = prepareQAT(m);
    const sch = new QATSchedule(qat, { freezeBnAt: 4, freezeObserversAt: 8 });
    fit(qat, train, { epochs: 1, batchSize: 16, lr: 2e-3, indices: range(0, 160), beforeStep: sch.beforeStep }).optimizer.dispose();
    assert.ok(qat.batchNorms().every((b) => b.frozen));
    const fqAcc = evaluate(qat, testSet, 100, range(0, 200));
    const i8 = convertToInt8(qat);
    const kinds = new Set(i8.layers().map((l) => l.kind));
    for (const k of ['conv', 'gap', 'linear', ...(name === 'resnet' ? ['residual'] : [])]) assert.ok(kinds.has(k), `${name}: no ${k}`);
    // same predictions on nearly every image
    const it = new BatchIterator(testSet, { batchSize: 100, shuffle: false });
    const xs = new Float32Array(100 * 784), ys = new Int32Array(100);
    it.next(xs, ys);
    const a = i8.predict(xs, 100);
    qat.eval();
    const b = e.noGrad(() => { const x = e.empty([100, 28, 28, 1]); x.write(xs); return qat.forward(x).toArray(); });
    e.endStep();
    let agree = 0;
    const am = (v, i) => { let k = 0; for (let j = 1; j < 10; j++) if (v[i * 10 + j] > v[i * 10 + k]) k = j; return k; };
    for (let i = 0; i < 100; i++) if (am(a, i) === am(b, i)) agree++;
    assert.ok(agree >= 97, `${name}: int8 and fake-quant agree on ${agree}/100`);
    assert.ok(Math.abs(i8.evaluate(testSet, { indices: range(0, 200), batchSize: 100 }).accuracy - fqAcc.accuracy) <= 0.02);
    // profile(): one timing per node (a residual's is its add), grouped by kernel family
    const prof = i8.profile(xs.subarray(0, 2 * 784), 2, 2);
    assert.equal(prof.map((p) => p.name).sort(), i8.layers().map((l) => l.name).sort());
    assert.ok(prof.every((p) => p.us >= 0 && Number.isFinite(p.us)));
    const groups = new Set(prof.map((p) => p.group));
    for (const g of name === 'resnet' ? ['residual add', 'conv 3×3'] : ['depthwise 3×3', 'conv 1×1 (GEMM)']) assert.ok(groups.has(g), `${name}: no '${g}' in ${[...groups]}`);
    if (name === 'mobilenet') {
      // pointwise convs on the sparse kernels compute exactly what the packed conv computes
      const sp = convertToInt8(qat, undefined, { backend: (info) => (info.pointwise ? 'sparse' : undefined) });
      assert.is(sp.layers().filter((l) => l.backend === 'sparse').length, 4);
      assert.equal(sp.predict(xs.subarray(0, 20 * 784), 20), i8.predict(xs.subarray(0, 20 * 784), 20));
      sp.dispose();
    }
    i8.dispose(); m.dispose();
  }
});

test('pluggable backends: pruned layers on SparseMatrixS8, a factorised layer on LowRankS8', async () => {
  const { q, e, m } = await trained();
  const ptq = quantizeStatic(m, train, { batches: 2, batchSize: 64 });
  const state = ptq.quantState();
  // prune 85 % of the first linear layer ('7') by magnitude; its weight scales stay those of the state
  const w = m.layers[7].weight, wv = w.toArray(), sorted = Float32Array.from(wv, Math.abs).sort();
  const cut = sorted[Math.floor(0.85 * wv.length)];
  const unpruned = convertToInt8(m, state), unprunedBytes = unpruned.bytes();
  unpruned.dispose();
  w.write(wv.map((v) => (Math.abs(v) < cut ? 0 : v)));
  const auto = convertToInt8(m, state), dense = convertToInt8(m, state, { backend: 'dense' });
  assert.is(auto.layers().find((l) => l.name === '7').backend, 'sparse');
  assert.is(dense.layers().find((l) => l.name === '7').backend, 'dense');
  const xs = new Float32Array(40 * 784);
  new BatchIterator(testSet, { batchSize: 40, shuffle: false }).next(xs, new Int32Array(40));
  assert.equal(auto.predict(xs, 40), dense.predict(xs, 40));
  // bytes() is the .qwm file size: the file stores the pruned tensor gap-coded whichever kernel runs it
  assert.is(auto.bytes(), dense.bytes());
  assert.ok(auto.bytes() < 0.5 * unprunedBytes, `pruned file ${auto.bytes()} B vs unpruned ${unprunedBytes} B`);
  auto.dispose(); dense.dispose();
  // masks and formats from the pruner's prunedWeights(model) (src/compress/prune.ts): layer '9' pruned 2:4
  const prune = await import('../dist/compress/prune.js').catch(() => null);
  if (prune?.prunedWeights) {
    const w9 = m.layers[9].weight, v9 = w9.toArray(), mk = nmMask(v9, 128, 10, 2, 4);
    w9.write(v9.map((v, i) => (mk[i] ? v : 0)));
    const pw = prune.prunedWeights(m);
    const viaPruner = convertToInt8(m, state, { pruned: pw }), dense2 = convertToInt8(m, state, { backend: 'dense' });
    for (const n of ['7', '9']) assert.is(viaPruner.layers().find((l) => l.name === n).backend, 'sparse', n);
    assert.equal(viaPruner.predict(xs, 40), dense2.predict(xs, 40));
    viaPruner.dispose(); dense2.dispose();
  }
  m.loadStateDict(shared.state);

  // a factorised layer (LowRankLinear: Linear P without bias, then Linear Q)
  const { LowRankLinear } = await import('../dist/nn/lowrank-linear.js');
  const rg = new InitRng(5);
  const net = new layers.Sequential(e, [new layers.Flatten(e), new LowRankLinear(e, 784, 64, 16, rg), new layers.ReLU(e), new layers.Linear(e, 64, 10, rg)]);
  const qn = prepareQAT(net);
  fit(qn, train, { epochs: 1, batchSize: 32, lr: 2e-3, indices: range(0, 640) }).optimizer.dispose();
  const i8 = convertToInt8(qn, undefined, { inputShape: [28, 28, 1] });
  assert.is(i8.layers()[1].backend, 'lowrank');
  const fqAcc = evaluate(qn, testSet, 250, range(0, 500)).accuracy;
  const acc = i8.evaluate(testSet, { indices: range(0, 500) }).accuracy;
  assert.ok(fqAcc > 0.5 && Math.abs(acc - fqAcc) <= 0.006, `low-rank int8 ${acc} vs fake-quant ${fqAcc}`);
  i8.dispose(); net.dispose();
  void q;
});

test('mlp with dropout and a standalone ReLU6: fake-quant and int8 agree', async () => {
  const [q] = (await builds()).slice(-1);
  const e = new Engine(q.rt), rg = new InitRng(9);
  const net = new layers.Sequential(e, [new layers.Flatten(e), new layers.Linear(e, 784, 32, rg), new layers.Dropout(e, 0.1),
    new layers.ReLU6(e), new layers.Linear(e, 32, 10, rg)]);
  const qat = prepareQAT(net, { observer: 'minmax' });
  assert.equal(qat.units.map((u) => u.kind), ['flatten', 'linear', 'dropout', 'act', 'linear']);
  fit(qat, train, { epochs: 1, batchSize: 32, lr: 3e-3, indices: range(0, 640) }).optimizer.dispose();
  const i8 = convertToInt8(qat);
  const fqAcc = evaluate(qat, testSet, 250, range(0, 500)).accuracy, acc = i8.evaluate(testSet, { indices: range(0, 500) }).accuracy;
  assert.ok(fqAcc > 0.6 && Math.abs(acc - fqAcc) <= 0.006, `int8 ${acc} vs fake-quant ${fqAcc}`);
  i8.dispose(); net.dispose();
});

test('bad arguments throw errors naming them', async () => {
  const { e, m } = await trained();
  const x = e.persistent([4], new Float32Array(4));
  assert.throws(() => fakeQuant(x, { scale: -1, zeroPoint: 0 }), /scale/);
  assert.throws(() => fakeQuant(x, { scale: 1, zeroPoint: 300 }), /zeroPoint/);
  assert.throws(() => fakeQuant(x, { scale: 1, zeroPoint: 0 }, 5, 1), /qmin/);
  assert.throws(() => fakeQuantChannel(x, new Float32Array(3), { outer: 1, c: 4, inner: 1 }), /scales/);
  assert.throws(() => fakeQuantChannel(x, new Float32Array(4), { outer: 2, c: 4, inner: 1 }), /layout/);
  assert.throws(() => new MinMaxObserver({ mode: 'kl' }), /mode/);
  assert.throws(() => new MinMaxObserver({ percentile: 20 }), /percentile/);
  assert.throws(() => new MinMaxObserver({ averagingConstant: 2 }), /averagingConstant/);
  assert.throws(() => new MinMaxObserver().qparams(), /no statistics/);
  assert.throws(() => prepareQAT(m, { activations: 'yes' }), /opts\.activations/);
  assert.throws(() => new QATSchedule(m, {}), /qat/);
  assert.throws(() => new QATSchedule(prepareQAT(m), { freezeBnAt: -1 }), /freezeBnAt/);
  assert.throws(() => quantizeStatic(m, train, { batches: 0 }), /batches/);
  assert.throws(() => quantizeStatic(m, train, { method: 'entropy' }), /method/);
  assert.throws(() => quantizeStatic(m, 'mnist'), /data/);
  assert.throws(() => convertToInt8(prepareQAT(m)), /quantState\.input/);
  const ptq = quantizeStatic(m, train, { batches: 1, batchSize: 16 });
  assert.throws(() => convertToInt8(ptq, undefined, { backend: 'gpu' }), /backend/);
  assert.throws(() => convertToInt8(ptq, undefined, { backend: 'lowrank' }), /lowrank/);
  assert.throws(() => convertToInt8(ptq, undefined, { sparseThreshold: 2 }), /sparseThreshold/);
  assert.throws(() => convertToInt8(m, { units: {}, input: { scale: 1, zeroPoint: 0 } }), /quantState has no entry/);
  // taking over a grid: same plan required, channel lists must fit
  assert.throws(() => prepareQAT(m).copyQuantizersFrom(m), /src must be a QATModel/);
  const mlp = buildModel(e, 'mlp', { seed: 1 });
  assert.throws(() => prepareQAT(m).copyQuantizersFrom(prepareQAT(mlp)), /plans differ/);
  assert.throws(() => prepareQAT(m, { observer: 'minmax' }).copyQuantizersFrom(ptq, (n) => (n === '0' ? [0, 1] : undefined)), /weight quantiser '0' \(32 channels\): cannot take 2 of the 32/);
  const withLsq = prepareQAT(m, { lsq: true });
  assert.throws(() => withLsq.copyQuantizersFrom(ptq), /LSQ differ/);
  for (const [n, p] of withLsq.namedParameters()) if (n.startsWith('quant.')) p.tensor.dispose();
  const copy = prepareQAT(m, { observer: 'minmax' }).copyQuantizersFrom(ptq);
  assert.equal(copy.quantState(), ptq.quantState());
  mlp.dispose();
  const i8 = convertToInt8(ptq);
  assert.throws(() => i8.predict(new Float32Array(5)), /x/);
  assert.throws(() => i8.predict([1, 2]), /x must be a Float32Array/);
  assert.throws(() => i8.latencyMs(0), /batch/);
  i8.dispose();
  class Weird extends Module { forward(t) { return t; } config() { return { type: 'Weird' }; } }
  assert.throws(() => prepareQAT(new layers.Sequential(e, [new Weird(e)])), /cannot quantise '0'.*Weird/);
  x.dispose();
});

test.run();
