// `qwasm compress` end to end on tiny MNIST budgets: --json rows carry real measurements (sparsity reached,
// bytes shrink, accuracy above chance, the .qwm written is the size the row reports and decodes), the float
// checkpoint it writes reloads with the pruned zeros, the human output has a table, and usage errors exit 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, Engine, loadModelCheckpoint, loadCheckpoint, weightSparsity, loadDataset, subset, evaluate } from '../dist/index.js';
import { decodeQwm, qwmNodeBytes } from '../dist/deploy/qwm.js';

const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
const cli = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'qwasm-compress-'));
const base = join(dir, 'base.qck');
const common = ['--data', 'mnist', '--limit', '640', '--eval-limit', '400', '--build', 'simd'];

test.before(() => {
  const r = cli('train', '--model', 'refcnn', '--data', 'mnist', '--limit', '1280', '--lr', '2e-3', '--out', base, '--quiet', '--build', 'simd');
  assert.is(r.status, 0, r.stderr);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const json = (r) => {
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test('--method prune --json: sparsity reached, int8 smaller than dense int8, accuracy above chance, .qwm and checkpoint written', async () => {
  const qwm = join(dir, 'pruned.qwm'), ck = join(dir, 'pruned.qck');
  const out = json(cli('compress', '--model', base, '--method', 'prune', '--sparsity', '0.85', '--out', qwm, '--checkpoint', ck, '--json', ...common));
  const [f, p] = out.rows;
  for (const k of ['method', 'accuracy', 'bytes', 'sparsity', 'latencyMs']) assert.ok(k in p, `row field ${k}`);
  assert.is(f.method, 'float');
  assert.is(p.method, 'prune');
  assert.ok(Math.abs(p.sparsity - 0.85) < 2e-3, `sparsity ${p.sparsity}`);
  assert.ok(p.accuracy > 0.6, `int8 accuracy ${p.accuracy}`);
  assert.ok(p.accuracy > f.accuracy - 0.1, `int8 ${p.accuracy} vs float ${f.accuracy}`);
  // dense int8 would be ≈ float32 / 4; 85 % sparse must be well under that
  assert.ok(p.bytes < 0.5 * f.float32Bytes / 4, `bytes ${p.bytes} vs float32 ${f.float32Bytes}`);
  assert.ok(p.latencyMs > 0);
  assert.is(out.qwmBytes, statSync(qwm).size);
  assert.is(p.bytes, out.qwmBytes, 'the row reports the bytes of the .qwm written');
  const g = decodeQwm(new Uint8Array(readFileSync(qwm)));
  assert.is(g.classes, 10);
  assert.is(g.meta.method, 'prune');
  assert.is(g.meta.labels.length, 10);
  // the float checkpoint reloads (built-in architecture) with its pruned zeros
  const q = await init({ build: 'simd' });
  const { model } = loadModelCheckpoint(new Engine(q.rt), ck);
  assert.ok(Math.abs(weightSparsity(model).global - 0.85) < 2e-3);
  model.dispose();
});

test('--method qat and --method joint: int8 agrees with fake quant; joint reports distillation and sparsity', () => {
  const qat = json(cli('compress', '--model', base, '--method', 'qat', '--json', ...common)).rows[1];
  assert.is(qat.method, 'qat');
  assert.ok(Math.abs(qat.accuracyInt8 - qat.accuracyFakeQuant) <= 0.01, `int8 ${qat.accuracyInt8} fake-quant ${qat.accuracyFakeQuant}`);
  assert.ok(qat.accuracy > 0.6);
  assert.is(qat.sparsity, 0);
  const j = json(cli('compress', '--model', base, '--method', 'joint', '--sparsity', '0.7', '--alpha', '0.6', '--temperature', '3', '--hint', '5:5:0.1', '--json', ...common));
  const row = j.rows[1];
  assert.ok(Math.abs(row.sparsity - 0.7) < 2e-3);
  assert.ok(row.bytes < qat.bytes * 0.7, `joint ${row.bytes} B vs qat ${qat.bytes} B`);
  assert.ok(row.accuracy > 0.6);
  assert.ok(j.layerSparsity && Object.keys(j.layerSparsity).length === 4);
  assert.is(j.steps, 10);
});

test('--method lowrank: fewer parameters, table output without --json', () => {
  const r = cli('compress', '--model', base, '--method', 'lowrank', '--rank', '16', '--layers', '7', '--quiet', ...common);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| method \| params \|/);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| lowrank'));
  assert.is(rows.length, 1);
  const params = Number(rows[0].split('|')[2].replace(/\s/g, ''));
  assert.is(params, 225034 - 1600 * 128 + 16 * (1600 + 128));
  assert.match(r.stdout, /lowrank: int8 \d+\.\d\d % vs float/);
});

test('--structure channel: the pruned channels are removed (params, bytes) and the checkpoint reloads the narrower net', async () => {
  const ck = join(dir, 'channel.qck'), qwm = join(dir, 'channel.qwm');
  const out = json(cli('compress', '--model', base, '--method', 'prune', '--structure', 'channel', '--sparsity', '0.5', '--checkpoint', ck, '--out', qwm, '--json', ...common));
  const [f, p] = out.rows;
  // refcnn 32 / 64 / 128 channels → 16 / 32 / 64 (the output layer keeps its 10)
  assert.equal(out.channelsRemoved, { 0: 16, 3: 32, 7: 64 });
  assert.is(out.paramsBeforeRemoval, 225034);
  const slim = (3 * 3 * 16 + 16) + (3 * 3 * 16 * 32 + 32) + (5 * 5 * 32 * 64 + 64) + (64 * 10 + 10);
  assert.is(p.params, slim);
  assert.is(p.float32Bytes, 4 * slim);
  // a dense int8 refcnn is ≈ 225 kB; the narrower one ≈ a quarter of that
  assert.ok(p.bytes < 0.3 * (f.float32Bytes / 4), `int8 ${p.bytes} B`);
  assert.is(p.bytes, out.qwmBytes);
  assert.is(p.sparsity, 0, 'no zeros left: the channels are gone');
  assert.ok(p.accuracy > 0.5, `int8 accuracy ${p.accuracy}`);
  assert.is(decodeQwm(new Uint8Array(readFileSync(qwm))).nodes.find((n) => n.name === '7').k, 800);
  const q = await init({ build: 'simd' });
  const { model } = loadModelCheckpoint(new Engine(q.rt), ck);
  assert.is(model.numParameters(), slim);
  model.dispose();
});

test('--method qat|joint --checkpoint: the QAT grid is saved; qwasm export of the checkpoint is compress\'s own --out', () => {
  const cases = [['qat', ['--lsq'], 32], ['joint', ['--structure', 'channel', '--sparsity', '0.5', '--alpha', '0'], 16],
    // a factorised model: the checkpoint records its LowRankLinear / split-conv layers
    ['joint', ['--rank', '8', '--layers', '3,7', '--alpha', '0'], 32, 'lowrank']];
  for (const [method, extra, channels0, tag = method] of cases) {
    const ck = join(dir, `${tag}.qck`), qwm = join(dir, `${tag}.qwm`), ex = join(dir, `${tag}-export.qwm`);
    const out = json(cli('compress', '--model', base, '--method', method, ...extra, '--checkpoint', ck, '--out', qwm, '--json', ...common));
    assert.is(out.terms.qat, true);
    assert.is(out.terms.lsq, method === 'qat');
    const st = loadCheckpoint(ck).meta.quantState;
    assert.ok(st && st.units && st.units['0'].weightScales.length === channels0, `${tag}: meta.quantState`);
    const ev = json(cli('export', ck, '-o', ex, '--eval', '400', '--json', '--build', 'simd'));
    assert.is(ev.source, 'checkpoint + QAT state');
    const a = decodeQwm(new Uint8Array(readFileSync(qwm))), b = decodeQwm(new Uint8Array(readFileSync(ex)));
    // the same int8 graph: weights, scales, requantisation, backends (only the metadata differs)
    assert.equal(b.input, a.input);
    assert.equal(b.nodes, a.nodes);
    const nodeBytes = (g) => [...qwmNodeBytes(g).values()].reduce((x, y) => x + y, 0);
    assert.is(nodeBytes(b), nodeBytes(a));
    assert.is(ev.int8Accuracy, out.rows[1].accuracyInt8, `${method}: export ${ev.int8Accuracy} vs compress ${out.rows[1].accuracyInt8}`);
  }
});

test('method flags: --calib dynamic / percentile, --percentile, polynomial schedule, --conv (factorised checkpoint)', async () => {
  const dyn = json(cli('compress', '--model', base, '--method', 'ptq', '--calib', 'dynamic', '--json', ...common));
  const row = dyn.rows[1];
  assert.is(dyn.terms.ptq, 'dynamic');
  assert.is(dyn.terms.calibration, null);
  assert.is(row.precision, 'int8-weights');
  assert.is(row.accuracyInt8, null);
  assert.is(row.accuracy, row.accuracyFakeQuant);
  assert.ok(row.accuracy > 0.6 && Math.abs(row.accuracy - dyn.rows[0].accuracy) <= 0.03, `weight-only ${row.accuracy} vs float ${dyn.rows[0].accuracy}`);
  assert.ok(row.bytes < 0.27 * row.float32Bytes);
  assert.is(dyn.out, undefined);
  const pr = json(cli('compress', '--model', base, '--method', 'prune', '--sparsity', '0.6', '--initial-sparsity', '0.2', '--prune-begin', '2', '--prune-end', '8',
    '--prune-frequency', '2', '--calib', 'percentile', '--percentile', '99.9', '--json', ...common));
  assert.equal(pr.terms.prune.schedule, { initialSparsity: 0.2, finalSparsity: 0.6, beginStep: 2, endStep: 8, frequency: 2, power: 3 });
  assert.is(pr.terms.ptq, 'percentile');
  assert.equal(pr.terms.calibration, { method: 'percentile', percentile: 99.9, batches: 16 });
  assert.ok(Math.abs(pr.rows[1].sparsity - 0.6) < 2e-3);
  const lrck = join(dir, 'spatial.qck');
  const lr = json(cli('compress', '--model', base, '--method', 'lowrank', '--rank', '8', '--layers', '3', '--conv', 'spatial', '--checkpoint', lrck, '--json', ...common));
  assert.is(lr.terms.lowrank[0].mode, 'spatial');
  const factored = 225034 - 3 * 3 * 32 * 64 + (3 * 32 * 8) + (3 * 8 * 64);
  assert.is(lr.rows[1].params, factored);
  // the factorised checkpoint rebuilds its 3×1 / 1×3 pair (layers record) and scores the row's float accuracy
  const q = await init({ build: 'simd' });
  const { model } = loadModelCheckpoint(new Engine(q.rt), lrck);
  assert.is(model.numParameters(), factored);
  const kernels = model.modules().map(([, m]) => m.config()).filter((c) => c.type === 'Conv2d').map((c) => JSON.stringify(c.kernel));
  assert.ok(kernels.includes('[3,1]') && kernels.includes('[1,3]'), `conv kernels ${kernels}`);
  const { test: mnistTest } = loadDataset('mnist');
  const ev = evaluate(model, subset(mnistTest, Int32Array.from({ length: 400 }, (_, i) => i)));
  assert.is(ev.accuracy, lr.rows[1].accuracyFloat);
  model.dispose();
});

test('--help lists the method flags', () => {
  const r = cli('compress', '--help');
  assert.is(r.status, 0);
  for (const f of ['--initial-sparsity', '--prune-begin', '--prune-end', '--prune-frequency', '--percentile', '--lsq', '--conv', '--calib NAME', 'dynamic']) assert.ok(r.stdout.includes(f), `--help mentions ${f}`);
});

test('usage errors exit with code 2 and name the flag', () => {
  for (const [args, msg] of [
    [['compress', '--data', 'mnist', '--method', 'qat'], /--model FILE is required/],
    [['compress', '--model', base, '--data', 'mnist'], /--method is required/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'zip'], /unknown method 'zip'/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'qat', '--sparsity', '0.5'], /--sparsity is not used by --method qat/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune'], /needs --sparsity/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'distill'], /needs --teacher/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'joint', '--hint', '5'], /--hint must be STUDENT:TEACHER/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', 'lots'], /--sparsity must be a number/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--structure', 'rows'], /--structure must be unstructured, nm, block or channel/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--prune-schedule', 'oneshot', '--prune-begin', '2'], /--prune-begin is a polynomial-schedule option/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--structure', 'nm', '--initial-sparsity', '0.1'], /--initial-sparsity is a polynomial-schedule option/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--initial-sparsity', '0.7'], /--initial-sparsity must be in \[0, --sparsity = 0\.5\]/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--initial-sparsity', 'x'], /--initial-sparsity must be a number/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--prune-begin', '5', '--prune-end', '3'], /--prune-end must be in \[6, /],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--prune-begin', '1.5'], /--prune-begin must be an integer/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--prune-frequency', '0'], /--prune-frequency must be (an integer ≥ 1|in \[1, )/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--percentile', '99'], /--percentile needs --calib percentile/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--calib', 'percentile', '--percentile', '101'], /--percentile must be in \(50, 100\]/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--calib', 'dynamic', '--out', 'x.qwm'], /--out writes an all-int8 \.qwm; --calib dynamic/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--calib', 'dynamic', '--calib-batches', '3'], /--calib-batches is for static calibration/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--calib', 'fast'], /--calib must be minmax, percentile or dynamic/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--lsq'], /--lsq is not used by --method ptq/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'lowrank', '--rank', '8', '--conv', 'depth'], /--conv must be channel or spatial/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'qat', '--conv', 'spatial'], /--conv is not used by --method qat/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  // a bad value caught by the library's check is reported in flag words (one check, library → flag names)
  const r = cli('compress', '--model', base, '--method', 'prune', '--sparsity', '1.5', ...common);
  assert.is(r.status, 2);
  assert.match(r.stderr, /--sparsity must be in \(0, 1\), got 1\.5/);
  assert.match(r.stderr, /run 'qwasm compress --help'/);
});

test.run();
