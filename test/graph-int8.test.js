// int8 lowering of Graph models (src/nn/graph.ts → a DAG node, src/deploy/graph.ts DagStep): random small Graphs
// (concat of branches of different depth, a max-pool branch, an avg-pool branch, add merges, the graph input read by
// a merge, a graph as the whole model and as the first layer of a Sequential) are calibrated (quantizeStatic),
// converted and checked: int8 logits within a few output steps of the fake-quant model's, concat inputs on the
// output's grid where TFLite puts them (copies), the .qwm round trip (version 2, byte-identical re-encode), the
// pure-WASM runner (qwm_load / qwm_run) == Int8Runner bit for bit on every build, scalar == simd, batch-parallel
// and batch-1 with threads == one thread (the intra-op planner finds no band in a DAG and falls back), QAT steps
// through a Graph (fake quant + STE), and a 'mul' merge refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, Engine, Graph, layers, InitRng, quantizeStatic, convertToInt8, buildInt8Graph, encodeQwm, decodeQwm, Int8Runner,
  prepareQAT, ops, qwmWasmError, quantizeInput, importTfjs, loadTuxPaintNatural,
} from '../dist/index.js';
import { intraOpPlan } from '../dist/deploy/intra-op.js';
import { int8GraphToOnnx } from '../dist/onnx/export.js';
import { createRequire } from 'node:module';
import { crc32 } from '../dist/util/crc32.js';
import { dirname, sep } from 'node:path';
import { builds, rng, eq, needs } from './helpers.js';
import { randomData } from './qwm-graphs.js';

const L = layers;

/** A random Inception-like Graph on h×w×c input: stem, 4 branches (1×1; 1×1→3×3; max pool; avg pool→1×1), concat, add. */
function inceptionish(e, seed, { head = 'outside', classes = 5 } = {}) {
  const r = rng(seed), rg = new InitRng(seed);
  const ch = () => 2 + r.int(0, 4);
  const conv = (ci, co, k = 1, s = 1) => new L.Conv2d(e, { inChannels: ci, outChannels: co, kernel: k, stride: s, padding: (k - 1) >> 1, bias: false }, rg);
  const cbr = (ci, co, k = 1, s = 1) => [conv(ci, co, k, s), new L.BatchNorm2d(e, co), new L.ReLU(e)];
  const seq = (ms) => new L.Sequential(e, ms);
  const c0 = 6, a = ch(), b = ch(), d = ch();
  const nodes = [
    { name: 'stem', inputs: ['input'], module: seq(cbr(3, c0, 3)) },
    { name: 'b1', inputs: ['stem'], module: seq(cbr(c0, a)) },
    { name: 'b2', inputs: ['stem'], module: seq([...cbr(c0, b), ...cbr(b, b, 3)]) },
    { name: 'b3', inputs: ['stem'], module: new L.MaxPool2d(e, { kernel: 3, stride: 1, padding: 1 }) },
    { name: 'b4', inputs: ['stem'], module: seq([new L.AvgPool2d(e, { kernel: 3, stride: 1, padding: 1 }), ...cbr(c0, d)]) },
    { name: 'mixed0', inputs: ['b1', 'b2', 'b3', 'b4'], merge: 'concat' },
    { name: 'proj', inputs: ['mixed0'], module: seq(cbr(a + b + c0 + d, c0)) },
    { name: 'sum', inputs: ['proj', 'stem'], merge: 'add' },
    { name: 'down', inputs: ['sum'], module: seq(cbr(c0, 4, 3, 2)) },
    { name: 'pool', inputs: ['sum'], module: new L.MaxPool2d(e, { kernel: 3, stride: 2, padding: 1 }) },
    // a dead branch (an importer's cut leaves some): never quantised nor lowered
    { name: 'dead', inputs: ['stem'], module: seq(cbr(c0, 3)) },
    { name: 'mixed1', inputs: ['down', 'pool'], merge: 'concat' },
  ];
  const k = 4 + c0;
  if (head === 'inside') {
    nodes.push({ name: 'head', inputs: ['mixed1'], module: seq([new L.GlobalAvgPool(e), new L.Linear(e, k, classes, rg)]) });
    return new Graph(e, nodes);
  }
  return seq([new Graph(e, nodes, 'mixed1'), new L.GlobalAvgPool(e), new L.Linear(e, k, classes, rg)]);
}

