// The real MobileNetV2 (nsfwjs' Keras MobileNetV2-1.0, whole network + nsfwjs head) on qwasm's int8 runtime vs its
// peers, batch 1, one thread each, in one process, interleaved rounds (order rotated), median of rounds:
//   1. int8 MobileNetV2 at 96 / 128 / 224 px: qwasm (Int8Model on the simd build, and the pure-WASM runner
//      qwm_run_f32) vs onnxruntime-web running qwasm's own QDQ ONNX export of the same int8 model vs
//      tfjs-backend-wasm (XNNPACK, 1 thread) running the original float Keras model (tfjs-layers on the nsfwjs
//      artefacts). The int8 model is static PTQ calibrated on Tux Paint photos (or synthetic images without
//      sharp / the stamps); agreement: int8 vs float top-1 and logit error, ORT vs qwasm top-1, on held-out photos;
//   2. f32 training steps of the whole network at 96 px (qwasm, batch 8, every layer, Adam) for reference;
//   3. depthwise 3×3 alone at MobileNetV2's shapes: int8 (qwasm PackedConv2dS8 groups = C vs ORT-web
//      QLinearConv group = C, the faster of its uint8 / int8 activations) and f32 (qwasm conv2d_f32 vs
//      tfjs-wasm depthwiseConv2d);
//   4. pruning 50 % of the hidden (expand) channels of every inverted residual block: parameters, bytes, int8 speed;
//   5. where the int8 network's time goes: per node kind (1×1 convs = GEMMs, depthwise, the other
//      convs, residual adds, pool + head), median over rounds.
// usage: node bench/mobilenetv2.mjs [--rounds 7] [--sizes 96,128,224] [--photos 100] [--skip net,train,dw,prune,profile] [--write]
//   --write: also writes docs/BENCHMARKS-MOBILENETV2.md (the figures, date, CPU, load average, command).
import os from 'node:os';
import { execSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-web';
import {
  init, Engine, importTfjs, quantizeStatic, convertToInt8, int8GraphToOnnx, createDataset, loadPhotoFolder, Pruner, removePrunedChannels,
} from '../dist/index.js';
import { conv2dF32Forward } from '../dist/kernels/conv_f32.js';
import { readNsfwjs } from '../dist/tfjs/artifacts.js';
import { trainStep } from './train-step.mjs';
import { tfReady, referenceModel } from '../test/tfjs-reference.js';
import { qlinearConvModel } from './onnx-model.js';

const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' }, sizes: { type: 'string', default: '96,128,224' }, photos: { type: 'string', default: '100' },
    skip: { type: 'string', default: '' }, write: { type: 'boolean', default: false }, build: { type: 'string', default: 'simd' },
  },
});
const ROUNDS = Number(o.rounds), SIZES = o.sizes.split(',').map(Number), NPHOTOS = Number(o.photos), skip = new Set(o.skip.split(','));
const STAMPS = '/usr/share/tuxpaint/stamps/animals';
const cpu = (() => { try { return execSync("lscpu | grep 'Model name' | sed 's/.*: *//'").toString().trim(); } catch { return os.cpus()[0]?.model ?? '?'; } })();
const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length & 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const md = [];
const say = (line = '') => { console.log(line); md.push(line); };
const loadBefore = load();
const command = `node bench/mobilenetv2.mjs ${process.argv.slice(2).join(' ')}`.trim();
console.log(`${new Date().toISOString()}  ${cpu}  ${os.cpus().length} cores  Node ${process.version}  load ${loadBefore}`);

/**
 * Interleaved timing: every round runs each contestant for ≥ minMs (order rotated per round) after one warm-up
 * round; returns the median ms per call of each, and per round the time ratio of each to `ref`.
 */
