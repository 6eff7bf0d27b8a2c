// f32 elementwise kernels (assembly/eltwise_f32.ts): fast path vs plain-loop reference (bit for bit) in every
// build, both against JS, finite-difference checks of the activation gradients, dropout statistics,
// fake-quant round-half-even and STE masks, argument errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { eltwiseF32 } from '../dist/index.js';

const SIZES = [1, 3, 4, 5, 15, 16, 17, 31, 33, 100, 1000, 1023];
const LAYOUTS = [[1, 1, 1], [3, 17, 1], [5, 4, 1], [2, 3, 5], [1, 7, 17], [4, 10, 1], [3, 16, 16], [2, 9, 3], [7, 1, 13]];
const f = Math.fround;

function same(got, want, what) { assert.is(eq(got, want), null, what); }
function close(got, want, tol, what) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * Math.max(1, Math.abs(want[i])))) assert.unreachable(`${what}: [${i}] ${got[i]} vs ${want[i]} (err ${err})`);
  }
}
// round half to even (the fake-quant rule)
function rhe(v) {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

test('add / sub / mul: fast = ref = JS, odd lengths', async () => {
  const r = rng(1);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const n of SIZES) {
      const a = r.f32(n, 10), b = r.f32(n, 10);
      for (const [op, js] of [['add', (x, y) => x + y], ['sub', (x, y) => x - y], ['mul', (x, y) => x * y]]) {
        const got = E[op](a, b);
        same(got, R[op](a, b), `${q.build} ${op} n=${n} fast vs ref`);
        same(got, Float32Array.from(a, (x, i) => f(js(x, b[i]))), `${q.build} ${op} n=${n} vs JS`);
      }
    }
  }
});

test('broadcast add / mul over the channel axis and channel sums (bias gradient)', async () => {
  const r = rng(2);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const [outer, c, inner] of LAYOUTS) {
      const n = outer * c * inner, x = r.f32(n, 5), v = r.f32(c, 5);
      const idx = (i) => Math.floor(i / inner) % c;
      const add = E.addBcast(x, v, outer, c, inner), mul = E.mulBcast(x, v, outer, c, inner);
      same(add, R.addBcast(x, v, outer, c, inner), `${q.build} addBcast ${outer}x${c}x${inner}`);
      same(mul, R.mulBcast(x, v, outer, c, inner), `${q.build} mulBcast ${outer}x${c}x${inner}`);
      same(add, Float32Array.from(x, (t, i) => f(t + v[idx(i)])), `${q.build} addBcast JS`);
      same(mul, Float32Array.from(x, (t, i) => f(t * v[idx(i)])), `${q.build} mulBcast JS`);
      const want = new Float64Array(c);
      for (let i = 0; i < n; i++) want[idx(i)] += x[i];
      const acc = r.f32(c, 1);
      for (const prev of [undefined, acc]) {
        const got = E.sumBcast(x, outer, c, inner, prev), ref = R.sumBcast(x, outer, c, inner, prev);
        const w = Float64Array.from(want, (t, j) => t + (prev ? prev[j] : 0));
        if (inner === 1) same(got, ref, `${q.build} sumBcast ${outer}x${c} fast vs ref (exact for inner = 1)`);
        close(got, ref, 1e-5, `${q.build} sumBcast fast vs ref`);
        close(got, w, 1e-5, `${q.build} sumBcast vs JS`);
      }
    }
  }
});

test('axpy, scale, fill, copy', async () => {
  const r = rng(3);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const n of SIZES) {
      const x = r.f32(n, 3), y = r.f32(n, 3), alpha = f(-0.37);
      const ax = E.axpy(alpha, x, y);
      same(ax, R.axpy(alpha, x, y), `${q.build} axpy n=${n}`);
      same(ax, Float32Array.from(y, (t, i) => f(t + f(alpha * x[i]))), `${q.build} axpy JS`);
      const sc = E.scale(alpha, x);
      same(sc, R.scale(alpha, x), `${q.build} scale`);
      same(sc, Float32Array.from(x, (t) => f(alpha * t)), `${q.build} scale JS`);
      same(E.fill(n, 2.5), new Float32Array(n).fill(2.5), `${q.build} fill`);
      same(R.fill(n, -1), new Float32Array(n).fill(-1), `${q.build} fill ref`);
      same(E.copy(x), x, `${q.build} copy`);
      same(R.copy(x), x, `${q.build} copy ref`);
    }
  }
});

