// int8 GEMM: C[M×N] = A[M×K] (int8 activations, zero point zpA) · B[K×N] (int8 weights, symmetric) + bias,
// written as exact int32 or requantised to int8 (see requant.ts).
//
// Packed weights ("4x8c2" microkernel layout). N is cut into blocks of NR = 8 columns (the last padded with
// zero columns) and K is padded to even. Each block holds
//   8 × int32  bias'[j] = bias[j] - zpA · Σk B[k][j]      (zero-point correction folded in ahead of time)
//   Kp/2 × 16 × int8   for each pair of rows k, k+1: [B[k][j0], B[k+1][j0], B[k][j1], B[k+1][j1], …, j7]
// so one `i32x4.dot_i16x8_s` of a broadcast activation pair (a[k], a[k+1]) against 4 of those column pairs
// adds two MACs into each of 4 column accumulators. Activations are packed per call into int16 pairs.
// The scalar build reads the same layout with plain loops, so a packed buffer is identical in every build —
// except the relaxed build on an engine whose relaxed int8 dot is u8 × s8 (vnniDot(): V8 on AVX-VNNI), where
// all three functions hand over to gemm_s8_vnni.ts (its own layout; one dot per 16 MACs, same results).

import { OUT_I32, requant1, requant4, requant4Unclamped, requantZero, unclampedOk } from './requant';
import { vnniDot, vnni_gemm, vnni_pack, vnni_packed_size } from './gemm_s8_vnni';

const NR: i32 = 8;
const MR: i32 = 4;

// @ts-ignore: decorator
@inline function kpad(k: i32): i32 { return (k + 1) & ~1; }

// Bytes of the blocks alone (the f32 accumulator bound follows them, in a 16-byte tail).
// @ts-ignore: decorator
@inline function blocksBytes(k: i32, n: i32): usize {
  return <usize>((n + NR - 1) / NR) * (<usize>NR * 4 + <usize>kpad(k) * <usize>NR);
}

export function gemm_s8_packed_size(k: i32, n: i32): usize {
  if (ASC_FEATURE_RELAXED_SIMD) if (vnniDot()) return vnni_packed_size(k, n);
  return blocksBytes(k, n) + 16;
}

// The 8 int32 heading a packed block of columns n0 … n0+7: bias'[j] = bias[j] − zpA·Σk B[k][j] (0 past n).
export function packBias(k: i32, n: i32, n0: i32, b: usize, ldb: i32, bias: usize, zpA: i32, p: usize): void {
  for (let j = 0; j < NR; j++) {
    let col = n0 + j;
    let v = 0;
    if (col < n) {
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += <i32>load<i8>(b + <usize>kk * ldb + col);
      v = (bias ? load<i32>(bias + (<usize>col << 2)) : 0) - zpA * s;
    }
    store<i32>(p + (<usize>j << 2), v);
  }
}

// Packs B (K×N int8, row stride ldb) and bias (int32[N], or 0 for none) for activations with zero point zpA.
export function gemm_s8_pack(k: i32, n: i32, b: usize, ldb: i32, bias: usize, zpA: i32, out: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) if (vnniDot()) { vnni_pack(k, n, b, ldb, bias, zpA, out); return; }
  let kp = kpad(k);
  let p = out;
  for (let n0 = 0; n0 < n; n0 += NR) {
    packBias(k, n, n0, b, ldb, bias, zpA, p);
    p += NR * 4;
    for (let kk = 0; kk < kp; kk += 2) {
      for (let j = 0; j < NR; j++) {
        let col = n0 + j;
        let b0: i8 = 0, b1: i8 = 0;
        if (col < n) {
          b0 = load<i8>(b + <usize>kk * ldb + col);
          if (kk + 1 < k) b1 = load<i8>(b + <usize>(kk + 1) * ldb + col);
        }
        store<i8>(p + (j << 1), b0);
        store<i8>(p + (j << 1) + 1, b1);
      }
      p += NR * 2;
    }
  }
  // the tail: max over columns of |bias'[j]| + 128·Σk |B[k][j]|, a bound on |acc| for int8 activations
  let bound: f64 = 0;
  let hb = out;
  for (let n0 = 0; n0 < n; n0 += NR) {
    for (let j = 0; j < NR && n0 + j < n; j++) {
      let s: f64 = 0;
      for (let kk = 0; kk < k; kk++) s += <f64>abs<i32>(<i32>load<i8>(b + <usize>kk * ldb + n0 + j));
      bound = max(bound, abs<f64>(<f64>load<i32>(hb + (<usize>j << 2))) + 128 * s);
    }
    hb += <usize>NR * 4 + <usize>kp * NR;
  }
  store<f64>(out + blocksBytes(k, n), bound);
}

