// `qwasm pipeline`: the held-out split, the shipped source nets, the target checks, the SVG plots, and one real
// end-to-end run of the pipeline code at a tiny budget (4 held-out QuickDraw categories, every method), run
// from an unrelated working directory so the shipped models must resolve relative to the package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickdrawCategories, loadCheckpoint } from '../dist/index.js';
import { FASHION_MNIST_DEBIAN_DIR } from '../dist/data/sources.js';
import { holdoutSplit, DEFAULT_HOLDOUT } from '../dist/pipeline/split.js';
import { SHIPPED_SOURCES, modelsDir, resolveSettings } from '../dist/pipeline/defaults.js';
import { checkTargets } from '../dist/pipeline/run.js';
import { lineChart, scatterChart, niceTicks } from '../dist/pipeline/svg.js';
import { needs } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
const cli = (args, cwd) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, maxBuffer: 1 << 26 });
const all = quickdrawCategories();

test('holdout split: seeded, disjoint, complete; the default target is fixed', () => {
  const a = holdoutSplit(all, 20, 5), b = holdoutSplit(all, 20, 5), c = holdoutSplit(all, 20, 6);
  assert.equal(a, b);
  assert.not.equal(a.target, c.target);
  assert.is(a.target.length, 20);
  assert.is(a.source.length, all.length - 20);
  assert.is(new Set([...a.target, ...a.source]).size, all.length);
  assert.ok(a.target.every((n) => !a.source.includes(n)));
  // both sides keep the dataset's order
  assert.equal(a.targetIndices, [...a.targetIndices].sort((x, y) => x - y));
  // the shipped QuickDraw source nets were pretrained on exactly this split: changing it would leak target classes
  assert.equal(a.target, ['blueberry', 'broom', 'bush', 'circle', 'dragon', 'feather', 'guitar', 'knee', 'lion', 'lipstick', 'pineapple',
    'shark', 'snail', 'streetlight', 'tiger', 'trombone', 'umbrella', 'vase', 'waterslide', 'wristwatch']);
  assert.equal([DEFAULT_HOLDOUT.count, DEFAULT_HOLDOUT.seed], [20, 5]);
  // a smaller holdout with the same seed is a subset (the tiny test target below never leaves the default target)
  assert.ok(holdoutSplit(all, 4, 5).target.every((n) => a.target.includes(n)));
  assert.throws(() => holdoutSplit(all, 0, 5), /count/);
  assert.throws(() => holdoutSplit(all, all.length, 5), /count/);
  assert.throws(() => holdoutSplit(['a', 'a', 'b'], 1, 5), /twice/);
});

test('shipped source nets: in models/, never trained on a target class, command recorded', () => {
  const target = holdoutSplit(all, DEFAULT_HOLDOUT.count, DEFAULT_HOLDOUT.seed).target;
  let total = 0;
  for (const [name, s] of Object.entries(SHIPPED_SOURCES)) {
    for (const f of [s.teacher, s.student]) {
      const file = join(modelsDir(), f);
      assert.ok(existsSync(file), `${file} is missing`);
      total += statSync(file).size;
      const { meta } = loadCheckpoint(file);
      assert.match(meta.command, /^qwasm pretrain /);
      if (name === 'quickdraw') {
        assert.is(meta.source.classes.length, all.length - target.length);
        assert.ok(meta.source.classes.every((c) => !target.includes(c)), `${f} saw a target category`);
        assert.equal(meta.source.holdout.classes, target);
      }
    }
  }
  assert.ok(total < 2.5e6, `shipped models take ${total} bytes`);
  assert.throws(() => resolveSettings({ source: 'nope' }), /unknown source 'nope'/);
  assert.throws(() => resolveSettings({ methods: ['nope'] }), /unknown method 'nope'/);
  assert.throws(() => resolveSettings({ sparsity: 1 }), /sparsity/);
});

const variant = (o) => ({ model: 'm', params: 1, sparsity: 0, seconds: 1, curve: [], details: {}, precision: 'f32', latencyMs: 1, ...o });

