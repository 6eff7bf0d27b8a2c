import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng } from './helpers.js';
import {
  conv2dF32, conv2dF32Backward, conv2dF32Shape, conv2dF32Forward, conv2dF32BackwardData, conv2dF32BackwardFilter,
} from '../dist/index.js';

// [n, h, w, c, oc, kh, kw, stride, padding, dilation, groups]
const shapes = [
  [1, 5, 5, 1, 1, 3, 3, 1, 0, 1, 1],
  [2, 7, 6, 3, 5, 3, 3, 1, 1, 1, 1],
  [1, 9, 9, 4, 8, 3, 3, 2, 1, 1, 1],
  [3, 8, 7, 6, 4, 3, 2, [2, 1], [1, 0, 2, 1], 1, 2],
  [2, 10, 9, 5, 7, 3, 3, 1, 2, 2, 1],
  [1, 11, 8, 3, 2, 2, 3, [3, 2], [0, 1], [2, 1], 1],
  [2, 20, 20, 16, 8, 3, 3, 1, 1, 1, 1],          // several im2col chunks
  [2, 13, 13, 32, 64, 3, 3, 1, 0, 1, 1],         // the MNIST CNN's second conv, batch 2 (two chunks)
  [2, 28, 28, 1, 32, 3, 3, 1, 0, 1, 1],          // its first conv
  [1, 6, 6, 8, 8, 3, 3, 1, 1, 1, 8],             // depthwise
  [2, 7, 9, 13, 13, 3, 3, 2, 1, 1, 13],          // depthwise, odd C, stride 2
  [2, 8, 8, 12, 12, 5, 5, 1, [2, 2], 2, 12],     // depthwise, dilated
  [1, 5, 4, 5, 5, 3, 1, 1, [1, 0, 0, 0], 1, 5],  // depthwise, asymmetric padding
  [2, 6, 5, 4, 8, 3, 3, 1, 1, 1, 4],             // depth multiplier 2 (grouped path, Cg = 1)
  [2, 5, 6, 7, 9, 1, 1, 1, 0, 1, 1],             // pointwise
  [1, 4, 4, 8, 6, 1, 1, 1, 0, 1, 2],             // pointwise, grouped
  [2, 6, 6, 8, 5, 1, 1, 2, 0, 1, 1],             // 1×1 stride 2
  [1, 3, 3, 2, 3, 1, 1, 1, 1, 1, 1],             // 1×1 padded
  [3, 1, 9, 6, 6, 1, 3, 1, [0, 1], 1, 3],        // one row, groups 3
  [1, 4, 4, 3, 2, 4, 4, 1, 0, 1, 1],             // kernel = input: one output pixel
  [2, 5, 5, 3, 32, 1, 1, 1, 0, 1, 1],            // pointwise, dW computed transposed (Kg = 3, OCg = 32)
  [1, 9, 9, 2, 64, 3, 3, 1, 1, 1, 2],            // grouped, dW computed transposed
  [1, 2, 3, 4, 4, 1, 1, 2, 1, 1, 4],             // depthwise 1×1 padded: some outputs see only padding
  [1, 3, 3, 6, 6, 3, 3, 1, 2, 1, 6],             // depthwise, padding 2: corner windows have one real tap
  [1, 9, 9, 40, 40, 3, 3, 1, 1, 1, 40],          // depthwise: 16-, 16-, 8-channel steps (MobileNetV2-like widths)
  [1, 10, 10, 36, 36, 3, 3, 2, [0, 0, 1, 1], 1, 36], // depthwise, Keras' stride-2 padding, 16 + 16 + 4 channels
  [2, 9, 8, 21, 21, 3, 3, 1, 2, 2, 21],          // depthwise, dilated, 16 + 4 + 1 channels
  [2, 9, 17, 2, 13, 3, 3, 2, [1, 2, 0, 1], [1, 2], 1], // small-K direct path (Kg = 18): stride, dilation, padding, OC % 8 ≠ 0
  [1, 12, 12, 1, 16, 5, 5, 1, 2, 1, 1],          // small-K direct path, 5×5 padded
  [3, 6, 11, 3, 8, 3, 3, 1, 0, 1, 1],            // small-K direct path, RGB, valid
];

const params = ([n, h, w, c, oc, kh, kw, stride, padding, dilation, groups]) =>
  ({ n, h, w, c, oc, kh, kw, stride, padding, dilation, groups });
const label = (s) => JSON.stringify(s);

