// Where the time of a 2-thread call goes: per-phase times of batch-64 int8 refcnn inference and of a refcnn
// training step (batch 64, Adam), and the serial part around the parallel work (Amdahl bound). Timers wrap the
// library's methods from outside (no timing code in src/); the pool threads' replies carry when they started
// and finished computing (epoch ms), which gives their lag after the post.
//   node bench/threads-phases.js [--calls N] [--steps N] [--rounds N] [--threads N]
// Phases of an N-thread call / step (median, ms): post (pool.run until the caller's own share starts), own (the
// caller's share: for training the step's broadcast, then its chunks), wait (the caller's wait for the replies),
// run (all of pool.run), lag (post → the last worker starts computing), tail (caller done → last worker done),
// workerShare (samples / chunks the workers did), dpStep / optimizer (DataParallel.step, Optimizer.step).
// `…Cpu` = process CPU time (every thread). Outside pool.run only the caller runs (the workers are blocked), so
// "serial CPU outside pool.run" is what the serial part costs on a free core even while other sessions stretch
// the wall times: with T1 = the 1-thread CPU time, the Amdahl bound is T1 / (S + (T1 − S) / N) (lag not included).
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
// Each phase gets its wall time (ms) and, as `<phase>Cpu`, the process's CPU time (ms, every thread): outside
// pool.run only the caller runs (the workers are blocked), so the CPU time of the serial phases is what they cost
// on a free core even while other sessions load the machine and stretch the wall times.
let rec = null;   // the phases of the call being timed, or null
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const mark = (k, ms, cpu) => { if (rec) { rec[k] = (rec[k] ?? 0) + ms; if (cpu !== undefined) rec[k + 'Cpu'] = (rec[k + 'Cpu'] ?? 0) + cpu; } };
const wrap = (proto, name, key) => {
  const f = proto[name];
  proto[name] = function (...args) { const t = now(), c = cpuMs(); try { return f.apply(this, args); } finally { mark(key, now() - t, cpuMs() - c); } };
};
{
  const run = ThreadPool.prototype.run;
  ThreadPool.prototype.run = function (msgs, own, ...rest) {
    const t0 = now(), c0 = cpuMs();
    let ownEnd = 0;
    const r = run.call(this, msgs, () => { mark('post', now() - t0); const t = now(); try { return own(); } finally { ownEnd = now(); mark('own', ownEnd - t); } }, ...rest);
    const t1 = now();
    mark('run', t1 - t0, cpuMs() - c0); mark('wait', t1 - ownEnd);
    const busy = r.replies.map((x) => x.busy).filter(Boolean);
    mark('workerShare', r.replies.reduce((s, x) => s + (x.samples ?? x.chunks ?? 0), 0));
    if (busy.length) { mark('lag', Math.max(...busy.map((b) => b[0])) - t0); mark('tail', Math.max(0, Math.max(...busy.map((b) => b[1])) - ownEnd)); }
    return r;
  };
}
/** Median per phase (ms) over `recs`, keys in first-seen order. */
function summary(recs) {
  const keys = [...new Set(recs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, +med(recs.map((r) => r[k] ?? 0)).toFixed(3)]));
}

const q1 = await init({ threads: 1 }), qN = await init({ threads: N });
const { train } = loadDataset('mnist');
/** The spin and SIMD (int8 GEMM) references of bench/parallel-capacity.js, ~5 ms of one thread a call. */
const refs = ['spin', 'gemm'].map((kind) => {
  const cap = parallelCapacity(N, kind);
  let units = cap.unit;
  cap.run(1, units);
  const s = Math.min(cap.run(1, units), cap.run(1, units));
  units = Math.max(N, Math.round(units * 0.005 / s));
  return { kind, cap, units };
});
/**
 * Median 1-thread / N-thread time of 20 alternating calls of each reference, and how much more CPU time (every
 * thread) the N-thread calls took: the same work with no synchronisation and no serial part, so a CPU excess
 * here is the machine's (vCPUs sharing a core's SIMD units or caches, context switches), not the library's.
 */
