import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';

// [m, k, r, n]
const shapes = [[1, 1, 1, 1], [1, 64, 8, 64], [3, 17, 5, 9], [4, 32, 4, 33], [7, 100, 13, 31], [16, 64, 8, 64], [1, 200, 25, 200], [33, 20, 3, 12]];

test('lowRankS8 int32 and requantised equal the reference (every build, zero points at both ends)', async () => {
  const r = rng(41);
  for (const q of await builds()) {
    for (const [m, k, rk, n] of shapes) {
      for (const [aZeroPoint, midZp, outZeroPoint] of [[-128, 127, -128], [127, -128, 127], [0, 0, 0], [3, -5, 7]]) {
        const p = r.i8(k * rk, -127, 127), qq = r.i8(rk * n, -127, 127), x = r.i8(m * k);
        const bias = Int32Array.from({ length: n }, () => r.int(-20000, 20000));
        const mid = { scale: Float32Array.from({ length: rk }, () => r.float() * 0.004 + 1e-4), outZeroPoint: midZp };
        const scale = Float32Array.from({ length: n }, (_, j) => (j % 4 === 0 ? 0.5 : r.float() * 0.003 + 1e-5));
        const activation = ['none', 'relu', 'relu6'][r.int(0, 2)];
        const opts = { aZeroPoint, mid, bias, scale, outZeroPoint, activation, outScale: 0.05 };
        const h = q.lowRankS8(p, qq, k, rk, n, opts);
        const tag = `${q.build} ${m}x${k}x${rk}x${n} zp ${aZeroPoint}/${midZp}/${outZeroPoint}`;
        assert.is(eq(h.matmul(x, m), q.lowRankS8Reference(p, qq, k, rk, n, x, m, opts)), null, tag);
        const { scale: _s, ...noOut } = opts;
        assert.is(eq(h.matmulInt32(x, m), q.lowRankS8Reference(p, qq, k, rk, n, x, m, noOut)), null, tag + ' int32');
        h.dispose();
      }
    }
  }
});

test('lowRankS8 reference agrees with a plain JS two-stage product', async () => {
  const [q] = await builds();
  const r = rng(4);
  const m = 2, k = 9, rk = 3, n = 5, p = r.i8(k * rk, -127, 127), qq = r.i8(rk * n, -127, 127), x = r.i8(m * k);
  const bias = Int32Array.from({ length: n }, () => r.int(-500, 500));
  const opts = { aZeroPoint: 4, mid: { scale: 0.01, outZeroPoint: -6 }, bias };
  const rne = (f) => { const t = Math.round(f); return Math.abs(f - Math.trunc(f)) === 0.5 ? 2 * Math.round(f / 2) : t; };
  const want = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    const t = [];
    for (let c = 0; c < rk; c++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += (x[i * k + a] - 4) * p[a * rk + c];
      const f = Math.min(Math.max(Math.fround(Math.fround(s) * Math.fround(0.01)), -128 + 6), 127 + 6);
      t.push(rne(f) - 6);
    }
    for (let j = 0; j < n; j++) { let s = bias[j]; for (let c = 0; c < rk; c++) s += (t[c] + 6) * qq[c * n + j]; want[i * n + j] = s; }
  }
  assert.is(eq(q.lowRankS8Reference(p, qq, k, rk, n, x, m, opts), want), null);
  const h = q.lowRankS8(p, qq, k, rk, n, opts);
  assert.is(eq(h.matmulInt32(x, m), want), null);
  h.dispose();
});

// f32: the fast path runs gemm_f32, which blocks K (partial sums added in a different order than the plain
// loop), so it is compared with a relative tolerance scaled by Σ|terms|.
test('lowRankF32 matches the reference within a relative tolerance (every build)', async () => {
  const r = rng(43);
  for (const q of await builds()) {
    for (const [m, k, rk, n] of [...shapes, [5, 600, 40, 70]]) {
      const p = r.f32(k * rk), qq = r.f32(rk * n), x = r.f32(m * k, 2), bias = r.f32(n);
      for (const b of [undefined, bias]) {
        const h = q.lowRankF32(p, qq, k, rk, n, { bias: b });
        const got = h.matmul(x, m), want = q.lowRankF32Reference(p, qq, k, rk, n, x, m, { bias: b });
        h.dispose();
        // magnitude bound of each output: Σ_c |t_c|·|Q| with |t_c| ≤ Σ_k |x||P|
        for (let i = 0; i < m * n; i++) {
          const tol = 1e-5 * (k * 2 * rk + 1) + 1e-6 * Math.abs(want[i]);
          assert.ok(Math.abs(got[i] - want[i]) <= tol, `${q.build} ${m}x${k}x${rk}x${n} [${i}] ${got[i]} vs ${want[i]}`);
        }
      }
    }
  }
});

