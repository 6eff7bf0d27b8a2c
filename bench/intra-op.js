// Batch-1 int8 inference on 1 vs N threads (intra-op parallelism: src/deploy/intra-op.ts, docs/THREADS.md):
// MobileNetV2-1.0 (nsfwjs' Keras weights, calibrated on random inputs, converted to int8) at 224 and 96 px,
// predict() of one image, 1 and N threads alternating call by call, next to the machine's parallel capacity
// measured in the same rounds (bench/parallel-capacity.js, the spin reference of bench/threads.js) and to
// onnxruntime-web running the same graph (int8GraphToOnnx) with a pool of 1 and of N.
//   mnv2-S       every image banded (intraOpTuning.adaptive off): what the split itself gives
//   mnv2-S-auto  the default policy (banded while measured faster than one thread, src/deploy/intra-op.ts)
//   mnv2-S-batchN  N images per call, batch-parallel (one image per thread, no sync inside): what the machine
//                gives these kernels at that moment — memory traffic included, unlike the spin reference
//   node bench/intra-op.js [--rounds N] [--calls N] [--threads N] [--sizes 224,96] [--spin-us µs] [--skip-ort] [--no-write]
// Each round runs every pair once (order rotated) and reports the ratio of median times (1 thread ÷ N) and of
// fastest times; the summary is the median over rounds. Writes bench/intra-op-results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { init, Engine, Int8Runner, importTfjs, prepareQAT, convertToInt8, int8GraphToOnnx, quantizeInput } from '../dist/index.js';
import { intraOpPlan, intraOpStats, intraOpTuning, planBands, sharedRun, region, BandWalker } from '../dist/deploy/intra-op.js';
import { parallelCapacity } from './parallel-capacity.js';
import { ortWithPool } from './ort-pool.js';

const { values: a } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '40' }, sizes: { type: 'string', default: '224,96' },
  threads: { type: 'string', default: '2' }, 'spin-us': { type: 'string' }, 'skip-ort': { type: 'boolean', default: false }, 'no-write': { type: 'boolean', default: false },
} });
const rounds = +a.rounds, calls = +a.calls, N = +a.threads, sizes = a.sizes.split(',').map(Number);
for (const k of ['rounds', 'calls']) if (!(Number.isInteger(+a[k]) && +a[k] >= 1)) throw new Error(`--${k} must be a positive integer, got ${a[k]}`);
if (!(Number.isInteger(N) && N >= 2)) throw new Error(`--threads must be an integer ≥ 2 (the comparison is 1 vs N), got ${a.threads}`);
if (!sizes.every((s) => Number.isInteger(s) && s >= 32)) throw new Error(`--sizes must be pixel sizes ≥ 32, got ${a.sizes}`);
if (a['spin-us'] !== undefined) intraOpTuning.spinUs = +a['spin-us'];
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
const load0 = os.loadavg()[0];
const T = [1, N], qs = { 1: await init({ threads: 1 }), [N]: await init({ threads: N }) };
const med = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
let seed = 7;
const rnd = (n) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed / 4294967296) * 2 - 1; });

/** Seconds per call of fn(t), t = 1 and N alternating (first of the two flipped each call). */
async function interleave(count, fn) {
  const out = { 1: [], [N]: [] };
  for (let i = 0; i < count; i++) {
    for (const t of i % 2 ? [N, 1] : [1, N]) { const t0 = performance.now(); await fn(t); out[t].push((performance.now() - t0) / 1000); }
  }
  return out;
}

const cap = parallelCapacity(N);
let capIters = 1e6;
cap.run(1, capIters);
capIters = Math.round(capIters * 0.01 / Math.min(cap.run(1, capIters), cap.run(1, capIters))); // ~10 ms on one thread

/** MobileNetV2-1.0 at `size` px converted to int8 (calibrated on two random batches in train mode). */
function mobilenetV2(size) {
  const E = new Engine(qs[1].rt), qat = prepareQAT(importTfjs(E, 'nsfwjs:mobilenet_v2', { inputSize: size }).model);
  const x = rnd(2 * size * size * 3);
  qat.train();
  for (let i = 0; i < 2; i++) { E.noGrad(() => qat.forward(E.persistent([2, size, size, 3], x))); E.endStep(); }
  qat.eval();
  return convertToInt8(qat, undefined, { inputShape: [size, size, 3] }).graph;
}

/**
 * Where a split image's time goes, independent of the machine's load: every band of the plan run one after the
 * other on ONE thread (no waits), summed per owner thread, next to the whole image on one thread (the fastest of
 * 15 each: what the code costs when it has a core, whatever the load).
 * With free cores the split image costs about the largest owner's sum plus one sync per segment, so
 * `projected` = one thread ÷ (largest sum + segments × 12 µs, the futex p50 of bench/fork-join.js).
 */
function bandsAlone(runner, plan, x) {
  const rt = runner.rt, ops = runner.ops, buf = sharedRun(plan), bands = planBands(ops, plan), w = new BandWalker(rt, ops, plan, bands, buf, 0);
  const codes = quantizeInput(x, runner.input);
  if (plan.from !== 0) throw new Error('bandsAlone: the banded run does not start at the input');
  region(plan, buf, 0).set(codes);
  const sums = Array.from({ length: plan.threads }, () => []), whole = [];
  for (let i = 0; i < 15; i++) {
    const sum = new Array(plan.threads).fill(0);
    for (let s = 0; s < plan.segments.length; s++) for (let b = 0; b < plan.threads; b++) { const t0 = performance.now(); w.runBand(s, b); sum[b] += performance.now() - t0; }
    sum.forEach((v, b) => sums[b].push(v));
    const t0 = performance.now(); runner.predictCodes(codes, 1); whole.push(performance.now() - t0);
  }
  const one = Math.min(...whole), per = sums.map((v) => Math.min(...v)), worst = Math.max(...per);
  return { oneThreadMs: +one.toFixed(2), bandsPerThreadMs: per.map((v) => +v.toFixed(2)), projected: +(one / (worst + plan.segments.length * 0.012)).toFixed(2) };
}

