// `qwasm pipeline --source mobilenetv2` and its parts: frozen-prefix caching (same logits as the uncached
// forward), the student builder (truncated + narrowed by filter L1 norm, the teacher's weights kept), the
// evaluation splits (train / validation / test disjoint) and the command end to end on a tiny setting (32 px,
// 2 folds, 1 epoch). Needs nsfwjs (the pretrained MobileNetV2) and, for the data, the Tux Paint stamps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { init, decodeQwm } from '../dist/index.js';
import { Engine } from '../dist/autograd/tensor.js';
import { importTfjs } from '../dist/tfjs/import.js';
import { createDataset, subset } from '../dist/data/dataset.js';
import { bnRanges, cachePrefix, prefixOutputs, suffixView, frozenPrefixLength } from '../dist/transfer/cache.js';
import { buildStudent, ResizedInput } from '../dist/transfer/student.js';
import { Flatten } from '../dist/nn/layers.js';
import { Pruner } from '../dist/compress/prune.js';
import { resize } from '../dist/data/image.js';
import { loadTransferSet } from '../dist/pipeline/mnv2-transfer-set.js';
import { chooseStudent, resizeImages, studentInputSize } from '../dist/pipeline/mnv2-student.js';
import { resolveMnv2Settings } from '../dist/pipeline/mnv2-settings.js';
import { tuxPaintNaturalFiles } from '../dist/data/sketch-photo.js';
import { loadFashionMnist } from '../dist/data/sources.js';
import { kFoldSplits, loadTargetPool, checkDisjoint } from '../dist/pipeline/mnv2-data.js';
import { evalForward } from '../dist/train/eval-loop.js';
import { needs, rng } from './helpers.js';
import { cli, tmp } from './cli-run.js';

const withNsfwjs = needs(test, 'nsfwjs');
const withTux = needs(needs(test, 'nsfwjs'), 'tuxpaint-stamps');
const withFashion = needs(test, 'fashion-mnist');
const S = 32;
let engine;
test.before(async () => { engine = new Engine((await init({ build: 'simd', threads: 1 })).rt); });

function randomImages(n, classes = 3) {
  const r = rng(7);
  const images = new Uint8Array(n * S * S * 3).map(() => r.int(0, 255));
  const labels = new Uint8Array(n).map((_, i) => i % classes);
  return createDataset({ name: 'random', images, labels, height: S, width: S, channels: 3, classes: ['a', 'b', 'c'].slice(0, classes), norm: { mean: [0, 0, 0], std: [1, 1, 1] } });
}

