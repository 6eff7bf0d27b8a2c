// Batch-64 int8 inference, 1 vs N threads, next to the spin reference (bench/parallel-capacity.js), in single
// calls alternated many times: on a shared machine the best calls are the moments both cores were free, so the
// best-call ratio of ours against the reference's says how much of the machine's parallel capacity we use.
//   node bench/threads-ab.js [--calls N] [--threads N] [--per-thread 4,8,16] [--train N]
// Each round of a setting runs 4 calls (reference 1 / N threads, int8 refcnn 1 / N threads), order rotated;
// --per-thread runs the whole comparison for each Int8Runner.chunksPerThread value in turn. Prints best (p0),
// p10 and median ratios with the CPU and the 1-minute load. --train N then does the same for training steps of
// the reference CNN (batch 64, Adam): N rounds of [reference 1 / N threads calibrated to one step, 5 timed steps
// on 1 thread, 5 on N threads], best step of each.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { init, Engine, buildModel, fit, loadDataset, quantizeStatic, convertToInt8, Int8Model, Int8Runner } from '../dist/index.js';
import { parallelCapacity } from './parallel-capacity.js';

const { values: a } = parseArgs({ options: {
  calls: { type: 'string', default: '300' }, 'per-thread': { type: 'string', default: String(Int8Runner.chunksPerThread) }, train: { type: 'string', default: '0' },
  threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
} });
const calls = +a.calls, N = +a.threads, perThread = a['per-thread'].split(',').map(Number);
if (!(N >= 2)) throw new Error('--threads must be at least 2');
if (!(calls >= 1) || !(+a.train >= 0) || perThread.some((p) => !(Number.isInteger(p) && p >= 1))) throw new Error('--calls, --per-thread and --train take positive integers (--train: 0 to skip)');
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;

const q1 = await init({ threads: 1 }), qN = await init({ threads: N });
const { train } = loadDataset('mnist');
const m = buildModel(new Engine(q1.rt), 'refcnn', { seed: 1 });
fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, maxSteps: 20, seed: 1 }).optimizer.dispose();
const one = convertToInt8(quantizeStatic(m, train, { batches: 4, batchSize: 64 }));
const many = Int8Model.fromGraph(qN.rt, one.graph);
const x = new Float32Array(64 * 784);
for (let i = 0; i < x.length; i++) x[i] = (train.images[i] / 255 - 0.1307) / 0.3081;
const cap = parallelCapacity(N);
let iters = 1e6;
{ // the reference's one-thread call ≈ one int8 batch on one thread
  cap.run(1, iters);
  const s = Math.min(cap.run(1, iters), cap.run(1, iters));
  const t0 = performance.now(); for (let i = 0; i < 5; i++) one.predict(x, 64);
  iters = Math.round(iters * ((performance.now() - t0) / 5000) / s);
}

const time = (f) => { const t0 = performance.now(); f(); return performance.now() - t0; };
const q = (v, p) => [...v].sort((x, y) => x - y)[Math.floor(p * (v.length - 1))];
console.log(`${new Date().toISOString()}  ${cpu}, ${os.cpus().length} cores, ${calls} rounds of 4 calls per setting`);
for (const per of perThread) {
  Int8Runner.chunksPerThread = per;
  const p1 = one.predict(x, 64), pN = many.predict(x, 64);
  if (p1.some((v, i) => v !== pN[i])) throw new Error('int8 logits differ between 1 and N threads');
  const t = { r1: [], rN: [], i1: [], iN: [] };
  const seq = [['r1', () => cap.run(1, iters)], ['rN', () => cap.run(N, iters)], ['i1', () => one.predict(x, 64)], ['iN', () => many.predict(x, 64)]];
  for (let k = 0; k < calls; k++) for (let j = 0; j < 4; j++) { const [n, f] = seq[(j + k) % 4]; t[n].push(time(f)); }
  const row = (p) => `ref ${(q(t.r1, p) / q(t.rN, p)).toFixed(2)}×, int8 ${(q(t.i1, p) / q(t.iN, p)).toFixed(2)}× (${q(t.i1, p).toFixed(2)} / ${q(t.iN, p).toFixed(2)} ms)`;
  console.log(`chunksPerThread ${per}: best: ${row(0)};  p10: ${row(0.1)};  median: ${row(0.5)};  load ${os.loadavg()[0].toFixed(1)}`);
}
const trainRounds = +a.train;
if (trainRounds > 0) {
  const models = { 1: buildModel(new Engine(q1.rt), 'refcnn', { seed: 1 }), [N]: buildModel(new Engine(qN.rt), 'refcnn', { seed: 1 }) };
  const steps = (t, seed) => {
    const secs = [];
    let last = 0;
    fit(models[t], train, { epochs: 1, batchSize: 64, lr: 1e-4, maxSteps: 6, seed, onStep: (s) => { secs.push(1000 * (s.seconds - last)); last = s.seconds; } }).optimizer.dispose();
    return secs.slice(1);
  };
  steps(1, 1); steps(N, 1);
  let it = 1e6;
  { const s = Math.min(cap.run(1, it), cap.run(1, it)); it = Math.round(it * (Math.min(...steps(1, 2)) / 1000) / s); }
  const t = { r1: [], rN: [], s1: [], sN: [] };
  for (let k = 0; k < trainRounds; k++) {
    const seq = [['r1', () => t.r1.push(time(() => cap.run(1, it)))], ['rN', () => t.rN.push(time(() => cap.run(N, it)))],
      ['s1', () => t.s1.push(...steps(1, k + 3))], ['sN', () => t.sN.push(...steps(N, k + 3))]];
    for (let j = 0; j < 4; j++) seq[(j + k) % 4][1]();
  }
  const row = (p) => `ref ${(q(t.r1, p) / q(t.rN, p)).toFixed(2)}×, training ${(q(t.s1, p) / q(t.sN, p)).toFixed(2)}× (${q(t.s1, p).toFixed(1)} / ${q(t.sN, p).toFixed(1)} ms a step)`;
  console.log(`refcnn training, ${trainRounds} rounds: best: ${row(0)};  p10: ${row(0.1)};  median: ${row(0.5)};  load ${os.loadavg()[0].toFixed(1)}`);
}
cap.close();
process.exit(0);
