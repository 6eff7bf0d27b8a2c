// Self-tests that need no host: each fills its inputs inside WASM from a seed, runs a kernel and returns a
// 32-bit FNV-1a hash of the output bytes. They let an engine without JavaScript (wabt's interpreter, see
// test/wasm-interp.test.js) run the kernels and be compared with Node and with a plain-JS reference.
//
// Generator: xorshift32, s ^= s << 13; s ^= s >>> 17; s ^= s << 5 (seed 0 is replaced by 1); every value
// below takes the next output x (u32) in the order listed:
//   int8 activation  = low byte of x, sign-extended        (covers -128 … 127)
//   int8 weight      = x % 255 - 127                        (TFLite symmetric range [-127, 127])
//   int32 bias       = x % 100001 - 50000
// Hash: FNV-1a 32 (offset basis 0x811c9dc5, prime 0x01000193) over the output bytes in memory order
// (int32 outputs little-endian). The *_suite functions (no arguments: wasm-interp's --run-all-exports runs
// exactly these) fold the hashes of a fixed case list into one FNV-1a over their 4 little-endian bytes each.
//
// mode (low 4 bits) picks fixed output parameters; bit 4 (mode | 16) runs the *_ref plain-loop path instead:
//   0: int32 output, activation zero point 0, no bias (GEMM only: conv always requantises)
//   1: int8 output, activation zero point -128, bias, out zero point -5, clamp [-128, 127]
//   2: int8 output, activation zero point 127, bias, out zero point 3, clamp [3, 103] (ReLU6-like)
// Per-channel scale (modes 1, 2): channel c gets 0.5 if c % 4 == 0 (ties and saturation), else (1 + c % 13) / 4096.
// Scales are padded with 1.0 to a multiple of 8 channels, as the fast kernels read them 8 at a time.

import { gemm_s8_packed_size, gemm_s8_pack, gemm_s8_ref, gemm_s8 } from './gemm_s8';
import { OUT_I32, OUT_S8 } from './requant';
import { CONV_DESC_S8_BYTES, setConvDescS8 } from './conv_desc';
import { conv2d_s8_packed_size, conv2d_s8_pack, conv2d_s8_ref, conv2d_s8 } from './conv_s8';

const FNV_BASIS: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;

let rngState: u32 = 1;

function seedRng(seed: u32): void {
  rngState = seed == 0 ? 1 : seed;
}

function next(): u32 {
  let s = rngState;
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  rngState = s;
  return s;
}

function fillActivations(p: usize, count: i32): void {
  for (let i = 0; i < count; i++) store<i8>(p + i, <i8>next());
}

function fillWeights(p: usize, count: i32): void {
  for (let i = 0; i < count; i++) store<i8>(p + i, <i8>(<i32>(next() % 255) - 127));
}

function fillBias(p: usize, count: i32): void {
  for (let i = 0; i < count; i++) store<i32>(p + (<usize>i << 2), <i32>(next() % 100001) - 50000);
}

function fnv1a(h: u32, p: usize, bytes: usize): u32 {
  for (let i: usize = 0; i < bytes; i++) h = (h ^ <u32>load<u8>(p + i)) * FNV_PRIME;
  return h;
}

function fold(h: u32, v: u32): u32 {
  h = (h ^ (v & 0xff)) * FNV_PRIME;
  h = (h ^ ((v >> 8) & 0xff)) * FNV_PRIME;
  h = (h ^ ((v >> 16) & 0xff)) * FNV_PRIME;
  return (h ^ (v >> 24)) * FNV_PRIME;
}

function ceil8(n: i32): i32 { return (n + 7) & ~7; }

function fillScales(p: usize, channels: i32): void {
  let padded = ceil8(channels);
  for (let c = 0; c < padded; c++) {
    let s: f32 = 1.0;
    if (c < channels) {
      let steps: i32 = 1 + c % 13;
      s = c % 4 == 0 ? <f32>0.5 : <f32>steps / <f32>4096.0;
    }
    store<f32>(p + (<usize>c << 2), s);
  }
}

/**
 * int8 GEMM self-test: C[m×n] = A[m×k] · B[k×n] (+ bias, requantised for mode 1, 2). Generation order:
 * A (m·k activations), B (k·n weights, row-major K×N), then for modes 1, 2 the bias (n values).
 * Returns the FNV-1a hash of C (int32 LE for mode 0, int8 otherwise), or 0 for bad arguments.
 */
