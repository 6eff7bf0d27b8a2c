// Domain adaptation from the real ImageNet MobileNetV2 (`qwasm adapt --model mobilenetv2`): sketches drawn dark on
// white, both domains through the frozen prefix once, the adaptation term reaching the trainable top's features
// (and only them: the head's first update is source-only's), and the command end to end with cross-validation
// folds over the Tux Paint photos. Tiny settings (32 px, a few images, 1–2 steps). Needs nsfwjs (the network)
// and the Tux Paint stamps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../dist/index.js';
import { Engine } from '../dist/autograd/tensor.js';
import { createDataset, stratifiedSubset } from '../dist/data/dataset.js';
import { adapt } from '../dist/transfer/adapt.js';
import { withoutLabels } from '../dist/transfer/adapt-run.js';
import { inkAsDrawing, loadForMobilenetV2, mobilenetV2Top } from '../dist/pipeline/mnv2-adapt.js';
import { needs } from './helpers.js';
import { cli, message } from './cli-run.js';

const withTux = needs(needs(test, 'nsfwjs'), 'tuxpaint-stamps');
const S = 32;
const UNIT = { mean: [0, 0, 0], std: [1, 1, 1] };
let rt;
test.before(async () => { rt = (await init({ build: 'simd', threads: 1 })).rt; });

test('inkAsDrawing: light ink on dark (28 px grey) → dark ink on white RGB at the network size', () => {
  const px = new Uint8Array(28 * 28);
  for (let y = 10; y < 18; y++) for (let x = 10; x < 18; x++) px[y * 28 + x] = 255;
  const ds = createDataset({ name: 'ink', images: px, labels: new Uint8Array(1), height: 28, width: 28, channels: 1, classes: ['a'] });
  const out = inkAsDrawing(ds, 56, UNIT);
  assert.equal([out.height, out.width, out.channels], [56, 56, 3]);
  const at = (y, x) => Array.from(out.images.subarray((y * 56 + x) * 3, (y * 56 + x) * 3 + 3));
  assert.equal(at(2, 2), [255, 255, 255], 'the ground is white');
  assert.equal(at(28, 28), [0, 0, 0], 'the ink is black');
  assert.equal(out.norm, UNIT);
  assert.throws(() => inkAsDrawing(out, 32, UNIT), /must be grey/);
});

/** The top's parameters as flat arrays, by name. */
const params = (m) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.tensor.toArray()]));
const maxDiff = (a, b) => a.reduce((d, v, i) => Math.max(d, Math.abs(v - b[i])), 0);

withTux('the adaptation term reaches the top blocks of the real network, not the head (one step, same batches)', () => {
  const engine = new Engine(rt);
  const net = mobilenetV2Top(engine, { inputSize: S });
  let sets;
  try {
    const src = stratifiedSubset(loadForMobilenetV2('quickdraw-natural', S, net.norm).train, { perClass: 3, seed: 1 });
    const tgt = stratifiedSubset(loadForMobilenetV2('tuxpaint-natural', S, net.norm).train, { perClass: 3, seed: 1 });
    // the photos' transparent ground is white, like the sketches' paper: most stamps are cut-outs with white corners
    const per = S * S * 3, white = Array.from({ length: tgt.length }, (_, i) => tgt.images.subarray(i * per, i * per + 3).every((v) => v === 255));
    assert.ok(white.filter(Boolean).length > tgt.length / 2, `${white.filter(Boolean).length} of ${tgt.length} stamps have a white corner`);
    sets = net.cache({ source: src, target: withoutLabels(tgt) }).sets;
  } finally { net.dispose(); }
  assert.is(sets.source.channels, 96, 'the cache holds block_10 maps (96 channels)');
  const trained = (method, weight = 1) => {
    const e = new Engine(rt);
    const m = net.makeModel(e, 7, 7);
    const r = adapt(m, sets.source, sets.target, { method, steps: 1, batchSize: 8, lr: 0.05, optimizer: { kind: 'sgd', momentum: 0.9 }, weight, seed: 3, headLrScale: 10 });
    r.dispose();
    const p = params(m);
    m.dispose();
    return p;
  };
  const base = trained('source-only');
  const names = Object.keys(base), head = names.filter((n) => n.startsWith(names[names.length - 1].split('.')[0] + '.'));
  const blocks = names.filter((n) => !head.includes(n));
  assert.ok(head.length === 2 && blocks.length > 10, `head ${head}, ${blocks.length} block parameters`);
  assert.equal(trained('coral', 0), base, 'CORAL with weight 0 is source-only (same batches, same init)');
  for (const method of ['dann', 'coral']) {
    const p = trained(method);
    const moved = blocks.filter((n) => maxDiff(p[n], base[n]) > 1e-7);
    assert.ok(moved.length > blocks.length / 2, `${method}: the adaptation term changed ${moved.length} of ${blocks.length} block parameters`);
    for (const n of head) assert.ok(maxDiff(p[n], base[n]) < 1e-6, `${method}: the head's first step is source-only's (${n})`);
  }
});

withTux('qwasm adapt --model mobilenetv2 --folds: end to end from the real network, every target image tested once', () => {
  const r = cli('adapt', '--source', 'quickdraw-natural', '--unlabeled', 'tuxpaint-natural', '--model', 'mobilenetv2', '--size', String(S),
    '--source-limit', '3', '--source-test', '14', '--steps', '2', '--batch', '8', '--seeds', '2', '--folds', '2', '--method', 'dann,coral', '--json');
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.settings.input, [S, S, 3]);
  assert.equal(j.settings.cache.shape.slice(2), [96]);
  assert.is(j.settings.folds, 2);
  assert.is(j.settings.recipe.headLrScale, 10);
  assert.is(j.rows.length, 6);
  for (const seed of [1, 2]) {
    const fold = `fold ${seed}`;
    assert.ok(j.rows.filter((x) => x.seed === seed).every((x) => x.fold === fold), `seed ${seed} runs on ${fold}`);
  }
  const tested = j.rows.filter((x) => x.method === 'coral').reduce((a, x) => a + x.targetTest.count, 0);
  const adapted = j.rows.filter((x) => x.method === 'coral').reduce((a, x) => a + x.adaptationSet.count, 0);
  assert.is(tested, 186, 'the two folds cover the 186 photos');
  assert.is(adapted, 186, 'each fold adapts on the other');
  for (const s of j.summary) assert.is(s.meanScore.count, 186);
  assert.is(j.rows[0].sourceTest.count, 14);
});

test('qwasm adapt --model mobilenetv2: flags it cannot honour are refused before any work', () => {
  const base = ['adapt', '--source', 'quickdraw-natural', '--unlabeled', 'tuxpaint-natural', '--model', 'mobilenetv2'];
  for (const [flags, re] of [[['--centre'], /--centre frames grey/], [['--shift', '2'], /--shift would move the cached/], [['--out', '/tmp/x.qck'], /--out is not available/],
    [['--channels', '1'], /RGB: --channels 3/], [['--folds', '3', '--target-test', 'x'], /leave out --target-test/]]) {
    const r = cli(...base, ...flags);
    assert.is(r.status, 2, flags.join(' '));
    assert.match(message(r), re);
  }
});

test.run();
