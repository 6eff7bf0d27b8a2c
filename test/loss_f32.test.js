// f32 losses (assembly/loss_f32.ts): exp/log accuracy, cross-entropy / softmax / log-softmax / distillation KL /
// MSE against float64 JS references (extreme logits included), fast vs reference in every build, and
// finite-difference checks of every gradient.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { lossF32 } from '../dist/index.js';

const SHAPES = [[1, 1], [1, 3], [2, 10], [3, 17], [5, 4], [4, 5], [64, 10], [7, 33], [2, 1000]];

function close(got, want, rel, abs, what) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= abs + rel * Math.abs(want[i]))) assert.unreachable(`${what}: [${i}] ${got[i]} vs ${want[i]} (err ${err})`);
  }
}
function near(got, want, rel, abs, what) {
  if (!(Math.abs(got - want) <= abs + rel * Math.abs(want))) assert.unreachable(`${what}: ${got} vs ${want}`);
}
const ulp = (t) => Math.pow(2, Math.floor(Math.log2(Math.abs(t))) - 23);

// float64 references
function logSoftmaxJs(x, m, n, T = 1) {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x[i * n + j] / T);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[i * n + j] / T - mx);
    const l = Math.log(s);
    for (let j = 0; j < n; j++) y[i * n + j] = x[i * n + j] / T - mx - l;
  }
  return y;
}
function xentJs(x, labels, m, n, eps = 0) {
  const ls = logSoftmaxJs(x, m, n);
  let loss = 0;
  const g = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const t = (j === labels[i] ? 1 - eps : 0) + eps / n;
      loss -= t * ls[i * n + j];
      g[i * n + j] = (Math.exp(ls[i * n + j]) - t) / m;
    }
  }
  return { loss: loss / m, grad: g };
}
function klJs(s, t, m, n, T) {
  const lp = logSoftmaxJs(s, m, n, T), lq = logSoftmaxJs(t, m, n, T);
  let loss = 0;
  const g = new Float64Array(m * n);
  for (let k = 0; k < m * n; k++) {
    const q = Math.exp(lq[k]);
    if (q > 0) loss += q * (lq[k] - lp[k]);
    g[k] = T / m * (Math.exp(lp[k]) - q);
  }
  return { loss: loss * T * T / m, grad: g };
}

test('exp and log: fast = reference bit for bit, accuracy ≤ 1.5 ulp, special values', async () => {
  for (const q of await builds()) {
    const L = q.lossF32, R = L.reference;
    const N = 200003;
    const x = Float32Array.from({ length: N }, (_, i) => -87 + 175.5 * i / N);
    const y = L.exp(x);
    assert.is(eq(y, R.exp(x)), null, `${q.build} exp fast vs ref`);
    let worst = 0;
    for (let i = 0; i < N; i++) { const t = Math.exp(x[i]); worst = Math.max(worst, Math.abs(y[i] - t) / ulp(t)); }
    assert.ok(worst <= 1.5, `${q.build} exp worst ${worst} ulp`);
    const lx = Float32Array.from({ length: N }, (_, i) => (i % 2 ? Math.pow(2, -126 + 253 * i / N) : 0.5 + 1.5 * i / N));
    const ly = L.log(lx);
    assert.is(eq(ly, R.log(lx)), null, `${q.build} log fast vs ref`);
    let lw = 0;
    for (let i = 0; i < N; i++) { const t = Math.log(lx[i]); if (t !== 0) lw = Math.max(lw, Math.abs(ly[i] - t) / ulp(t)); else assert.is(ly[i], 0); }
    assert.ok(lw <= 1.5, `${q.build} log worst ${lw} ulp`);
    const se = L.exp(Float32Array.of(-Infinity, Infinity, NaN, -200, 0, 89, 88.5, -95));
    assert.equal(Array.from(se.slice(0, 6)), [0, Infinity, NaN, 0, 1, Infinity]);
    near(se[6], Math.exp(88.5), 2e-7, 0, 'exp(88.5)');
    near(se[7], Math.exp(-95), 1e-3, 0, 'exp(-95) (subnormal)');
    const sl = L.log(Float32Array.of(0, -0, -1, Infinity, NaN, 1, 1e-45, 1e-40));
    assert.equal(Array.from(sl.slice(0, 6)), [-Infinity, -Infinity, NaN, Infinity, NaN, 0]);
    near(sl[6], Math.log(Math.fround(1e-45)), 1e-7, 0, 'log(min subnormal)');
    near(sl[7], Math.log(Math.fround(1e-40)), 1e-7, 0, 'log(subnormal)');
  }
});