export function selftest_gemm_s8(m: i32, k: i32, n: i32, seed: u32, mode: i32): u32 {
  if (m < 1 || k < 1 || n < 1 || m > 4096 || k > 4096 || n > 4096) return 0;
  let zpA = 0, zp = 0, qmin = 0, qmax = 0;
  let mm = mode & 15;
  if (mm == 1) { zpA = -128; zp = -5; qmin = -128; qmax = 127; }
  else if (mm == 2) { zpA = 127; zp = 3; qmin = 3; qmax = 103; }
  else if (mm != 0 || (mode & ~31) != 0) return 0;
  let q = mm != 0;
  let ref = (mode & 16) != 0;
  seedRng(seed);
  let a = heap.alloc(<usize>m * k);
  let b = heap.alloc(<usize>k * n);
  fillActivations(a, m * k);
  fillWeights(b, k * n);
  let bias: usize = 0, scale: usize = 0;
  if (q) {
    bias = heap.alloc(<usize>n << 2);
    fillBias(bias, n);
    scale = heap.alloc(<usize>ceil8(n) << 2);
    fillScales(scale, n);
  }
  let cbytes = <usize>m * n * (q ? 1 : 4);
  let c = heap.alloc(cbytes);
  if (ref) {
    gemm_s8_ref(m, k, n, a, k, zpA, b, n, bias, c, n, q ? OUT_S8 : OUT_I32, scale, zp, qmin, qmax);
  } else {
    let packed = heap.alloc(gemm_s8_packed_size(k, n));
    gemm_s8_pack(k, n, b, n, bias, zpA, packed);
    gemm_s8(m, k, n, a, k, packed, c, n, q ? OUT_S8 : OUT_I32, scale, zp, qmin, qmax);
    heap.free(packed);
  }
  let h = fnv1a(FNV_BASIS, c, cbytes);
  heap.free(c);
  if (q) { heap.free(scale); heap.free(bias); }
  heap.free(b);
  heap.free(a);
  return h;
}

// Fixed GEMM cases of selftest_gemm_s8_suite: (m, k, n); case i uses seed 1000 + i and each mode 0, 1, 2.
const GEMM_SUITE: StaticArray<i32> = [
  1, 1, 1,   1, 16, 8,   2, 3, 5,   4, 8, 8,   5, 17, 9,   13, 33, 31,   1, 100, 21,   9, 64, 24,
];

/** No arguments (for wasm-interp --run-all-exports): folds selftest_gemm_s8 over GEMM_SUITE × modes 0, 1, 2. */
export function selftest_gemm_s8_suite(): u32 {
  let h = FNV_BASIS;
  let cases = GEMM_SUITE.length / 3;
  for (let i = 0; i < cases; i++) {
    for (let mode = 0; mode < 3; mode++) {
      h = fold(h, selftest_gemm_s8(GEMM_SUITE[3 * i], GEMM_SUITE[3 * i + 1], GEMM_SUITE[3 * i + 2], <u32>(1000 + i), mode));
    }
  }
  return h;
}