const ACTS = {
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leaky: (x, a) => (x > 0 ? x : f(x * a)),
};

test('activations forward = JS; backward from input and output = ref; finite differences', async () => {
  const r = rng(4);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const n of SIZES) {
      // values spread over [-8, 8] with exact kinks 0 and 6 included
      const x = r.f32(n, 8);
      if (n > 4) { x[0] = 0; x[1] = 6; x[2] = -0; x[3] = 6.5; }
      const dy = r.f32(n, 1), acc = r.f32(n, 1);
      for (const kind of ['relu', 'relu6', 'leaky']) {
        const alpha = f(0.1);
        const y = E.activation(kind, x, alpha);
        same(y, R.activation(kind, x, alpha), `${q.build} ${kind} fwd n=${n}`);
        same(y, Float32Array.from(x, (t) => f(ACTS[kind](t, alpha))), `${q.build} ${kind} fwd JS`);
        const gx = E.activationBackward(kind, x, dy, alpha), gy = E.activationBackward(kind, y, dy, alpha);
        same(gx, R.activationBackward(kind, x, dy, alpha), `${q.build} ${kind} bwd fast vs ref`);
        same(gx, gy, `${q.build} ${kind} bwd from input = from output`);
        const ga = E.activationBackward(kind, x, dy, alpha, acc);
        same(ga, R.activationBackward(kind, x, dy, alpha, acc), `${q.build} ${kind} bwd accumulate`);
        same(ga, Float32Array.from(acc, (t, i) => f(t + gx[i])), `${q.build} ${kind} accumulate = acc + grad`);
        // PyTorch semantics at the kinks: relu'(0) = 0, relu6'(6) = 0
        if (n > 4) { assert.is(gx[0], kind === 'leaky' ? f(dy[0] * alpha) : 0); if (kind === 'relu6') assert.is(gx[1], 0); }
        // finite differences away from the kinks
        const h = 1e-2;
        const xp = Float32Array.from(x, (t) => t + h), xm = Float32Array.from(x, (t) => t - h);
        const yp = E.activation(kind, xp, alpha), ym = E.activation(kind, xm, alpha);
        for (let i = 0; i < n; i++) {
          if (Math.abs(x[i]) < 0.05 || Math.abs(x[i] - 6) < 0.05) continue;
          const fd = (yp[i] - ym[i]) / (xp[i] - xm[i]) * dy[i];
          if (Math.abs(fd - gx[i]) > 1e-4) assert.unreachable(`${q.build} ${kind} FD at ${x[i]}: ${fd} vs ${gx[i]}`);
        }
      }
    }
  }
});

test('dropout: seeded mask identical in every path, keep rate 1 − p, scaling, backward by mask', async () => {
  const r = rng(5);
  const all = await builds();
  const n = 100003, x = r.f32(n, 2);
  let first = null;
  for (const q of all) {
    const E = q.eltwiseF32, R = E.reference;
    for (const p of [0, 0.1, 0.5, 0.9, 1]) {
      const a = E.dropout(x, p, 1234), b = R.dropout(x, p, 1234);
      same(a.mask, b.mask, `${q.build} dropout mask p=${p}`);
      same(a.y, b.y, `${q.build} dropout y p=${p}`);
      const kept = a.mask.reduce((s, m) => s + m, 0) / n;
      assert.ok(Math.abs(kept - (1 - p)) < 0.006, `${q.build} keep rate ${kept} for p=${p}`);
      const sc = p < 1 ? f(1 / (1 - f(p))) : 0; // the kernel receives p as f32
      same(a.y, Float32Array.from(x, (t, i) => (a.mask[i] ? f(t * sc) : 0)), `${q.build} dropout y = x·mask/(1−p)`);
      // backward: dx = dy·mask/(1−p) (the derivative of the forward, which is linear in x)
      const dy = r.f32(n, 1);
      const dx = E.mulMask(dy, a.mask, sc);
      same(dx, R.mulMask(dy, a.mask, sc), `${q.build} mulMask fast vs ref`);
      same(dx, Float32Array.from(dy, (t, i) => (a.mask[i] ? f(t * sc) : 0)), `${q.build} dropout backward`);
      if (p === 0.5) {
        if (first) same(a.mask, first, `${q.build} same seed, same mask in every build`);
        else first = a.mask;
        const c = E.dropout(x, p, 1235).mask;
        let diff = 0;
        for (let i = 0; i < n; i++) diff += c[i] !== a.mask[i];
        assert.ok(diff > n * 0.45, 'another seed gives another mask');
        // masks of consecutive elements are uncorrelated
        let agree = 0;
        for (let i = 1; i < n; i++) agree += a.mask[i] === a.mask[i - 1];
        assert.ok(Math.abs(agree / n - 0.5) < 0.01, `neighbour agreement ${agree / n}`);
      }
    }
    for (const len of SIZES) {
      const xs = r.f32(len), a = E.dropout(xs, 0.3, 7), b = R.dropout(xs, 0.3, 7);
      same(a.mask, b.mask, `${q.build} dropout mask n=${len}`);
      same(a.y, b.y, `${q.build} dropout y n=${len}`);
    }
  }
});

