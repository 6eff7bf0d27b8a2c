// Transfer learning: head replacement, freezing, gradual unfreezing, discriminative learning rates, feature
// extraction (cache, linear head, nearest class mean), `qwasm pretrain`, and a small few-shot experiment on
// QuickDraw (pretrained on 10 source categories vs from scratch on 5 other categories, 20 images each).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builds } from './helpers.js';
import {
  Engine, Optimizer, buildModel, fit, evaluate, loadDataset, quickdrawCategories, stratifiedSubset, loadCheckpoint, loadModelCheckpoint, ops,
  replaceHead, headIndex, layerGroups, freezeBackbone, setFrozen, isFrozen, GradualUnfreezer, discriminativeGroups, transferOptimizer,
  fineTune, transferRecord, saveModel, loadPretrained, cacheFeatures, extractFeatures, saveFeatures, loadFeatures, trainLinearHead, headAccuracy, NearestClassMean, layers,
} from '../dist/index.js';

const cats = quickdrawCategories();
const source = loadDataset('quickdraw', { categories: cats.slice(0, 10) });
const target = loadDataset('quickdraw', { categories: cats.slice(10, 15) });
const few = stratifiedSubset(target.train, { perClass: 20, seed: 1 });
const engine = async () => new Engine((await builds()).slice(-1)[0].rt);
const snapshot = (m) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.tensor.toArray()]));
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

test('replaceHead: new head for the target classes, backbone weights kept, saves under transferRecord', async () => {
  const e = await engine();
  const m = buildModel(e, 'refcnn', { seed: 4, classes: 10 });
  const before = snapshot(m);
  assert.is(headIndex(m), 9);
  const head = replaceHead(m, 5, { seed: 2 });
  assert.is(m.layers[9], head);
  assert.equal(head.weight.shape, [128, 5]);
  const after = snapshot(m);
  assert.equal(Object.keys(after), Object.keys(before));
  for (const n of Object.keys(before)) {
    if (n.startsWith('9.')) assert.not.ok(same(before[n], after[n]) && before[n].length === after[n].length, n);
    else assert.ok(same(before[n], after[n]), `${n} changed`);
  }
  const x = e.empty([3, 28, 28, 1]);
  assert.equal(m.forward(x).shape, [3, 5]);
  e.endStep();
  // the transferred model is buildModel(name, { ...options, classes }) with these weights
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-tl-'));
  const rec = transferRecord({ name: 'refcnn', options: { seed: 4, classes: 10 } }, 5);
  saveModel(join(dir, 't.qck'), m, rec);
  const back = loadModelCheckpoint(e, join(dir, 't.qck'));
  assert.is(evaluate(back.model, target.test).accuracy, evaluate(m, target.test).accuracy);
  assert.throws(() => replaceHead(buildModel(e, 'refcnn'), 0), /classes/);
  back.model.dispose(); m.dispose();
});

test('layer groups: defaults per model, named ranges', async () => {
  const e = await engine();
  const m = buildModel(e, 'refcnn', { classes: 5 });
  assert.equal(layerGroups(m).map((g) => g.name), ['0+1+2', '3+4+5+6', '7+8', '9']);
  const r = buildModel(e, 'resnet', { classes: 5, width: 4, blocks: [1, 1] });
  // conv+BN+ReLU stem, one group per residual block (parameter-free layers join the group before them), head
  assert.equal(layerGroups(r).map((g) => g.name), ['0+1+2', '3', '4+5', '6']);
  const named = layerGroups(m, { head: [7, 10], body: [0, 7] });
  assert.equal(named.map((g) => [g.name, g.start, g.end, g.params.length]), [['body', 0, 7, 4], ['head', 7, 10, 4]]);
  assert.throws(() => layerGroups(m, { a: [0, 5], b: [4, 8] }), /overlap/);
  m.dispose(); r.dispose();
});

