// The relaxed build, tested where relaxed SIMD is computed correctly: headless Chromium (Node 20's
// i32x4.relaxed_dot_i8x16_i7x16_add_s is wrong, so Node never loads the relaxed build; see src/probes.ts).
// test/browsers.js serves the repository on 127.0.0.1 and opens a page importing dist/index.js; there
// init({ build: 'auto' }) must choose 'relaxed'. A battery of {method, args} calls on the Qwasm object
// (inputs generated here, sent encoded by test/wire.js; handles such as packed conv weights or sparse matrices
// are built and then called) runs in the page on the relaxed build, then on the simd build, and every integer
// result must equal, bit for bit, the same call on the scalar build in Node (f32 results: see `generators`).
// Without Chromium these tests skip with a loud line; .ci/run installs it and sets QWASM_REQUIRE_ENGINES=1, which
// makes a missing Chromium a failure (test/helpers.js `needs`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as mod from '../dist/index.js';
import { init } from '../dist/index.js';
import { needs, rng } from './helpers.js';
import { encode, decode, runBattery } from './wire.js';
import { openQwasmPage } from './browsers.js';

// --- the battery: one generator per Qwasm method (or dotted path to a raw export). Methods this Qwasm lacks
// are left out (and listed); public methods with no generator are listed too. ---
const r = rng(20240611);
const i8 = (n, lo, hi) => r.i8(n, lo, hi);
const w8 = (n) => r.i8(n, -127, 127);
const f32 = (n) => r.f32(n, 1);
const i32 = (n, lo, hi) => Int32Array.from({ length: n }, () => r.int(lo, hi));
const scales = (n) => Float32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.5 : r.float() * 0.002 + 1e-5));
const sparseW8 = (n, density) => Int8Array.from({ length: n }, () => (r.float() < density ? r.int(-127, 127) : 0));
const sparseF = (n, density) => Float32Array.from({ length: n }, () => (r.float() < density ? r.float() * 2 - 1 : 0));

const GEMM_SHAPES = [[1, 1, 1], [1, 16, 8], [1, 1024, 3], [2, 3, 5], [3, 5, 7], [4, 8, 8], [5, 17, 9], [7, 31, 15],
  [13, 33, 31], [1, 100, 257], [17, 1, 9], [64, 64, 64], [9, 129, 23], [33, 15, 64], [1, 256, 96], [31, 200, 40]];
const ZPS = [[-128, 127], [127, -128], [0, 0], [5, -3]];
const ACTS = ['none', 'relu', 'relu6'];

// int8 conv cases: [input shape NHWC, weight shape OHWI (I = C / groups), options without scale / bias]
const CONV_CASES = [
  [[1, 8, 8, 3], [8, 3, 3, 3], { padding: 1, inZeroPoint: -128, outZeroPoint: -5 }],
  [[2, 9, 7, 5], [9, 3, 3, 5], { stride: 2, padding: 'same', inZeroPoint: 127, outZeroPoint: 3, activation: 'relu' }],
  [[1, 10, 9, 4], [6, 3, 3, 4], { dilation: 2, padding: [2, 1, 0, 2], activation: 'relu6', outScale: 0.05 }],
  [[3, 4, 5, 16], [17, 1, 1, 16], { inZeroPoint: 5 }],
  [[1, 5, 5, 33], [8, 1, 1, 33], { stride: 2, outZeroPoint: 100 }],
  [[1, 6, 6, 8], [12, 3, 3, 2], { groups: 4, padding: 1, inZeroPoint: -7 }],
  [[1, 7, 7, 11], [11, 3, 3, 1], { groups: 11, padding: 'same', inZeroPoint: 20, outZeroPoint: -20 }],
  [[2, 8, 6, 6], [12, 5, 3, 1], { groups: 6, stride: [2, 1], padding: [2, 1, 2, 1], activation: 'relu' }],
  [[1, 12, 12, 24], [24, 3, 3, 1], { groups: 24, dilation: 2, padding: 2 }],
  [[1, 16, 16, 16], [32, 3, 3, 16], { padding: 'same', inZeroPoint: -1 }],
  [[1, 3, 11, 2], [3, 1, 5, 2], { stride: [1, 2], padding: 'valid' }],
  // depthwise channel tails (whole-vector loads past the last channel, partial-block stores)
  [[1, 6, 5, 29], [29, 3, 3, 1], { groups: 29, padding: 1, inZeroPoint: -9, outZeroPoint: 4 }],
  [[2, 5, 4, 17], [17, 3, 3, 1], { groups: 17, stride: 2, padding: [0, 0, 1, 1], activation: 'relu' }],
  [[1, 4, 4, 9], [18, 3, 3, 1], { groups: 9, padding: 'valid', inZeroPoint: 3 }],
  [[1, 2, 3, 3], [3, 3, 3, 1], { groups: 3, padding: 1, outZeroPoint: -6 }],
];
const convArgs = ([inShape, wShape, o], ref) => {
  const [n, h, w, c] = inShape, [oc, kh, kw, cg] = wShape;
  return [i8(n * h * w * c), inShape, w8(oc * kh * kw * cg), wShape, { ...o, scale: scales(oc), bias: i32(oc, -20000, 20000) }];
};
const POOL_CASES = [
  [[2, 9, 9, 5], { kernel: 2 }],
  [[1, 7, 8, 16], { kernel: 3, stride: 2, padding: 1 }],
  [[1, 6, 6, 3], { kernel: [3, 2], stride: [1, 2], padding: 'same' }],
  [[1, 5, 7, 17], { kernel: [2, 3], stride: 1, padding: [1, 1, 0, 2] }],
];
const numel = (s) => s.reduce((a, b) => a * b, 1);
const ADD_OPTS = [
  { aScale: 0.05, aZeroPoint: -3, bScale: 0.1, bZeroPoint: 7, outScale: 0.08, outZeroPoint: -1 },
  { aScale: 0.5, aZeroPoint: -128, bScale: 0.25, bZeroPoint: 127, outScale: 0.1, outZeroPoint: 5, activation: 'relu' },
  { aScale: 0.02, bScale: 0.02, outScale: 0.04, outZeroPoint: -128, activation: 'relu6' },
];

