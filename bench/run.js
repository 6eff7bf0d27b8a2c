// qwasm benchmarks (npm run bench): our kernels against peers, single thread, in the same process, interleaved.
//   node bench/run.js [--quick] [--kernel a,b] [--build a,b] [--rounds N] [--time S] [--no-write]
// Peers: onnxruntime-web (plain SIMD wasm build, 1 thread) QLinearMatMul / MatMulInteger / QLinearConv on
// models built in JS (bench/onnx-model.js, weights as initializers so ORT prepacks them), and
// @tensorflow/tfjs-backend-wasm (XNNPACK, 1 thread) f32 matMul. Ours: pointer-level calls on persistent
// handles (weights packed outside the timing, like ORT's prepacked initializers; gemm_f32_unpacked packs per call).
// Every shape builds all its contestants, then runs `rounds` rounds; each round measures every contestant once
// (benchmark.js, order rotated per round). GOPS = 2·MACs/s of the dense problem (median over rounds, and best);
// ratio to a peer = median over rounds of peerTime / ourTime, both measured in the same round (> 1: faster).
// Writes bench/results.json and the docs/BENCHMARKS.md tables between <!-- bench:start --> and <!-- bench:end -->.
import Benchmark from 'benchmark';
import os from 'node:os';
import path from 'node:path';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { init, detect } from '../dist/index.js';
import { KERNELS } from '../dist/cli/kernels.js';
import { qlinearMatMulModel, matMulIntegerModel, qlinearConvModel } from './onnx-model.js';
import { ortWithPool } from './ort-pool.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const require = createRequire(import.meta.url);

// ------------------------------------------------------------------ flags
const USAGE = `usage: node bench/run.js [--quick] [--kernel a,b] [--build a,b] [--rounds N] [--time SECONDS] [--no-write]
  --quick      fewer shapes (64³, 256³, M=1, conv 32×32), 2 rounds, short timings
  --kernel     our kernels: ${Object.keys(KERNELS).join(', ')} (peers of the same family always run)
  --build      scalar, simd, relaxed (default: every build this engine runs)
  --rounds     interleaved rounds per shape (default 5, quick 2)
  --time       benchmark.js maxTime per measurement in seconds (default 0.4, quick 0.15)
  --threads    N for the peers' multi-threaded rows (ORT intraOpNumThreads; default: every core; 1: none)
  --no-write   print only; leave bench/results.json and docs/BENCHMARKS.md alone
  --readme-only  re-render the docs/BENCHMARKS.md tables from bench/results.json (no measuring)`;

function parseFlags(argv) {
  const o = { quick: false, kernels: null, builds: null, rounds: null, time: null, write: true };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--quick': o.quick = true; break;
      case '--kernel': o.kernels = val().split(','); break;
      case '--build': o.builds = val().split(','); break;
      case '--rounds': o.rounds = Number(val()); break;
      case '--time': o.time = Number(val()); break;
      case '--no-write': o.write = false; break;
      case '--threads': o.threads = Number(val()); break;
      case '--readme-only': o.readmeOnly = true; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: fail(`unknown argument '${argv[i]}'`);
    }
  }
  for (const k of o.kernels ?? []) if (!KERNELS[k]) fail(`unknown kernel '${k}'`);
  for (const b of o.builds ?? []) if (!['scalar', 'simd', 'relaxed'].includes(b)) fail(`unknown build '${b}'`);
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) fail('--rounds must be a positive integer');
  if (o.time !== null && !(o.time > 0)) fail('--time must be a positive number of seconds');
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) fail('--threads must be a positive integer');
  return o;
}
function fail(msg) { console.error(`bench: ${msg}\n${USAGE}`); process.exit(2); }

const opt = parseFlags(process.argv.slice(2));
const ROUNDS = opt.rounds ?? (opt.quick ? 2 : 5);
const MAX_TIME = opt.time ?? (opt.quick ? 0.15 : 0.4);
const THREADS = opt.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
Benchmark.support.decompilation = false; // call our closures as they are (no source re-compilation)