test('frozen parameters (and frozen BN statistics) stay unchanged by fit; the head trains', async () => {
  const e = await engine();
  const m = buildModel(e, 'resnet', { seed: 3, classes: 5, width: 4, blocks: [1] });
  const groups = freezeBackbone(m);
  assert.ok(groups.slice(0, -1).every(isFrozen));
  assert.not.ok(isFrozen(groups[groups.length - 1]));
  const bufs = () => Object.fromEntries(m.namedBuffers().map(([n, b]) => [n, b.toArray()]));
  const p0 = snapshot(m), b0 = bufs();
  const r = fit(m, few, { epochs: 1, batchSize: 20, lr: 1e-2, maxSteps: 3, optimizer: { kind: 'adamw', weightDecay: 0.1 } });
  const p1 = snapshot(m), b1 = bufs();
  for (const n of Object.keys(p0)) {
    if (n.startsWith(`${headIndex(m)}.`)) assert.not.ok(same(p0[n], p1[n]), `head ${n} did not train`);
    else assert.ok(same(p0[n], p1[n]), `frozen ${n} changed`);
  }
  for (const n of Object.keys(b0)) assert.ok(same(b0[n], b1[n]), `frozen BN buffer ${n} changed`);
  // unfrozen again: BN statistics update and the backbone trains (the same optimiser picks it up)
  setFrozen(groups, false);
  fit(m, few, { epochs: 1, batchSize: 20, lr: 1e-2, maxSteps: 2, optimizerInstance: r.optimizer });
  assert.not.ok(same(b1['1.running_mean'], bufs()['1.running_mean']));
  assert.not.ok(same(p1['0.weight'], snapshot(m)['0.weight']));
  assert.ok(r.optimizer.paramState().every((s) => s.hasState));
  r.optimizer.dispose(); m.dispose();
});

test('gradual unfreezing: one more group from the top every N steps, through fit\'s beforeStep', async () => {
  const e = await engine();
  const m = buildModel(e, 'refcnn', { seed: 5, classes: 5 });
  const groups = layerGroups(m);
  const events = [];
  const w0 = m.layers[0].weight.toArray();
  let bottomAtUnfreeze = null;
  const u = new GradualUnfreezer(groups, {
    everySteps: 2,
    onUnfreeze: (step, names) => { events.push([step, ...names]); if (names.includes('0+1+2')) bottomAtUnfreeze = m.layers[0].weight.toArray(); },
  });
  assert.is(u.unfrozen, 1);
  assert.equal(groups.map(isFrozen), [true, true, true, false]);
  const seen = [];
  const r = fit(m, few, { epochs: 1, batchSize: 10, lr: 1e-3, maxSteps: 7, beforeStep: (s) => { u.beforeStep(s); seen.push(groups.map(isFrozen).filter((f) => !f).length); } });
  assert.equal(events, [[0, '9'], [2, '7+8'], [4, '3+4+5+6'], [6, '0+1+2']]);
  assert.equal(u.order, ['9', '7+8', '3+4+5+6', '0+1+2']);
  assert.equal(seen, [1, 1, 2, 2, 3, 3, 4]);
  assert.ok(same(bottomAtUnfreeze, w0), 'the bottom group changed while frozen');
  assert.not.ok(same(m.layers[0].weight.toArray(), w0), 'the bottom group did not train once unfrozen');
  assert.throws(() => new GradualUnfreezer(groups, {}), /exactly one of/);
  // the bottom group's optimiser state was created when it first trained (step 7): saved and restored
  const st = r.optimizer.stateDict();
  assert.is(st['0.weight.start'].data[0], 6);
  assert.not.ok('9.weight.start' in st);
  const o2 = new Optimizer(e, m.namedParameters(), { kind: 'adam' });
  o2.loadStateDict(st);
  assert.ok(o2.paramState().every((p) => p.hasState));
  assert.equal(o2.stateDict()['0.weight.s1'].data, st['0.weight.s1'].data);
  assert.is(new GradualUnfreezer(groups, { everyEpochs: 2, stepsPerEpoch: 3 }).every, 6);
  r.optimizer.dispose(); o2.dispose(); m.dispose();
});

test('discriminative learning rates: one SGD step applies lr × lrScale per group', async () => {
  const e = await engine();
  const m = buildModel(e, 'mlp', { seed: 6, classes: 3, hidden: [6, 5], input: [2, 2, 1] });
  const groups = layerGroups(m);
  assert.equal(groups.map((g) => g.name), ['0+1+2', '3+4', '5']);
  const pg = discriminativeGroups(groups, 2);
  assert.equal(pg.map((g) => g.lrScale), [0.25, 0.5, 1]);
  const opt = new Optimizer(e, pg, { kind: 'sgd' });
  const x = e.empty([4, 2, 2, 1]);
  x.write(Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)));
  const labels = e.rt.alloc(16);
  e.rt.i32(labels, 4).set([0, 1, 2, 1]);
  ops.crossEntropy(m.forward(x), labels).backward();
  const before = snapshot(m), grads = Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.tensor.grad.toArray()]));
  opt.step(0.1);
  const after = snapshot(m);
  const scale = { 1: 0.25, 3: 0.5, 5: 1 };
  for (const [n, p0] of Object.entries(before)) {
    const k = 0.1 * scale[n.split('.')[0]];
    for (let i = 0; i < p0.length; i++) {
      assert.ok(Math.abs(after[n][i] - (p0[i] - k * grads[n][i])) < 1e-6, `${n}[${i}]: ${after[n][i]} vs ${p0[i] - k * grads[n][i]}`);
    }
    assert.ok(grads[n].some((g) => g !== 0), `${n} has no gradient`);
  }
  e.endStep(); e.rt.free(labels);
  opt.setLrScale([m.layers[5].weight], 3);
  assert.is(opt.paramState().find((s) => s.name === '5.weight').lrScale, 3);
  const t = transferOptimizer(m, { kind: 'adam' }, { factor: 2.6 });
  assert.ok(Math.abs(t.paramState()[0].lrScale - 1 / 2.6 ** 2) < 1e-12);
  opt.dispose(); t.dispose(); m.dispose();
});

