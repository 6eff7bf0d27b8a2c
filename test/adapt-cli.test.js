// `qwasm adapt` end to end (the real bin, tiny limits): the report's structure, a target folder with no labels at
// all, and proof that target labels never reach training — the same images as a labelled folder and as a flat
// folder with no labels train identically (same losses, same source accuracy). Plus the helpers: Wilson and
// seed-spread intervals, --seeds / --method parsing, unlabelled folders, the sketch → photo superclass mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, wilson, spread, tQuantile975, loadUnlabelledFolder, UNLABELLED, withoutLabels, quickdrawCategories } from '../dist/index.js';
import { parseSeeds, parseMethods, outFileFor } from '../dist/cli/adapt.js';
import { NATURAL_SUPERCLASSES, QUICKDRAW_NATURAL, tuxPaintNaturalFiles, TUXPAINT_STAMPS_DIR } from '../dist/data/sketch-photo.js';

const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
const cli = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const pgm = (px) => Buffer.concat([Buffer.from('P5\n28 28\n255\n'), Buffer.from(px)]);

// a small shifted target: MNIST test digits, inverted (dark ink on light), 3 + 1 per class
function makeTarget() {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-adapt-'));
  const mnist = loadDataset('mnist').test;
  const seen = new Array(10).fill(0);
  for (let i = 0; i < mnist.length && seen.some((n) => n < 4); i++) {
    const c = mnist.labels[i];
    if (seen[c] >= 4) continue;
    const split = seen[c] < 3 ? 'train' : 'test';
    const px = Uint8Array.from(mnist.images.subarray(i * 784, (i + 1) * 784), (v) => 255 - v);
    const name = `${String(seen[c]).padStart(2, '0')}.pgm`;
    mkdirSync(join(dir, 'labelled', split, String(c)), { recursive: true });
    writeFileSync(join(dir, 'labelled', split, String(c), name), pgm(px));
    // the same training images, flat, in the same order (class then name), with nothing saying their class
    if (split === 'train') { mkdirSync(join(dir, 'flat'), { recursive: true }); writeFileSync(join(dir, 'flat', `${c}-${name}`), pgm(px)); }
    seen[c]++;
  }
  return dir;
}

const tiny = ['--source', 'mnist', '--source-limit', '10', '--source-test', '50', '--steps', '3', '--batch', '8', '--json', '--build', 'scalar'];

