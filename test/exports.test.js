// The WASM API has one source, the AssemblyScript files (scripts/wasm-api.mjs reads them): src/exports.ts is
// generated from them, and every build must export exactly that list — names, kinds, parameter and result types
// — under the naming scheme of docs/KERNELS.md. The relaxed build is read and validated even where this engine's
// relaxed dot product is wrong (Node 20.20): only its exports are compared, nothing is run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { assemblyApi, renderExportsTs, wasmExports, exportNameProblem, parseKernelName, EXPORTS_TS } from '../scripts/wasm-api.mjs';
import { OUT_I32, OUT_S8 } from '../dist/kernels/gemm_s8.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');
const BUILDS = ['scalar', 'simd', 'relaxed'];
const bytesOf = (b) => readFileSync(new URL(`../build/qwasm.${b}.wasm`, import.meta.url));
const api = assemblyApi();
const sig = (e) => e.kind === 'function' ? `(${e.params.map((p) => p.type ?? p).join(', ')}) -> (${e.result.join(', ')})`
  : e.kind === 'global' ? e.type : '';

test('src/exports.ts is what scripts/wasm-api.mjs generates from assembly/ (run npm run build after changing an export)', () => {
  assert.is(readFileSync(EXPORTS_TS, 'utf8'), renderExportsTs(api));
});

for (const build of BUILDS) {
  test(`${build} build: exports exactly the list typed in src/exports.ts (names, kinds, signatures)`, () => {
    const bytes = bytesOf(build);
    assert.ok(WebAssembly.validate(bytes), `${build} build does not validate`);
    const mod = new WebAssembly.Module(bytes);
    const actual = wasmExports(bytes);
    // the binary reader agrees with the engine's own list
    assert.equal(actual.map((e) => [e.name, e.kind]), WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
    const want = new Map(api.map((e) => [e.name, e]));
    const got = new Map(actual.map((e) => [e.name, e]));
    const missing = [...want.keys()].filter((n) => !got.has(n)), extra = [...got.keys()].filter((n) => !want.has(n));
    assert.equal({ missing, extra }, { missing: [], extra: [] });
    for (const [name, e] of want) {
      const g = got.get(name);
      assert.is(g.kind, e.kind, `${name}: kind`);
      assert.is(sig(g), sig(e), `${name}: signature in ${build} vs ${e.file}`);
    }
  });
}

test('the mode constants of the int8 GEMM kernels have the same values in WASM (globals) and TS', () => {
  for (const build of BUILDS) {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytesOf(build)), {});
    assert.is(inst.exports.OUT_I32.value, OUT_I32, build);
    assert.is(inst.exports.OUT_S8.value, OUT_S8, build);
    assert.is.not(OUT_I32, OUT_S8);
  }
});

test('every export follows the naming scheme (docs/KERNELS.md)', () => {
  const names = api.map((e) => e.name);
  const problems = api.map((e) => [e.name, exportNameProblem(e.name, e.kind, names)]).filter(([, p]) => p);
  assert.equal(problems, []);
  // an f32 kernel's reference twin takes exactly its arguments (int8 twins read unpacked weights instead)
  for (const e of api) {
    if (e.kind !== 'function' || !e.name.endsWith('_ref') || parseKernelName(e.name).dtype !== 'f32') continue;
    const fast = api.find((f) => f.name === e.name.slice(0, -4));
    if (fast) assert.is(sig(fast), sig(e), `${fast.name} vs ${e.name}`);
  }
});

test('the naming scheme rejects the old mixed names and accepts the documented shapes', () => {
  const all = ['f32_add', 'max_pool_s8', 'gavgpool', 'conv_s8x', 'act_f32', 'act_f32_bwd', 'conv2d_f32_fwd', 'add_f32_ref'];
  for (const bad of ['f32_add', 'max_pool_s8x', 'gavgpool', 'conv_s8x', 'Conv2d_s8', 'gemm_u8']) {
    assert.ok(exportNameProblem(bad, 'function', all), bad);
  }
  assert.ok(exportNameProblem('act_f32', 'function', all), 'a forward without _fwd beside a _bwd');
  assert.ok(exportNameProblem('mul_f32_ref', 'function', all), 'a twin of nothing');
  assert.is(exportNameProblem('conv2d_f32_fwd', 'function', all), null);
  assert.is(exportNameProblem('out_i32', 'global', all), 'a constant is UPPER_SNAKE_CASE');
  assert.equal(parseKernelName('conv2d_f32_bwd_filter_ref'), { op: 'conv2d', dtype: 'f32', pass: 'bwd_filter', variant: null, ref: true });
  assert.equal(parseKernelName('batchnorm_f32_fwd_train'), { op: 'batchnorm', dtype: 'f32', pass: 'fwd', variant: 'train', ref: false });
  assert.equal(parseKernelName('sparse_gemm_s8_pairs'), { op: 'sparse_gemm', dtype: 's8', pass: null, variant: 'pairs', ref: false });
  assert.equal(parseKernelName('global_avgpool_s8'), { op: 'global_avgpool', dtype: 's8', pass: null, variant: null, ref: false });
});

test.run();
