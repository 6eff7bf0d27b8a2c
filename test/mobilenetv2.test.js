// int8 and channel pruning of the real MobileNetV2 (nsfwjs' Keras MobileNetV2-1.0, ImageNet weights to block_10),
// imported with importTfjs and run small (64 px) so the file stays fast:
//   - a cut at block_5_add (stride-2 depthwise with Keras' asymmetric (0, 1) padding, residual adds, ReLU6) and the
//     whole network (1280-channel out_relu, the nsfwjs head): static PTQ → Int8Model → .qwm; the JS runtime on
//     every build, qwm_load / qwm_run (the pure-WASM runner) on every build give the same int8 codes; the QDQ ONNX
//     export run by onnxruntime-web picks the same class; int8 vs float agreement;
//   - QAT with frozen BN (a few steps) converts to int8 computing what the fake-quant model computes;
//   - channel pruning of the hidden (expand) channels of the inverted residual blocks: the expand conv's outputs,
//     its BN, the depthwise conv + BN and the project conv's inputs go; block outputs (tied by the adds) stay;
//     the shrunk network computes what the masked one computes;
//   - on Tux Paint photos (sharp): the whole network, int8 vs float top-1 agreement and logit error.
// Without nsfwjs (or sharp / the stamps for the photo test) the tests skip loudly (test/helpers.js needs()).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, sep } from 'node:path';
import { createRequire } from 'node:module';
import {
  Engine, importTfjs, quantizeStatic, convertToInt8, encodeQwm, int8GraphToOnnx, quantizeInput, qwmWasmError, createDataset,
  prepareQAT, QATSchedule, fit, Pruner, removePrunedChannels, loadPhotoFolder,
} from '../dist/index.js';
import { builds, needs, rng } from './helpers.js';

const withNsfwjs = needs(test, 'nsfwjs');
const withPhotos = needs(needs(needs(test, 'nsfwjs'), 'sharp'), 'tuxpaint-stamps');
const SIZE = 64;

/** n smooth synthetic RGB images (gradients + blobs + noise): activations spread like photos', not like white noise. */
function synthetic(n, size, seed = 3) {
  const r = rng(seed), per = size * size * 3, images = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    const f = [r.float() * 6, r.float() * 6, r.float() * 6], p = [r.float() * 6, r.float() * 6, r.float() * 6];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) {
      const v = 128 + 90 * Math.sin(f[c] * x / size + p[c]) * Math.cos(f[(c + 1) % 3] * y / size + p[(c + 2) % 3]) + (r.float() - 0.5) * 40;
      images[i * per + (y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return images;
}

function dataset(images, size, norm, classes = 5) {
  const n = images.length / (size * size * 3);
  return createDataset({ name: 'synthetic', images, labels: Uint8Array.from({ length: n }, (_, i) => i % classes), height: size, width: size, channels: 3, classes: Array.from({ length: classes }, (_, i) => `c${i}`), norm });
}

const normalised = (ds, n) => {
  const per = ds.height * ds.width * 3, x = new Float32Array(n * per);
  for (let i = 0; i < n * per; i++) { const c = i % 3; x[i] = (ds.images[i] / 255 - ds.norm.mean[c]) / ds.norm.std[c]; }
  return x;
};

function forward(e, m, x, n, size) {
  m.eval();
  const out = e.noGrad(() => { const t = e.empty([n, size, size, 3]); t.write(x); return m.forward(t).toArray(); });
  e.endStep();
  return out;
}

const argmax = (v, off, n) => { let b = 0; for (let j = 1; j < n; j++) if (v[off + j] > v[off + b]) b = j; return b; };

/** Top-1 agreement of two logit sets and their max |Δ| relative to the largest |logit| of `ref`. */
function agreement(a, ref, n) {
  const c = a.length / n;
  let same = 0, err = 0, top = 0;
  for (let i = 0; i < n; i++) if (argmax(a, i * c, c) === argmax(ref, i * c, c)) same++;
  for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i] - ref[i])); top = Math.max(top, Math.abs(ref[i])); }
  return { same, rel: err / top, err };
}

/** Output codes of the pure-WASM runner (assembly/qwm_run.ts) on build q for the .qwm `bytes`. */
function qwmRun(q, bytes, codes, n, classes) {
  const p = q.rt.put(bytes);
  let rc;
  try { rc = q.kernels.qwm_load(p, bytes.length); } finally { q.rt.free(p); }
  assert.is(rc, 0, `qwm_load on ${q.build}: ${qwmWasmError(rc)}`);
  return q.rt.scoped((s) => {
    const ip = s.put(codes), op = s.alloc(n * classes);
    const r = q.kernels.qwm_run(ip, n, op);
    assert.is(r, 0, `qwm_run on ${q.build}: ${qwmWasmError(r)}`);
    return q.rt.i8(op, n * classes).slice();
  });
}

let ort = null;
async function ortLogits(bytes, x, n, shape) {
  if (!ort) {
    ort = await import('onnxruntime-web');
    ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep;
    ort.env.wasm.numThreads = 1;
  }
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try { return (await session.run({ input: new ort.Tensor('float32', x, [n, ...shape]) })).logits.data; } finally { await session.release?.(); }
}

