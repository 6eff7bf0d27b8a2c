// ONNX bridge: import of PyTorch-exported float models (test/fixtures/*.onnx, made by
// scripts/make-onnx-fixtures.py with /usr/bin/python3 + Debian's python3-torch) — same outputs as PyTorch,
// trainable, quantisable — the protobuf reader / writer, import errors, `qwasm import`; export of int8 graphs
// as QDQ ONNX run by onnxruntime-web (its WebAssembly CPU backend, in Node, one thread) against our own int8 runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builds, rng } from './helpers.js';
import { createRequire } from 'node:module';
import {
  Engine, importOnnx, OnnxImportError, decodeOnnx, encodeOnnx, createDataset, fit, evaluate, quantizeStatic, convertToInt8,
  loadModelCheckpoint, saveModel, describeLayers, QwasmError, int8GraphToOnnx, buildModel, prepareQAT, loadDataset, BatchIterator, layers,
  InitRng, LowRankLinear, factorize, HardSwish, HardSigmoid, SiLU, Sigmoid, Clip,
} from '../dist/index.js';

// onnxruntime-web (devDependency; pure JS + WASM, so `npm ci` needs no download): its Node entry runs the CPU
// (plain SIMD wasm) backend; the .wasm files sit next to the entry, one thread keeps it deterministic and light.
const ort = await import('onnxruntime-web');
ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + sep;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const fixture = (name) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}.onnx`, import.meta.url)));
const expected = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.expected.json`, import.meta.url), 'utf8'));
const FIXTURES = ['small-cnn', 'tiny-resnet', 'misc-ops'];

/** NCHW (PyTorch's layout) → NHWC (qwasm's). */
function toNhwc(x, [n, c, h, w]) {
  const y = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let ci = 0; ci < c; ci++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    y[((b * h + i) * w + j) * c + ci] = x[((b * c + ci) * h + i) * w + j];
  }
  return y;
}

function forward(e, model, x, shape) {
  model.eval();
  return e.noGrad(() => {
    const t = e.persistent(shape, x);
    try { return model.forward(t).toArray(); } finally { t.dispose(); e.endStep(); }
  });
}

const maxAbsDiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

async function simd() { const all = await builds(); return all.find((b) => b.build === 'simd') ?? all[0]; }

test('import: PyTorch fixtures give PyTorch\'s outputs (every build), NHWC input shape, layer tree', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt);
    for (const name of FIXTURES) {
      const ex = expected(name);
      const r = importOnnx(e, fixture(name));
      const [n, c, h, w] = ex.inputShape;
      assert.equal(r.inputShape, [h, w, c]);
      assert.is(r.classes, ex.outputShape[1]);
      const y = forward(e, r.model, toNhwc(Float32Array.from(ex.input), ex.inputShape), [n, h, w, c]);
      assert.is(y.length, ex.output.length);
      const d = maxAbsDiff(y, ex.output);
      assert.ok(d < 1e-4, `${q.build} ${name}: max |qwasm − torch| = ${d}`);
      // the outputs are not trivially small: a wrong layout would show
      assert.ok(maxAbsDiff(ex.output, new Float32Array(ex.output.length)) > 0.1, `${name}: outputs too small to compare`);
      if (q.build === 'simd' || q.build === 'scalar') console.log(`  ${name} (${q.build}): max |qwasm − torch| = ${d.toExponential(2)} over ${y.length} logits`);
      r.model.dispose();
    }
  }
  const e = new Engine((await simd()).rt);
  const cnn = importOnnx(e, fixture('small-cnn'));
  const types = (m) => m.layers.map((l) => l.config().type);
  // conv-bn-relu-maxpool, conv-relu6 (Relu + Clip merged)-avgpool, flatten, gemm-relu-gemm; the zero Pad vanished
  assert.equal(types(cnn.model), ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU6', 'AvgPool2d', 'Flatten', 'Linear', 'ReLU', 'Linear']);
  const res = importOnnx(e, fixture('tiny-resnet'));
  assert.equal(types(res.model), ['Conv2d', 'BatchNorm2d', 'ReLU', 'Residual', 'Residual', 'GlobalAvgPool', 'Linear']);
  const [b1, b2] = [res.model.layers[3], res.model.layers[4]];
  assert.is(b1.shortcut, null, 'identity shortcut');
  assert.equal(b2.shortcut.layers.map((l) => l.config().type), ['Conv2d', 'BatchNorm2d']);
  assert.is(b2.post.config().type, 'ReLU');
  // grouped strided conv with [0, 1] padding, padded max / avg pools, a 2×3 map flattened, MatMul + Add → Linear
  const misc = importOnnx(e, fixture('misc-ops'));
  assert.equal(types(misc.model), ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU6', 'AvgPool2d', 'Flatten', 'Linear']);
  assert.equal(misc.model.layers[0].config().groups, 3);
  // a zero Pad node before a conv is folded into the conv's padding: same function as the conv padding itself
  const m = decodeOnnx(fixture('misc-ops')), conv = m.graph.nodes[0];
  conv.attributes.find((a) => a.name === 'pads').ints = [0, 0, 0, 0];
  m.graph.initializers.push({ name: 'pads', dims: [8], dataType: 7, data: [0, 0, 0, 1, 0, 0, 0, 1] });
  m.graph.nodes.unshift({ name: 'pad', opType: 'Pad', domain: '', inputs: ['input', 'pads'], outputs: ['padded'], attributes: [] });
  conv.inputs[0] = 'padded';
  const padded = importOnnx(e, encodeOnnx(m));
  assert.equal(padded.model.layers[0].config().padding, [0, 1, 0, 1]);
  const ex = expected('misc-ops'), [n, c, h, w] = ex.inputShape, x = toNhwc(Float32Array.from(ex.input), ex.inputShape);
  assert.ok(maxAbsDiff(forward(e, padded.model, x, [n, h, w, c]), ex.output) < 1e-4);
  cnn.model.dispose(); res.model.dispose(); misc.model.dispose(); padded.model.dispose();
});

