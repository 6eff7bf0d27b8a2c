// Intra-op parallelism for batch 1 (src/deploy/bands.ts, intra-op.ts; docs/THREADS.md): one image's spatial ops
// cut into segments and row bands across 2 and 3 threads give codes bit-identical to one thread, on random
// graphs of every spatial node kind (dense / depthwise / sparse convs, strides 1 and 2, dilation, odd sizes and
// padding, max / avg pools, residual blocks with and without shortcuts, lut tables) with segments of 1, 2 and 3
// ops (halos through whole blocks), and on the real MobileNetV2 at 224 px with the automatic plan. A worker's
// failure comes back as a QwasmError naming the thread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Int8Runner, Engine, importTfjs, prepareQAT, convertToInt8 } from '../dist/index.js';
import { intraOpTuning, intraOpPlan, planBands, sharedRun, region, resetRun, BandWalker } from '../dist/deploy/intra-op.js';
import { planIntraOp } from '../dist/deploy/bands.js';
import { rng, eq, needs } from './helpers.js';
import { randomGraph, withLuts } from './qwm-graphs.js';

const one = await init({ build: 'simd', threads: 1 });
const two = await init({ build: 'simd', threads: 2 });
const three = await init({ build: 'scalar', threads: 3 });

/** Runs fn with every batch-1 run split (no MAC threshold) into segments of `segmentOps` top-level ops. */
function forced(segmentOps, fn) {
  const saved = [Int8Runner.parallelMinMacs, intraOpTuning.segmentOps];
  Int8Runner.parallelMinMacs = 0;
  intraOpTuning.segmentOps = segmentOps;
  try { return fn(); } finally { [Int8Runner.parallelMinMacs, intraOpTuning.segmentOps] = saved; }
}

/** Node kinds (depthwise / strided convs told apart) of ops[from, to), through residual branches. */
function kindsOf(nodes, into) {
  for (const nd of nodes) {
    if (nd.kind === 'conv') into.add(nd.groups > 1 && nd.cg === 1 ? 'depthwise' : nd.sparse ? 'sparse conv' : 'conv').add(`stride ${nd.stride[0]}`);
    else into.add(nd.kind);
    if (nd.kind === 'residual') { into.add(nd.shortcut ? 'shortcut' : 'identity'); kindsOf(nd.body, into); if (nd.shortcut) kindsOf(nd.shortcut, into); }
  }
}

test('random spatial graphs: row bands on 2 and 3 threads are bit-identical to one thread (segments of 1, 2, 3 ops)', () => {
  const r = rng(21), split = new Set();
  let banded = 0, runs = 0;
  for (let g = 0; g < 16; g++) {
    const inputShape = [r.int(9, 23), r.int(5, 17), r.int(1, 4)];
    const graph = withLuts(r, randomGraph(r, { inputShape, spatial: r.int(2, 6) }));
    const ref = new Int8Runner(one.rt, graph), per = inputShape[0] * inputShape[1] * inputShape[2];
    const inputs = [r.i8(per), r.i8(per)];
    const want = inputs.map((x) => ref.predictCodes(x, 1));
    for (const q of [two, three]) {
      for (const segmentOps of [1, 2, 3]) {
        forced(segmentOps, () => {
          const par = new Int8Runner(q.rt, graph), plan = intraOpPlan(par);
          for (const [i, x] of inputs.entries()) { // twice: the shared buffer and the workers' plans are reused
            const d = eq(par.predictCodes(x, 1), want[i]);
            assert.is(d, null, `graph ${g}, ${q.rt.threads} threads, segments of ${segmentOps}, input ${i}: ${d}`);
            runs++;
          }
          for (const s of plan?.segments ?? []) {
            if (s.bands.filter((b) => b[1] > b[0]).length < 2) continue;
            banded++;
            kindsOf(par.graph.nodes.slice(s.from, s.to), split);
          }
          par.dispose();
        });
      }
    }
    ref.dispose();
  }
  assert.ok(banded >= 100, `only ${banded} segments were split across threads`);
  for (const k of ['conv', 'depthwise', 'sparse conv', 'stride 1', 'stride 2', 'maxpool', 'avgpool', 'residual', 'shortcut', 'identity', 'lut']) {
    assert.ok(split.has(k), `no split segment had a ${k} (${[...split].join(', ')})`);
  }
  assert.is(runs, 16 * 2 * 3 * 2);
});