async function race(runs, { rounds = ROUNDS, minMs = 150 } = {}) {
  const names = Object.keys(runs), t = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = -1; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + Math.max(r, 0)) % names.length]);
    for (const n of order) {
      let k = 0;
      const t0 = performance.now();
      do { await runs[n](); k++; } while (performance.now() - t0 < minMs);
      if (r >= 0) t[n].push((performance.now() - t0) / k);
    }
  }
  return { ms: Object.fromEntries(names.map((n) => [n, median(t[n])])), t };
}
/** Median over rounds of peer time / our time (measured in the same round). */
const ratio = (t, ours, peer) => median(t[peer].map((v, i) => v / t[ours][i]));

// ------------------------------------------------------------------ set-up: qwasm, ORT-web, tfjs-wasm, 1 thread
const q = await init({ build: o.build, threads: 1 });
const qr = await init({ build: o.build, threads: 1 }); // a second instance for the pure-WASM runner's loaded model
const engine = new Engine(q.rt);
ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep;
ort.env.wasm.numThreads = 1;
await tfReady(); // selects tfjs' cpu backend once (tfjs-reference.js); then the wasm backend replaces it
setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).pathname);
setThreadsCount(1);
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise');
await tf.ready();
const checkBackend = () => { if (tf.getBackend() !== 'wasm') throw new Error(`tfjs runs on '${tf.getBackend()}', not wasm`); };
say(`# MobileNetV2 int8 benchmarks (generated by bench/mobilenetv2.mjs)`);
say();
say(`${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, **${cpu}** (${os.cpus().length} cores, shared with other jobs), Node ${process.version}, ` +
  `qwasm build \`${q.build}\`, onnxruntime-web ${ort.env.versions?.web ?? '?'} (wasm, 1 thread), tfjs-backend-wasm ${tf.version_core} ` +
  `(${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, 1 thread). Batch 1, one thread each, interleaved rounds ` +
  `(order rotated), median of ${ROUNDS}; ratios = median over rounds of peer time / qwasm time in the same round (> 1: qwasm faster).`);
say();
say(`Command: \`${command}\``);
say();

const art = readNsfwjs('mobilenet_v2');
const havePhotos = existsSync(STAMPS) && await import('sharp').then(() => true, () => false);
const argmax = (v, off, n) => { let b = 0; for (let j = 1; j < n; j++) if (v[off + j] > v[off + b]) b = j; return b; };
function synthetic(n, size) {
  let s = 7;
  const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s / 4294967296; };
  const per = size * size * 3, img = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    const f = [rnd() * 6, rnd() * 6, rnd() * 6];
    for (let p = 0; p < per; p++) { const c = p % 3, x = (p / 3) % size, y = Math.floor(p / 3 / size); img[i * per + p] = Math.max(0, Math.min(255, 128 + 90 * Math.sin(f[c] * x / size) * Math.cos(f[(c + 1) % 3] * y / size) + (rnd() - 0.5) * 40)); }
  }
  return img;
}

