// Packed int8 GEMM on 1 and N threads against onnxruntime-web QLinearMatMul on a pool of 1 and of N, in one process,
// interleaved (issue 15: "≥ 1.3× ORT u8s8 on 256³–1024³, and with N threads each").
//   node bench/gemm-threads.js [--threads N] [--rounds R] [--time S] [--no-write]      (npm run bench:gemm-threads)
// Ours: an int8 graph holding ONE linear node K→N (int8 weights with a scale per output channel, int32 bias,
// input scale calibrated on the input's range, output scale on the float outputs of the first rows), run by
// Int8Runner.predictCodes on a batch of M samples of int8 codes — i.e. an M×K×N int8 GEMM with requantisation to
// int8. On N threads the runner splits the batch by rows over its pool (batch-parallel inference, docs/THREADS.md).
// Peer: ORT QLinearMatMul (bench/onnx-model.js: u8 activations × s8 weights, per-tensor scale, no bias, requantised
// to u8) in its own module instance per pool size (bench/ort-pool.js), session intraOpNumThreads = pool size.
// Both are timed per call from the JS side: input copied into WASM, GEMM, requantisation, output copied out;
// neither quantises floats (ours takes codes, ORT takes u8). Each round times every contestant for --time seconds
// (order rotated per round, after one untimed warm-up round); per round the median call; ratios are medians over
// rounds of same-round ratios.
// GOPS = 2·M·K·N / median time. Writes bench/gemm-threads-results.json.
import os from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { init, Int8Runner, quantizeInput } from '../dist/index.js';
import { qlinearMatMulModel } from './onnx-model.js';
import { ortWithPool } from './ort-pool.js';

