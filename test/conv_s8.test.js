import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builds, rng, eq } from './helpers.js';
import { requantize, quantizeInput } from '../dist/index.js';

// [n, h, w, c, oc, kh, kw, groups, stride, padding, dilation]
const cases = [
  [1, 5, 7, 3, 4, 3, 3, 1, 1, 1, 1],
  [2, 9, 8, 16, 24, 3, 3, 1, 1, [1, 0, 2, 1], 1],
  [1, 11, 13, 7, 5, 5, 5, 1, 2, 2, 1],
  [1, 10, 9, 8, 16, 1, 7, 1, 1, [0, 3, 0, 3], 1],
  [1, 12, 11, 6, 9, 3, 3, 1, [3, 2], 'same', 1],
  [1, 13, 12, 5, 6, 3, 3, 1, 1, 2, 2],
  [2, 7, 7, 9, 11, 1, 1, 1, 1, 0, 1],          // 1×1 → direct GEMM
  [1, 6, 5, 33, 17, 1, 1, 1, 1, 0, 1],
  [3, 3, 3, 64, 65, 1, 1, 1, 1, 0, 1],
  [1, 8, 8, 12, 10, 1, 1, 2, 1, 0, 1],          // grouped 1×1
  [1, 7, 9, 12, 14, 3, 3, 2, 1, 1, 1],          // grouped 3×3
  [2, 6, 6, 18, 9, 3, 3, 3, 2, [0, 1, 1, 0], 1],
  [1, 8, 8, 6, 10, 1, 1, 1, 2, 0, 1],           // 1×1 strided (im2col)
  [1, 9, 10, 16, 16, 3, 3, 16, 1, 1, 1],        // depthwise
  [2, 11, 7, 13, 13, 3, 3, 13, 2, 'same', 1],
  [1, 9, 9, 8, 16, 3, 3, 8, 1, 1, 1],           // depthwise, multiplier 2
  [1, 10, 8, 5, 15, 5, 5, 5, [1, 2], [2, 1, 0, 3], 2], // depthwise, multiplier 3, dilated
  [1, 7, 6, 24, 24, 1, 7, 24, 1, [0, 3, 0, 3], 1],
  [1, 5, 5, 1, 7, 3, 3, 1, 1, 1, 1],            // c = 1 (depthwise layout, multiplier 7)
  [1, 14, 14, 64, 64, 3, 3, 1, 1, 1, 1],        // several im2col chunks
  [2, 13, 13, 64, 20, 3, 3, 1, 1, 1, 1],        // chunks straddling the batch boundary
  [2, 9, 11, 72, 72, 3, 3, 72, 1, 'same', 1],   // depthwise: 16-channel steps + 8-channel tail
  [1, 8, 7, 40, 80, 2, 2, 40, 1, [1, 1, 0, 0], 1], // depthwise multiplier 2, even tap count
  [1, 4, 4, 20, 3, 4, 4, 1, 1, 0, 1],           // kernel = image
  [1, 9, 9, 10, 4, 3, 3, 1, 3, [2, 2, 0, 0], 2],
  // the mobilenet16 student's layers (interior and border pixels of the multiplier-1 depthwise path, stride 2,
  // a grey-image stem, narrow pointwise GEMMs)
  [1, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1],
  [1, 28, 28, 16, 16, 3, 3, 16, 1, 1, 1],
  [1, 28, 28, 16, 32, 1, 1, 1, 1, 0, 1],
  [1, 28, 28, 32, 32, 3, 3, 32, 2, 1, 1],
  [2, 14, 14, 64, 64, 3, 3, 64, 1, 1, 1],
  [1, 14, 14, 64, 64, 3, 3, 64, 2, 1, 1],
  [1, 7, 7, 64, 128, 1, 1, 1, 1, 0, 1],
  [1, 6, 5, 48, 48, 5, 5, 48, 1, 2, 1],          // depthwise with odd tap count, no interior column
  // MobileNetV2's depthwise 3×3 (the unrolled interior path): Keras' stride-2 padding (bottom / right only),
  // 16-channel steps plus an 8-channel tail, dilation 2
  [1, 12, 12, 96, 96, 3, 3, 96, 2, [0, 0, 1, 1], 1],
  [2, 7, 9, 40, 40, 3, 3, 40, 1, 1, 1],
  [1, 11, 10, 32, 32, 3, 3, 32, 1, 2, 2],
  // im2col's 16-byte kernel-row copies (KW·C ≤ 16) and gemm's A packing read up to ceil8(K): an RGB stem with
  // Keras' stride-2 padding over a batch of 2, an image smaller than one 16-byte load, K = 45 and K = 8
  [2, 9, 10, 3, 32, 3, 3, 1, 2, [0, 0, 1, 1], 1],
  [1, 3, 3, 3, 8, 3, 3, 1, 1, 1, 1],
  [3, 4, 5, 5, 7, 3, 3, 1, 1, 1, 1],
  [2, 5, 4, 2, 9, 2, 2, 1, 1, [1, 1, 0, 0], 1],
];