// ------------------------------------------------------------------ 1. the whole int8 network
const profiles = [];
if (!skip.has('net')) {
  say('## int8 MobileNetV2 (whole network, batch 1, one thread)');
  say();
  say(`The same int8 model (static PTQ, ${havePhotos ? `calibrated on 32 Tux Paint photos (${STAMPS})` : 'calibrated on synthetic images (no sharp or Tux Paint stamps)'}) ` +
    'run by qwasm and, as qwasm\'s QDQ ONNX export, by onnxruntime-web; tfjs-backend-wasm runs the original float Keras model. ' +
    `Agreement on ${havePhotos ? `${NPHOTOS} held-out photos` : `${NPHOTOS} synthetic images`}.`);
  say();
  say('| px | qwasm int8 (ms) | qwasm pure-WASM runner (ms) | ORT-web QDQ (ms) | tfjs-wasm float (ms) | × ORT-web | × tfjs-wasm | int8 vs float top-1 | max logit err | ORT vs qwasm top-1 | .qwm bytes |');
  say('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const size of SIZES) {
    const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { inputSize: size });
    const ds = havePhotos ? await loadPhotoFolder(STAMPS, { size, norm: r.norm })
      : createDataset({ name: 'synthetic', images: synthetic(32 + NPHOTOS, size), labels: new Uint8Array(32 + NPHOTOS), height: size, width: size, channels: 3, classes: ['x'], norm: r.norm });
    const per = size * size * 3, nCal = 32, nEval = Math.min(NPHOTOS, ds.length - nCal);
    const fq = quantizeStatic(r.model, ds, { batches: 2, batchSize: 16, indices: Int32Array.from({ length: nCal }, (_, i) => i) });
    const i8 = convertToInt8(fq, undefined, { inputShape: r.inputShape });
    const onnx = int8GraphToOnnx(i8.graph), qwm = i8.qwm();
    const session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, executionProviders: ['wasm'] });
    // the pure-WASM runner
    const qp = qr.rt.put(qwm);
    const rc = qr.kernels.qwm_load(qp, qwm.length);
    qr.rt.free(qp);
    if (rc !== 0) throw new Error(`qwm_load returned ${rc}`);
    const xin = qr.rt.alloc(4 * per), yout = qr.rt.alloc(4 * i8.classes);
    // the float Keras model in tfjs-layers (at 96 / 128 px the 7×7 head pool becomes the global pool qwasm imports it as)
    const topo = JSON.parse(JSON.stringify(art.modelTopology));
    topo.model_config.config.layers[0].config.batch_input_shape = [null, size, size, 3];
    if (size !== 224) for (const l of topo.model_config.config.layers) if (l.class_name === 'AveragePooling2D') l.config.pool_size = l.config.strides = [size / 32, size / 32];
    const ref = await referenceModel({ ...art, modelTopology: topo });
    checkBackend();
    // agreement on held-out images
    const C = i8.classes, xe = new Float32Array(nEval * per);
    for (let i = 0; i < nEval * per; i++) { const c = i % 3; xe[i] = (ds.images[nCal * per + i] / 255 - r.norm.mean[c]) / r.norm.std[c]; }
    const ours = i8.predict(xe, nEval);
    const fl = tf.tidy(() => ref.predict(tf.tensor4d(xe, [nEval, size, size, 3])).dataSync().slice());
    const theirs = (await session.run({ input: new ort.Tensor('float32', xe, [nEval, size, size, 3]) })).logits.data;
    let sameF = 0, sameO = 0, err = 0, top = 0;
    for (let i = 0; i < nEval; i++) {
      if (argmax(ours, i * C, C) === argmax(fl, i * C, C)) sameF++;
      if (argmax(ours, i * C, C) === argmax(theirs, i * C, C)) sameO++;
    }
    for (let i = 0; i < ours.length; i++) { err = Math.max(err, Math.abs(ours[i] - fl[i])); top = Math.max(top, Math.abs(fl[i])); }
    // timing, batch 1
    const x1 = xe.subarray(0, per), xt1 = new ort.Tensor('float32', x1, [1, size, size, 3]), xs1 = tf.tensor4d(x1, [1, size, size, 3]);
    qr.rt.f32(xin, per).set(x1);
    const runs = {
      qwasm: () => i8.predict(x1, 1),
      'qwasm-wasm': () => { if (qr.kernels.qwm_run_f32(xin, 1, yout) !== 0) throw new Error('qwm_run_f32 failed'); },
      ort: () => session.run({ input: xt1 }),
      tfjs: () => tf.tidy(() => ref.predict(xs1).dataSync()),
    };
    const { ms, t } = await race(runs, { minMs: size >= 224 ? 300 : 150 });
    const rOrt = ratio(t, 'qwasm', 'ort'), rTf = ratio(t, 'qwasm', 'tfjs');
    say(`| ${size} | ${ms.qwasm.toFixed(2)} | ${ms['qwasm-wasm'].toFixed(2)} | ${ms.ort.toFixed(2)} | ${ms.tfjs.toFixed(2)} | **${rOrt.toFixed(2)}×** | **${rTf.toFixed(2)}×** | ` +
      `${sameF}/${nEval} | ${err.toFixed(3)} (${(100 * err / top).toFixed(1)} % of max) | ${sameO}/${nEval} | ${qwm.length} |`);
    if (!skip.has('profile') && typeof i8.profile === 'function') profiles.push([size, i8.profile(x1, 1, ROUNDS)]);
    xs1.dispose(); ref.dispose?.(); await session.release?.();
    qr.kernels.qwm_unload?.(); qr.rt.free(xin); qr.rt.free(yout);
    i8.dispose(); r.model.dispose();
  }
  say();
}

