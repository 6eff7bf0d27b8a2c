import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { nmMask, blockMask, magnitudeMask, QwasmError } from '../dist/index.js';

// [m, k, n]: M = 1, K < 16 (padded windows), odd K / N, K not a multiple of 16, N not a multiple of 4 / 8
const shapes = [
  [1, 1, 1], [1, 16, 8], [1, 17, 5], [2, 3, 5], [3, 31, 9], [4, 16, 4], [5, 33, 13], [7, 100, 31],
  [13, 15, 7], [9, 40, 17], [16, 64, 64], [1, 300, 40], [6, 129, 23], [33, 20, 12],
];
const densities = [0, 0.01, 0.3, 0.5, 0.9, 1];

function randomMask(r, k, n, density) {
  const m = new Uint8Array(k * n);
  for (let i = 0; i < m.length; i++) m[i] = r.float() < density ? 1 : 0;
  // a few all-zero columns
  if (n > 2) for (let kk = 0; kk < k; kk++) m[kk * n + 1] = 0;
  return m;
}

// every (format, mask) combination exercised on one shape
function cases(r, w, k, n) {
  const out = [];
  for (const d of densities) out.push({ label: `csr d=${d}`, opts: { format: 'csr', mask: randomMask(r, k, n, d) } });
  out.push({ label: 'csr nonzeros', opts: {} });
  for (const [keep, group] of [[2, 4], [1, 4], [3, 8], [1, 2]]) {
    out.push({ label: `nm ${keep}:${group}`, opts: { format: 'nm', nm: [keep, group], mask: nmMask(w, k, n, keep, group) } });
  }
  // a 2:4 mask pruned further (fewer than keep kept in some groups)
  const sub = nmMask(w, k, n, 2, 4).map((v) => (r.float() < 0.5 ? v : 0));
  out.push({ label: 'nm 2:4 thinned', opts: { format: 'nm', nm: [2, 4], mask: sub } });
  for (const [bk, bn] of [[1, 8], [4, 4], [2, 8], [3, 4], [1, 4]]) {
    for (const d of [0, 0.3, 1]) out.push({ label: `block ${bk}x${bn} d=${d}`, opts: { format: 'block', block: [bk, bn], mask: blockMask(w, k, n, bk, bn, d) } });
  }
  return out;
}

test('sparseS8 int32 equals the reference: every format, density 0–100 %, every build', async () => {
  const r = rng(17);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      const w = r.i8(k * n, -127, 127), x = r.i8(m * k);
      for (const aZeroPoint of [0, -128, 127]) {
        const bias = aZeroPoint === 0 ? undefined : Int32Array.from({ length: n }, () => r.int(-100000, 100000));
        for (const c of cases(r, w, k, n)) {
          const opts = { ...c.opts, aZeroPoint, bias };
          const s = q.sparseS8(w, k, n, opts);
          const got = s.matmulInt32(x, m), want = q.sparseS8Reference(w, k, n, x, m, opts);
          s.dispose();
          assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} ${c.label} zp ${aZeroPoint}`);
        }
      }
    }
  }
});

test('sparseS8 requantised equals the reference: zero points at both ends, saturation, relu/relu6, extremes', async () => {
  const r = rng(23);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      for (const [aZeroPoint, outZeroPoint, extreme] of [[-128, 127, false], [127, -128, false], [5, -3, false], [127, 0, true]]) {
        const w = extreme ? new Int8Array(k * n).fill(-127) : r.i8(k * n, -127, 127);
        const x = extreme ? new Int8Array(m * k).fill(-128) : r.i8(m * k);
        const bias = Int32Array.from({ length: n }, () => r.int(-50000, 50000));
        const scale = Float32Array.from({ length: n }, (_, j) => (j % 3 === 0 ? 0.5 : r.float() * 0.002 + 1e-5));
        for (const c of cases(r, w, k, n)) {
          const activation = ['none', 'relu', 'relu6'][r.int(0, 2)];
          const opts = { ...c.opts, aZeroPoint, outZeroPoint, bias, scale, activation, outScale: 0.05 };
          const s = q.sparseS8(w, k, n, opts);
          const got = s.matmul(x, m), want = q.sparseS8Reference(w, k, n, x, m, opts);
          s.dispose();
          assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} ${c.label} zp ${aZeroPoint}/${outZeroPoint} ${activation}`);
        }
      }
    }
  }
});

