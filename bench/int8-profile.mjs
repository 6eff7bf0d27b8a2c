// Where the batch-1 time of the pipeline's int8 student goes, against the float teacher it is compared with.
//   node bench/int8-profile.mjs [student.qwm] [--rounds N] [--runs N] [--predicts N (1000)]
// With a .qwm (e.g. a `qwasm pipeline --out DIR` student) that model is profiled; without one the shipped
// mobilenet16 gets a 20-class head and a calibrated fake-quant pass, converted like the pipeline does (convs on
// the dense conv kernel), which has the same layers and shapes (the weights do not change the time).
// Prints: teacher / student median ms (interleaved rounds, like src/pipeline/measure.ts) and their ratio,
// then each kernel call's median time inside predict() (timed in place over 1000 predicts; the timer adds ~0.1 µs
// a call) and the rest of predict (JS dispatch, allocation, copies, dequantisation).
// Before/after comparisons on a shared machine: run this with the old and the new dist/ alternately and compare
// the teacher / student ratios (each run interleaves its own teacher and student rounds).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  init, Engine, loadModelCheckpoint, replaceHead, prepareQAT, convertToInt8, floatLatencyMs, decodeQwm, Int8Runner,
  PackedGemmS8, SparseMatrixS8,
} from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const rounds = opt('--rounds', 7), runs = opt('--runs', 40);
const qwmFile = args.find((a) => a.endsWith('.qwm'));

const q = await init({ build: process.env.QWASM_BUILD ?? 'auto', ...(process.env.QWASM_THREADS ? { threads: Number(process.env.QWASM_THREADS) } : {}) });
const engine = new Engine(q.rt);
const models = path.join(here, '..', 'models');
const teacher = loadModelCheckpoint(engine, path.join(models, 'quickdraw325-resnet16.qck')).model;
replaceHead(teacher, 20, { seed: 1 });

let int8;
if (qwmFile) {
  int8 = Int8Runner.fromGraph(q.rt, decodeQwm(fs.readFileSync(qwmFile)));
} else {
  const student = loadModelCheckpoint(engine, path.join(models, 'quickdraw325-mobilenet16.qck')).model;
  replaceHead(student, 20, { seed: 1 });
  const qat = prepareQAT(student);
  let s = 7;
  const x = new Float32Array(32 * 28 * 28);
  for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 4294967296) * 2 - 1; }
  qat.train();
  for (let i = 0; i < 3; i++) { engine.noGrad(() => qat.forward(engine.persistent([32, 28, 28, 1], x))); engine.endStep(); }
  qat.eval();
  int8 = convertToInt8(qat, undefined, { inputShape: [28, 28, 1], backend: (info) => (info.kind === 'conv' ? 'dense' : undefined) });
}
console.log(`build ${q.build}; student ${qwmFile ?? 'mobilenet16 (calibrated fake-quant of the shipped net)'}`);
console.log(int8.layers().map((l) => `${l.name}:${l.kind}/${l.backend ?? '-'}`).join('  '));

// interleaved teacher / student medians, like measureLatencies
const probes = [() => floatLatencyMs(teacher, [28, 28, 1], runs), () => int8.latencyMs(1, runs)];
const times = [[], []];
for (let r = 0; r < rounds; r++) for (let j = 0; j < 2; j++) { const i = (j + r) % 2; times[i].push(probes[i]()); }
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const [tT, tS] = times.map(med);
console.log(`teacher f32 ${tT.toFixed(4)} ms  student int8 ${tS.toFixed(4)} ms  ratio ${(tT / tS).toFixed(3)}×`);

