// refcnn pruned 90 % unstructured (magnitude, every conv / linear), int8 batch-1 latency: 3×3 convs sparse
// (im2col + SparseMatrixS8) vs dense (PackedConv2dS8); everything else identical. Interleaved rounds, medians.
//   node bench/sparse-conv.mjs [--rounds N] [--runs N] [--batch B]
import { init, Engine, buildModel, loadDataset, quantizeStatic, convertToInt8, prunedWeights, Pruner } from '../dist/index.js';
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? Number(args[i + 1]) : d; };
const rounds = opt('--rounds', 9), runs = opt('--runs', 50), batch = opt('--batch', 1);
const q = await init({ build: process.env.QWASM_BUILD ?? 'auto' });
const e = new Engine(q.rt);
const { train } = loadDataset('mnist');
const m = buildModel(e, 'refcnn', { seed: 1 });
new Pruner(m, { sparsity: 0.9 }).dispose(); // one-shot magnitude pruning, each layer to 90 %
const qat = quantizeStatic(m, train, { batches: 2, batchSize: 32, seed: 3 });
qat.eval();
const pruned = prunedWeights(m);
const sparse = convertToInt8(qat, undefined, { pruned });
const dense = convertToInt8(qat, undefined, { pruned, backend: (i) => (i.kind === 'conv' ? 'dense' : undefined) });
console.log(`build ${q.build}, batch ${batch}`);
console.log('sparse:', sparse.layers().map((l) => `${l.name}:${l.kind}/${l.backend}`).join(' '));
console.log('dense: ', dense.layers().map((l) => `${l.name}:${l.kind}/${l.backend}`).join(' '));
const x = new Float32Array(batch * 784).map((_, i) => Math.sin(i) * 1.5);
const a = sparse.predictCodes(new Int8Array(batch * 784).map((_, i) => (i * 37) % 255 - 128), batch);
const b = dense.predictCodes(new Int8Array(batch * 784).map((_, i) => (i * 37) % 255 - 128), batch);
if (a.some((v, i) => v !== b[i])) throw new Error('sparse and dense outputs differ');
const t = { sparse: [], dense: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? ['dense', 'sparse'] : ['sparse', 'dense'];
  for (const k of order) t[k].push((k === 'sparse' ? sparse : dense).latencyMs(batch, runs));
}
const med = (v) => [...v].sort((p, r) => p - r)[v.length >> 1];
const ms = med(t.sparse), md = med(t.dense);
const ratios = t.sparse.map((v, i) => t.dense[i] / v);
console.log(`median ms: sparse ${ms.toFixed(4)}  dense ${md.toFixed(4)}  dense/sparse ${(md / ms).toFixed(2)}×  (per-round ratios ${ratios.map((v) => v.toFixed(2)).join(' ')}; median ${med(ratios).toFixed(2)}×)`);
void x;