withNsfwjs('MobileNetV2 (cut at block_5_add, and whole) → static PTQ int8: JS runtime = pure-WASM runner on every build, ONNX QDQ in onnxruntime-web agrees', async () => {
  const qs = await builds();
  const e = new Engine(qs.at(-1).rt);
  const n = 12;
  for (const [what, opts] of [['cut', { cut: 'block_5_add', classes: 5, inputSize: SIZE }], ['whole', { inputSize: SIZE }]]) {
    const r = importTfjs(e, 'nsfwjs:mobilenet_v2', opts);
    const ds = dataset(synthetic(32, SIZE), SIZE, r.norm);
    const fq = quantizeStatic(r.model, ds, { batches: 2, batchSize: 16 });
    const i8 = convertToInt8(fq, undefined, { inputShape: r.inputShape });
    const kinds = new Map();
    const count = (ls) => ls.forEach((l) => kinds.set(l.kind, (kinds.get(l.kind) ?? 0) + 1));
    count(i8.layers());
    assert.ok(kinds.get('residual') >= (what === 'cut' ? 3 : 10), `${what}: residual adds ${kinds.get('residual')}`);
    // ReLU6 is fused into the conv's clamp: no activation node is left
    assert.ok(!kinds.has('act') && !kinds.has('lut'), `${what}: unfused activations ${[...kinds.keys()]}`);
    // depthwise weights are quantised per output channel: one scale per channel
    const dw = [];
    const walk = (nodes) => nodes.forEach((g) => { if (g.kind === 'conv' && g.groups > 1) dw.push(g); if (g.body) walk(g.body); if (g.shortcut) walk(g.shortcut); });
    walk(i8.graph.nodes);
    assert.ok(dw.length >= (what === 'cut' ? 6 : 17) && dw.every((g) => g.wScale.length === g.oc && new Set(g.wScale).size > 1), `${what}: per-channel depthwise`);
    if (what === 'whole') assert.ok(i8.graph.nodes.some((g) => g.kind === 'conv' && g.oc === 1280), 'the 1280-channel conv');

    const x = normalised(ds, n), codes = quantizeInput(x, i8.input), C = i8.classes;
    const want = i8.predictCodes(codes, n);
    // the pure-WASM runner on every build (scalar, simd, relaxed where it runs) = the JS runtime
    const bytes = encodeQwm(i8.graph);
    for (const q of qs) assert.equal(qwmRun(q, bytes, codes, n, C), want, `${what}: qwm_run on ${q.build} vs the JS runtime`);
    // int8 vs the float network and vs the fake-quant network
    const fl = forward(e, r.model, x, n, SIZE), fqo = forward(e, fq, x, n, SIZE), got = i8.predict(x, n);
    const vsFq = agreement(got, fqo, n), vsFloat = agreement(got, fl, n);
    console.log(`  ${what} (${SIZE} px): int8 vs fake-quant top-1 ${vsFq.same}/${n} (max rel err ${vsFq.rel.toFixed(4)}), vs float ${vsFloat.same}/${n} (${vsFloat.rel.toFixed(4)})`);
    assert.ok(vsFq.same >= n - 1, `${what}: int8 vs fake-quant ${vsFq.same}/${n}`);
    assert.ok(vsFq.rel < 0.1, `${what}: int8 vs fake-quant rel err ${vsFq.rel}`);
    // the QDQ ONNX export in onnxruntime-web: same predictions, logits within a few output steps
    const theirs = await ortLogits(int8GraphToOnnx(i8.graph), x, n, r.inputShape);
    const vsOrt = agreement(theirs, got, n);
    assert.ok(vsOrt.same >= n - 1, `${what}: onnxruntime vs ours ${vsOrt.same}/${n}`);
    assert.ok(vsOrt.err <= 4 * i8.output.scale, `${what}: onnxruntime logits ${(vsOrt.err / i8.output.scale).toFixed(1)} output steps from ours`);
    i8.dispose(); r.model.dispose();
  }
});

withNsfwjs('MobileNetV2 cut: the int8 codes are bit-identical on the scalar, simd and relaxed JS runtimes', async () => {
  const qs = await builds();
  const outs = [];
  let x = null;
  for (const q of qs) {
    const e = new Engine(q.rt);
    const r = importTfjs(e, 'nsfwjs:mobilenet_v2', { cut: 'block_3_expand_relu', classes: 3, inputSize: 48 });
    const ds = dataset(synthetic(16, 48, 5), 48, r.norm, 3);
    const fq = quantizeStatic(r.model, ds, { batches: 1, batchSize: 16 });
    const i8 = convertToInt8(fq, undefined, { inputShape: r.inputShape });
    x ??= normalised(ds, 8);
    outs.push([q.build, i8.predictCodes(quantizeInput(x, i8.input), 8), encodeQwm(i8.graph)]);
    i8.dispose(); r.model.dispose();
  }
  for (const [b, codes, file] of outs.slice(1)) {
    assert.equal(file, outs[0][2], `${b}: the .qwm differs from ${outs[0][0]}'s (quantisation is not build-exact)`);
    assert.equal(codes, outs[0][1], `${b} vs ${outs[0][0]}`);
  }
});

