// Int8Runner's reused run memory (src/deploy/schedule.ts, runner.ts): one arena per batch size kept between calls.
// Reuse must never change a code: a long-lived runner fed different inputs and batch sizes gives what a fresh
// runner gives, memory that grows in the middle of a run (detaching every view) changes nothing, and the
// arenas are bounded and freed on dispose.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Int8Runner, encodeQwm, qwmWasmError } from '../dist/index.js';
import { layout } from '../dist/deploy/schedule.js';
import { intraOpTuning } from '../dist/deploy/intra-op.js';
import { rng, eq } from './helpers.js';
import { randomGraph, withLuts } from './qwm-graphs.js';

const size = (s) => s.reduce((a, b) => a * b, 1);

/** Random graphs with every node kind (luts in some), big enough inputs for their arenas to matter. */
function graphs(seed, count) {
  const r = rng(seed), out = [];
  for (let i = 0; i < count; i++) {
    const g = randomGraph(r, { inputShape: [r.int(6, 14), r.int(6, 14), r.int(1, 5)], spatial: 3 });
    out.push(i % 2 ? withLuts(r, g) ?? g : g);
  }
  return out;
}

/** Output codes of the pure-WASM runner (assembly/qwm_run.ts: its own memory plan, no JS) on instance q. */
function qwmRun(q, g, codes, n) {
  const rt = q.rt, k = q.kernels, bytes = encodeQwm(g);
  rt.scoped((s) => { const r = k.qwm_load(s.put(bytes), bytes.length); if (r !== 0) throw new Error(`qwm_load: ${qwmWasmError(r)}`); });
  return rt.scoped((s) => {
    const ip = s.put(codes), op = s.alloc(n * g.classes), r = k.qwm_run(ip, n, op);
    if (r !== 0) throw new Error(`qwm_run: ${qwmWasmError(r)}`);
    return rt.i8(op, n * g.classes).slice();
  });
}

test('layout: blocks live at the same step never overlap, offsets 16-byte aligned, total covers them', () => {
  const r = rng(11);
  for (let t = 0; t < 300; t++) {
    const blocks = Array.from({ length: r.int(1, 30) }, () => {
      const first = r.int(-1, 20);
      return { bytes: r.int(0, 5) ? r.int(1, 5000) : 0, first, last: first + r.int(0, 8) };
    });
    const { offsets, total } = layout(blocks);
    blocks.forEach((b, i) => {
      assert.is(offsets[i] % 16, 0, 'aligned');
      assert.ok(offsets[i] + b.bytes <= total, 'inside the total');
      blocks.forEach((c, j) => {
        if (j <= i || b.last < c.first || c.last < b.first || !b.bytes || !c.bytes) return;
        assert.ok(offsets[i] + b.bytes <= offsets[j] || offsets[j] + c.bytes <= offsets[i], `trial ${t}: blocks ${i} and ${j} live together overlap`);
      });
    });
    // never worse than every block side by side
    assert.ok(total <= blocks.reduce((a, b) => a + ((b.bytes + 15) & ~15), 0));
  }
});

test('a long-lived runner (batches 1, 3, 64, 1, 3, 1, different inputs) gives a fresh runner\'s and qwm_run\'s codes; floats and codes; trace agrees', async () => {
  const q = await init({ build: 'simd', threads: 1 }).catch(() => init({ build: 'scalar', threads: 1 }));
  const fresh = await init({ build: q.build, threads: 1 });
  const r = rng(5);
  for (const [gi, g] of graphs(21, 10).entries()) {
    const per = size(g.inputShape), live = new Int8Runner(q.rt, g);
    for (const [k, n] of [1, 3, 64, 1, 3, 1].entries()) {
      const x = r.f32(n * per, 3), codes = r.i8(n * per);
      const ref = new Int8Runner(fresh.rt, g);
      const want = ref.predictCodes(codes, n), wantX = ref.predict(x, n);
      // every sample alone at batch 1 (samples never interact): the batch's layout cannot mix them
      const alone = new Int8Array(n * g.classes);
      for (let s = 0; s < n; s++) alone.set(ref.predictCodes(codes.subarray(s * per, (s + 1) * per), 1), s * g.classes);
      ref.dispose();
      assert.is(eq(want, qwmRun(fresh, g, codes, n)), null, `graph ${gi} n ${n}: a fresh runner vs qwm_run`);
      assert.is(eq(live.predictCodes(codes, n), want), null, `graph ${gi} call ${k} (n ${n}): codes`);
      assert.is(eq(want, alone), null, `graph ${gi} n ${n}: batch vs one at a time`);
      assert.is(eq(live.predict(x, n), wantX), null, `graph ${gi} call ${k} (n ${n}): floats`);
      if (k === 2) {
        // trace reads every value right after its step: the last node's codes are the output codes
        const tr = live.trace(x, n), last = g.nodes[g.nodes.length - 1].name;
        assert.is(eq(Int8Array.from(live.dequantize(tr.get(last).data)), Int8Array.from(wantX)), null, `graph ${gi}: trace`);
      }
    }
    live.dispose();
  }
});

