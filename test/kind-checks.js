// What the per-kind tests (test/hardswish.test.js, test/tanh.test.js: the docs/ARCHITECTURE.md recipe) share:
// onnxruntime-web set up as test/onnx.test.js uses it (its WASM CPU backend in Node, one thread: deterministic and
// light), the registry round trip, and the int8 / ONNX-export checks of a small QAT-trained MLP around the kind.
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import {
  BatchIterator, InitRng, Int8Model, buildInt8Graph, buildLayers, copyModel, decodeOnnx, describeLayers, fit, int8GraphToOnnx, layers,
  loadDataset, prepareQAT,
} from '../dist/index.js';

export const ort = await import('onnxruntime-web');
ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** The first n samples of a dataset (no shuffle) as NHWC floats and labels. */
export function firstBatch(ds, n) {
  const it = new BatchIterator(ds, { batchSize: n, shuffle: false, dropLast: false });
  const xs = new Float32Array(n * it.sampleSize), ys = new Int32Array(n);
  it.next(xs, ys);
  return { xs, ys };
}

/** Top-1 agreement and the largest logit difference (in output steps) of two [n, classes] logit arrays. */
export function compareLogits(a, b, n, classes, step) {
  const argmax = (v, off) => { let k = 0; for (let j = 1; j < classes; j++) if (v[off + j] > v[off + k]) k = j; return k; };
  let agree = 0, maxSteps = 0;
  for (let i = 0; i < n; i++) {
    if (argmax(a, i * classes) === argmax(b, i * classes)) agree++;
    for (let j = 0; j < classes; j++) maxSteps = Math.max(maxSteps, Math.round(Math.abs(a[i * classes + j] - b[i * classes + j]) / step));
  }
  return { agree, maxSteps };
}

/**
 * The registry round trip of a kind: in Linear(6, 4) → module → Linear(4, 3), the description names `type`, the
 * rebuilt model holds an instance of Cls there, and a copy computes what the original does.
 */
export function checkRegistryRoundTrip(e, module, type, Cls) {
  const R = new InitRng(2);
  const net = new layers.Sequential(e, [new layers.Linear(e, 6, 4, R), module, new layers.Linear(e, 4, 3, R)]);
  const spec = describeLayers(net);
  assert.equal(spec.layers[1], { name: '1', module: { type } });
  const back = buildLayers(e, spec);
  assert.ok(back.layers[1] instanceof Cls);
  const copy = copyModel(net);
  const x = e.persistent([2, 6], new Float32Array(12).map((_, i) => Math.sin(i) * 3), false);
  assert.equal(copy.forward(x).toArray(), net.forward(x).toArray());
  e.endStep(); x.dispose();
  for (const m of [net, back, copy]) m.dispose();
}

/**
 * The int8 path of a pointwise kind: Flatten → Linear 784→48 → `act` → Linear 48→10 trained a little on MNIST, then
 * QAT-trained (the activation a 'pointwise' unit); its int8 graph has a 256-entry lut node for `op`, and the int8
 * model tracks the fake-quant one on the first n MNIST test images (top-1 ≥ 97 %, logits within 3 output steps).
 */
export function int8OfPointwiseMlp(rt, e, act, op, n = 200) {
  const { train, test } = loadDataset('mnist');
  const R = new InitRng(5);
  const net = new layers.Sequential(e, [new layers.Flatten(e), new layers.Linear(e, 784, 48, R), act, new layers.Linear(e, 48, 10, R)]);
  const idx = Int32Array.from({ length: 640 }, (_, i) => i);
  fit(net, train, { epochs: 1, batchSize: 32, lr: 2e-3, indices: idx }).optimizer.dispose();
  const qat = prepareQAT(net);
  assert.is(qat.units[2].kind, 'pointwise');
  fit(qat, train, { epochs: 1, batchSize: 32, lr: 1e-3, indices: idx }).optimizer.dispose();
  const graph = buildInt8Graph(qat, undefined, { inputShape: [28, 28, 1] });
  const lut = graph.nodes.find((nd) => nd.kind === 'lut');
  assert.ok(lut && lut.op === op && lut.table.length === 256, `a lut node for ${op}`);
  const i8 = Int8Model.fromGraph(rt, graph);
  const { xs } = firstBatch(test, n);
  qat.eval();
  const x = e.persistent([n, 28, 28, 1], xs, false);
  const fq = e.noGrad(() => qat.forward(x).toArray());
  e.endStep(); x.dispose();
  const ours = i8.predict(xs, n), step = i8.output.scale;
  const { agree, maxSteps } = compareLogits(ours, fq, n, 10, step);
  assert.ok(agree >= 0.97 * n, `int8 vs fake-quant top-1 agreement ${agree}/${n}`);
  assert.ok(maxSteps <= 3, `int8 vs fake-quant logits differ by up to ${maxSteps} output steps`);
  return { graph, lut, xs, ours, step, n, dispose: () => { i8.dispose(); qat.dispose(); net.dispose(); } };
}

/** The QDQ export of that int8 graph: opset `opset`, a node of `op`, run by onnxruntime against our logits (≥ 98 % top-1, ≤ 2 steps). */
export async function checkOnnxExport(r, op, opset) {
  const onnx = int8GraphToOnnx(r.graph);
  const m = decodeOnnx(onnx);
  assert.is(m.opsets[0].version, opset);
  assert.ok(m.graph.nodes.some((nd) => nd.opType === op), `an ${op} node`);
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  const theirs = (await session.run({ input: new ort.Tensor('float32', r.xs, [r.n, 28, 28, 1]) })).logits.data;
  const { agree, maxSteps } = compareLogits(r.ours, theirs, r.n, 10, r.step);
  assert.ok(agree >= 0.98 * r.n, `onnxruntime vs ours top-1 agreement ${agree}/${r.n}`);
  assert.ok(maxSteps <= 2, `onnxruntime vs ours logits differ by up to ${maxSteps} steps`);
}
