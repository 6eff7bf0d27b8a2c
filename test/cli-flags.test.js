// One flag vocabulary: every command parses with util.parseArgs against tables built from one shared table,
// its --help is generated from them, and a bad value is a usage error (exit 2) in flag words that points at
// the command's own --help.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { cli, message } from './cli-run.js';
import { cliDoc } from '../scripts/cli-docs.mjs';

const COMMANDS = ['bench', 'train', 'eval', 'pretrain', 'export', 'run', 'info', 'import', 'pipeline', 'compress', 'adapt'];

test('every command takes --build and --threads, documented in its generated --help', () => {
  for (const c of COMMANDS) {
    const r = cli(c, '--help');
    assert.is(r.status, 0, c);
    assert.match(r.stdout, /^usage: qwasm /, c);
    assert.match(r.stdout, /--build NAME/, c);
    assert.match(r.stdout, /--threads N\s+threads for batch-parallel int8 inference/, `${c}: the shared help line`);
  }
  assert.equal(cli('help', 'eval').stdout, cli('eval', '-h').stdout, 'qwasm help eval = qwasm eval -h');
  for (const c of ['train', 'compress', 'export', 'import']) assert.match(cli(c, '--help').stdout, /-o, --out FILE/, `${c} takes -o and --out`);
  assert.match(cli('eval', '--help').stdout, /--limit N\s+evaluate on the first N test images/);
  assert.match(cli('train', '--help').stdout, /--resume FILE[\s\S]*--save-every N/);
  assert.match(cli('train', '--help').stdout, /trainLoss is the mean training loss of the last epoch/);
});

test('a shared flag is checked the same way by every command, before any work (exit 2, flag named, --help pointer)', () => {
  const cases = [
    [['--threads', '0'], /^qwasm \S+: --threads must be an integer ≥ 1 and ≤ 256, got '0'$/],
    [['--threads', 'two'], /--threads must be an integer/],
    [['--build', 'fast'], /--build must be auto, scalar, simd(, relaxed)? or (relaxed|all), got 'fast'/],
    [['--frobnicate'], /unknown flag '--frobnicate'/],
    [['--build'], /flag --build needs a value/],
    [['--json=yes'], /flag --json takes no value/],
  ];
  // every command with one case (in turn), two commands with all of them
  const runs = [...COMMANDS.map((c, i) => [c, cases[i % cases.length]]), ...cases.flatMap((k) => [['info', k], ['train', k]])];
  for (const [c, [args, msg]] of runs) {
    const r = cli(c, ...args);
    assert.is(r.status, 2, `${c} ${args.join(' ')}: ${r.stderr}`);
    assert.match(message(r), msg, `${c} ${args.join(' ')}`);
    assert.match(r.stderr, new RegExp(`run 'qwasm ${c} --help' for usage`), c);
    assert.is(r.stdout, '');
  }
});

test('values in the CLI\'s words: --hidden, --batch, --width, --clip, --limit, --dropout', () => {
  for (const [args, msg] of [
    [['train', '--model', 'mlp', '--data', 'mnist', '--hidden', 'a,b'], /--hidden must be a comma-separated list of integers ≥ 1, got 'a,b'/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--hidden', '64,'], /--hidden must be a comma-separated list of integers/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--batch', '0'], /--batch must be an integer ≥ 2 and ≤ 65536, got '0'/],
    [['train', '--model', 'refcnn', '--data', 'mnist', '--width', '0'], /--width must be an integer ≥ 1/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--clip', '-1'], /--clip must be a number > 0, got '-1'/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--limit', '0'], /--limit must be an integer ≥ 1, got '0'/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--dropout', '1'], /--dropout must be a number ≥ 0 and < 1/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--lr', '0'], /--lr must be a number > 0/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--optimizer', 'rmsprop'], /--optimizer must be adam, adamw or sgd, got 'rmsprop'/],
    [['train', '--model', 'nope', '--data', 'mnist'], /--model: unknown model 'nope'/],
    [['train', '--data', 'mnist'], /--model NAME is required/],
    [['train', '--model', 'mlp', '--data', 'mnist', '--save-every', '1'], /--save-every N writes the checkpoint given by --out FILE/],
    [['eval', '--model', 'x.qck', '--data', 'mnist', '--limit', '0'], /--limit must be an integer ≥ 1/],
    [['run', 'x.qwm', '--data', 'mnist', '--limit', '0'], /--limit must be an integer ≥ 1/],
    [['compress', '--model', 'x.qck', '--data', 'mnist', '--method', 'ptq', '--limit', '0'], /--limit must be an integer ≥ 1/],
    [['export', 'x.qck', '-o', 'x.qwm', '--calib', '0'], /--calib must be an integer ≥ 1/],
    [['bench', '--time', '-1'], /--time must be a number > 0/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(message(r), msg, args.join(' '));
    assert.match(r.stderr, new RegExp(`run 'qwasm ${args[0]} --help' for usage`));
  }
});

test('--flip on a dataset whose classes change when mirrored is a usage error in flag words', () => {
  const r = cli('train', '--model', 'mlp', '--data', 'mnist', '--flip', '--limit', '64');
  assert.is(r.status, 2, r.stderr);
  assert.match(message(r), /--flip: mirrored mnist images change class/);
  assert.not.match(r.stderr, /flip: 'force'/);
});

test('a batch that cannot fit in WASM memory is refused up front with the largest batch that fits', () => {
  for (const b of ['8192', '60000']) {
    const r = cli('train', '--model', 'refcnn', '--data', 'mnist', '--batch', b);
    assert.is(r.status, 2, r.stderr);
    const m = /--batch (\d+) needs about [\d.]+ GiB of WASM memory \(a wasm32 module addresses 4 GiB\); the largest batch that fits is (\d+)/.exec(message(r));
    assert.ok(m, r.stderr);
    assert.ok(Number(m[2]) >= 64 && Number(m[2]) < 8192, `largest batch ${m[2]}`);
    assert.not.match(r.stderr, /out of WASM memory|would hold/);
  }
  const small = cli('train', '--model', 'mlp', '--data', 'mnist', '--limit', '100', '--batch', '128');
  assert.is(small.status, 2);
  assert.match(message(small), /--batch 128 is larger than the 100 training examples \(--limit\)/);
});

test('--threads 1 is today\'s path', () => {
  const r = cli('train', '--model', 'mlp', '--hidden', '8', '--data', 'mnist', '--limit', '64', '--threads', '1', '--json');
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).steps, 1);
});

test('docs/CLI.md is generated from the same tables (node scripts/cli-docs.mjs)', async () => {
  const doc = readFileSync(new URL('../docs/CLI.md', import.meta.url), 'utf8');
  assert.ok(doc === await cliDoc(), 'docs/CLI.md is out of date: run node scripts/cli-docs.mjs');
  for (const c of COMMANDS) assert.ok(doc.includes(`### qwasm ${c}\n`), c);
});

test.run();
