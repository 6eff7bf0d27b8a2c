// Training engine end to end on real MNIST subsets: learning, seeded determinism, NaN stop, checkpoints, CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builds } from './helpers.js';
import { Engine, buildModel, fit, evaluate, balancedAccuracy, mostPredicted, sumConfusions, loadDataset, saveModel, loadModelCheckpoint, loadModel } from '../dist/index.js';

const { train, test: testSet } = loadDataset('mnist');
const first = (n) => Int32Array.from({ length: n }, (_, i) => i);

test('refcnn learns MNIST from 3200 images (every build)', async () => {
  for (const q of await builds()) {
    const e = new Engine(q.rt);
    const m = buildModel(e, 'refcnn', { seed: 3 });
    const r = fit(m, train, { epochs: 1, batchSize: 64, lr: 2e-3, indices: first(3200), seed: 3 });
    assert.is(r.steps, 50);
    const ev = evaluate(m, testSet, 250, first(1000));
    assert.ok(ev.accuracy > 0.85, `${q.build}: accuracy ${ev.accuracy} after 50 steps`);
    // the confusion counts behind the accuracy: every image once, on the diagonal when right, rows = true labels
    assert.is(ev.confusion.length, 100);
    assert.is(ev.confusion.reduce((a, b) => a + b, 0), 1000);
    let diag = 0;
    for (let c = 0; c < 10; c++) {
      diag += ev.confusion[c * 11];
      const row = ev.confusion.slice(c * 10, c * 10 + 10).reduce((a, b) => a + b, 0);
      assert.is(row, testSet.labels.slice(0, 1000).filter((l) => l === c).length);
    }
    assert.is(diag / 1000, ev.accuracy);
    m.dispose(); r.optimizer.dispose();
  }
});

test('balanced accuracy and the most predicted class from confusion counts', () => {
  // 3 classes of 8 / 1 / 1 true images; a model that always says class 0 is 80 % accurate but 1/3 balanced
  const always0 = Int32Array.from([8, 0, 0, 1, 0, 0, 1, 0, 0]);
  assert.is(balancedAccuracy(always0), 1 / 3);
  assert.equal(mostPredicted(always0), { index: 0, share: 1 });
  const mixed = Int32Array.from([6, 2, 0, 0, 1, 0, 0, 1, 0]); // class 2 all wrong
  assert.ok(Math.abs(balancedAccuracy(mixed) - (6 / 8 + 1 + 0) / 3) < 1e-12);
  assert.equal(mostPredicted(mixed), { index: 0, share: 0.6 });
  // a class with no true image does not count; sums pool seeds / folds
  assert.is(balancedAccuracy(Int32Array.from([2, 0, 0, 0])), 1);
  assert.equal(Array.from(sumConfusions([always0, mixed])), [14, 2, 0, 1, 1, 0, 1, 1, 0]);
  assert.throws(() => balancedAccuracy(new Int32Array(5)), /square/);
  assert.throws(() => sumConfusions([always0, new Int32Array(4)]), /different class counts/);
  assert.throws(() => balancedAccuracy(new Int32Array(4)), /empty/);
});

test('same seed and build give bit-identical weights; another seed does not', async () => {
  const [q] = (await builds()).slice(-1);
  const run = (seed) => {
    const e = new Engine(q.rt);
    const m = buildModel(e, 'mobilenet', { seed, width: 8 });
    const r = fit(m, train, { epochs: 1, batchSize: 16, lr: 1e-3, indices: first(160), seed, shift: 2 });
    const s = m.stateDict();
    m.dispose(); r.optimizer.dispose();
    return Object.values(s).map((t) => Buffer.from(t.data.buffer).toString('base64')).join();
  };
  const a = run(5), b = run(5), c = run(6);
  assert.ok(a === b, 'same seed differs');
  assert.ok(a !== c, 'different seeds agree');
});

test('resnet and mlp (with dropout) train a few steps without error', async () => {
  const [q] = (await builds()).slice(-1);
  const e = new Engine(q.rt);
  for (const [name, o] of [['resnet', { width: 8 }], ['mlp', { hidden: [64], dropout: 0.2 }]]) {
    const m = buildModel(e, name, { seed: 1, ...o });
    const r = fit(m, train, { epochs: 1, batchSize: 32, lr: 1e-3, indices: first(320), optimizer: { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 1e-4 }, schedule: 'cosine', warmupSteps: 2, clipNorm: 5 });
    assert.ok(Number.isFinite(r.finalTrainLoss), name);
    m.dispose(); r.optimizer.dispose();
  }
});