// sparse formats for a K×N weight matrix: [options builder (w, k, n) → opts]
const sparseFormats = (mod) => [
  (w, k, n) => ({ format: 'csr', mask: mod.magnitudeMask(w, k, n, 0.3) }),
  (w, k, n) => ({ format: 'csr' }), // mask = nonzeros of w
  (w, k, n) => ({ format: 'nm', nm: [2, 4], mask: mod.nmMask(w, k, n, 2, 4) }),
  (w, k, n) => ({ format: 'nm', nm: [3, 8], mask: mod.nmMask(w, k, n, 3, 8) }),
  (w, k, n) => ({ format: 'block', block: [1, 8], mask: mod.blockMask(w, k, n, 1, 8, 0.4) }),
  (w, k, n) => ({ format: 'block', block: [4, 4], mask: mod.blockMask(w, k, n, 4, 4, 0.5) }),
];
const SPARSE_SHAPES = [[1, 37, 19], [5, 64, 40], [13, 129, 33]]; // m, k, n

// Each entry: gen(mod) → list of items, an item being an argument list or { args, then: [{ method, args }] } (a
// handle built by the method, then called). kind 'exact': integer kernels, every build must equal Node's scalar
// build bit for bit. kind 'float': f32 kernels, whose summation order may differ between scalar and SIMD code:
// the page's simd build must equal Node's simd build bit for bit, and the relaxed build (whose madd may fuse)
// must lie within FLOAT_TOL of Node's scalar build.
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

  conv2dS8: { kind: 'exact', gen: () => CONV_CASES.map((c) => convArgs(c)) },
  conv2dS8Reference: { kind: 'exact', gen: () => CONV_CASES.slice(0, 4).map((c) => convArgs(c)) },
  packConv2dS8: { kind: 'exact', gen: () => [[[16, 3, 3, 8], { padding: 1, inZeroPoint: -3, outZeroPoint: 4 }], [[8, 3, 3, 1], { groups: 8, stride: 2, padding: 'same' }]]
    .map(([ws, o]) => ({
      args: [w8(numel(ws)), ws, { ...o, scale: scales(ws[0]), bias: i32(ws[0], -9000, 9000) }],
      then: [[1, 9, 9, 8], [2, 5, 7, 8]].map((s) => ({ method: 'apply', args: [i8(numel(s)), s] })),
    })) },
  maxPool2dS8: { kind: 'exact', gen: () => [
    ...POOL_CASES.map(([s, o]) => [i8(numel(s)), s, o]),
    [i8(2 * 6 * 6 * 9), [2, 6, 6, 9], { kernel: 2, activation: 'relu', zeroPoint: -10 }],
    [i8(1 * 6 * 5 * 4), [1, 6, 5, 4], { kernel: 3, stride: 1, padding: 1, activation: 'relu6', zeroPoint: 3, scale: 0.05 }],
  ] },
  maxPool2dS8Reference: { kind: 'exact', gen: () => POOL_CASES.slice(0, 2).map(([s, o]) => [i8(numel(s)), s, o]) },
  avgPool2dS8: { kind: 'exact', gen: () => POOL_CASES.flatMap(([s, o]) => [
    [i8(numel(s)), s, o],
    [i8(numel(s)), s, { ...o, inZeroPoint: -5, outZeroPoint: 3, inScale: 0.02, outScale: 0.03, activation: 'relu' }],
    [i8(numel(s)), s, { ...o, inZeroPoint: 10, activation: 'relu6', outScale: 0.05 }],
  ]) },
  avgPool2dS8Reference: { kind: 'exact', gen: () => POOL_CASES.slice(0, 2).map(([s, o]) => [i8(numel(s)), s, { ...o, inScale: 0.1, outScale: 0.07 }]) },
  globalAvgPoolS8: { kind: 'exact', gen: () => [
    [i8(2 * 7 * 7 * 19), [2, 7, 7, 19]],
    [i8(3), [1, 1, 1, 3]],
    [i8(13 * 11 * 64), [1, 13, 11, 64], { inZeroPoint: -3, inScale: 0.1, outScale: 0.07, outZeroPoint: 5, activation: 'relu' }],
    [new Int8Array(4 * 4 * 16).fill(-128), [1, 4, 4, 16], { inZeroPoint: 127, inScale: 1, outScale: 0.01 }],
  ] },
  globalAvgPoolS8Reference: { kind: 'exact', gen: () => [[i8(2 * 5 * 5 * 7), [2, 5, 5, 7], { inScale: 0.3, outScale: 0.2 }]] },
  addS8: { kind: 'exact', gen: () => [1, 15, 16, 17, 100, 1000, 4099].flatMap((len, i) => [
    [i8(len), i8(len), ADD_OPTS[i % 3]],
    [new Int8Array(len).fill(127), new Int8Array(len).fill(-128), ADD_OPTS[(i + 1) % 3]],
  ]) },
  addS8Reference: { kind: 'exact', gen: () => [17, 100].map((len, i) => [i8(len), i8(len), ADD_OPTS[i]]) },

  sparseS8: { kind: 'exact', gen: (mod) => SPARSE_SHAPES.flatMap(([m, k, n]) => sparseFormats(mod).map((fmt) => {
    const w = sparseW8(k * n, 0.5);
    const opts = { ...fmt(w, k, n), aZeroPoint: r.int(-128, 127), bias: i32(n, -30000, 30000), scale: scales(n), outZeroPoint: r.int(-20, 20) };
    const x = i8(m * k);
    return { args: [w, k, n, opts], then: [{ method: 'matmul', args: [x, m] }, { method: 'matmulInt32', args: [x, m] }] };
  })) },
  sparseS8Reference: { kind: 'exact', gen: (mod) => SPARSE_SHAPES.slice(0, 2).flatMap(([m, k, n]) => {
    const w = sparseW8(k * n, 0.5);
    return [[w, k, n, i8(m * k), m, { aZeroPoint: 9 }], [w, k, n, i8(m * k), m, { format: 'nm', nm: [2, 4], mask: mod.nmMask(w, k, n, 2, 4), scale: scales(n) }]];
  }) },
  sparseF32: { kind: 'float', gen: (mod) => SPARSE_SHAPES.flatMap(([m, k, n]) => sparseFormats(mod).map((fmt) => {
    const w = sparseF(k * n, 0.5);
    return { args: [w, k, n, { ...fmt(w, k, n), bias: f32(n) }], then: [{ method: 'matmul', args: [f32(m * k), m] }] };
  })) },
  sparseF32Reference: { kind: 'float', gen: () => SPARSE_SHAPES.slice(0, 2).map(([m, k, n]) => [sparseF(k * n, 0.4), k, n, f32(m * k), m, { bias: f32(n) }]) },
  lowRankS8: { kind: 'exact', gen: () => [[1, 64, 8, 40], [7, 100, 16, 33], [16, 256, 32, 64]].map(([m, k, rk, n], i) => {
    const opts = { aZeroPoint: ZPS[i][0], mid: { scale: scales(rk).map((v) => v * 0.1), outZeroPoint: ZPS[i][1] }, bias: i32(n, -5000, 5000),
      scale: scales(n), outZeroPoint: -3, activation: ACTS[i], outScale: 0.05 };
    const x = i8(m * k);
    return { args: [w8(k * rk), w8(rk * n), k, rk, n, opts], then: [{ method: 'matmul', args: [x, m] }, { method: 'matmulInt32', args: [x, m] }] };
  }) },
  lowRankS8Reference: { kind: 'exact', gen: () => [[3, 40, 6, 20]].map(([m, k, rk, n]) =>
    [w8(k * rk), w8(rk * n), k, rk, n, i8(m * k), m, { aZeroPoint: -2, mid: { scale: 0.001, outZeroPoint: 4 }, scale: scales(n) }]) },
  lowRankF32: { kind: 'float', gen: () => [[1, 64, 8, 40], [7, 100, 16, 33], [16, 256, 32, 64]].map(([m, k, rk, n]) => ({
    args: [f32(k * rk), f32(rk * n), k, rk, n, { bias: f32(n) }], then: [{ method: 'matmul', args: [f32(m * k), m] }],
  })) },
  lowRankF32Reference: { kind: 'float', gen: () => [[3, 40, 6, 20]].map(([m, k, rk, n]) => [f32(k * rk), f32(rk * n), k, rk, n, f32(m * k), m]) },

  gemmF32: { kind: 'float', gen: () => [[1, 1, 1], [3, 5, 7], [13, 33, 31], [64, 64, 64], [1, 300, 77], [37, 129, 41]].flatMap(([m, k, n], i) => [
    [f32(m * k), f32(k * n), m, k, n],
    [f32(m * k), f32(k * n), m, k, n, { transA: i % 2 === 0, transB: i % 2 === 1, bias: f32(n), alpha: 0.75, beta: 0.5, c: f32(m * n) }],
  ]) },
  gemmF32Reference: { kind: 'float', gen: () => [[5, 17, 9]].map(([m, k, n]) => [f32(m * k), f32(k * n), m, k, n, { bias: f32(n) }]) },
};