// f32: every format sums each column's kept k in increasing order from the bias, exactly as the reference
// does (padding slots add exact zeros), so the comparison is exact.
test('sparseF32 equals the reference bit for bit: every format, every build', async () => {
  const r = rng(29);
  for (const q of await builds()) {
    for (const [m, k, n] of shapes) {
      const w = r.f32(k * n), x = r.f32(m * k, 3);
      const bias = r.f32(n);
      for (const c of cases(r, w, k, n)) {
        for (const b of [undefined, bias]) {
          const opts = { ...c.opts, bias: b };
          const s = q.sparseF32(w, k, n, opts);
          const got = s.matmul(x, m), want = q.sparseF32Reference(w, k, n, x, m, opts);
          s.dispose();
          assert.is(eq(got, want), null, `${q.build} ${m}x${k}x${n} ${c.label}${b ? ' bias' : ''}`);
        }
      }
    }
  }
});

test('f32 N:M with group > 4 (falls back to csr) and u32 indices (K > 65535)', async () => {
  const r = rng(31);
  for (const q of await builds()) {
    const k = 40, n = 9, m = 5, w = r.f32(k * n), x = r.f32(m * k);
    const opts = { format: 'nm', nm: [3, 8], mask: nmMask(w, k, n, 3, 8) };
    const s = q.sparseF32(w, k, n, opts);
    assert.is(eq(s.matmul(x, m), q.sparseF32Reference(w, k, n, x, m, opts)), null, q.build);
    s.dispose();
    // K > 65535: u32 index arrays in every format
    const K = 70001, N = 5, M = 2;
    const wb = new Int8Array(K * N), wf = new Float32Array(K * N);
    for (let i = 0; i < 300; i++) { const e = r.int(0, K * N - 1); wb[e] = r.int(-127, 127); wf[e] = wb[e] / 7; }
    for (let kk = K - 3; kk < K; kk++) for (let j = 0; j < N; j++) { wb[kk * N + j] = 100; wf[kk * N + j] = 1.5; }
    const xb = r.i8(M * K), xf = r.f32(M * K);
    for (const o of [{}, { format: 'nm', nm: [2, 4], mask: nmMask(wb, K, N, 2, 4) }, { format: 'block', block: [1, 4], mask: blockMask(wb, K, N, 1, 4, 0.01) }]) {
      const opts = { ...o, aZeroPoint: -7 };
      const sb = q.sparseS8(wb, K, N, opts);
      assert.is(eq(sb.matmulInt32(xb, M), q.sparseS8Reference(wb, K, N, xb, M, opts)), null, `${q.build} u32 int8 ${o.format ?? 'csr'}`);
      sb.dispose();
      const sf = q.sparseF32(wf, K, N, o);
      assert.is(eq(sf.matmul(xf, M), q.sparseF32Reference(wf, K, N, xf, M, o)), null, `${q.build} u32 f32 ${o.format ?? 'csr'}`);
      sf.dispose();
    }
  }
});