// Output size of a conv with the same padding before and after: (in + 2·pad − dil·(k − 1) − 1) / stride + 1.
function convOut(size: i32, k: i32, stride: i32, pad: i32, dil: i32): i32 {
  let span = size + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

/**
 * int8 conv2d self-test (assembly/conv_s8.ts): NHWC x[n][h][w][c], OHWI weights [oc][kh][kw][c / groups],
 * strides (sh, sw), padding pt = bottom, pl = right (symmetric), dilations (dh, dw); output size from convOut.
 * Generation order: x (n·h·w·c activations), weights (oc·kh·kw·(c/groups)), bias (oc). mode 1 or 2 (| 16 for
 * conv2d_s8_ref); activation zero point = zpA of the mode. Returns the FNV-1a hash of y (int8), 0 for bad arguments.
 */
export function selftest_conv2d_s8(n: i32, h: i32, w: i32, c: i32, oc: i32, kh: i32, kw: i32, groups: i32,
                                   sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, seed: u32, mode: i32): u32 {
  if (n < 1 || h < 1 || w < 1 || c < 1 || oc < 1 || kh < 1 || kw < 1 || groups < 1) return 0;
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || pt < 0 || pl < 0 || pt >= 64 || pl >= 64) return 0;
  if (n > 64 || h > 1024 || w > 1024 || c > 4096 || oc > 4096 || kh > 64 || kw > 64) return 0;
  if (c % groups != 0 || oc % groups != 0) return 0;
  let zpIn = 0, zp = 0, qmin = 0, qmax = 0;
  let mm = mode & 15;
  if (mm == 1) { zpIn = -128; zp = -5; qmin = -128; qmax = 127; }
  else if (mm == 2) { zpIn = 127; zp = 3; qmin = 3; qmax = 103; }
  else return 0;
  if ((mode & ~31) != 0) return 0;
  let oh = convOut(h, kh, sh, pt, dh), ow = convOut(w, kw, sw, pl, dw);
  if (oh < 1 || ow < 1) return 0;
  let cg = c / groups;
  seedRng(seed);
  let xbytes = <usize>n * h * w * c, wbytes = <usize>oc * kh * kw * cg, ybytes = <usize>n * oh * ow * oc;
  let x = heap.alloc(xbytes);
  let wt = heap.alloc(wbytes);
  let bias = heap.alloc(<usize>oc << 2);
  let scale = heap.alloc(<usize>ceil8(oc) << 2);
  let y = heap.alloc(ybytes);
  fillActivations(x, <i32>xbytes);
  fillWeights(wt, <i32>wbytes);
  fillBias(bias, oc);
  fillScales(scale, oc);
  let desc = heap.alloc(CONV_DESC_S8_BYTES);
  setConvDescS8(desc, n, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw, oh, ow, zpIn, zp, qmin, qmax);
  if ((mode & 16) != 0) {
    conv2d_s8_ref(desc, x, wt, bias, scale, y);
  } else {
    let packed = heap.alloc(conv2d_s8_packed_size(oc, kh, kw, cg, groups));
    conv2d_s8_pack(oc, kh, kw, cg, groups, wt, bias, zpIn, scale, packed);
    conv2d_s8(desc, packed, x, y);
    heap.free(packed);
  }
  heap.free(desc);
  let hsh = fnv1a(FNV_BASIS, y, ybytes);
  heap.free(y);
  heap.free(scale);
  heap.free(bias);
  heap.free(wt);
  heap.free(x);
  return hsh;
}

// Fixed conv cases of selftest_conv2d_s8_suite: (n, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw);
// case i uses seed 2000 + i and modes 1, 2. Covers 3×3 padded, strided, dilated, 1×1 (direct GEMM path),
// grouped, depthwise (channel multiplier 1 and 2) and odd channel counts.
const CONV_SUITE: StaticArray<i32> = [
  1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1,
  2, 7, 6, 5, 9, 3, 3, 1, 2, 2, 1, 1, 1, 1,
  1, 9, 9, 4, 6, 3, 3, 1, 1, 1, 2, 2, 2, 2,
  1, 4, 5, 16, 17, 1, 1, 1, 1, 1, 0, 0, 1, 1,
  1, 6, 6, 8, 12, 3, 3, 4, 1, 1, 1, 1, 1, 1,
  1, 7, 7, 11, 11, 3, 3, 11, 1, 1, 1, 1, 1, 1,
  1, 8, 6, 6, 12, 5, 3, 6, 2, 1, 2, 1, 1, 1,
  1, 3, 11, 2, 3, 1, 5, 1, 1, 2, 0, 2, 1, 1,
];

/** No arguments (for wasm-interp --run-all-exports): folds selftest_conv2d_s8 over CONV_SUITE × modes 1, 2. */
export function selftest_conv2d_s8_suite(): u32 {
  let h = FNV_BASIS;
  let cases = CONV_SUITE.length / 14;
  for (let i = 0; i < cases; i++) {
    let o = 14 * i;
    for (let mode = 1; mode < 3; mode++) {
      h = fold(h, selftest_conv2d_s8(CONV_SUITE[o], CONV_SUITE[o + 1], CONV_SUITE[o + 2], CONV_SUITE[o + 3],
        CONV_SUITE[o + 4], CONV_SUITE[o + 5], CONV_SUITE[o + 6], CONV_SUITE[o + 7], CONV_SUITE[o + 8],
        CONV_SUITE[o + 9], CONV_SUITE[o + 10], CONV_SUITE[o + 11], CONV_SUITE[o + 12], CONV_SUITE[o + 13],
        <u32>(2000 + i), mode));
    }
  }
  return h;
}