test('qwasm adapt: report structure, unlabelled folder, target labels unused for training', () => {
  const dir = makeTarget();
  try {
    const flat = cli('adapt', ...tiny, '--unlabeled', join(dir, 'flat'), '--seeds', '1,2');
    assert.is(flat.status, 0, flat.stderr);
    const a = JSON.parse(flat.stdout);
    assert.equal(a.methods, ['source-only', 'dann', 'coral']);
    assert.equal(a.seeds, [1, 2]);
    assert.is(a.rows.length, 6);
    assert.is(a.settings.targetLabels, 'none');
    assert.is(a.settings.targetImages, 30);
    for (const r of a.rows) {
      assert.is(r.targetTest, null); assert.is(r.adaptationSet, null);
      assert.ok(Number.isFinite(r.finalLoss), `${r.method} seed ${r.seed} loss ${r.finalLoss}`);
      assert.is(r.sourceTest.count, 50);
    }
    for (const s of a.summary) { assert.is(s.targetTest, null); assert.is(s.sourceTest.n, 2); }

    const lab = cli('adapt', ...tiny, '--unlabeled', join(dir, 'labelled'), '--seeds', '1,2');
    assert.is(lab.status, 0, lab.stderr);
    const b = JSON.parse(lab.stdout);
    assert.is(b.settings.targetLabels, 'scoring only');
    assert.is(b.settings.targetImages, 30);
    assert.is(b.settings.targetTestImages, 10);
    for (const r of b.rows) {
      assert.is(r.targetTest.count, 10);
      assert.ok(r.targetTest.ci.lo <= r.targetTest.accuracy && r.targetTest.accuracy <= r.targetTest.ci.hi);
      assert.is(r.adaptationSet.count, 30);
      // the same images without labels trained the same model: labels never reached training
      const twin = a.rows.find((x) => x.method === r.method && x.seed === r.seed);
      assert.is(r.finalLoss, twin.finalLoss, `${r.method} seed ${r.seed}`);
      assert.is(r.sourceTest.correct, twin.sourceTest.correct, `${r.method} seed ${r.seed}`);
    }
    const so = b.summary.find((s) => s.method === 'source-only'), dann = b.summary.find((s) => s.method === 'dann');
    assert.is(so.gain, null);
    assert.is(dann.gain.n, 2);
    const seedGain = (seed) => b.rows.find((r) => r.method === 'dann' && r.seed === seed).targetTest.accuracy - b.rows.find((r) => r.method === 'source-only' && r.seed === seed).targetTest.accuracy;
    assert.ok(Math.abs(dann.gain.mean - (seedGain(1) + seedGain(2)) / 2) < 1e-12);
    assert.is(dann.targetTest.n, 2);
    assert.ok(dann.targetTest.min <= dann.targetTest.mean && dann.targetTest.mean <= dann.targetTest.max);

    // the human table and the saved model
    const out = join(dir, 'm.qck');
    const txt = cli('adapt', ...tiny.filter((f) => f !== '--json'), '--unlabeled', join(dir, 'labelled'), '--method', 'coral', '-o', out, '--quiet');
    assert.is(txt.status, 0, txt.stderr);
    assert.match(txt.stdout, /target labels: used only to score/);
    assert.match(txt.stdout, /\| source-only \|/);
    assert.match(txt.stdout, /\| coral \|/);
    assert.ok(existsSync(out), 'one method: -o FILE as given');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('qwasm adapt: usage errors name the flag', () => {
  for (const [args, msg] of [
    [['adapt', '--unlabeled', 'digits'], /--source is required/],
    [['adapt', '--source', 'mnist'], /--unlabeled is required/],
    [['adapt', '--source', 'mnist', '--unlabeled', 'digits', '--method', 'mmd'], /unknown method 'mmd' for --method/],
    [['adapt', '--source', 'mnist', '--unlabeled', 'digits', '--seeds', '1,x'], /--seeds/],
    [['adapt', '--source', 'mnist', '--unlabeled', 'digits', '--target', 'digits'], /give the target once/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, msg);
  }
  assert.match(cli('--help').stdout, /adapt +domain adaptation/);
  assert.match(cli('adapt', '--help').stdout, /never used for training or for choosing anything/);
});

test('Wilson interval and seed spread', () => {
  const w = wilson(81, 100);
  assert.ok(Math.abs(w.lo - 0.7222) < 1e-3 && Math.abs(w.hi - 0.8749) < 1e-3, JSON.stringify(w));
  assert.equal(wilson(0, 10).lo, 0); assert.ok(wilson(0, 10).hi > 0.2);
  assert.equal(wilson(10, 10).hi, 1);
  assert.throws(() => wilson(11, 10), /correct/);
  const s = spread([0.8, 0.9, 0.85]);
  assert.ok(Math.abs(s.mean - 0.85) < 1e-12 && Math.abs(s.sd - 0.05) < 1e-12 && s.min === 0.8 && s.max === 0.9);
  assert.ok(Math.abs(s.ci.hi - (0.85 + tQuantile975(2) * 0.05 / Math.sqrt(3))) < 1e-12);
  assert.is(spread([0.5]).ci, null);
  assert.is(tQuantile975(100), 1.96);
});

test('--seeds, --method, -o with several methods', () => {
  assert.equal(parseSeeds(undefined), [1]);
  assert.equal(parseSeeds('3'), [1, 2, 3]);
  assert.equal(parseSeeds('4,9'), [4, 9]);
  assert.throws(() => parseSeeds('0'), /--seeds/);
  assert.throws(() => parseSeeds('2,2'), /twice/);
  assert.equal(parseMethods(undefined), ['source-only', 'dann', 'coral']);
  assert.equal(parseMethods('coral,source-only'), ['source-only', 'coral']);
  assert.is(outFileFor('out/m.qck', 'dann', true), 'out/m.dann.qck');
  assert.is(outFileFor('out.d/m', 'dann', true), 'out.d/m.dann');
  assert.is(outFileFor('m.qck', 'dann', false), 'm.qck');
});

test('unlabelled folders and withoutLabels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-unl-'));
  try {
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `${i}.pgm`), pgm(new Uint8Array(784).fill(i * 50)));
    const ds = loadUnlabelledFolder(dir);
    assert.is(ds.length, 3);
    assert.equal([...ds.classes], [...UNLABELLED]);
    assert.equal([...ds.labels], [0, 0, 0]);
    assert.is(ds.images[784], 50);
    const m = loadDataset('mnist').test;
    const u = withoutLabels(m);
    assert.is(u.images, m.images);
    assert.ok(u.labels.every((v) => v === 0));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('sketch → photo superclasses: every QuickDraw category exists and is mapped once; Tux Paint stamps by folder', () => {
  const all = quickdrawCategories();
  const mapped = NATURAL_SUPERCLASSES.flatMap((s) => QUICKDRAW_NATURAL[s]);
  assert.is(new Set(mapped).size, mapped.length);
  for (const c of mapped) assert.ok(all.includes(c), c);
  if (!existsSync(TUXPAINT_STAMPS_DIR)) return; // tuxpaint-stamps-default not installed
  const files = tuxPaintNaturalFiles();
  const counts = NATURAL_SUPERCLASSES.map((_, k) => files.filter((f) => f.label === k).length);
  for (const [k, n] of counts.entries()) assert.ok(n >= 5, `${NATURAL_SUPERCLASSES[k]}: ${n} stamps`);
  assert.not.ok(files.some((f) => /\/(cartoon|toys|plastic)\//.test(f.file) || /lobster|shrimp/.test(f.file)));
});

test('pipeline: --adapt plans the adaptation stage, needs --unlabeled, and reports beside source-only', async () => {
  const { planStages } = await import('../dist/pipeline/run.js');
  const { settingsFromFlags } = await import('../dist/cli/pipeline.js');
  const { adaptationTable } = await import('../dist/pipeline/report-md.js');
  assert.equal(planStages(['finetune'], true), ['teacher-finetune', 'student-finetune', 'adapt', 'latency']);
  assert.not.ok(planStages(['finetune']).includes('adapt'));
  assert.equal(settingsFromFlags({ adapt: 'coral,dann', unlabeled: 'digits' }).adapt, ['coral', 'dann']);
  assert.throws(() => settingsFromFlags({ adapt: 'dann' }), /--adapt needs --unlabeled/);
  assert.throws(() => settingsFromFlags({ unlabeled: 'digits' }), /--unlabeled needs --adapt/);
  assert.throws(() => settingsFromFlags({ adapt: 'mmd', unlabeled: 'digits' }), /unknown method 'mmd' for --adapt/);
  const v = (method, acc, u, gain) => ({ name: `teacher · adapt: ${method}`, method: `adapt-${method}`, accuracy: acc,
    details: { adapt: { unlabeledTest: { accuracy: u, count: 100, ci: wilson(Math.round(u * 100), 100) }, gainOverSourceOnly: gain, steps: 10, unlabeledAdaptationSet: null } } });
  const t = adaptationTable({ adaptation: { unlabeled: 'digits', description: 'd', scored: true },
    variants: [{ name: 'teacher · fine-tune', method: 'fine-tune', accuracy: 0.9, details: {} }, v('source-only', 0.9, 0.5, 0), v('dann', 0.88, 0.62, 0.12)] });
  assert.is(t.rows.length, 2);
  assert.is(t.rows[1][3], '+12.00');
  assert.is(t.rows[0][3], '—');
  assert.match(t.note, /used only to score/);
  assert.is(adaptationTable({ adaptation: null, variants: [] }), null);
});

test.run();