// float64 JS reference from the definition: y = conv(x, w) + b; dx, dw, db by the chain rule.
function jsConv(x, w, b, dy, p) {
  const s = conv2dF32Shape(p);
  const { n, h, c, oc, kh, kw, oh, ow, groups } = s, W = s.w;
  const cg = c / groups, ocg = oc / groups;
  const y = new Float64Array(s.yLength), dx = new Float64Array(s.xLength), dw = new Float64Array(s.wLength), db = new Float64Array(oc);
  for (let ni = 0; ni < n; ni++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let o = 0; o < oc; o++) {
    const g = Math.floor(o / ocg), yi = ((ni * oh + oy) * ow + ox) * oc + o;
    let acc = b ? b[o] : 0;
    const d = dy ? dy[yi] : 0;
    for (let ki = 0; ki < kh; ki++) {
      const iy = oy * s.strideH - s.padT + ki * s.dilationH;
      if (iy < 0 || iy >= h) continue;
      for (let kj = 0; kj < kw; kj++) {
        const ix = ox * s.strideW - s.padL + kj * s.dilationW;
        if (ix < 0 || ix >= W) continue;
        for (let ci = 0; ci < cg; ci++) {
          const xi = ((ni * h + iy) * W + ix) * c + g * cg + ci, wi = ((o * kh + ki) * kw + kj) * cg + ci;
          acc += x[xi] * w[wi];
          dx[xi] += d * w[wi];
          dw[wi] += d * x[xi];
        }
      }
    }
    y[yi] = acc;
    db[o] += d;
  }
  return { y, dx, dw, db };
}

function maxAbs(a) { let m = 0; for (const v of a) m = Math.max(m, Math.abs(v)); return m; }
// max |got - want| relative to the largest |want| (sums of many terms: element-wise relative error is
// meaningless where they cancel)
function relErr(got, want) {
  if (got.length !== want.length) return Infinity;
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    e = Math.max(e, Math.abs(got[i] - want[i]));
  }
  return e / Math.max(maxAbs(want), 1e-30);
}
function close(got, want, tol, msg) {
  const e = relErr(got, want);
  assert.ok(e <= tol, `${msg}: relative error ${e} > ${tol}`);
}

test('conv2d f32: fast = reference = float64 JS (forward, dx, dw, db) on many shapes, every build', async () => {
  const r = rng(21);
  for (const q of await builds()) {
    for (const sh of shapes) {
      const p = params(sh), s = conv2dF32Shape(p);
      const x = r.f32(s.xLength), w = r.f32(s.wLength), b = r.f32(s.oc), dy = r.f32(s.yLength);
      const js = jsConv(x, w, b, dy, p);
      for (const reference of [false, true]) {
        const tag = `${q.build} ${reference ? 'ref' : 'fast'} ${label(sh)}`;
        close(conv2dF32(q.rt, x, w, b, p, { reference }), js.y, 1e-5, `y ${tag}`);
        const g = conv2dF32Backward(q.rt, x, w, dy, p, { reference });
        close(g.dx, js.dx, 1e-5, `dx ${tag}`);
        close(g.dw, js.dw, 1e-5, `dw ${tag}`);
        close(g.db, js.db, 1e-5, `db ${tag}`);
      }
      // no bias
      close(conv2dF32(q.rt, x, w, null, p), jsConv(x, w, null, null, p).y, 1e-5, `y no bias ${q.build} ${label(sh)}`);
    }
  }
});

test('conv2d f32: finite differences of L = Σ r·conv(x, w) match dx and dw (f32 kernels, float64 loss)', async () => {
  const r = rng(5);
  for (const q of await builds()) {
    for (const sh of [shapes[3], shapes[5], shapes[10], shapes[13]]) {
      const p = params(sh), s = conv2dF32Shape(p);
      const x = r.f32(s.xLength), w = r.f32(s.wLength), b = r.f32(s.oc), rr = r.f32(s.yLength);
      const loss = (xx, ww, bb) => { const y = conv2dF32(q.rt, xx, ww, bb, p); let l = 0; for (let i = 0; i < y.length; i++) l += y[i] * rr[i]; return l; };
      const g = conv2dF32Backward(q.rt, x, w, rr, p);
      const eps = 0.25;   // L is linear in each argument: central differences are exact up to rounding
      const fd = (arr, i, call) => { const o = arr[i]; arr[i] = o + eps; const lp = call(); arr[i] = o - eps; const lm = call(); arr[i] = o; return (lp - lm) / (2 * eps); };
      for (let t = 0; t < 12; t++) {
        const i = r.int(0, s.xLength - 1), j = r.int(0, s.wLength - 1), k = r.int(0, s.oc - 1);
        const tag = `${q.build} ${label(sh)}`;
        const ex = fd(x, i, () => loss(x, w, b)), ew = fd(w, j, () => loss(x, w, b)), eb = fd(b, k, () => loss(x, w, b));
        const scale = Math.sqrt(s.yLength) + 1;
        assert.ok(Math.abs(ex - g.dx[i]) <= 1e-4 * scale, `dx[${i}] ${g.dx[i]} vs fd ${ex} ${tag}`);
        assert.ok(Math.abs(ew - g.dw[j]) <= 1e-4 * scale, `dw[${j}] ${g.dw[j]} vs fd ${ew} ${tag}`);
        assert.ok(Math.abs(eb - g.db[k]) <= 1e-4 * scale, `db[${k}] ${g.db[k]} vs fd ${eb} ${tag}`);
      }
    }
  }
});

