import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { requantize } from '../dist/index.js';
import { OUT_I32, OUT_S8 } from '../dist/kernels/gemm_s8.js';
import { packCache } from '../dist/kernels/pack-cache.js';

const shapes = [
  [1, 1, 1], [1, 16, 8], [1, 1024, 3], [2, 3, 5], [3, 5, 7], [4, 8, 8], [5, 17, 9], [7, 31, 15],
  [13, 33, 31], [1, 100, 257], [17, 1, 9], [64, 64, 64], [9, 129, 23], [33, 15, 64], [1, 7, 1],
];

test('gemmS8 int32 equals the reference on odd shapes, extremes included (every build)', async () => {
  const r = rng(7);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      for (const mode of ['random', 'extreme']) {
        const a = mode === 'extreme' ? new Int8Array(m * k).fill(-128) : r.i8(m * k);
        const b = mode === 'extreme' ? new Int8Array(k * n).fill(-127) : r.i8(k * n, -127, 127);
        const got = q.gemmS8(a, b, m, k, n), want = q.gemmS8Reference(a, b, m, k, n);
        assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} ${mode}`);
        if (mode === 'extreme') assert.is(got[0], 128 * 127 * k);
      }
    }
  }
});

test('gemmS8 reference agrees with a plain JS product', async () => {
  const r = rng(3);
  const [q] = await builds();
  const m = 5, k = 19, n = 11, a = r.i8(m * k), b = r.i8(k * n, -127, 127);
  const want = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j]; want[i * n + j] = s; }
  assert.is(eq(q.gemmS8Reference(a, b, m, k, n), want), null);
  assert.is(eq(q.gemmS8(a, b, m, k, n), want), null);
});

test('gemmS8Requant equals the reference: zero points at both ends, saturation, relu/relu6, per-channel scales', async () => {
  const r = rng(11);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      for (const [aZeroPoint, outZeroPoint] of [[-128, 127], [127, -128], [0, 0], [5, -3]]) {
        const a = r.i8(m * k), b = r.i8(k * n, -127, 127);
        const bias = Int32Array.from({ length: n }, () => r.int(-50000, 50000));
        for (const activation of ['none', 'relu', 'relu6']) {
          // big scales saturate most outputs; small ones land mid-range
          const scale = Float32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.5 : r.float() * 0.002 + 1e-5));
          const opts = { aZeroPoint, outZeroPoint, bias, scale, activation, outScale: 0.05 };
          const got = q.gemmS8Requant(a, b, m, k, n, opts), want = q.gemmS8Reference(a, b, m, k, n, opts);
          assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} zp ${aZeroPoint}/${outZeroPoint} ${activation}`);
        }
      }
    }
  }
});

