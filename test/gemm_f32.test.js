import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';

// Shapes around the 4×8 tile, the K/N/M blocking (256 / 512 / 72) and the unpacked M ≤ 2 path.
const shapes = [
  [1, 1, 1], [1, 7, 1], [1, 300, 37], [2, 33, 17], [2, 5, 9], [3, 5, 7], [6, 8, 8], [7, 31, 15], [13, 33, 31],
  [5, 1, 9], [17, 1, 1], [1, 64, 520], [73, 257, 11], [12, 513, 19], [9, 20, 530], [80, 70, 90],
];

// |got − want| ≤ tol · (Σk |a_ik·b_kj|·|alpha| + |beta·c_ij| + |bias_j|) + tiny: a relative bound on f32 rounding.
function close(got, want, scale, tol = 2e-6) {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * scale[i] + 1e-30)) return `at ${i}: ${got[i]} vs ${want[i]} (scale ${scale[i]})`;
  }
  return null;
}

// Plain JS in float64: the exact product (to within double rounding) and the magnitude it is built from.
function jsGemm(a, b, m, k, n, o = {}) {
  const { transA = false, transB = false, alpha = 1, beta = o.c ? 1 : 0, bias, c } = o;
  const want = new Float64Array(m * n), mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * m + i] : a[i * k + p], y = transB ? b[j * k + p] : b[p * n + j];
        s += x * y; t += Math.abs(x * y);
      }
      let v = alpha * s, w = Math.abs(alpha) * t;
      if (beta !== 0) { v += beta * c[i * n + j]; w += Math.abs(beta * c[i * n + j]); }
      if (bias) { v += bias[j]; w += Math.abs(bias[j]); }
      want[i * n + j] = v; mag[i * n + j] = w + Math.abs(v);
    }
  }
  return { want, mag };
}

test('gemmF32 matches the reference: all four transpose combos, odd shapes, M = 1 (every build)', async () => {
  const r = rng(21);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = r.f32(m * k), b = r.f32(k * n, 2);
          const opts = { transA, transB };
          const got = q.gemmF32(a, b, m, k, n, opts), want = q.gemmF32Reference(a, b, m, k, n, opts);
          const { mag } = jsGemm(a, b, m, k, n, opts);
          assert.is(close(got, want, mag, 1e-6 * Math.max(1, Math.sqrt(k))), null, `${q.build} ${m}x${k}x${n} tA=${transA} tB=${transB}`);
        }
      }
    }
  }
});

test('gemmF32 with alpha, beta, c and bias matches the reference and plain JS (every build)', async () => {
  const r = rng(5);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      const transA = (m + k) % 2 === 1, transB = (k + n) % 2 === 0;
      const a = r.f32(m * k), b = r.f32(k * n), c = r.f32(m * n, 3), bias = r.f32(n, 2);
      for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25], [1, -1]]) {
        const o = { transA, transB, alpha, beta, bias };
        const c1 = c.slice(), c2 = c.slice();
        const got = q.gemmF32(a, b, m, k, n, { ...o, c: c1 });
        const want = q.gemmF32Reference(a, b, m, k, n, { ...o, c: c2 });
        assert.ok(got === c1, 'result is written into c and returned');
        const js = jsGemm(a, b, m, k, n, { ...o, c });
        assert.is(close(got, want, js.mag, 1e-6 * Math.max(1, Math.sqrt(k))), null, `${q.build} ${m}x${k}x${n} α=${alpha} β=${beta}`);
        assert.is(close(want, js.want, js.mag, 1e-6 * Math.max(1, k)), null, `reference vs JS ${m}x${k}x${n}`);
      }
    }
  }
});