/** Logits of a Sequential (eval) over a dataset, row-major. */
function logitsOf(model, ds) {
  const out = [];
  evalForward(engine, [model], ds, { batchSize: 8 }, (x) => { out.push(...model.forward(x).data()); });
  return Float32Array.from(out);
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

withNsfwjs('frozen-prefix cache: the suffix on cached maps gives the uncached logits (f32 exactly, uint8 within its step)', () => {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 3, inputSize: S });
  try {
    const m = r.model;
    const L = Number(r.layerNames.block_10_project_BN.split('.')[0]) + 1;
    for (const l of m.layers.slice(0, L)) for (const [, p] of l.namedParameters()) p.tensor.requiresGrad = false;
    assert.is(frozenPrefixLength(m), L);
    const ds = randomImages(6);
    const full = logitsOf(m, ds);
    // f32: the prefix output fed to the suffix reproduces the full forward
    const pre = prefixOutputs(m, L, ds, 4);
    const f32 = createDataset({ name: 'f', images: new Uint8Array(0), labels: new Uint8Array(0), height: pre.shape[0], width: pre.shape[1], channels: pre.shape[2], classes: ['a'], norm: { mean: Array(pre.shape[2]).fill(0), std: Array(pre.shape[2]).fill(1) } });
    assert.ok(f32.channels > 4, 'a dataset of many channels');
    const view = suffixView(m, L);
    const viaF32 = [];
    engine.noGrad(() => {
      m.eval();
      const x = engine.empty([ds.length, ...pre.shape], false);
      x.write(pre.data);
      viaF32.push(...view.forward(x).data());
      engine.endStep();
    });
    assert.ok(maxDiff(full, viaF32) < 1e-5, `f32 cache: max |Δ| ${maxDiff(full, viaF32)}`);
    // uint8 cache as a Dataset: close to the uncached logits, and exactly what its dequantised maps give
    const c = cachePrefix(m, L, { train: ds });
    assert.is(c.storage, 'uint8');
    assert.is(c.bytesPerImage, pre.shape[0] * pre.shape[1] * pre.shape[2]);
    assert.ok(c.maxAbsError > 0 && c.maxAbsError < 0.05, `dequantisation error ${c.maxAbsError}`);
    const viaU8 = logitsOf(view, c.sets.train);
    const scale = Math.max(...full.map(Math.abs));
    assert.ok(maxDiff(full, viaU8) < 0.05 * scale + 0.05, `uint8 cache: max |Δ| ${maxDiff(full, viaU8)} (logit scale ${scale})`);
    // data-free ranges from the last frozen BN (β ± 6|γ|): the same maps whatever else is in the cached sets
    const rg = bnRanges(m, L);
    const bnOf = m.layers[L - 1], g = bnOf.gamma.toArray(), b = bnOf.beta.toArray();
    assert.ok(Math.abs(rg.hi[0] - (b[0] + 6 * Math.abs(g[0]))) < 1e-5 && Math.abs(rg.lo[0] - (b[0] - 6 * Math.abs(g[0]))) < 1e-5);
    const alone = cachePrefix(m, L, { train: subset(ds, [0, 1, 2]) }, { ranges: rg });
    const withOthers = cachePrefix(m, L, { train: subset(ds, [0, 1, 2]), rest: subset(ds, [3, 4, 5]) }, { ranges: rg });
    assert.equal(alone.sets.train.images, withOthers.sets.train.images);
    assert.is(alone.rangeSource, 'given');
    assert.ok(alone.clippedFraction < 0.01, `clipped ${alone.clippedFraction}`);
    const viaBn = logitsOf(view, withOthers.sets.train);
    assert.ok(maxDiff(full.slice(0, viaBn.length), viaBn) < 0.05 * scale + 0.05, `bn-range cache: max |Δ| ${maxDiff(full.slice(0, viaBn.length), viaBn)}`);
    assert.throws(() => bnRanges(m, L - 1), /not a BatchNorm2d/);
    assert.throws(() => cachePrefix(m, L, { train: ds }, { ranges: { lo: rg.lo.slice(1), hi: rg.hi } }), /channels/);
    assert.throws(() => view.dispose(), /shares the model/);
    assert.throws(() => cachePrefix(m, L + 1, { train: ds }), /trainable parameters/);
  } finally { r.model.dispose(); }
});