const capacity = () => refs.map(({ kind, cap, units }) => {
  const r = [], c = { 1: [], [N]: [] };
  for (let i = 0; i < 20; i++) {
    const t = {};
    for (const n of [1, N]) { const c0 = cpuMs(); t[n] = cap.run(n, units); c[n].push(cpuMs() - c0); }
    r.push(t[1] / t[N]);
  }
  return `${kind} ref ${med(r).toFixed(2)}× (CPU ${(100 * (med(c[N]) / med(c[1]) - 1)).toFixed(0)} % over 1 thread)`;
}).join(', ');
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
    const t1 = [], c1 = [], tN = [], recs = [];
    for (let i = 0; i < calls; i++) {
      for (const t of i % 2 ? [N, 1] : [1, N]) {
        rec = t === N ? {} : null;
        const t0 = now(), c0 = cpuMs();
        (t === 1 ? one : many).predict(x, 64);
        const ms = now() - t0, cpu = cpuMs() - c0;
        if (t === 1) { t1.push(ms); c1.push(cpu); } else { rec.call = ms; rec.callCpu = cpu; recs.push(rec); tN.push(ms); }
        rec = null;
      }
    }
    const s = summary(recs);
    const serial = med(recs.map((x) => x.callCpu - x.runCpu)), T1 = med(c1);
    console.log(`int8 refcnn b64 round ${r + 1}: 1 thread ${med(t1).toFixed(3)} ms (CPU ${T1.toFixed(3)}), ${N} threads ${med(tN).toFixed(3)} ms = ${(med(t1) / med(tN)).toFixed(2)}× (${capacity()}, load ${os.loadavg()[0].toFixed(1)})`);
    console.log(`  serial CPU outside pool.run ${serial.toFixed(3)} ms of ${T1.toFixed(3)} (${(100 * serial / T1).toFixed(1)} %) → Amdahl bound ${(T1 / (serial + (T1 - serial) / N)).toFixed(2)}×; ${N}-thread CPU ${s.callCpu} ms (${(100 * (s.callCpu / T1 - 1)).toFixed(1)} % over 1 thread); phases (median ms): ${JSON.stringify(s)}`);
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
      let last = 0, lastCpu = cpuMs();
      rec = {};
      fit(model, train, { epochs: 1, batchSize: 64, lr: 1e-4, maxSteps: steps + 1, seed: r + 1, onStep: (s) => {
        const c = cpuMs();
        rec.step = (s.seconds - last) * 1000; rec.stepCpu = c - lastCpu; last = s.seconds; lastCpu = c;
        if (s.step > 1) recs.push(rec);
        rec = {};
      } }).optimizer.dispose();
      rec = null;
      DataParallel.callerRunsAll = false;
      const s = summary(recs);
      if (mode === 'N') s.serialCpu = +med(recs.map((x) => x.stepCpu - x.runCpu)).toFixed(3);
      out[mode] = s;
    }
    const T1 = out['1'].stepCpu, S = out.N.serialCpu;
    console.log(`train refcnn b64 round ${r + 1}: 1 thread ${out['1'].step.toFixed(2)} ms (CPU ${T1.toFixed(2)}), ${N} threads ${out.N.step.toFixed(2)} ms = ${(out['1'].step / out.N.step).toFixed(2)}× (${capacity()}, load ${os.loadavg()[0].toFixed(1)})`);
    console.log(`  serial CPU outside pool.run ${S.toFixed(2)} ms of ${T1.toFixed(2)} (${(100 * S / T1).toFixed(1)} %) → Amdahl bound ${(T1 / (S + (T1 - S) / N)).toFixed(2)}×; ${N}-thread path on one thread (caller runs every chunk) CPU ${out.all.stepCpu.toFixed(2)} ms (${(100 * (out.all.stepCpu / T1 - 1)).toFixed(1)} % over 1 thread), ${N} threads CPU ${out.N.stepCpu.toFixed(2)} ms`);
    console.log(`  ${N} threads, phases (median): ${JSON.stringify(out.N)}`);
  }
}
for (const r of refs) r.cap.close();
process.exit(0);