test('gemmF32 is exact on small integers and agrees with a plain JS product', async () => {
  const r = rng(9);
  for (const q of await builds()) {
    const m = 11, k = 37, n = 19;
    const a = Float32Array.from({ length: m * k }, () => r.int(-8, 8));
    const b = Float32Array.from({ length: k * n }, () => r.int(-8, 8));
    const bias = Float32Array.from({ length: n }, () => r.int(-100, 100));
    const { want } = jsGemm(a, b, m, k, n, { bias });
    assert.equal(Array.from(q.gemmF32(a, b, m, k, n, { bias })), Array.from(want), q.build);
    assert.equal(Array.from(q.gemmF32Reference(a, b, m, k, n, { bias })), Array.from(want), q.build);
  }
});

test('beta = 0 never reads c (NaN in c does not leak)', async () => {
  for (const q of await builds()) {
    for (const [m, k, n] of [[1, 5, 9], [7, 9, 13], [12, 16, 16]]) {
      const a = new Float32Array(m * k).fill(1), b = new Float32Array(k * n).fill(1), c = new Float32Array(m * n).fill(NaN);
      const got = q.gemmF32(a, b, m, k, n, { c, beta: 0 });
      assert.ok(got.every((v) => v === k), `${q.build} ${m}x${k}x${n}`);
    }
  }
});

test('simd and relaxed builds give identical f32 results', async () => {
  const bs = (await builds()).filter((q) => q.build !== 'scalar');
  if (bs.length < 2) return;
  const r = rng(4);
  const [m, k, n] = [37, 300, 45], a = r.f32(m * k), b = r.f32(k * n);
  const x = bs[0].gemmF32(a, b, m, k, n), y = bs[1].gemmF32(a, b, m, k, n);
  assert.equal(Array.from(x), Array.from(y));
});

test('gemmF32Ptr runs on WASM buffers with leading dimensions', async () => {
  const r = rng(12);
  for (const q of await builds()) {
    const m = 9, k = 14, n = 10, lda = 17, ldb = 13, ldc = 12;
    const A = r.f32(m * lda), B = r.f32(k * ldb);
    const rt = q.rt;
    const ap = rt.put(A), bp = rt.put(B), cp = rt.alloc(m * ldc * 4);
    rt.f32(cp, m * ldc).fill(7);
    q.gemmF32Ptr(m, k, n, ap, bp, cp, { lda, ldb, ldc });
    const C = rt.f32(cp, m * ldc).slice();
    rt.free(ap); rt.free(bp); rt.free(cp);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < ldc; j++) {
        if (j >= n) { assert.is(C[i * ldc + j], 7, 'padding columns untouched'); continue; }
        let s = 0, t = 0;
        for (let p = 0; p < k; p++) { s += A[i * lda + p] * B[p * ldb + j]; t += Math.abs(A[i * lda + p] * B[p * ldb + j]); }
        assert.ok(Math.abs(C[i * ldc + j] - s) <= 1e-5 * t + 1e-30, `${q.build} (${i},${j})`);
      }
    }
  }
});