/** A test over every build, with its fast (L) and plain-loop (R) loss kernels and one rng(seed) drawn across builds. */
function lossTest(name, seed, body) {
  test(name, async () => {
    const r = rng(seed);
    for (const q of await builds()) body(q, q.lossF32, q.lossF32.reference, r);
  });
}

lossTest('softmax cross-entropy: loss and gradient vs float64 JS, label smoothing, fast vs reference', 11, (q, L, R, r) => {
  for (const [m, n] of SHAPES) {
    for (const eps of [0, 0.1]) {
      for (const scale of [3, 100]) {
        const x = r.f32(m * n, scale);
        const labels = Int32Array.from({ length: m }, () => r.int(0, n - 1));
        const a = L.softmaxCrossEntropy(x, labels, m, n, eps), b = R.softmaxCrossEntropy(x, labels, m, n, eps);
        const want = xentJs(x, labels, m, n, eps);
        assert.ok(Number.isFinite(a.loss) && a.grad.every(Number.isFinite), `${q.build} finite`);
        near(a.loss, want.loss, 2e-6, 1e-6, `${q.build} xent ${m}x${n} eps=${eps} scale=${scale} loss`);
        near(a.loss, b.loss, 2e-6, 1e-6, `${q.build} xent fast vs ref`);
        close(a.grad, want.grad, 1e-5, 1e-7, `${q.build} xent grad ${m}x${n} eps=${eps} scale=${scale}`);
        close(a.grad, b.grad, 1e-5, 1e-8, `${q.build} xent grad fast vs ref`);
      }
    }
  }
  // extreme logits: one-hot ±100 rows, confident right and wrong
  const m = 4, n = 10, x = new Float32Array(m * n).fill(-100);
  x[3] = 100; x[10 + 5] = 100; x[20 + 0] = 100; x[30 + 9] = 100;
  const labels = Int32Array.of(3, 4, 0, 0);
  for (const eps of [0, 0.2]) {
    const a = L.softmaxCrossEntropy(x, labels, m, n, eps), want = xentJs(x, labels, m, n, eps);
    assert.ok(Number.isFinite(a.loss) && a.grad.every(Number.isFinite), `${q.build} extreme finite`);
    near(a.loss, want.loss, 1e-6, 1e-6, `${q.build} extreme logits loss (eps ${eps})`);
    close(a.grad, want.grad, 1e-6, 1e-7, `${q.build} extreme logits grad (eps ${eps})`);
  }
  assert.is(L.softmaxCrossEntropy(x, labels, m, n).loss, 100, 'two of four rows 200 off, two exact');
});

test('cross-entropy gradient: finite differences of the kernel loss; gradScale; in place', async () => {
  const r = rng(12);
  for (const q of await builds()) {
    const L = q.lossF32;
    for (const [m, n] of [[3, 7], [2, 10], [1, 5]]) {
      for (const eps of [0, 0.3]) {
        const x = r.f32(m * n, 2), labels = Int32Array.from({ length: m }, () => r.int(0, n - 1));
        const { grad } = L.softmaxCrossEntropy(x, labels, m, n, eps, 2.5);
        for (let k = 0; k < m * n; k++) {
          const h = 1e-2, xp = x.slice(), xm = x.slice();
          xp[k] += h; xm[k] -= h;
          const fd = 2.5 * (L.softmaxCrossEntropy(xp, labels, m, n, eps).loss - L.softmaxCrossEntropy(xm, labels, m, n, eps).loss) / (xp[k] - xm[k]);
          near(grad[k], fd, 2e-3, 2e-5, `${q.build} xent FD [${k}]`);
        }
      }
    }
    // pointer level: dlogits aliases logits
    const rt = q.rt, m = 5, n = 9, x = r.f32(m * n, 3), labels = Int32Array.from({ length: m }, () => r.int(0, n - 1));
    const want = L.softmaxCrossEntropy(x, labels, m, n, 0.1);
    const xp = rt.put(x), lp = rt.put(labels);
    try {
      const loss = lossF32.softmaxCrossEntropy(rt, xp, lp, m, n, xp, 0.1);
      assert.is(loss, want.loss);
      assert.is(eq(rt.f32(xp, m * n), want.grad), null, `${q.build} in-place gradient`);
    } finally { rt.free(xp); rt.free(lp); }
  }
});

