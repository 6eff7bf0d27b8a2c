// The scalar build in an engine without JavaScript: wabt's interpreter. The self-test exports of
// assembly/selftest.ts generate their inputs inside WASM and return an FNV-1a hash of the output; for every
// case three independent computations must agree:
//   (1) wabt's interpreter running build/qwasm.scalar.wasm,
//   (2) the same export called from Node (scalar build; also the simd build when this engine runs it),
//   (3) plain JS (test/selftest-ref.js: same generator, a loop reference, `requantize`, FNV-1a).
// wabt 1.0.32's wasm-interp can only run exports that take no arguments (--run-all-exports), so it runs the
// fixed *_suite exports; arbitrary shapes go through spectest-interp (same interpreter, same package), whose
// JSON script invokes any export with i32 arguments. Both run with SIMD, bulk memory, reference types and
// multi-value disabled: the scalar build must need nothing beyond MVP + sign-extension + non-trapping
// float-to-int + mutable globals (wabt's defaults for those).
// Without wabt the interpreter tests skip with a loud line; .ci/run installs it and sets QWASM_REQUIRE_ENGINES=1,
// which makes a missing wabt a failure (test/helpers.js `needs`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builds, needs } from './helpers.js';
import * as ref from './selftest-ref.js';

const WASM = fileURLToPath(new URL('../build/qwasm.scalar.wasm', import.meta.url));
const FEATURES = ['--disable-simd', '--disable-bulk-memory', '--disable-reference-types', '--disable-multi-value'];

// Self-test families: the parametric export, its JS twin, the cases run through spectest-interp, and the
// argument-free suite export with its JS twin.
const families = [
  {
    name: 'int8 GEMM',
    fn: 'selftest_gemm_s8',
    hash: ref.gemmS8Hash,
    suite: 'selftest_gemm_s8_suite',
    suiteHash: ref.gemmS8SuiteHash,
    // (m, k, n, seed, mode): odd sizes, M = 1, K not a multiple of 16, each mode, fast and *_ref paths
    cases: [
      [1, 1, 1], [1, 7, 1], [2, 3, 5], [3, 5, 7], [4, 8, 8], [5, 17, 9], [7, 31, 15], [13, 33, 31],
      [1, 100, 257], [17, 1, 9], [33, 15, 64], [9, 129, 23], [64, 64, 64],
    ].flatMap(([m, k, n], i) => [0, 1, 2, 16, 17, 18].map((mode) => [m, k, n, (0x9e3779b9 * (i + 1)) >>> 0, mode])),
  },
  {
    name: 'int8 conv2d',
    fn: 'selftest_conv2d_s8',
    hash: ref.conv2dS8Hash,
    suite: 'selftest_conv2d_s8_suite',
    suiteHash: ref.conv2dS8SuiteHash,
    // (n, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw, seed, mode): im2col (padded, strided, dilated,
    // non-square), 1×1 direct path, grouped, depthwise (multiplier 1, 2, 3), bigger chunks; modes 1, 2, fast and ref
    cases: [
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1], [1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1],
      [2, 9, 7, 5, 9, 3, 3, 1, 2, 2, 1, 1, 1, 1], [1, 10, 9, 4, 6, 3, 3, 1, 1, 1, 2, 2, 2, 2],
      [1, 6, 7, 7, 5, 3, 5, 1, 1, 2, 1, 2, 1, 1], [3, 4, 5, 16, 17, 1, 1, 1, 1, 1, 0, 0, 1, 1],
      [1, 5, 5, 33, 8, 1, 1, 1, 2, 2, 0, 0, 1, 1], [1, 6, 6, 8, 12, 3, 3, 4, 1, 1, 1, 1, 1, 1],
      [1, 7, 7, 11, 11, 3, 3, 11, 1, 1, 1, 1, 1, 1], [2, 8, 6, 6, 12, 5, 3, 6, 2, 1, 2, 1, 1, 1],
      [1, 9, 9, 5, 15, 3, 3, 5, 2, 2, 1, 1, 1, 1], [1, 12, 12, 24, 24, 3, 3, 24, 1, 1, 2, 2, 2, 2],
      [1, 3, 11, 2, 3, 1, 5, 1, 1, 2, 0, 2, 1, 1], [1, 16, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1],
      [1, 7, 7, 64, 19, 3, 3, 1, 1, 1, 0, 0, 1, 1],
    ].flatMap((cs, i) => [1, 2, 17, 18].map((mode) => [...cs, (0x85ebca6b * (i + 1)) >>> 0, mode])),
  },
];