// ------------------------------------------------------------------ 2. f32 training steps at 96 px
if (!skip.has('train')) {
  const BS = 8;
  const m = importTfjs(engine, 'nsfwjs:mobilenet_v2', { inputSize: 96, classes: 5 });
  const { step, dispose } = trainStep(engine, m.model, { batch: BS, size: 96, classes: 5 });
  const { ms } = await race({ step }, { minMs: 1000 });
  say('## f32 training (qwasm, reference)');
  say();
  say(`Whole MobileNetV2 at 96 px, batch ${BS}, every layer trained (BN in training mode), Adam, one thread: ` +
    `**${(BS / (ms.step / 1000)).toFixed(1)} images/s** (${ms.step.toFixed(0)} ms per step).`);
  say();
  dispose(); m.model.dispose();
}

// ------------------------------------------------------------------ 3. depthwise 3×3 alone
if (!skip.has('dw')) {
  const SHAPES = [[112, 96, 2], [56, 144, 1], [28, 192, 1], [14, 576, 1], [7, 960, 1]];
  say('## Depthwise 3×3 alone (MobileNetV2 shapes, batch 1, one thread)');
  say();
  say('int8: qwasm `PackedConv2dS8` (groups = C, NHWC) vs onnxruntime-web `QLinearConv` group = C (NCHW, the faster of ' +
    'uint8 / int8 activations; per-channel weights). f32: qwasm `conv2d_f32` (groups = C) vs tfjs-wasm `depthwiseConv2d`. ' +
    'Stride 2 uses Keras MobileNetV2\'s padding (bottom / right only), stride 1 pads 1 on every side. ORT-web\'s time is ' +
    'session.run on a one-node model (graph optimisation \'all\'), including whatever layout work it does for the NCHW ' +
    'model; tfjs\' op is timed without reading the result back (dataSync copies cost more than the op here).');
  say();
  say('| input H×W×C, stride | int8 qwasm (µs) | ORT-web (µs) | **× ORT-web** | int8 GMAC/s | f32 qwasm (µs) | tfjs-wasm (µs) | **× tfjs-wasm** |');
  say('|---|---|---|---|---|---|---|---|');
  for (const [hw, c, s] of SHAPES) {
    const pad = s === 2 ? [0, 0, 1, 1] : [1, 1, 1, 1], oh = s === 2 ? hw / 2 : hw;
    const wq = Int8Array.from({ length: c * 9 }, (_, i) => ((i * 37) % 255) - 127);
    const wOnnx = new Int8Array(c * 9); // OIHW [c, 1, 3, 3] = OHWI [c, 3, 3, 1] for one input channel
    wOnnx.set(wq);
    const runs = {};
    const sessions = [];
    for (const act of ['uint8', 'int8']) {
      const sess = await ort.InferenceSession.create(qlinearConvModel({ n: 1, c, h: hw, w: hw, oc: c, kh: 3, kw: 3, pad, stride: s, group: c, act }, wOnnx), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      sessions.push(sess);
      const data = Int8Array.from({ length: c * hw * hw }, (_, i) => ((i * 13) % 256) - 128);
      const xt = new ort.Tensor(act, act === 'uint8' ? new Uint8Array(data.buffer) : data, [1, c, hw, hw]);
      runs[`ort-${act}`] = () => sess.run({ x: xt });
    }
    const p = q.packConv2dS8(wq, [c, 3, 3, 1], { groups: c, stride: s, padding: pad, inZeroPoint: 3, scale: Float32Array.from({ length: c }, (_, i) => 0.001 + 1e-6 * i), outZeroPoint: -2 });
    const ip = q.rt.put(Int8Array.from({ length: hw * hw * c }, (_, i) => ((i * 13) % 256) - 128)), op = q.rt.alloc(oh * oh * c);
    runs.qwasm = () => p.run(ip, 1, hw, hw, op);
    // f32
    const shape = { n: 1, h: hw, w: hw, c, oc: c, kh: 3, kw: 3, stride: s, padding: pad, groups: c };
    const xf = q.rt.alloc(4 * hw * hw * c), wf = q.rt.alloc(4 * 9 * c), yf = q.rt.alloc(4 * oh * oh * c);
    q.rt.f32(xf, hw * hw * c).set(Float32Array.from({ length: hw * hw * c }, (_, i) => ((i * 13) % 256) / 128 - 1));
    q.rt.f32(wf, 9 * c).set(Float32Array.from({ length: 9 * c }, (_, i) => ((i * 37) % 255) / 255 - 0.5));
    runs.qf32 = () => conv2dF32Forward(q.rt, shape, xf, wf, 0, yf);
    const tx = tf.tensor4d(Float32Array.from({ length: hw * hw * c }, (_, i) => ((i * 13) % 256) / 128 - 1), [1, hw, hw, c]);
    const tw = tf.tensor4d(Float32Array.from({ length: 9 * c }, (_, i) => ((i * 37) % 255) / 255 - 0.5), [3, 3, c, 1]);
    const tpad = s === 2 ? [[0, 0], [0, 1], [0, 1], [0, 0]] : 'same';
    runs.tfjs = () => tf.depthwiseConv2d(tx, tw, s, tpad).dispose(); // computed eagerly (wasm backends are synchronous): no dataSync copy timed
    checkBackend();
    const { ms, t } = await race(runs, { minMs: 60 });
    const bestOrt = ms['ort-uint8'] <= ms['ort-int8'] ? 'ort-uint8' : 'ort-int8';
    const macs = oh * oh * c * 9;
    say(`| ${hw}×${hw}×${c}, s${s} | ${(1000 * ms.qwasm).toFixed(1)} | ${(1000 * ms[bestOrt]).toFixed(1)} (${bestOrt.slice(4)}) | **${ratio(t, 'qwasm', bestOrt).toFixed(2)}×** | ` +
      `${(macs / ms.qwasm / 1e6).toFixed(1)} | ${(1000 * ms.qf32).toFixed(1)} | ${(1000 * ms.tfjs).toFixed(1)} | **${ratio(t, 'qf32', 'tfjs').toFixed(2)}×** |`);
    p.dispose(); for (const b of [ip, op, xf, wf, yf]) q.rt.free(b); tx.dispose(); tw.dispose();
    for (const sess of sessions) await sess.release?.();
  }
  say();
}

// ------------------------------------------------------------------ 4. hidden-channel pruning, made real
if (!skip.has('prune')) {
  const size = 224, per = size * size * 3;
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { inputSize: size });
  const expand = Object.entries(r.layerNames).filter(([k]) => /^block_\d+_expand$/.test(k)).map(([, v]) => v);
  const ds = createDataset({ name: 'synthetic', images: synthetic(16, size), labels: new Uint8Array(16), height: size, width: size, channels: 3, classes: ['x'], norm: r.norm });
  const int8 = (m) => convertToInt8(quantizeStatic(m, ds, { batches: 1, batchSize: 16 }), undefined, { inputShape: r.inputShape });
  const params = (m) => m.parameters().reduce((t, w) => t + w.size, 0);
  const unpruned = importTfjs(engine, 'nsfwjs:mobilenet_v2', { inputSize: size }); // the pruner masks r.model in place
  const a = int8(unpruned.model), fullParams = params(unpruned.model);
  unpruned.model.dispose();
  const pruner = new Pruner(r.model, { mode: 'channel', sparsity: 0.5, layers: expand });
  const x = new Float32Array(4 * per);
  for (let i = 0; i < x.length; i++) { const c = i % 3; x[i] = (ds.images[i] / 255 - r.norm.mean[c]) / r.norm.std[c]; }
  const fwd = (m) => { m.eval(); const out = engine.noGrad(() => { const t = engine.empty([4, size, size, 3]); t.write(x); return m.forward(t).toArray(); }); engine.endStep(); return out; };
  const masked = fwd(r.model);
  const { model: shrunk } = removePrunedChannels(r.model, pruner);
  const got = fwd(shrunk);
  let err = 0, top = 0;
  for (let i = 0; i < got.length; i++) { err = Math.max(err, Math.abs(got[i] - masked[i])); top = Math.max(top, Math.abs(masked[i])); }
  const b = int8(shrunk);
  const x1 = x.subarray(0, per);
  const { ms, t } = await race({ full: () => a.predict(x1, 1), pruned: () => b.predict(x1, 1) }, { minMs: 300 });
  say('## Pruning 50 % of the hidden (expand) channels of every inverted residual block');
  say();
  say('`new Pruner(model, { mode: \'channel\', sparsity: 0.5, layers: <the 16 block_N_expand convs> })` then ' +
    '`removePrunedChannels`: each expand conv loses half its outputs, with its BN, the depthwise conv + BN and the project ' +
    'conv\'s inputs; block outputs (tied by the residual adds) are kept. No fine-tuning here (structure and speed only).');
  say();
  say('| | parameters | float32 bytes | int8 .qwm bytes | int8 224 px batch 1 (ms) |');
  say('|---|---|---|---|---|');
  say(`| whole MobileNetV2 | ${fullParams} | ${4 * fullParams} | ${a.bytes()} | ${ms.full.toFixed(2)} |`);
  say(`| 50 % hidden channels removed | ${params(shrunk)} | ${4 * params(shrunk)} | ${b.bytes()} | ${ms.pruned.toFixed(2)} (${ratio(t, 'pruned', 'full').toFixed(2)}× faster) |`);
  say();
  say(`Shrunk vs masked network (float, 4 synthetic 224 px images): max |Δ logit| / max |logit| = ${(err / top).toExponential(2)}.`);
  say();
  a.dispose(); b.dispose(); pruner.dispose(); shrunk.dispose(); r.model.dispose();
}

