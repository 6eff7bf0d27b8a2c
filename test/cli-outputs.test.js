// Work is never lost or refused late: every output path is checked before any work, results are saved before
// the final evaluation, saves are atomic and clean up the temporary files of writers that were killed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint, decodeQwm } from '../dist/index.js';
import { cli, cliWatch, message, tmp } from './cli-run.js';

const dir = tmp('outputs');
const base = join(dir, 'base.qck');
const onnx = fileURLToPath(new URL('./fixtures/small-cnn.onnx', import.meta.url));
const tiny = ['--model', 'mlp', '--hidden', '8', '--data', 'mnist', '--limit', '64', '--batch', '32'];

test.before(() => {
  const r = cli('train', ...tiny, '--out', base, '--quiet');
  assert.is(r.status, 0, r.stderr);
});

test('every output is checked before any work: missing folder, a folder given as a file (exit 1, one line)', () => {
  const missing = join(dir, 'no-such-dir', 'x.out'), folder = join(dir, 'a-folder');
  mkdirSync(folder);
  writeFileSync(join(dir, 'a-file'), 'x');
  for (const [args, flag, path] of [
    [['train', ...tiny, '--out', missing], '--out', missing],
    [['train', ...tiny, '-o', folder], '--out', folder],
    [['pretrain', ...tiny, '--out', missing], '--out', missing],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--out', missing], '--out', missing],
    [['compress', '--model', base, '--data', 'mnist', '--method', 'ptq', '--checkpoint', folder], '--checkpoint', folder],
    [['export', base, '-o', join(missing)], '-o/--out', missing],
    [['export', base, '--out', folder], '-o/--out', folder],
    [['import', onnx, '-o', missing], '-o/--out', missing],
    [['pipeline', '--out', join(dir, 'a-file', 'report')], '--out', join(dir, 'a-file', 'report')],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, `one line, no work started: ${r.stderr}`);
    assert.ok(lines[0].includes(`${flag} ${path}`), `names the flag and the path: ${lines[0]}`);
    assert.match(lines[0], /does not exist|is a directory|is a file, not a directory/);
    assert.is(r.stdout, '');
  }
  assert.equal(readdirSync(folder), [], 'nothing written into the folder');
});

test('-o and --out are one flag on train, compress, export and import', () => {
  for (const o of ['-o', '--out']) {
    const ck = join(dir, `t${o}.qck`), q = join(dir, `c${o}.qwm`), e = join(dir, `e${o}.qwm`), i = join(dir, `i${o}.qck`);
    assert.is(cli('train', ...tiny, o, ck, '--quiet').status, 0, `train ${o}`);
    assert.ok(decodeCheckpoint(readFileSync(ck)).tensors);
    const c = cli('compress', '--model', ck, '--data', 'mnist', '--method', 'ptq', '--eval-limit', '50', o, q, '--quiet', '--json');
    assert.is(c.status, 0, c.stderr);
    assert.ok(decodeQwm(readFileSync(q)).nodes.length > 0);
    assert.is(cli('export', ck, o, e, '--calib', '1').status, 0, `export ${o}`);
    assert.is(cli('import', onnx, o, i).status, 0, `import ${o}`);
    assert.ok(existsSync(e) && existsSync(i));
  }
});

test('export: a file extension that names another format is refused, naming both', () => {
  for (const [fmt, out, want] of [['onnx', 'x.qwm', '.qwm extension is for --format qwm'], ['qwm', 'x.onnx', '.onnx extension is for --format onnx'], ['wasm', 'x.qwm', 'x.wasm']]) {
    const r = cli('export', base, '--format', fmt, '-o', join(dir, out));
    assert.is(r.status, 2, r.stderr);
    assert.ok(message(r).includes(`--format ${fmt} with -o ${join(dir, out)}`) && message(r).includes(want), message(r));
    assert.not.ok(existsSync(join(dir, out)));
  }
  // no --format: the extension decides; an unknown extension is qwm
  const r = cli('export', base, '-o', join(dir, 'plain.bin'), '--calib', '1', '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).format, 'qwm');
});

test('train writes its checkpoint before the final test evaluation: Ctrl-C there loses nothing', async () => {
  const out = join(dir, 'before-eval.qck');
  let seen = false;
  const r = await cliWatch(['train', '--model', 'refcnn', '--data', 'mnist', '--limit', '64', '--batch', '32', '--out', out], (err, child) => {
    if (seen || !/evaluating on the test split/.test(err)) return;
    seen = true;
    // the line comes after the save: the checkpoint is complete now, while the test split is evaluated
    assert.match(err, new RegExp(`checkpoint written to ${out}; evaluating on the test split`));
    assert.is(decodeCheckpoint(readFileSync(out)).meta.step, 2);
    child.kill('SIGINT');
  });
  assert.ok(seen, r.stderr);
  assert.ok(r.signal === 'SIGINT' || r.status === 0, `${r.signal} ${r.status}`);
  assert.is(decodeCheckpoint(readFileSync(out)).meta.step, 2, 'the checkpoint survives the interrupt');
});

test('compress writes --out and --checkpoint before it evaluates', async () => {
  const q = join(dir, 'early.qwm'), ck = join(dir, 'early.qck');
  let seen = false;
  const r = await cliWatch(['compress', '--model', base, '--data', 'mnist', '--method', 'prune', '--sparsity', '0.5', '--limit', '64', '--out', q, '--checkpoint', ck], (err) => {
    if (seen || !/evaluating on the test split/.test(err)) return;
    seen = true;
    assert.ok(decodeQwm(readFileSync(q)).nodes.length > 0);
    assert.ok(decodeCheckpoint(readFileSync(ck)).meta.compressed === 'prune');
  });
  assert.is(r.status, 0, r.stderr);
  assert.ok(seen, r.stderr);
  assert.match(r.stdout, /int8 model written to/);
});

test('a save removes the temporary files that killed writers left beside the target, and keeps live ones', () => {
  const out = join(dir, 'temps.qck');
  // a pid that is certainly gone: a child that has exited
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const stale = join(dir, `.temps.qck.${dead}.lx9abc12.qwasm-tmp`), live = join(dir, `.temps.qck.${process.pid}.lx9abc13.qwasm-tmp`);
  const other = join(dir, `.other.qck.${dead}.lx9abc14.qwasm-tmp`), foreign = join(dir, '.temps.qck.unrelated');
  for (const f of [stale, live, other, foreign]) writeFileSync(f, Buffer.alloc(1000));
  const r = cli('train', ...tiny, '--out', out, '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.not.ok(existsSync(stale), 'the dead writer\'s temporary file is removed');
  for (const f of [live, other, foreign]) assert.ok(existsSync(f), `kept: ${f}`);
  assert.ok(decodeCheckpoint(readFileSync(out)).tensors);
  assert.not.ok(readdirSync(dir).some((f) => f.startsWith('.temps.qck.') && f !== `.temps.qck.${process.pid}.lx9abc13.qwasm-tmp` && f.endsWith('.qwasm-tmp')), 'no temporary file of this save is left');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