test('with 2 threads (batch-parallel, intra-op banded and adaptive one-thread images): batches 1, 64, 3, 1 give one thread\'s codes', async () => {
  const two = await init({ build: 'simd', threads: 2 }).catch(() => null);
  if (!two || two.rt.threads < 2) { console.log('  (no 2-thread runtime here: skipped)'); return; }
  const one = await init({ build: two.build, threads: 1 }), r = rng(13);
  const saved = [Int8Runner.parallelMinMacs, intraOpTuning.segmentOps];
  Int8Runner.parallelMinMacs = 0; // every batch splits, every batch 1 is banded or chosen one-thread
  try {
    for (const [gi, g] of graphs(57, 4).entries()) {
      const per = size(g.inputShape), live = new Int8Runner(two.rt, g), ref = new Int8Runner(one.rt, g);
      for (const [k, n] of [1, 64, 3, 1, 1, 1, 1, 1].entries()) {
        intraOpTuning.segmentOps = k % 2 ? 1 : 0; // fixed segments (always banded), or the planner's with the adaptive choice
        const codes = r.i8(n * per);
        assert.is(eq(live.predictCodes(codes, n), ref.predictCodes(codes, n)), null, `graph ${gi} call ${k} (n ${n})`);
      }
      live.dispose(); ref.dispose();
    }
  } finally {
    [Int8Runner.parallelMinMacs, intraOpTuning.segmentOps] = saved;
  }
});

test('memory grown in the middle of a run (views detached) changes no code', async () => {
  const q = await init({ build: 'simd', threads: 1 }).catch(() => init({ build: 'scalar', threads: 1 }));
  const fresh = await init({ build: q.build, threads: 1 });
  const r = rng(9), real = q.rt.exports;
  for (const [gi, g] of graphs(33, 6).entries()) {
    const per = size(g.inputShape), live = new Int8Runner(q.rt, g), ref = new Int8Runner(fresh.rt, g);
    const codes = r.i8(4 * per);
    assert.is(eq(live.predictCodes(codes, 4), ref.predictCodes(codes, 4)), null, `graph ${gi}: before`);
    // every kernel call now grows linear memory first (a kernel whose scratch does not fit would)
    let grown = 0;
    const wrapped = Object.create(null);
    for (const [k, f] of Object.entries(real)) {
      wrapped[k] = typeof f === 'function' && !k.startsWith('qw_') ? (...a) => { real.memory.grow(1); grown++; return f(...a); } : f;
    }
    Object.defineProperty(q.rt, 'exports', { value: wrapped, configurable: true });
    try {
      const before = q.rt.memoryBytes();
      for (const n of [4, 1, 4]) {
        const c = r.i8(n * per);
        assert.is(eq(live.predictCodes(c, n), ref.predictCodes(c, n)), null, `graph ${gi} n ${n}: after growing`);
      }
      assert.ok(grown > 0 && q.rt.memoryBytes() > before, 'memory grew during the runs');
    } finally {
      Object.defineProperty(q.rt, 'exports', { value: real, configurable: true });
    }
    live.dispose(); ref.dispose();
  }
});

test('arenas are bounded (batch 1, 64, 3, 1 over and over) and dispose frees them', async () => {
  const q = await init({ build: 'scalar', threads: 1 });
  const [g] = graphs(44, 1), per = size(g.inputShape), r = rng(2);
  const x = r.f32(64 * per);
  const cycle = () => {
    const run = new Int8Runner(q.rt, g);
    for (let k = 0; k < 5; k++) for (const n of [1, 64, 3, 1]) run.predict(x.subarray(0, n * per), n);
    run.dispose();
  };
  const heap = () => { // the allocator's first free block of 1 MiB: moves up if anything leaked below it
    const p = q.rt.alloc(1 << 20); q.rt.free(p); return p;
  };
  cycle(); cycle();
  const p = heap(), bytes = q.rt.memoryBytes();
  for (let i = 0; i < 6; i++) cycle();
  assert.is(q.rt.memoryBytes(), bytes, 'linear memory did not grow');
  assert.is(heap(), p, 'every arena was freed');
  // a runner that keeps a single arena frees the others as soon as their call returns
  const keep = Int8Runner.keepArenas;
  Int8Runner.keepArenas = 1;
  try { cycle(); } finally { Int8Runner.keepArenas = keep; }
  assert.is(heap(), p);
  const run = new Int8Runner(q.rt, g);
  run.dispose();
  assert.throws(() => run.predict(x.subarray(0, per), 1), /used after dispose/);
});

test.run();