test('fineTune strategies: head only keeps the backbone; gradual unfreezes top-down and ends all trainable', async () => {
  const e = await engine();
  const m = buildModel(e, 'mlp', { seed: 8, classes: 10, hidden: [32, 16] });
  replaceHead(m, 5);
  const p0 = snapshot(m);
  const h = fineTune(m, few, { strategy: 'head', epochs: 1, batchSize: 20, lr: 1e-2, maxSteps: 3 });
  const p1 = snapshot(m);
  for (const n of Object.keys(p0)) assert.is(same(p0[n], p1[n]), !n.startsWith('5.'), n);
  assert.equal(h.unfrozenOrder, ['5']);
  h.optimizer.dispose();
  const g = fineTune(m, few, { strategy: 'gradual', epochs: 2, batchSize: 20, lr: 1e-2, unfreezeEvery: 2, lrFactor: 2.6 });
  assert.is(g.steps, 10);
  assert.equal(g.unfrozenOrder, ['5', '3+4', '0+1+2']);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  assert.not.ok(same(p1['1.weight'], snapshot(m)['1.weight']));
  g.optimizer.dispose(); m.dispose();
});

test('feature extraction: cached shapes, a linear head on features, the head installed in the model agrees', async () => {
  const e = await engine();
  const m = buildModel(e, 'refcnn', { seed: 7, classes: 10 });
  fit(m, source.train, { epochs: 1, batchSize: 32, lr: 2e-3, maxSteps: 10 }).optimizer.dispose();
  const cache = cacheFeatures(m, { train: few, test: target.test });
  for (const [f, ds] of [[cache.train, few], [cache.test, target.test]]) {
    assert.is(f.count, ds.length);
    assert.is(f.dim, 128);
    assert.is(f.classes, 5);
    assert.is(f.data.length, f.count * 128);
    assert.equal([...f.labels], [...ds.labels]);
    assert.ok(f.data.every((v) => v >= 0 && Number.isFinite(v)), 'post-ReLU features');
  }
  const file = join(mkdtempSync(join(tmpdir(), 'qwasm-tl-')), 'f.qck');
  saveFeatures(file, cache, { model: 'refcnn' });
  const back = loadFeatures(file);
  assert.equal(Object.keys(back.sets), ['train', 'test']);
  assert.is(back.meta.model, 'refcnn');
  for (const k of ['train', 'test']) assert.equal(back.sets[k], cache[k]);
  // the conv trunk only (before Flatten): 5×5×64 features per image
  assert.is(extractFeatures(m, few, { upTo: 6, indices: [0, 1, 2] }).dim, 5 * 5 * 64);
  const h = trainLinearHead(e, cache.train, { epochs: 20, batchSize: 20, lr: 1e-2 });
  assert.is(h.steps, 100);
  assert.ok(h.epochs[h.epochs.length - 1].trainAccuracy > 0.5, `train accuracy ${h.epochs.at(-1).trainAccuracy}`);
  const acc = headAccuracy(h.head, cache.test);
  replaceHead(m, 5, { head: h.head });
  assert.is(evaluate(m, target.test).accuracy, acc);
  m.dispose();
});

test('nearest class mean on a separable toy set (cosine similarity ignores the scale)', () => {
  const dim = 6, classes = 3, per = 10;
  const make = (seed) => {
    let s = seed;
    const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
    const data = new Float32Array(classes * per * dim), labels = new Int32Array(classes * per);
    for (let i = 0; i < classes * per; i++) {
      const c = i % classes, mag = 0.1 + 10 * Math.abs(r());
      labels[i] = c;
      for (let j = 0; j < dim; j++) data[i * dim + j] = mag * ((j === 2 * c || j === 2 * c + 1 ? 1 : 0) + 0.3 * r());
    }
    return { data, labels, count: classes * per, dim, classes };
  };
  const ncm = NearestClassMean.fit(make(1));
  assert.is(ncm.accuracy(make(2)), 1);
  assert.equal([...ncm.counts], [10, 10, 10]);
  for (let c = 0; c < classes; c++) {
    const row = ncm.means.subarray(c * dim, (c + 1) * dim);
    assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
  }
  assert.is(ncm.scores(make(3)).length, classes * per * classes);
});