test('checkTargets: the final student is the fastest int8 student within 2 points of the teacher; goals computed from the variants', () => {
  const vs = [
    variant({ name: 'T ft', role: 'teacher', method: 'fine-tune', accuracy: 0.80, bytes: 400000, latencyMs: 3 }),
    variant({ name: 'T sc', role: 'teacher', method: 'scratch', accuracy: 0.70, bytes: 400000 }),
    variant({ name: 'S ft', role: 'student', method: 'fine-tune', accuracy: 0.74, bytes: 100000 }),
    variant({ name: 'S sc', role: 'student', method: 'scratch', accuracy: 0.71, bytes: 100000 }),
    variant({ name: 'S1', role: 'student', method: 'compress-transfer', precision: 'int8', accuracy: 0.70, bytes: 20000, latencyMs: 0.5 }),
    variant({ name: 'S3', role: 'student', method: 'joint', precision: 'int8', accuracy: 0.79, bytes: 40000, latencyMs: 1.2 }),
    variant({ name: 'S ptq', role: 'student', method: 'ptq', precision: 'int8', accuracy: 0.95, bytes: 10, latencyMs: 0.01 }),
  ];
  const { checks, final } = checkTargets(vs);
  assert.is(final.name, 'S3');
  // a faster student also within 2 points wins; one 2.5 points below does not
  assert.is(checkTargets([...vs, variant({ name: 'S3c', role: 'student', method: 'joint-channel', precision: 'int8', accuracy: 0.781, bytes: 9000, latencyMs: 0.6 })]).final.name, 'S3c');
  assert.is(checkTargets([...vs, variant({ name: 'S3d', role: 'student', method: 'joint-channel', precision: 'int8', accuracy: 0.775, bytes: 9000, latencyMs: 0.6 })]).final.name, 'S3');
  // none within 2 points: the most accurate
  assert.is(checkTargets(vs.filter((v) => v.name !== 'S3')).final.name, 'S1');
  const by = Object.fromEntries(checks.map((c) => [c.name, c]));
  assert.ok(Math.abs(by['teacher: transfer − scratch'].value - 10) < 1e-9);
  assert.is(by['teacher: transfer − scratch'].met, true);
  assert.is(by['student: transfer − scratch'].met, false);
  assert.is(by['final student: size vs float teacher'].value, 10);
  assert.is(by['final student: size vs float teacher'].met, true);
  assert.ok(Math.abs(by['final student: accuracy vs float teacher'].value - 1) < 1e-9);
  assert.is(by['final student: speed vs float teacher'].value, 2.5);
  assert.is(by['final student: speed vs float teacher'].met, false);
  const none = checkTargets(vs.slice(0, 2));
  assert.is(none.final, null);
  assert.is(none.checks.find((c) => c.name.startsWith('final student: size')).met, null);
});