test('packGemmF32: prepacked op(B) matches the reference (both transposes, bias, alpha, odd shapes, every build)', async () => {
  const r = rng(33);
  for (const q of await builds()) {
    for (const [m, k, n] of [...shapes, [3, 600, 1030]]) {
      for (const transB of [false, true]) {
        const transA = (m + n) % 2 === 1;
        const a = r.f32(m * k), b = r.f32(k * n), bias = r.f32(n);
        const p = q.packGemmF32(b, k, n, { transB, bias });
        const got = p.matmul(a, m, { transA, alpha: 0.75 });
        const want = q.gemmF32Reference(a, b, m, k, n, { transA, transB, bias, alpha: 0.75 });
        const { mag } = jsGemm(a, b, m, k, n, { transA, transB, bias, alpha: 0.75 });
        assert.is(close(got, want, mag, 1e-6 * Math.max(1, Math.sqrt(k))), null, `${q.build} ${m}x${k}x${n} tA=${transA} tB=${transB}`);
        // pointer level with beta and a wider C
        const ldc = n + 3, c0 = r.f32(m * ldc);
        const ap = q.rt.put(a), cp = q.rt.put(c0);
        p.runPtr(ap, m, cp, { transA, beta: 2, ldc });
        const c = q.rt.f32(cp, m * ldc).slice();
        q.rt.free(ap); q.rt.free(cp);
        const want2 = q.gemmF32Reference(a, b, m, k, n, { transA, transB, bias, beta: 2,
          c: Float32Array.from({ length: m * n }, (_, i) => c0[Math.floor(i / n) * ldc + (i % n)]) });
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < ldc; j++) {
            const v = c[i * ldc + j];
            if (j >= n) assert.is(v, c0[i * ldc + j]);
            else assert.ok(Math.abs(v - want2[i * n + j]) <= 1e-5 * (mag[i * n + j] + 2 * Math.abs(c0[i * ldc + j])) + 1e-30, `${q.build} runPtr (${i},${j})`);
          }
        }
        p.dispose();
      }
    }
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const a = new Float32Array(6), b = new Float32Array(6);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 3), /b must have length 9/);
  assert.throws(() => q.gemmF32(new Float32Array(5), b, 2, 3, 2), /a must have length 6/);
  assert.throws(() => q.gemmF32(new Float64Array(6), b, 2, 3, 2), /a must be a Float32Array/);
  assert.throws(() => q.gemmF32(a, [0, 0, 0, 0, 0, 0], 2, 3, 2), /b must be a Float32Array/);
  assert.throws(() => q.gemmF32(a, b, 0, 3, 2), /m must be in/);
  assert.throws(() => q.gemmF32(a, b, 2, 3.5, 2), /k must be an integer/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, -1), /n must be in/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { transA: 1 }), /transA must be a boolean/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { transB: 'yes' }), /transB must be a boolean/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { bias: new Float32Array(3) }), /bias must have length 2/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { alpha: NaN }), /alpha must be a finite number/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { beta: 1 }), /c .*required/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { c: new Float32Array(5) }), /c must have length 4/);
  assert.throws(() => q.gemmF32(a, b, 2, 3, 2, { c: new Float32Array(4), beta: Infinity }), /beta must be a finite number/);
  assert.throws(() => q.gemmF32Reference(a, b, 2, 3, 2, { bias: new Int32Array(2) }), /bias must be a Float32Array/);
  assert.throws(() => q.gemmF32Ptr(2, 3, 2, 0, 0, 0, { lda: 2 }), /lda must be in/);
  assert.throws(() => q.gemmF32Ptr(2, 3, 2, -4, 0, 0), /aPtr must be in/);
  assert.throws(() => q.packGemmF32(a, 3, 3), /b must have length 9/);
  assert.throws(() => q.packGemmF32(a, 3, 2, { transB: 0 }), /transB must be a boolean/);
  assert.throws(() => q.packGemmF32(a, 3, 2, { bias: new Float32Array(1) }), /bias must have length 2/);
  const p = q.packGemmF32(a, 3, 2);
  assert.throws(() => p.matmul(new Float32Array(5), 2), /a must have length 6/);
  assert.throws(() => p.runPtr(0, 0, 0), /m must be in/);
  assert.throws(() => p.runPtr(0, 2, 0, { ldc: 1 }), /ldc must be in/);
  p.dispose();
  assert.throws(() => p.matmul(a, 2), /after dispose/);
});

test('memory does not grow over repeated calls of the same size', async () => {
  for (const q of await builds()) {
    const r = rng(2), a = r.f32(40 * 300), b = r.f32(300 * 600);
    for (let i = 0; i < 20; i++) q.gemmF32(a, b, 40, 300, 600);
    const before = q.rt.memoryBytes();
    for (let i = 0; i < 200; i++) q.gemmF32(a, b, 40, 300, 600, { transB: i % 2 === 0 });
    assert.is(q.rt.memoryBytes(), before, q.build);
  }
});

test.run();
