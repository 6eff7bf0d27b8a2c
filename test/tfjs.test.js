// TF.js layers-model import (src/tfjs/): the JS-literal reader, weight decoding (vs tfjs-core), small Keras
// models built with tfjs-layers covering every supported layer (vs tfjs-layers' own forward pass), the nsfwjs
// MobileNetV2 and InceptionV3 (a Graph: Concatenate blocks) on real photos (features at a cut and logits vs
// TF.js, ≤ 1e-4), training through the import (Sequential and Graph),
// the CLI and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from '../dist/index.js';
import { Engine } from '../dist/autograd/tensor.js';
import { importTfjs, NORMALIZATIONS } from '../dist/tfjs/import.js';
import { decodeWeights, parseJsLiteral, readNsfwjs } from '../dist/tfjs/artifacts.js';
import { decodePhoto } from '../dist/data/photos.js';
import { loadModelCheckpoint } from '../dist/train/model-file.js';
import { crossEntropy } from '../dist/autograd/ops.js';
import { Optimizer } from '../dist/optim/optimizer.js';
import { main } from '../dist/cli/main.js';
import { needs, rng } from './helpers.js';
import { tfReady, referenceModel, runReference, maxAbsDiff } from './tfjs-reference.js';

const withNsfwjs = needs(test, 'nsfwjs');
const withPhotos = needs(needs(needs(test, 'nsfwjs'), 'sharp'), 'tuxpaint-stamps');
let engine;
const dir = mkdtempSync(join(tmpdir(), 'qwasm-tfjs-'));
test.before(async () => { engine = new Engine((await init({ build: 'simd' })).rt); });
test.after(() => rmSync(dir, { recursive: true, force: true }));

function forward(model, x, shape) {
  model.eval();
  const t = engine.persistent(shape, x, false);
  try { return model.forward(t).toArray(); } finally { t.dispose(); engine.endStep(); }
}

test('parseJsLiteral reads minified object literals without evaluating them', () => {
  const src = `x=1;a.exports={k:"v",'q':'w\\'s',n:-.5,e:1e-3,t:!0,f:!1,z:null,u:void 0,inf:1/0,a:[1,[2,{}]],"s p":"\\u0041"};alert(1)`;
  const at = src.indexOf('{');
  const { value, end } = parseJsLiteral(src, at);
  assert.equal(value, { k: 'v', q: "w's", n: -0.5, e: 0.001, t: true, f: false, z: null, u: undefined, inf: Infinity, a: [1, [2, {}]], 's p': 'A' });
  assert.is(src.slice(end), ';alert(1)');
  assert.throws(() => parseJsLiteral('{a:foo()}', 0), /unexpected token/);
});

test('decodeWeights matches tfjs-core for float32, uint8, uint16 and float16', async () => {
  const { tf } = await tfReady();
  const r = rng(3);
  const specs = [
    { name: 'a', shape: [2, 3], dtype: 'float32' },
    { name: 'b', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', min: -0.731, scale: 0.0123 } },
    { name: 'c', shape: [3], dtype: 'float32', quantization: { dtype: 'uint16', min: 0.25, scale: 1.5e-5 } },
    { name: 'd', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
  ];
  const bytes = new Uint8Array(24 + 5 + 6 + 8); // uint16 at an odd offset: a shard boundary gives no alignment
  bytes.set(new Uint8Array(r.f32(6).buffer), 0);
  for (let i = 24; i < bytes.length - 8; i++) bytes[i] = r.int(0, 255);
  bytes.set(new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff]).buffer), 35);
  const ours = decodeWeights(specs, bytes);
  const theirs = tf.io.decodeWeights(bytes.slice().buffer, specs);
  for (const s of specs) assert.equal(Array.from(ours.get(s.name).data), Array.from(theirs[s.name].dataSync()), s.name);
  assert.equal(Array.from(ours.get('d').data), [1, -2, 2 ** -24, 65504]);
  assert.throws(() => decodeWeights(specs, bytes.subarray(0, 30)), /weight 'c' needs bytes/);
  assert.throws(() => decodeWeights([{ name: 'e', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }], new Uint8Array(1)), /int4/);
});