test('qwasm pretrain: a source slice of QuickDraw, the command recorded in the checkpoint; loadPretrained', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-tl-'));
  const out = join(dir, 'src.qck');
  const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
  const args = ['pretrain', '--model', 'mlp', '--hidden', '16', '--categories', '3', '--offset', '5', '--max-steps', '4', '--batch', '16', '--out', out, '--json'];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.is(res.steps, 4);
  const ck = loadCheckpoint(out);
  assert.is(ck.meta.command, `qwasm ${args.join(' ')}`);
  assert.equal(ck.meta.argv, args);
  assert.equal(ck.meta.source, { dataset: 'quickdraw', classes: cats.slice(5, 8), offset: 5, count: 3 });
  assert.equal(ck.meta.model, { name: 'mlp', config: { input: [28, 28, 1], classes: 3, seed: 1, hidden: [16] } });
  assert.ok(Object.keys(ck.tensors).every((k) => k.startsWith('param:')), 'weights only by default');
  const e = await engine();
  const { model, record, meta } = loadPretrained(e, out, 4);
  assert.equal(record.options.classes, 4);
  assert.is(meta.source.offset, 5);
  assert.ok(same(model.layers[1].weight.toArray(), ck.tensors['param:1.weight'].data));
  assert.equal(model.forward(e.empty([2, 28, 28, 1])).shape, [2, 4]);
  e.endStep(); model.dispose();
  const bad = spawnSync(process.execPath, [bin, 'pretrain', '--model', 'mlp'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--out FILE is required/);
  assert.match(spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout, /pretrain/);
});

test('few-shot QuickDraw: fine-tuning a pretrained refcnn beats training from scratch on the same budget', async () => {
  const e = await engine();
  const t0 = performance.now();
  const pre = buildModel(e, 'refcnn', { seed: 1, classes: 10 });
  fit(pre, source.train, { epochs: 6, batchSize: 32, lr: 2e-3, seed: 1, shift: 2 }).optimizer.dispose();
  const srcAcc = evaluate(pre, source.test).accuracy;
  const state = pre.stateDict();
  // feature extraction from the same pretrained backbone: a linear head and nearest class mean
  const cache = cacheFeatures(pre, { train: few, test: target.test });
  const lin = trainLinearHead(e, cache.train, { epochs: 20, batchSize: 20, lr: 1e-2 });
  const linAcc = headAccuracy(lin.head, cache.test), ncmAcc = NearestClassMean.fit(cache.train).accuracy(cache.test);
  lin.head.dispose(); pre.dispose();
  const budget = { epochs: 100, batchSize: 20, maxSteps: 20, shift: 2 };
  const scratch = [], tuned = [];
  for (const seed of [1, 2]) {
    const s = buildModel(e, 'refcnn', { seed: 10 + seed, classes: 5 });
    fit(s, few, { ...budget, lr: 2e-3, seed }).optimizer.dispose();
    scratch.push(evaluate(s, target.test).accuracy);
    s.dispose();
    const f = buildModel(e, 'refcnn', { seed: 1, classes: 10 });
    f.loadStateDict(state);
    replaceHead(f, 5, { seed: 10 + seed });
    fineTune(f, few, { ...budget, lr: 5e-3, seed, strategy: 'full', lrFactor: 2.6 }).optimizer.dispose();
    tuned.push(evaluate(f, target.test).accuracy);
    f.dispose();
  }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`few-shot QuickDraw (source: 10 categories, ${source.train.length} images, test ${(srcAcc * 100).toFixed(1)}%; target: 5 categories × 20, ${budget.maxSteps} steps): ` +
    `scratch ${scratch.map((a) => (a * 100).toFixed(0)).join('/')}% (mean ${(mean(scratch) * 100).toFixed(1)}%), ` +
    `fine-tuned ${tuned.map((a) => (a * 100).toFixed(0)).join('/')}% (mean ${(mean(tuned) * 100).toFixed(1)}%), ` +
    `frozen features + linear head ${(linAcc * 100).toFixed(1)}%, nearest class mean ${(ncmAcc * 100).toFixed(1)}%, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(mean(tuned) > mean(scratch) + 0.04, `fine-tuned ${mean(tuned)} vs scratch ${mean(scratch)}`);
  assert.ok(linAcc > 0.5 && ncmAcc > 0.5, `linear head ${linAcc}, NCM ${ncmAcc} (chance 0.2)`);
});

test.run();