// ------------------------------------------------------------------ 5. per-layer profile
if (profiles.length) {
  say('## Where the int8 network\'s time goes (qwasm, batch 1)');
  say();
  say('Per node kind, median over rounds of the summed node times (µs) and share of the network.');
  say();
  const kinds = [...new Set(profiles.flatMap(([, prof]) => prof.map((p) => p.group)))];
  say(`| px | ${kinds.join(' | ')} | total (µs) |`);
  say(`|---|${kinds.map(() => '---').join('|')}|---|`);
  for (const [size, prof] of profiles) {
    const sum = Object.fromEntries(kinds.map((k) => [k, 0]));
    let total = 0;
    for (const p of prof) { sum[p.group] += p.us; total += p.us; }
    say(`| ${size} | ${kinds.map((k) => `${sum[k].toFixed(0)} (${(100 * sum[k] / total).toFixed(0)} %)`).join(' | ')} | ${total.toFixed(0)} |`);
  }
  say();
}

say(`Load average (1, 5, 15 min): ${loadBefore} before, ${load()} after.`);
if (o.write) {
  writeFileSync(new URL('../docs/BENCHMARKS-MOBILENETV2.md', import.meta.url), md.join('\n') + '\n');
  console.log('wrote docs/BENCHMARKS-MOBILENETV2.md');
}
process.exit(0);
