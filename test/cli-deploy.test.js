// `qwasm export`, `qwasm run`, `qwasm info` (src/cli/export.ts, run.ts, info.ts), run in-process through main().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../dist/cli/main.js';
import { Engine, buildModel, saveModel, decodeQwm, encodeQwm, buildInt8Graph, quantizeStatic, loadDataset, Int8Model } from '../dist/index.js';
import { loadQwm } from '../dist/runtime-entry.js';
import { builds } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'qwasm-deploy-'));
const ckpt = join(dir, 'refcnn.ckpt');

/** Runs the CLI in-process; returns { code, out, err }. */
async function cli(...args) {
  const out = [], err = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a) => out.push(a.join(' '));
  console.error = (...a) => err.push(a.join(' '));
  try { return { code: await main(args), out: out.join('\n'), err: err.join('\n') }; } finally { console.log = log; console.error = error; }
}

test('export: checkpoint → .qwm by PTQ (labels and normalisation stored), --eval', async () => {
  const [q] = (await builds()).slice(-1);
  const m = buildModel(new Engine(q.rt), 'refcnn', { seed: 1 });
  saveModel(ckpt, m, { name: 'refcnn', options: { seed: 1 } }, { dataset: 'mnist' });
  m.dispose();
  const out = join(dir, 'refcnn.qwm');
  const r = await cli('export', ckpt, '-o', out, '--calib', '1', '--eval', '200', '--json');
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out);
  assert.is(res.format, 'qwm');
  const bytes = readFileSync(out);
  assert.is(res.bytes, bytes.length);
  const g = decodeQwm(new Uint8Array(bytes));
  assert.equal(g.meta.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.is(g.meta.mean, 0.1307);
  assert.ok(res.int8Accuracy >= 0 && res.int8Accuracy <= 1);
});

test('export uses a checkpoint\'s QAT state (meta.quantState) instead of calibrating', async () => {
  const [q] = (await builds()).slice(-1);
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { hidden: [16], seed: 4 });
  const { train } = loadDataset('mnist');
  const state = quantizeStatic(m, train, { batches: 1, batchSize: 32 }).quantState();
  const file = join(dir, 'mlp-qat.ckpt'), out = join(dir, 'mlp.qwm');
  saveModel(file, m, { name: 'mlp', options: { hidden: [16], seed: 4 } }, { dataset: 'mnist', quantState: state });
  const r = await cli('export', file, '--format', 'qwm', '-o', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /QAT state/);
  const got = decodeQwm(new Uint8Array(readFileSync(out)));
  const want = buildInt8Graph(m, state, { inputShape: [28, 28, 1] });
  assert.equal(encodeQwm({ ...got, meta: {} }), encodeQwm({ ...want, meta: {} }));
  m.dispose();
});

test('info: layers, kernels, shapes, bytes, sparsity (text and --json)', async () => {
  const file = join(dir, 'refcnn.qwm');
  const r = await cli('info', file, '--json');
  assert.is(r.code, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.layers.map((l) => l.kind), ['conv', 'maxpool', 'conv', 'maxpool', 'flatten', 'linear', 'linear']);
  assert.equal(d.layers[0].shape, [26, 26, 32]);
  assert.is(d.layers[5].kernel, 'dense');
  assert.is(d.layers[5].weights, 1600 * 128);
  assert.ok(d.layers.reduce((a, l) => a + l.bytes, 0) < d.bytes);
  const t = await cli('info', file);
  assert.match(t.out, /\.qwm v1, \d+ bytes, 7 nodes/);
  assert.match(t.out, /layer\s+kind\s+kernel/);
  const mixed = new URL('./fixtures/mixed.qwm', import.meta.url);
  if (existsSync(mixed)) {
    const x = JSON.parse((await cli('info', mixed.pathname, '--json')).out);
    assert.equal(x.layers.filter((l) => l.kernel && !['conv', 'dense'].includes(l.kernel)).map((l) => l.kernel), ['nm 2:4', 'lowrank', 'csr', 'block 2×4']);
  }
});

test('run: image files and a dataset (accuracy equals Int8Model.evaluate)', async () => {
  const [q] = (await builds()).slice(-1);
  const file = join(dir, 'refcnn.qwm');
  const img = join(dir, 'digit.pgm');
  const px = Uint8Array.from({ length: 28 * 28 }, (_, i) => ((i % 28) - 14) ** 2 + ((i / 28 | 0) - 14) ** 2 < 40 ? 255 : 0);
  writeFileSync(img, Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.from(px)]));
  const r = await cli('run', file, img, '--json', '--top', '2');
  assert.is(r.code, 0, r.err);
  const p = JSON.parse(r.out).predictions[0];
  assert.is(p.top.length, 2);
  const model = await loadQwm(readFileSync(file), { runtime: q.rt });
  const logits = model.predict(px);
  assert.is(p.top[0].logit, Math.max(...logits));
  assert.is(model.classify(px)[0].index, p.top[0].index);
  model.dispose();
  const d = await cli('run', file, '--data', 'mnist', '--count', '300', '--json');
  assert.is(d.code, 0, d.err);
  const res = JSON.parse(d.out);
  const i8 = Int8Model.fromGraph(q.rt, decodeQwm(new Uint8Array(readFileSync(file))));
  const { test: ts } = loadDataset('mnist');
  assert.is(res.count, 300);
  assert.is(res.accuracy, i8.evaluate(ts, { indices: Array.from({ length: 300 }, (_, i) => i) }).accuracy);
  i8.dispose();
});

