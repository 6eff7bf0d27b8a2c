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
import { init, Engine, loadModel, weightSparsity } from '../dist/index.js';
import { decodeQwm } from '../dist/deploy/qwm.js';

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
  const { model } = loadModel(new Engine(q.rt), ck);
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

test('usage errors exit with code 2 and name the flag', () => {
  for (const [args, msg] of [
    [['compress', '--data', 'mnist', '--method', 'qat'], /--model FILE is required/],
    [['compress', '--model', base, '--data', 'mnist'], /--method is required/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'zip'], /unknown method 'zip'/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'qat', '--sparsity', '0.5'], /--sparsity is not used by --method qat/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune'], /needs --sparsity/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'distill'], /needs --teacher/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'lowrank', '--rank', '8', '--checkpoint', 'x.qck'], /cannot save a factorised model/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'joint', '--hint', '5'], /--hint must be STUDENT:TEACHER/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', 'lots'], /--sparsity must be a number/],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--structure', 'rows'], /--structure must be unstructured, nm, block, channel/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  // a bad value caught by the library is exit code 1 with its message
  const r = cli('compress', '--model', base, '--method', 'prune', '--sparsity', '1.5', ...common);
  assert.is(r.status, 1);
  assert.match(r.stderr, /prune\.sparsity must be in \(0, 1\)/);
});

test.run();
