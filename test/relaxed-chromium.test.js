// The relaxed build, tested where relaxed SIMD is computed correctly: headless Chromium (Node 20's
// i32x4.relaxed_dot_i8x16_i7x16_add_s is wrong, so Node never loads the relaxed build; see src/probes.ts).
// test/chromium.js serves the repository on 127.0.0.1 and opens a page importing dist/index.js; there
// init({ build: 'auto' }) must choose 'relaxed'. A battery of {method, args} calls on the Qwasm object
// (inputs generated here, sent encoded by test/wire.js) runs in the page on the relaxed build, then on the simd
// build, and every result must equal, bit for bit, the same call on the scalar build in Node.
// Chromium missing is a failure with a message, not a skip (.ci/run installs it: apt-get install chromium).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../dist/index.js';
import { rng } from './helpers.js';
import { encode, decode, runBattery } from './wire.js';
import { openQwasmPage } from './chromium.js';

// --- the battery: one generator per Qwasm method (or dotted path to a raw export). Methods this Qwasm lacks
// are left out (and listed); public methods with no generator are listed too. ---
const r = rng(20240611);
const i8 = (n, lo, hi) => r.i8(n, lo, hi);
const w8 = (n) => r.i8(n, -127, 127);
const i32 = (n, lo, hi) => Int32Array.from({ length: n }, () => r.int(lo, hi));
const scales = (n) => Float32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.5 : r.float() * 0.002 + 1e-5));

const GEMM_SHAPES = [[1, 1, 1], [1, 16, 8], [1, 1024, 3], [2, 3, 5], [3, 5, 7], [4, 8, 8], [5, 17, 9], [7, 31, 15],
  [13, 33, 31], [1, 100, 257], [17, 1, 9], [64, 64, 64], [9, 129, 23], [33, 15, 64], [1, 256, 96], [31, 200, 40]];
const ZPS = [[-128, 127], [127, -128], [0, 0], [5, -3]];
const ACTS = ['none', 'relu', 'relu6'];

// Each entry: gen() → list of argument lists; kind 'exact' (integer kernels: every build must equal the scalar
// build bit for bit) or 'float' (f32 kernels: summation order differs between scalar and SIMD, so the page's simd
// build must equal Node's simd build bit for bit, and the relaxed build must be within a tolerance of Node's
// scalar build: relaxed madd may fuse).
const f32 = (n) => r.f32(n, 1);
const generators = {
  gemmS8: { kind: 'exact', gen: () => GEMM_SHAPES.flatMap(([m, k, n]) => [
    [i8(m * k), w8(k * n), m, k, n],
    [new Int8Array(m * k).fill(-128), new Int8Array(k * n).fill(-127), m, k, n],
  ]) },
  gemmS8Requant: { kind: 'exact', gen: () => GEMM_SHAPES.flatMap(([m, k, n], s) => ZPS.map(([aZeroPoint, outZeroPoint], z) => [
    i8(m * k), w8(k * n), m, k, n,
    { aZeroPoint, outZeroPoint, bias: i32(n, -50000, 50000), scale: scales(n), activation: ACTS[(s + z) % 3], outScale: 0.05 },
  ])) },
  gemmS8Reference: { kind: 'exact', gen: () => GEMM_SHAPES.slice(0, 8).map(([m, k, n]) => [i8(m * k), w8(k * n), m, k, n,
    { aZeroPoint: 3, bias: i32(n, -1000, 1000), scale: scales(n), outZeroPoint: -2 }]) },
  'kernels.selftest_gemm_s8': { kind: 'exact', gen: () => [[64, 64, 64], [1, 300, 77], [37, 129, 41]].flatMap(([m, k, n], i) =>
    [0, 1, 2].map((mode) => [m, k, n, 77 + i, mode])) },
  'kernels.selftest_conv2d_s8': { kind: 'exact', gen: () => [
    [1, 9, 9, 5, 15, 3, 3, 5, 2, 2, 1, 1, 1, 1], [1, 12, 12, 24, 24, 3, 3, 24, 1, 1, 2, 2, 2, 2],
    [1, 16, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1], [2, 7, 7, 64, 19, 1, 1, 1, 1, 1, 0, 0, 1, 1],
  ].flatMap((c, i) => [1, 2].map((mode) => [...c, 99 + i, mode])) },
  gemmF32: { kind: 'float', gen: () => [[1, 1, 1], [3, 5, 7], [13, 33, 31], [64, 64, 64], [1, 300, 77], [37, 129, 41]].flatMap(([m, k, n], i) => [
    [f32(m * k), f32(k * n), m, k, n],
    [f32(m * k), f32(k * n), m, k, n, { transA: i % 2 === 0, transB: i % 2 === 1, bias: f32(n), alpha: 0.75, beta: 0.5, c: f32(m * n) }],
  ]) },
};

function has(q, method) {
  let o = q;
  for (const p of method.split('.')) { if (o == null) return false; o = o[p]; }
  return typeof o === 'function';
}

function makeBattery(q) {
  const battery = [], skipped = [];
  for (const [method, { kind, gen }] of Object.entries(generators)) {
    if (!has(q, method)) { skipped.push(method); continue; }
    for (const args of gen()) battery.push({ method, kind, args: encode(args) });
  }
  const publicMethods = Object.getOwnPropertyNames(Object.getPrototypeOf(q))
    .filter((m) => m !== 'constructor' && typeof q[m] === 'function' && !/^pack/.test(m));
  const uncovered = publicMethods.filter((m) => !(m in generators));
  return { battery, skipped, uncovered };
}

