#!/usr/bin/env node
// Writes small .qwm fixtures and their expected int8 outputs, for readers of docs/QWM.md (the JS decoder's
// tests, the pure-WASM runner): test/fixtures/<name>.qwm + <name>.qwm.json. Nothing is trained: each model
// has its seeded random init, is calibrated (PTQ) on seeded random images, converted to int8 and run on a fixed
// input. Together the three cover every node kind and every sparse format:
//   refcnn  conv (ReLU fused), maxpool, flatten, dense linears
//   resnet  conv + folded BN, residual with and without a shortcut, strided convs, global average pool
//   mixed   ReLU6-fused padded conv, avgpool, pointwise conv on N:M 2:4 sparse kernels, padded maxpool (k3 s2 p1),
//           low-rank linear, standalone ReLU6 (1×1 avgpool), 90 % unstructured (csr) and block-sparse (2×4) linears
//           (sparse tensors gap-nibble encoded)
//   dag     a Graph (version 2, kind 10): stem conv, four branches of different depth (1×1; 1×1 → 3×3; max pool;
//           avg pool → 1×1) into a concat (three inputs on its grid, copied; the max pool's requantised), an add
//           of the concat's projection and the stem, a strided conv and a max pool concatenated, GAP + linear
// The expected JSON holds the input codes (n × h × w × c, quantised with the file's input parameters) and the
// output codes (n × classes) that Int8Model.predictCodes computes; they are the same in every build.
// usage: node scripts/make-qwm-fixture.mjs [OUTDIR]   (default test/fixtures; needs `node scripts/build.mjs` first)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  init, Engine, Graph, buildModel, layers, InitRng, LowRankLinear, createDataset, quantizeStatic, convertToInt8, encodeQwm, decodeQwm,
  Int8Model, quantizeInput, nmMask, blockMask, magnitudeMask,
} from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'test/fixtures'));
const H = 12, W = 12, C = 1, N = 3;

/** Seeded xorshift images and labels. */
function randomDataset(seed, count = 64) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const images = Uint8Array.from({ length: count * H * W * C }, () => next() & 255);
  const labels = Uint8Array.from({ length: count }, () => next() % 10);
  return createDataset({ name: 'random', images, labels, height: H, width: W, channels: C, classes: Array.from({ length: 10 }, (_, i) => `class${i}`) });
}

/** The fixed input: a smooth pattern per sample, in the normalised range. */
function fixedInput() {
  return Float32Array.from({ length: N * H * W * C }, (_, i) => 1.5 * Math.sin(0.37 * i + 0.11 * (i % 7)) + 0.25 * Math.cos(0.05 * i));
}

/** Zeroes a weight outside `keep` (K×N in×out for linears; [c × oc] for pointwise OHWI convs) and says how it was pruned. */
function prune(pruned, weight, kn, k, n, format, extra, conv = false) {
  const v = weight.toArray();
  for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) if (!kn[kk * n + j]) v[conv ? j * k + kk : kk * n + j] = 0;
  weight.write(v);
  pruned.set(weight, { kn, k, n, format, ...extra });
}

/** K×N float view of a weight (conv OHWI [oc][1][1][c] → [c × oc]). */
function knOf(weight, k, n, conv) {
  const v = weight.toArray();
  if (!conv) return v;
  const t = new Float32Array(k * n);
  for (let o = 0; o < n; o++) for (let c = 0; c < k; c++) t[c * n + o] = v[o * k + c];
  return t;
}

function mixedModel(e) {
  const rg = new InitRng(7);
  const net = new layers.Sequential(e, [
    new layers.Conv2d(e, { inChannels: C, outChannels: 8, kernel: 3, padding: 1 }, rg), new layers.ReLU6(e),
    new layers.AvgPool2d(e, { kernel: 2 }),
    new layers.Conv2d(e, { inChannels: 8, outChannels: 16, kernel: 1 }, rg), new layers.ReLU(e),
    new layers.MaxPool2d(e, { kernel: 3, stride: 2, padding: 1 }),
    new layers.Flatten(e),
    new LowRankLinear(e, 3 * 3 * 16, 32, 8, rg), new layers.Dropout(e, 0.1), new layers.ReLU6(e),
    new layers.Linear(e, 32, 24, rg), new layers.ReLU(e),
    new layers.Linear(e, 24, 10, rg),
  ]);
  const pruned = new Map();
  const pw = net.layers[3].weight, l1 = net.layers[10].weight, l2 = net.layers[12].weight;
  prune(pruned, pw, nmMask(knOf(pw, 8, 16, true), 8, 16, 2, 4), 8, 16, 'nm', { nm: [2, 4] }, true);
  prune(pruned, l1, magnitudeMask(l1.toArray(), 32, 24, 0.1), 32, 24, 'unstructured', {});
  prune(pruned, l2, blockMask(l2.toArray(), 24, 10, 2, 4, 0.5), 24, 10, 'block', { block: [2, 4] });
  return { model: net, convert: { pruned } };
}