// Pointer-level entry points: their typed-array twins above run the same kernels.
const POINTER_LEVEL = new Set(['packGemmS8', 'gemmF32Ptr']);

function has(q, method) {
  let o = q;
  for (const p of method.split('.')) { if (o == null) return false; o = o[p]; }
  return typeof o === 'function';
}

function makeBattery(q, mod) {
  const battery = [], skipped = [];
  for (const [method, { kind, gen }] of Object.entries(generators)) {
    if (!has(q, method)) { skipped.push(method); continue; }
    for (const item of gen(mod)) {
      if (Array.isArray(item)) battery.push({ method, kind, args: encode(item) });
      else battery.push({ method, kind, args: encode(item.args), then: item.then.map((t) => ({ method: t.method, args: encode(t.args) })) });
    }
  }
  // methods on the prototype (getters excluded: eltwiseF32 & co. are namespaces, not kernels)
  const proto = Object.getPrototypeOf(q);
  const publicMethods = Object.getOwnPropertyNames(proto)
    .filter((m) => m !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, m).value === 'function');
  const uncovered = publicMethods.filter((m) => !(m in generators) && !POINTER_LEVEL.has(m));
  return { battery, skipped, uncovered };
}

/** Encoded typed arrays inside an encoded value (in order), for comparisons. */
function arrays(v, out = []) {
  if (v?.$ta) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => arrays(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => arrays(x, out));
  return out;
}

