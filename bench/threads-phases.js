// Where the time of a 2-thread call goes: per-phase wall times of batch-64 int8 refcnn inference and of a refcnn
// training step (batch 64, Adam), for the serial part around the parallel work (Amdahl) — the numbers
// docs/THREADS.md "Where the time goes" quotes. Timers wrap the library's methods from outside (no timing code in
// src/); the pool threads' replies carry when they started and finished (epoch ms), which gives the wake-up lag.
//   node bench/threads-phases.js [--calls N] [--steps N] [--rounds N] [--threads N]
// Inference: one thread vs N threads alternating per call; phases of the N-thread call: before the post (input
// into the shared batch), posting, the caller's own chunks, its wait for the workers, after (output copy and
// dequantisation); plus the workers' lag (post → first claim) and the end gap (caller done → last worker done).
// "serial" = the N-thread call minus the pool.run span. Training: the same with the step (fit's onStep), the
// data-parallel step, pool.run, the optimiser step; on 1 thread the same step with the caller running every
// chunk (DataParallel.callerRunsAll) gives the serial fraction of the N-thread path → Amdahl bound.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { init, Engine, buildModel, fit, loadDataset, quantizeStatic, convertToInt8, Int8Model, Int8Runner, Optimizer } from '../dist/index.js';
import { ThreadPool } from '../dist/threads/pool.js';
import { DataParallel } from '../dist/train/data-parallel.js';
import { parallelCapacity } from './parallel-capacity.js';

const { values: a } = parseArgs({ options: {
  calls: { type: 'string', default: '200' }, steps: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' },
  threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
} });
const calls = +a.calls, steps = +a.steps, rounds = +a.rounds, N = +a.threads;
if (!(N >= 2)) throw new Error('--threads must be at least 2');
for (const k of ['calls', 'steps', 'rounds']) if (!(Number.isInteger(+a[k]) && +a[k] >= 1)) throw new Error(`--${k} must be a positive integer, got ${a[k]}`);
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
const now = () => performance.timeOrigin + performance.now();   // epoch ms: comparable with the workers' stamps
const med = (v) => { const s = [...v].sort((x, y) => x - y); return s.length ? s[s.length >> 1] : NaN; };

// ------------------------------------------------------------------ timers around the library's methods
let rec = null;   // the phases of the call being timed, or null
const mark = (k, ms) => { if (rec) rec[k] = (rec[k] ?? 0) + ms; };
const wrap = (proto, name, key) => {
  const f = proto[name];
  proto[name] = function (...args) { const t = now(); try { return f.apply(this, args); } finally { mark(key, now() - t); } };
};
{
  const run = ThreadPool.prototype.run;
  ThreadPool.prototype.run = function (msgs, own) {
    const t0 = now();
    let ownEnd = 0;
    const r = run.call(this, msgs, () => { mark('post', now() - t0); const t = now(); try { return own(); } finally { ownEnd = now(); mark('own', ownEnd - t); } });
    const t1 = now();
    mark('run', t1 - t0); mark('wait', t1 - ownEnd);
    const busy = r.replies.map((x) => x.busy).filter(Boolean);
    mark('workerShare', r.replies.reduce((s, x) => s + (x.samples ?? x.chunks ?? 0), 0));
    if (busy.length) { mark('lag', Math.max(...busy.map((b) => b[0])) - t0); mark('tail', Math.max(0, Math.max(...busy.map((b) => b[1])) - ownEnd)); }
    return r;
  };
}
wrap(Int8Runner.prototype, 'execParallel', 'parallel');
wrap(DataParallel.prototype, 'step', 'dpStep');
wrap(Optimizer.prototype, 'step', 'optimizer');

/** Median per phase (ms) over `recs`, keys in first-seen order. */
function summary(recs) {
  const keys = [...new Set(recs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, +med(recs.map((r) => r[k] ?? 0)).toFixed(3)]));
}