// Whether int8 tiles over these packed weights (SIMD layout, K × N) and scales (N) may use
// storeTile4x8Unclamped: the packed tail's accumulator bound times the largest scale (requant.ts unclampedOk).
export function tilesUnclamped(packed: usize, k: i32, n: i32, scale: usize): bool {
  let m: f32 = 0;
  let j = 0;
  if (ASC_FEATURE_SIMD) { // a 6×6 layer's whole conv is ~20 µs: keep this scan (N up to a few hundred) short
    let v = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) v = f32x4.max(v, v128.load(scale + (<usize>j << 2)));
    m = max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  }
  for (; j < n; j++) m = max(m, load<f32>(scale + (<usize>j << 2)));
  return unclampedOk(load<f64>(packed + blocksBytes(k, n)), m);
}

// A whole int8 4×8 tile (all rows and columns valid) at cp (row stride ldc bytes) with requant4Unclamped: the
// scales loaded once, two rows per narrowed vector, the [qmin, qmax] clamp on int8 lanes (vqlo / vqhi).
// @ts-ignore: decorator
@inline
export function storeTile4x8Unclamped(c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128,
                                      c31: v128, cp: usize, ldc: i32, sc: usize, vz: v128, vqlo: v128, vqhi: v128): void {
  let s0 = v128.load(sc), s1 = v128.load(sc, 16);
  let q01 = i8x16.narrow_i16x8_s(
    i16x8.narrow_i32x4_s(requant4Unclamped(c00, s0, vz), requant4Unclamped(c01, s1, vz)),
    i16x8.narrow_i32x4_s(requant4Unclamped(c10, s0, vz), requant4Unclamped(c11, s1, vz)));
  let q23 = i8x16.narrow_i16x8_s(
    i16x8.narrow_i32x4_s(requant4Unclamped(c20, s0, vz), requant4Unclamped(c21, s1, vz)),
    i16x8.narrow_i32x4_s(requant4Unclamped(c30, s0, vz), requant4Unclamped(c31, s1, vz)));
  q01 = i8x16.min_s(i8x16.max_s(q01, vqlo), vqhi);
  q23 = i8x16.min_s(i8x16.max_s(q23, vqlo), vqhi);
  let rs = <usize>ldc;
  v128.store64_lane(cp, q01, 0);
  v128.store64_lane(cp + rs, q01, 1);
  v128.store64_lane(cp + 2 * rs, q23, 0);
  v128.store64_lane(cp + 3 * rs, q23, 1);
}

// Reference path (plain loops over the unpacked operands): what every fast path is tested against.
// mode OUT_I32: c is int32 (ldc in elements); OUT_S8: c is int8 requantised with scale[N], zp, [qmin, qmax].
export function gemm_s8_ref(m: i32, k: i32, n: i32, a: usize, lda: i32, zpA: i32, b: usize, ldb: i32, bias: usize,
                            c: usize, ldc: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias ? load<i32>(bias + (<usize>j << 2)) : 0;
      for (let kk = 0; kk < k; kk++) {
        acc += (<i32>load<i8>(a + <usize>i * lda + kk) - zpA) * <i32>load<i8>(b + <usize>kk * ldb + j);
      }
      if (mode == OUT_I32) store<i32>(c + ((<usize>i * ldc + j) << 2), acc);
      else store<i8>(c + <usize>i * ldc + j, requant1(acc, load<f32>(scale + (<usize>j << 2)), zp, lo, hi));
    }
  }
}