/** A Keras model saved by tfjs-layers (in memory), with every weight randomised (BN statistics included). */
async function savedKeras(build, seed) {
  const { tf, tfl } = await tfReady();
  const model = build(tfl);
  const r = rng(seed);
  for (const l of model.layers) {
    const ws = l.getWeights();
    if (ws.length) l.setWeights(ws.map((w) => tf.tensor(Float32Array.from(r.f32(w.size), (v) => (l.getClassName() === 'BatchNormalization' ? 1 + 0.5 * v : 0.5 * v)), w.shape)));
  }
  let art;
  await model.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return { modelTopology: art.modelTopology, weightSpecs: art.weightSpecs, weightData: new Uint8Array(art.weightData), source: 'memory' };
}

/** The same artefacts with every float32 weight uint8- or uint16-quantised the way tfjs-converter does. */
function quantised(art, dtype) {
  const f = new Float32Array(art.weightData.buffer.slice(0));
  const levels = dtype === 'uint8' ? 255 : 65535, parts = [];
  let off = 0;
  const specs = art.weightSpecs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1), v = f.subarray(off, off + n);
    off += n;
    const min = Math.min(...v), max = Math.max(...v), scale = (max - min) / levels || 1;
    const q = (dtype === 'uint8' ? Uint8Array : Uint16Array).from(v, (x) => Math.round((x - min) / scale));
    parts.push(new Uint8Array(q.buffer));
    return { ...s, quantization: { dtype, min, scale } };
  });
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return { ...art, weightSpecs: specs, weightData: data };
}

