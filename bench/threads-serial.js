// The calling thread's side of a 2-thread batch-64 int8 refcnn predict(), phase by phase (wall µs, p10 / p50 of
// --calls calls, each after a 1-thread call as in bench/threads.js, so caches are as cold as there):
//   pre    predict() → pool.run (validation, the pool, the shared batch; batchOf / parallelPool / openBatch inside)
//   post   pool.run → the caller's own share starts (the requests posted, the workers notified)
//   own    the caller's share (input copy, its claims, polling for the others' last samples)
//   wait   own share done → every reply in;  after: pool.run → predict() returns (output copy, dequantize)
// p10 is the figure to compare (the calls the scheduler left alone); on a loaded machine p50 includes preemption.
//   node bench/threads-serial.js [--calls N] [--dist DIR]   (--dist: another build's dist/, e.g. main's, for A/B)
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { calls: { type: 'string', default: '300' }, dist: { type: 'string', default: new URL('../dist', import.meta.url).pathname } } });
const calls = +a.calls;
if (!(Number.isInteger(calls) && calls >= 10)) throw new Error(`--calls must be an integer ≥ 10, got ${a.calls}`);
const dist = (f) => pathToFileURL(path.join(path.resolve(a.dist), f)).href;
const Q = await import(dist('index.js'));
const { ThreadPool } = await import(dist('threads/pool.js'));
const { train } = Q.loadDataset('mnist');
const q1 = await Q.init({ threads: 1 }), q2 = await Q.init({ threads: 2 });
const m = Q.buildModel(new Q.Engine(q1.rt), 'refcnn', { seed: 1 });
const one = Q.convertToInt8(Q.quantizeStatic(m, train, { batches: 1, batchSize: 64 }));
const two = Q.Int8Model.fromGraph(q2.rt, one.graph);
const x = new Float32Array(64 * 784);
for (let i = 0; i < x.length; i++) x[i] = (train.images[i] / 255 - 0.1307) / 0.3081;

let P = null;   // the phases of the call being timed
const now = () => performance.now() * 1000;
const wrap = (name) => {
  const f = Q.Int8Runner.prototype[name];
  Q.Int8Runner.prototype[name] = function (...args) { const t = now(); try { return f.apply(this, args); } finally { if (P && this === two) P[name] = (P[name] ?? 0) + now() - t; } };
};
for (const k of ['batchOf', 'parallelPool', 'openBatch']) wrap(k);
const run = ThreadPool.prototype.run;
ThreadPool.prototype.run = function (msgs, own, ...rest) {
  if (!P) return run.call(this, msgs, own, ...rest);
  P.r0 = now();
  const r = run.call(this, msgs, () => { P.o0 = now(); try { return own(); } finally { P.o1 = now(); } }, ...rest);
  P.r1 = now();
  return r;
};
const rec = [];
for (let i = 0; i < calls; i++) {
  one.predict(x, 64);
  P = { s: now() };
  two.predict(x, 64);
  const e = now();
  rec.push({ pre: P.r0 - P.s, batchOf: P.batchOf, parallelPool: P.parallelPool, openBatch: P.openBatch, post: P.o0 - P.r0, own: P.o1 - P.o0, wait: P.r1 - P.o1, after: e - P.r1, call: e - P.s });
  P = null;
}
const q = (k, p) => { const v = rec.map((r) => r[k]).sort((x, y) => x - y); return v[Math.floor(p * (v.length - 1))]; };
const cpu = /model name\s*:\s*(.*)/.exec((await import('node:fs')).readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
console.log(`${new Date().toISOString()}  ${cpu}, load ${os.loadavg()[0].toFixed(1)}, ${path.resolve(a.dist)}: wall µs p10 / p50 of ${calls} calls`);
console.log(Object.keys(rec[0]).map((k) => `${k} ${q(k, 0.1).toFixed(1)} / ${q(k, 0.5).toFixed(1)}`).join(', '));
process.exit(0);
