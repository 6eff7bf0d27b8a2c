import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';

// [n, h, w, c, kernel, stride, padding]
const cases = [
  [1, 5, 5, 3, 2, 2, 0], [2, 7, 9, 16, 3, 2, 1], [1, 8, 8, 24, 3, 1, 'same'], [1, 9, 7, 33, [2, 3], [1, 2], [1, 0, 1, 2]],
  [1, 6, 6, 8, 3, 3, 'valid'], [3, 4, 5, 1, 2, 1, 1], [1, 11, 13, 17, [3, 1], [2, 1], [2, 0, 2, 0]], [1, 3, 3, 64, 3, 1, 2],
  [2, 10, 10, 40, 5, 2, 'same'], [1, 1, 1, 9, 1, 1, 0], [1, 7, 7, 15, 7, 1, 0],
];

test('maxPool2dS8 equals its reference (activation clamps, every build)', async () => {
  const r = rng(21);
  for (const q of await builds()) {
    for (const [n, h, w, c, kernel, stride, padding] of cases) {
      for (const [activation, zeroPoint] of [['none', 0], ['relu', -128], ['relu', 127], ['relu6', -20], ['none', 5]]) {
        const x = activation === 'none' && zeroPoint === 5 ? new Int8Array(n * h * w * c).fill(-128) : r.i8(n * h * w * c);
        const opts = { kernel, stride, padding, activation, zeroPoint, scale: 0.1 };
        const got = q.maxPool2dS8(x, [n, h, w, c], opts), want = q.maxPool2dS8Reference(x, [n, h, w, c], opts);
        assert.equal(got.shape, want.shape);
        assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify(opts)} ${[n, h, w, c]}`);
      }
    }
  }
});

test('avgPool2dS8 / globalAvgPoolS8 equal their references (zero points at both ends, requantisation)', async () => {
  const r = rng(22);
  const quant = [{}, { inZeroPoint: -128, outZeroPoint: 127 }, { inZeroPoint: 127, outZeroPoint: -128, inScale: 0.05, outScale: 0.02 },
    { inZeroPoint: 3, outZeroPoint: -3, inScale: 0.1, outScale: 0.3, activation: 'relu' }, { inZeroPoint: -7, outScale: 0.02, activation: 'relu6' }];
  for (const q of await builds()) {
    for (const [n, h, w, c, kernel, stride, padding] of cases) {
      for (const qo of quant) {
        const x = r.i8(n * h * w * c);
        const opts = { kernel, stride, padding, ...qo };
        const got = q.avgPool2dS8(x, [n, h, w, c], opts), want = q.avgPool2dS8Reference(x, [n, h, w, c], opts);
        assert.equal(got.shape, want.shape);
        assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify(opts)} ${[n, h, w, c]}`);
        const g = q.globalAvgPoolS8(x, [n, h, w, c], qo), gw = q.globalAvgPoolS8Reference(x, [n, h, w, c], qo);
        assert.equal(g.shape, [n, 1, 1, c]);
        assert.is(eq(g.data, gw.data), null, `${q.build} global ${JSON.stringify(qo)}`);
      }
    }
  }
});

test('pool references agree with plain JS (padding ignored, round half to even)', async () => {
  const [q] = await builds();
  const r = rng(5);
  const n = 2, h = 5, w = 6, c = 3, kh = 3, kw = 2, sh = 2, sw = 2, pt = 1, pl = 1, pb = 1, pr = 0, zpIn = 4;
  const x = r.i8(n * h * w * c);
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1, ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const wantMax = new Int8Array(n * oh * ow * c), wantAvg = new Int8Array(n * oh * ow * c);
  const rne = (v) => { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; };
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let ch = 0; ch < c; ch++) {
    let m = -128, s = 0, cnt = 0;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const v = x[((b * h + iy) * w + ix) * c + ch];
      m = Math.max(m, v); s += v - zpIn; cnt++;
    }
    const o = ((b * oh + oy) * ow + ox) * c + ch;
    wantMax[o] = m;
    wantAvg[o] = Math.min(127, Math.max(-128, rne(s / cnt) + zpIn));
  }
  const opts = { kernel: [kh, kw], stride: [sh, sw], padding: [pt, pl, pb, pr], inZeroPoint: zpIn };
  for (const qq of await builds()) {
    assert.is(eq(qq.maxPool2dS8(x, [n, h, w, c], opts).data, wantMax), null, qq.build);
    assert.is(eq(qq.avgPool2dS8(x, [n, h, w, c], opts).data, wantAvg), null, qq.build);
  }
  assert.is(eq(q.avgPool2dS8Reference(x, [n, h, w, c], opts).data, wantAvg), null);
  // ties: mean 0.5 → 0, 1.5 → 2, -0.5 → 0
  for (const [vals, want] of [[[0, 1], 0], [[1, 2], 2], [[0, -1], 0], [[-1, -2], -2]]) {
    assert.is(q.avgPool2dS8(Int8Array.from(vals), [1, 1, 2, 1], { kernel: [1, 2] }).data[0], want);
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const x = new Int8Array(2 * 4 * 4);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2]), /opts must be an object/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], {}), /kernel is required/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 3], { kernel: 2 }), /input must have length 48/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 0 }), /kernel must be in/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 5 }), /output size would be/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 2, padding: 2 }), /padding top must be < the kernel size/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 2, activation: 'relu6' }), /outScale/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 2, activation: 'gelu' }), /activation must be/);
  assert.throws(() => q.maxPool2dS8(x, [1, 4, 4, 2], { kernel: 2, zeroPoint: 200 }), /zeroPoint must be in/);
  assert.throws(() => q.avgPool2dS8(x, [1, 4, 4, 2], { kernel: 2, inScale: 0.1 }), /outScale must be a finite number/);
  assert.throws(() => q.avgPool2dS8(x, [1, 4, 4, 2], { kernel: 2, inScale: -1, outScale: 1 }), /inScale must be positive/);
  assert.throws(() => q.avgPool2dS8(x, [1, 4, 4, 2], { kernel: 2, inZeroPoint: -129 }), /inZeroPoint must be in/);
  assert.throws(() => q.avgPool2dS8(x, [1, 4, 4, 2], { kernel: 2, stride: [1, 0] }), /stride\[1\] must be in/);
  assert.throws(() => q.globalAvgPoolS8(x, [1, 4, 4]), /inShape must have 4 entries/);
  assert.throws(() => q.globalAvgPoolS8(new Int16Array(32), [1, 4, 4, 2]), /input must be a Int8Array/);
  assert.throws(() => q.globalAvgPoolS8(x, [1, 4, 4, 2], { outZeroPoint: 1.5 }), /outZeroPoint must be an integer/);
});

test.run();