function dagModel(e) {
  const rg = new InitRng(11), L = layers;
  const cbr = (ci, co, k = 1, s = 1) => [new L.Conv2d(e, { inChannels: ci, outChannels: co, kernel: k, stride: s, padding: (k - 1) >> 1, bias: false }, rg), new L.BatchNorm2d(e, co), new L.ReLU(e)];
  const seq = (ms) => new L.Sequential(e, ms);
  const g = new Graph(e, [
    { name: 'stem', inputs: ['input'], module: seq(cbr(C, 6, 3)) },
    { name: 'b1', inputs: ['stem'], module: seq(cbr(6, 4)) },
    { name: 'b2', inputs: ['stem'], module: seq([...cbr(6, 3), ...cbr(3, 5, 3)]) },
    { name: 'b3', inputs: ['stem'], module: new L.MaxPool2d(e, { kernel: 3, stride: 1, padding: 1 }) },
    { name: 'b4', inputs: ['stem'], module: seq([new L.AvgPool2d(e, { kernel: 3, stride: 1, padding: 1 }), ...cbr(6, 3)]) },
    { name: 'mixed0', inputs: ['b1', 'b2', 'b3', 'b4'], merge: 'concat' },
    { name: 'proj', inputs: ['mixed0'], module: seq(cbr(18, 6)) },
    { name: 'sum', inputs: ['proj', 'stem'], merge: 'add' },
    { name: 'down', inputs: ['sum'], module: seq(cbr(6, 4, 3, 2)) },
    { name: 'pool', inputs: ['sum'], module: new L.MaxPool2d(e, { kernel: 3, stride: 2, padding: 1 }) },
    { name: 'mixed1', inputs: ['down', 'pool'], merge: 'concat' },
  ]);
  const net = seq([g, new L.GlobalAvgPool(e), new L.Linear(e, 10, 10, rg)]);
  net.train(false);
  return { model: net, convert: {} };
}

const MODELS = {
  refcnn: (e) => ({ model: buildModel(e, 'refcnn', { input: [H, W, C], seed: 3 }), convert: {} }),
  resnet: (e) => ({ model: buildModel(e, 'resnet', { input: [H, W, C], seed: 4, width: 4 }), convert: {} }),
  mixed: mixedModel,
  dag: dagModel,
};

const q = await init();
const e = new Engine(q.rt);
mkdirSync(outDir, { recursive: true });
const x = fixedInput();
for (const [name, make] of Object.entries(MODELS)) {
  const { model, convert } = make(e);
  const data = randomDataset(name.length * 101);
  const qat = quantizeStatic(model, data, { batches: 2, batchSize: 16, seed: 5 });
  const meta = { labels: data.classes, mean: data.norm.mean[0], std: data.norm.std[0], source: `scripts/make-qwm-fixture.mjs (${name}, random init, PTQ on random images)` };
  const i8 = convertToInt8(qat, undefined, { ...convert, meta, inputShape: [H, W, C] });
  const bytes = encodeQwm(i8.graph);
  const inputCodes = quantizeInput(x, i8.input);
  const outputCodes = i8.predictCodes(inputCodes, N);
  // the decoded file runs bit-identically to the converted model
  const back = Int8Model.fromGraph(q.rt, decodeQwm(bytes));
  const again = back.predictCodes(inputCodes, N);
  if (again.some((v, i) => v !== outputCodes[i])) throw new Error(`${name}: the decoded model disagrees with the converted one`);
  const kinds = i8.layers().map((l) => `${l.kind}${l.backend && l.backend !== l.kind ? `/${l.backend}` : ''}`);
  writeFileSync(join(outDir, `${name}.qwm`), bytes);
  writeFileSync(join(outDir, `${name}.qwm.json`), JSON.stringify({
    file: `${name}.qwm`, bytes: bytes.length, nodes: kinds, inputShape: i8.inputShape, n: N, classes: i8.classes,
    input: i8.input, output: i8.output, inputCodes: Array.from(inputCodes), outputCodes: Array.from(outputCodes),
  }) + '\n');
  console.log(`${name}.qwm: ${bytes.length} bytes, ${kinds.join(' ')}`);
  back.dispose(); i8.dispose(); model.dispose();
}