lossTest('softmax, log-softmax and its backward (finite differences)', 13, (q, L, R, r) => {
  for (const [m, n] of SHAPES) {
    for (const scale of [4, 100]) {
      const x = r.f32(m * n, scale);
      const ls = L.logSoftmax(x, m, n), want = logSoftmaxJs(x, m, n);
      close(ls, want, 1e-6, 2e-6, `${q.build} logSoftmax ${m}x${n} scale=${scale}`);
      close(ls, R.logSoftmax(x, m, n), 1e-6, 1e-6, `${q.build} logSoftmax fast vs ref`);
      close(L.softmax(x, m, n), Array.from(want, Math.exp), 4e-6, 1e-9, `${q.build} softmax ${m}x${n}`);
      close(L.softmax(x, m, n), R.softmax(x, m, n), 4e-6, 1e-9, `${q.build} softmax fast vs ref`);
      assert.ok(ls.every(Number.isFinite), `${q.build} logSoftmax finite`);
      const dy = r.f32(m * n, 1);
      const dx = L.logSoftmaxBackward(ls, dy, m, n);
      close(dx, R.logSoftmaxBackward(ls, dy, m, n), 1e-5, 1e-6, `${q.build} logSoftmaxBackward fast vs ref`);
      if (scale === 4 && m * n <= 80) {
        // d/dx Σ dy·logSoftmax(x)
        const obj = (z) => { const y = L.logSoftmax(z, m, n); let s = 0; for (let k = 0; k < m * n; k++) s += dy[k] * y[k]; return s; };
        for (let k = 0; k < m * n; k++) {
          const h = 1e-2, xp = x.slice(), xm = x.slice();
          xp[k] += h; xm[k] -= h;
          near(dx[k], (obj(xp) - obj(xm)) / (xp[k] - xm[k]), 3e-3, 3e-4, `${q.build} logSoftmax FD [${k}]`);
        }
      }
    }
  }
});

lossTest('distillation KL with temperature: vs float64 JS, T² scaling, zero for identical logits, FD gradient', 14, (q, L, R, r) => {
  for (const [m, n] of SHAPES) {
    for (const T of [1, 2, 4.5]) {
      for (const scale of [3, 100]) {
        const s = r.f32(m * n, scale), t = r.f32(m * n, scale);
        const a = L.klDistill(s, t, m, n, T), b = R.klDistill(s, t, m, n, T), want = klJs(s, t, m, n, T);
        assert.ok(Number.isFinite(a.loss) && a.grad.every(Number.isFinite), `${q.build} KL finite`);
        near(a.loss, want.loss, 1e-5, 1e-5 * T * T, `${q.build} KL ${m}x${n} T=${T} scale=${scale}`);
        near(a.loss, b.loss, 1e-5, 1e-5 * T * T, `${q.build} KL fast vs ref`);
        close(a.grad, want.grad, 1e-5, 1e-7 * T, `${q.build} KL grad ${m}x${n} T=${T}`);
        close(a.grad, b.grad, 1e-5, 1e-7 * T, `${q.build} KL grad fast vs ref`);
        const acc = r.f32(m * n, 1), withAcc = L.klDistill(s, t, m, n, T, 1, acc);
        assert.is(withAcc.loss, a.loss);
        assert.is(eq(withAcc.grad, Float32Array.from(acc, (v, k) => Math.fround(v + a.grad[k]))), null, `${q.build} KL accumulate`);
        const same = L.klDistill(s, s, m, n, T);
        assert.is(same.loss, 0, `${q.build} KL(p‖p) = 0`);
        assert.ok(same.grad.every((v) => v === 0), `${q.build} zero gradient at p = q`);
      }
    }
  }
  for (const T of [1, 3]) {
    const m = 2, n = 6, s = r.f32(m * n, 2), t = r.f32(m * n, 2);
    const { grad } = L.klDistill(s, t, m, n, T, 0.5);
    for (let k = 0; k < m * n; k++) {
      const h = 1e-2, sp = s.slice(), sm = s.slice();
      sp[k] += h; sm[k] -= h;
      const fd = 0.5 * (L.klDistill(sp, t, m, n, T).loss - L.klDistill(sm, t, m, n, T).loss) / (sp[k] - sm[k]);
      near(grad[k], fd, 3e-3, 3e-5, `${q.build} KL FD T=${T} [${k}]`);
    }
  }
});

