// train --resume continues a run from its checkpoint (weights, optimiser state, flags) and ends with the same
// weights as the uninterrupted run; --save-every N writes the checkpoint every N epochs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint } from '../dist/index.js';
import { cli, cliWatch, message, tmp } from './cli-run.js';

const dir = tmp('resume');
// 1280 examples / batch 32 = 40 steps per epoch; shifts (and dropout, on one thread) make the run depend on
// restored RNG state; without --threads the run is data-parallel over every core (its thread count is recorded)
const run = ['--model', 'mlp', '--hidden', '32', '--data', 'mnist', '--limit', '1280', '--batch', '32', '--epochs', '3', '--shift', '1'];
const dropout = ['--dropout', '0.2', '--threads', '1'];

const params = (file) => {
  const { tensors } = decodeCheckpoint(readFileSync(file));
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('param:')).map(([k, t]) => [k, Array.from(t.data)]));
};
/** Where two checkpoints' parameters first differ ('' when identical; uvu's diff of 25 000 floats is too slow). */
const firstDiff = (a, b) => {
  const pa = params(a), pb = params(b);
  for (const k of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (!pa[k] || !pb[k] || pa[k].length !== pb[k].length) return `${k}: missing or resized`;
    const i = pa[k].findIndex((v, j) => !Object.is(v, pb[k][j]));
    if (i >= 0) return `${k}[${i}]: ${pa[k][i]} vs ${pb[k][i]}`;
  }
  return '';
};
const json = (r) => { assert.is(r.status, 0, r.stderr); return JSON.parse(r.stdout); };

test('stopped mid-epoch (--max-steps), resumed: the same weights and results as the uninterrupted run (dropout, one thread)', () => {
  const full = json(cli('train', ...run, ...dropout, '--schedule', 'constant', '--out', join(dir, 'full.qck'), '--json'));
  const part = json(cli('train', ...run, ...dropout, '--schedule', 'constant', '--max-steps', '50', '--out', join(dir, 'part.qck'), '--json'));
  assert.is(part.steps, 50);
  const res = json(cli('train', '--resume', join(dir, 'part.qck'), '--max-steps', '120', '--out', join(dir, 'part.qck'), '--json'));
  assert.equal(res.resumedFrom, { file: join(dir, 'part.qck'), step: 50 });
  assert.is(res.steps, 120);
  assert.is(firstDiff(join(dir, 'part.qck'), join(dir, 'full.qck')), '', 'bit-identical weights');
  assert.is(res.testAccuracy, full.testAccuracy);
  assert.is(res.trainLoss, full.trainLoss);
  assert.equal(res.perEpoch.map((e) => [e.epoch, e.step]), [[1, 40], [2, 80], [3, 120]]);
});

test('killed (SIGKILL) after a --save-every checkpoint, resumed: the same weights as the uninterrupted cosine run (default threads)', async () => {
  const full = json(cli('train', ...run, '--schedule', 'cosine', '--out', join(dir, 'cos-full.qck'), '--json'));
  const out = join(dir, 'cos.qck');
  const killed = await cliWatch(['train', ...run, '--schedule', 'cosine', '--save-every', '1', '--out', out], (err, child) => {
    if (/^checkpoint written to /m.test(err)) child.kill('SIGKILL');
  });
  assert.ok(existsSync(out), killed.stderr);
  const at = decodeCheckpoint(readFileSync(out)).meta.step;
  assert.ok([40, 80, 120].includes(at), `saved at an epoch end (step ${at})`);
  const res = json(cli('train', '--resume', out, '--out', out, '--json'));
  assert.is(res.resumedFrom.step, at);
  assert.is(firstDiff(out, join(dir, 'cos-full.qck')), '', 'bit-identical weights');
  assert.is(res.testAccuracy, full.testAccuracy);
});

test('--save-every N writes the checkpoint at every N-th epoch end; --resume refuses what it cannot continue', async () => {
  const out = join(dir, 'every.qck');
  const { stderr } = await cliWatch(['train', ...run, '--epochs', '2', '--save-every', '1', '--out', out]);
  // each periodic save is announced after the file is written (reading the file meanwhile would race the next epoch)
  const saves = [...stderr.matchAll(/^checkpoint written to (.*) \(epoch (\d+), step (\d+)\)$/gm)].map((m) => [m[1], +m[2], +m[3]]);
  assert.equal(saves, [[out, 1, 40], [out, 2, 80]], stderr);
  assert.is(decodeCheckpoint(readFileSync(out)).meta.step, 80);
  for (const [args, code, msg] of [
    [['train', '--resume', out, '--hidden', '64'], 2, /--hidden shapes the model, which --resume takes from/],
    [['train', '--resume', out, '--model', 'refcnn'], 2, /--model refcnn: .* holds a mlp model/],
    [['train', '--resume', join(dir, 'missing.qck')], 1, /--resume .*missing\.qck: cannot read \(ENOENT\)/],
    [['pretrain', '--model', 'mlp', '--out', out, '--resume', out], 2, /train --resume FILE/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(message(r), msg);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