const pairs = [{ name: 'capacity', what: 'spin reference (pure integer work split over threads)', run: () => interleave(calls, (t) => cap.run(t, capIters)) }];
const plans = {};
for (const S of sizes) {
  const graph = mobilenetV2(S), x = rnd(S * S * 3);
  const m = Object.fromEntries(T.map((t) => [t, new Int8Runner(qs[t].rt, graph)]));
  const y1 = m[1].predict(x, 1), yN = m[N].predict(x, 1);
  if (y1.some((v, i) => v !== yN[i])) throw new Error(`MobileNetV2 ${S}: logits differ between 1 and ${N} threads`);
  const p = intraOpPlan(m[N]);
  plans[`mnv2-${S}`] = p && { segments: p.segments.length, estimate: +(p.serialNs / p.plannedNs).toFixed(2), ...bandsAlone(m[1], p, x) };
  const forced = (on, fn) => async () => { intraOpTuning.adaptive = !on; try { return await fn(); } finally { intraOpTuning.adaptive = true; } };
  pairs.push({ name: `mnv2-${S}`, what: `int8 MobileNetV2 ${S}×${S}×3 predict, batch 1, every image banded`, run: forced(true, () => interleave(calls, (t) => m[t].predict(x, 1))) });
  const xs = rnd(N * S * S * 3);
  pairs.push({ name: `mnv2-${S}-batch${N}`, what: `the same, ${N} images per call (batch-parallel)`, run: () => interleave(calls, (t) => m[t].predict(xs, N)) });
  const auto = new Int8Runner(qs[N].rt, graph); // its own chooser state
  pairs.push({ name: `mnv2-${S}-auto`, what: `the same, default policy (banded while faster)`, run: () => interleave(calls, (t) => (t === 1 ? m[1] : auto).predict(x, 1)) });
  if (!a['skip-ort']) {
    const bytes = int8GraphToOnnx(graph), sess = {}, feeds = {};
    for (const t of T) {
      const ort = await ortWithPool(t);
      sess[t] = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: t });
      feeds[t] = { [sess[t].inputNames[0]]: new ort.Tensor('float32', x, [1, S, S, 3]) };
      await sess[t].run(feeds[t]);
    }
    pairs.push({ name: `ort-mnv2-${S}`, what: `the same graph in onnxruntime-web, batch 1`, run: () => interleave(calls, (t) => sess[t].run(feeds[t])) });
  }
}

const rows = [];
for (let r = 0; r < rounds; r++) {
  const row = {};
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[(i + r) % pairs.length], v = await p.run();
    row[p.name] = { median: med(v[1]) / med(v[N]), fastest: Math.min(...v[1]) / Math.min(...v[N]), ms1: 1000 * med(v[1]), msN: 1000 * med(v[N]) };
  }
  row.load = os.loadavg()[0];
  row.stolen = intraOpStats.stolen / Math.max(1, intraOpStats.bands);
  rows.push(row);
  console.log(`round ${r + 1} (load ${row.load.toFixed(1)}): ` + pairs.map((p) => `${p.name} ${row[p.name].median.toFixed(2)}× (${row[p.name].ms1.toFixed(2)} → ${row[p.name].msN.toFixed(2)} ms, fastest ${row[p.name].fastest.toFixed(2)}×)`).join(', ') + `; stolen bands so far ${(100 * row.stolen).toFixed(0)}%`);
}
cap.close();

const f = (x) => +x.toFixed(2);
const summary = {
  date: new Date().toISOString(), cpu, cores: os.cpus().length, node: process.version, build: qs[1].build, threads: N, rounds, calls,
  // the process's nice value and its autogroup's (CFS shares CPU between autogroups first; bench runs at -15 took the cores from other sessions)
  nice: os.getPriority(), autogroup: (() => { try { return readFileSync('/proc/self/autogroup', 'utf8').trim(); } catch { return null; } })(), spinUs: intraOpTuning.spinUs,
  loadavg1m: { before: f(load0), after: f(os.loadavg()[0]), rounds: rows.map((r) => f(r.load)) },
  plans,
  // bands a thread ran for a late or descheduled owner (src/deploy/intra-op.ts BandWalker), over all banded images
  stolenBands: { fraction: f(intraOpStats.stolen / Math.max(1, intraOpStats.bands)), images: intraOpStats.images },
  [`${N} vs 1 thread`]: Object.fromEntries(pairs.map((p) => [p.name, {
    what: p.what, median: f(med(rows.map((r) => r[p.name].median))), fastest: f(med(rows.map((r) => r[p.name].fastest))),
    ms1: f(med(rows.map((r) => r[p.name].ms1))), [`ms${N}`]: f(med(rows.map((r) => r[p.name].msN))), perRound: rows.map((r) => f(r[p.name].median)),
  }])),
};
console.log(JSON.stringify(summary, null, 1));
if (!a['no-write']) writeFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'intra-op-results.json'), JSON.stringify(summary, null, 2) + '\n');
process.exit(0);