test('the reference agrees with a plain JS product over the masked matrix', async () => {
  const r = rng(3);
  const [q] = await builds();
  const m = 3, k = 11, n = 6, w = r.i8(k * n, -127, 127), x = r.i8(m * k), mask = randomMask(r, k, n, 0.4);
  const bias = Int32Array.from({ length: n }, () => r.int(-1000, 1000));
  const want = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = bias[j];
    for (let p = 0; p < k; p++) if (mask[p * n + j]) s += (x[i * k + p] - 9) * w[p * n + j];
    want[i * n + j] = s;
  }
  const opts = { mask, bias, aZeroPoint: 9 };
  assert.is(eq(q.sparseS8Reference(w, k, n, x, m, opts), want), null);
  const s = q.sparseS8(w, k, n, opts);
  assert.is(eq(s.matmulInt32(x, m), want), null);
  assert.is(s.nnz, mask.reduce((a, b) => a + b, 0));
  assert.ok(Math.abs(s.density - s.nnz / (k * n)) < 1e-12);
  assert.ok(s.bytes > 0);
  s.dispose();
  const wf = Float32Array.from(w, (v) => v / 8), xf = Float32Array.from(x, (v) => v / 4);
  const wantF = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s2 = 0;
    for (let p = 0; p < k; p++) if (mask[p * n + j]) s2 = Math.fround(s2 + Math.fround(xf[i * k + p] * wf[p * n + j]));
    wantF[i * n + j] = s2;
  }
  const sf = q.sparseF32(wf, k, n, { mask });
  assert.is(eq(sf.matmul(xf, m), wantF), null);
  sf.dispose();
});

test('mask helpers produce the structure the formats check', async () => {
  const r = rng(5);
  const k = 19, n = 10, w = r.f32(k * n);
  const nm = nmMask(w, k, n, 2, 4);
  for (let j = 0; j < n; j++) for (let k0 = 0; k0 < k; k0 += 4) {
    let c = 0, kept = [], pruned = [];
    for (let kk = k0; kk < Math.min(k, k0 + 4); kk++) (nm[kk * n + j] ? kept : pruned).push(Math.abs(w[kk * n + j]));
    c = kept.length;
    assert.is(c, Math.min(2, Math.min(k, k0 + 4) - k0));
    for (const a of kept) for (const b of pruned) assert.ok(a >= b);
  }
  const bm = blockMask(w, k, n, 4, 4, 0.5);
  const blocks = Math.ceil(k / 4) * Math.ceil(n / 4);
  let keptBlocks = 0;
  for (let a = 0; a < k; a += 4) for (let c = 0; c < n; c += 4) {
    const v = bm[a * n + c];
    keptBlocks += v;
    for (let kk = a; kk < Math.min(k, a + 4); kk++) for (let j = c; j < Math.min(n, c + 4); j++) assert.is(bm[kk * n + j], v);
  }
  assert.is(keptBlocks, Math.round(blocks * 0.5));
  const mm = magnitudeMask(w, k, n, 0.25);
  assert.is(mm.reduce((a, b) => a + b, 0), Math.round(k * n * 0.25));
});