test('a thread left alone runs every band (owners that never come): the same activations as one thread', () => {
  const r = rng(33);
  let stolen = 0;
  for (let g = 0; g < 8; g++) {
    const graph = randomGraph(r, { inputShape: [r.int(9, 19), r.int(5, 13), r.int(1, 3)], spatial: r.int(2, 5) });
    const ref = new Int8Runner(one.rt, graph), rt = one.rt, ops = ref.ops;
    const plan = planIntraOp(ops, 3, { segmentOps: 1 + (g % 3) });
    if (!plan) continue;
    const per = graph.inputShape.reduce((a, b) => a * b, 1), x = r.i8(per), bufs = [];
    try {
      // the activations entering and leaving the banded run, on one thread
      const inPtr = rt.alloc(per);
      bufs.push(inPtr);
      rt.i8(inPtr, per).set(x);
      const before = ref.exec(ops.slice(0, plan.from), inPtr, 1, bufs, null);
      const after = ref.exec(ops.slice(plan.from, plan.to), before, 1, bufs, null);
      const buf = sharedRun(plan);
      for (const round of [0, 1]) { // twice: the control words are reset between images
        resetRun(plan, buf);
        const input = region(plan, buf, 0);
        input.set(rt.i8(before, input.length));
        const w = new BandWalker(rt, ops, plan, planBands(ops, plan), buf, 0);
        assert.ok(w.walk());
        const out = region(plan, buf, plan.segments.length);
        assert.is(eq(out, rt.i8(after, out.length)), null, `graph ${g}, round ${round}`);
        const others = plan.segments.flatMap((s) => s.bands.slice(1)).filter((b) => b[1] > b[0]).length;
        assert.is(w.stolen, others);
        stolen += w.stolen;
      }
    } finally {
      for (const p of bufs) rt.free(p);
      ref.dispose();
    }
  }
  assert.ok(stolen >= 20, `only ${stolen} bands taken over`);
});

// The real network: nsfwjs' Keras MobileNetV2-1.0 at 224 px, calibrated on random inputs (as bench/fork-join.js)
const withNsfwjs = needs(test, 'nsfwjs');
let mnv2 = null;
function mobilenetV2() {
  if (mnv2) return mnv2;
  const E = new Engine(one.rt), qat = prepareQAT(importTfjs(E, 'nsfwjs:mobilenet_v2', { inputSize: 224 }).model);
  const x = rng(7).f32(2 * 224 * 224 * 3);
  qat.train();
  for (let i = 0; i < 2; i++) { E.noGrad(() => qat.forward(E.persistent([2, 224, 224, 3], x))); E.endStep(); }
  qat.eval();
  mnv2 = { graph: convertToInt8(qat, undefined, { inputShape: [224, 224, 3] }).graph, x: x.subarray(0, 224 * 224 * 3) };
  return mnv2;
}

withNsfwjs('MobileNetV2 224 at batch 1: the automatic plan splits it, logits bit-identical on 2 and 3 threads; intraOp = false keeps one thread', async () => {
  const { graph, x } = mobilenetV2();
  const ref = new Int8Runner(one.rt, graph), want = ref.predict(x, 1);
  for (const q of [two, three]) {
    const par = new Int8Runner(q.rt, graph), plan = intraOpPlan(par);
    assert.ok(plan && plan.segments.length >= 8, `a plan of ${plan?.segments.length} segments`);
    assert.ok(plan.segments.every((s) => s.bands.length === q.rt.threads));
    assert.is(eq(par.predict(x, 1), want), null, `${q.rt.threads} threads`);
    par.dispose();
  }
  // a fresh runtime: with intraOp off, a batch-1 run starts no pool
  const q = await init({ build: 'simd', threads: 2 }), off = new Int8Runner(q.rt, graph);
  off.intraOp = false;
  assert.is(eq(off.predict(x, 1), want), null);
  assert.not.ok(q.rt.pool, 'intraOp = false started the pool');
  off.intraOp = true;
  assert.is(eq(off.predict(x, 1), want), null);
  assert.ok(q.rt.pool, 'the banded run used the pool');
  off.dispose(); ref.dispose();
});

test('a worker that fails mid-image surfaces as a QwasmError naming its thread (no hang); the next image works', () => {
  forced(2, () => {
    const r = rng(5), graph = randomGraph(r, { inputShape: [15, 11, 3], spatial: 4 });
    const par = new Int8Runner(three.rt, graph), ref = new Int8Runner(one.rt, graph), x = r.i8(15 * 11 * 3);
    assert.ok(intraOpPlan(par), 'the graph is split');
    assert.is(eq(par.predictCodes(x, 1), ref.predictCodes(x, 1)), null);
    // drop thread 2's replica behind the runner's back: its next band fails
    const { pool, id } = par.replicas;
    pool.post(1, { task: 'infer.free', id });
    pool.wait(1);
    let err = null;
    try { par.predictCodes(x, 1); } catch (e) { err = e; }
    assert.is(err?.name, 'QwasmError', String(err));
    assert.match(err.message, /^thread 2: no int8 graph \d+ loaded in this thread/, err.message);
    // a new runner loads new replicas and runs again
    const again = new Int8Runner(three.rt, graph);
    assert.is(eq(again.predictCodes(x, 1), ref.predictCodes(x, 1)), null);
    again.dispose(); ref.dispose(); par.dispose();
  });
});

test.run();