function wShapeOf([, , , c, oc, kh, kw, groups]) { return [oc, kh, kw, c / groups]; }

test('conv2dS8 equals conv2dS8Reference on every path (every build)', async () => {
  const r = rng(17);
  const zps = [[-128, 127], [127, -128], [0, 0], [3, -7]];
  for (const q of await builds()) {
    for (const cs of cases) {
      const [n, h, w, c, oc, kh, kw, groups, stride, padding, dilation] = cs;
      const wShape = wShapeOf(cs);
      for (let t = 0; t < zps.length; t++) {
        const [inZeroPoint, outZeroPoint] = zps[t];
        const input = t === 0 ? new Int8Array(n * h * w * c).fill(-128) : r.i8(n * h * w * c);
        const weights = t === 0 ? new Int8Array(wShape.reduce((a, b) => a * b)).fill(127) : r.i8(wShape.reduce((a, b) => a * b), -127, 127);
        const bias = Int32Array.from({ length: oc }, () => r.int(-20000, 20000));
        const activation = ['none', 'relu', 'relu6', 'none'][t];
        const scale = Float32Array.from({ length: oc }, (_, j) => (j % 4 === 1 ? 0.7 : r.float() * 0.004 + 1e-5));
        const opts = { stride, padding, dilation, groups, inZeroPoint, bias: t === 3 ? undefined : bias, scale, outZeroPoint, activation, outScale: 0.05 };
        const got = q.conv2dS8(input, [n, h, w, c], weights, wShape, opts);
        const want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
        assert.equal(got.shape, want.shape);
        assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify(cs)} zp ${inZeroPoint}/${outZeroPoint}`);
      }
    }
  }
});

test('requantisation without the f32 clamp (depthwise, 1×1 and 3×3 GEMM tiles) equals the reference at its bound and past it', async () => {
  // scales put |acc · scale| just below 2^21 (unclamped path, outputs saturating through int16) or above it
  // (the clamped requant4), with extreme inputs and weights and with random ones
  const r = rng(31);
  const shapes = [[1, 7, 9, 32, 32, 3, 3, 32, 1, 1], [1, 9, 8, 48, 48, 3, 3, 48, 2, [0, 0, 1, 1]],
    [1, 6, 7, 16, 24, 1, 1, 1, 1, 0], [1, 8, 8, 16, 16, 3, 3, 1, 1, 1]];
  for (const q of await builds()) {
    for (const cs of shapes) {
      const [n, h, w, c, oc, kh, kw, groups, stride, padding] = cs;
      const wShape = wShapeOf(cs);
      const k = kh * kw * (c / groups);
      for (const s of [0.9, 1.1, 3]) {
        for (const fill of [true, false]) {
          const input = fill ? new Int8Array(n * h * w * c).fill(-128) : r.i8(n * h * w * c);
          const weights = fill ? new Int8Array(oc * k).fill(127) : r.i8(oc * k, -127, 127);
          const bias = Int32Array.from({ length: oc }, () => r.int(-2000, 2000));
          // |acc| ≤ |bias| + 255·127·K on every path: s · 2^21 over that bound
          const scale = Float32Array.from({ length: oc }, (_, j) => (j % 3 ? s : s / 5) * 2097152 / (2000 + 255 * 127 * k));
          for (const [inZeroPoint, outZeroPoint, activation] of [[5, -3, 'none'], [-128, 120, 'relu'], [127, -128, 'relu6']]) {
            const opts = { stride, padding, groups, inZeroPoint, bias, scale, outZeroPoint, activation, outScale: 0.05 };
            const got = q.conv2dS8(input, [n, h, w, c], weights, wShape, opts);
            const want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
            assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify(cs)} scale ×${s} fill ${fill} zp ${inZeroPoint}/${outZeroPoint}`);
          }
        }
      }
    }
  }
});