withNsfwjs('MobileNetV2 cut: QAT with frozen BN (a few steps) converts to int8 computing what the fake-quant model computes', async () => {
  const qs = await builds();
  const e = new Engine(qs.at(-1).rt);
  const r = importTfjs(e, 'nsfwjs:mobilenet_v2', { cut: 'block_5_add', classes: 4, inputSize: SIZE });
  const ds = dataset(synthetic(48, SIZE, 11), SIZE, r.norm, 4);
  const qat = prepareQAT(r.model);
  const sch = new QATSchedule(qat, { freezeBnAt: 2, freezeObserversAt: 4 });
  fit(qat, ds, { epochs: 1, batchSize: 8, lr: 1e-3, beforeStep: sch.beforeStep }).optimizer.dispose();
  assert.ok(qat.batchNorms().every((b) => b.frozen), 'BN frozen');
  const i8 = convertToInt8(qat, undefined, { inputShape: r.inputShape });
  const n = 16, x = normalised(ds, n);
  const a = agreement(i8.predict(x, n), forward(e, qat, x, n, SIZE), n);
  assert.ok(a.same >= n - 1, `int8 vs fake-quant top-1 ${a.same}/${n}`);
  assert.ok(a.rel < 0.1, `int8 vs fake-quant rel err ${a.rel}`);
  i8.dispose(); r.model.dispose();
});

withNsfwjs('MobileNetV2: pruning 50 % of the hidden (expand) channels of every inverted residual block removes them; shrunk = masked', async () => {
  const qs = await builds();
  const e = new Engine(qs.at(-1).rt);
  const r = importTfjs(e, 'nsfwjs:mobilenet_v2', { inputSize: SIZE });
  const expand = Object.entries(r.layerNames).filter(([k]) => /^block_\d+_expand$/.test(k)).map(([, v]) => v);
  assert.is(expand.length, 16);
  const m = r.model;
  const p = new Pruner(m, { mode: 'channel', sparsity: 0.5, layers: expand });
  // a block's output channels (the project conv, tied by the residual add) cannot be pruned
  const project = r.layerNames.block_2_project;
  assert.throws(() => new Pruner(m, { mode: 'channel', sparsity: 0.5, layers: [project] }), /feeds a Residual|leaves its Sequential/);
  const n = 4, x = normalised(dataset(synthetic(n, SIZE, 2), SIZE, r.norm), n);
  const masked = forward(e, m, x, n, SIZE);
  const { model: s, removed } = removePrunedChannels(m, p);
  assert.equal(Object.keys(removed).sort(), [...expand].sort());
  const before = new Map(m.modules()), after = new Map(s.modules());
  const block = r.layerNames.block_5_expand, dwName = r.layerNames.block_5_depthwise, projName = r.layerNames.block_5_project;
  const hidden = before.get(block).spec.outChannels;
  assert.is(after.get(block).spec.outChannels, hidden / 2);
  assert.is(after.get(dwName).spec.outChannels, hidden / 2);
  assert.is(after.get(dwName).spec.groups, hidden / 2);
  assert.is(after.get(projName).spec.inChannels, hidden / 2);
  assert.is(after.get(projName).spec.outChannels, before.get(projName).spec.outChannels);
  const shrunk = forward(e, s, x, n, SIZE);
  const d = agreement(shrunk, masked, n);
  assert.ok(d.rel < 1e-5, `shrunk vs masked max rel err ${d.rel}`);
  const params = (mm) => mm.parameters().reduce((t, w) => t + w.size, 0);
  console.log(`  50 % hidden channels: ${params(m)} → ${params(s)} parameters, max rel err ${d.rel.toExponential(2)}`);
  assert.ok(params(s) < 0.75 * params(m));
  p.dispose(); s.dispose(); m.dispose();
});

withPhotos('MobileNetV2 whole network at 96 px on Tux Paint photos: int8 (PTQ) agrees with float', async () => {
  const qs = await builds();
  const e = new Engine(qs.at(-1).rt);
  const r = importTfjs(e, 'nsfwjs:mobilenet_v2', { inputSize: 96 });
  const ds = await loadPhotoFolder('/usr/share/tuxpaint/stamps/animals', { size: 96, norm: r.norm });
  const i8 = convertToInt8(quantizeStatic(r.model, ds, { batches: 2, batchSize: 16 }), undefined, { inputShape: r.inputShape });
  const n = Math.min(48, ds.length), x = normalised(ds, n);
  const a = agreement(i8.predict(x, n), forward(e, r.model, x, n, 96), n);
  console.log(`  int8 vs float on ${n} photos: top-1 ${a.same}/${n}, max logit error ${a.err.toFixed(3)} (${(100 * a.rel).toFixed(1)} % of the largest)`);
  assert.ok(a.same >= 0.85 * n, `int8 vs float top-1 ${a.same}/${n}`);
  i8.dispose(); r.model.dispose();
});

test.run();
