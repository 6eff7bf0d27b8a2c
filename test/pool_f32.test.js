import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import {
  pool2dF32Shape, maxPool2dF32, maxPool2dF32Grad, avgPool2dF32, avgPool2dF32Grad, globalAvgPoolF32, globalAvgPoolF32Grad,
  maxPool2dF32Forward, maxPool2dF32Backward, avgPool2dF32Backward, globalAvgPoolF32Backward,
} from '../dist/index.js';

// [n, h, w, c, kh, kw, stride, padding]
const shapes = [
  [1, 4, 4, 1, 2, 2, undefined, 0],
  [2, 7, 6, 3, 2, 2, 2, 0],                 // odd sizes: floor drops the last row
  [2, 26, 26, 32, 2, 2, 2, 0],              // the MNIST CNN's first pool
  [1, 9, 9, 5, 3, 3, 2, 1],
  [3, 8, 7, 6, 3, 2, [2, 1], [1, 0, 2, 1]],
  [2, 5, 5, 9, 3, 3, 1, 1],                 // overlapping windows, padding
  [1, 6, 9, 4, 2, 3, [1, 3], [1, 2]],
  [2, 3, 3, 7, 3, 3, 1, 2],                 // windows mostly padding
  [1, 1, 8, 8, 1, 3, [1, 2], [0, 1]],
];
const params = ([n, h, w, c, kh, kw, stride, padding]) => ({ n, h, w, c, kh, kw, stride, padding });
const label = (s) => JSON.stringify(s);

// float64 JS reference: max (first max wins), avg (count_include_pad = false) and their backward passes
function jsPool(x, dy, p) {
  const s = pool2dF32Shape(p);
  const { n, h, w, c, kh, kw, oh, ow } = s;
  const ymax = new Float64Array(s.yLength), idx = new Int32Array(s.yLength), yavg = new Float64Array(s.yLength);
  const dxmax = new Float64Array(s.xLength), dxavg = new Float64Array(s.xLength);
  for (let ni = 0; ni < n; ni++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let ch = 0; ch < c; ch++) {
    const o = ((ni * oh + oy) * ow + ox) * c + ch;
    let best = -Infinity, bi = -1, sum = 0; const cells = [];
    for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      const iy = oy * s.strideH - s.padT + ki, ix = ox * s.strideW - s.padL + kj;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const i = ((ni * h + iy) * w + ix) * c + ch;
      if (x[i] > best) { best = x[i]; bi = i; }
      sum += x[i]; cells.push(i);
    }
    ymax[o] = best; idx[o] = bi; yavg[o] = sum / cells.length;
    dxmax[bi] += dy[o];
    for (const i of cells) dxavg[i] += dy[o] / cells.length;
  }
  return { ymax, idx, yavg, dxmax, dxavg };
}

