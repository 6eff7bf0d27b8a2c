// Silent wrong answers refused: a model and a dataset with different classes, an empty class folder, mixed
// image sizes, a file given to the command that does not take it; --json names its losses distinctly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, message, pgmFolder, tmp } from './cli-run.js';

const dir = tmp('data');
const four = pgmFolder(join(dir, 'four'), { c0: 10, c1: 10, c2: 10, c3: 10 });
const ck = join(dir, 'four.qck'), qwm = join(dir, 'four.qwm');

test.before(() => {
  const r = cli('train', '--model', 'mlp', '--hidden', '8', '--data', four, '--batch', '8', '--out', ck, '--quiet');
  assert.is(r.status, 0, r.stderr);
  const e = cli('export', ck, '-o', qwm, '--data', four, '--calib', '1');
  assert.is(e.status, 0, e.stderr);
});

test('a 4-class model against a 10-class dataset is refused by every command that runs it', () => {
  for (const args of [
    ['eval', '--model', ck, '--data', 'mnist'],
    ['run', qwm, '--data', 'mnist'],
    ['compress', '--model', ck, '--data', 'mnist', '--method', 'ptq'],
    ['export', ck, '-o', join(dir, 'x.qwm'), '--data', 'mnist'],
    ['export', qwm, '-o', join(dir, 'y.qwm'), '--data', 'mnist', '--eval', '10'],
    ['train', '--resume', ck, '--data', 'mnist'],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(message(r), /has 4 classes, mnist has 10/, args.join(' '));
    assert.not.match(r.stdout, /accuracy/);
  }
  // the same model on its own data runs
  const ok = cli('run', qwm, '--data', four, '--json');
  assert.is(ok.status, 0, ok.stderr);
  assert.ok(JSON.parse(ok.stdout).count > 0);
});

test('a file given to a command that does not take it says which command does', () => {
  for (const [args, msg] of [
    [['info', ck], /four\.qck is a float checkpoint \(\.qck\): 'qwasm eval', 'qwasm compress', 'qwasm export' and 'train --resume' take it; 'qwasm info' takes a \.qwm model/],
    [['run', ck, '--data', four], /is a float checkpoint \(\.qck\).*'qwasm run' takes a \.qwm model/],
    [['eval', '--model', qwm, '--data', four], /four\.qwm is an int8 model \(\.qwm\): 'qwasm run' and 'qwasm info' take it.*'qwasm eval' takes a checkpoint \(\.qck\)/],
    [['compress', '--model', qwm, '--data', four, '--method', 'ptq'], /is an int8 model \(\.qwm\).*'qwasm compress' takes a checkpoint/],
    [['import', qwm, '-o', join(dir, 'z.qck')], /is an int8 model \(\.qwm\).*'qwasm import' takes an ONNX model/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(message(r), msg);
    assert.not.match(r.stderr, /bad magic/);
  }
});

test('an empty class folder is an error naming it; mixed image sizes say what to do without API options', () => {
  const empty = pgmFolder(join(dir, 'empty'), { a: 4, b: 4, c9: 0 });
  let r = cli('train', '--model', 'mlp', '--data', empty, '--batch', '2');
  assert.is(r.status, 1);
  assert.match(message(r), /c9: the class folder 'c9' holds no images/);
  const mixed = pgmFolder(join(dir, 'mixed'), { a: 3, b: 3 }, (cls, i) => (cls === 'b' && i === 2 ? 20 : 28));
  r = cli('train', '--model', 'mlp', '--data', mixed, '--batch', '2');
  assert.is(r.status, 1);
  assert.match(message(r), /2\.pgm is 20×20, the first image was 28×28: the images of a folder dataset must all have one size/);
  assert.not.match(r.stderr, /pass size/);
});

test('train --json: trainLoss is the last epoch\'s mean (= perEpoch[last].trainLoss), lastBatchLoss the last batch', () => {
  const r = cli('train', '--model', 'mlp', '--hidden', '8', '--data', 'mnist', '--limit', '256', '--batch', '32', '--epochs', '2', '--json');
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.perEpoch.length, 2);
  assert.is(j.trainLoss, j.perEpoch[1].trainLoss);
  assert.ok(Number.isFinite(j.lastBatchLoss) && j.lastBatchLoss !== j.trainLoss);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
