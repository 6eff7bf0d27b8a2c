// HardSwish, the layer kind added through the registry: f32 kernels (fast and reference twins) against JS, the
// autograd op's gradient, the int8 table kernel (lut_s8, SIMD swizzle path vs scalar twin) and lutTable, the
// registry (describe / build / clone), QAT → int8 (a lut node) against the fake-quant model, .qwm round trip,
// ONNX export run by onnxruntime-web, ONNX import against onnxruntime-web.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builds, rng } from './helpers.js';
import { ort, checkRegistryRoundTrip, int8OfPointwiseMlp, checkOnnxExport } from './kind-checks.js';
import {
  Engine, layers, InitRng, HardSwish, hardswish, hardswishForward, hardswishBackward, lutTable, lutS8Array, describeLayers, buildLayers,
  copyModel, layerKind, prepareQAT, fit, loadDataset, buildInt8Graph, convertToInt8, encodeQwm, decodeQwm, int8GraphToOnnx, decodeOnnx,
  encodeOnnx, importOnnx, Int8Model, bundleWasm,
} from '../dist/index.js';

const f = Math.fround;
const hsJs = (x) => x * Math.min(Math.max(x + 3, 0), 6) / 6;
const dhsJs = (x) => (x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1);

test('hardswish_f32_fwd / _bwd (fast and _ref) match JS on every build; the op backpropagates', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt), r = rng(3), n = 203;
    const xv = r.f32(n, 5);
    xv.set([-3, 3, 0, -4, 4, -2.9999, 2.9999], 0);
    const dyv = r.f32(n, 1);
    for (const ref of [false, true]) {
      const x = e.persistent([n], xv, false), y = e.persistent([n], undefined, false), dy = e.persistent([n], dyv, false);
      const dx = e.persistent([n], new Float32Array(n).fill(0.5), false);
      hardswishForward(q.rt, x.ptr, y.ptr, n, ref);
      hardswishBackward(q.rt, x.ptr, dy.ptr, dx.ptr, n, true, ref);
      const yo = y.toArray(), dxo = dx.toArray();
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(yo[i] - hsJs(xv[i])) <= 1e-6 * (1 + Math.abs(xv[i])), `${q.build} ref=${ref} y[${i}] ${yo[i]} vs ${hsJs(xv[i])}`);
        assert.ok(Math.abs(dxo[i] - (0.5 + dyv[i] * dhsJs(xv[i]))) <= 1e-6, `${q.build} ref=${ref} dx[${i}]`);
      }
      for (const t of [x, y, dy, dx]) t.dispose();
    }
    // the op: d/dx Σ hardswish(x)·w = w · hardswish'(x)
    const x = e.persistent([2, 5], xv.subarray(0, 10), true);
    hardswish(x).backward(dyv.subarray(0, 10));
    const g = x.grad.toArray();
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(g[i] - dyv[i] * dhsJs(xv[i])) <= 1e-6, `${q.build} grad[${i}]`);
    e.endStep(); x.dispose();
  }
});

test('lut_s8 (SIMD swizzle path and scalar twin) is table[x + 128]; lutTable is the requantised function per code', async () => {
  const r = rng(11);
  const table = r.i8(256);
  const x = Int8Array.from({ length: 1000 }, (_, i) => (i < 256 ? i - 128 : r.int(-128, 127)));
  for (const q of await builds()) {
    for (const ref of [false, true]) {
      for (const n of [1000, 17, 15, 0]) {
        const y = lutS8Array(q.rt, x.subarray(0, n), table, ref);
        for (let i = 0; i < n; i++) if (y[i] !== table[x[i] + 128]) assert.unreachable(`${q.build} ref=${ref} n=${n}: y[${i}] = ${y[i]}, table gives ${table[x[i] + 128]}`);
      }
    }
  }
  const s = 0.05, zp = -7, so = 0.03, zo = -100, t = lutTable(hsJs, s, zp, so, zo);
  for (let c = -128; c <= 127; c++) {
    const want = Math.max(-128, Math.min(127, Math.round(hsJs((c - zp) * s) / so) + zo));
    assert.ok(Math.abs(t[c + 128] - want) <= (Math.abs(hsJs((c - zp) * s) / so % 1) === 0.5 ? 1 : 0), `code ${c}`);
  }
  assert.throws(() => lutTable(() => NaN, 1, 0, 1, 0), /NaN/);
  assert.throws(() => lutTable(hsJs, 0, 0, 1, 0), /inScale must be > 0/);
});

