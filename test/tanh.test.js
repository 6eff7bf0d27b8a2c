// Tanh, a layer kind added by the docs/ARCHITECTURE.md recipe (kernel + wrapper + one registry entry): f32 kernels
// against JS on every build, the op's gradient, the registry (describe / build / clone, pointwise ONNX and Keras
// names), QAT → int8 (a lut node) against the fake-quant model, ONNX export run by onnxruntime-web, ONNX import
// against onnxruntime-web, and a TF.js Dense(activation 'tanh') against tfjs-layers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import { ort, checkRegistryRoundTrip, int8OfPointwiseMlp, checkOnnxExport } from './kind-checks.js';
import { tfReady, referenceModel, runReference, maxAbsDiff } from './tfjs-reference.js';
import {
  Engine, Tanh, tanh, layerKind, encodeOnnx, importOnnx, importTfjs,
} from '../dist/index.js';
import { tanhForward, tanhBackward } from '../dist/kernels/act_f32.js';

test('tanh_f32_fwd / _bwd match JS on every build (bwd from the output, accumulate); the op backpropagates', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(3), n = 203;
    const xv = r.f32(n, 6);
    xv.set([0, -0, 20, -20, 1e-8], 0);
    const dyv = r.f32(n, 1);
    const x = e.persistent([n], xv, false), y = e.persistent([n], undefined, false), dy = e.persistent([n], dyv, false);
    const dx = e.persistent([n], new Float32Array(n).fill(0.5), false);
    tanhForward(q.rt, x.ptr, y.ptr, n);
    tanhBackward(q.rt, y.ptr, dy.ptr, dx.ptr, n, true);
    const yo = y.toArray(), dxo = dx.toArray();
    for (let i = 0; i < n; i++) {
      const t = Math.tanh(xv[i]);
      assert.ok(Math.abs(yo[i] - t) <= 2e-7, `${q.build} y[${i}] ${yo[i]} vs ${t}`);
      assert.ok(Math.abs(dxo[i] - (0.5 + dyv[i] * (1 - yo[i] * yo[i]))) <= 1e-6, `${q.build} dx[${i}]`);
    }
    assert.throws(() => tanhForward(q.rt, x.ptr, y.ptr, -1), /n/);
    for (const t of [x, y, dy, dx]) t.dispose();
    // the op: d/dx Σ tanh(x)·w = w · (1 − tanh²(x))
    const xt = e.persistent([2, 5], xv.subarray(0, 10), true);
    tanh(xt).backward(dyv.subarray(0, 10));
    const g = xt.grad.toArray();
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(g[i] - dyv[i] * (1 - Math.tanh(xv[i]) ** 2)) <= 1e-6, `${q.build} grad[${i}]`);
    e.endStep(); xt.dispose();
  }
});

test('Tanh is a registry kind: describe / build / clone; pointwise with ONNX Tanh (opset 6) and Keras \'tanh\'', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  checkRegistryRoundTrip(e, new Tanh(e), 'Tanh', Tanh);
  const kind = layerKind('Tanh');
  assert.equal(kind.pointwise.onnx, { op: 'Tanh', opset: 6 });
  assert.equal(kind.pointwise.keras, ['tanh']);
  assert.is(kind.pointwise.f(0.5), Math.tanh(0.5));
});

test('QAT → int8: Tanh becomes a lut node tracking the fake-quant model; ONNX export (DQ → Tanh → Q) runs in onnxruntime', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const r = int8OfPointwiseMlp(q.rt, e, new Tanh(e), 'Tanh');
  await checkOnnxExport(r, 'Tanh', 13);
  r.dispose();
});

test('ONNX import: Tanh becomes the registry layer and matches onnxruntime', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt), r = rng(9);
  const t = (name, dims, data) => ({ name, dataType: 1, dims, data: Array.from(data) });
  const bytes = encodeOnnx({
    irVersion: 8, opsets: [{ domain: '', version: 13 }], producerName: 'test', producerVersion: '1', docString: '',
    graph: {
      name: 'tanh', initializers: [t('W', [6, 5], r.f32(30, 0.8)), t('B', [6], r.f32(6, 0.3)), t('G', [2, 6], r.f32(12, 0.7))],
      nodes: [
        { name: 'fc1', opType: 'Gemm', domain: '', inputs: ['x', 'W', 'B'], outputs: ['h'], attributes: [{ name: 'transB', type: 2, i: 1 }] },
        { name: 'act', opType: 'Tanh', domain: '', inputs: ['h'], outputs: ['a'], attributes: [] },
        { name: 'fc2', opType: 'Gemm', domain: '', inputs: ['a', 'G'], outputs: ['y'], attributes: [{ name: 'transB', type: 2, i: 1 }] },
      ],
      inputs: [{ name: 'x', elemType: 1, dims: ['N', 5] }], outputs: [{ name: 'y', elemType: 1, dims: ['N', 2] }], valueInfo: [],
    },
    metadata: {},
  });
  const imp = importOnnx(e, bytes);
  assert.ok(imp.model.layers.some((l) => l instanceof Tanh));
  const n = 4, xs = rng(12).f32(n * 5, 2);
  const x = e.persistent([n, 5], xs, false);
  imp.model.eval();
  const ours = e.noGrad(() => imp.model.forward(x).toArray());
  e.endStep(); x.dispose();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const theirs = (await session.run({ x: new ort.Tensor('float32', xs, [n, 5]) })).y.data;
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < 1e-5, `logit ${i}: ${ours[i]} vs onnxruntime ${theirs[i]}`);
  imp.model.dispose();
});

test('TF.js import: Conv2D and Dense with activation \'tanh\' match tfjs-layers', async () => {
  const { tf, tfl } = await tfReady();
  const [q] = await builds();
  const e = new Engine(q.rt);
  const model = tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, activation: 'tanh' }),
    tfl.layers.flatten(), tfl.layers.dense({ units: 3, activation: 'tanh' }),
  ] });
  let art;
  await model.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  art = { modelTopology: art.modelTopology, weightSpecs: art.weightSpecs, weightData: new Uint8Array(art.weightData), source: 'memory' };
  const imp = importTfjs(e, art);
  assert.is(imp.model.modules().filter(([, m]) => m instanceof Tanh).length, 2);
  const n = 3, xs = rng(5).f32(n * 6 * 6 * 3, 1.5);
  const x = e.persistent([n, 6, 6, 3], xs, false);
  imp.model.eval();
  const ours = e.noGrad(() => imp.model.forward(x).toArray());
  e.endStep(); x.dispose();
  const [theirs] = runReference(await referenceModel(art), xs, [n, 6, 6, 3]);
  assert.ok(maxAbsDiff(ours, theirs) < 1e-5, `max |Δ| ${maxAbsDiff(ours, theirs)}`);
  imp.model.dispose();
});

test.run();