// Packs MR rows of A (int8) into int32 words holding the int16 pair (a[k], a[k+1]), interleaved by row:
// word (p, r) at (p·MR + r)·4, so the microkernel reads all MR rows of one k-pair at fixed offsets.
// Rows past `rows` repeat the last valid row (computed, then dropped): the microkernel never branches on M.
// kv: how far the SIMD loop may read each row (k, or ceil8(k) when the caller guarantees that many readable
// bytes per row: the words past k then hold other bytes, which meet only B's zero padding or are never read).
function packA(rows: i32, k: i32, a: usize, lda: i32, out: usize, mr: i32, kv: i32): void {
  if (ASC_FEATURE_SIMD) {
    // 8 k at a time: load8x8_s gives the int16 pairs (a[k], a[k+1]) as four i32 lanes already; for MR rows a
    // 4×4 transpose of those lanes puts each pair's MR rows side by side (same words as the loop below).
    if (mr == 1) {
      let kk = 0;
      for (; kk + 8 <= kv; kk += 8) v128.store(out + (<usize>kk << 1), v128.load8x8_s(a + kk));
      if (kk < k) packTail(a, kk, k, out + (<usize>kk << 1), 4);
      return;
    }
    if (mr == 4) {
      let p0 = a, p1 = a + <usize>min(1, rows - 1) * lda, p2 = a + <usize>min(2, rows - 1) * lda, p3 = a + <usize>min(3, rows - 1) * lda;
      let dst = out;
      let kk = 0;
      for (; kk + 8 <= kv; kk += 8) {
        let v0 = v128.load8x8_s(p0 + kk), v1 = v128.load8x8_s(p1 + kk);
        let v2 = v128.load8x8_s(p2 + kk), v3 = v128.load8x8_s(p3 + kk);
        let t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
        let t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
        v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
        v128.store(dst, i64x2.shuffle(t0, t1, 1, 3), 16);
        v128.store(dst, i64x2.shuffle(t2, t3, 0, 2), 32);
        v128.store(dst, i64x2.shuffle(t2, t3, 1, 3), 48);
        dst += 64;
      }
      if (kk < k) {
        packTail(p0, kk, k, dst, 16); packTail(p1, kk, k, dst + 4, 16);
        packTail(p2, kk, k, dst + 8, 16); packTail(p3, kk, k, dst + 12, 16);
      }
      return;
    }
  }
  for (let r = 0; r < mr; r++) packTail(a + <usize>min(r, rows - 1) * lda, 0, k, out + (<usize>r << 2), <usize>mr << 2);
}

// Pairs (src[kk], src[kk+1]) … up to k (a last odd k paired with 0), one int32 word every `step` bytes.
// @ts-ignore: decorator
@inline
function packTail(src: usize, kk: i32, k: i32, dst: usize, step: usize): void {
  for (; kk + 1 < k; kk += 2) {
    store<i32>(dst, (<i32>load<i8>(src + kk) & 0xffff) | (<i32>load<i8>(src + kk + 1) << 16));
    dst += step;
  }
  if (kk < k) store<i32>(dst, <i32>load<i8>(src + kk) & 0xffff);
}

// Stores one row of 8 accumulators (two i32x4) for columns n0.. (cols of them valid).
// @ts-ignore: decorator
@inline
export function storeRow(v0: v128, v1: v128, c: usize, cols: i32, mode: i32, scale: usize,
                  vz: v128, vlo: v128, vhi: v128): void {
  if (mode == OUT_I32) {
    if (cols == 8) { v128.store(c, v0); v128.store(c, v1, 16); return; }
    let tmp = memory.data(32, 16);
    v128.store(tmp, v0); v128.store(tmp, v1, 16);
    for (let j = 0; j < cols; j++) store<i32>(c + (<usize>j << 2), load<i32>(tmp + (<usize>j << 2)));
  } else {
    let r0 = requant4(v0, v128.load(scale), vz, vlo, vhi);
    let r1 = cols > 4 ? requant4(v1, v128.load(scale, 16), vz, vlo, vhi) : r0;
    let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
    if (cols == 8) { v128.store64_lane(c, q, 0); return; }
    let tmp = memory.data(16, 16);
    v128.store(tmp, q);
    for (let j = 0; j < cols; j++) store<i8>(c + j, load<i8>(tmp + j));
  }
}

// Stores a 4×8 tile of accumulators (row r: cr0 columns n0 … n0+3, cr1 n0+4 … n0+7) into C at row m0, column
// n0: its first `rows` rows and the columns below n (shared with bench/relaxed-dot's experimental kernel).
// @ts-ignore: decorator
@inline
export function storeTile4x8(c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
                             c: usize, ldc: i32, m0: i32, n0: i32, rows: i32, n: i32, mode: i32, scale: usize,
                             vz: v128, vlo: v128, vhi: v128): void {
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let rs = <usize>ldc * esz;
  let cols = min(NR, n - n0);
  let sc = scale + (<usize>n0 << 2);
  let cp = c + (<usize>m0 * ldc + n0) * esz;
  if (mode != OUT_I32 && rows == 4 && cols == 8) {
    // whole int8 tile: the scales loaded once, two rows narrowed into one vector
    let s0 = v128.load(sc), s1 = v128.load(sc, 16);
    let q01 = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(requant4(c00, s0, vz, vlo, vhi), requant4(c01, s1, vz, vlo, vhi)),
      i16x8.narrow_i32x4_s(requant4(c10, s0, vz, vlo, vhi), requant4(c11, s1, vz, vlo, vhi)));
    let q23 = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(requant4(c20, s0, vz, vlo, vhi), requant4(c21, s1, vz, vlo, vhi)),
      i16x8.narrow_i32x4_s(requant4(c30, s0, vz, vlo, vhi), requant4(c31, s1, vz, vlo, vhi)));
    v128.store64_lane(cp, q01, 0);
    v128.store64_lane(cp + rs, q01, 1);
    v128.store64_lane(cp + 2 * rs, q23, 0);
    v128.store64_lane(cp + 3 * rs, q23, 1);
    return;
  }
  storeRow(c00, c01, cp, cols, mode, sc, vz, vlo, vhi);
  if (rows > 1) storeRow(c10, c11, cp + rs, cols, mode, sc, vz, vlo, vhi);
  if (rows > 2) storeRow(c20, c21, cp + 2 * rs, cols, mode, sc, vz, vlo, vhi);
  if (rows > 3) storeRow(c30, c31, cp + 3 * rs, cols, mode, sc, vz, vlo, vhi);
}