const q1 = await init({ threads: 1 }), qN = await init({ threads: N });
const { train } = loadDataset('mnist');
const cap = parallelCapacity(N);
let capIters = 1e6;
{ cap.run(1, capIters); const s = Math.min(cap.run(1, capIters), cap.run(1, capIters)); capIters = Math.round(capIters * 0.005 / s); }
const capacity = () => { const r = []; for (let i = 0; i < 20; i++) r.push(cap.run(1, capIters) / cap.run(N, capIters)); return med(r); };
console.log(`${new Date().toISOString()}  ${cpu}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);

// ------------------------------------------------------------------ int8 refcnn, batch 64
{
  const m = buildModel(new Engine(q1.rt), 'refcnn', { seed: 1 });
  fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, maxSteps: 20, seed: 1 }).optimizer.dispose();
  const graph = convertToInt8(quantizeStatic(m, train, { batches: 4, batchSize: 64 })).graph;
  const one = Int8Model.fromGraph(q1.rt, graph), many = Int8Model.fromGraph(qN.rt, graph);
  const x = new Float32Array(64 * 784);
  for (let i = 0; i < x.length; i++) x[i] = (train.images[i] / 255 - 0.1307) / 0.3081;
  const p1 = one.predict(x, 64), pN = many.predict(x, 64);
  if (p1.some((v, i) => v !== pN[i])) throw new Error('int8 logits differ between 1 and N threads');
  for (let r = 0; r < rounds; r++) {
    const t1 = [], tN = [], recs = [];
    for (let i = 0; i < calls; i++) {
      for (const t of i % 2 ? [N, 1] : [1, N]) {
        rec = t === N ? {} : null;
        const t0 = now();
        (t === 1 ? one : many).predict(x, 64);
        const ms = now() - t0;
        if (t === 1) t1.push(ms); else { rec.call = ms; recs.push(rec); tN.push(ms); }
        rec = null;
      }
    }
    const s = summary(recs);
    s.serial = +(s.call - s.run).toFixed(3);
    console.log(`int8 refcnn b64 round ${r + 1}: 1 thread ${med(t1).toFixed(3)} ms, ${N} threads ${med(tN).toFixed(3)} ms = ${(med(t1) / med(tN)).toFixed(2)}× (spin ref ${capacity().toFixed(2)}×, load ${os.loadavg()[0].toFixed(1)}); phases (median ms): ${JSON.stringify(s)}`);
  }
  // one thread, serial part of the call: the call minus the graph on the whole quantised batch
  const codes = new Int8Array(x.length);
  const q = one.input, sc = Math.fround(q.scale);
  for (let i = 0; i < x.length; i++) codes[i] = Math.max(-128, Math.min(127, Math.round(x[i] / sc) + q.zeroPoint));
  const c = [], p = [];
  for (let i = 0; i < calls; i++) { let t0 = now(); one.predictCodes(codes, 64); c.push(now() - t0); t0 = now(); one.predict(x, 64); p.push(now() - t0); }
  console.log(`int8 refcnn b64, 1 thread: predict ${med(p).toFixed(3)} ms, predictCodes ${med(c).toFixed(3)} ms → float in/out ${(med(p) - med(c)).toFixed(3)} ms`);
  one.dispose(); many.dispose();
}

// ------------------------------------------------------------------ training refcnn, batch 64
{
  const models = { 1: buildModel(new Engine(qN.rt), 'refcnn', { seed: 1 }), [N]: buildModel(new Engine(qN.rt), 'refcnn', { seed: 1 }) };
  const plain = buildModel(new Engine(q1.rt), 'refcnn', { seed: 1 });
  const params = plain.namedParameters().reduce((s, [, p]) => s + p.tensor.size, 0);
  console.log(`refcnn: ${params} parameters`);
  for (let r = 0; r < rounds; r++) {
    const out = {};
    for (const mode of r % 2 ? ['1', 'N', 'all'] : ['all', 'N', '1']) {
      const recs = [];
      const model = mode === '1' ? plain : models[mode === 'N' ? N : 1];
      DataParallel.callerRunsAll = mode === 'all';
      let last = 0;
      rec = {};
      fit(model, train, { epochs: 1, batchSize: 64, lr: 1e-4, maxSteps: steps + 1, seed: r + 1, onStep: (s) => {
        rec.step = (s.seconds - last) * 1000; last = s.seconds;
        if (s.step > 1) recs.push(rec);
        rec = {};
      } }).optimizer.dispose();
      rec = null;
      DataParallel.callerRunsAll = false;
      const s = summary(recs);
      if (s.dpStep !== undefined) { s.serialInStep = +(s.dpStep - s.run).toFixed(3); s.outsideStep = +(s.step - s.dpStep).toFixed(3); }
      out[mode] = s;
    }
    const all = out.all, serial = all.step - all.own;
    console.log(`train refcnn b64 round ${r + 1}: 1 thread ${out['1'].step.toFixed(2)} ms, ${N} threads ${out.N.step.toFixed(2)} ms = ${(out['1'].step / out.N.step).toFixed(2)}× (spin ref ${capacity().toFixed(2)}×, load ${os.loadavg()[0].toFixed(1)})`);
    console.log(`  ${N}-thread path, caller runs every chunk: ${JSON.stringify(all)} → serial ${serial.toFixed(2)} ms of ${all.step.toFixed(2)} (${(100 * serial / all.step).toFixed(1)} %), Amdahl bound ${(all.step / (serial + all.own / N)).toFixed(2)}×`);
    console.log(`  ${N} threads: ${JSON.stringify(out.N)}`);
  }
}
cap.close();
process.exit(0);