// MobileNetV2-style: asymmetric ZeroPadding2D + 'valid' stride-2 conv, depthwise (multiplier 2, stride 2,
// 'same' → TF's bottom/right padding), BN, ReLU6, an inverted-residual Add, pools, Dense + softmax
const mobileLike = (tfl) => {
  const x = tfl.input({ shape: [13, 12, 3] });
  let y = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(x);
  y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(y);
  y = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(y);
  const a = tfl.layers.reLU({ maxValue: 6 }).apply(y);
  let b = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(a);
  b = tfl.layers.batchNormalization().apply(b);
  b = tfl.layers.reLU().apply(b);
  b = tfl.layers.conv2d({ filters: 8, kernelSize: 1, padding: 'same' }).apply(b);
  b = tfl.layers.batchNormalization().apply(b);
  let z = tfl.layers.add().apply([a, b]);
  z = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu' }).apply(z);
  z = tfl.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(z);
  z = tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid' }).apply(z);
  z = tfl.layers.globalAveragePooling2d({}).apply(z);
  z = tfl.layers.dense({ units: 6, activation: 'relu' }).apply(z);
  z = tfl.layers.dropout({ rate: 0.3 }).apply(z);
  z = tfl.layers.dense({ units: 4, activation: 'softmax' }).apply(z);
  return tfl.model({ inputs: x, outputs: z });
};
// Sequential with Flatten of a spatial map, Reshape and Activation layers
const flatLike = (tfl) => tfl.sequential({ layers: [
  tfl.layers.conv2d({ inputShape: [9, 9, 2], filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', dilationRate: 1 }),
  tfl.layers.activation({ activation: 'relu6' }),
  tfl.layers.maxPooling2d({ poolSize: 2 }),
  tfl.layers.flatten(),
  tfl.layers.reshape({ targetShape: [32] }),
  tfl.layers.dense({ units: 5 }),
  tfl.layers.activation({ activation: 'softmax' }),
] });

// InceptionV3-style: Conv2D without bias + BatchNormalization(scale = false), 'valid' max pools, blocks of
// parallel branches (1×1; 1×1 → 3×3; 3×3 'same' average pool, count_include_pad = false → 1×1; max pool)
// joined by Concatenate, a nested Concatenate (mixed9-like), an Add of two branches, then Flatten + Dense
const inceptionLike = (tfl) => {
  const cbr = (x, filters, k, strides = 1, padding = 'same') => {
    let y = tfl.layers.conv2d({ filters, kernelSize: k, strides, padding, useBias: false }).apply(x);
    y = tfl.layers.batchNormalization({ scale: false, epsilon: 1e-3 }).apply(y);
    return tfl.layers.activation({ activation: 'relu' }).apply(y);
  };
  const x = tfl.input({ shape: [15, 15, 3] });
  let y = cbr(x, 6, 3, 1, 'valid');
  y = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid' }).apply(y);
  const b1 = cbr(y, 4, 1), b2 = cbr(cbr(y, 3, 1), 5, 3);
  const b3 = cbr(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(y), 2, 1);
  y = tfl.layers.concatenate({ axis: -1 }).apply([b1, b2, b3, y]);
  const c0 = cbr(y, 3, 1);
  const inner = tfl.layers.concatenate().apply([cbr(c0, 2, [1, 3]), cbr(c0, 2, [3, 1])]);
  const sum = tfl.layers.add().apply([cbr(y, 4, 1), cbr(y, 4, 3)]);
  y = tfl.layers.concatenate().apply([inner, sum]);
  y = tfl.layers.averagePooling2d({ poolSize: 6, strides: 6, padding: 'valid' }).apply(y);
  y = tfl.layers.flatten().apply(y);
  y = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(y);
  return tfl.model({ inputs: x, outputs: y });
};

for (const [name, build, shape] of [['functional (MobileNetV2-like)', mobileLike, [3, 13, 12, 3]], ['sequential (flatten)', flatLike, [3, 9, 9, 2]],
  ['functional with Concatenate (InceptionV3-like, a Graph)', inceptionLike, [3, 15, 15, 3]]]) {
  test(`a Keras ${name} model imports and computes what tfjs-layers computes (float32, uint8, uint16 weights)`, async () => {
    const art = await savedKeras(build, 7);
    const x = rng(11).f32(shape.reduce((a, b) => a * b, 1), 2);
    for (const a of [art, quantised(art, 'uint8'), quantised(art, 'uint16')]) {
      const r = importTfjs(engine, a);
      assert.is(r.droppedActivation, 'softmax');
      assert.is(r.model.config().layers[0].type === 'Graph', build === inceptionLike, 'a Graph only where the model is not a chain');
      const ref = runReference(await referenceModel(a), x, shape)[0];
      const ours = forward(r.model, x, shape);
      const d = maxAbsDiff(ours, ref);
      assert.ok(d < 1e-5, `${name}, ${a.weightSpecs[0].quantization?.dtype ?? 'float32'}: max |Δ| ${d}`);
      r.model.dispose();
    }
  });
}

test('cut at a named layer: the features match TF.js there, a new GlobalAvgPool + Linear head follows', async () => {
  const art = await savedKeras(mobileLike, 5);
  const shape = [2, 13, 12, 3], x = rng(2).f32(2 * 13 * 12 * 3);
  const addName = art.modelTopology.config.layers.find((l) => l.class_name === 'Add').name;
  const full = importTfjs(engine, art);
  const tap = full.layerNames[addName];
  assert.ok(tap, `layerNames maps ${addName}`);
  full.model.eval();
  const t = engine.persistent(shape, x, false);
  const feats = full.model.forwardWithTaps(t, [tap]).taps.get(tap).toArray();
  t.dispose(); engine.endStep();
  const [, refFeats] = runReference(await referenceModel(art, { outputs: [addName] }), x, shape);
  assert.ok(maxAbsDiff(feats, refFeats) < 1e-5);
  const cut = importTfjs(engine, art, { cut: addName, classes: 3 });
  assert.is(cut.classes, 3);
  assert.equal(cut.model.config().layers.slice(-2).map((l) => l.type), ['GlobalAvgPool', 'Linear']);
  assert.is(forward(cut.model, x, shape).length, 2 * 3);
  full.model.dispose(); cut.model.dispose();
});

test('errors name the layer: cut inside a residual block, unknown cut, unsupported classes and activations', async () => {
  const art = await savedKeras(mobileLike, 5);
  const layers = art.modelTopology.config.layers;
  const inBody = layers.find((l) => l.class_name === 'DepthwiseConv2D').name;
  assert.throws(() => importTfjs(engine, art, { cut: inBody, classes: 2 }), new RegExp(`'${inBody}'.*inside a residual block`));
  assert.throws(() => importTfjs(engine, art, { cut: 'nope', classes: 2 }), /no layer named 'nope'/);
  assert.throws(() => importTfjs(engine, art, { cut: inBody }), /cut needs classes/);
  const bad = JSON.parse(JSON.stringify(art.modelTopology));
  bad.config.layers.find((l) => l.class_name === 'Dense').config.activation = 'elu';
  assert.throws(() => importTfjs(engine, { ...art, modelTopology: bad }), /Keras layer '\w+' \(Dense\): activation 'elu' is not supported/);
  const concat = JSON.parse(JSON.stringify(art.modelTopology));
  concat.config.layers.find((l) => l.class_name === 'Add').config.axis = 1;
  concat.config.layers.find((l) => l.class_name === 'Add').class_name = 'Concatenate';
  assert.throws(() => importTfjs(engine, { ...art, modelTopology: concat }), /\(Concatenate\): only the channel axis/);
  assert.throws(() => importTfjs(engine, { ...art, weightData: art.weightData.subarray(8) }), /memory: the weight files hold/);
});

/**
 * `steps` Adam steps of cross-entropy on x (alternating labels 0, 1); asserts the loss falls by 30 % and the
 * first parameter (the first, pretrained conv) moved: gradients reach the bottom of the model.
 */
function trainsDown(model, x, shape, steps, lr) {
  const n = shape[0], rt = engine.rt;
  const labels = rt.alloc(n * 4);
  rt.i32().set(Array.from({ length: n }, (_, i) => i % 2), labels >> 2);
  const opt = new Optimizer(engine, model.namedParameters(), { kind: 'adam' });
  const first = model.namedParameters()[0][1].tensor.toArray();
  const losses = [];
  model.train();
  for (let s = 0; s < steps; s++) {
    const t = engine.persistent(shape, x, false);
    const loss = crossEntropy(model.forward(t), labels);
    losses.push(loss.toArray()[0]);
    model.zeroGrad();
    loss.backward();
    opt.step(lr);
    t.dispose(); engine.endStep();
  }
  rt.free(labels);
  assert.ok(losses.every(Number.isFinite) && losses[steps - 1] < losses[0] * 0.7, `losses ${losses.map((l) => l.toFixed(3))}`);
  assert.not.equal(Array.from(model.namedParameters()[0][1].tensor.toArray()), Array.from(first), 'the first (pretrained) conv is trained too');
  opt.dispose?.();
}

test('a Keras Concatenate model cut at a merge trains through the Graph (the loss falls, the first conv moves)', async () => {
  const art = await savedKeras(inceptionLike, 9);
  const lastConcat = art.modelTopology.config.layers.filter((l) => l.class_name === 'Concatenate').at(-1).name;
  const r = importTfjs(engine, art, { cut: lastConcat, classes: 2 });
  assert.equal(r.model.config().layers.map((l) => l.type), ['Graph', 'GlobalAvgPool', 'Linear']);
  trainsDown(r.model, rng(5).f32(6 * 15 * 15 * 3, 2), [6, 15, 15, 3], 15, 1e-2);
  r.model.dispose();
});

withNsfwjs('nsfwjs models are read from the package without running their JS; the graph model gives a clear error', () => {
  const art = readNsfwjs('mobilenet_v2');
  assert.is(art.weightSpecs.length, 266);
  assert.ok(art.weightSpecs.every((s) => s.quantization?.dtype === 'uint8'));
  const r = importTfjs(engine, art);
  assert.equal(r.inputShape, [224, 224, 3]);
  assert.is(r.classes, 5);
  assert.is(r.model.numParameters(), 2_585_349); // + 34 112 BN running statistics = Keras' 2 619 461
  assert.equal(r.norm, NORMALIZATIONS.unit);
  assert.ok(r.frozen.includes('block_10_project_BN') && !r.frozen.includes('block_11_expand'), 'nsfwjs froze the ImageNet layers up to block_10');
  r.model.dispose();
  assert.throws(() => importTfjs(engine, 'nsfwjs:mobilenet_v2_mid'), /graph model/);
  assert.throws(() => importTfjs(engine, 'nsfwjs:nope'), /nsfwjs has no model 'nope' \(models: .*mobilenet_v2/);
});

/** n Tux Paint photos (mammals) at `size` px as float32 NHWC in [0, 1] (nsfwjs' normalisation). */
async function tuxPhotos(n, size) {
  const d = '/usr/share/tuxpaint/stamps/animals/mammals';
  const files = readdirSync(d).filter((f) => f.endsWith('.png')).sort().slice(0, n);
  const x = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) x.set(Float32Array.from(await decodePhoto(join(d, files[i]), size), (v) => v / 255), i * size * size * 3);
  return x;
}

withPhotos('nsfwjs MobileNetV2 on real photos: block_13_expand_relu features and logits match TF.js (max |Δ| ≤ 1e-4)', async () => {
  const art = readNsfwjs('mobilenet_v2');
  const n = 3, shape = [n, 224, 224, 3], x = await tuxPhotos(n, 224);
  const r = importTfjs(engine, art);
  const tap = r.layerNames.block_13_expand_relu;
  r.model.eval();
  const t = engine.persistent(shape, x, false);
  const { output, taps } = r.model.forwardWithTaps(t, [tap]);
  const logits = output.toArray(), feats = taps.get(tap).toArray();
  t.dispose(); engine.endStep(); r.model.dispose();
  const [refLogits, refFeats] = runReference(await referenceModel(art, { outputs: ['block_13_expand_relu'] }), x, shape);
  assert.is(feats.length, n * 14 * 14 * 576);
  const df = maxAbsDiff(feats, refFeats), dl = maxAbsDiff(logits, refLogits);
  assert.ok(df <= 1e-4 && dl <= 1e-4, `features max |Δ| ${df}, logits max |Δ| ${dl}`);
});

/** Runs the CLI in this process with --json, expects exit 0, and returns the JSON it printed last. */
async function cliJson(args) {
  const logs = [];
  const log = console.log;
  console.log = (s) => logs.push(String(s));
  let code;
  try { code = await main(args); } finally { console.log = log; }
  assert.is(code, 0, `qwasm ${args.join(' ')} exited ${code}`);
  return JSON.parse(logs.at(-1));
}

withPhotos('the cut MobileNetV2 trains at 96 px (autograd through every layer: the loss falls)', async () => {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 2, inputSize: 96 });
  assert.equal(r.inputShape, [96, 96, 3]);
  trainsDown(r.model, await tuxPhotos(4, 96), [4, 96, 96, 3], 6, 1e-3);
  r.model.dispose();
});