withNsfwjs('student builder: truncated + narrowed by filter L1 norm, kept channels keep the teacher weights', () => {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 3, inputSize: S });
  try {
    const upTo = Number(r.layerNames.block_10_expand_relu.split('.')[0]) + 1;
    const st = buildStudent(r.model, { upTo, classes: 3, keep: 0.5, input: [S, S, 3] });
    try {
      const tMods = new Map(r.model.modules()), sMods = new Map(st.model.modules());
      assert.ok(st.model.numParameters() < 0.5 * r.model.numParameters());
      assert.ok(Object.keys(st.kept).length >= 5, 'several layers narrowed');
      // block_7's expansion conv (inside a residual body) and block_10's (the last trunk layer)
      for (const name of [r.layerNames.block_7_expand_relu.replace(/\.2$/, '.0'), String(upTo - 3)]) {
        const tw = tMods.get(name).weight, sw = sMods.get(name).weight, kept = st.kept[name];
        assert.ok(kept, `${name} narrowed`);
        assert.is(sw.shape[0], kept.length);
        assert.is(kept.length, Math.round(tw.shape[0] * 0.5));
        const per = tw.size / tw.shape[0], td = tw.data(), sd = sw.data();
        // kept = the channels of largest L1 norm
        const l1 = Array.from({ length: tw.shape[0] }, (_, j) => td.subarray(j * per, (j + 1) * per).reduce((a, v) => a + Math.abs(v), 0));
        const minKept = Math.min(...kept.map((j) => l1[j])), maxDropped = Math.max(...l1.filter((_, j) => !kept.includes(j)));
        assert.ok(minKept >= maxDropped, `${name}: L1 of kept ≥ dropped`);
        // in-channels of an expansion conv are its block's input (not narrowed inside a residual): rows equal
        if (sw.shape[3] === tw.shape[3]) kept.forEach((j, i) => assert.equal(Array.from(sd.subarray(i * per, (i + 1) * per)), Array.from(td.subarray(j * per, (j + 1) * per))));
        else assert.ok(sw.shape[3] < tw.shape[3]);
      }
      // the trunk's BN after a narrowed conv keeps the teacher's statistics of the kept channels
      const bnName = String(upTo - 2), tb = tMods.get(bnName), sb = sMods.get(bnName), kept = st.kept[String(upTo - 3)];
      assert.equal(Array.from(sb.runMean.data()), kept.map((j) => tb.runMean.data()[j]));
      assert.equal(Array.from(sb.gamma.data()), kept.map((j) => tb.gamma.data()[j]));
      assert.is(st.model.layers[st.model.layers.length - 1].inFeatures, kept.length);
    } finally { st.model.dispose(); }
  } finally { r.model.dispose(); }
});

withNsfwjs('student builder: channelMultiple rounds every narrowed layer to a multiple of it (the nearest, ≥ one, ≤ all), still by L1', () => {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 3, inputSize: S });
  try {
    const upTo = Number(r.layerNames.block_10_expand_relu.split('.')[0]) + 1;
    const st = buildStudent(r.model, { upTo, classes: 3, keep: 0.9, input: [S, S, 3], channelMultiple: 16 });
    try {
      const tMods = new Map(r.model.modules()), sMods = new Map(st.model.modules());
      assert.ok(Object.keys(st.kept).length >= 5, 'several layers narrowed');
      for (const [name, kept] of Object.entries(st.kept)) {
        const n = tMods.get(name).weight.shape[0], want = Math.min(n, Math.max(16, Math.round(Math.round(0.9 * n) / 16) * 16));
        assert.is(kept.length, want, `${name}: ${n} channels → ${kept.length}`);
        assert.is(sMods.get(name).weight.shape[0], want);
      }
      // 384 → 352 (0.9 · 384 = 345.6 → 346 → 22 · 16), 32 → 32 (28.8 → 29 → 2 · 16)
      assert.is(st.model.layers[st.model.layers.length - 1].inFeatures, 352);
      assert.is(st.kept['0'].length, 32);
    } finally { st.model.dispose(); }
    assert.throws(() => new Pruner(r.model, { mode: 'unstructured', sparsity: 0.5, channelMultiple: 16 }), /channelMultiple needs mode 'channel'/);
    assert.throws(() => new Pruner(r.model, { mode: 'channel', sparsity: 0.5, channelMultiple: 0 }), /channelMultiple/);
  } finally { r.model.dispose(); }
});