// ------------------------------------------------------------------ shapes
const GEMM_SHAPES = opt.quick
  ? [[64, 64, 64], [256, 256, 256], [1, 1024, 1024]]
  : [[64, 64, 64], [256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [1, 1024, 1024], [64, 576, 128]];
const CONV_SHAPES = opt.quick ? [[1, 32, 32, 64, 64, 3, 3]] : [[1, 32, 32, 64, 64, 3, 3], [1, 56, 56, 64, 64, 3, 3]];
const GEMM_KERNELS = ['gemm_s8', 'gemm_s8_requant', 'gemm_f32', 'gemm_f32_unpacked', 'sparse_s8', 'lowrank_s8', 'lowrank_f32'];
const selected = (k) => !opt.kernels || opt.kernels.includes(k);
// The dense kernel each compressed kernel is compared with (same build, same shape).
const DENSE_OF = { sparse_s8: 'gemm_s8', lowrank_s8: 'gemm_s8_requant', lowrank_f32: 'gemm_f32' };

// ------------------------------------------------------------------ peers
function pkgVersion(mainPath, up) {
  try { return JSON.parse(readFileSync(path.join(path.dirname(mainPath), up, 'package.json'), 'utf8')).version; } catch { return '?'; }
}

let ortVersion = null;
async function loadOrt(threads = 1) {
  ortVersion ??= pkgVersion(require.resolve('onnxruntime-web'), '..');
  return ortWithPool(threads);
}

let tf = null, tfVersion = null;
async function loadTf() {
  if (tf) return tf;
  tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  let dir = path.dirname(main);
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  tfVersion = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return tf;
}

const u8 = (n, seed) => { let s = seed; return Uint8Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24); };
const s8w = (n, seed) => { let s = seed; return Int8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) % 255 - 127); };

async function ortContestant(name, bytes, inputName, data, dims, ops, threads = 1) {
  const o = await loadOrt(threads);
  const session = await o.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const feeds = { [inputName]: new o.Tensor('uint8', data, dims) };
  await session.run(feeds);
  return {
    name, kind: 'peer', build: `ort ${ortVersion}`, ops, async: true,
    fn: (d) => { session.run(feeds).then(() => d.resolve(), (e) => { console.error(e); d.resolve(); }); },
    dispose: () => session.release(),
  };
}

async function gemmPeers(m, k, n) {
  const out = [];
  const b = s8w(k * n, 7), a = u8(m * k, 3), ops = 2 * m * k * n;
  out.push(await ortContestant('ORT QLinearMatMul', qlinearMatMulModel(m, k, n, b), 'a', a, [m, k], ops));
  out.push(await ortContestant('ORT MatMulInteger', matMulIntegerModel(m, k, n, b), 'a', a, [m, k], ops));
  if (THREADS > 1) out.push(await ortContestant(`ORT MatMulInteger ×${THREADS}`, matMulIntegerModel(m, k, n, b), 'a', a, [m, k], ops, THREADS));
  const t = await loadTf();
  const ta = t.randomUniform([m, k], -1, 1), tb = t.randomUniform([k, n], -1, 1);
  t.matMul(ta, tb).dispose();
  out.push({
    name: 'tfjs matMul f32', kind: 'peer', build: `tfjs-wasm ${tfVersion}`, ops,
    fn: () => { t.matMul(ta, tb).dispose(); },
    dispose: () => { ta.dispose(); tb.dispose(); },
  });
  return out;
}

async function convPeers([n, h, w, c, oc, kh, kw]) {
  const pad = (kh - 1) >> 1, ops = 2 * n * h * w * oc * kh * kw * c;
  const bytes = qlinearConvModel({ n, c, h, w, oc, kh, kw, pad }, s8w(oc * c * kh * kw, 11));
  const out = [await ortContestant('ORT QLinearConv', bytes, 'x', u8(n * c * h * w, 5), [n, c, h, w], ops)];
  if (THREADS > 1) out.push(await ortContestant(`ORT QLinearConv ×${THREADS}`, bytes, 'x', u8(n * c * h * w, 5), [n, c, h, w], ops, THREADS));
  return out;
}