/** Random BN statistics (a fresh BN would make every branch the same function of its conv). */
function randomizeBn(model, seed) {
  const r = rng(seed), sd = model.stateDict();
  for (const [name, { data: v }] of Object.entries(sd)) {
    if (name.endsWith('running_var')) for (let i = 0; i < v.length; i++) v[i] = 0.5 + r.float();
    if (name.endsWith('running_mean') || name.endsWith('beta')) for (let i = 0; i < v.length; i++) v[i] = r.float() - 0.5;
  }
  model.loadStateDict(sd);
}

function converted(q, seed, opts) {
  const e = new Engine(q.rt);
  const model = inceptionish(e, seed, opts);
  randomizeBn(model, seed + 100);
  model.train(false);
  const data = randomData(seed, 9, 9, 3, 40);
  const qat = quantizeStatic(model, data, { batches: 2, batchSize: 20 });
  const graph = buildInt8Graph(qat, undefined, { meta: { labels: data.classes } });
  return { e, model, data, qat, graph };
}

const normalise = (data, n) => {
  const per = data.height * data.width * data.channels, { mean, std } = data.norm;
  return Float32Array.from(data.images.subarray(0, n * per), (v, i) => (v / 255 - mean[i % data.channels]) / std[i % data.channels]);
};

test('Graph → int8: DAG node, concat inputs share the output grid (TFLite), int8 ≈ fake-quant, .qwm v2 round trip', async () => {
  const [q] = await builds();
  for (const [seed, head] of [[1, 'outside'], [2, 'inside'], [3, 'outside'], [4, 'inside']]) {
    const { e, qat, graph, data } = converted(q, seed, { head });
    const dag = head === 'inside' ? graph.nodes[0] : graph.nodes[0];
    assert.is(dag.kind, 'dag', `seed ${seed}: the graph lowers to one DAG node`);
    assert.ok(!dag.steps.some((s) => s.name?.includes('dead') || s.nodes?.some((n) => n.name.includes('dead'))), 'the dead branch is dropped');
    const cat = dag.steps.find((s) => s.merge === 'concat' && s.name.endsWith('mixed0'));
    // b1, b2, b4 end in a conv: given the concat's grid (copied); b3 is a max pool of stem: requantised
    // (b3 keeps stem's grid, which equals the concat's when stem holds the largest value)
    assert.equal(cat.mult.filter((_, k) => k !== 2), [1, 1, 1], `seed ${seed}: concat multipliers ${cat.mult}`);
    assert.equal(cat.zp.filter((_, k) => k !== 2), [cat.out.zeroPoint, cat.out.zeroPoint, cat.out.zeroPoint]);
    const add = dag.steps.find((s) => s.merge === 'add');
    assert.is(add.inputs.length, 2);
    // int8 vs the fake-quant model it was converted from
    const n = 16, x = normalise(data, n);
    const i8 = new Int8Runner(q.rt, graph);
    const y8 = i8.predict(x, n);
    qat.train(false);
    const xt = e.persistent([n, 9, 9, 3], x);
    const yf = e.noGrad(() => { const v = qat.forward(xt).toArray(); e.endStep(); return v; });
    const step = graph.output.scale;
    let worst = 0, agree = 0;
    for (let i = 0; i < y8.length; i++) worst = Math.max(worst, Math.abs(y8[i] - yf[i]) / step);
    const k = y8.length / n, am = (a, i) => { let b = 0; for (let j = 1; j < k; j++) if (a[i * k + j] > a[i * k + b]) b = j; return b; };
    for (let i = 0; i < n; i++) if (am(y8, i) === am(yf, i)) agree++;
    assert.ok(worst <= 6, `seed ${seed}: int8 logits differ from fake-quant by ${worst.toFixed(2)} output steps`);
    assert.ok(agree >= n - 3, `seed ${seed}: top-1 agreement ${agree}/${n}`);
    // .qwm: version 2 with a DAG, byte-identical re-encode, the decoded graph runs identically
    const bytes = encodeQwm(graph);
    assert.is(new DataView(bytes.buffer).getUint16(4, true), 2);
    const back = decodeQwm(bytes);
    assert.equal(encodeQwm(back), bytes);
    const r2 = new Int8Runner(q.rt, back), codes = quantizeInput(x, graph.input);
    assert.is(eq(r2.predictCodes(codes, n), i8.predictCodes(codes, n)), null);
    i8.dispose(); r2.dispose(); qat.dispose?.();
  }
});