/** Largest |got − want| / max(1, |want|) over two encoded float arrays (Infinity on a shape/type mismatch). */
function floatError(a, b) {
  if (!a?.$ta || a.$ta !== b?.$ta) return Infinity;
  const x = decode(a), y = decode(b);
  if (x.length !== y.length) return Infinity;
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]) !== Number.isNaN(y[i])) return Infinity;
    if (!Number.isNaN(x[i])) e = Math.max(e, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  }
  return e;
}
const FLOAT_TOL = 1e-4;

function describeDiff(a, b) {
  if (a?.$ta && b?.$ta) {
    const x = decode(a), y = decode(b);
    if (a.$ta !== b.$ta) return `type ${a.$ta} != ${b.$ta}`;
    if (x.length !== y.length) return `length ${x.length} != ${y.length}`;
    const bx = new Uint8Array(x.buffer), by = new Uint8Array(y.buffer);
    for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) {
      const e = Math.floor(i / x.BYTES_PER_ELEMENT);
      return `first difference at element ${e}: ${x[e]} != ${y[e]}`;
    }
  }
  return `${JSON.stringify(a).slice(0, 200)} != ${JSON.stringify(b).slice(0, 200)}`;
}

test('relaxed build in headless Chromium: init picks relaxed; every battery call equals the scalar build in Node bit for bit', async () => {
  const t0 = Date.now();
  const scalar = await init({ build: 'scalar' });
  const { battery, skipped, uncovered } = makeBattery(scalar);
  assert.ok(battery.length > 0, 'empty battery');
  const want = await runBattery(scalar, battery);
  const simdNode = await init({ build: 'simd' });
  const floats = battery.map((b, i) => [b, i]).filter(([b]) => b.kind === 'float');
  const wantSimd = new Map((await runBattery(simdNode, floats.map(([b]) => b))).map((v, j) => [floats[j][1], v]));
  for (const [i, w] of want.entries()) {
    assert.ok(!w.error, `scalar in Node failed on ${battery[i].method} #${i}: ${w.error}`);
    assert.ok(w.value !== undefined && w.value !== null, `scalar in Node returned nothing for ${battery[i].method} #${i}`);
  }

  const browser = await openQwasmPage();
  try {
    const { page } = browser;
    const auto = await page.evaluate(async () => {
      const support = await window.qwasm.detect();
      const q = await window.qwasm.init({ build: 'auto' });
      return { support, build: q.build };
    });
    console.log(`  Chromium ${browser.version}: engine support ${JSON.stringify(auto.support)}, init({ build: 'auto' }) -> '${auto.build}'`);
    assert.ok(auto.support.relaxed, `Chromium ${browser.version} failed the relaxed-SIMD probe (support ${JSON.stringify(auto.support)})`);
    assert.is(auto.build, 'relaxed', "init({ build: 'auto' }) in Chromium must pick the relaxed build");

    const inexact = new Set();
    for (const build of ['relaxed', 'simd']) {
      const got = await page.evaluate(async ([b, bat]) => {
        const q = await window.qwasm.init({ build: b });
        return { build: q.build, out: await window.wire.runBattery(q, bat) };
      }, [build, battery]);
      assert.is(got.build, build);
      assert.is(got.out.length, battery.length);
      got.out.forEach((g, i) => {
        const label = `${build} in Chromium, ${battery[i].method} call #${i}`;
        assert.ok(!g.error, `${label} threw: ${g.error}`);
        const same = (x, y) => JSON.stringify(x) === JSON.stringify(y);
        if (battery[i].kind === 'exact') {
          assert.ok(same(g.value, want[i].value), `${label} differs from scalar in Node: ${describeDiff(g.value, want[i].value)}`);
        } else if (build === 'simd') {
          const w = wantSimd.get(i);
          assert.ok(!w.error && same(g.value, w.value), `${label} differs from simd in Node: ${w.error ?? describeDiff(g.value, w.value)}`);
        } else {
          const e = floatError(g.value, want[i].value);
          assert.ok(e <= FLOAT_TOL, `${label}: relative error ${e} vs scalar in Node exceeds ${FLOAT_TOL}`);
          if (!same(g.value, want[i].value)) inexact.add(battery[i].method);
        }
      });
    }
    assert.equal(browser.errors, [], 'errors in the page');
    const methods = [...new Set(battery.map((b) => b.method))];
    console.log(`  battery: ${battery.length} calls of ${methods.join(', ')} (relaxed and simd builds, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    if (inexact.size) console.log(`  f32 results within ${FLOAT_TOL} of scalar but not bit-identical (relaxed): ${[...inexact].join(', ')}`);
    if (skipped.length) console.log(`  not in this Qwasm (left out): ${skipped.join(', ')}`);
    if (uncovered.length) console.log(`  public methods without a battery generator: ${uncovered.join(', ')}`);
  } finally {
    await browser.close();
  }
});

test('bad arguments throw the same errors in Chromium as in Node', async () => {
  const bad = [
    { method: 'gemmS8', args: encode([new Int8Array(5), new Int8Array(6), 2, 3, 2]) },
    { method: 'gemmS8', args: encode([new Int8Array(6), Int8Array.of(0, 0, -128, 0, 0, 0), 2, 3, 2]) },
    { method: 'gemmS8Requant', args: encode([new Int8Array(6), new Int8Array(6), 2, 3, 2, { scale: 1, outZeroPoint: 300 }]) },
  ];
  const scalar = await init({ build: 'scalar' });
  const want = await runBattery(scalar, bad);
  const browser = await openQwasmPage();
  try {
    const got = await browser.page.evaluate(async (bat) => window.wire.runBattery(await window.qwasm.init({ build: 'relaxed' }), bat), bad);
    assert.equal(got, want);
    for (const g of got) assert.ok(g.error, 'expected an error');
  } finally {
    await browser.close();
  }
});

test.run();