test('reductions: sum, sum of squares (f64), max, min/max observers, argmax', async () => {
  const r = rng(6);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const n of [...SIZES, 100000]) {
      const x = r.f32(n, 100);
      let s = 0, ss = 0, mx = -Infinity, mn = Infinity;
      for (const v of x) { s += v; ss += v * v; mx = Math.max(mx, v); mn = Math.min(mn, v); }
      const tol = 1e-12 * n;
      assert.ok(Math.abs(E.sum(x) - s) <= tol * 100 * Math.max(1, Math.abs(s)), `${q.build} sum n=${n}`);
      assert.ok(Math.abs(R.sum(x) - s) <= tol * 100 * Math.max(1, Math.abs(s)), `${q.build} sum ref n=${n}`);
      assert.ok(Math.abs(E.sumSquares(x) - ss) <= tol * ss, `${q.build} sumsq n=${n}`);
      assert.ok(Math.abs(R.sumSquares(x) - ss) <= tol * ss, `${q.build} sumsq ref n=${n}`);
      assert.ok(Math.abs(E.l2Norm(x) - Math.sqrt(ss)) <= 1e-9 * Math.sqrt(ss), `${q.build} l2Norm`);
      assert.is(E.max(x), mx, `${q.build} max n=${n}`);
      assert.is(R.max(x), mx);
      assert.equal(E.minmax(x), [mn, mx], `${q.build} minmax`);
      assert.equal(R.minmax(x), [mn, mx]);
      assert.equal(E.minmax(x, [-1000, 5]), [-1000, Math.max(mx, 5)], `${q.build} minmax accumulate`);
    }
    for (const [outer, c, inner] of LAYOUTS) {
      const n = outer * c * inner, x = r.f32(n, 10);
      const lo = new Float32Array(c).fill(Infinity), hi = new Float32Array(c).fill(-Infinity);
      for (let i = 0; i < n; i++) { const j = Math.floor(i / inner) % c; lo[j] = Math.min(lo[j], x[i]); hi[j] = Math.max(hi[j], x[i]); }
      const got = E.minmaxChannel(x, outer, c, inner), ref = R.minmaxChannel(x, outer, c, inner);
      same(got.min, lo, `${q.build} minmaxChannel min ${outer}x${c}x${inner}`);
      same(got.max, hi, `${q.build} minmaxChannel max`);
      same(ref.min, lo); same(ref.max, hi);
      const prev = { min: new Float32Array(c).fill(-3), max: new Float32Array(c).fill(20) };
      const acc = E.minmaxChannel(x, outer, c, inner, prev);
      same(acc.min, Float32Array.from(lo, (t) => Math.min(t, -3)), `${q.build} minmaxChannel accumulate`);
      same(acc.max, new Float32Array(c).fill(20));
    }
    for (const [m, n] of [[1, 1], [3, 10], [7, 17], [5, 4], [64, 10], [2, 1000]]) {
      const x = Float32Array.from(r.f32(m * n, 4), (t) => Math.round(t * 2) / 2); // many ties
      const want = new Int32Array(m);
      for (let i = 0; i < m; i++) { let b = 0; for (let j = 1; j < n; j++) if (x[i * n + j] > x[i * n + b]) b = j; want[i] = b; }
      same(E.argmaxRows(x, m, n), want, `${q.build} argmax ${m}x${n}`);
      same(R.argmaxRows(x, m, n), want, `${q.build} argmax ref ${m}x${n}`);
    }
    const nan = Float32Array.of(1, NaN, 3, 2, 0, 0, 0, 0, NaN, 5, 1, 1);
    same(E.argmaxRows(nan, 2, 6), R.argmaxRows(nan, 2, 6), `${q.build} argmax with NaN like the reference`);
  }
});