withNsfwjs('qwasm import --from nsfwjs:mobilenet_v2 --cut … writes a checkpoint that loads and records the normalisation', async () => {
  const out = join(dir, 'mnv2.qck');
  const s = await cliJson(['import', '--from', 'nsfwjs:mobilenet_v2', '--cut', 'block_13_expand_relu', '--classes', '7', '--input-size', '96', '--norm', 'keras', '-o', out, '--json']);
  assert.equal(s.input, [96, 96, 3]);
  assert.is(s.classes, 7);
  const m = loadModelCheckpoint(engine, out);
  assert.equal(m.meta.normalization, { ...NORMALIZATIONS.keras, name: 'keras' });
  assert.is(m.meta.layerNames.block_13_expand_relu, m.model.config().layers.length - 3 + '');
  assert.is(m.model.numParameters(), s.parameters);
  m.model.dispose();
  const err = [];
  const e0 = console.error;
  console.error = (s) => err.push(String(s));
  try {
    assert.is(await main(['import', '--from', 'nsfwjs:mobilenet_v2', '--cut', 'block_13_expand_relu', '-o', out]), 2);
    assert.is(await main(['import', '--cut', 'x', '--classes', '2', '-o', out]), 2);
  } finally { console.error = e0; }
  assert.match(err.join('\n'), /--cut needs --classes/);
  assert.match(err.join('\n'), /give --from SOURCE/);
});

