// Threads (src/threads/, docs/THREADS.md): batch-parallel int8 inference is bit-identical to one thread on
// random graphs of every node kind; data-parallel training gives the one-thread gradients (no BN: up to float
// summation order) and is bit-identical run to run for a given thread count (with BN).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Int8Runner, Engine, buildModel, fit, fitAsync, loadDataset } from '../dist/index.js';
import { rng, eq } from './helpers.js';
import { randomGraph, smallConverted } from './qwm-graphs.js';
import { DataParallel } from '../dist/train/data-parallel.js';
import { fitRounds } from '../dist/train/trainer.js';
import { driveAsync } from '../dist/threads/exchange.js';
import { ThreadPool } from '../dist/threads/pool.js';
import { SharedBatch, chunking } from '../dist/threads/shared-batch.js';

const one = await init({ build: 'simd', threads: 1 });
const two = await init({ build: 'simd', threads: 2 });
const three = await init({ build: 'scalar', threads: 3 });

test('init({ threads }) checks its argument; 1 thread starts no pool; threadsReason says why 1', async () => {
  assert.is(one.rt.threads, 1);
  assert.is(two.rt.threads, 2);
  assert.equal([one.threads, one.threadsReason, two.threads, two.threadsReason], [1, 'threads: 1 was asked', 2, null]);
  await assert.rejects?.(init({ threads: 0 }), /threads must be an integer in \[1, 256\], got 0/);
  let err = null;
  try { await init({ threads: 1.5 }); } catch (e) { err = e; }
  assert.match(String(err), /threads must be an integer/);
});

test('batch-parallel int8 inference is bit-identical to one thread (random graphs, 2 and 3 threads)', () => {
  const saved = Int8Runner.parallelMinMacs;
  Int8Runner.parallelMinMacs = 0; // split every batch, however small the graph
  try {
    const r = rng(7);
    for (let g = 0; g < 12; g++) {
      const graph = randomGraph(r);
      for (const q of [two, three]) {
        // int8 results are bit-identical across builds too, so the one-thread SIMD run is the reference for both
        const ref = new Int8Runner(one.rt, graph);
        const par = new Int8Runner(q.rt, graph);
        for (const n of [1, 2, 5, 8, 3]) { // growing, then a smaller batch in the reused shared buffer
          const per = graph.inputShape.reduce((a, b) => a * b, 1);
          const codes = r.i8(n * per);
          const d = eq(par.predictCodes(codes, n), ref.predictCodes(codes, n));
          assert.is(d, null, `graph ${g}, ${q.rt.threads} threads, n=${n}: ${d}`);
          // floats: each thread quantises the samples it claims
          const x = r.f32(n * per);
          const f = eq(par.predict(x, n), ref.predict(x, n));
          assert.is(f, null, `graph ${g}, ${q.rt.threads} threads, n=${n}, float input: ${f}`);
        }
        assert.ok(q.rt.pool, 'the pool was started');
        par.dispose(); ref.dispose();
      }
    }
  } finally {
    Int8Runner.parallelMinMacs = saved;
  }
});

test('a shared batch is claimed in shrinking runs that cover every sample once', () => {
  for (const [n, threads, minSamples, perThread] of [[64, 2, 1, 4], [64, 3, 2, 4], [7, 2, 1, 8], [1000, 4, 3, 2], [5, 3, 10, 4]]) {
    const c = chunking(n, threads, minSamples, perThread);
    assert.ok(c.minChunk >= 1 && c.maxChunk >= c.minChunk && c.maxChunk <= Math.ceil(n / threads), JSON.stringify(c));
    const b = SharedBatch.open(null, n, 3, 2, true, c), runs = [];
    const x = rng(n).f32(n * 3);
    b.fill(x);
    assert.equal([...b.input(0, n)], [...x], 'fill copies the input in');
    b.drain((start, count) => runs.push([start, count]));
    let next = 0;
    for (const [start, count] of runs) {
      assert.is(start, next, `n=${n}: runs are contiguous`);
      assert.ok(count >= Math.min(c.minChunk, n - start) && count <= c.maxChunk, `n=${n}: run of ${count} within [${c.minChunk}, ${c.maxChunk}]`);
      next += count;
    }
    assert.is(next, n);
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i][1] <= runs[i - 1][1], `n=${n}: runs shrink`);
    assert.is(b.drain(() => assert.unreachable('nothing left to claim')), 0);
  }
});

