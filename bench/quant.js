// Quantisation on the reference CNN (MNIST): float accuracy, PTQ (min-max, percentile, weight-only), QAT
// fine-tune, the all-int8 model converted from it (accuracy, bytes, latency per image).
//   node bench/quant.js [--model refcnn] [--width 16] [--epochs 1] [--qat-epochs 1] [--limit N] [--lr 1e-3]
//                       [--qat-lr 1e-4] [--build simd] [--calib-batches 16] [--json out.json]
// QAT schedule: BN frozen after 30 % of the fine-tune steps, observers after 70 %.
import { writeFileSync } from 'node:fs';
import {
  init, Engine, buildModel, fit, evaluate, loadDataset, prepareQAT, QATSchedule, quantizeStatic, quantizeDynamic,
  weightOnlyBytes, convertToInt8,
} from '../dist/index.js';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const epochs = +arg('epochs', 1), qatEpochs = +arg('qat-epochs', 1), limit = arg('limit', null);
const lr = +arg('lr', 1e-3), qatLr = +arg('qat-lr', 1e-4), calib = +arg('calib-batches', 16), build = arg('build', 'auto');
const model = arg('model', 'refcnn'), width = arg('width', null);
const q = await init({ build });
const { train, test } = loadDataset('mnist');
const indices = limit ? Int32Array.from({ length: +limit }, (_, i) => i) : undefined;
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);
const out = { model, width: width ? +width : undefined, build: q.build, epochs, qatEpochs, lr, qatLr, trainImages: limit ? +limit : train.length, testImages: test.length };

const e = new Engine(q.rt);
const m = buildModel(e, model, { seed: 1, ...(width ? { width: +width } : {}) });
let t = performance.now();
const rf = fit(m, train, { epochs, batchSize: 64, lr, schedule: 'cosine', indices, seed: 1 });
rf.optimizer.dispose();
out.floatTrainSeconds = (performance.now() - t) / 1000;
out.float = evaluate(m, test).accuracy;
out.floatBytes = 4 * m.numParameters();
log('float', out.float, `${out.floatTrainSeconds.toFixed(0)} s`);
const floatState = m.stateDict();

const ptqM = quantizeStatic(m, train, { method: 'minmax', batches: calib, batchSize: 64 });
out.ptqMinmax = evaluate(ptqM, test).accuracy;
const i8p = convertToInt8(ptqM);
out.ptqMinmaxInt8 = i8p.evaluate(test).accuracy;
i8p.dispose();
const ptqP = quantizeStatic(m, train, { method: 'percentile', percentile: 99.99, batches: calib, batchSize: 64 });
out.ptqPercentile = evaluate(ptqP, test).accuracy;
const i8pp = convertToInt8(ptqP);
out.ptqPercentileInt8 = i8pp.evaluate(test).accuracy;
i8pp.dispose();
const dyn = quantizeDynamic(m);
out.weightOnly = evaluate(dyn, test).accuracy;
out.weightOnlyBytes = weightOnlyBytes(dyn);
log('ptq minmax', out.ptqMinmax, out.ptqMinmaxInt8, 'percentile', out.ptqPercentile, out.ptqPercentileInt8, 'weight-only', out.weightOnly);

m.loadStateDict(floatState);
const qat = prepareQAT(m);
const spe = Math.floor((limit ? +limit : train.length) / 64);
const sch = new QATSchedule(qat, { freezeObserversAt: Math.floor(0.7 * spe * qatEpochs), freezeBnAt: Math.floor(0.3 * spe * qatEpochs) });
t = performance.now();
const rq = fit(qat, train, { epochs: qatEpochs, batchSize: 64, lr: qatLr, schedule: 'cosine', indices, seed: 2, beforeStep: sch.beforeStep });
rq.optimizer.dispose();
out.qatTrainSeconds = (performance.now() - t) / 1000;
out.qat = evaluate(qat, test).accuracy;
log('qat', out.qat, `${out.qatTrainSeconds.toFixed(0)} s`);
const i8 = convertToInt8(qat);
out.int8 = i8.evaluate(test).accuracy;
out.int8Bytes = i8.bytes();
out.latencyMsBatch1 = i8.latencyMs(1, 50);
out.latencyMsPerImageBatch64 = i8.latencyMs(64, 10) / 64;
out.layers = i8.layers().filter((l) => l.bytes).map((l) => ({ name: l.name, kind: l.kind, backend: l.backend, bytes: l.bytes }));
i8.dispose();
// the float model's own latency per image (eval forward, batch 1 / 64) for comparison
for (const b of [1, 64]) {
  const x = e.persistent([b, 28, 28, 1], new Float32Array(b * 784).fill(0.1));
  m.eval();
  const times = [];
  for (let i = 0; i < (b === 1 ? 50 : 10); i++) { const s = performance.now(); e.noGrad(() => m.forward(x)); e.endStep(); times.push(performance.now() - s); }
  times.sort((a, c) => a - c);
  out[b === 1 ? 'floatLatencyMsBatch1' : 'floatLatencyMsPerImageBatch64'] = times[times.length >> 1] / b;
  x.dispose();
}
log(JSON.stringify(out, null, 1));
const file = arg('json', null);
if (file) writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