test('svg plots: escaped labels, finite coordinates, log axis', () => {
  assert.equal(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const s = scatterChart({ title: 'a < b', xLabel: 'x', yLabel: 'y', logX: true, points: [{ label: 'p & q', x: 1000, y: 50 }, { label: 'r', x: 200000, y: 70 }, { label: 'bad', x: NaN, y: 1 }] });
  assert.match(s, /^<svg /);
  assert.match(s, /a &lt; b/);
  assert.match(s, /p &amp; q/);
  assert.not.match(s, /NaN|Infinity|bad/);
  assert.match(s, />1k</);
  const l = lineChart({ title: 't', xLabel: 'epoch', yLabel: 'acc', series: [{ name: 's1', points: [[1, 10], [2, 20], [3, NaN]] }, { name: 's2', points: [] }] });
  assert.match(l, /<path d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+"/);
  assert.not.match(l, /NaN/);
  assert.throws(() => lineChart({}), /series/);
});

test('qwasm pipeline: usage errors', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'qwasm-pipe-'));
  for (const [args, code, msg] of [
    [['--methods', 'scratch,nope'], 2, /unknown method 'nope'/],
    [['--teacher', 'x.qck'], 2, /--teacher and --student go together/],
    [['--epochs', '1.5'], 2, /--epochs must be an integer/],
    [['--source', 'nope'], 1, /unknown source 'nope'/],
    [['--teacher', 'no.qck', '--student', 'no.qck'], 1, /teacher checkpoint not found: no\.qck/],
  ]) {
    const r = cli(['pipeline', ...args], cwd);
    assert.is(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.match(cli(['pipeline', '--help'], cwd).stdout, /compress-transfer/);
  rmSync(cwd, { recursive: true, force: true });
});

test('qwasm pipeline end to end at a tiny budget: every method, real numbers in JSON, Markdown and HTML', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'qwasm-pipe-'));
  const out = join(cwd, 'rep');
  const r = cli(['pipeline', '--holdout', '4', '--shots', '8', '--test-per-class', '10', '--epochs', '2', '--compress-epochs', '1',
    '--source-per-class', '1', '--head-epochs', '2', '--batch', '8', '--latency-rounds', '1', '--latency-runs', '2', '--out', out, '--json'], cwd);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // the chosen settings
  assert.is(j.settings.epochs, 2);
  assert.is(j.settings.holdout, 4);
  assert.is(j.settings.source, 'quickdraw');
  assert.ok(j.settings.teacherFile.startsWith(modelsDir()));
  assert.equal(j.target.classes, holdoutSplit(all, 4, 5).target);
  assert.is(j.target.train, 4 * 8);
  assert.is(j.target.test, 4 * 10);
  const names = j.variants.map((v) => v.name);
  assert.equal(names, [
    'teacher · fine-tune', 'teacher · from scratch', 'teacher · features + linear head', 'teacher · features + nearest class mean',
    'student · fine-tune', 'student · from scratch', 'teacher · fine-tune · int8 PTQ', 'student · fine-tune · int8 PTQ',
    'student · compress → transfer (1) · int8', 'student · transfer → compress (2) · int8', 'student · joint (3) · int8',
    'student · joint (3) + channel pruning · int8',
  ]);
  const step = 1 / 40;
  for (const v of j.variants) {
    assert.ok(v.accuracy >= 0 && v.accuracy <= 1, `${v.name} accuracy ${v.accuracy}`);
    // an accuracy over 40 test images is a multiple of 1/40
    assert.ok(Math.abs(v.accuracy / step - Math.round(v.accuracy / step)) < 1e-6, `${v.name} accuracy ${v.accuracy}`);
    assert.ok(Number.isInteger(v.bytes) && v.bytes > 0, `${v.name} bytes ${v.bytes}`);
    assert.ok(Number.isFinite(v.latencyMs) && v.latencyMs > 0, `${v.name} latency ${v.latencyMs}`);
    if (v.precision === 'f32') assert.ok(v.bytes > 4 * v.params && v.bytes < 4 * v.params + 65536, `${v.name}: ${v.bytes} B for ${v.params} params`);
    else {
      assert.is(v.accuracy, v.details.accuracyInt8);
      // the int8 model is on disk, and its bytes are that file's size
      assert.is(statSync(join(out, v.details.file)).size, v.bytes, `${v.name} .qwm size`);
      assert.ok(v.bytes < v.params * 2, `${v.name}: int8 ${v.bytes} B for ${v.params} params`);
    }
  }
  const by = Object.fromEntries(j.variants.map((v) => [v.name, v]));
  // int8 is ~4× smaller than the same float model; the teacher is the larger net
  assert.ok(by['teacher · fine-tune · int8 PTQ'].bytes * 3 < by['teacher · fine-tune'].bytes);
  assert.ok(by['student · fine-tune'].params < by['teacher · fine-tune'].params);
  // the compressed students were pruned
  for (const n of ['student · transfer → compress (2) · int8', 'student · joint (3) · int8', 'student · compress → transfer (1) · int8']) {
    assert.ok(by[n].sparsity > 0.2, `${n} sparsity ${by[n].sparsity}`);
  }
  // channel pruning removed half the output channels of every prunable layer (mobilenet: the stem and the
  // pointwise convs): a much narrower network than the unstructured-pruned one
  const ch = by['student · joint (3) + channel pruning · int8'];
  assert.equal(ch.details.channelsRemoved, { 0: 8, 6: 16, 12: 32, 18: 32, 24: 64 });
  assert.ok(ch.params < by['student · joint (3) · int8'].params * 0.5, `channel-pruned student has ${ch.params} params`);
  assert.ok(j.targets.length >= 5);
  assert.ok(j.finalVariant && names.includes(j.finalVariant));
  // the same result on disk
  const disk = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(disk.variants, j.variants);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const v of j.variants) {
    const acc = (100 * v.accuracy).toFixed(2);
    assert.ok(md.includes(`| ${v.name} | ${v.precision} | ${acc} | ${v.bytes} |`), `report.md row of ${v.name}`);
    assert.ok(html.includes(v.name.replace(/&/g, '&amp;').replace(/>/g, '&gt;')), `report.html row of ${v.name}`);
  }
  assert.ok((html.match(/<svg /g) ?? []).length >= 4, 'plots');
  assert.not.match(html, /<script|NaN/);
  assert.match(md, /## Targets/);
  assert.match(md, /qwasm pretrain --model resnet/);
  rmSync(cwd, { recursive: true, force: true });
});

needs(test, 'fashion-mnist')('qwasm pipeline on a folder of IDX files as the target (Fashion-MNIST from Debian), MNIST sources', () => {
  const dir = FASHION_MNIST_DEBIAN_DIR;
  const cwd = mkdtempSync(join(tmpdir(), 'qwasm-pipe-idx-'));
  const r = cli(['pipeline', '--source', 'mnist', '--target', dir, '--shots', '8', '--test-per-class', '10', '--methods', 'finetune,joint',
    '--epochs', '1', '--compress-epochs', '1', '--batch', '8', '--latency-rounds', '1', '--latency-runs', '2', '--out', join(cwd, 'rep'), '--json'], cwd);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.settings.source, 'mnist');
  assert.is(j.target.name, dir);
  assert.is(j.target.classes.length, 10);
  assert.is(j.target.train, 80);
  assert.is(j.target.test, 100);
  assert.equal(j.variants.map((v) => v.name), ['teacher · fine-tune', 'student · fine-tune', 'student · joint (3) · int8']);
  for (const v of j.variants) {
    // accuracies are counts over the 100 test images
    assert.ok(Math.abs(v.accuracy * 100 - Math.round(v.accuracy * 100)) < 1e-9 && v.accuracy >= 0 && v.accuracy <= 1, `${v.name}: ${v.accuracy}`);
    assert.ok(v.bytes > 1000 && v.latencyMs > 0, `${v.name}: ${v.bytes} B, ${v.latencyMs} ms`);
  }
  const int8 = j.variants[2];
  assert.is(statSync(join(cwd, 'rep', int8.details.file)).size, int8.bytes);
  rmSync(cwd, { recursive: true, force: true });
});

test.run();