function fqJs(x, s, zp, qmin, qmax) {
  const t = rhe(f(x / s));
  return f(Math.min(Math.max(t, qmin - zp), qmax - zp) * s);
}
function steJs(x, dy, s, zp, qmin, qmax) {
  const t = rhe(f(x / s)) + zp;
  return t >= qmin && t <= qmax ? dy : 0;
}

test('fake quantisation per tensor: round half to even, clamp, STE mask', async () => {
  const r = rng(7);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    // exact halves: x/s = ±0.5, ±1.5, ±2.5, ±3.5 → 0, ±2, ±2, ±4
    const halves = Float32Array.of(0.25, 0.75, 1.25, 1.75, -0.25, -0.75, -1.25, -1.75, 0.3, 0.2);
    same(E.fakeQuant(halves, 0.5, 0, -128, 127), Float32Array.of(0, 1, 1, 2, -0, -1, -1, -2, 0.5, 0), `${q.build} half-even`);
    same(R.fakeQuant(halves, 0.5, 0, -128, 127), Float32Array.of(0, 1, 1, 2, -0, -1, -1, -2, 0.5, 0), `${q.build} half-even ref`);
    for (const n of SIZES) {
      for (const [s, zp, qmin, qmax] of [[0.05, 0, -128, 127], [0.02, -128, -128, 127], [0.1, 127, -128, 127], [0.03, 10, 0, 255], [0.5, 3, -8, 7]]) {
        const x = r.f32(n, 10);
        const y = E.fakeQuant(x, s, zp, qmin, qmax);
        same(y, R.fakeQuant(x, s, zp, qmin, qmax), `${q.build} fq n=${n} s=${s} zp=${zp}`);
        const sf = f(s);
        same(y, Float32Array.from(x, (t) => fqJs(t, sf, zp, qmin, qmax)), `${q.build} fq JS n=${n} zp=${zp}`);
        const dy = r.f32(n, 1);
        const dx = E.fakeQuantBackward(x, dy, s, zp, qmin, qmax);
        same(dx, R.fakeQuantBackward(x, dy, s, zp, qmin, qmax), `${q.build} fq bwd`);
        same(dx, Float32Array.from(x, (t, i) => steJs(t, dy[i], sf, zp, qmin, qmax)), `${q.build} STE mask JS`);
      }
    }
    // values exactly at the clamp edges pass the gradient, one step beyond does not
    const s = 0.25, x = Float32Array.of(-32, 31.75, -32.25, 32, -32.12, 31.87, 31.88), dy = new Float32Array(7).fill(1);
    same(E.fakeQuantBackward(x, dy, s, 0, -128, 127), Float32Array.of(1, 1, 0, 0, 1, 1, 0), `${q.build} STE edges`);
    same(E.fakeQuant(x, s, 0, -128, 127), Float32Array.of(-32, 31.75, -32, 31.75, -32, 31.75, 31.75), `${q.build} clamp`);
  }
});