withNsfwjs('nsfwjs InceptionV3 imports as a Graph (Concatenate blocks) and cuts at a named layer', () => {
  const r = importTfjs(engine, 'nsfwjs:inception_v3');
  assert.equal(r.inputShape, [299, 299, 3]);
  assert.is(r.classes, 5);
  const g = r.model.config().layers[0];
  assert.is(g.type, 'Graph');
  assert.is(g.nodes.filter((n) => n.merge === 'concat').length, 15);
  assert.is(r.model.numParameters(), 22_343_653); // Keras' 22 360 869 holds BN moving mean / var, not the fixed γ = 1 (scale = False)
  r.model.dispose();
  const cut = importTfjs(engine, 'nsfwjs:inception_v3', { cut: 'mixed7', classes: 2, inputSize: 139 });
  assert.equal(cut.model.config().layers.map((l) => l.type), ['Graph', 'GlobalAvgPool', 'Linear']);
  assert.is(cut.model.config().layers[0].output, 'mixed7');
  assert.ok(!cut.model.config().layers[0].nodes.some((n) => n.name === 'mixed8'), 'nothing past the cut');
  assert.is(forward(cut.model, new Float32Array(139 * 139 * 3).fill(0.5), [1, 139, 139, 3]).length, 2);
  cut.model.dispose();
});