test('HardSwish is a registry kind: describe / build / clone, a pointwise entry with its ONNX op', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  checkRegistryRoundTrip(e, new HardSwish(e), 'HardSwish', HardSwish);
  assert.equal(layerKind('HardSwish').pointwise.onnx, { op: 'HardSwish', opset: 14 });
});

test('QAT → int8: HardSwish becomes a lut node; int8 logits track the fake-quant model; .qwm and ONNX (opset 14) round trips', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const r = int8OfPointwiseMlp(q.rt, e, new HardSwish(e), 'HardSwish'), { graph, lut } = r;
  // .qwm: the lut node survives a round trip byte for byte
  const bytes = encodeQwm(graph);
  const again = decodeQwm(bytes);
  assert.equal(Array.from(again.nodes.find((n2) => n2.kind === 'lut').table), Array.from(lut.table));
  assert.equal(encodeQwm(again), bytes);
  // the pure-WASM runner (assembly/qwm_run.ts) has no table node yet: bundling says so instead of failing on the device
  const scalar = readFileSync(fileURLToPath(new URL('../build/qwasm.scalar.wasm', import.meta.url)));
  assert.throws(() => bundleWasm(scalar, bytes), /node '2' \(HardSwish, an int8 lookup table\) is not supported by the pure-WASM runner/);
  // ONNX: DQ → HardSwish → Q at opset 14, run by onnxruntime against our int8 run
  await checkOnnxExport(r, 'HardSwish', 14);
  r.dispose();
});

// a float ONNX model: Conv 3→5 (3×3, pad 1) → HardSwish → GlobalAveragePool → Flatten → Gemm 5→2
function floatOnnx(opset) {
  const r = rng(9);
  const W = r.f32(5 * 3 * 3 * 3, 0.5), B = r.f32(5, 0.2), G = r.f32(2 * 5, 0.7), C = r.f32(2, 0.1);
  const t = (name, dims, data) => ({ name, dataType: 1, dims, data: Array.from(data) });
  return encodeOnnx({
    irVersion: 8, opsets: [{ domain: '', version: opset }], producerName: 'test', producerVersion: '1', docString: '',
    graph: {
      name: 'hs', initializers: [t('W', [5, 3, 3, 3], W), t('B', [5], B), t('G', [2, 5], G), t('C', [2], C)],
      nodes: [
        { name: 'conv', opType: 'Conv', domain: '', inputs: ['x', 'W', 'B'], outputs: ['c'], attributes: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }, { name: 'kernel_shape', type: 7, ints: [3, 3] }] },
        { name: 'hs', opType: 'HardSwish', domain: '', inputs: ['c'], outputs: ['h'], attributes: [] },
        { name: 'gap', opType: 'GlobalAveragePool', domain: '', inputs: ['h'], outputs: ['g'], attributes: [] },
        { name: 'flat', opType: 'Flatten', domain: '', inputs: ['g'], outputs: ['f'], attributes: [] },
        { name: 'fc', opType: 'Gemm', domain: '', inputs: ['f', 'G', 'C'], outputs: ['y'], attributes: [{ name: 'transB', type: 2, i: 1 }] },
      ],
      inputs: [{ name: 'x', elemType: 1, dims: ['N', 3, 6, 6] }], outputs: [{ name: 'y', elemType: 1, dims: ['N', 2] }], valueInfo: [],
    },
    metadata: {},
  });
}

test('ONNX import: HardSwish (opset 14) becomes the registry layer and matches onnxruntime; opset 13 refuses it', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const bytes = floatOnnx(14);
  const imp = importOnnx(e, bytes);
  assert.ok(imp.model.layers.some((l) => l instanceof HardSwish));
  const n = 4, xs = rng(12).f32(n * 3 * 6 * 6, 2);
  const nhwc = new Float32Array(xs.length);
  for (let b = 0; b < n; b++) for (let c = 0; c < 3; c++) for (let i = 0; i < 36; i++) nhwc[(b * 36 + i) * 3 + c] = xs[(b * 3 + c) * 36 + i];
  const x = e.persistent([n, 6, 6, 3], nhwc, false);
  imp.model.eval();
  const ours = e.noGrad(() => imp.model.forward(x).toArray());
  e.endStep(); x.dispose();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const theirs = (await session.run({ x: new ort.Tensor('float32', xs, [n, 3, 6, 6]) })).y.data;
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < 1e-4, `logit ${i}: ${ours[i]} vs onnxruntime ${theirs[i]}`);
  imp.model.dispose();
  assert.throws(() => importOnnx(e, floatOnnx(13)), /op 'HardSwish' is not supported/);
});

test.run();