test('structured formats run faster than unstructured at the same density (int8 steps: full vs padded)', async () => {
  // not a timing test: counts the bytes each format needs at ~50 % density (steps are the work unit)
  const [q] = await builds();
  const r = rng(8);
  const k = 256, n = 64, w = r.i8(k * n, -127, 127);
  const nm = q.sparseS8(w, k, n, { format: 'nm', nm: [2, 4], mask: nmMask(w, k, n, 2, 4) });
  const un = q.sparseS8(w, k, n, { mask: randomMask(r, k, n, 0.5) });
  assert.ok(nm.bytes < un.bytes, `${nm.bytes} < ${un.bytes}`);
  nm.dispose(); un.dispose();
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const k = 8, n = 4, w = new Int8Array(k * n).fill(1), wf = new Float32Array(k * n).fill(1);
  assert.throws(() => q.sparseS8(w, k, n, { mask: new Uint8Array(5) }), /mask must have length 32/);
  assert.throws(() => q.sparseS8(w, k, n, { mask: new Int8Array(32) }), /mask must be a Uint8Array/);
  assert.throws(() => q.sparseS8(wf, k, n), /w must be a Int8Array/);
  assert.throws(() => q.sparseF32(w, k, n), /w must be a Float32Array/);
  assert.throws(() => q.sparseS8(new Int8Array(31), k, n), /w must have length 32/);
  assert.throws(() => q.sparseS8(Int8Array.of(-128, ...new Array(31).fill(0)), k, n), /-128/);
  assert.throws(() => q.sparseS8(w, k, n, { format: 'coo' }), /format must be/);
  assert.throws(() => q.sparseS8(w, 0, n), /k must be in/);
  assert.throws(() => q.sparseS8(w, k, n, { aZeroPoint: 128 }), /aZeroPoint must be in/);
  assert.throws(() => q.sparseS8(w, k, n, { bias: new Int32Array(3) }), /bias must have length 4/);
  assert.throws(() => q.sparseF32(wf, k, n, { bias: new Int32Array(4) }), /bias must be a Float32Array/);
  // structure violations
  assert.throws(() => q.sparseS8(w, k, n, { format: 'nm', nm: [2, 4] }), (e) => e instanceof QwasmError && /not 2:4: column 0 keeps 4/.test(e.message));
  assert.throws(() => q.sparseF32(wf, k, n, { format: 'block', block: [4, 4], mask: Uint8Array.from({ length: 32 }, (_, i) => (i === 5 ? 0 : 1)) }),
    (e) => e instanceof QwasmError && /not made of 4×4 blocks/.test(e.message));
  assert.throws(() => q.sparseS8(w, k, n, { format: 'block', block: [4, 5] }), /bn\) must be 4 or 8/);
  assert.throws(() => q.sparseS8(w, k, n, { format: 'nm', nm: [4, 4] }), /keep\) must be in \[1, 3\]/);
  assert.throws(() => q.sparseS8(w, k, n, { format: 'nm', nm: [1, 32] }), /group\) must be in \[2, 16\]/);
  assert.throws(() => nmMask(wf, k, n, 3, 2), /keep must be in/);
  assert.throws(() => blockMask(wf, k, n, 4, 4, 1.5), /density must be in/);
  // calls
  const s = q.sparseS8(w, k, n);
  assert.throws(() => s.matmulInt32(new Int8Array(7), 1), /x must have length 8/);
  assert.throws(() => s.matmulInt32(new Int8Array(8), 0), /m must be in/);
  assert.throws(() => s.matmulInt32(new Uint8Array(8), 1), /x must be a Int8Array/);
  assert.throws(() => s.matmul(new Int8Array(8), 1), /without requantisation/);
  // runPtr: int32 without scale
  const xp = q.rt.put(Int8Array.from({ length: 8 }, (_, i) => i)), yp = q.rt.alloc(16);
  s.runPtr(xp, 1, yp);
  assert.is(eq(q.rt.i32(yp, 4), s.matmulInt32(Int8Array.from({ length: 8 }, (_, i) => i), 1)), null);
  q.rt.free(xp); q.rt.free(yp);
  assert.throws(() => q.sparseS8(w, k, n, { scale: -1 }), /scale\[0\] must be a finite positive/);
  s.dispose();
  assert.throws(() => s.matmulInt32(new Int8Array(8), 1), /after dispose/);
  const sf = q.sparseF32(wf, k, n);
  sf.dispose();
  assert.throws(() => sf.matmul(new Float32Array(8), 1), /after dispose/);
});

test('memory does not grow over repeated calls', async () => {
  for (const q of await builds()) {
    const r = rng(2);
    const k = 40, n = 12, w = r.i8(k * n, -127, 127), x = r.i8(3 * k), wf = r.f32(k * n), xf = r.f32(3 * k);
    const hs = [q.sparseS8(w, k, n, { scale: 0.01 }), q.sparseS8(w, k, n, { format: 'block', block: [1, 4], mask: blockMask(w, k, n, 1, 4, 0.5), scale: 0.01 })];
    const fs = [q.sparseF32(wf, k, n), q.sparseF32(wf, k, n, { format: 'nm', nm: [2, 4], mask: nmMask(wf, k, n, 2, 4) })];
    const round = () => { for (const h of hs) { h.matmul(x, 3); h.matmulInt32(x.subarray(0, k), 1); } for (const h of fs) h.matmul(xf, 3); };
    for (let i = 0; i < 200; i++) round();
    const before = q.rt.memoryBytes();
    for (let i = 0; i < 5000; i++) round();
    assert.is(q.rt.memoryBytes(), before, q.build);
    for (const h of [...hs, ...fs]) h.dispose();
  }
});

test.run();