withNsfwjs('student builder: dropped residual blocks become the identity (same weights elsewhere); only identity residuals below the cut', () => {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 3, inputSize: S });
  try {
    const upTo = Number(r.layerNames.block_10_expand_relu.split('.')[0]) + 1;
    const drop = [r.layerNames.block_2_add, r.layerNames.block_5_add];
    const st = buildStudent(r.model, { upTo, classes: 3, input: [S, S, 3], drop });
    const trunk = r.model.children().slice(0, upTo);
    try {
      const names = st.model.children().map(([n]) => n);
      assert.equal(names.slice(0, -2), trunk.map(([n]) => n).filter((n) => !drop.includes(n)));
      const dropped = trunk.filter(([n]) => drop.includes(n)).reduce((a, [, m]) => a + m.numParameters(), 0);
      assert.ok(dropped > 0);
      assert.is(st.model.numParameters(), trunk.reduce((a, [, m]) => a + m.numParameters(), 0) - dropped + st.model.layers[st.model.layers.length - 1].numParameters());
      // the trunk's features: the teacher's layers in eval mode with the dropped blocks skipped, to the bit
      const x = new Float32Array(2 * S * S * 3).map((_, i) => Math.abs(Math.sin(i * 0.37)));
      const run = (layers) => {
        let out;
        engine.noGrad(() => { let h = engine.empty([2, S, S, 3], false); h.write(x); for (const m of layers) { m.eval(); h = m.forward(h); } out = h.toArray(); });
        engine.endStep();
        return out;
      };
      const want = run(trunk.filter(([n]) => !drop.includes(n)).map(([, m]) => m));
      const got = run(st.model.layers.slice(0, -2));
      assert.equal(Array.from(got), Array.from(want));
      assert.not.equal(Array.from(run(trunk.map(([, m]) => m))).slice(0, 50), Array.from(want).slice(0, 50), 'the dropped blocks did change the features');
    } finally { st.model.dispose(); }
    assert.throws(() => buildStudent(r.model, { upTo, classes: 3, input: [S, S, 3], drop: ['0'] }), /only identity residual blocks.*Conv2d/);
    assert.throws(() => buildStudent(r.model, { upTo, classes: 3, input: [S, S, 3], drop: [r.layerNames.block_11_add] }), /no such layer below the cut/);
    assert.throws(() => resolveMnv2Settings({ studentDrop: ['block2'] }), /Keras block names/);
  } finally { r.model.dispose(); }
});

test('ResizedInput: the teacher reads the student batch resized bilinearly (as data/image resize upsamples), same size untouched', () => {
  const r = rng(3), h = 6, w = 6, c = 3;
  const img = new Uint8Array(h * w * c).map(() => r.int(0, 255));
  const m = new ResizedInput(new Flatten(engine), 9);
  let out, same;
  engine.noGrad(() => {
    const x = engine.empty([1, h, w, c], false);
    x.write(img);
    out = m.forward(x).toArray();
    const x9 = engine.empty([1, 9, 9, c], false);
    x9.write(new Float32Array(9 * 9 * c).fill(2));
    same = m.forward(x9).toArray();
    engine.endStep();
  });
  const ref = resize({ width: w, height: h, channels: c, data: img }, 9, 9).data;
  assert.is(out.length, ref.length);
  assert.ok(maxDiff(out, ref) <= 0.5 + 1e-4, `max |Δ| ${maxDiff(out, ref)} vs the uint8 resize`);
  assert.ok(same.every((v) => v === 2));
  assert.throws(() => new ResizedInput(new Flatten(engine), 0), /size/);
  // the student's lower-resolution pool: every image resized, labels kept
  const ds = randomImages(4), small = resizeImages(ds, 16);
  assert.equal([small.height, small.width, small.length], [16, 16, 4]);
  assert.equal(Array.from(small.labels), Array.from(ds.labels));
  assert.is(resizeImages(ds, S), ds);
  // the default student size: the teacher's (96 → 96, 224 → 224); an explicit one is kept,
  // one above the teacher's refused
  assert.is(studentInputSize(resolveMnv2Settings({})), 96);
  assert.is(studentInputSize(resolveMnv2Settings({ inputSize: 224 })), 224);
  assert.is(studentInputSize(resolveMnv2Settings({ inputSize: 32, studentSize: 24 })), 24);
  assert.throws(() => resolveMnv2Settings({ inputSize: 64, studentSize: 80 }), /studentSize/);
});

test('student choice on validation: the narrowest within 2 points of the teacher, else the most accurate (ties: narrower)', () => {
  assert.is(chooseStudent([{ keep: 0.9, val: 0.8 }, { keep: 0.5, val: 0.79 }], 0.8), 1);
  assert.is(chooseStudent([{ keep: 0.9, val: 0.7 }, { keep: 0.5, val: 0.6 }], 0.8), 0);
  assert.is(chooseStudent([{ keep: 0.9, val: 0.6 }, { keep: 0.5, val: 0.6 }], 0.8), 1);
});