/** Output codes of the pure-WASM runner (qwm_load + qwm_run) on build q. */
function wasmRun(q, bytes, codes, n, classes) {
  const rt = q.rt, k = q.kernels;
  const p = rt.put(bytes);
  try {
    const r = k.qwm_load(p, bytes.length);
    if (r !== 0) throw new Error(`qwm_load returned ${qwmWasmError(r)} at byte ${k.qwm_error_offset()}`);
  } finally { rt.free(p); }
  return rt.scoped((s) => {
    const ip = s.put(codes), op = s.alloc(n * classes);
    const r = k.qwm_run(ip, n, op);
    if (r !== 0) throw new Error(`qwm_run returned ${qwmWasmError(r)}`);
    return rt.i8(op, n * classes).slice();
  });
}

test('int8 DAG: Int8Runner == pure-WASM qwm_run bit for bit on every build, scalar == simd; per-input concat grids too', async () => {
  const all = await builds();
  for (const seed of [5, 6, 7]) {
    for (const concatInputs of ['shared', 'per-input']) {
      const { graph, data } = converted(all[0], seed, { head: seed % 2 ? 'inside' : 'outside' });
      const g = concatInputs === 'shared' ? graph : buildInt8Graph(converted(all[0], seed, { head: seed % 2 ? 'inside' : 'outside' }).qat, undefined, { concatInputs });
      if (concatInputs === 'per-input') assert.ok(g.nodes[0].steps.some((s) => s.merge === 'concat' && s.mult.some((m) => m !== 1)), 'per-input keeps the branches on their own grids');
      const n = 7, codes = quantizeInput(normalise(data, n), g.input), bytes = encodeQwm(g);
      let ref = null;
      for (const q of all) {
        const r = new Int8Runner(q.rt, decodeQwm(bytes));
        const js = r.predictCodes(codes, n);
        r.dispose();
        ref ??= js;
        assert.is(eq(js, ref), null, `seed ${seed} ${concatInputs}: Int8Runner on ${q.build} differs from ${all[0].build}`);
        assert.is(eq(wasmRun(q, bytes, codes, n, g.classes), ref), null, `seed ${seed} ${concatInputs}: qwm_run on ${q.build} differs from Int8Runner`);
      }
    }
  }
});

test('int8 DAG with threads: batch-parallel and batch 1 equal one thread; the intra-op planner falls back to one thread', async () => {
  const one = await init({ build: 'simd', threads: 1 }), two = await init({ build: 'simd', threads: 2 });
  const { graph, data } = converted(one, 8, { head: 'outside' });
  const saved = Int8Runner.parallelMinMacs;
  Int8Runner.parallelMinMacs = 0;   // split any batch, plan any batch-1 run
  try {
    const a = new Int8Runner(one.rt, graph), b = new Int8Runner(two.rt, decodeQwm(encodeQwm(graph)));
    assert.is(intraOpPlan(b), null, 'a DAG has no row bands: one thread');
    const n = 6, x = normalise(data, n);
    assert.is(eq(b.predictCodes(quantizeInput(x, graph.input), n), a.predictCodes(quantizeInput(x, graph.input), n)), null);
    const per = data.height * data.width * data.channels;
    for (let i = 0; i < 2; i++) assert.is(eq(b.predict(x.subarray(i * per, (i + 1) * per), 1), a.predict(x.subarray(i * per, (i + 1) * per), 1)), null);
    a.dispose(); b.dispose();
  } finally {
    Int8Runner.parallelMinMacs = saved;
    two.dispose?.();
  }
});