function relErr(got, want) {
  let e = 0, m = 1e-30;
  for (let i = 0; i < want.length; i++) { e = Math.max(e, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return got.length === want.length ? e / m : Infinity;
}
const close = (got, want, tol, msg) => { const e = relErr(got, want); assert.ok(e <= tol, `${msg}: relative error ${e}`); };

test('max / avg pool f32: fast = reference = float64 JS (values, argmax, gradients), every build', async () => {
  const r = rng(4);
  for (const q of await builds()) {
    for (const sh of shapes) {
      const p = params(sh), s = pool2dF32Shape(p);
      const x = r.f32(s.xLength), dy = r.f32(s.yLength);
      const js = jsPool(x, dy, p);
      for (const reference of [false, true]) {
        const tag = `${q.build} ${reference ? 'ref' : 'fast'} ${label(sh)}`;
        const m = maxPool2dF32(q.rt, x, p, { reference });
        assert.is(eq(m.y, Float32Array.from(js.ymax)), null, `max y ${tag}`);
        assert.is(eq(m.idx, js.idx), null, `argmax ${tag}`);
        close(maxPool2dF32Grad(q.rt, dy, m.idx, p, { reference }), js.dxmax, 1e-6, `max dx ${tag}`);
        close(avgPool2dF32(q.rt, x, p, { reference }), js.yavg, 1e-6, `avg y ${tag}`);
        close(avgPool2dF32Grad(q.rt, dy, p, { reference }), js.dxavg, 1e-6, `avg dx ${tag}`);
      }
    }
  }
});

test('max pool: ties go to the first element of the window; constant input', async () => {
  for (const q of await builds()) {
    const p = { n: 1, h: 4, w: 4, c: 5, kh: 2, kw: 2 };
    const x = new Float32Array(80).fill(3);
    const { y, idx } = maxPool2dF32(q.rt, x, p);
    assert.ok(y.every((v) => v === 3));
    // window (oy, ox) starts at (2oy, 2ox): first element index ((2oy)·4 + 2ox)·5 + ch
    for (let oy = 0; oy < 2; oy++) for (let ox = 0; ox < 2; ox++) for (let ch = 0; ch < 5; ch++) {
      assert.is(idx[(oy * 2 + ox) * 5 + ch], ((2 * oy) * 4 + 2 * ox) * 5 + ch);
    }
  }
});

test('pool finite differences: L = Σ r·pool(x) (f32 kernels, float64 loss)', async () => {
  const r = rng(8);
  for (const q of await builds()) {
    for (const sh of [shapes[3], shapes[4], shapes[5]]) {
      const p = params(sh), s = pool2dF32Shape(p);
      // well-separated values: a small step never changes the argmax
      const x = Float32Array.from({ length: s.xLength }, (_, i) => ((i * 7919) % s.xLength) * 0.01 + r.float() * 0.001);
      const rr = r.f32(s.yLength);
      const lossMax = () => { const y = maxPool2dF32(q.rt, x, p).y; let l = 0; for (let i = 0; i < y.length; i++) l += y[i] * rr[i]; return l; };
      const lossAvg = () => { const y = avgPool2dF32(q.rt, x, p); let l = 0; for (let i = 0; i < y.length; i++) l += y[i] * rr[i]; return l; };
      const gmax = maxPool2dF32Grad(q.rt, rr, maxPool2dF32(q.rt, x, p).idx, p), gavg = avgPool2dF32Grad(q.rt, rr, p);
      const eps = 1e-3;
      for (let t = 0; t < 15; t++) {
        const i = r.int(0, s.xLength - 1), o = x[i];
        x[i] = o + eps; const a1 = lossMax(), b1 = lossAvg();
        x[i] = o - eps; const a2 = lossMax(), b2 = lossAvg();
        x[i] = o;
        assert.ok(Math.abs((a1 - a2) / (2 * eps) - gmax[i]) < 2e-2, `max dx[${i}] ${gmax[i]} vs ${(a1 - a2) / (2 * eps)} ${q.build}`);
        assert.ok(Math.abs((b1 - b2) / (2 * eps) - gavg[i]) < 2e-2, `avg dx[${i}] ${gavg[i]} vs ${(b1 - b2) / (2 * eps)} ${q.build}`);
      }
    }
  }
});

test('global average pool: fast = reference = float64 JS, backward, beta', async () => {
  const r = rng(12);
  for (const q of await builds()) {
    for (const [n, h, w, c] of [[1, 1, 1, 1], [2, 5, 7, 3], [3, 13, 13, 64], [1, 9, 11, 17], [4, 1, 5, 8]]) {
      const shape = { n, h, w, c };
      const x = r.f32(n * h * w * c), dy = r.f32(n * c);
      const want = new Float64Array(n * c), dxw = new Float64Array(n * h * w * c);
      for (let ni = 0; ni < n; ni++) for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) {
        want[ni * c + ch] += x[(ni * h * w + p) * c + ch] / (h * w);
        dxw[(ni * h * w + p) * c + ch] = dy[ni * c + ch] / (h * w);
      }
      for (const reference of [false, true]) {
        const tag = `${q.build} ${reference ? 'ref' : 'fast'} ${n}x${h}x${w}x${c}`;
        close(globalAvgPoolF32(q.rt, x, shape, { reference }), want, 1e-6, `y ${tag}`);
        close(globalAvgPoolF32Grad(q.rt, dy, shape, { reference }), dxw, 1e-6, `dx ${tag}`);
        const old = r.f32(n * h * w * c);
        const got = q.rt.scoped((s) => {
          const gp = s.put(dy), dxp = s.put(old);
          globalAvgPoolF32Backward(q.rt, shape, gp, dxp, { beta: 1, reference });
          return q.rt.f32(dxp, old.length).slice();
        });
        close(got, dxw.map((v, i) => v + old[i]), 1e-6, `dx beta 1 ${tag}`);
      }
    }
  }
});

test('pool backward with beta: 1 accumulates, 0 never reads dx (NaN-filled)', async () => {
  const r = rng(13);
  for (const q of await builds()) {
    const rt = q.rt;
    for (const sh of [shapes[3], shapes[5]]) {
      const p = params(sh), s = pool2dF32Shape(p);
      const x = r.f32(s.xLength), dy = r.f32(s.yLength), old = r.f32(s.xLength);
      const { idx } = maxPool2dF32(rt, x, p);
      const gm = maxPool2dF32Grad(rt, dy, idx, p), ga = avgPool2dF32Grad(rt, dy, p);
      for (const reference of [false, true]) {
        for (const beta of [0, 1, 2]) {
          rt.scoped((sc) => {
            const init = () => sc.put(beta === 0 ? new Float32Array(s.xLength).fill(NaN) : old);
            const gp = sc.put(dy), ip = sc.put(idx), d1 = init(), d2 = init();
            maxPool2dF32Backward(rt, s, gp, ip, d1, { beta, reference });
            avgPool2dF32Backward(rt, s, gp, d2, { beta, reference });
            const exp = (g) => g.map((v, i) => (beta === 0 ? 0 : beta * old[i]) + v);
            close(rt.f32(d1, s.xLength), exp(gm), 1e-6, `max beta ${beta} ${q.build}`);
            close(rt.f32(d2, s.xLength), exp(ga), 1e-6, `avg beta ${beta} ${q.build}`);
          });
        }
      }
    }
  }
});

test('pool: output shapes, idx optional, bad arguments throw', async () => {
  const [q] = await builds();
  const s = pool2dF32Shape({ n: 1, h: 7, w: 6, c: 2, kh: 3, kw: 2, stride: [2, 3], padding: [1, 1] });
  assert.is(s.oh, Math.floor((7 + 2 - 3) / 2) + 1);
  assert.is(s.ow, Math.floor((6 + 2 - 2) / 3) + 1);
  assert.is(pool2dF32Shape({ n: 1, h: 7, w: 7, c: 1, kh: 2, kw: 2 }).oh, 3);   // stride defaults to the window
  const ok = { n: 1, h: 4, w: 4, c: 2, kh: 2, kw: 2 };
  const bad = [
    [{ ...ok, kh: 0 }, /kh must/], [{ ...ok, padding: 2 }, /padding top\/bottom/], [{ ...ok, padding: [0, 2] }, /padding left\/right/],
    [{ ...ok, kh: 5 }, /kh \(5\) exceeds/], [{ ...ok, stride: [1, 0] }, /stride\[1\] must/], [{ ...ok, c: -1 }, /c must/], [7, /must be an object/],
  ];
  for (const [p, re] of bad) assert.throws(() => pool2dF32Shape(p), re, JSON.stringify(p));
  assert.throws(() => maxPool2dF32(q.rt, new Float32Array(31), ok), /x must have length 32/);
  assert.throws(() => maxPool2dF32Grad(q.rt, new Float32Array(8), new Int32Array(8).fill(32), ok), /idx\[0\] = 32 is outside x/);
  assert.throws(() => maxPool2dF32Grad(q.rt, new Float32Array(8), new Int32Array(7), ok), /idx must have length 8/);
  assert.throws(() => avgPool2dF32Grad(q.rt, new Float32Array(9), ok), /dy must have length 8/);
  assert.throws(() => globalAvgPoolF32(q.rt, new Float32Array(32), { n: 1, h: 4, w: 4, c: 0 }), /c must/);
  assert.throws(() => maxPool2dF32Forward(q.rt, ok, 16, 32, 3), /idx \(3\) must be 4-byte aligned/);
  assert.throws(() => maxPool2dF32Backward(q.rt, ok, 16, 0, 64), /idx must be a pointer/);
  // idx = 0: no indices written
  q.rt.scoped((s2) => {
    const xp = s2.put(new Float32Array(32).fill(1)), yp = s2.alloc(32);
    maxPool2dF32Forward(q.rt, ok, xp, yp, 0);
    assert.ok(q.rt.f32(yp, 8).every((v) => v === 1));
  });
});

test.run();