/** Largest |got − want| / max(1, |want|) over two encoded float results (Infinity on any structural mismatch). */
function floatError(a, b) {
  const xs = arrays(a), ys = arrays(b);
  if (xs.length !== ys.length || xs.length === 0) return Infinity;
  let e = 0;
  for (let t = 0; t < xs.length; t++) {
    if (xs[t].$ta !== ys[t].$ta) return Infinity;
    const x = decode(xs[t]), y = decode(ys[t]);
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]) !== Number.isNaN(y[i])) return Infinity;
      if (!Number.isNaN(x[i])) e = Math.max(e, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
    }
  }
  return e;
}
const FLOAT_TOL = 1e-4;

function describeDiff(a, b) {
  const xs = arrays(a), ys = arrays(b);
  for (let t = 0; t < Math.min(xs.length, ys.length); t++) {
    const x = decode(xs[t]), y = decode(ys[t]);
    if (xs[t].$ta !== ys[t].$ta) return `array ${t}: type ${xs[t].$ta} != ${ys[t].$ta}`;
    if (x.length !== y.length) return `array ${t}: length ${x.length} != ${y.length}`;
    const bx = new Uint8Array(x.buffer), by = new Uint8Array(y.buffer);
    for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) {
      const e = Math.floor(i / x.BYTES_PER_ELEMENT);
      return `array ${t}: first difference at element ${e}: ${x[e]} != ${y[e]}`;
    }
  }
  return `${JSON.stringify(a).slice(0, 200)} != ${JSON.stringify(b).slice(0, 200)}`;
}

const withChromium = needs(test, 'chromium');

withChromium('relaxed build in headless Chromium: init picks relaxed; every battery call equals the scalar build in Node bit for bit', async () => {
  const t0 = Date.now();
  const scalar = await init({ build: 'scalar' });
  const { battery, skipped, uncovered } = makeBattery(scalar, mod);
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

withChromium('bad arguments throw the same errors in Chromium as in Node', async () => {
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
