// What one fork-join costs between two threads: the price intra-op parallelism would pay per layer
// (docs/THREADS.md, "Intra-op parallelism"). The caller bumps a counter in a SharedArrayBuffer and wakes a worker
// (Atomics.notify); the worker bumps a reply counter at once; the caller waits for it. No work on either side:
// the round-trip time is the sync cost a layer would pay on top of its (halved) kernel time.
//   node bench/fork-join.js [--rounds N] [--calls N] [--mnv2]
// --mnv2 also converts MobileNetV2 at 224 px (nsfwjs weights, calibrated on random inputs) to int8, times its
// batch-1 predict on one thread and projects a per-layer 2-way split: t / 2 + layers × the futex p50.
// Two ways for the worker to wait: "futex" (Atomics.wait at once: no CPU burnt between layers) and "spin"
// (both threads poll Atomics.load for up to 200 µs before Atomics.wait: no futex on the fast path, but a core
// burnt between layers: on a shared machine it takes CPU from the other jobs and from the other thread).
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '2000' }, mnv2: { type: 'boolean', default: false },
} });
const rounds = +a.rounds, calls = +a.calls;

const SOURCE = `
const { workerData } = require('node:worker_threads');
const c = new Int32Array(workerData.ctrl);      // [request, reply, spin µs]
let seen = 0;
for (;;) {
  const spinUntil = performance.now() + c[2] / 1000;
  while (Atomics.load(c, 0) === seen && performance.now() < spinUntil) {}
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}`;
const ctrl = new SharedArrayBuffer(16), c = new Int32Array(ctrl);
const w = new Worker(SOURCE, { eval: true, workerData: { ctrl } });
w.unref();

let seq = 0;
function roundTrip(spin) {
  Atomics.store(c, 0, ++seq);
  Atomics.notify(c, 0);
  if (spin) { const until = performance.now() + 0.2; while (Atomics.load(c, 1) !== seq && performance.now() < until) { /* spin */ } }
  while (Atomics.load(c, 1) !== seq) Atomics.wait(c, 1, Atomics.load(c, 1), 100);
}

const res = { futex: [], spin: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 ? ['spin', 'futex'] : ['futex', 'spin']) {
    c[2] = mode === 'spin' ? 200 : 0;
    for (let i = 0; i < 20; i++) roundTrip(mode === 'spin');
    const t = [];
    for (let i = 0; i < calls; i++) { const t0 = performance.now(); roundTrip(mode === 'spin'); t.push((performance.now() - t0) * 1000); }
    t.sort((x, y) => x - y);
    res[mode].push({ p10: t[Math.floor(0.1 * t.length)], p50: t[t.length >> 1], p90: t[Math.floor(0.9 * t.length)] });
  }
}
const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
console.log(`${new Date().toISOString()}  ${cpu}, ${os.cpus().length} cores, 1-min load ${os.loadavg()[0].toFixed(1)}`);
for (const mode of ['futex', 'spin']) {
  const r = res[mode];
  console.log(`${mode.padEnd(5)}: sync cost per fork-join, µs (median over ${rounds} rounds of ${calls}): p10 ${med(r.map((x) => x.p10)).toFixed(1)}  p50 ${med(r.map((x) => x.p50)).toFixed(1)}  p90 ${med(r.map((x) => x.p90)).toFixed(1)}`);
}
if (a.mnv2) {
  const { init, Engine, importTfjs, prepareQAT, convertToInt8 } = await import('../dist/index.js');
  const q = await init({ threads: 1 }), E = new Engine(q.rt);
  const qat = prepareQAT(importTfjs(E, 'nsfwjs:mobilenet_v2', { inputSize: 224 }).model);
  let s = 7;
  const x = new Float32Array(2 * 224 * 224 * 3).map(() => { s = (s * 1103515245 + 12345) >>> 0; return (s / 4294967296) * 2 - 1; });
  qat.train();
  for (let i = 0; i < 2; i++) { E.noGrad(() => qat.forward(E.persistent([2, 224, 224, 3], x))); E.endStep(); }
  qat.eval();
  const int8 = convertToInt8(qat, undefined, { inputShape: [224, 224, 3] });
  const ms = int8.latencyMs(1, 20), layers = int8.layers().length, sync = med(res.futex.map((x) => x.p50)) / 1000;
  console.log(`MobileNetV2 224 int8, batch 1, 1 thread: ${ms.toFixed(2)} ms, ${layers} layers (${(ms / layers * 1000).toFixed(0)} µs each on average); ` +
    `every layer split in 2 at ${(sync * 1000).toFixed(1)} µs per fork-join: ${(ms / 2 + layers * sync).toFixed(2)} ms (${(ms / (ms / 2 + layers * sync)).toFixed(2)}× at best), load ${os.loadavg()[0].toFixed(1)}`);
}
process.exit(0);