const { values: a } = parseArgs({ options: {
  threads: { type: 'string', default: String(os.availableParallelism?.() ?? os.cpus().length) },
  rounds: { type: 'string', default: '7' }, time: { type: 'string', default: '0.3' },
  'no-write': { type: 'boolean', default: false },
} });
const N = +a.threads, ROUNDS = +a.rounds, TIME = +a.time;
if (!(Number.isInteger(N) && N >= 2)) throw new Error(`--threads must be an integer ≥ 2 (the comparison is 1 vs N), got ${a.threads}`);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds must be a positive integer, got ${a.rounds}`);
if (!(TIME > 0)) throw new Error(`--time must be a positive number of seconds, got ${a.time}`);

const here = path.dirname(fileURLToPath(import.meta.url));
const SHAPES = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [64, 576, 128]];
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
const load0 = os.loadavg()[0];
const f32 = Math.fround;
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;

/** The one-linear int8 graph of a K→N layer with weights w (K×N) for inputs in [-1, 1]; x: M×K floats. */
function linearGraph(k, n, w, x) {
  const input = { scale: f32(1 / 127), zeroPoint: 0 };
  const wScale = Float32Array.from({ length: n }, () => f32(0.005 + 0.01 * rnd()));
  const bias = Int32Array.from({ length: n }, () => Math.round((rnd() - 0.5) * 2000));
  // output scale calibrated on the float outputs of the first rows (max |y| → 127)
  const codes = quantizeInput(x.subarray(0, 8 * k), input);
  let maxAbs = 0;
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias[j];
      for (let kk = 0; kk < k; kk++) acc += codes[i * k + kk] * w[kk * n + j];
      maxAbs = Math.max(maxAbs, Math.abs(acc * input.scale * wScale[j]));
    }
  }
  const out = { scale: f32(maxAbs / 127), zeroPoint: 0 };
  const mult = Float32Array.from(wScale, (s) => f32((input.scale * s) / out.scale));
  return {
    input, inputShape: [1, 1, k], output: out, classes: n, meta: { source: 'bench/gemm-threads.js' },
    nodes: [{ kind: 'linear', name: 'fc', out, w, k, n, inZp: 0, bias, wScale, rq: { mult, outZp: 0, qmin: -128, qmax: 127 }, sparse: null }],
  };
}

const qs = { 1: await init({ threads: 1 }), [N]: await init({ threads: N }) };
const T = [1, N];
const median = (v) => { const s = v.slice().sort((p, q) => p - q); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };

/** Times calls of fn (sync or async) for at least TIME seconds and 3 calls; the median call in seconds. */
async function timed(fn) {
  const t = [], t0 = performance.now();
  while (t.length < 3 || performance.now() - t0 < TIME * 1e3) {
    const s = performance.now();
    const r = fn();
    if (r && typeof r.then === 'function') await r;
    t.push((performance.now() - s) / 1e3);
  }
  return median(t);
}

const rows = [];
for (const [m, k, n] of SHAPES) {
  const label = `${m}×${k}×${n}`, ops = 2 * m * k * n;
  const w = Int8Array.from({ length: k * n }, () => Math.floor(rnd() * 255) - 127);
  const x = Float32Array.from({ length: m * k }, () => rnd() * 2 - 1);
  const graph = linearGraph(k, n, w, x);
  const codes = quantizeInput(x, graph.input);
  const ours = Object.fromEntries(T.map((t) => [t, Int8Runner.fromGraph(qs[t].rt, graph)]));
  const y1 = ours[1].predictCodes(codes, m), yN = ours[N].predictCodes(codes, m);
  if (y1.some((v, i) => v !== yN[i])) throw new Error(`${label}: int8 outputs differ between 1 and ${N} threads`);
  const clamped = y1.reduce((c, v) => c + (v === -128 || v === 127), 0) / y1.length;
  if (clamped > 0.05) throw new Error(`${label}: ${(clamped * 100).toFixed(1)} % of outputs clamped (output scale mis-calibrated)`);
  // ORT: the same integer problem — u8 = code + 128 with zero point 128, the same weights
  const a8 = Uint8Array.from(codes, (c) => c + 128), bytes = qlinearMatMulModel(m, k, n, w);
  const ort = {};
  for (const t of T) {
    const o = await ortWithPool(t);
    const session = await o.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: t });
    const feeds = { a: new o.Tensor('uint8', a8, [m, k]) };
    await session.run(feeds);
    ort[t] = { session, feeds };
  }
  const cs = T.flatMap((t) => [
    { key: `ours${t}`, fn: () => ours[t].predictCodes(codes, m) },
    { key: `ort${t}`, fn: () => ort[t].session.run(ort[t].feeds) },
  ]);
  const per = [];
  for (let r = -1; r < ROUNDS; r++) {   // round −1 warms up (JIT tiers in the workers, ORT's pool) and is dropped
    const sec = {};
    for (let j = 0; j < cs.length; j++) { const c = cs[(j + r + cs.length) % cs.length]; sec[c.key] = await timed(c.fn); }
    if (r >= 0) per.push(sec);
  }
  const med = (key) => median(per.map((s) => s[key]));
  const ratio = (num, den) => +median(per.map((s) => s[num] / s[den])).toFixed(2);
  const gops = (key) => +(ops / med(key) / 1e9).toFixed(1);
  const row = {
    shape: label, gops: Object.fromEntries(cs.map((c) => [c.key, gops(c.key)])),
    [`ours vs ORT, 1 thread each`]: ratio('ort1', 'ours1'), [`ours vs ORT, ${N} threads each`]: ratio(`ort${N}`, `ours${N}`),
    [`ours ${N} vs 1 thread`]: ratio('ours1', `ours${N}`), [`ORT ${N} vs 1 thread`]: ratio('ort1', `ort${N}`),
    clampedOutputs: +clamped.toFixed(4),
  };
  rows.push(row);
  console.log(`${label.padEnd(14)} GOPS ours ${row.gops.ours1} / ${row.gops[`ours${N}`]} (1 / ${N} thr), ORT ${row.gops.ort1} / ${row.gops[`ort${N}`]};` +
    ` ours÷ORT ${row['ours vs ORT, 1 thread each']}× (1 thr), ${row[`ours vs ORT, ${N} threads each`]}× (${N} thr); scaling ours ${row[`ours ${N} vs 1 thread`]}×, ORT ${row[`ORT ${N} vs 1 thread`]}×`);
  for (const t of T) { ours[t].dispose(); await ort[t].session.release(); }
}

const summary = {
  date: new Date().toISOString(), cpu, cores: os.cpus().length, node: process.version, build: qs[1].build, threads: N, rounds: ROUNDS, secondsPerMeasurement: TIME,
  loadavg1m: { before: +load0.toFixed(2), after: +os.loadavg()[0].toFixed(2) },
  ort: JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web'))), '..', 'package.json'), 'utf8')).version,
  rows,
};
console.log(`\n${summary.date}  ${cpu}  load ${summary.loadavg1m.before} → ${summary.loadavg1m.after}  build ${summary.build}  ORT ${summary.ort}`);
if (!a['no-write']) writeFileSync(path.join(here, 'gemm-threads-results.json'), JSON.stringify(summary, null, 2) + '\n');
process.exit(0);
