// Plain-JS twin of assembly/selftest.ts: the same xorshift32 inputs, a straightforward reference of each kernel
// (no WASM involved) and the same FNV-1a hash. test/wasm-interp.test.js compares it with the self-tests run by
// wabt's interpreter and by Node. Keep the generation order and the fixed parameters in step with
// assembly/selftest.ts (its header documents them).
import { requantize } from '../dist/index.js';

export const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

export const genActivations = (next, count) => Int8Array.from({ length: count }, () => (next() << 24) >> 24);
export const genWeights = (next, count) => Int8Array.from({ length: count }, () => (next() % 255) - 127);
export const genBias = (next, count) => Int32Array.from({ length: count }, () => (next() % 100001) - 50000);

export function fnv1a(bytes, h = FNV_BASIS) {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME) >>> 0;
  return h >>> 0;
}

/** Folds a list of u32 hashes (4 little-endian bytes each), as the *_suite exports do. */
export function fold(hashes) {
  return fnv1a(new Uint8Array(Uint32Array.from(hashes).buffer));
}

const bytesOf = (ta) => new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength);

/** Fixed output parameters of each mode (mode & 15); null for an unknown mode. */
export function modeParams(mode) {
  switch (mode & 15) {
    case 0: return { requant: false, zpA: 0, zp: 0, qmin: 0, qmax: 0 };
    case 1: return { requant: true, zpA: -128, zp: -5, qmin: -128, qmax: 127 };
    case 2: return { requant: true, zpA: 127, zp: 3, qmin: 3, qmax: 103 };
    default: return null;
  }
}

/** Per-channel scale of modes 1, 2 (float32 values). */
export const channelScale = (c) => (c % 4 === 0 ? 0.5 : Math.fround((1 + (c % 13)) / 4096));

/** Expected hash of selftest_gemm_s8(m, k, n, seed, mode), computed in plain JS. */
export function gemmS8Hash(m, k, n, seed, mode) {
  const p = modeParams(mode);
  if (!p || (mode & ~31) !== 0) return 0;
  const next = xorshift(seed);
  const a = genActivations(next, m * k), b = genWeights(next, k * n);
  const bias = p.requant ? genBias(next, n) : new Int32Array(n);
  const out = p.requant ? new Int8Array(m * n) : new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias[j];
      for (let kk = 0; kk < k; kk++) acc += (a[i * k + kk] - p.zpA) * b[kk * n + j];
      out[i * n + j] = p.requant ? requantize(acc, channelScale(j), p.zp, p.qmin, p.qmax) : acc;
    }
  }
  return fnv1a(bytesOf(out));
}

// Same list as GEMM_SUITE in assembly/selftest.ts: case i uses seed 1000 + i, modes 0, 1, 2.
export const GEMM_SUITE = [[1, 1, 1], [1, 16, 8], [2, 3, 5], [4, 8, 8], [5, 17, 9], [13, 33, 31], [1, 100, 21], [9, 64, 24]];

export function gemmS8SuiteHash() {
  const hs = [];
  GEMM_SUITE.forEach(([m, k, n], i) => { for (let mode = 0; mode < 3; mode++) hs.push(gemmS8Hash(m, k, n, 1000 + i, mode)); });
  return fold(hs);
}

/** Output size with the same padding before and after (as convOut in assembly/selftest.ts). */
export const convOut = (size, k, stride, pad, dil) => {
  const span = size + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
};

/**
 * Expected hash of selftest_conv2d_s8(n, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw, seed, mode):
 * a direct NHWC / OHWI convolution in plain JS (padding contributes 0, i.e. holds the input zero point).
 */
export function conv2dS8Hash(n, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw, seed, mode) {
  const p = modeParams(mode);
  if (!p || !p.requant || (mode & ~31) !== 0 || c % groups || oc % groups) return 0;
  const oh = convOut(h, kh, sh, pt, dh), ow = convOut(w, kw, sw, pl, dw);
  if (oh < 1 || ow < 1) return 0;
  const cg = c / groups, ocg = oc / groups;
  const next = xorshift(seed);
  const x = genActivations(next, n * h * w * c), wt = genWeights(next, oc * kh * kw * cg), bias = genBias(next, oc);
  const y = new Int8Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let o = 0; o < oc; o++) {
    const g = Math.floor(o / ocg);
    let acc = bias[o];
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * sh - pt + ky * dh;
      if (iy < 0 || iy >= h) continue;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ox * sw - pl + kx * dw;
        if (ix < 0 || ix >= w) continue;
        for (let ci = 0; ci < cg; ci++) {
          acc += (x[((b * h + iy) * w + ix) * c + g * cg + ci] - p.zpA) * wt[((o * kh + ky) * kw + kx) * cg + ci];
        }
      }
    }
    y[((b * oh + oy) * ow + ox) * oc + o] = requantize(acc, channelScale(o), p.zp, p.qmin, p.qmax);
  }
  return fnv1a(bytesOf(y));
}

// Same list as CONV_SUITE in assembly/selftest.ts: case i uses seed 2000 + i, modes 1, 2.
export const CONV_SUITE = [
  [1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1],
  [2, 7, 6, 5, 9, 3, 3, 1, 2, 2, 1, 1, 1, 1],
  [1, 9, 9, 4, 6, 3, 3, 1, 1, 1, 2, 2, 2, 2],
  [1, 4, 5, 16, 17, 1, 1, 1, 1, 1, 0, 0, 1, 1],
  [1, 6, 6, 8, 12, 3, 3, 4, 1, 1, 1, 1, 1, 1],
  [1, 7, 7, 11, 11, 3, 3, 11, 1, 1, 1, 1, 1, 1],
  [1, 8, 6, 6, 12, 5, 3, 6, 2, 1, 2, 1, 1, 1],
  [1, 3, 11, 2, 3, 1, 5, 1, 1, 2, 0, 2, 1, 1],
];

export function conv2dS8SuiteHash() {
  const hs = [];
  CONV_SUITE.forEach((cs, i) => { for (let mode = 1; mode < 3; mode++) hs.push(conv2dS8Hash(...cs, 2000 + i, mode)); });
  return fold(hs);
}