test('fake quantisation per channel (last dim and first dim) and its STE backward', async () => {
  const r = rng(8);
  for (const q of await builds()) {
    const E = q.eltwiseF32, R = E.reference;
    for (const [outer, c, inner] of [...LAYOUTS, [1, 8, 25], [6, 5, 1]]) {
      const n = outer * c * inner, x = r.f32(n, 3), dy = r.f32(n, 1);
      const scales = Float32Array.from({ length: c }, () => 0.005 + r.float() * 0.05);
      const y = E.fakeQuantChannel(x, outer, c, inner, scales, -127, 127);
      same(y, R.fakeQuantChannel(x, outer, c, inner, scales, -127, 127), `${q.build} fq channel ${outer}x${c}x${inner}`);
      const jx = (i) => Math.floor(i / inner) % c;
      same(y, Float32Array.from(x, (t, i) => fqJs(t, scales[jx(i)], 0, -127, 127)), `${q.build} fq channel JS`);
      const dx = E.fakeQuantChannelBackward(x, dy, outer, c, inner, scales, -127, 127);
      same(dx, R.fakeQuantChannelBackward(x, dy, outer, c, inner, scales, -127, 127), `${q.build} fq channel bwd`);
      same(dx, Float32Array.from(x, (t, i) => steJs(t, dy[i], scales[jx(i)], 0, -127, 127)), `${q.build} fq channel STE JS`);
      assert.ok(dx.some((v) => v === 0) || scales.every((s) => s * 127 > 3), 'some values clamp');
    }
  }
});

test('pointer level: in place, accumulate flags, aliasing', async () => {
  const [q] = await builds();
  const rt = q.rt;
  const r = rng(9);
  const n = 37, x = r.f32(n, 4);
  const p = rt.put(x), g = rt.put(r.f32(n, 1));
  try {
    eltwiseF32.activation(rt, 'relu', p, p, n);
    same(rt.f32(p, n).slice(), Float32Array.from(x, (t) => Math.max(t, 0)), 'relu in place');
    eltwiseF32.scale(rt, 0.5, g, g, n);
    const before = rt.f32(g, n).slice();
    eltwiseF32.add(rt, g, g, g, n);
    same(rt.f32(g, n).slice(), Float32Array.from(before, (t) => 2 * t), 'add in place');
  } finally { rt.free(p); rt.free(g); }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const E = q.eltwiseF32, rt = q.rt;
  const a = new Float32Array(4);
  assert.throws(() => E.add(a, new Float32Array(3)), /b must have length 4/);
  assert.throws(() => E.add([1, 2], a), /a must be a Float32Array/);
  assert.throws(() => E.add(new Float32Array(0), new Float32Array(0)), /a must not be empty/);
  assert.throws(() => E.addBcast(a, new Float32Array(3), 2, 2), /v must have length 2/);
  assert.throws(() => E.addBcast(a, new Float32Array(2), 2, 3), /x must have length 6/);
  assert.throws(() => E.activation('gelu', a), /kind must be 'relu', 'relu6' or 'leaky'/);
  assert.throws(() => E.activation('leaky', a, NaN), /alpha must be a finite number/);
  assert.throws(() => E.dropout(a, 1.5, 1), /p must be in \[0, 1\]/);
  assert.throws(() => E.dropout(a, 0.5, -1), /seed must be in/);
  assert.throws(() => E.mulMask(a, new Uint8Array(3)), /mask must have length 4/);
  assert.throws(() => E.argmaxRows(a, 3, 2), /x must have length 6/);
  assert.throws(() => E.fakeQuant(a, 0, 0, -128, 127), /scale must be a finite positive number/);
  assert.throws(() => E.fakeQuant(a, 0.1, 200, -128, 127), /zeroPoint must be in \[-128, 127\]/);
  assert.throws(() => E.fakeQuant(a, 0.1, 0, 10, -10), /qmin \(10\) must not exceed qmax/);
  assert.throws(() => E.fakeQuantChannel(a, 1, 4, 1, Float32Array.of(1, 1, -1, 1), -127, 127), /scales\[2\] must be a finite positive/);
  assert.throws(() => eltwiseF32.add(rt, 0, 16, 32, 4), /a must be a non-null pointer/);
  assert.throws(() => eltwiseF32.add(rt, 18, 16, 32, 4), /a must be 4-byte aligned/);
  assert.throws(() => eltwiseF32.add(rt, 16, rt.memoryBytes() - 8, 32, 4), /b \[.*\) lies outside WASM memory/);
  assert.throws(() => eltwiseF32.add(rt, 16, 16, 16, 0), /n must be in \[1,/);
  assert.throws(() => eltwiseF32.add(rt, 16, 16, 16, 2.5), /n must be an integer/);
  assert.throws(() => eltwiseF32.sumBcast(rt, 16, 16, 2, 2, 2, 1), /accumulate must be a boolean/);
});

test.run();