// per-kernel-call time: wrap every kernel entry point the runner uses, run predict many times; report the
// median per call (robust to the other jobs on a shared machine). A call's label is built on its first round
// only (the calls of a predict come in the same order every time), so the wrappers add two timer reads and a
// push per call; "rest" is the median predict WITHOUT the wrappers (rounds interleaved with the wrapped ones)
// minus the kernels' sum, and the wrappers' own cost is printed beside it. A sum of medians is not the median of
// sums (each kernel's times have a tail): "rest inside each predict" is the median over the wrapped predicts of
// (that predict's time − its kernel calls' times), which includes the wrappers' two timer reads per call.
const acc = [];
let callNo = 0, label = true, inKernels = 0;
const wrap = (obj, name, labelOf) => {
  const f = obj[name];
  obj[name] = function (...a) {
    const t = performance.now();
    const r = f.apply(this, a);
    const dt = performance.now() - t;
    inKernels += dt;
    const i = callNo++;
    if (label && !acc[i]) acc[i] = { key: `${String(i).padStart(2, '0')} ${labelOf(this, a)}`, t: [] };
    if (!label) acc[i].t.push(dt);
    return r;
  };
};
const ex = int8.rt.exports;
const wex = Object.create(null);
for (const k of Object.keys(ex)) wex[k] = ex[k];
const wrapAll = () => {
  wrap(PackedGemmS8.prototype, 'runInt8', (self, a) => `gemm m${a[1]} ${self.k}->${self.n}`);
  wrap(SparseMatrixS8.prototype, 'runInt8', (self, a) => `sparse m${a[1]} ${self.k}->${self.n}`);
  for (const k of ['maxpool2d_s8', 'avgpool2d_s8', 'global_avgpool_s8', 'add_s8', 'concat_s8', 'lut_s8', 'quantize_f32']) if (wex[k]) wrap(wex, k, () => k);
  // convs are timed at the export (PackedConv2dS8.run and the runner's direct call both go through rt.exports;
  // args: desc, packed, x, y; desc is assembly/conv_desc.ts's: n h w c oc kh kw sh sw … groups at 15)
  wrap(wex, 'conv2d_s8', (self, a) => {
    const d = int8.rt.i32(a[0], 16);
    return `conv ${d[5]}x${d[6]} ${d[3]}->${d[4]} g${d[15]} in ${d[1]}x${d[2]} s${d[7]}`;
  });
};
const plain = { gemm: PackedGemmS8.prototype.runInt8, sparse: SparseMatrixS8.prototype.runInt8 };
wrapAll();
const wrapped = { gemm: PackedGemmS8.prototype.runInt8, sparse: SparseMatrixS8.prototype.runInt8 };
// switch between the plain and the wrapped kernels (the same objects: the runner may hold on to them)
const use = (on) => {
  PackedGemmS8.prototype.runInt8 = on ? wrapped.gemm : plain.gemm;
  SparseMatrixS8.prototype.runInt8 = on ? wrapped.sparse : plain.sparse;
  Object.defineProperty(int8.rt, 'exports', { value: on ? wex : ex, configurable: true });
};
const N = opt('--predicts', 1000), B = Math.max(1, Math.min(50, N >> 2));
const x = new Float32Array(int8.inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
use(true);
callNo = 0; int8.predict(x, 1);
label = false;
for (const on of [true, false]) { use(on); for (let i = 0; i < 50; i++) { callNo = 0; int8.predict(x, 1); } }
for (const e of acc) e.t.length = 0;
const tot = [], totWrapped = [], restEach = [];
for (let b = 0; b < N / B; b++) {
  for (const on of [b % 2 === 0, b % 2 !== 0]) {
    use(on);
    for (let i = 0; i < B; i++) {
      callNo = 0; inKernels = 0;
      const t = performance.now();
      int8.predict(x, 1);
      const dt = performance.now() - t;
      (on ? totWrapped : tot).push(dt);
      if (on) restEach.push(dt - inKernels);
    }
  }
}
use(false);
// the runner's JS alone: every kernel a no-op (allocation, views, copies and dispatch stay real)
const noop = () => {}, nex = Object.create(null);
for (const k of Object.keys(ex)) nex[k] = typeof ex[k] === 'function' && !k.startsWith('qw_') ? noop : ex[k];
PackedGemmS8.prototype.runInt8 = noop; SparseMatrixS8.prototype.runInt8 = noop;
Object.defineProperty(int8.rt, 'exports', { value: nex, configurable: true });
const jsAlone = [];
for (let i = 0; i < 200 + 5 * N; i++) { const t = performance.now(); int8.predict(x, 1); if (i >= 200) jsAlone.push(performance.now() - t); }
use(false);
const total = med(tot);
let sum = 0;
console.log(`\nper call (µs, median of ${N} predicts; timer overhead included):`);
for (const e of acc) { const m = med(e.t); sum += m; console.log(`  ${e.key.padEnd(44)} ${(1000 * m).toFixed(2).padStart(8)}`); }
console.log(`  ${'kernels total'.padEnd(44)} ${(1000 * sum).toFixed(2).padStart(8)}`);
console.log(`  ${'predict (median, unwrapped)'.padEnd(44)} ${(1000 * total).toFixed(2).padStart(8)}`);
console.log(`  ${'rest (JS, quantise, alloc, copies)'.padEnd(44)} ${(1000 * (total - sum)).toFixed(2).padStart(8)}`);
console.log(`  ${'(predict with the timing wrappers)'.padEnd(44)} ${(1000 * med(totWrapped)).toFixed(2).padStart(8)}`);
console.log(`  ${'rest inside each predict (median)'.padEnd(44)} ${(1000 * med(restEach)).toFixed(2).padStart(8)}`);
console.log(`  ${'JS alone (every kernel a no-op; median)'.padEnd(44)} ${(1000 * med(jsAlone)).toFixed(2).padStart(8)}`);