test('int8 tiles without the f32 clamp (|acc · scale| < 2^21) equal the reference up to that bound and past it', async () => {
  // extreme accumulators (±128·127·K) whose f32 products reach ~2^21: saturated through int16 then clamped in
  // int8 lanes on the unclamped path (scale 1.9), the clamped requant4 just past the bound (scale 2.1)
  const r = rng(23);
  for (const q of await builds()) {
    for (const [m, k, n] of [[8, 64, 16], [12, 27, 40], [5, 16, 24]]) {
      for (const s of [1.9, 2.1, 0.003]) {
        for (const fill of [-128, 127, 0]) {
          const a = fill ? new Int8Array(m * k).fill(fill) : r.i8(m * k);
          const b = fill ? Int8Array.from({ length: k * n }, (_, i) => (i % 2 ? -127 : 127)) : r.i8(k * n, -127, 127);
          const bias = Int32Array.from({ length: n }, () => r.int(-3000, 3000));
          const scale = Float32Array.from({ length: n }, (_, j) => (j % 5 === 2 ? s / 7 : s) * 64 / (128 * 127 * k) * 16384);
          for (const [aZeroPoint, outZeroPoint, activation] of [[3, -4, 'none'], [-128, 100, 'relu'], [0, -128, 'relu6']]) {
            const opts = { aZeroPoint, outZeroPoint, bias, scale, activation, outScale: 0.05 };
            const got = q.gemmS8Requant(a, b, m, k, n, opts), want = q.gemmS8Reference(a, b, m, k, n, opts);
            assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} scale ${s} fill ${fill} zp ${aZeroPoint}/${outZeroPoint}`);
          }
        }
      }
    }
  }
});

test('reference requantisation matches the documented rule in JS (round half to even, clamp)', async () => {
  const [q] = await builds();
  const r = rng(5);
  const m = 3, k = 9, n = 10, a = r.i8(m * k), b = r.i8(k * n, -127, 127);
  const acc = q.gemmS8Reference(a, b, m, k, n);
  const scale = Float32Array.from({ length: n }, () => r.float() * 0.05);
  const got = q.gemmS8Reference(a, b, m, k, n, { scale, outZeroPoint: 10 });
  for (let i = 0; i < m * n; i++) assert.is(got[i], requantize(acc[i], scale[i % n], 10, -128, 127));
  assert.is(requantize(5, 0.5, 0, -128, 127), 2); // 2.5 -> 2 (half to even)
  assert.is(requantize(7, 0.5, 0, -128, 127), 4); // 3.5 -> 4
  assert.is(requantize(-5, 0.5, 0, -128, 127), -2);
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const a = new Int8Array(6), b = new Int8Array(6);
  assert.throws(() => q.gemmS8(a, b, 2, 3, 3), /a must have length 6|b must have length 9/);
  assert.throws(() => q.gemmS8(new Int8Array(5), b, 2, 3, 2), /a must have length 6/);
  assert.throws(() => q.gemmS8(new Uint8Array(6), b, 2, 3, 2), /a must be a Int8Array/);
  assert.throws(() => q.gemmS8(a, b, 0, 3, 2), /m must be in/);
  assert.throws(() => q.gemmS8(a, b, 2.5, 3, 2), /m must be an integer/);
  assert.throws(() => q.gemmS8(a, Int8Array.of(0, 0, -128, 0, 0, 0), 2, 3, 2), /-128/);
  assert.throws(() => q.gemmS8Requant(a, b, 2, 3, 2, { scale: -1 }), /scale\[0\] must be a finite positive/);
  assert.throws(() => q.gemmS8Requant(a, b, 2, 3, 2, { scale: 1, outZeroPoint: 300 }), /outZeroPoint must be in/);
  assert.throws(() => q.gemmS8Requant(a, b, 2, 3, 2, { scale: 1, activation: 'relu6' }), /outScale/);
  assert.throws(() => q.gemmS8Requant(a, b, 2, 3, 2, { scale: new Float32Array(3) }), /scale must have length 2/);
  const p = q.packGemmS8(b, 3, 2);
  p.dispose();
  assert.throws(() => p.runInt32(0, 1, 0), /after dispose/);
});

test('memory does not grow over 10^5 calls of the same size', async () => {
  for (const q of await builds()) {
    const a = new Int8Array(4 * 8).fill(1), b = new Int8Array(8 * 4).fill(1);
    for (let i = 0; i < 1000; i++) q.gemmS8(a, b, 4, 8, 4);
    const before = q.rt.memoryBytes();
    for (let i = 0; i < 100000; i++) q.gemmS8(a, b, 4, 8, 4);
    assert.is(q.rt.memoryBytes(), before, q.build);
  }
});

// Strided operands, as XNNPACK's generated gemm tests run them: A rows lda > k apart, C rows ldc > n apart
// (a column slice of a wider matrix, written into a wider one). Sizes sit around the 4x8c2 tile (MR = 4,
// NR = 8, k in pairs): below, at and past each edge. Fast path (packed) and reference twin both run on the
// same strided buffers and must equal plain JS; the bytes between rows of C must stay untouched.
test('strided A and C (lda ≠ k, ldc ≠ n): fast path and reference twin equal plain JS, C padding untouched (every build)', async () => {
  const r = rng(23);
  const SENTINEL = 0x5a;
  for (const q of await builds()) {
    const rt = q.rt, e = rt.exports;
    for (const m of [1, 2, 3, 4, 5, 7, 8, 9]) for (const n of [1, 7, 8, 9, 15, 16, 17]) for (const k of [1, 2, 3, 7, 8, 9, 16, 17]) {
      const lda = k + 1 + (k % 5), ldc = n + 2 + (n % 3);
      const zpA = r.int(-128, 127);
      const a = r.i8(m * lda), b = r.i8(k * n, -127, 127);
      const bias = Int32Array.from({ length: n }, () => r.int(-50000, 50000));
      const scale = Float32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.5 : r.float() * 0.002 + 1e-5));
      const opts = { aZeroPoint: zpA, bias, scale, outZeroPoint: r.int(-20, 20), activation: 'relu' };
      const acc = new Int32Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = bias[j];
        for (let p = 0; p < k; p++) s += (a[i * lda + p] - zpA) * b[p * n + j];
        acc[i * n + j] = s;
      }
      const packed = q.packGemmS8(b, k, n, opts);
      const rq = packed.requant;
      const label = `${q.build} m${m} n${n} k${k} lda${lda} ldc${ldc}`;
      try {
        rt.scoped((sc) => {
          const ap = sc.put(a), bp = sc.put(b), biasp = sc.put(bias);
          for (const [mode, esz] of [[OUT_I32, 4], [OUT_S8, 1]]) {
            const cBytes = m * ldc * esz;
            const check = (what, cp) => {
              const c = mode === OUT_I32 ? rt.i32(cp, m * ldc) : rt.i8(cp, m * ldc);
              const raw = rt.u8(cp, cBytes);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  const want = mode === OUT_I32 ? acc[i * n + j] : requantize(acc[i * n + j], rq.scale[j], rq.zp, rq.qmin, rq.qmax);
                  if (c[i * ldc + j] !== want) assert.unreachable(`${label} ${what} mode ${mode}: C[${i}][${j}] = ${c[i * ldc + j]}, want ${want}`);
                }
                for (let x = (i * ldc + n) * esz; x < Math.min((i + 1) * ldc * esz, cBytes); x++) {
                  if (raw[x] !== SENTINEL) assert.unreachable(`${label} ${what} mode ${mode}: wrote byte ${x} between rows of C`);
                }
              }
            };
            const fast = sc.alloc(cBytes), ref = sc.alloc(cBytes);
            rt.u8(fast, cBytes).fill(SENTINEL);
            rt.u8(ref, cBytes).fill(SENTINEL);
            if (mode === OUT_I32) packed.runInt32(ap, m, fast, lda, ldc); else packed.runInt8(ap, m, fast, lda, ldc);
            check('gemm_s8', fast);
            e.gemm_s8_ref(m, k, n, ap, lda, zpA, bp, n, biasp, ref, ldc, mode, mode === OUT_S8 ? packed.scalePtr : 0,
              rq.zp, rq.qmin, rq.qmax);
            check('gemm_s8_ref', ref);
          }
        });
      } finally {
        packed.dispose();
      }
    }
  }
});

test('strides below the row length are refused, naming them', async () => {
  const [q] = await builds();
  const p = q.packGemmS8(new Int8Array(12), 4, 3, { scale: 0.5 });
  try {
    assert.throws(() => p.runInt32(16, 2, 64, 3), /lda must be in \[4,/);
    assert.throws(() => p.runInt8(16, 2, 64, 4, 2), /ldc must be in \[3,/);
  } finally {
    p.dispose();
  }
});

test('the packed-weight cache never returns a stale result: b mutated in place, other options, eviction', async () => {
  const [q] = (await builds()).slice(-1);
  const r = rng(21), m = 3, k = 37, n = 19;
  const a = r.i8(m * k), b = r.i8(k * n, -127, 127);
  q.clearPackCache();
  assert.is(eq(q.gemmS8(a, b, m, k, n), q.gemmS8Reference(a, b, m, k, n)), null);
  const cached = packCache(q.rt);
  assert.is(cached.size, 1, 'b packed once and kept');
  assert.is(eq(q.gemmS8(a, b, m, k, n), q.gemmS8Reference(a, b, m, k, n)), null);
  assert.is(cached.size, 1, 'the second call reused it');
  for (const i of [0, 400, b.length - 1]) {
    b[i] = b[i] === 5 ? -5 : 5; // in place: same object, new content
    assert.is(eq(q.gemmS8(a, b, m, k, n), q.gemmS8Reference(a, b, m, k, n)), null, `after b[${i}] changed`);
  }
  const opts = { scale: 0.01, aZeroPoint: 3, bias: new Int32Array(n).fill(7), outZeroPoint: -2 };
  assert.is(eq(q.gemmS8Requant(a, b, m, k, n, opts), q.gemmS8Reference(a, b, m, k, n, opts)), null);
  opts.bias[4] = -900; // the options are compared by value too
  assert.is(eq(q.gemmS8Requant(a, b, m, k, n, opts), q.gemmS8Reference(a, b, m, k, n, opts)), null, 'after bias changed');
  // a subarray view over the same memory is another key, and sees its own bytes
  const big = r.i8(2 * k * n, -127, 127), view = big.subarray(k * n);
  assert.is(eq(q.gemmS8(a, view, m, k, n), q.gemmS8Reference(a, view, m, k, n)), null);
  big.copyWithin(k * n, 0, k * n);
  assert.is(eq(q.gemmS8(a, view, m, k, n), q.gemmS8Reference(a, view, m, k, n)), null, 'after the viewed memory changed');
  for (let i = 0; i < 40; i++) q.gemmS8(a, r.i8(k * n, -127, 127), m, k, n);
  assert.ok(cached.size <= cached.maxEntries, `at most ${cached.maxEntries} entries (${cached.size})`);
  q.clearPackCache();
  assert.is(cached.size, 0);
});

test('conv2dS8 reuses packed weights only while they are unchanged', async () => {
  const [q] = (await builds()).slice(-1);
  const r = rng(5), shape = [2, 6, 6, 8], wShape = [5, 3, 3, 8];
  const x = r.i8(2 * 6 * 6 * 8), w = r.i8(5 * 9 * 8, -127, 127);
  const opts = { padding: 1, scale: 0.02, inZeroPoint: 1, outZeroPoint: 0 };
  const ref = () => q.conv2dS8Reference(x, shape, w, wShape, opts).data;
  assert.is(eq(q.conv2dS8(x, shape, w, wShape, opts).data, ref()), null);
  w[17] = w[17] === 9 ? -9 : 9;
  assert.is(eq(q.conv2dS8(x, shape, w, wShape, opts).data, ref()), null, 'after a weight changed');
  assert.is(eq(q.conv2dS8(x, shape, w, wShape, { ...opts, stride: 2 }).data, q.conv2dS8Reference(x, shape, w, wShape, { ...opts, stride: 2 }).data), null, 'other options');
});

test.run();
