import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/qwasm.js', import.meta.url));
const cli = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('qwasm --version prints the package version', () => {
  const r = cli('--version');
  assert.is(r.status, 0);
  assert.is(r.stdout.trim(), JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
});

test('qwasm --help lists the commands', () => {
  const r = cli('--help');
  assert.is(r.status, 0);
  assert.match(r.stdout, /usage: qwasm <command>/);
  assert.match(r.stdout, /bench/);
  assert.match(cli('bench', '--help').stdout, /--kernel NAME/);
});

test('unknown flags, commands and bad values exit with code 2 and say why', () => {
  for (const [args, msg] of [
    [['--frobnicate'], /unknown flag '--frobnicate'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['bench', '--nope'], /unknown flag '--nope'/],
    [['bench', '--kernel', 'nope'], /unknown kernel 'nope'/],
    [['bench', '--shape', '3x4'], /shape must be MxKxN/],
    [['bench', '--build', 'fast'], /--build must be/],
    [['bench', '--kernel'], /--kernel needs a value/],
    [['bench', '--json=1'], /takes no value/],
  ]) {
    const r = cli(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, msg);
  }
});

test('qwasm bench --json measures a kernel in every build', () => {
  for (const kernel of ['gemm_s8', 'gemm_f32']) {
    const r = cli('bench', '--kernel', kernel, '--shape', '8x16x8', '--build', 'all', '--time', '0.02', '--json');
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.results.length >= 1);
    for (const x of out.results) {
      assert.is(x.kernel, kernel);
      assert.is(x.shape, '8x16x8');
      assert.is(x.ops, 2 * 8 * 16 * 8);
      assert.ok(x.gops > 0);
    }
  }
});

test.run();