test('QAT through a Graph: fake quant + STE train the branches, then convert; a mul merge is refused by name', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const model = inceptionish(e, 9, { head: 'inside', classes: 3 });
  const data = randomData(9, 9, 9, 3, 32);
  const qat = prepareQAT(model, { observer: 'minmax' });
  qat.train(true);
  const x = e.persistent([8, 9, 9, 3], normalise(data, 8));
  const target = e.persistent([8, 3], Float32Array.from({ length: 24 }, (_, i) => (i % 3 === i % 2 ? 1 : 0)));
  const loss = () => e.noGrad(() => { const v = ops.mse(qat.forward(x), target).item(); e.endStep(); return v; });
  const first = loss();
  const w0 = model.stateDict()['b2.3.weight'].data.slice();
  for (let s = 0; s < 30; s++) {
    qat.zeroGrad();
    ops.mse(qat.forward(x), target).backward();
    for (const p of qat.parameters()) { const d = p.data(), g = p.grad?.data(); if (g) for (let i = 0; i < d.length; i++) d[i] -= 0.05 * g[i]; }
    e.endStep();
  }
  assert.ok(loss() < first * 0.8, `QAT loss ${first} did not fall`);
  // gradients reached the convs inside the branches (STE through the concat's fake quant)
  const w1 = model.stateDict()['b2.3.weight'].data;
  assert.ok(w1.some((v, i) => v !== w0[i]), 'the second conv of branch b2 was trained');
  qat.train(false);
  qat.freezeObservers();
  const i8 = convertToInt8(qat);
  assert.is(i8.graph.nodes[0].kind, 'dag');
  const y = i8.predict(normalise(data, 4), 4);
  assert.ok(y.every(Number.isFinite));
  i8.dispose();
  // squeeze-excite 'mul' has no int8 lowering: refused, naming the node
  const rg = new InitRng(1);
  const se = new Graph(e, [
    { name: 'c', inputs: ['input'], module: new L.Conv2d(e, { inChannels: 3, outChannels: 4, kernel: 1 }, rg) },
    { name: 'g', inputs: ['c'], module: new L.GlobalAvgPool(e, true) },
    { name: 'gate', inputs: ['c', 'g'], merge: 'mul' },
  ]);
  assert.throws(() => prepareQAT(se), /graph node '[^']*gate'.*'mul' merge/);
});

test('int8 DAG → QDQ ONNX (Concat / Add between DequantizeLinear and QuantizeLinear) runs in onnxruntime like ours', async () => {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const [q] = await builds();
  for (const [seed, concatInputs] of [[10, 'shared'], [11, 'per-input']]) {
    const { qat, data } = converted(q, seed, { head: 'outside' });
    const graph = buildInt8Graph(qat, undefined, { concatInputs });
    const bytes = int8GraphToOnnx(graph);
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
    const n = 12, x = normalise(data, n);
    const theirs = (await session.run({ input: new ort.Tensor('float32', x, [n, 9, 9, 3]) })).logits.data;
    const i8 = new Int8Runner(q.rt, graph), ours = i8.predict(x, n);
    i8.dispose();
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.round(Math.abs(ours[i] - theirs[i]) / graph.output.scale));
    // the same int8 arithmetic up to f32 rounding order inside ORT's kernels: a step or two at most
    assert.ok(worst <= 2, `seed ${seed} ${concatInputs}: ORT and qwasm logits differ by ${worst} output steps`);
  }
});