test('import: the imported models train (loss drops) and quantise (prepareQAT / PTQ → convertToInt8)', async () => {
  const q = await simd(), e = new Engine(q.rt), r = rng(5);
  for (const name of FIXTURES) {
    const ex = expected(name);
    const [, c, h, w] = ex.inputShape;
    const imp = importOnnx(e, fixture(name));
    const n = 32, classes = imp.classes;
    // a learnable task: each class lights its own band of rows (plus noise)
    const labels = Uint8Array.from({ length: n }, (_, i) => i % classes);
    const images = new Uint8Array(n * h * w * c);
    for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let p = 0; p < w * c; p++) {
      images[(i * h + y) * w * c + p] = r.int(0, 80) + (Math.floor(y * classes / h) === labels[i] % classes ? 160 : 0);
    }
    const ds = createDataset({ name: 'bands', images, labels, height: h, width: w, channels: c, classes: Array.from({ length: classes }, (_, i) => String(i)) });
    const before = evaluate(imp.model, ds).loss;
    const res = fit(imp.model, ds, { epochs: 16, batchSize: 8, lr: 5e-3, optimizer: { kind: 'adam' }, seed: 2 });
    res.optimizer.dispose();
    const after = evaluate(imp.model, ds).loss;
    assert.ok(after < before * 0.7, `${name}: loss ${before} → ${after}`);
    console.log(`  ${name}: fit on 32 images, loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
    // PTQ calibration + conversion to the all-int8 model: the int8 logits track the float model's
    const qat = quantizeStatic(imp.model, ds, { batches: 4, batchSize: 8 });
    qat.eval();
    const i8 = convertToInt8(qat, undefined, { inputShape: imp.inputShape });
    const per = h * w * c, xs = new Float32Array(n * per);
    for (let i = 0; i < xs.length; i++) xs[i] = (images[i] / 255 - ds.norm.mean[0]) / ds.norm.std[0];
    const yi = i8.predict(xs, n), yf = forward(e, imp.model, xs, [n, h, w, c]);
    const range = Math.max(...yf) - Math.min(...yf), d = maxAbsDiff(yi, yf);
    assert.ok(d < 0.1 * range, `${name}: int8 vs float max diff ${d} (logit range ${range})`);
    // and back out: the int8 version of the imported model as ONNX, run by onnxruntime
    const back = await compare(i8, int8GraphToOnnx(i8.graph), [{ x: xs, y: null, n }]);
    assert.ok(back.agreement === 1 && back.maxSteps <= 1, `${name}: re-exported int8 model vs ours ${JSON.stringify(back)}`);
    i8.dispose(); imp.model.dispose();
  }
});

test('protobuf: decode → encode → decode round trip keeps the model; corrupt bytes are a clear error', () => {
  for (const name of FIXTURES) {
    const bytes = fixture(name);
    const m = decodeOnnx(bytes);
    assert.is(m.producerName, 'pytorch');
    assert.equal(m.opsets.find((o) => o.domain === '').version, 13);
    assert.equal(m.graph.nodes.map((n) => n.opType), expected(name).ops);
    const again = decodeOnnx(encodeOnnx(m));
    assert.equal(again.graph.nodes, m.graph.nodes);
    assert.equal(again.graph.inputs, m.graph.inputs);
    assert.is(again.graph.initializers.length, m.graph.initializers.length);
    for (let i = 0; i < m.graph.initializers.length; i++) {
      const [a, b] = [m.graph.initializers[i], again.graph.initializers[i]];
      assert.is(b.name, a.name); assert.equal(b.dims, a.dims); assert.equal(Array.from(b.data), Array.from(a.data));
    }
  }
  const bytes = fixture('small-cnn');
  assert.throws(() => decodeOnnx(bytes.subarray(0, bytes.length - 100)), /truncated|claims \d+ bytes/);
  assert.throws(() => decodeOnnx(new Uint8Array(0)), /empty/);
  assert.throws(() => decodeOnnx(new TextEncoder().encode('hello, this is not a model')), (err) => err instanceof QwasmError);
  assert.throws(() => decodeOnnx('x'), TypeError);
});

test('bytes: a Node Buffer at an odd byteOffset, a Uint8Array view and an ArrayBuffer all import the same model', async () => {
  const e = new Engine((await simd()).rt);
  for (const name of FIXTURES) {
    const file = readFileSync(new URL(`./fixtures/${name}.onnx`, import.meta.url));
    const ex = expected(name);
    const [n, c, h, w] = ex.inputShape;
    const x = toNhwc(Float32Array.from(ex.input), ex.inputShape);
    // the file placed at byte offsets 1..3 of a larger buffer: every tensor's raw_data is unaligned
    for (const off of [1, 2, 3]) {
      const pool = Buffer.alloc(file.length + 7, 0xab);
      file.copy(pool, off);
      const views = [pool.subarray(off, off + file.length), new Uint8Array(pool.buffer, pool.byteOffset + off, file.length)];
      for (const v of views) {
        assert.is(v.byteOffset % 4 !== 0 || off % 4 !== 0, true);
        const y = forward(e, importOnnx(e, v).model, x, [n, h, w, c]);
        const d = maxAbsDiff(y, ex.output);
        assert.ok(d < 1e-4, `${name} at offset ${off} (${v.constructor.name}): max |Δ| = ${d}`);
      }
    }
    const ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.length);
    const y = forward(e, importOnnx(e, ab).model, x, [n, h, w, c]);
    assert.ok(maxAbsDiff(y, ex.output) < 1e-4, `${name} from an ArrayBuffer`);
    assert.equal(decodeOnnx(ab).graph.nodes.length, decodeOnnx(file).graph.nodes.length);
  }
});

test('import: a Clip with bounds other than ReLU / ReLU6 becomes a Clip layer (same outputs as PyTorch)', async () => {
  const e = new Engine((await simd()).rt);
  const m = decodeOnnx(fixture('small-cnn'));
  // Relu then Clip(0, 6) in PyTorch's export; Clip(−1e30, 6) after the Relu computes the same function but is no ReLU6
  const clip = m.graph.nodes.find((n) => n.opType === 'Clip');
  const minNode = m.graph.nodes.find((n) => n.outputs[0] === clip.inputs[1]);
  minNode.attributes[0].t.data = Float32Array.of(-1e30);
  const r = importOnnx(e, encodeOnnx(m));
  const types = describeLayers(r.model).layers.map((l) => l.module.type);
  assert.ok(types.includes('Clip'), `layers: ${types}`);
  const ex = expected('small-cnn');
  const [n, c, h, w] = ex.inputShape;
  const y = forward(e, r.model, toNhwc(Float32Array.from(ex.input), ex.inputShape), [n, h, w, c]);
  assert.ok(maxAbsDiff(y, ex.output) < 1e-4, `max |Δ| = ${maxAbsDiff(y, ex.output)}`);
  r.model.dispose();
});

test('import: ReduceMean over H, W (keepdims 1 or 0) is a global average pool (same outputs as PyTorch)', async () => {
  const e = new Engine((await simd()).rt);
  const ex = expected('tiny-resnet');
  const [n, c, h, w] = ex.inputShape;
  for (const keep of [1, 0]) {
    const m = decodeOnnx(fixture('tiny-resnet'));
    const gap = m.graph.nodes.find((nd) => nd.opType === 'GlobalAveragePool');
    gap.opType = 'ReduceMean';
    gap.attributes = [{ name: 'axes', type: 7, ints: [-1, 2] }, { name: 'keepdims', type: 2, i: keep }];
    const r = importOnnx(e, encodeOnnx(m));
    const y = forward(e, r.model, toNhwc(Float32Array.from(ex.input), ex.inputShape), [n, h, w, c]);
    assert.ok(maxAbsDiff(y, ex.output) < 1e-4, `keepdims ${keep}: max |Δ| = ${maxAbsDiff(y, ex.output)}`);
    r.model.dispose();
  }
  const m = decodeOnnx(fixture('tiny-resnet'));
  const gap = m.graph.nodes.find((nd) => nd.opType === 'GlobalAveragePool');
  gap.opType = 'ReduceMean'; gap.attributes = [{ name: 'axes', type: 7, ints: [1] }];
  assert.throws(() => importOnnx(e, encodeOnnx(m)), /\(ReduceMean\): only the mean over H and W \(axes \[2, 3\]\) is supported, got axes \[1\]/);
});

test('int8: SiLU / Sigmoid / HardSwish lower to int8 lookup tables; Clip and HardSigmoid are refused naming the layer', async () => {
  const q = await simd(), e = new Engine(q.rt), rg = new InitRng(4), r = rng(6);
  const images = Uint8Array.from({ length: 16 * 6 * 6 }, () => r.int(0, 255)), labels = Uint8Array.from({ length: 16 }, (_, i) => i % 2);
  const ds = createDataset({ name: 'noise', images, labels, height: 6, width: 6, channels: 1, classes: ['a', 'b'] });
  const xs = Float32Array.from(images, (v) => (v / 255 - ds.norm.mean[0]) / ds.norm.std[0]);
  for (const Act of [HardSwish, SiLU, Sigmoid]) {
    const m = new layers.Sequential(e, [new layers.Conv2d(e, { inChannels: 1, outChannels: 4, kernel: 3 }, rg), new Act(e), new layers.GlobalAvgPool(e), new layers.Linear(e, 4, 2, rg)]);
    const qat = quantizeStatic(m, ds, { batches: 2, batchSize: 8 });
    qat.eval();
    const i8 = convertToInt8(qat, undefined, { inputShape: [6, 6, 1] });
    const yi = i8.predict(xs, 16), yf = forward(e, m, xs, [16, 6, 6, 1]);
    const range = Math.max(...yf) - Math.min(...yf), d = maxAbsDiff(yi, yf);
    assert.ok(d < 0.15 * range, `${Act.name}: int8 vs float max diff ${d} (logit range ${range})`);
    m.dispose();
  }
  for (const [act, type] of [[new Clip(e, -1, 1), 'Clip'], [new HardSigmoid(e, 0.2, 0.5), 'HardSigmoid']]) {
    const m = new layers.Sequential(e, [new layers.Conv2d(e, { inChannels: 1, outChannels: 2, kernel: 3 }, rg), act]);
    assert.throws(() => prepareQAT(m), new RegExp(`cannot quantise '1': module type '${type}' is not supported`));
    m.dispose();
  }
});

test('import: unsupported ops, attributes and graphs are errors naming the node and op', async () => {
  const e = new Engine((await simd()).rt);
  const edit = (name, fn) => { const m = decodeOnnx(fixture(name)); fn(m.graph); return encodeOnnx(m); };
  const cases = [
    [edit('small-cnn', (g) => { g.nodes.find((n) => n.opType === 'Relu').opType = 'Elu'; }), /node '.*Relu.*' \(Elu\): op 'Elu' is not supported/],
    [edit('small-cnn', (g) => { const a = g.nodes.find((n) => n.opType === 'AveragePool').attributes; a.splice(0, a.length, ...a.filter((t) => t.name !== 'ceil_mode'), { name: 'ceil_mode', type: 2, i: 1 }); }), /\(AveragePool\): ceil_mode = 1 is only supported for MaxPool/],
    [edit('small-cnn', (g) => { const r = g.nodes.find((n) => n.opType === 'Relu'); r.opType = 'Mul'; r.inputs.push(g.initializers[0].name); }), /\(Mul\): Mul with a constant operand is not supported/],
    [edit('small-cnn', (g) => { const c = g.nodes.find((n) => n.opType === 'Clip'); c.opType = 'Concat'; c.inputs = [c.inputs[0], c.inputs[0]]; c.attributes = [{ name: 'axis', type: 2, i: 2 }]; }), /\(Concat\): only the channel axis \(1\) of NCHW maps is supported, got axis 2/],
    [edit('small-cnn', (g) => { g.nodes.find((n) => n.opType === 'Conv').attributes.push({ name: 'frobnicate', type: 2, i: 1 }); }), /\(Conv\): attribute 'frobnicate' is not supported/],
    [edit('small-cnn', (g) => { g.nodes.find((n) => n.opType === 'Flatten').attributes[0].i = 2; }), /\(Flatten\): axis 2 is not supported/],
    [edit('tiny-resnet', (g) => { const c = g.nodes.find((n) => n.opType === 'Constant' && g.nodes.some((r) => r.opType === 'Reshape' && r.inputs[1] === n.outputs[0])); c.attributes[0].t.data = [-1, 3, 4]; c.attributes[0].t.dims = [3]; }), /\(Reshape\): reshaping .* to \[-1,3,4\] is not supported/],
    [edit('small-cnn', (g) => { g.outputs[0].name = '/Flatten_output_0'; g.nodes.splice(g.nodes.findIndex((n) => n.opType === 'Gemm')); }), /NCHW-ordered flatten/],
    [edit('small-cnn', (g) => { g.inputs[0].dims = ['batch', 'c', 12, 12]; }), /input 'input' dim 1 is the symbolic 'c'/],
  ];
  for (const [bytes, re] of cases) {
    try { importOnnx(e, bytes); assert.unreachable(`no error for ${re}`); } catch (err) {
      assert.ok(err instanceof OnnxImportError || err instanceof QwasmError, `${err}`);
      assert.match(err.message, re);
    }
  }
  // a failed import frees what it built: memory does not grow over repeated failures (the Reshape case fails
  // after every conv of the resnet, ~14 KB of weights, so 600 leaking imports would need 8 MB more)
  const mem = () => e.rt.memory.buffer.byteLength, grown = mem();
  for (let i = 0; i < 600; i++) assert.throws(() => importOnnx(e, cases[6][0]), /Reshape/);
  assert.is(mem(), grown, 'WASM memory grew over 600 failed imports');
  assert.throws(() => importOnnx(e, 'model.onnx'), TypeError);
  assert.throws(() => importOnnx({}, fixture('small-cnn')), TypeError);
});

test('qwasm import writes a checkpoint loadModelCheckpoint rebuilds (layers record); describeLayers round trip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-onnx-'));
  try {
    const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
    const src = fileURLToPath(new URL('./fixtures/tiny-resnet.onnx', import.meta.url));
    const out = join(dir, 'resnet.qwasm');
    const r = spawnSync(process.execPath, [bin, 'import', src, '-o', out, '--json'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.input, [8, 8, 3]);
    assert.is(summary.classes, 5);
    const e = new Engine((await simd()).rt);
    const { model, record, meta } = loadModelCheckpoint(e, out);
    assert.is(record.name, 'onnx');
    assert.is(meta.source.onnx, 'tiny-resnet.onnx');
    const ex = expected('tiny-resnet');
    const [n, c, h, w] = ex.inputShape;
    const d = maxAbsDiff(forward(e, model, toNhwc(Float32Array.from(ex.input), ex.inputShape), [n, h, w, c]), ex.output);
    assert.ok(d < 1e-4, `reloaded: max diff ${d}`);
    // saving again with the same record keeps the layers; every fixture survives save → load in-process
    const again = join(dir, 'again.qwasm');
    saveModel(again, model, record);
    assert.equal(describeLayers(loadModelCheckpoint(e, again).model), describeLayers(model));
    for (const name of FIXTURES) {
      const imp = importOnnx(e, fixture(name)), f = join(dir, `${name}.qwasm`);
      saveModel(f, imp.model, { name: 'onnx', options: { input: imp.inputShape, classes: imp.classes }, layers: describeLayers(imp.model) });
      const back = loadModelCheckpoint(e, f).model, ex2 = expected(name), [n2, c2, h2, w2] = ex2.inputShape;
      const x2 = toNhwc(Float32Array.from(ex2.input), ex2.inputShape);
      assert.equal(forward(e, back, x2, [n2, h2, w2, c2]), forward(e, imp.model, x2, [n2, h2, w2, c2]), name);
      imp.model.dispose(); back.dispose();
    }
    // a compressed import (conv split into '0a' / '0b', Linear → LowRankLinear) saved under the import's record:
    // the checkpoint records the factorised layer tree, so it reloads
    const imp = importOnnx(e, fixture('small-cnn'));
    const { model: fac } = factorize(imp.model, { rank: 2, layers: ['0', '8'] });
    const f = join(dir, 'factorised.qwasm');
    saveModel(f, fac, { name: 'onnx', options: {}, layers: describeLayers(imp.model) });
    const back = loadModelCheckpoint(e, f).model;
    assert.ok(back.layers.some((l) => l instanceof LowRankLinear));
    const ex3 = expected('small-cnn'), [n3, c3, h3, w3] = ex3.inputShape, x3 = toNhwc(Float32Array.from(ex3.input), ex3.inputShape);
    assert.equal(forward(e, back, x3, [n3, h3, w3, c3]), forward(e, fac, x3, [n3, h3, w3, c3]));
    imp.model.dispose(); fac.dispose(); back.dispose();
    // errors: missing -o, missing file, an unsupported model
    const bad = spawnSync(process.execPath, [bin, 'import', src], { encoding: 'utf8' });
    assert.is(bad.status, 2); assert.match(bad.stderr, /-o FILE/);
    const missing = spawnSync(process.execPath, [bin, 'import', join(dir, 'nope.onnx'), '-o', out], { encoding: 'utf8' });
    assert.is(missing.status, 1); assert.match(missing.stderr, /cannot read/);
    model.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

// ---------------------------------------------------------------------------------------------------------
// Export: Int8Graph → QDQ ONNX → onnxruntime-web.

const range = (a, n) => Int32Array.from({ length: n }, (_, i) => a + i);
const argmax = (v, off, n) => { let b = 0; for (let j = 1; j < n; j++) if (v[off + j] > v[off + b]) b = j; return b; };

/** Normalised NHWC batches of `ds` (as Int8Model.evaluate feeds them) with their labels. */
function batchesOf(ds, indices, batchSize = 500) {
  const it = new BatchIterator(ds, { batchSize, shuffle: false, dropLast: false, indices });
  const out = [];
  for (;;) {
    const xs = new Float32Array(batchSize * it.sampleSize), ys = new Int32Array(batchSize);
    const nb = it.next(xs, ys);
    if (nb === 0) break;
    out.push({ x: xs.subarray(0, nb * it.sampleSize), y: ys.subarray(0, nb), n: nb });
  }
  return out;
}

async function ortLogits(session, x, n, shape) {
  const r = await session.run({ input: new ort.Tensor('float32', x, [n, ...shape]) });
  return r.logits.data;
}

/** ORT vs our int8 run on the same batches: logits in output steps, argmax agreement, accuracies. */
async function compare(i8, bytes, batches) {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const step = i8.output.scale, classes = i8.classes;
  let agree = 0, count = 0, okOurs = 0, okOrt = 0, maxSteps = 0, exact = 0, values = 0;
  for (const b of batches) {
    const ours = i8.predict(b.x, b.n), theirs = await ortLogits(session, b.x, b.n, i8.inputShape);
    assert.is(theirs.length, ours.length);
    for (let i = 0; i < ours.length; i++) {
      const d = Math.round(Math.abs(ours[i] - theirs[i]) / step);
      maxSteps = Math.max(maxSteps, d); if (d === 0) exact++; values++;
    }
    for (let i = 0; i < b.n; i++) {
      const a = argmax(ours, i * classes, classes), t = argmax(theirs, i * classes, classes);
      if (a === t) agree++;
      if (b.y && a === b.y[i]) okOurs++;
      if (b.y && t === b.y[i]) okOrt++;
      count++;
    }
  }
  await session.release?.();
  return { count, agreement: agree / count, ours: okOurs / count, ort: okOrt / count, maxSteps, exact: exact / values };
}

test('export: int8 refcnn (MNIST QAT) → QDQ ONNX runs in onnxruntime (web, WASM) within 0.2 accuracy points of ours', async () => {
  const q = await simd(), e = new Engine(q.rt);
  const { train, test: testSet } = loadDataset('mnist');
  const m = buildModel(e, 'refcnn', { seed: 3 });
  fit(m, train, { epochs: 1, batchSize: 64, lr: 2e-3, indices: range(0, 3840), seed: 3 }).optimizer.dispose();
  const qat = prepareQAT(m);
  fit(qat, train, { epochs: 1, batchSize: 64, lr: 5e-4, indices: range(3840, 640), seed: 4 }).optimizer.dispose();
  qat.freezeObservers(); qat.eval();
  const i8 = convertToInt8(qat);
  const bytes = int8GraphToOnnx(i8.graph);
  const TEST = range(0, 2000);
  const ourEval = i8.evaluate(testSet, { indices: TEST }).accuracy;
  const r = await compare(i8, bytes, batchesOf(testSet, TEST));
  console.log(`  refcnn int8 on ${r.count} MNIST test images: ours ${(100 * r.ours).toFixed(2)}%, onnxruntime ${(100 * r.ort).toFixed(2)}%, ` +
    `argmax agreement ${(100 * r.agreement).toFixed(2)}%, logits identical ${(100 * r.exact).toFixed(3)}% (max ${r.maxSteps} step), ONNX ${bytes.length} bytes`);
  assert.is(r.count, 2000);
  assert.ok(Math.abs(r.ours - ourEval) < 1e-9, `predict() accuracy ${r.ours} vs evaluate() ${ourEval}`);
  assert.ok(ourEval > 0.9, `our int8 accuracy ${ourEval}`);
  assert.ok(Math.abs(r.ort - ourEval) <= 0.002, `onnxruntime ${r.ort} vs ours ${ourEval}: more than 0.2 points apart`);
  assert.ok(r.agreement >= 0.99, `argmax agreement ${r.agreement}`);
  // the ONNX file is what it claims: QDQ, opset 13, per-channel int8 weights, int32 biases, NHWC input
  const om = decodeOnnx(bytes);
  assert.equal(om.opsets, [{ domain: '', version: 13 }]);
  assert.equal(om.graph.inputs[0].dims, ['batch', 28, 28, 1]);
  const ops = new Set(om.graph.nodes.map((n) => n.opType));
  // (no Relu: the fused ReLUs' clamp is the int8 range itself here, zero point −128)
  for (const op of ['Transpose', 'QuantizeLinear', 'DequantizeLinear', 'Conv', 'MaxPool', 'Flatten', 'Gemm']) assert.ok(ops.has(op), op);
  const w = om.graph.initializers.filter((t) => t.name.endsWith('weight_q'));
  assert.ok(w.length === 4 && w.every((t) => t.dataType === 3), 'int8 weights');
  assert.ok(om.graph.initializers.filter((t) => t.name.endsWith('bias_q')).every((t) => t.dataType === 6), 'int32 biases');
  i8.dispose(); qat.dispose?.(); m.dispose();
});

test('export: every node kind (grouped / strided / padded convs, pools, residuals, GAP, low-rank, ReLU6) matches our int8 run', async () => {
  const q = await simd(), e = new Engine(q.rt), L = layers, R = new InitRng(9);
  const { train, test: testSet } = loadDataset('mnist');
  const conv = (cin, cout, k, o = {}) => new L.Conv2d(e, { inChannels: cin, outChannels: cout, kernel: k, ...o }, R);
  const models = [
    // grouped conv + ReLU6, padded max pool, identity residual, projection residual (stride 2), avg pool,
    // flatten, low-rank linear, ReLU, linear
    new L.Sequential(e, [
      conv(1, 8, 3, { padding: 1 }), new L.ReLU6(e), conv(8, 8, 3, { padding: [0, 1, 2, 1], groups: 4 }), new L.ReLU(e),
      new L.MaxPool2d(e, { kernel: 3, stride: 2, padding: 1 }),
      new L.Residual(e, new L.Sequential(e, [conv(8, 8, 3, { padding: 1 }), new L.ReLU(e), conv(8, 8, 3, { padding: 1 })]), null, new L.ReLU(e)),
      new L.Residual(e, new L.Sequential(e, [conv(8, 12, 3, { padding: 1, stride: 2 }), new L.BatchNorm2d(e, 12)]), new L.Sequential(e, [conv(8, 12, 1, { stride: 2 })]), null),
      new L.AvgPool2d(e, { kernel: 2 }), new L.Flatten(e), new LowRankLinear(e, 12 * 3 * 3, 24, 6, R), new L.ReLU(e), new L.Linear(e, 24, 10, R),
    ]),
    // the built-in resnet (BN, residual joins with ReLU, global average pool) and a depthwise mobilenet
    buildModel(e, 'resnet', { width: 8, seed: 2 }),
    buildModel(e, 'mobilenet', { width: 4, seed: 2 }),
  ];
  const batches = batchesOf(testSet, range(0, 400), 200);
  for (const [i, m] of models.entries()) {
    const qat = quantizeStatic(m, train, { batches: 3, batchSize: 32 });
    qat.eval();
    const i8 = convertToInt8(qat);
    const r = await compare(i8, int8GraphToOnnx(i8.graph), batches);
    console.log(`  model ${i}: logits identical ${(100 * r.exact).toFixed(2)}% (max ${r.maxSteps} steps), argmax agreement ${(100 * r.agreement).toFixed(2)}%`);
    assert.ok(r.maxSteps <= 3, `model ${i}: logits differ by ${r.maxSteps} output steps`);
    assert.ok(r.exact > 0.9, `model ${i}: only ${r.exact} of the logits are identical`);
    assert.ok(r.agreement >= 0.98, `model ${i}: argmax agreement ${r.agreement}`);
    i8.dispose(); m.dispose();
  }
});

test('export: bad graphs are errors naming the problem', async () => {
  assert.throws(() => int8GraphToOnnx(null), TypeError);
  assert.throws(() => int8GraphToOnnx({ nodes: 'x' }), TypeError);
  const q = await simd(), e = new Engine(q.rt);
  const { train } = loadDataset('mnist');
  const m = buildModel(e, 'mlp', { hidden: [8], seed: 1 });
  const qat = quantizeStatic(m, train, { batches: 1, batchSize: 16 });
  const i8 = convertToInt8(qat);
  const g = i8.graph;
  assert.throws(() => int8GraphToOnnx({ ...g, input: { scale: -1, zeroPoint: 0 } }), /int8GraphToOnnx|scale/);
  assert.throws(() => int8GraphToOnnx({ ...g, classes: 11 }), /classes|outputs/);
  // an MLP exports too ([1, 1, 784] input)
  const r = await compare(i8, int8GraphToOnnx(g), batchesOf(loadDataset('mnist').test, range(0, 200), 200));
  assert.ok(r.agreement >= 0.98 && r.maxSteps <= 2, JSON.stringify(r));
  i8.dispose(); m.dispose();
});

test.run();