withTux('transfer set (auto, Tux Paint): other photo stamps, never a labelled (so never a test) image', () => {
  const pool = randomImages(3);
  const t = loadTransferSet({ target: 'tuxpaint-natural', source: 'auto', size: 16, norm: pool.norm, pool, shots: 0, max: 6, seed: 1 });
  assert.is(t.images.length, 6);
  assert.equal([t.images.height, t.images.channels], [16, 3]);
  assert.equal(t.images.classes, pool.classes);
  assert.ok(t.what.includes('6 other photo stamps'));
  assert.ok(tuxPaintNaturalFiles().length > 100);
  assert.is(loadTransferSet({ target: 'tuxpaint-natural', source: 'none', size: 16, norm: pool.norm, pool, shots: 0, max: 0, seed: 1 }), null);
  assert.is(loadTransferSet({ target: '/some/folder', source: 'auto', size: 16, norm: pool.norm, pool, shots: 0, max: 0, seed: 1 }), null);
  assert.throws(() => loadTransferSet({ target: 'x', source: '/no/such/dir', size: 16, norm: pool.norm, pool, shots: 0, max: 0, seed: 1 }), /--transfer-set/);
});

withFashion('transfer set (auto, Fashion-MNIST): train-split images outside the shots', async () => {
  const t = await loadTargetPool({ target: 'fashion-mnist', size: 28, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, shots: 3, testPerClass: 1, folds: 0, repeats: 1, valFraction: 0.25, seed: 2 });
  const tr = loadTransferSet({ target: 'fashion-mnist', source: 'auto', size: 28, norm: t.pool.norm, pool: t.pool, shots: 3, max: 200, seed: 2 });
  assert.is(tr.images.length, 200);
  const key = (d, i) => Buffer.from(d.images.subarray(i * 28 * 28 * 3, (i + 1) * 28 * 28 * 3)).toString('base64');
  const shots = new Set(Array.from(t.splits[0].train, (i) => key(t.pool, i)).concat(Array.from(t.splits[0].val, (i) => key(t.pool, i))));
  for (let i = 0; i < tr.images.length; i++) assert.not.ok(shots.has(key(tr.images, i)), `transfer image ${i} is a labelled shot`);
  assert.ok(loadFashionMnist().train.length > 1000);
});

test('evaluation splits: repeated stratified k-fold, train / validation / test disjoint, each image tested once per repeat', () => {
  const ds = randomImages(45);
  const splits = kFoldSplits(ds, 5, 2, 0.2, 3);
  assert.is(splits.length, 10);
  for (const sp of splits) {
    checkDisjoint(sp);
    const seen = new Set([...sp.train, ...sp.val, ...sp.test]);
    assert.is(seen.size, ds.length, `${sp.name}: every image in exactly one part`);
    assert.ok(sp.val.length >= 3, 'validation from every class');
  }
  for (const r of [0, 1]) {
    const tested = splits.slice(5 * r, 5 * r + 5).flatMap((sp) => Array.from(sp.test)).sort((a, b) => a - b);
    assert.equal(tested, Array.from({ length: ds.length }, (_, i) => i));
  }
  assert.not.equal(Array.from(splits[0].test), Array.from(splits[5].test), 'repeats reshuffle');
  assert.throws(() => checkDisjoint({ name: 'bad', train: Int32Array.of(1, 2), val: Int32Array.of(3), test: Int32Array.of(2) }), /both train and test/);
});