test('corrupted DAG files: qwm_load never traps, rejects exactly what decodeQwm rejects, runs what both accept identically', async () => {
  const all = await builds(), q = all[0], r = rng(99);
  const { graph } = converted(q, 12, { head: 'inside' });
  const good = encodeQwm(graph), nodeEnd = good.length - new DataView(good.buffer).getUint32(20, true);
  // where the DAG node's step headers sit (the first node, after the 52-byte headers): mutate there often
  const dagEnd = 52 + 1 + 2 + graph.nodes[0].name.length + 5 + 2 + 200;
  let rejected = 0, accepted = 0;
  for (let t = 0; t < Number(process.env.QWM_FUZZ_ROUNDS ?? 200); t++) {
    let b;
    if (t % 6 === 5) {
      b = good.slice(0, r.int(16, good.length - 1));
      new DataView(b.buffer).setUint32(8, b.length, true);
    } else {
      b = good.slice();
      for (let j = r.int(1, 3); j > 0; j--) {
        const pos = r.float() < 0.6 ? r.int(52, dagEnd) : r.int(16, nodeEnd - 1), mode = r.int(0, 3);
        b[pos] = mode === 0 ? r.int(0, 255) : mode === 1 ? b[pos] + 1 : mode === 2 ? b[pos] - 1 : (r.float() < 0.5 ? 0 : 255);
      }
    }
    new DataView(b.buffer).setUint32(12, crc32(b, 0, 16, b.length), true);
    const p = q.rt.put(b);
    let res;
    try { res = q.kernels.qwm_load(p, b.length); } finally { q.rt.free(p); }   // a trap throws here
    let g = null, why = '';
    try { g = decodeQwm(b); } catch (e) { why = e.message; }
    if (!g) { assert.ok(res < 0, `mutation ${t}: qwm_load accepted a file decodeQwm rejects (${why})`); rejected++; continue; }
    assert.is(res, 0, `mutation ${t}: qwm_load returned ${qwmWasmError(res)} at byte ${q.kernels.qwm_error_offset()}, decodeQwm accepts the file`);
    const runner = new Int8Runner(q.rt, g), n = 2, codes = r.i8(n * g.inputShape[0] * g.inputShape[1] * g.inputShape[2]);
    const want = runner.predictCodes(codes, n);
    runner.dispose();
    assert.is(eq(wasmRun(q, b, codes, n, g.classes), want), null, `mutation ${t}: accepted by both, runs differ`);
    accepted++;
  }
  assert.ok(rejected > 50 && accepted > 10, `rejected ${rejected}, accepted ${accepted}: the mutations should reach both outcomes`);
});

const withPhotos = needs(needs(needs(test, 'nsfwjs'), 'sharp'), 'tuxpaint-stamps');

withPhotos('the real InceptionV3 (nsfwjs, cut at mixed7, 75 px) calibrates, converts to one DAG node and runs: int8 ≈ fake-quant, qwm_run == Int8Runner, scalar == simd', async () => {
  const all = await builds(), q = all[all.length > 1 ? 1 : 0];
  const e = new Engine(q.rt);
  const imp = importTfjs(e, 'nsfwjs:inception_v3', { cut: 'mixed7', classes: 7, inputSize: 75 });
  const { train, test: held } = loadTuxPaintNatural({ size: 75, channels: 3, norm: imp.norm });
  imp.model.train(false);
  const qat = quantizeStatic(imp.model, train, { batches: 1, batchSize: 6 });
  const graph = buildInt8Graph(qat);
  const dag = graph.nodes[0];
  assert.is(dag.kind, 'dag');
  assert.equal(dag.steps.filter((s) => s.merge === 'concat').map((s) => s.name.split('.').pop()), ['mixed0', 'mixed1', 'mixed2', 'mixed3', 'mixed4', 'mixed5', 'mixed6', 'mixed7']);
  const n = 6, x = normalise(held, n), codes = quantizeInput(x, graph.input);
  // int8 vs the fake-quant model: the same top-1 on (nearly) every photo, logits within a few output steps
  qat.train(false);
  const xt = e.persistent([n, 75, 75, 3], x);
  const yf = e.noGrad(() => { const v = qat.forward(xt).toArray(); e.endStep(); return v; });
  const i8 = new Int8Runner(q.rt, graph), y8 = i8.predict(x, n), k = graph.classes;
  const am = (a, i) => { let b = 0; for (let j = 1; j < k; j++) if (a[i * k + j] > a[i * k + b]) b = j; return b; };
  let agree = 0;
  for (let i = 0; i < n; i++) if (am(y8, i) === am(yf, i)) agree++;
  assert.ok(agree >= n - 1, `top-1 agreement int8 vs fake-quant ${agree}/${n}`);
  // bit-exact across readers and builds
  const ref = i8.predictCodes(codes, n), bytes = encodeQwm(graph);
  for (const b of all) {
    if (b !== q) { const r = new Int8Runner(b.rt, decodeQwm(bytes)); assert.is(eq(r.predictCodes(codes, n), ref), null, `Int8Runner on ${b.build}`); r.dispose(); }
    assert.is(eq(wasmRun(b, bytes, codes, n, k), ref), null, `qwm_run on ${b.build}`);
  }
  i8.dispose();
});

test.run();