test('lowRankF32 reference agrees with plain JS', async () => {
  const [q] = await builds();
  const r = rng(6);
  const m = 2, k = 7, rk = 3, n = 4, p = r.f32(k * rk), qq = r.f32(rk * n), x = r.f32(m * k), bias = r.f32(n);
  const got = q.lowRankF32Reference(p, qq, k, rk, n, x, m, { bias });
  for (let i = 0; i < m; i++) {
    const t = [];
    for (let c = 0; c < rk; c++) { let s = 0; for (let a = 0; a < k; a++) s = Math.fround(s + Math.fround(x[i * k + a] * p[a * rk + c])); t.push(s); }
    for (let j = 0; j < n; j++) { let s = bias[j]; for (let c = 0; c < rk; c++) s = Math.fround(s + Math.fround(t[c] * qq[c * n + j])); assert.is(got[i * n + j], s); }
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const p = new Int8Array(12), qq = new Int8Array(6), mid = { scale: 0.1 };
  assert.throws(() => q.lowRankS8(p, qq, 4, 3, 2, {}), /opts.mid/);
  assert.throws(() => q.lowRankS8(p, qq, 4, 3, 3, { mid }), /q must have length 9/);
  assert.throws(() => q.lowRankS8(new Int8Array(11), qq, 4, 3, 2, { mid }), /p must have length 12/);
  assert.throws(() => q.lowRankS8(p, Int8Array.of(0, 0, -128, 0, 0, 0), 4, 3, 2, { mid }), /q\[2\] is -128/);
  assert.throws(() => q.lowRankS8(p, qq, 4, 3, 2, { mid: { scale: -1 } }), /mid.scale\[0\] must be a finite positive/);
  assert.throws(() => q.lowRankS8(p, qq, 4, 3, 2, { mid: { scale: 1, outZeroPoint: 200 } }), /mid.outZeroPoint must be in/);
  assert.throws(() => q.lowRankS8(p, qq, 4, 0, 2, { mid }), /r must be in/);
  assert.throws(() => q.lowRankS8(p, qq, 4, 3, 2, { mid, bias: new Int32Array(3) }), /bias must have length 2/);
  assert.throws(() => q.lowRankF32(new Float32Array(12), new Float32Array(6), 4, 3, 2, { bias: new Float32Array(1) }), /bias must have length 2/);
  assert.throws(() => q.lowRankF32(p, qq, 4, 3, 2), /p must be a Float32Array/);
  const h = q.lowRankS8(p, qq, 4, 3, 2, { mid });
  assert.throws(() => h.matmul(new Int8Array(4), 1), /without output requantisation/);
  assert.throws(() => h.matmulInt32(new Int8Array(5), 1), /x must have length 4/);
  h.dispose();
  assert.throws(() => h.matmulInt32(new Int8Array(4), 1), /after dispose/);
});

test('memory does not grow over repeated calls', async () => {
  for (const q of await builds()) {
    const r = rng(9);
    const h = q.lowRankS8(r.i8(32 * 4, -127, 127), r.i8(4 * 16, -127, 127), 32, 4, 16, { mid: { scale: 0.01 }, scale: 0.01 });
    const f = q.lowRankF32(r.f32(32 * 4), r.f32(4 * 16), 32, 4, 16);
    const x = r.i8(3 * 32), xf = r.f32(3 * 32);
    for (let i = 0; i < 200; i++) { h.matmul(x, 3); f.matmul(xf, 3); }
    const before = q.rt.memoryBytes();
    for (let i = 0; i < 5000; i++) { h.matmul(x, 3); h.matmulInt32(x, 3); f.matmul(xf, 3); }
    assert.is(q.rt.memoryBytes(), before, q.build);
    h.dispose(); f.dispose();
  }
});

test.run();