test('a shared batch whose input copy failed is abandoned: claimants return at once instead of waiting', () => {
  const b = SharedBatch.open(null, 8, 3, 2, true, chunking(8, 2, 1, 4));
  assert.throws(() => b.fill(new Float32Array(100)), RangeError);   // 100 values do not fit 8 × 3
  assert.is(b.drain(() => assert.unreachable('an abandoned batch has nothing to claim')), 0);
});

test('a converted model predicts the same logits with 2 threads (and predictAsync, which is predict in Node); a bad batch fails the same way', async () => {
  const saved = Int8Runner.parallelMinMacs;
  Int8Runner.parallelMinMacs = 0;
  try {
    const a = smallConverted(one, 'refcnn'), b = smallConverted(two, 'refcnn');
    const x = rng(3).f32(64 * 144);
    assert.is(eq(b.i8.predict(x, 64), a.i8.predict(x, 64)), null);
    assert.is(eq(await b.i8.predictAsync(x, 64), a.i8.predict(x, 64)), null);
    assert.is(eq(await b.i8.predictCodesAsync(new Int8Array(64 * 144), 64), a.i8.predictCodes(new Int8Array(64 * 144), 64)), null);
    // back-to-back batches reuse the last shared batch when the size and kind match, and must not when they do not
    const x2 = rng(4).f32(64 * 144), codes = Int8Array.from(rng(5).f32(64 * 144), (v) => Math.round(v * 100));
    assert.is(eq(b.i8.predict(x2, 64), a.i8.predict(x2, 64)), null);
    assert.is(eq(b.i8.predictCodes(codes, 64), a.i8.predictCodes(codes, 64)), null);
    assert.is(eq(b.i8.predict(x2.subarray(0, 9 * 144), 9), a.i8.predict(x2.subarray(0, 9 * 144), 9)), null);
    assert.is(eq(b.i8.predict(x, 64), a.i8.predict(x, 64)), null);
    assert.throws(() => b.i8.predict(x, 63), /x must hold n × 12×12×1/);
    let err = null;
    try { await b.i8.predictAsync(x, 63); } catch (e) { err = e; }
    assert.match(String(err), /x must hold n × 12×12×1/);
    a.i8.dispose(); b.i8.dispose();
  } finally {
    Int8Runner.parallelMinMacs = saved;
  }
});

const { train } = loadDataset('mnist');
const first = (n) => Int32Array.from({ length: n }, (_, i) => i);

function trained(q, name, opts, fitOpts) {
  const m = buildModel(new Engine(q.rt), name, { seed: 4, ...opts });
  const r = fit(m, train, { epochs: 1, lr: 1e-2, indices: first(192), seed: 2, ...fitOpts });
  const s = m.stateDict();
  m.dispose(); r.optimizer.dispose();
  return { state: s, loss: r.finalTrainLoss, acc: r.epochs[0].trainAccuracy };
}

test('data-parallel training (no BN) follows the one-thread run up to float summation order', () => {
  const fo = { batchSize: 32, optimizer: { kind: 'sgd', momentum: 0.9 }, maxSteps: 4 };
  const a = trained(one, 'mlp', { hidden: [48] }, fo), b = trained(two, 'mlp', { hidden: [48] }, fo);
  let worst = 0, moved = 0;
  const m0 = buildModel(new Engine(one.rt), 'mlp', { hidden: [48], seed: 4 });
  const init0 = { state: m0.stateDict() };
  m0.dispose();
  for (const k of Object.keys(a.state)) {
    for (let i = 0; i < a.state[k].data.length; i++) {
      worst = Math.max(worst, Math.abs(a.state[k].data[i] - b.state[k].data[i]));
      moved = Math.max(moved, Math.abs(a.state[k].data[i] - init0.state[k].data[i]));
    }
  }
  assert.ok(moved > 1e-3, `the weights moved (${moved})`);
  assert.ok(worst < 1e-5, `2 threads vs 1: max weight difference ${worst}`);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
  assert.is(a.acc, b.acc);
});