withPhotos('nsfwjs InceptionV3 on 2 real photos (299 px): mixed7 features and logits match TF.js (max |Δ| ≤ 1e-4)', async () => {
  const art = readNsfwjs('inception_v3');
  const n = 2, shape = [n, 299, 299, 3], x = await tuxPhotos(n, 299);
  const full = importTfjs(engine, art), cut = importTfjs(engine, art, { cut: 'mixed7', classes: 2 });
  const logits = forward(full.model, x, shape);
  const graph = cut.model.children()[0][1]; // the Graph ending at mixed7, before the new head
  const feats = forward(graph, x, shape);
  full.model.dispose(); cut.model.dispose();
  const [refLogits, refFeats] = runReference(await referenceModel(art, { outputs: ['mixed7'] }), x, shape);
  assert.is(feats.length, n * 17 * 17 * 768);
  const df = maxAbsDiff(feats, refFeats), dl = maxAbsDiff(logits, refLogits);
  console.log(`InceptionV3: mixed7 features max |Δ| ${df.toExponential(2)}, logits max |Δ| ${dl.toExponential(2)}`);
  assert.ok(df <= 1e-4 && dl <= 1e-4, `features max |Δ| ${df}, logits max |Δ| ${dl}`);
});

withNsfwjs('qwasm import --from nsfwjs:inception_v3 --cut mixed7 writes a Graph checkpoint that loads and computes the same', async () => {
  const out = join(dir, 'incep.qck');
  const s = await cliJson(['import', '--from', 'nsfwjs:inception_v3', '--cut', 'mixed7', '--classes', '3', '--input-size', '139', '-o', out, '--json']);
  assert.equal(s.input, [139, 139, 3]);
  const m = loadModelCheckpoint(engine, out);
  assert.is(m.model.numParameters(), s.parameters);
  const again = importTfjs(engine, 'nsfwjs:inception_v3', { cut: 'mixed7', classes: 3, inputSize: 139 });
  const x = rng(4).f32(139 * 139 * 3), shape = [1, 139, 139, 3];
  assert.ok(maxAbsDiff(forward(m.model, x, shape), forward(again.model, x, shape)) === 0, 'the checkpoint computes what the import computes');
  m.model.dispose(); again.model.dispose();
});

test.run();