test('a diverging run stops with a message naming the step', async () => {
  const [q] = await builds();
  const e = new Engine(q.rt);
  const m = buildModel(e, 'mlp', { seed: 1, hidden: [32] });
  // a weight blown up to infinity after step 2 (as a too-high learning rate would) must stop step 3
  const w = m.parameters()[0];
  assert.throws(() => fit(m, train, { epochs: 1, batchSize: 32, lr: 1e-3, indices: first(3200), afterStep: (s) => { if (s === 2) w.data().fill(Infinity); } }),
    /the loss became NaN at step 3/);
  m.dispose();
});

test('checkpoint round trip reproduces the evaluation; a corrupt file is a clear error', async () => {
  const [q] = await builds();
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-'));
  const e = new Engine(q.rt);
  const m = buildModel(e, 'refcnn', { seed: 2 });
  const r = fit(m, train, { epochs: 1, batchSize: 32, lr: 1e-3, indices: first(320) });
  const file = join(dir, 'm.qck');
  saveModel(file, m, { name: 'refcnn', options: { seed: 2 } }, { step: r.steps }, r.optimizer);
  const before = evaluate(m, testSet, 250, first(500));
  const back = loadModelCheckpoint(e, file);
  assert.is(loadModel, loadModelCheckpoint, 'the deprecated name loadModel stays an alias of loadModelCheckpoint');
  const after = evaluate(back.model, testSet, 250, first(500));
  assert.is(after.accuracy, before.accuracy);
  assert.ok(Object.keys(back.optimizerState).length > 0);
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 7));
  assert.throws(() => loadModelCheckpoint(e, file), /truncated|length|checksum|CRC|corrupt/i);
  m.dispose(); back.model.dispose(); r.optimizer.dispose();
});

test('CLI: qwasm train --json then qwasm eval', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-'));
  const out = join(dir, 'cli.qck');
  const res = JSON.parse(execFileSync(process.execPath, ['bin/qwasm.js', 'train', '--model', 'mlp', '--data', 'mnist', '--hidden', '32',
    '--max-steps', '20', '--limit', '640', '--out', out, '--json'], { encoding: 'utf8' }));
  for (const k of ['testAccuracy', 'imagesPerSecond', 'seconds', 'epochs', 'build']) assert.ok(k in res, `missing ${k}`);
  assert.ok(res.testAccuracy > 0.5, `accuracy ${res.testAccuracy}`);
  const ev = JSON.parse(execFileSync(process.execPath, ['bin/qwasm.js', 'eval', '--model', out, '--data', 'mnist', '--json'], { encoding: 'utf8' }));
  assert.is(ev.testAccuracy, res.testAccuracy);
  let code = 0;
  try { execFileSync(process.execPath, ['bin/qwasm.js', 'train', '--model', 'nope', '--data', 'mnist'], { stdio: 'pipe' }); } catch (err) { code = err.status; }
  assert.is(code, 2);
});

test('gradient accumulation: 2 × 16 equals one batch of 32 (mlp, SGD)', async () => {
  const [q] = await builds();
  const run = (batchSize, accumulateSteps) => {
    const e = new Engine(q.rt);
    const m = buildModel(e, 'mlp', { seed: 7, hidden: [24] });
    const r = fit(m, train, { epochs: 1, batchSize, lr: 0.1, indices: first(64), seed: 2, accumulateSteps, optimizer: { kind: 'sgd' }, maxSteps: accumulateSteps * 2 });
    const w = m.parameters().map((p) => p.toArray());
    m.dispose(); r.optimizer.dispose();
    return w;
  };
  const a = run(32, 1), b = run(16, 2);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i].length; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-5, `param ${i}[${j}] ${a[i][j]} vs ${b[i][j]}`);
});

test('LR schedules: warm-up, step, cosine', async () => {
  const { makeSchedule } = await import('../dist/index.js');
  const st = makeSchedule({ kind: 'step', lr: 1, stepSize: 10, gamma: 0.5 });
  assert.is(st(0), 1); assert.is(st(9), 1); assert.is(st(10), 0.5); assert.is(st(25), 0.25);
  const cos = makeSchedule({ kind: 'cosine', lr: 1, totalSteps: 100, minLr: 0 });
  assert.is(cos(0), 1); assert.ok(Math.abs(cos(50) - 0.5) < 1e-12); assert.ok(cos(100) < 1e-12);
  const w = makeSchedule({ kind: 'constant', lr: 2, warmupSteps: 4, warmupStart: 0 });
  assert.equal([0, 1, 2, 3, 4, 10].map(w), [0.5, 1, 1.5, 2, 2, 2]);
  assert.throws(() => makeSchedule({ kind: 'nope', lr: 1 }), /schedule kind/);
  assert.throws(() => makeSchedule({ kind: 'constant', lr: -1 }), /lr must be positive/);
});

test.run();