test('export --format onnx writes an ONNX model (src/onnx/export.ts)', async () => {
  const out = join(dir, 'refcnn.onnx');
  const r = await cli('export', join(dir, 'refcnn.qwm'), '-o', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /onnx/);
  assert.ok(readFileSync(out).length > 1000);
});

test('export --format wasm: a standalone .wasm (scalar build + model) that runs without the JS runtime', async () => {
  const qwm = join(dir, 'refcnn-w.qwm'), out = join(dir, 'refcnn.wasm');
  assert.is((await cli('export', ckpt, '-o', qwm, '--calib', '1')).code, 0);
  const r = await cli('export', qwm, '-o', out, '--json');
  assert.is(r.code, 0, r.err);
  assert.is(JSON.parse(r.out).format, 'wasm');
  // instantiate it bare (no imports) and run two MNIST test images through qwm_run_f32
  const { instance } = await WebAssembly.instantiate(readFileSync(out), {});
  const x = instance.exports;
  assert.is(x.qwm_main(), 0); // loads the embedded model (no embedded input: 0)
  assert.is(x.qwm_input_size(), 784);
  assert.is(x.qwm_output_size(), 10);
  const { test: ts } = loadDataset('mnist');
  const n = 2, xs = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) xs[i] = (ts.images[i] / 255 - ts.norm.mean[0]) / ts.norm.std[0];
  const inPtr = x.qw_alloc(xs.byteLength), outPtr = x.qw_alloc(n * 10 * 4);
  new Float32Array(x.memory.buffer, inPtr, xs.length).set(xs);
  assert.is(x.qwm_run_f32(inPtr, n, outPtr), 0);
  const got = new Float32Array(x.memory.buffer, outPtr, n * 10).slice();
  const [q] = (await builds()).slice(-1);
  const i8 = Int8Model.fromGraph(q.rt, decodeQwm(new Uint8Array(readFileSync(qwm))));
  assert.equal(got, i8.predict(xs, n));
  i8.dispose();
});

test('bad invocations: usage errors exit 2, bad files exit 1 with the reason', async () => {
  for (const [args, code, msg] of [
    [['export', ckpt], 2, /-o FILE is required/],
    [['export', ckpt, '-o', 'x.qwm', '--format', 'tflite'], 2, /--format must be qwm, onnx or wasm/],
    [['export', join(dir, 'missing.ckpt'), '-o', join(dir, 'x.qwm')], 1, /cannot read \(ENOENT\)/],
    [['run', join(dir, 'refcnn.qwm')], 2, /give IMAGE files or --data/],
    [['run'], 2, /MODEL\.qwm is required/],
    [['info'], 2, /give one MODEL\.qwm/],
    [['info', ckpt], 1, /is a float checkpoint \(\.qck\).*'qwasm info' takes a \.qwm model/],
  ]) {
    const r = await cli(...args);
    assert.is(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
  }
  const bad = new Uint8Array(readFileSync(join(dir, 'refcnn.qwm')));
  bad[100] ^= 0xff;
  writeFileSync(join(dir, 'bad.qwm'), bad);
  const r = await cli('run', join(dir, 'bad.qwm'), '--data', 'mnist');
  assert.is(r.code, 1);
  assert.match(r.err, /CRC-32 mismatch/);
});

test('the runtime entry imports no training code (dist import graph)', () => {
  const seen = new Set(), stack = ['runtime-entry.js'];
  const distDir = new URL('../dist/', import.meta.url);
  while (stack.length) {
    const f = stack.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    const src = readFileSync(new URL(f, distDir), 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const rel = m[1] ?? m[2];
      stack.push(new URL(rel, new URL(f, distDir)).pathname.slice(distDir.pathname.length));
    }
  }
  const bad = [...seen].filter((f) => /^(autograd|nn|train|data|optim|quant|compress|transfer|cli|pipeline)\//.test(f) || f === 'index.js');
  assert.equal(bad, [], `runtime entry pulls in ${bad.join(', ')}`);
  assert.ok(seen.has('deploy/runner.js') && seen.has('kernels/sparse.js'));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