test('conv2d f32 pointer API: beta = 1 accumulates, beta = 0 never reads (NaN-filled outputs), other beta scales', async () => {
  const r = rng(9);
  for (const q of await builds()) {
    const rt = q.rt;
    for (const sh of [shapes[1], shapes[7], shapes[10], shapes[14], shapes[13]]) {
      const p = params(sh), s = conv2dF32Shape(p);
      const x = r.f32(s.xLength), w = r.f32(s.wLength), dy = r.f32(s.yLength);
      const g = conv2dF32Backward(rt, x, w, dy, p);
      const old = { dx: r.f32(s.xLength), dw: r.f32(s.wLength), db: r.f32(s.oc) };
      for (const reference of [false, true]) {
        for (const beta of [0, 1, 0.5]) {
          rt.scoped((sc) => {
            const xp = sc.put(x), wp = sc.put(w), gp = sc.put(dy);
            const init = (a) => beta === 0 ? sc.put(new Float32Array(a.length).fill(NaN)) : sc.put(a);
            const dxp = init(old.dx), dwp = init(old.dw), dbp = init(old.db);
            conv2dF32BackwardData(rt, s, gp, wp, dxp, { beta, reference });
            conv2dF32BackwardFilter(rt, s, xp, gp, dwp, dbp, { beta, reference });
            const want = (k) => g[k].map((v, i) => beta * (beta === 0 ? 0 : old[k][i]) + v);
            const tag = `${q.build} beta ${beta} ${reference ? 'ref' : 'fast'} ${label(sh)}`;
            close(rt.f32(dxp, s.xLength), want('dx'), 1e-5, `dx ${tag}`);
            close(rt.f32(dwp, s.wLength), want('dw'), 1e-5, `dw ${tag}`);
            close(rt.f32(dbp, s.oc), want('db'), 1e-5, `db ${tag}`);
          });
        }
      }
    }
  }
});

test('conv2d f32: output shape, and memory does not grow over repeated calls', async () => {
  const [q] = await builds();
  const s = conv2dF32Shape({ n: 2, h: 13, w: 11, c: 4, oc: 6, kh: 3, kw: 3, stride: 2, padding: [1, 0, 0, 2], dilation: [1, 2] });
  assert.is(s.oh, Math.floor((13 + 1 + 0 - 3) / 2) + 1);
  assert.is(s.ow, Math.floor((11 + 0 + 2 - 5) / 2) + 1);
  const r = rng(3);
  const p = params(shapes[7]), s2 = conv2dF32Shape(p);
  const x = r.f32(s2.xLength), w = r.f32(s2.wLength), dy = r.f32(s2.yLength);
  conv2dF32(q.rt, x, w, null, p); conv2dF32Backward(q.rt, x, w, dy, p);
  const before = q.rt.memoryBytes();
  for (let i = 0; i < 5; i++) { conv2dF32(q.rt, x, w, null, p); conv2dF32Backward(q.rt, x, w, dy, p); }
  assert.is(q.rt.memoryBytes(), before);
});

test('conv2d f32: bad arguments throw errors naming them', async () => {
  const [q] = await builds();
  const ok = { n: 1, h: 5, w: 5, c: 4, oc: 6, kh: 3, kw: 3 };
  const bad = [
    [{ ...ok, n: 0 }, /n must/], [{ ...ok, c: 2.5 }, /c must be an integer/], [{ ...ok, groups: 3 }, /c \(4\) must be divisible by groups/],
    [{ ...ok, groups: 4 }, /oc \(6\) must be divisible/], [{ ...ok, kh: 7 }, /kernel height/], [{ ...ok, kw: 3, dilation: [1, 3] }, /kernel width/],
    [{ ...ok, stride: 0 }, /stride must be in/], [{ ...ok, padding: -1 }, /padding must be in/], [{ ...ok, padding: [1, 2, 3] }, /padding must be/],
    [{ ...ok, dilation: [1] }, /dilation must be/], [null, /params must be an object/],
  ];
  for (const [p, re] of bad) assert.throws(() => conv2dF32Shape(p), re, JSON.stringify(p));
  const s = conv2dF32Shape(ok), x = new Float32Array(s.xLength), w = new Float32Array(s.wLength);
  assert.throws(() => conv2dF32(q.rt, x.subarray(1), w, null, ok), /x must have length/);
  assert.throws(() => conv2dF32(q.rt, x, new Float64Array(s.wLength), null, ok), /w must be a Float32Array/);
  assert.throws(() => conv2dF32(q.rt, x, w, new Float32Array(5), ok), /bias must have length 6/);
  assert.throws(() => conv2dF32Backward(q.rt, x, w, new Float32Array(3), ok), /dy must have length/);
  const big = q.rt.memoryBytes();
  assert.throws(() => conv2dF32Forward(q.rt, s, 16, 16, 0, big - 8), /y .* runs past the end/);
  assert.throws(() => conv2dF32Forward(q.rt, s, 0, 16, 0, 16), /x must be a pointer/);
  assert.throws(() => conv2dF32Forward(q.rt, s, 18, 16, 0, 16), /x \(18\) must be 4-byte aligned/);
  assert.throws(() => conv2dF32BackwardData(q.rt, s, 16, 16, 16, { beta: NaN }), /beta must be a finite number/);
  assert.throws(() => conv2dF32BackwardFilter(q.rt, s, 16, 16, 16, -4), /db must be a pointer/);
});

test.run();