test('random shapes: conv2dS8 equals the reference (every build)', async () => {
  const r = rng(99);
  const qs = await builds();
  for (let it = 0; it < 120; it++) {
    const groupsKind = r.int(0, 2);
    const cg = r.int(1, 9), gr = groupsKind === 0 ? 1 : groupsKind === 1 ? 2 : 0;
    const c = gr ? cg * gr : r.int(1, 20);
    const groups = gr || c;
    const oc = groups * r.int(1, gr ? 6 : 3);
    const kh = [1, 2, 3, 5][r.int(0, 3)], kw = [1, 3, 4, 7][r.int(0, 3)];
    const dilation = [r.int(1, 2), r.int(1, 2)];
    const stride = [r.int(1, 3), r.int(1, 3)];
    const padding = [r.int(0, 3), r.int(0, 3), r.int(0, 3), r.int(0, 3)];
    const h = (kh - 1) * dilation[0] + r.int(1, 8), w = (kw - 1) * dilation[1] + r.int(1, 8), n = r.int(1, 2);
    const wShape = [oc, kh, kw, c / groups];
    const input = r.i8(n * h * w * c), weights = r.i8(wShape.reduce((a, b) => a * b), -127, 127);
    const opts = {
      stride, padding, dilation, groups, inZeroPoint: r.int(-128, 127), outZeroPoint: r.int(-128, 127),
      bias: Int32Array.from({ length: oc }, () => r.int(-30000, 30000)), scale: r.float() * 0.01 + 1e-4,
    };
    for (const q of qs) {
      const got = q.conv2dS8(input, [n, h, w, c], weights, wShape, opts), want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
      assert.equal(got.shape, want.shape);
      assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify({ n, h, w, c, wShape, ...opts, bias: 0 })}`);
    }
  }
});

test('indirect GEMM path: random even-Cg convs and an image spanning several input bands equal the reference (every build)', async () => {
  const r = rng(31);
  const qs = await builds();
  const check = (n, h, w, c, wShape, opts) => {
    const input = r.i8(n * h * w * c), weights = r.i8(wShape.reduce((a, b) => a * b), -127, 127);
    for (const q of qs) {
      const got = q.conv2dS8(input, [n, h, w, c], weights, wShape, opts), want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
      assert.equal(got.shape, want.shape);
      assert.is(eq(got.data, want.data), null, `${q.build} ${JSON.stringify({ n, h, w, c, wShape, ...opts, bias: 0 })}`);
    }
  };
  for (let it = 0; it < 60; it++) {
    const groups = [1, 1, 2, 3][r.int(0, 3)], cg = [2, 4, 6, 8, 12, 16, 24][r.int(0, 6)], c = cg * groups;
    const oc = groups * r.int(1, 20);
    const kh = r.int(1, 4), kw = r.int(1, 4);
    const dilation = [r.int(1, 2), r.int(1, 2)], stride = [r.int(1, 3), r.int(1, 3)];
    const padding = [r.int(0, 3), r.int(0, 3), r.int(0, 3), r.int(0, 3)];
    const h = (kh - 1) * dilation[0] + r.int(1, 9), w = (kw - 1) * dilation[1] + r.int(1, 9), n = r.int(1, 2);
    check(n, h, w, c, [oc, kh, kw, cg], {
      stride, padding, dilation, groups, inZeroPoint: r.int(-128, 127), outZeroPoint: r.int(-128, 127),
      bias: Int32Array.from({ length: oc }, () => r.int(-30000, 30000)), scale: r.float() * 0.01 + 1e-4,
    });
  }
  // 70 rows of 42 padded 64-channel int16 pixels (5.4 KB each) exceed one 256 KB band: bands overlap by 2 rows
  check(1, 70, 40, 64, [8, 3, 3, 64], { padding: 1, inZeroPoint: -7, outZeroPoint: 3, scale: 0.0005 });
  check(1, 61, 40, 64, [8, 3, 3, 64], { padding: [0, 1, 2, 1], stride: [2, 1], inZeroPoint: 100, scale: 0.0005 });
});

test('reference agrees with a plain JS conv (padding, stride, dilation, groups)', async () => {
  const [q] = await builds();
  const r = rng(4);
  const n = 2, h = 7, w = 6, c = 6, oc = 4, kh = 3, kw = 2, groups = 2, cg = 3, ocg = 2;
  const [sh, sw, pt, pl, pb, pr, dh, dw] = [2, 1, 1, 2, 0, 1, 1, 2];
  const zpIn = 9, zpOut = -4;
  const x = r.i8(n * h * w * c), wt = r.i8(oc * kh * kw * cg, -127, 127);
  const bias = Int32Array.from({ length: oc }, () => r.int(-500, 500));
  const scale = Float32Array.from({ length: oc }, () => r.float() * 0.01 + 0.001);
  const oh = Math.floor((h + pt + pb - (kh - 1) * dh - 1) / sh) + 1, ow = Math.floor((w + pl + pr - (kw - 1) * dw - 1) / sw) + 1;
  const want = new Int8Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let o = 0; o < oc; o++) {
    const g = Math.floor(o / ocg);
    let acc = bias[o];
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < cg; ci++) {
      const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
      const xv = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((b * h + iy) * w + ix) * c + g * cg + ci] : zpIn;
      acc += (xv - zpIn) * wt[((o * kh + ky) * kw + kx) * cg + ci];
    }
    want[((b * oh + oy) * ow + ox) * oc + o] = requantize(acc, scale[o], zpOut, -128, 127);
  }
  const opts = { stride: [sh, sw], padding: [pt, pl, pb, pr], dilation: [dh, dw], groups, inZeroPoint: zpIn, bias, scale, outZeroPoint: zpOut };
  const ref = q.conv2dS8Reference(x, [n, h, w, c], wt, [oc, kh, kw, cg], opts);
  assert.equal(ref.shape, [n, oh, ow, oc]);
  assert.is(eq(ref.data, want), null);
  for (const qq of await builds()) assert.is(eq(qq.conv2dS8(x, [n, h, w, c], wt, [oc, kh, kw, cg], opts).data, want), null, qq.build);
});

// Depthwise channel tails: the 16- and 8-wide blocks read whole vectors past the last channel (into the next
// pixels, or a padded copy of the input's last bytes) and store partial blocks piecewise.
test('depthwise channel tails: odd channel counts, multipliers, strides, padding, tiny images, batches (every build)', async () => {
  const r = rng(29);
  const chans = [1, 3, 7, 9, 15, 17, 29, 31, 33, 86];
  const shapes = [[1, 1, 1], [1, 2, 3], [2, 5, 4], [1, 9, 7], [3, 3, 3]];
  for (const q of await builds()) {
    let i = 0;
    for (const c of chans) {
      for (const cm of [1, 1, 2, 3]) {
        const [n, h, w] = shapes[i % shapes.length];
        const stride = 1 + (i % 2), padding = [1, 'same', 0, [0, 0, 1, 1]][i % 4];
        const kh = i % 3 === 2 ? 2 : 3, kw = 3;
        i++;
        const extra = padding === 0 ? 0 : Array.isArray(padding) ? 1 : 2; // rows (= columns) of padding
        if (h + extra < kh || w + extra < kw) continue;
        const oc = c * cm, wShape = [oc, kh, kw, 1];
        const input = r.i8(n * h * w * c);
        const weights = r.i8(oc * kh * kw, -127, 127);
        const opts = { stride, padding, groups: c, inZeroPoint: r.int(-128, 127), outZeroPoint: r.int(-128, 127),
          bias: Int32Array.from({ length: oc }, () => r.int(-20000, 20000)),
          scale: Float32Array.from({ length: oc }, () => r.float() * 0.004 + 1e-5), activation: ['none', 'relu'][i % 2] };
        const got = q.conv2dS8(input, [n, h, w, c], weights, wShape, opts);
        const want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
        assert.is(eq(got.data, want.data), null, `${q.build} c ${c} cm ${cm} ${n}x${h}x${w} s ${stride} p ${JSON.stringify(padding)}`);
      }
    }
  }
});

test('depthwise reads nothing past its input: the input placed at the very end of WASM memory (every build)', async () => {
  const r = rng(31);
  for (const q of await builds()) {
    for (const [c, n, h, w, padding] of [[29, 1, 6, 5, 0], [9, 2, 4, 4, 1], [17, 1, 3, 3, 'same'], [3, 1, 3, 3, 0], [33, 1, 1, 1, 1]]) {
      const oc = c, wShape = [oc, 3, 3, 1];
      const weights = r.i8(oc * 9, -127, 127);
      const opts = { padding, groups: c, inZeroPoint: -5, outZeroPoint: 3, scale: 0.004 };
      const p = q.packConv2dS8(weights, wShape, opts);
      const input = r.i8(n * h * w * c);
      const want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
      const len = want.data.length;
      const op = q.rt.alloc(len);
      // a page grown from JS is outside the allocator's heap: the input's last byte is the memory's last byte, so an
      // over-read traps (unless the kernel's own allocations grow memory past it: then the check is only weaker)
      const end = q.rt.memory.grow(1) * 65536 + 65536;
      const ip = end - input.length;
      q.rt.i8(ip, input.length).set(input);
      p.run(ip, n, h, w, op);
      assert.is(eq(q.rt.i8(op, len), want.data), null, `${q.build} end of memory c ${c} ${n}x${h}x${w}`);
      q.rt.free(op);
      p.dispose();
    }
  }
});

test('packed handle: run at pointer level, reuse over input sizes, same padding, dispose', async () => {
  const r = rng(8);
  for (const q of await builds()) {
    const c = 8, oc = 12, wShape = [oc, 3, 3, c];
    const weights = r.i8(oc * 9 * c, -127, 127);
    const opts = { padding: 'same', stride: 2, inZeroPoint: -3, scale: 0.003, outZeroPoint: 2, activation: 'relu' };
    const p = q.packConv2dS8(weights, wShape, opts);
    for (const [n, h, w] of [[1, 9, 9], [2, 16, 5], [1, 1, 1]]) {
      const input = r.i8(n * h * w * c);
      const want = q.conv2dS8Reference(input, [n, h, w, c], weights, wShape, opts);
      assert.equal(p.outputShape(n, h, w), [n, Math.ceil(h / 2), Math.ceil(w / 2), oc]);
      assert.is(eq(p.apply(input, [n, h, w, c]).data, want.data), null);
      const len = want.data.length;
      const ip = q.rt.put(input), op = q.rt.alloc(len);
      p.run(ip, n, h, w, op);
      assert.is(eq(q.rt.i8(op, len), want.data), null, `${q.build} run ${n}x${h}x${w}`);
      q.rt.free(ip); q.rt.free(op);
    }
    p.dispose();
    assert.throws(() => p.run(16, 1, 9, 9, 16), /after dispose/);
  }
});

test('saturation and extremes: all -128 input with zero point 127, weights ±127', async () => {
  for (const q of await builds()) {
    const n = 1, h = 5, w = 5, c = 16, oc = 8;
    const input = new Int8Array(n * h * w * c).fill(-128), weights = new Int8Array(oc * 9 * c);
    for (let i = 0; i < weights.length; i++) weights[i] = i % 2 ? 127 : -127;
    for (const groups of [1, 2]) {
      const ws = [oc, 3, 3, c / groups];
      const opts = { padding: 1, groups, inZeroPoint: 127, scale: 1, outZeroPoint: 0 };
      const wts = weights.subarray(0, oc * 9 * c / groups);
      const got = q.conv2dS8(input, [n, h, w, c], wts, ws, opts), want = q.conv2dS8Reference(input, [n, h, w, c], wts, ws, opts);
      assert.is(eq(got.data, want.data), null);
      assert.ok(got.data.every((v) => v === -128 || v === 127 || v === 0));
    }
  }
});

test('bad arguments throw errors naming the argument', async () => {
  const [q] = await builds();
  const x = new Int8Array(1 * 4 * 4 * 2), wt = new Int8Array(3 * 3 * 3 * 2);
  const ok = { scale: 0.1 };
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2]), /opts must be an object/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 3], wt, [3, 3, 3, 2], ok), /inShape\[3\]|input must have length/);
  assert.throws(() => q.conv2dS8(new Int8Array(5), [1, 4, 4, 2], wt, [3, 3, 3, 2], ok), /input must have length 32/);
  assert.throws(() => q.conv2dS8(new Uint8Array(32), [1, 4, 4, 2], wt, [3, 3, 3, 2], ok), /input must be a Int8Array/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4], wt, [3, 3, 3, 2], ok), /inShape must have 4 entries/);
  assert.throws(() => q.conv2dS8(x, [1, 0, 4, 2], wt, [3, 3, 3, 2], ok), /inShape\[1\] \(h\) must be in/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], new Int8Array(7), [3, 3, 3, 2], ok), /weights must have length 54/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], Int8Array.from(wt, (_, i) => (i === 5 ? -128 : 0)), [3, 3, 3, 2], ok), /weights\[5\] is -128/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, groups: 2 }), /inShape\[3\]|groups/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 1], { ...ok, groups: 2 }), /weights must have length|groups \(2\) must divide/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], new Int8Array(27), [3, 3, 3, 1], { ...ok, groups: 2 }), /groups \(2\) must divide the output channels/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, stride: 0 }), /stride must be in/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, dilation: [1, 1.5] }), /dilation\[1\] must be an integer/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, padding: 'full' }), /padding must be/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, padding: [1, 1, 1] }), /padding must be/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, padding: -1 }), /padding must be in/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, dilation: 3 }), /output size would be 0×0/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, inZeroPoint: 128 }), /inZeroPoint must be in/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, bias: new Int32Array(2) }), /bias must have length 3/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, bias: new Float32Array(3) }), /bias must be a Int32Array/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { scale: new Float32Array(2) }), /scale must have length 3/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { scale: 0 }), /scale\[0\] must be a finite positive/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, outZeroPoint: -129 }), /outZeroPoint must be in/);
  assert.throws(() => q.conv2dS8(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, activation: 'relu6' }), /outScale/);
  assert.throws(() => q.conv2dS8Reference(x, [1, 4, 4, 2], wt, [3, 3, 3, 2], { ...ok, dilation: 3 }), /output size/);
  assert.throws(() => q.packConv2dS8(wt, [3, 3, 3, 2], { ...ok, stride: 'x' }), /stride must be/);
  const p = q.packConv2dS8(wt, [3, 3, 3, 2], ok);
  assert.throws(() => p.run(16, 1, 2, 2, 16), /output size would be/);
  assert.throws(() => p.run(16, 0, 4, 4, 16), /n must be in/);
  p.dispose();
});

test('SIMD requantisation (requant_i32) equals requantize() on ties, clamps, ±0 and overflowing products (every build)', async () => {
  const r = rng(5);
  const accs = [], scales = [];
  // ties: acc · 2^-s lands on x.5 often; large accumulators; tiny scales (products underflow to ±0 or denormals);
  // huge ones (products overflow to ±inf and must clamp)
  for (const s of [0.5, 0.25, 0.125, 1.5, 1 / 3, 0.75, 1, 2 ** -20, 1e-38, 1e-45, 1e30, 3.4e38]) {
    for (let i = 0; i < 256; i++) {
      scales.push(s);
      accs.push(i < 128 ? r.int(0, 1200) - 600 : i < 192 ? (r.u32() | 0) : [0, 1, -1, 2147483647, -2147483647, -2147483648][i % 6]);
    }
  }
  const n = accs.length; // a multiple of 16: every value goes through the 16-wide SIMD step
  for (const q of await builds()) {
    for (const [zp, qmin, qmax] of [[0, -128, 127], [-128, -128, 127], [127, -128, 127], [5, 5, 127], [-3, -3, 40], [100, 100, 127]]) {
      const got = q.rt.scoped((sc) => {
        const a = sc.put(Int32Array.from(accs)), sp = sc.put(Float32Array.from(scales)), o = sc.alloc(n);
        q.rt.exports.requant_i32(a, sp, n, zp, qmin, qmax, o);
        return q.rt.i8(o, n).slice();
      });
      for (let i = 0; i < n; i++) {
        const want = requantize(accs[i], Math.fround(scales[i]), zp, qmin, qmax);
        if (got[i] !== want) assert.unreachable(`${q.build} zp ${zp} [${qmin}, ${qmax}]: acc ${accs[i]} · ${scales[i]} → ${got[i]}, want ${want}`);
      }
    }
  }
});

test('input quantiser quantize_f32 (Int8Runner.predict) equals quantizeInput: ties, clamps, NaN, ±inf, ±0 (every build)', async () => {
  const r = rng(8);
  const vals = [NaN, Infinity, -Infinity, 0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e-45, -1e-45, 3.4e38, -3.4e38];
  for (let i = 0; i < 600; i++) vals.push(i < 300 ? (r.int(0, 2000) - 1000) / 8 : (r.float() * 2 - 1) * 40);
  const x = Float32Array.from(vals);
  for (const q of await builds()) {
    for (const [scale, zeroPoint] of [[1, 0], [0.25, -128], [0.5, 127], [0.1, 7], [1 / 3, -20], [1e-30, 0], [3e38, 5]]) {
      const qp = { scale: Math.fround(scale), zeroPoint };
      for (const len of [x.length, 17, 5]) { // SIMD blocks of 16 and the scalar tail
        const xs = x.subarray(0, len);
        const got = q.rt.scoped((sc) => {
          const xp = sc.put(xs), o = sc.alloc(len);
          q.rt.exports.quantize_f32(xp, len, qp.scale, zeroPoint, o);
          return q.rt.i8(o, len).slice();
        });
        assert.is(eq(got, quantizeInput(xs, qp)), null, `${q.build} scale ${scale} zp ${zeroPoint} n ${len}`);
      }
    }
  }
});

test('memory does not grow over repeated calls', async () => {
  for (const q of await builds()) {
    const r = rng(2);
    const x = r.i8(1 * 10 * 10 * 8), wt = r.i8(8 * 9 * 8, -127, 127), dw = r.i8(8 * 9, -127, 127);
    const run = () => {
      q.conv2dS8(x, [1, 10, 10, 8], wt, [8, 3, 3, 8], { padding: 1, scale: 0.01 });
      q.conv2dS8(x, [1, 10, 10, 8], dw, [8, 3, 3, 1], { padding: 1, groups: 8, scale: 0.01 });
    };
    for (let i = 0; i < 200; i++) run();
    const before = q.rt.memoryBytes();
    for (let i = 0; i < 3000; i++) run();
    assert.is(q.rt.memoryBytes(), before, q.build);
  }
});

test.run();