test('data-parallel training with BN is bit-identical run to run for a thread count, and learns', () => {
  const fo = { batchSize: 16, maxSteps: 6, lr: 1e-3, shift: 1 };
  const run = () => trained(two, 'mobilenet', { width: 8 }, fo);
  const s1 = run(), s2 = run();
  for (const k of Object.keys(s1.state)) assert.is(eq(s1.state[k].data, s2.state[k].data), null, k);
  assert.ok(Number.isFinite(s1.loss));
  // BN statistics are per shard: the one-thread run differs, but only a little after 6 steps
  const s0 = trained(one, 'mobilenet', { width: 8 }, fo);
  const k = Object.keys(s0.state).find((n) => n.endsWith('running_mean'));
  assert.ok(k, 'the model has BN running means');
  assert.is.not(eq(s0.state[k].data, s1.state[k].data), null);
});

/** Models and fits where the chunks' gradients, BN statistics and dropout masks all matter. */
const CASES = [
  ['mlp', { hidden: [40], dropout: 0.2 }, { batchSize: 15, maxSteps: 4, accumulateSteps: 2, optimizer: { kind: 'sgd', momentum: 0.9 } }],
  ['mobilenet', { width: 8 }, { batchSize: 15, maxSteps: 3, lr: 1e-3 }],
];

test('data-parallel training: the result does not depend on which thread runs which chunk (dropout, BN, accumulation)', () => {
  for (const [name, opts, fo] of CASES) {
    const spread = trained(three, name, opts, fo);   // chunks 1 and 2 go to whichever thread claims them
    DataParallel.callerRunsAll = true;
    let caller;
    try { caller = trained(three, name, opts, fo); } finally { DataParallel.callerRunsAll = false; }
    for (const k of Object.keys(spread.state)) assert.is(eq(spread.state[k].data, caller.state[k].data), null, `${name} ${k}`);
    assert.is(spread.loss, caller.loss);
    assert.is(spread.acc, caller.acc);
  }
});

/** trained() through fitAsync, or through fitRounds driven with `background` (a pool the caller does not block on). */
async function trainedAsync(q, name, opts, fitOpts, background = null) {
  const m = buildModel(new Engine(q.rt), name, { seed: 4, ...opts });
  const o = { epochs: 1, lr: 1e-2, indices: first(192), seed: 2, ...fitOpts };
  const r = background ? await driveAsync(fitRounds(m, train, o, background)) : await fitAsync(m, train, o);
  const s = m.stateDict();
  m.dispose(); r.optimizer.dispose();
  return { state: s, loss: r.finalTrainLoss, acc: r.epochs[0].trainAccuracy, threads: r.threads };
}

test('fitAsync in Node: fit\'s result bit for bit (2 threads), the event loop runs between steps', async () => {
  for (const [name, opts, fo] of CASES) {
    let steps = 0, ranBetween = 0;
    // an immediate queued in onStep runs before the next step: fitAsync yields a macrotask after each step
    const onStep = () => { assert.is(ranBetween, steps, `step ${steps + 1} started before the event loop ran`); steps++; setImmediate(() => ranBetween++); };
    const a = await trainedAsync(two, name, opts, { ...fo, onStep });
    const b = trained(two, name, opts, fo);
    assert.is(steps, fo.maxSteps);
    assert.is(a.threads, 2);
    for (const k of Object.keys(b.state)) assert.is(eq(a.state[k].data, b.state[k].data), null, `${name} ${k}`);
    assert.equal([a.loss, a.acc], [b.loss, b.acc]);
  }
});

test('fitAsync\'s main-thread path (the workers run every chunk, the caller awaits them) = the blocking 2-thread fit, bit for bit', async () => {
  const two32 = await init({ build: 'scalar', threads: 2 });
  const pool = ThreadPool.of(three.rt);   // 2 Node workers, used as a browser main thread's: awaited (Atomics.waitAsync)
  for (const [name, opts, fo] of CASES) {
    const before = [...pool.work];
    const bg = await trainedAsync(three, name, opts, fo, pool);
    const ref = trained(two32, name, opts, fo);
    assert.is(bg.threads, 2);
    const ran = pool.work.map((w, i) => w - before[i]);
    assert.is(ran[0] + ran[1], 2 * fo.maxSteps, `the workers ran every chunk: ${ran}`);
    for (const k of Object.keys(ref.state)) assert.is(eq(bg.state[k].data, ref.state[k].data), null, `${name} ${k}`);
    assert.equal([bg.loss, bg.acc], [ref.loss, ref.acc]);
  }
});

test.run();
