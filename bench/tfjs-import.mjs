// The nsfwjs MobileNetV2 imported into qwasm vs TF.js (tfjs-layers on the same artefacts):
//   1. import time (read the package's JS files, decode, build);
//   2. max |Δ| of the block_13_expand_relu features and the logits on N real photos (Tux Paint stamps, 224 px,
//      nsfwjs' [0, 1] input), against tfjs-layers on the cpu backend;
//   3. forward throughput (images/s, batch 16, one thread) at 96 and 224 px: qwasm's float32 training engine
//      in eval mode vs tfjs-backend-wasm (1 thread, SIMD) on the same model, interleaved, median of rounds;
//   4. fine-tuning throughput at 96 px (cut at block_13_expand_relu + new head, every layer trained, Adam).
// usage: node bench/tfjs-import.mjs [--images 100] [--rounds 3] [--build simd]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { init } from '../dist/index.js';
import { Engine } from '../dist/autograd/tensor.js';
import { importTfjs } from '../dist/tfjs/import.js';
import { readNsfwjs } from '../dist/tfjs/artifacts.js';
import { decodePhoto } from '../dist/data/photos.js';
import { trainStep } from './train-step.mjs';
import { tfReady, referenceModel, runReference, maxAbsDiff } from '../test/tfjs-reference.js';

const { values: o } = parseArgs({ options: { images: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' }, build: { type: 'string', default: 'simd' }, skip: { type: 'string', default: '' } } });
const N = Number(o.images), ROUNDS = Number(o.rounds), skip = o.skip.split(',');
const cpu = execSync("lscpu | grep 'Model name' | sed 's/.*: *//'").toString().trim();
console.log(`${new Date().toISOString().slice(0, 10)}, ${cpu}, node ${process.version}, qwasm build ${o.build}, one thread`);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

const q = await init({ build: o.build });
const engine = new Engine(q.rt);

// 1. import time
const times = [];
let imported;
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  imported?.model.dispose();
  imported = importTfjs(engine, 'nsfwjs:mobilenet_v2');
  times.push(performance.now() - t0);
}
console.log(`import nsfwjs:mobilenet_v2 (read JS + base64, dequantise, build ${imported.model.numParameters()} parameters): median ${(median(times) / 1000).toFixed(2)} s of ${ROUNDS}`);

// 2. agreement with TF.js on N photos
const art = readNsfwjs('mobilenet_v2');
if (!skip.includes('check')) {
  await tfReady();
  const ref = await referenceModel(art, { outputs: ['block_13_expand_relu'] });
  const root = '/usr/share/tuxpaint/stamps/animals';
  const files = readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith('.png')).sort().slice(0, N).map((f) => join(root, String(f)));
  if (files.length < N) throw new Error(`only ${files.length} Tux Paint photos found under ${root}`);
  const tap = imported.layerNames.block_13_expand_relu, B = 10, per = 224 * 224 * 3;
  let df = 0, dl = 0, maxFeat = 0, maxLogit = 0;
  imported.model.eval();
  for (let s = 0; s < N; s += B) {
    const n = Math.min(B, N - s), x = new Float32Array(n * per);
    for (let i = 0; i < n; i++) x.set(Float32Array.from(await decodePhoto(files[s + i], 224), (v) => v / 255), i * per);
    const t = engine.persistent([n, 224, 224, 3], x, false);
    const r = engine.noGrad(() => imported.model.forwardWithTaps(t, [tap]));
    const logits = r.output.toArray(), feats = r.taps.get(tap).toArray();
    t.dispose(); engine.endStep();
    const [rl, rf] = runReference(ref, x, [n, 224, 224, 3]);
    df = Math.max(df, maxAbsDiff(feats, rf)); dl = Math.max(dl, maxAbsDiff(logits, rl));
    for (const v of rf) maxFeat = Math.max(maxFeat, Math.abs(v));
    for (const v of rl) maxLogit = Math.max(maxLogit, Math.abs(v));
  }
  console.log(`vs tfjs-layers (cpu backend) on ${N} Tux Paint photos at 224 px: block_13_expand_relu max |Δ| ${df.toExponential(2)} (values up to ${maxFeat.toFixed(2)}), logits max |Δ| ${dl.toExponential(2)} (values up to ${maxLogit.toFixed(2)})`);
}

// 3. forward throughput, batch 16, one thread
await tfReady(); // first: tfReady() selects the cpu backend once, which must not undo the switch below
setWasmPaths(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).href.replace('file://', ''));
setThreadsCount(1);
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise');
await tf.ready();
const checkBackend = () => { if (tf.getBackend() !== 'wasm') throw new Error(`the peer runs on '${tf.getBackend()}', not wasm`); };
console.log(`peer: tfjs-backend-wasm ${tf.version_core}, backend '${tf.getBackend()}', ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, 1 thread`);
const BS = 16;
for (const size of [96, 224]) {
  if (skip.includes(`fwd${size}`)) continue;
  const m = importTfjs(engine, 'nsfwjs:mobilenet_v2', { inputSize: size });
  m.model.eval();
  const refTopo = JSON.parse(JSON.stringify(art.modelTopology));
  refTopo.model_config.config.layers[0].config.batch_input_shape = [null, size, size, 3];
  // at 96 px the 7×7 head pool does not fit: both sides get the global pool qwasm imports it as
  if (size !== 224) for (const l of refTopo.model_config.config.layers) if (l.class_name === 'AveragePooling2D') l.config.pool_size = l.config.strides = [size / 32, size / 32];
  const ref = await referenceModel({ ...art, modelTopology: refTopo });
  checkBackend();
  const x = Float32Array.from({ length: BS * size * size * 3 }, (_, i) => ((i * 7919) % 255) / 255);
  const xt = engine.persistent([BS, size, size, 3], x, false), xs = tf.tensor4d(x, [BS, size, size, 3]);
  const run = {
    qwasm: () => { engine.noGrad(() => m.model.forward(xt).toArray()); engine.endStep(); },
    'tfjs-wasm': () => tf.tidy(() => ref.predict(xs).dataSync()),
  };
  for (const f of Object.values(run)) f(); // warm-up
  const t = { qwasm: [], 'tfjs-wasm': [] };
  for (let r = 0; r < ROUNDS; r++) for (const [k, f] of Object.entries(run)) { const t0 = performance.now(); f(); t[k].push(performance.now() - t0); }
  const ips = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, BS / (median(v) / 1000)]));
  console.log(`forward ${size} px, batch ${BS}: qwasm ${ips.qwasm.toFixed(1)} images/s, tfjs-backend-wasm ${ips['tfjs-wasm'].toFixed(1)} images/s (qwasm ${(ips.qwasm / ips['tfjs-wasm']).toFixed(2)}×), median of ${ROUNDS}`);
  xt.dispose(); xs.dispose(); m.model.dispose();
}

// 4. fine-tuning throughput at 96 px
if (!skip.includes('train')) {
  const m = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 7, inputSize: 96 });
  const { step } = trainStep(engine, m.model, { batch: BS, size: 96, classes: 7 });
  step();
  const ts = [];
  for (let r = 0; r < ROUNDS; r++) { const t0 = performance.now(); step(); ts.push(performance.now() - t0); }
  console.log(`fine-tuning 96 px, batch ${BS} (cut at block_13_expand_relu, ${m.model.numParameters()} parameters, all trained, Adam): ${(BS / (median(ts) / 1000)).toFixed(1)} images/s, median of ${ROUNDS}`);
}