withFashion('Fashion-MNIST for MobileNetV2: k shots, resized and replicated to RGB, one fixed split', async () => {
  const t = await loadTargetPool({ target: 'fashion-mnist', size: S, norm: { mean: [0, 0, 0], std: [1, 1, 1] }, shots: 4, testPerClass: 2, folds: 5, repeats: 2, valFraction: 0.25, seed: 1 });
  assert.is(t.mode, 'fixed');
  assert.is(t.pool.length, 60);
  assert.equal([t.pool.height, t.pool.width, t.pool.channels], [S, S, 3]);
  const px = t.pool.images;
  for (let i = 0; i < px.length; i += 3) if (px[i] !== px[i + 1] || px[i] !== px[i + 2]) assert.unreachable('grey replicated to RGB');
  const [sp] = t.splits;
  assert.equal([sp.train.length, sp.val.length, sp.test.length], [30, 10, 20]);
  assert.ok(Array.from(sp.test).every((i) => i >= 40), 'test images come from the test split');
});

withTux('qwasm pipeline --source mobilenetv2: tiny end-to-end run writes a report with every variant and its interval', () => {
  const dir = tmp('mnv2');
  try {
    const r = cli('pipeline', '--source', 'mobilenetv2', '--target', 'tuxpaint-natural', '--input-size', String(S), '--folds', '2', '--repeats', '1',
      '--epochs', '1', '--head-epochs', '2', '--scratch-epochs', '1', '--student-epochs', '1', '--scratch-splits', '1', '--latency-rounds', '1', '--latency-runs', '1',
      '--student-size', '24', '--transfer-set', 'auto', '--transfer-max', '12', '--threads', '1', '--out', dir, '--json');
    assert.is(r.status, 0, r.stderr);
    const rep = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(rep.variants.map((v) => v.key), ['features', 'finetune', 'scratch', 'student']);
    for (const v of rep.variants) {
      const { accuracy, ci } = v.score;
      assert.ok(ci.lo <= accuracy && accuracy <= ci.hi && ci.lo >= 0 && ci.hi <= 1, `${v.name}: ${accuracy} in [${ci.lo}, ${ci.hi}]`);
      assert.ok(v.score.splits >= 1 && v.score.perSplit.length === v.score.splits);
    }
    assert.is(rep.variants[0].score.splits, 2);
    assert.is(rep.variants[2].score.splits, 1, '--scratch-splits');
    assert.is(rep.variants[3].precision, 'int8');
    assert.is(rep.variants[3].details.inputSize, 24, '--student-size');
    assert.is(rep.variants[3].details.transferImages, 24, '--transfer-max 12, with flipped copies');
    assert.ok(rep.variants[3].details.chosenPerSplit[0].pseudoLabels.reduce((a, b) => a + b, 0) === 24);
    assert.ok(rep.variants[3].bytes < rep.variants[1].bytes);
    assert.ok(['features', 'finetune'].includes(rep.finalTeacher));
    for (const sp of rep.target.splits) assert.ok(sp.train > 0 && sp.val > 0 && sp.test > 0);
    assert.is(rep.target.splits.reduce((a, sp) => a + sp.test, 0), rep.target.images, 'each image tested once');
    assert.is(rep.comparisons.length, 4);
    assert.ok(readFileSync(join(dir, 'report.md'), 'utf8').includes('95 % interval'));
    assert.ok(readFileSync(join(dir, 'report.html'), 'utf8').includes('<table>'));
    assert.ok(readFileSync(join(dir, 'student-int8.qwm')).length === rep.variants[3].bytes);
    // the .qwm carries what `qwasm run` needs: class names, the teacher's normalisation (x / 255), its origin
    const meta = decodeQwm(readFileSync(join(dir, 'student-int8.qwm'))).meta;
    assert.equal(meta.labels, rep.target.classes);
    assert.equal([meta.mean, meta.std], [[0, 0, 0], [1, 1, 1]]);
    assert.is(meta.source, 'nsfwjs:mobilenet_v2');
    // flags of the other pipeline are refused, and vice versa
    assert.match(cli('pipeline', '--source', 'mobilenetv2', '--methods', 'scratch').stderr, /--methods does not apply to --source mobilenetv2/);
    assert.match(cli('pipeline', '--input-size', '96').stderr, /--input-size needs --source mobilenetv2/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