// Fast path over packed B. scale must hold N (padded reads stay inside NR-rounded blocks: callers size scale
// to a multiple of 8 floats; see src/kernels/gemm.ts).
export function gemm_s8(m: i32, k: i32, n: i32, a: usize, lda: i32, packed: usize,
                        c: usize, ldc: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  gemm_s8_rows(m, k, n, a, lda, packed, c, ldc, mode, scale, zp, qmin, qmax, false);
}

// gemm_s8 for a caller whose A rows are readable up to ceil8(k) bytes (wideRows; conv2d_s8's im2col buffer
// has the slack): the SIMD A packing then needs no scalar tail for a K that is not a multiple of 8.
export function gemm_s8_rows(m: i32, k: i32, n: i32, a: usize, lda: i32, packed: usize, c: usize, ldc: i32, mode: i32,
                             scale: usize, zp: i32, qmin: i32, qmax: i32, wideRows: bool): void {
  if (ASC_FEATURE_RELAXED_SIMD) if (vnniDot()) { vnni_gemm(m, k, n, a, lda, packed, c, ldc, mode, scale, zp, qmin, qmax); return; }
  let kp2 = kpad(k) >> 1;
  let kv = wideRows ? (k + 7) & ~7 : k;
  let blockBytes = <usize>NR * 4 + <usize>kp2 * NR * 2;
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let apack = heap.alloc(<usize>MR * ((kv + 1) >> 1) * 4);
  if (ASC_FEATURE_SIMD) {
    let vz = requantZero(zp), vlo = f32x4.splat(<f32>(qmin - zp)), vhi = f32x4.splat(<f32>(qmax - zp));
    // whole 4×8 int8 tiles skip the f32 clamp when no accumulator can leave requant4Unclamped's range
    let fast = mode != OUT_I32 && tilesUnclamped(packed, k, n, scale);
    let vqlo = i8x16.splat(<i8>qmin), vqhi = i8x16.splat(<i8>qmax);
    let m0 = 0;
    for (; m0 + 1 < m; m0 += MR) {
      let rows = min(MR, m - m0);
      packA(rows, k, a + <usize>m0 * lda, lda, apack, MR, kv);
      for (let n0 = 0; n0 < n; n0 += NR) {
        let w = packed + <usize>(n0 / NR) * blockBytes;
        let c00 = v128.load(w), c01 = v128.load(w, 16);
        let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
        w += 32;
        let ap = apack;
        for (let p = 0; p < kp2; p++) {
          let b0 = v128.load8x8_s(w), b1 = v128.load8x8_s(w, 8);
          let x0 = v128.load32_splat(ap);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, b0));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, b1));
          let x1 = v128.load32_splat(ap, 4);
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, b0));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, b1));
          let x2 = v128.load32_splat(ap, 8);
          c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, b0));
          c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, b1));
          let x3 = v128.load32_splat(ap, 12);
          c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, b0));
          c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, b1));
          w += 16; ap += 16;
        }
        if (fast && rows == 4 && n0 + NR <= n) {
          storeTile4x8Unclamped(c00, c01, c10, c11, c20, c21, c30, c31, c + <usize>m0 * ldc + n0, ldc,
                                scale + (<usize>n0 << 2), vz, vqlo, vqhi);
        } else storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, m0, n0, rows, n, mode, scale, vz, vlo, vhi);
      }
    }
    if (m0 < m) {
      // One row left (M = 1, or M ≡ 1 mod 4): a 1×16 tile over two blocks at once, so each broadcast
      // activation pair feeds four dot products.
      packA(1, k, a + <usize>m0 * lda, lda, apack, 1, kv);
      let cp0 = c + <usize>m0 * ldc * esz;
      let n0 = 0;
      for (; n0 + NR < n; n0 += 2 * NR) {
        let w = packed + <usize>(n0 / NR) * blockBytes;
        let u = w + blockBytes;
        let c0 = v128.load(w), c1 = v128.load(w, 16), c2 = v128.load(u), c3 = v128.load(u, 16);
        w += 32; u += 32;
        let ap = apack;
        for (let p = 0; p < kp2; p++) {
          let x = v128.load32_splat(ap);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, v128.load8x8_s(w)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, v128.load8x8_s(w, 8)));
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, v128.load8x8_s(u)));
          c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, v128.load8x8_s(u, 8)));
          w += 16; u += 16; ap += 4;
        }
        let sc = scale + (<usize>n0 << 2);
        storeRow(c0, c1, cp0 + <usize>n0 * esz, 8, mode, sc, vz, vlo, vhi);
        storeRow(c2, c3, cp0 + <usize>(n0 + NR) * esz, min(NR, n - n0 - NR), mode, sc + 32, vz, vlo, vhi);
      }
      if (n0 < n) {
        let w = packed + <usize>(n0 / NR) * blockBytes;
        let c0 = v128.load(w), c1 = v128.load(w, 16);
        w += 32;
        let ap = apack;
        for (let p = 0; p < kp2; p++) {
          let x = v128.load32_splat(ap);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, v128.load8x8_s(w)));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, v128.load8x8_s(w, 8)));
          w += 16; ap += 4;
        }
        storeRow(c0, c1, cp0 + <usize>n0 * esz, n - n0, mode, scale + (<usize>n0 << 2), vz, vlo, vhi);
      }
    }
  } else {
    // Scalar build: same packed layout, one row × 8 columns at a time in locals.
    let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
    for (let i = 0; i < m; i++) {
      packA(1, k, a + <usize>i * lda, lda, apack, 1, k);
      for (let n0 = 0; n0 < n; n0 += NR) {
        let w = packed + <usize>(n0 / NR) * blockBytes;
        let s0 = load<i32>(w), s1 = load<i32>(w, 4), s2 = load<i32>(w, 8), s3 = load<i32>(w, 12);
        let s4 = load<i32>(w, 16), s5 = load<i32>(w, 20), s6 = load<i32>(w, 24), s7 = load<i32>(w, 28);
        w += 32;
        for (let p = 0; p < kp2; p++) {
          let pair = load<i32>(apack + (<usize>p << 2));
          let x0 = <i32><i16>pair, x1 = pair >> 16;
          s0 += x0 * <i32>load<i8>(w, 0) + x1 * <i32>load<i8>(w, 1);
          s1 += x0 * <i32>load<i8>(w, 2) + x1 * <i32>load<i8>(w, 3);
          s2 += x0 * <i32>load<i8>(w, 4) + x1 * <i32>load<i8>(w, 5);
          s3 += x0 * <i32>load<i8>(w, 6) + x1 * <i32>load<i8>(w, 7);
          s4 += x0 * <i32>load<i8>(w, 8) + x1 * <i32>load<i8>(w, 9);
          s5 += x0 * <i32>load<i8>(w, 10) + x1 * <i32>load<i8>(w, 11);
          s6 += x0 * <i32>load<i8>(w, 12) + x1 * <i32>load<i8>(w, 13);
          s7 += x0 * <i32>load<i8>(w, 14) + x1 * <i32>load<i8>(w, 15);
          w += 16;
        }
        let tmp = memory.data(32, 16);
        store<i32>(tmp, s0); store<i32>(tmp, s1, 4); store<i32>(tmp, s2, 8); store<i32>(tmp, s3, 12);
        store<i32>(tmp, s4, 16); store<i32>(tmp, s5, 20); store<i32>(tmp, s6, 24); store<i32>(tmp, s7, 28);
        let cols = min(NR, n - n0);
        for (let j = 0; j < cols; j++) {
          let acc = load<i32>(tmp + (<usize>j << 2));
          let col = n0 + j;
          if (mode == OUT_I32) store<i32>(c + ((<usize>i * ldc + col) << 2), acc);
          else store<i8>(c + <usize>i * ldc + col, requant1(acc, load<f32>(scale + (<usize>col << 2)), zp, lo, hi));
        }
      }
    }
  }
  heap.free(apack);
}