// ------------------------------------------------------------------ ours
function ours(qs, kernels, shape, notes) {
  const out = [];
  for (const kernel of kernels) {
    for (const q of qs) {
      const c = KERNELS[kernel].make(q, shape);
      if (!c) { notes.add(`${kernel}: not available in this tree (skipped)`); continue; }
      out.push({ name: kernel, kind: 'ours', build: q.build, ops: c.ops, fn: () => c.run(), dispose: () => c.dispose() });
    }
  }
  return out;
}

// ------------------------------------------------------------------ measuring
function measure(ct) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(ct.name, {
      fn: ct.fn, defer: !!ct.async, maxTime: MAX_TIME, minSamples: 2, initCount: 1,
      onComplete() {
        if (this.error) reject(this.error);
        const s = this.stats.sample.slice().sort((x, y) => x - y);
        resolve({ fast: s[0], med: s[s.length >> 1] });
      },
      onError(e) { reject(e.target?.error ?? e); },
    });
    bench.run({ async: !!ct.async });
  });
}

const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function runGroup(group, shapeLabel, contestants) {
  const times = contestants.map(() => ({ fast: [], med: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < contestants.length; j++) {
      const i = (j + r) % contestants.length;
      const t = await measure(contestants[i]);
      times[i].fast.push(t.fast); times[i].med.push(t.med);
    }
  }
  const peers = contestants.map((c, i) => ({ c, i })).filter((x) => x.c.kind === 'peer');
  const rows = [];
  contestants.forEach((c, i) => {
    const med = median(times[i].med), best = Math.min(...times[i].fast);
    const row = {
      group, kernel: c.name, kind: c.kind, build: c.build, shape: shapeLabel,
      gops: +(c.ops / med / 1e9).toFixed(3), gopsBest: +(c.ops / best / 1e9).toFixed(3), msPerCall: +(med * 1e3).toFixed(4),
    };
    if (c.kind === 'ours') {
      row.ratios = {};
      for (const p of peers) row.ratios[p.c.name] = +median(times[i].med.map((t, r) => times[p.i].med[r] / t)).toFixed(3);
      const dense = DENSE_OF[c.name];
      const d = dense && contestants.findIndex((x) => x.name === dense && x.build === c.build);
      if (dense && d >= 0) row.ratios[`qwasm ${dense}`] = +median(times[i].med.map((t, r) => times[d].med[r] / t)).toFixed(3);
    }
    rows.push(row);
    const ratios = row.ratios ? Object.entries(row.ratios).map(([k, v]) => `${v.toFixed(2)}× ${k}`).join(', ') : '';
    console.log(`${group.padEnd(5)} ${shapeLabel.padEnd(18)} ${c.name.padEnd(18)} ${c.build.padEnd(16)} ${row.gops.toFixed(2).padStart(8)} GOPS (best ${row.gopsBest.toFixed(2)})  ${ratios}`);
  });
  return rows;
}

// ------------------------------------------------------------------ main
if (opt.readmeOnly) {
  writeReadme(JSON.parse(readFileSync(path.join(here, 'results.json'), 'utf8')));
  console.log('rewrote the docs/BENCHMARKS.md tables from bench/results.json');
  process.exit(0);
}
const loadBefore = os.loadavg();
const support = await detect();
const buildNames = (opt.builds ?? ['scalar', 'simd', 'relaxed']).filter((b) =>
  b === 'scalar' || (b === 'simd' && support.simd) || (b === 'relaxed' && support.relaxed));
const notes = new Set();
if (THREADS > 1) notes.add(`peers also run with ${THREADS} threads (ORT intraOpNumThreads, rows "×${THREADS}"); tfjs-backend-wasm 4.22 has no threads in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node, tfjs issue 3830; forcing it fails with ERR_WORKER_PATH on its blob: worker URL), so its rows stay 1 thread; our kernel calls are single-threaded (our threads split batches and training steps: bench/threads.js; a GEMM as a batch split over 2 threads vs ORT QLinearMatMul on a pool of 2: bench/gemm-threads.js)`);
if (!support.relaxed && (!opt.builds || opt.builds.includes('relaxed'))) notes.add('relaxed build not measured: this Node does not pass the relaxed-SIMD probe (it runs in Chromium)');
const qs = [];
for (const b of buildNames) qs.push(await init({ build: b }));

const results = [];
const gemmKernels = GEMM_KERNELS.filter(selected);
if (gemmKernels.length) {
  for (const [m, k, n] of GEMM_SHAPES) {
    const label = `${m}x${k}x${n}`;
    const cs = [...(await gemmPeers(m, k, n)), ...ours(qs, gemmKernels, label, notes)];
    try { results.push(...(await runGroup('gemm', label, cs))); } finally { for (const c of cs) c.dispose(); }
  }
}
if (selected('conv_s8')) {
  for (const s of CONV_SHAPES) {
    const [n, h, w, c, oc, kh, kw] = s;
    const label = `${n}x${h}x${w}x${c}:${oc}x${kh}x${kw}`;
    const cs = [...(await convPeers(s)), ...ours(qs, ['conv_s8'], label, notes)];
    try { results.push(...(await runGroup('conv', label, cs))); } finally { for (const x of cs) x.dispose(); }
  }
}

const cpu = (() => {
  try { return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model; } catch { return os.cpus()[0]?.model ?? '?'; }
})();
const report = {
  date: new Date().toISOString(),
  machine: { cpu, cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}`,
    loadavg1m: { before: +loadBefore[0].toFixed(2), after: +os.loadavg()[0].toFixed(2) } },
  node: process.version,
  peers: { 'onnxruntime-web': ortVersion, '@tensorflow/tfjs-backend-wasm': tfVersion },
  settings: { rounds: ROUNDS, maxTime: MAX_TIME, quick: opt.quick, threads: 1, peerThreads: THREADS },
  notes: [...notes],
  results,
};
console.log(`\n${report.date}  ${cpu}  Node ${process.version}  rounds ${ROUNDS}`);
for (const n of notes) console.log(`note: ${n}`);

if (opt.write) {
  const resultsPath = path.join(here, 'results.json');
  let merged = report;
  if ((opt.kernels || opt.builds) && existsSync(resultsPath)) {
    // a subset run updates its own rows and keeps the others
    try {
      const old = JSON.parse(readFileSync(resultsPath, 'utf8'));
      const key = (r) => `${r.group}|${r.kernel}|${r.build}|${r.shape}`;
      const fresh = new Set(results.map(key));
      merged = { ...report, results: [...old.results.filter((r) => !fresh.has(key(r))), ...results] };
    } catch { /* unreadable: replace */ }
  }
  writeFileSync(resultsPath, JSON.stringify(merged, null, 2) + '\n');
  writeReadme(merged);
  console.log('wrote bench/results.json and the docs/BENCHMARKS.md tables');
}

function table(rows, peerNames, extra) {
  const head = ['shape', 'kernel', 'build', 'GOPS', 'best', ...peerNames.map((p) => `× ${p}`), ...(extra ? ['× qwasm dense'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.shape, r.kind === 'peer' ? `*${r.kernel}*` : r.kernel, r.build, r.gops.toFixed(2), r.gopsBest.toFixed(2)];
    for (const p of peerNames) cells.push(r.ratios?.[p] !== undefined ? r.ratios[p].toFixed(2) : '');
    if (extra) {
      const d = r.ratios && Object.keys(r.ratios).find((k) => k.startsWith('qwasm '));
      cells.push(d ? r.ratios[d].toFixed(2) : '');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function writeReadme(rep) {
  const readme = path.join(root, 'docs', 'BENCHMARKS.md');
  const START = '<!-- bench:start -->', END = '<!-- bench:end -->';
  let text = existsSync(readme) ? readFileSync(readme, 'utf8') : `${START}\n${END}\n`;
  if (!text.includes(START) || !text.includes(END)) text = `${text.replace(/\s*$/, '\n')}\n${START}\n${END}\n`;
  const order = (r) => (r.kind === 'peer' ? 0 : 1);
  const kOrder = (r) => { const i = Object.keys(KERNELS).indexOf(r.kernel); return i < 0 ? 99 : i; };
  const bOrder = (r) => ['scalar', 'simd', 'relaxed'].indexOf(r.build);
  const sortRows = (rows, shapes) => rows.slice().sort((a, b) => shapes.indexOf(a.shape) - shapes.indexOf(b.shape) ||
    order(a) - order(b) || (a.kind === 'ours' ? kOrder(a) - kOrder(b) || bOrder(a) - bOrder(b) : 0));
  const gemm = rep.results.filter((r) => r.group === 'gemm'), conv = rep.results.filter((r) => r.group === 'conv');
  const shapesOf = (rows) => [...new Set(rows.map((r) => r.shape))];
  const parts = [
    `Single thread, ${rep.machine.cpu} (${rep.machine.cores} cores, shared; 1-min load ${rep.machine.loadavg1m?.before ?? '?'} → ${rep.machine.loadavg1m?.after ?? '?'}), Node ${rep.node}, ${rep.date.slice(0, 10)}. ` +
    `Peers: onnxruntime-web ${rep.peers['onnxruntime-web'] ?? '–'} (plain SIMD wasm, 1 thread; rows marked ×N: N threads), ` +
    `@tensorflow/tfjs-backend-wasm ${rep.peers['@tensorflow/tfjs-backend-wasm'] ?? '–'} (XNNPACK, 1 thread). ` +
    `GOPS = 2·MACs/s of the dense problem, median over ${rep.settings.rounds} interleaved rounds (best also shown); ` +
    `"× peer" = median of peer time ÷ our time measured in the same round (> 1: we are faster). ` +
    `Our calls are pointer-level on packed weights (packing outside the timing, like ORT's prepacked initializers); ` +
    `ORT's time includes session.run overhead and input/output copies; tfjs caches its XNNPACK operator (packed B) per weight tensor; ` +
    `gemm_f32_unpacked packs B inside every call. ` +
    `Sparse: 90 % unstructured (csr); low-rank: r = N/8; their GOPS are dense-equivalent. ` +
    `Regenerate with \`npm run bench\` (raw numbers: bench/results.json).`,
  ];
  if (gemm.length) {
    parts.push('\n**GEMM** (M×K×N; int8 peers take u8 activations × s8 weights)\n');
    const nt = rep.settings.peerThreads > 1 ? [`ORT MatMulInteger ×${rep.settings.peerThreads}`] : [];
    parts.push(table(sortRows(gemm, shapesOf(gemm)), ['ORT QLinearMatMul', 'ORT MatMulInteger', ...nt, 'tfjs matMul f32'], true));
  }
  if (conv.length) {
    parts.push('\n**int8 conv2d** (N×H×W×C : OC×KH×KW, stride 1, pad 1; ORT runs NCHW QLinearConv)\n');
    parts.push(table(sortRows(conv, shapesOf(conv)), ['ORT QLinearConv', ...(rep.settings.peerThreads > 1 ? [`ORT QLinearConv ×${rep.settings.peerThreads}`] : [])], false));
  }
  if (rep.notes.length) parts.push('\n' + rep.notes.map((n) => `- ${n}`).join('\n'));
  const body = parts.join('\n');
  const a = text.indexOf(START) + START.length, b = text.indexOf(END);
  writeFileSync(readme, `${text.slice(0, a)}\n${body}\n${text.slice(b)}`);
}

process.exit(0);