lossTest('MSE: loss vs float64 JS, gradient exact in every path and by finite differences', 15, (q, L, R, r) => {
  for (const n of [1, 3, 4, 17, 100, 1000, 1023]) {
    const a = r.f32(n, 3), b = r.f32(n, 3);
    let s = 0;
    for (let i = 0; i < n; i++) { const d = Math.fround(a[i] - b[i]); s += d * d; }
    const x = L.mse(a, b, 0.5), y = R.mse(a, b, 0.5);
    near(x.loss, s / n, 1e-12, 0, `${q.build} mse n=${n}`);
    near(y.loss, s / n, 1e-12, 0, `${q.build} mse ref n=${n}`);
    assert.is(eq(x.grad, y.grad), null, `${q.build} mse grad fast vs ref`);
    const acc = r.f32(n, 1);
    assert.is(eq(L.mse(a, b, 0.5, acc).grad, Float32Array.from(acc, (v, k) => Math.fround(v + x.grad[k]))), null, `${q.build} mse accumulate`);
    assert.is(eq(R.mse(a, b, 0.5, acc).grad, Float32Array.from(acc, (v, k) => Math.fround(v + x.grad[k]))), null, `${q.build} mse accumulate ref`);
    close(x.grad, Array.from(a, (v, i) => 0.5 * 2 * (v - b[i]) / n), 1e-6, 0, `${q.build} mse grad JS`);
    if (n <= 17) {
      for (let k = 0; k < n; k++) {
        const h = 1e-2, ap = a.slice(), am = a.slice();
        ap[k] += h; am[k] -= h;
        near(x.grad[k], 0.5 * (L.mse(ap, b).loss - L.mse(am, b).loss) / (ap[k] - am[k]), 1e-3, 1e-6, `${q.build} mse FD [${k}]`);
      }
    }
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const L = q.lossF32, rt = q.rt;
  const x = new Float32Array(6);
  assert.throws(() => L.softmaxCrossEntropy(x, Int32Array.of(0, 3), 2, 3), /labels\[1\] must be in \[0, 2\], got 3/);
  assert.throws(() => L.softmaxCrossEntropy(x, Int32Array.of(0), 2, 3), /labels must have length 2/);
  assert.throws(() => L.softmaxCrossEntropy(x, Int32Array.of(0, 1), 2, 4), /logits must have length 8/);
  assert.throws(() => L.softmaxCrossEntropy(x, Int32Array.of(0, 1), 2, 3, 1.5), /smoothing must be in \[0, 1\]/);
  assert.throws(() => L.softmaxCrossEntropy(x, Int32Array.of(0, 1), 0, 3), /m must be in \[1,/);
  assert.throws(() => L.klDistill(x, x, 2, 3, 0), /temperature must be positive/);
  assert.throws(() => L.klDistill(x, new Float32Array(5), 2, 3, 1), /teacher must have length 6/);
  assert.throws(() => L.mse(x, new Float32Array(2)), /b must have length 6/);
  assert.throws(() => L.mse(x, x, NaN), /gradScale must be a finite number/);
  assert.throws(() => L.logSoftmax(x, 4, 2), /x must have length 8/);
  assert.throws(() => lossF32.mse(rt, 16, 16, 4, 3), /da must be 4-byte aligned/);
  assert.throws(() => lossF32.klDistill(rt, 16, -4, 1, 4, 1), /teacher must be a non-null pointer/);
  assert.throws(() => lossF32.exp(rt, 16, 16, 1 << 29), /n must be in/);
});

test.run();