function run(tool, args, cwd) {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 120000 });
  if (r.error && r.error.code === 'ENOENT') {
    throw new Error(`${tool} not found on PATH: this test needs wabt's interpreter (Debian/Ubuntu: apt-get install wabt; .ci/run installs it)`);
  }
  if (r.error) throw r.error;
  return r;
}

/** Parses "name(i32:1, …) => i32:N" lines (wabt prints i32 results unsigned). */
function results(stdout) {
  const out = [];
  for (const line of stdout.split('\n')) {
    const mt = /^(\w+)\((.*)\) => i32:(-?\d+)$/.exec(line.trim());
    if (mt) out.push({ name: mt[1], args: mt[2] ? mt[2].split(', ').map((a) => Number(a.replace('i32:', '')) >>> 0) : [], value: Number(mt[3]) >>> 0 });
  }
  return out;
}

const withWabt = needs(test, 'wabt');

withWabt('wabt wasm-interp runs the scalar build: every *_suite hash equals Node and plain JS', async () => {
  const r = run('wasm-interp', [...FEATURES, WASM, '--run-all-exports']);
  assert.is(r.status, 0, `wasm-interp exited with ${r.status}: ${r.stderr}${r.stdout}`);
  const got = new Map(results(r.stdout).map((x) => [x.name, x.value]));
  const qs = await builds();
  for (const f of families) {
    assert.ok(got.has(f.suite), `wasm-interp printed no result for ${f.suite}:\n${r.stdout}${r.stderr}`);
    const want = f.suiteHash();
    assert.is(got.get(f.suite), want, `${f.name}: wasm-interp ${f.suite}() vs plain JS`);
    for (const q of qs) assert.is(q.kernels[f.suite]() >>> 0, want, `${f.name}: Node ${q.build} ${f.suite}() vs plain JS`);
  }
});

withWabt('wabt spectest-interp runs the parametric self-tests on many shapes: equal to Node and plain JS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwasm-wabt-'));
  try {
    copyFileSync(WASM, join(dir, 'qwasm.scalar.wasm')); // spectest-interp resolves module files next to the script
    const calls = families.flatMap((f) => f.cases.map((args) => ({ f, args })));
    const commands = [{ type: 'module', line: 1, filename: 'qwasm.scalar.wasm' }, ...calls.map(({ f, args }, i) => ({
      type: 'action', line: i + 2,
      action: { type: 'invoke', field: f.fn, args: args.map((v) => ({ type: 'i32', value: String(v >>> 0) })) },
      expected: [{ type: 'i32' }],
    }))];
    writeFileSync(join(dir, 'selftest.json'), JSON.stringify({ source_filename: 'selftest.wast', commands }));
    const r = run('spectest-interp', [...FEATURES, 'selftest.json'], dir);
    assert.is(r.status, 0, `spectest-interp exited with ${r.status}: ${r.stderr}${r.stdout}`);
    const got = results(r.stdout);
    assert.is(got.length, calls.length, `spectest-interp printed ${got.length} results for ${calls.length} calls:\n${r.stdout}${r.stderr}`);
    const qs = await builds();
    calls.forEach(({ f, args }, i) => {
      const label = `${f.fn}(${args.join(', ')})`;
      assert.equal([got[i].name, got[i].args], [f.fn, args.map((v) => v >>> 0)], `result ${i} is for another call`);
      const want = f.hash(...args);
      assert.ok(want !== 0, `${label}: the JS twin rejected the arguments`);
      assert.is(got[i].value, want, `${label}: spectest-interp vs plain JS`);
      for (const q of qs) assert.is(q.kernels[f.fn](...args) >>> 0, want, `${label}: Node ${q.build} vs plain JS`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('self-tests reject bad arguments with hash 0 (never a hash of garbage)', async () => {
  const [q] = await builds();
  assert.is(q.kernels.selftest_gemm_s8(0, 4, 4, 1, 0), 0);
  assert.is(q.kernels.selftest_gemm_s8(4, 4, 4, 1, 3), 0);
  assert.is(q.kernels.selftest_gemm_s8(4, 4, 4, 1, 32), 0);
  assert.is(q.kernels.selftest_conv2d_s8(1, 4, 4, 3, 4, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1), 0); // c % groups
  assert.is(q.kernels.selftest_conv2d_s8(1, 4, 4, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0), 0); // conv has no int32 mode
  assert.is(q.kernels.selftest_conv2d_s8(1, 2, 2, 3, 4, 5, 5, 1, 1, 1, 0, 0, 1, 1, 1, 1), 0); // empty output
});

test.run();
