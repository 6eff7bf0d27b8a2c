// Sparse matmul for pruned weights: y[M×N] = x[M×K] · W[K×N] + bias, W stored without (most of) its zeros.
// The host (src/kernels/sparse.ts) builds every format from a dense matrix and a mask; the kernels only read.
// Index arrays are u16 when K ≤ 65535 (idx16 = 1) else u32.
//
// Formats
//  * "csr" (f32): per output column j, its kept rows k (cstart[j] .. cstart[j+1]) and values. Rows of x are
//    transposed per call into a K×4 tile, so one nonzero feeds 4 rows of y with one vector load (SIMD over
//    M); single rows run four columns as four independent scalar chains.
//  * "pairs" (int8 unstructured and N:M, blocks of 16 / 8 rows of x): per output column its kept rows two at a time, the
//    weight pair as two bytes; 16 (then 8) rows of x are transposed per call to int16 lanes, so one
//    i32x4.dot_i16x8_s of interleaved x pairs against the broadcast weight pair adds 2 MACs into 4 rows.
//  * "steps" (int8 unstructured rows outside 8-row blocks, int8 N:M, f32 N:M with groups ≤ 4): columns in quads (4 output lanes). K is cut into windows
//    (16 int8 / 4 f32 values, the window start clamped to K − 16 / K − 4); a step is one window start plus
//    16 swizzle indices into that window and the matching weights, so `i8x16.swizzle` gathers the x values
//    of 16 nonzeros at once. int8: each column owns 4 slots per step (bytes 2j, 2j+1, 8+2j, 9+2j), summed by
//    two i32x4.dot_i16x8_s of the sign-extended halves (→ i32 lane j). f32: one slot
//    per column per step (lane j's 4 index bytes select one float). Padding slots have weight 0.
//    N:M masks fill steps completely (2:4 → 8 of 16 k per column per window = 2 full steps), unstructured
//    ones leave padding, so N:M runs faster at the same density.
//  * "rows" (blocks bk×bn, bn = g ∈ {4, 8}): per group of g columns, the list of rows k holding a kept block.
//    f32: y[g cols] += splat(x[k]) · w[k][g cols]. int8: rows in pairs (ka, kb), weights interleaved as in
//    gemm_s8 (w[ka][j], w[kb][j], …) so one i32x4.dot_i16x8_s of the broadcast pair (x[ka], x[kb]) adds two
//    MACs into 4 columns; with even bk every pair is (k, k+1), read by one 2-byte splat load.
// int8: x has zero point zpA, weights in [-127, 127]; the int32 bias stored with the format already holds
// bias[j] − zpA·Σ(kept w[k][j]). Output mode OUT_I32 = exact int32, OUT_S8 = int8 via requant1/requant4
// (scale padded to a multiple of 8 floats).
// f32 sums run over each column's kept k in increasing order from the bias, as the reference does, so the
// results equal the reference bit for bit (padding adds exact zeros; inputs must be finite).

import { OUT_I32, requant1, requant4, requantZero } from './requant';

// ---------------------------------------------------------------- references (dense masked matrix)

// y = x·(W∘mask) + bias in f32; mask: u8[K×N], 0 = pruned (a 0 pointer keeps everything).
export function sparse_gemm_f32_ref(m: i32, k: i32, n: i32, x: usize, ldx: i32, w: usize, mask: usize,
                               bias: usize, y: usize, ldy: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      for (let kk = 0; kk < k; kk++) {
        let e = <usize>kk * n + j;
        if (mask && load<u8>(mask + e) == 0) continue;
        acc += load<f32>(x + ((<usize>i * ldx + kk) << 2)) * load<f32>(w + (e << 2));
      }
      store<f32>(y + ((<usize>i * ldy + j) << 2), acc);
    }
  }
}

// int8: acc = bias + Σ kept (x − zpA)·w; mode OUT_I32 int32, OUT_S8 requantised int8.
export function sparse_gemm_s8_ref(m: i32, k: i32, n: i32, x: usize, ldx: i32, zpA: i32, w: usize, mask: usize,
                              bias: usize, y: usize, ldy: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias ? load<i32>(bias + (<usize>j << 2)) : 0;
      for (let kk = 0; kk < k; kk++) {
        let e = <usize>kk * n + j;
        if (mask && load<u8>(mask + e) == 0) continue;
        acc += (<i32>load<i8>(x + <usize>i * ldx + kk) - zpA) * <i32>load<i8>(w + e);
      }
      if (mode == OUT_I32) store<i32>(y + ((<usize>i * ldy + j) << 2), acc);
      else store<i8>(y + <usize>i * ldy + j, requant1(acc, load<f32>(scale + (<usize>j << 2)), zp, lo, hi));
    }
  }
}

// ---------------------------------------------------------------- shared output helpers

// Stores `cols` (≤ 4) lanes of an f32x4 / i32x4 (4-byte lanes) at p.
// @ts-ignore: decorator
@inline function store4(p: usize, v: v128, cols: i32): void {
  if (cols >= 4) { v128.store(p, v); return; }
  v128.store32_lane(p, v, 0);
  if (cols > 1) v128.store32_lane(p, v, 1, 4);
  if (cols > 2) v128.store32_lane(p, v, 2, 8);
}

// Writes one quad of int32 accumulators (columns n0 .. n0+cols-1 of row pointer yr) in mode OUT_I32 or OUT_S8.
// @ts-ignore: decorator
@inline function storeQuadS8(yr: usize, n0: i32, cols: i32, acc: v128, mode: i32, scale: usize,
                             vz: v128, vlo: v128, vhi: v128): void {
  if (mode == OUT_I32) {
    store4(yr + (<usize>n0 << 2), acc, cols);
  } else {
    let r = requant4(acc, v128.load(scale + (<usize>n0 << 2)), vz, vlo, vhi);
    let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r, r), r);
    let p = yr + <usize>n0;
    if (cols >= 4) { v128.store32_lane(p, q, 0); return; }
    v128.store8_lane(p, q, 0);
    if (cols > 1) v128.store8_lane(p, q, 1, 1);
    if (cols > 2) v128.store8_lane(p, q, 2, 2);
  }
}

// Scalar twin: one accumulator for column col.
// @ts-ignore: decorator
@inline function store1S8(yr: usize, col: i32, acc: i32, mode: i32, scale: usize, zp: i32, lo: f32, hi: f32): void {
  if (mode == OUT_I32) store<i32>(yr + (<usize>col << 2), acc);
  else store<i8>(yr + <usize>col, requant1(acc, load<f32>(scale + (<usize>col << 2)), zp, lo, hi));
}

// ---------------------------------------------------------------- f32 CSR (per output column)

function csrF32<T>(m: i32, k: i32, n: i32, x: usize, ldx: i32, cstart: usize, idx: usize, vals: usize,
                   bias: usize, y: usize, ldy: i32): void {
  let sz = <usize>sizeof<T>();
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (m >= 4) {
      let xt = heap.alloc(<usize>k << 4);
      let rx = <usize>ldx << 2, ry = <usize>ldy << 2;
      for (; i + 4 <= m; i += 4) {
        let src = x + <usize>i * rx;
        for (let kk = 0; kk < k; kk++) {
          let s = src + (<usize>kk << 2), d = xt + (<usize>kk << 4);
          store<f32>(d, load<f32>(s));
          store<f32>(d, load<f32>(s + rx), 4);
          store<f32>(d, load<f32>(s + 2 * rx), 8);
          store<f32>(d, load<f32>(s + 3 * rx), 12);
        }
        let yp = y + <usize>i * ry;
        for (let j = 0; j < n; j++) {
          let acc = v128.load32_splat(bias + (<usize>j << 2));
          let p = load<u32>(cstart + (<usize>j << 2)), e = load<u32>(cstart + (<usize>j << 2), 4);
          let ip = idx + <usize>p * sz, vp = vals + (<usize>p << 2), ve = vals + (<usize>e << 2);
          while (vp < ve) {
            let kk = <usize>load<T>(ip);
            acc = f32x4.add(acc, f32x4.mul(v128.load(xt + (kk << 4)), v128.load32_splat(vp)));
            ip += sz; vp += 4;
          }
          let o = yp + (<usize>j << 2);
          v128.store32_lane(o, acc, 0);
          v128.store32_lane(o + ry, acc, 1);
          v128.store32_lane(o + 2 * ry, acc, 2);
          v128.store32_lane(o + 3 * ry, acc, 3);
        }
      }
      heap.free(xt);
    }
  }
  for (; i < m; i++) {
    let xr = x + ((<usize>i * ldx) << 2), yr = y + ((<usize>i * ldy) << 2);
    let j = 0;
    // four columns at a time: four independent chains (each still summed in increasing k), up to the
    // shortest column, then each column finishes alone
    for (; j + 4 <= n; j += 4) {
      let cs = cstart + (<usize>j << 2);
      let p0 = load<u32>(cs), p1 = load<u32>(cs, 4), p2 = load<u32>(cs, 8), p3 = load<u32>(cs, 12), p4 = load<u32>(cs, 16);
      let a0 = load<f32>(bias + (<usize>j << 2)), a1 = load<f32>(bias + (<usize>j << 2), 4);
      let a2 = load<f32>(bias + (<usize>j << 2), 8), a3 = load<f32>(bias + (<usize>j << 2), 12);
      let len = min(min(p1 - p0, p2 - p1), min(p3 - p2, p4 - p3));
      let i0 = idx + <usize>p0 * sz, i1 = idx + <usize>p1 * sz, i2 = idx + <usize>p2 * sz, i3 = idx + <usize>p3 * sz;
      let v0 = vals + (<usize>p0 << 2), v1 = vals + (<usize>p1 << 2), v2 = vals + (<usize>p2 << 2), v3 = vals + (<usize>p3 << 2);
      for (let t: u32 = 0; t < len; t++) {
        a0 += load<f32>(xr + (<usize>load<T>(i0) << 2)) * load<f32>(v0);
        a1 += load<f32>(xr + (<usize>load<T>(i1) << 2)) * load<f32>(v1);
        a2 += load<f32>(xr + (<usize>load<T>(i2) << 2)) * load<f32>(v2);
        a3 += load<f32>(xr + (<usize>load<T>(i3) << 2)) * load<f32>(v3);
        i0 += sz; i1 += sz; i2 += sz; i3 += sz; v0 += 4; v1 += 4; v2 += 4; v3 += 4;
      }
      let e0 = vals + (<usize>p1 << 2), e1 = vals + (<usize>p2 << 2), e2 = vals + (<usize>p3 << 2), e3 = vals + (<usize>p4 << 2);
      for (; v0 < e0; v0 += 4, i0 += sz) a0 += load<f32>(xr + (<usize>load<T>(i0) << 2)) * load<f32>(v0);
      for (; v1 < e1; v1 += 4, i1 += sz) a1 += load<f32>(xr + (<usize>load<T>(i1) << 2)) * load<f32>(v1);
      for (; v2 < e2; v2 += 4, i2 += sz) a2 += load<f32>(xr + (<usize>load<T>(i2) << 2)) * load<f32>(v2);
      for (; v3 < e3; v3 += 4, i3 += sz) a3 += load<f32>(xr + (<usize>load<T>(i3) << 2)) * load<f32>(v3);
      let o = yr + (<usize>j << 2);
      store<f32>(o, a0); store<f32>(o, a1, 4); store<f32>(o, a2, 8); store<f32>(o, a3, 12);
    }
    for (; j < n; j++) {
      let acc = load<f32>(bias + (<usize>j << 2));
      let p = load<u32>(cstart + (<usize>j << 2)), e = load<u32>(cstart + (<usize>j << 2), 4);
      let ip = idx + <usize>p * sz, vp = vals + (<usize>p << 2), ve = vals + (<usize>e << 2);
      while (vp < ve) {
        acc += load<f32>(xr + (<usize>load<T>(ip) << 2)) * load<f32>(vp);
        ip += sz; vp += 4;
      }
      store<f32>(yr + (<usize>j << 2), acc);
    }
  }
}

// bias: f32[N] (zeros for none).
export function sparse_gemm_f32_csr(m: i32, k: i32, n: i32, x: usize, ldx: i32, cstart: usize, idx: usize, idx16: i32,
                               vals: usize, bias: usize, y: usize, ldy: i32): void {
  if (idx16) csrF32<u16>(m, k, n, x, ldx, cstart, idx, vals, bias, y, ldy);
  else csrF32<u32>(m, k, n, x, ldx, cstart, idx, vals, bias, y, ldy);
}

// ---------------------------------------------------------------- f32 rows (blocks of g = 4 or 8 columns)

function rowsF32<T>(m: i32, k: i32, n: i32, g: i32, x: usize, ldx: i32, gstart: usize, idx: usize, vals: usize,
                    bias: usize, y: usize, ldy: i32): void {
  let sz = <usize>sizeof<T>();
  let ng = (n + g - 1) / g;
  let vstride = <usize>g << 2;
  for (let i = 0; i < m; i++) {
    let xr = x + ((<usize>i * ldx) << 2), yr = y + ((<usize>i * ldy) << 2);
    for (let q = 0; q < ng; q++) {
      let n0 = q * g, cols = min(g, n - n0);
      let p = load<u32>(gstart + (<usize>q << 2)), e = load<u32>(gstart + (<usize>q << 2), 4);
      let ip = idx + <usize>p * sz, vp = vals + <usize>p * vstride, ve = vals + <usize>e * vstride;
      if (ASC_FEATURE_SIMD) {
        let a0 = v128.load(bias + (<usize>n0 << 2));
        if (g == 8) {
          let a1 = v128.load(bias + (<usize>n0 << 2), 16);
          while (vp < ve) {
            let xv = v128.load32_splat(xr + (<usize>load<T>(ip) << 2));
            a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(vp)));
            a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(vp, 16)));
            ip += sz; vp += 32;
          }
          store4(yr + (<usize>n0 << 2), a0, cols);
          if (cols > 4) store4(yr + (<usize>(n0 + 4) << 2), a1, cols - 4);
        } else {
          while (vp < ve) {
            let xv = v128.load32_splat(xr + (<usize>load<T>(ip) << 2));
            a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(vp)));
            ip += sz; vp += 16;
          }
          store4(yr + (<usize>n0 << 2), a0, cols);
        }
      } else {
        let acc = memory.data(32, 16);
        for (let j = 0; j < g; j++) store<f32>(acc + (<usize>j << 2), load<f32>(bias + (<usize>(n0 + j) << 2)));
        while (vp < ve) {
          let xv = load<f32>(xr + (<usize>load<T>(ip) << 2));
          for (let j = 0; j < g; j++) {
            let a = acc + (<usize>j << 2);
            store<f32>(a, load<f32>(a) + xv * load<f32>(vp + (<usize>j << 2)));
          }
          ip += sz; vp += vstride;
        }
        for (let j = 0; j < cols; j++) store<f32>(yr + (<usize>(n0 + j) << 2), load<f32>(acc + (<usize>j << 2)));
      }
    }
  }
}

// bias: f32, padded with zeros to a multiple of g.
export function sparse_gemm_f32_rows(m: i32, k: i32, n: i32, g: i32, x: usize, ldx: i32, gstart: usize, idx: usize,
                                idx16: i32, vals: usize, bias: usize, y: usize, ldy: i32): void {
  if (idx16) rowsF32<u16>(m, k, n, g, x, ldx, gstart, idx, vals, bias, y, ldy);
  else rowsF32<u32>(m, k, n, g, x, ldx, gstart, idx, vals, bias, y, ldy);
}

// ---------------------------------------------------------------- f32 steps (N:M)

// qstart: u32 per quad + 1 (step index); kst: u32 per step (window start, in elements; ≤ K − 4 when K ≥ 4);
// steps: 32 bytes each: 16 swizzle bytes (lane j: 4·off .. 4·off+3) then 4 f32 weights. bias padded to 4.
export function sparse_gemm_f32_steps(m: i32, k: i32, n: i32, x: usize, ldx: i32, qstart: usize, kst: usize,
                                 steps: usize, bias: usize, y: usize, ldy: i32): void {
  let nq = (n + 3) >> 2;
  let pad = memory.data(16, 16);
  for (let i = 0; i < m; i++) {
    let xr = x + ((<usize>i * ldx) << 2), yr = y + ((<usize>i * ldy) << 2);
    if (k < 4) {
      for (let j = 0; j < 4; j++) store<f32>(pad + (<usize>j << 2), j < k ? load<f32>(xr + (<usize>j << 2)) : 0);
      xr = pad;
    }
    for (let q = 0; q < nq; q++) {
      let n0 = q << 2, cols = min(4, n - n0);
      let s = load<u32>(qstart + (<usize>q << 2)), e = load<u32>(qstart + (<usize>q << 2), 4);
      let sp = steps + (<usize>s << 5), se = steps + (<usize>e << 5), kp = kst + (<usize>s << 2);
      if (ASC_FEATURE_SIMD) {
        let acc = v128.load(bias + (<usize>n0 << 2));
        while (sp < se) {
          let xw = v128.load(xr + (<usize>load<u32>(kp) << 2));
          acc = f32x4.add(acc, f32x4.mul(i8x16.swizzle(xw, v128.load(sp)), v128.load(sp, 16)));
          sp += 32; kp += 4;
        }
        store4(yr + (<usize>n0 << 2), acc, cols);
      } else {
        let a0 = load<f32>(bias + (<usize>n0 << 2)), a1 = load<f32>(bias + (<usize>n0 << 2), 4);
        let a2 = load<f32>(bias + (<usize>n0 << 2), 8), a3 = load<f32>(bias + (<usize>n0 << 2), 12);
        while (sp < se) {
          let xw = xr + (<usize>load<u32>(kp) << 2);
          a0 += load<f32>(xw + <usize>load<u8>(sp)) * load<f32>(sp, 16);
          a1 += load<f32>(xw + <usize>load<u8>(sp, 4)) * load<f32>(sp, 20);
          a2 += load<f32>(xw + <usize>load<u8>(sp, 8)) * load<f32>(sp, 24);
          a3 += load<f32>(xw + <usize>load<u8>(sp, 12)) * load<f32>(sp, 28);
          sp += 32; kp += 4;
        }
        let o = yr + (<usize>n0 << 2);
        store<f32>(o, a0);
        if (cols > 1) store<f32>(o, a1, 4);
        if (cols > 2) store<f32>(o, a2, 8);
        if (cols > 3) store<f32>(o, a3, 12);
      }
    }
  }
}

// ---------------------------------------------------------------- int8 steps (unstructured, N:M)

// Gathers 16 bytes of a 16-byte window by indices < 16 (relaxed build: relaxed_swizzle, identical for
// in-range indices and one instruction less on x86).
// @ts-ignore: decorator
@inline function gather16(win: v128, ix: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(win, ix);
  return i8x16.swizzle(win, ix);
}

// One step's contribution to the quad of int32 lanes: column j's slots sit at bytes 2j, 2j+1 (low half)
// and 8+2j, 9+2j (high half), so two i32x4.dot_i16x8_s of the sign-extended halves land on lane j.
// @ts-ignore: decorator
@inline function stepDot(g: v128, wlo: v128, whi: v128): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(g), wlo), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(g), whi));
}

// One step's contribution to column j of its quad (scalar build): column j owns index / weight bytes 2j, 2j+1,
// 8+2j, 9+2j (weights 16 bytes after their indices).
// @ts-ignore: decorator
@inline function stepCol(xw: usize, sp: usize, j: usize): i32 {
  let b = sp + (j << 1);
  return <i32>load<i8>(xw + <usize>load<u8>(b)) * <i32>load<i8>(b, 16)
       + <i32>load<i8>(xw + <usize>load<u8>(b, 1)) * <i32>load<i8>(b, 17)
       + <i32>load<i8>(xw + <usize>load<u8>(b, 8)) * <i32>load<i8>(b, 24)
       + <i32>load<i8>(xw + <usize>load<u8>(b, 9)) * <i32>load<i8>(b, 25);
}

// Row i of x for the steps kernels: itself, or (K < 16, `small`) copied into the 16-byte pad with zeros after K,
// as each step gathers from a whole 16-byte window.
// @ts-ignore: decorator
@inline function stepsRow(xr: usize, k: i32, small: bool, pad: usize): usize {
  if (!small) return xr;
  for (let j = 0; j < 16; j++) store<i8>(pad + j, j < k ? load<i8>(xr + j) : 0);
  return pad;
}

// qstart: u32 per quad + 1 (step index); kst: u32 per step (window start in bytes of x, ≤ K − 16 when
// K ≥ 16); steps: 32 bytes each: 16 swizzle indices (< 16) then 16 int8 weights; qbias: 4 i32 per quad.
export function sparse_gemm_s8_steps(m: i32, k: i32, n: i32, x: usize, ldx: i32, qstart: usize, kst: usize,
                                steps: usize, qbias: usize, y: usize, ldy: i32,
                                mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let nq = (n + 3) >> 2;
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  // K < 16: rows are copied into zero-padded 16-byte windows so the window loads stay inside the copy
  let small = k < 16;
  let pad = small ? heap.alloc(64) : 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vz = requantZero(zp), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    // four rows share each step's index and weight loads
    for (; i + 4 <= m; i += 4) {
      let x0 = x + <usize>i * ldx, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
      if (small) {
        for (let r = 0; r < 4; r++) {
          let src = x0 + <usize>r * ldx;
          for (let j = 0; j < 16; j++) store<i8>(pad + (<usize>r << 4) + j, j < k ? load<i8>(src + j) : 0);
        }
        x0 = pad; x1 = pad + 16; x2 = pad + 32; x3 = pad + 48;
      }
      let y0 = y + <usize>i * ldy * esz, ys = <usize>ldy * esz;
      for (let q = 0; q < nq; q++) {
        let n0 = q << 2, cols = min(4, n - n0);
        let s = load<u32>(qstart + (<usize>q << 2)), e = load<u32>(qstart + (<usize>q << 2), 4);
        let sp = steps + (<usize>s << 5), se = steps + (<usize>e << 5), kp = kst + (<usize>s << 2);
        let c0 = v128.load(qbias + (<usize>q << 4)), c1 = c0, c2 = c0, c3 = c0;
        while (sp < se) {
          let ks = <usize>load<u32>(kp);
          let ix = v128.load(sp), wlo = v128.load8x8_s(sp, 16), whi = v128.load8x8_s(sp, 24);
          c0 = i32x4.add(c0, stepDot(gather16(v128.load(x0 + ks), ix), wlo, whi));
          c1 = i32x4.add(c1, stepDot(gather16(v128.load(x1 + ks), ix), wlo, whi));
          c2 = i32x4.add(c2, stepDot(gather16(v128.load(x2 + ks), ix), wlo, whi));
          c3 = i32x4.add(c3, stepDot(gather16(v128.load(x3 + ks), ix), wlo, whi));
          sp += 32; kp += 4;
        }
        storeQuadS8(y0, n0, cols, c0, mode, scale, vz, vlo, vhi);
        storeQuadS8(y0 + ys, n0, cols, c1, mode, scale, vz, vlo, vhi);
        storeQuadS8(y0 + 2 * ys, n0, cols, c2, mode, scale, vz, vlo, vhi);
        storeQuadS8(y0 + 3 * ys, n0, cols, c3, mode, scale, vz, vlo, vhi);
      }
    }
    for (; i < m; i++) {
      let xr = stepsRow(x + <usize>i * ldx, k, small, pad);
      let yr = y + <usize>i * ldy * esz;
      for (let q = 0; q < nq; q++) {
        let n0 = q << 2, cols = min(4, n - n0);
        let s = load<u32>(qstart + (<usize>q << 2)), e = load<u32>(qstart + (<usize>q << 2), 4);
        let sp = steps + (<usize>s << 5), se = steps + (<usize>e << 5), kp = kst + (<usize>s << 2);
        let c0 = v128.load(qbias + (<usize>q << 4)), c1 = i32x4.splat(0);
        // two independent accumulators (even / odd steps) hide the add latency
        while (sp + 32 < se) {
          let g0 = gather16(v128.load(xr + <usize>load<u32>(kp)), v128.load(sp));
          let g1 = gather16(v128.load(xr + <usize>load<u32>(kp, 4)), v128.load(sp, 32));
          c0 = i32x4.add(c0, stepDot(g0, v128.load8x8_s(sp, 16), v128.load8x8_s(sp, 24)));
          c1 = i32x4.add(c1, stepDot(g1, v128.load8x8_s(sp, 48), v128.load8x8_s(sp, 56)));
          sp += 64; kp += 8;
        }
        if (sp < se) {
          let g0 = gather16(v128.load(xr + <usize>load<u32>(kp)), v128.load(sp));
          c0 = i32x4.add(c0, stepDot(g0, v128.load8x8_s(sp, 16), v128.load8x8_s(sp, 24)));
        }
        storeQuadS8(yr, n0, cols, i32x4.add(c0, c1), mode, scale, vz, vlo, vhi);
      }
    }
  } else {
    for (; i < m; i++) {
      let xr = stepsRow(x + <usize>i * ldx, k, small, pad);
      let yr = y + <usize>i * ldy * esz;
      for (let q = 0; q < nq; q++) {
        let n0 = q << 2, cols = min(4, n - n0);
        let s = load<u32>(qstart + (<usize>q << 2)), e = load<u32>(qstart + (<usize>q << 2), 4);
        let sp = steps + (<usize>s << 5), se = steps + (<usize>e << 5), kp = kst + (<usize>s << 2);
        let bq = qbias + (<usize>q << 4);
        let a0 = load<i32>(bq), a1 = load<i32>(bq, 4), a2 = load<i32>(bq, 8), a3 = load<i32>(bq, 12);
        while (sp < se) {
          let xw = xr + <usize>load<u32>(kp);
          a0 += stepCol(xw, sp, 0); a1 += stepCol(xw, sp, 1); a2 += stepCol(xw, sp, 2); a3 += stepCol(xw, sp, 3);
          sp += 32; kp += 4;
        }
        store1S8(yr, n0, a0, mode, scale, zp, lo, hi);
        if (cols > 1) store1S8(yr, n0 + 1, a1, mode, scale, zp, lo, hi);
        if (cols > 2) store1S8(yr, n0 + 2, a2, mode, scale, zp, lo, hi);
        if (cols > 3) store1S8(yr, n0 + 3, a3, mode, scale, zp, lo, hi);
      }
    }
  }
  if (pad) heap.free(pad);
}

// ---------------------------------------------------------------- int8 column pairs (unstructured, M ≥ 8)

// Stores 4 rows (lanes) of one column: y[(r)·ldy + col] for rows r0 .. r0+3 of row pointer yc.
// @ts-ignore: decorator
@inline function storeColS8(yc: usize, ys: usize, acc: v128, mode: i32, sc: v128, vz: v128, vlo: v128, vhi: v128): void {
  if (mode == OUT_I32) {
    v128.store32_lane(yc, acc, 0);
    v128.store32_lane(yc + ys, acc, 1);
    v128.store32_lane(yc + 2 * ys, acc, 2);
    v128.store32_lane(yc + 3 * ys, acc, 3);
  } else {
    let r = requant4(acc, sc, vz, vlo, vhi);
    let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r, r), r);
    v128.store8_lane(yc, q, 0);
    v128.store8_lane(yc + ys, q, 1);
    v128.store8_lane(yc + 2 * ys, q, 2);
    v128.store8_lane(yc + 3 * ys, q, 3);
  }
}

// xt[kk][r] = x[r][kk] as int16 for rows r < rows (16 or 8, row stride ldx) and kk < k: the pairs kernel's
// transposed tile (rows·2 bytes per k). SIMD builds only. Whole 8×8 blocks go through registers (8 sign-extending
// 8-byte row loads, a 3-stage 16/32/64-bit interleave, 8 stores; pure data movement, so the tile is the scalar
// loop's byte for byte); the last k mod 8 columns are copied one value at a time. This transpose is O(rows·K)
// whatever the sparsity, so at high sparsity (pruned k×k convs: K = KH·KW·C) it dominated the kernel when scalar.
// @ts-ignore: decorator
@inline
function transposeRows(x: usize, ldx: i32, k: i32, rows: i32, xt: usize): void {
  let rs = <usize>rows << 1; // bytes per k in xt
  let kk = 0;
  for (; kk + 8 <= k; kk += 8) {
    for (let g = 0; g < rows; g += 8) {
      let s = x + <usize>g * ldx + kk;
      let a0 = v128.load8x8_s(s), a1 = v128.load8x8_s(s + <usize>ldx), a2 = v128.load8x8_s(s + 2 * <usize>ldx), a3 = v128.load8x8_s(s + 3 * <usize>ldx);
      let a4 = v128.load8x8_s(s + 4 * <usize>ldx), a5 = v128.load8x8_s(s + 5 * <usize>ldx), a6 = v128.load8x8_s(s + 6 * <usize>ldx), a7 = v128.load8x8_s(s + 7 * <usize>ldx);
      // 16-bit interleave of row pairs
      let b0 = i16x8.shuffle(a0, a1, 0, 8, 1, 9, 2, 10, 3, 11), b1 = i16x8.shuffle(a0, a1, 4, 12, 5, 13, 6, 14, 7, 15);
      let b2 = i16x8.shuffle(a2, a3, 0, 8, 1, 9, 2, 10, 3, 11), b3 = i16x8.shuffle(a2, a3, 4, 12, 5, 13, 6, 14, 7, 15);
      let b4 = i16x8.shuffle(a4, a5, 0, 8, 1, 9, 2, 10, 3, 11), b5 = i16x8.shuffle(a4, a5, 4, 12, 5, 13, 6, 14, 7, 15);
      let b6 = i16x8.shuffle(a6, a7, 0, 8, 1, 9, 2, 10, 3, 11), b7 = i16x8.shuffle(a6, a7, 4, 12, 5, 13, 6, 14, 7, 15);
      // 32-bit interleave: rows 0-3 (c0..c3) and 4-7 (c4..c7), two k per vector
      let c0 = i32x4.shuffle(b0, b2, 0, 4, 1, 5), c1 = i32x4.shuffle(b0, b2, 2, 6, 3, 7);
      let c2 = i32x4.shuffle(b1, b3, 0, 4, 1, 5), c3 = i32x4.shuffle(b1, b3, 2, 6, 3, 7);
      let c4 = i32x4.shuffle(b4, b6, 0, 4, 1, 5), c5 = i32x4.shuffle(b4, b6, 2, 6, 3, 7);
      let c6 = i32x4.shuffle(b5, b7, 0, 4, 1, 5), c7 = i32x4.shuffle(b5, b7, 2, 6, 3, 7);
      // 64-bit interleave: vector j = k (kk + j) of rows g … g+7
      let d = xt + <usize>kk * rs + (<usize>g << 1);
      v128.store(d, i64x2.shuffle(c0, c4, 0, 2));
      v128.store(d + rs, i64x2.shuffle(c0, c4, 1, 3));
      v128.store(d + 2 * rs, i64x2.shuffle(c1, c5, 0, 2));
      v128.store(d + 3 * rs, i64x2.shuffle(c1, c5, 1, 3));
      v128.store(d + 4 * rs, i64x2.shuffle(c2, c6, 0, 2));
      v128.store(d + 5 * rs, i64x2.shuffle(c2, c6, 1, 3));
      v128.store(d + 6 * rs, i64x2.shuffle(c3, c7, 0, 2));
      v128.store(d + 7 * rs, i64x2.shuffle(c3, c7, 1, 3));
    }
  }
  for (; kk < k; kk++) {
    let d = xt + <usize>kk * rs, s0 = x + kk;
    for (let r = 0; r < rows; r++) store<i16>(d + (<usize>r << 1), <i16>load<i8>(s0 + <usize>r * ldx));
  }
}

function pairsS8<T>(m: i32, k: i32, n: i32, x: usize, ldx: i32, cstart: usize, pidx: usize, wpair: usize,
                    cbias: usize, y: usize, ldy: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let sz = <usize>sizeof<T>();
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let ys = <usize>ldy * esz;
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  if (ASC_FEATURE_SIMD) {
    let vz = requantZero(zp), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    let xt = heap.alloc(<usize>k << 5);
    let i = 0;
    // 16 rows at a time: xt[k] = (x[i][k], …, x[i+15][k]) as int16 (32 bytes per k)
    for (; i + 16 <= m; i += 16) {
      let src = x + <usize>i * ldx;
      transposeRows(src, ldx, k, 16, xt);
      let yr = y + <usize>i * ys;
      for (let j = 0; j < n; j++) {
        let c0 = v128.load32_splat(cbias + (<usize>j << 2)), c1 = c0, c2 = c0, c3 = c0;
        let p = load<u32>(cstart + (<usize>j << 2)), e = load<u32>(cstart + (<usize>j << 2), 4);
        let ip = pidx + <usize>p * 2 * sz, wp = wpair + (<usize>p << 1), we = wpair + (<usize>e << 1);
        while (wp < we) {
          let pa = xt + (<usize>load<T>(ip) << 5), pb = xt + (<usize>load<T>(ip + sz) << 5);
          let wv = i16x8.extend_low_i8x16_s(v128.load16_splat(wp));
          let a = v128.load(pa), b = v128.load(pb);
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), wv));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), wv));
          let a2 = v128.load(pa, 16), b2 = v128.load(pb, 16);
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(i16x8.shuffle(a2, b2, 0, 8, 1, 9, 2, 10, 3, 11), wv));
          c3 = i32x4.add(c3, i32x4.dot_i16x8_s(i16x8.shuffle(a2, b2, 4, 12, 5, 13, 6, 14, 7, 15), wv));
          ip += 2 * sz; wp += 2;
        }
        let yc = yr + <usize>j * esz;
        let sc = mode == OUT_I32 ? c0 : v128.load32_splat(scale + (<usize>j << 2));
        storeColS8(yc, ys, c0, mode, sc, vz, vlo, vhi);
        storeColS8(yc + 4 * ys, ys, c1, mode, sc, vz, vlo, vhi);
        storeColS8(yc + 8 * ys, ys, c2, mode, sc, vz, vlo, vhi);
        storeColS8(yc + 12 * ys, ys, c3, mode, sc, vz, vlo, vhi);
      }
    }
    // then 8 rows (16 bytes per k)
    for (; i + 8 <= m; i += 8) {
      let src = x + <usize>i * ldx;
      transposeRows(src, ldx, k, 8, xt);
      let yr = y + <usize>i * ys;
      for (let j = 0; j < n; j++) {
        let c0 = v128.load32_splat(cbias + (<usize>j << 2)), c1 = c0;
        let p = load<u32>(cstart + (<usize>j << 2)), e = load<u32>(cstart + (<usize>j << 2), 4);
        let ip = pidx + <usize>p * 2 * sz, wp = wpair + (<usize>p << 1), we = wpair + (<usize>e << 1);
        while (wp < we) {
          let a = v128.load(xt + (<usize>load<T>(ip) << 4)), b = v128.load(xt + (<usize>load<T>(ip + sz) << 4));
          let wv = i16x8.extend_low_i8x16_s(v128.load16_splat(wp));
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), wv));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), wv));
          ip += 2 * sz; wp += 2;
        }
        let yc = yr + <usize>j * esz;
        let sc = mode == OUT_I32 ? c0 : v128.load32_splat(scale + (<usize>j << 2));
        storeColS8(yc, ys, c0, mode, sc, vz, vlo, vhi);
        storeColS8(yc + 4 * ys, ys, c1, mode, sc, vz, vlo, vhi);
      }
    }
    heap.free(xt);
  } else {
    for (let i = 0; i < m; i++) {
      let xr = x + <usize>i * ldx, yr = y + <usize>i * ys;
      for (let j = 0; j < n; j++) {
        let acc = load<i32>(cbias + (<usize>j << 2));
        let p = load<u32>(cstart + (<usize>j << 2)), e = load<u32>(cstart + (<usize>j << 2), 4);
        let ip = pidx + <usize>p * 2 * sz;
        for (; p < e; p++) {
          let wq = wpair + (<usize>p << 1);
          acc += <i32>load<i8>(xr + <usize>load<T>(ip)) * <i32>load<i8>(wq) + <i32>load<i8>(xr + <usize>load<T>(ip + sz)) * <i32>load<i8>(wq, 1);
          ip += 2 * sz;
        }
        store1S8(yr, j, acc, mode, scale, zp, lo, hi);
      }
    }
  }
}

// Rows 0 .. 8·⌊m/8⌋ − 1 only (the host runs the remaining rows on the steps format). Per column j, kept rows
// in pairs: pidx (ka, kb), wpair two int8 (w[ka][j], w[kb][j]) per pair (splat and sign-extended to int16); x rows are
// transposed per call to 16 (then 8) int16 lanes per k, so one dot_i16x8_s of the interleaved x pairs against the
// broadcast weight pair adds two MACs into 4 rows. cbias: i32 per column (folded).
export function sparse_gemm_s8_pairs(m: i32, k: i32, n: i32, x: usize, ldx: i32, cstart: usize, pidx: usize, idx16: i32,
                                wpair: usize, cbias: usize, y: usize, ldy: i32,
                                mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let m8 = m & ~7;
  if (idx16) pairsS8<u16>(m8, k, n, x, ldx, cstart, pidx, wpair, cbias, y, ldy, mode, scale, zp, qmin, qmax);
  else pairsS8<u32>(m8, k, n, x, ldx, cstart, pidx, wpair, cbias, y, ldy, mode, scale, zp, qmin, qmax);
}

// ---------------------------------------------------------------- int8 rows (blocks of g = 4 or 8 columns)

// x pair (x[ka], x[kb]) as the int16 pair of one int32 word.
// @ts-ignore: decorator
@inline function xpair(xr: usize, ka: usize, kb: usize): i32 {
  return (<i32>load<i8>(xr + ka) & 0xffff) | (<i32>load<i8>(xr + kb) << 16);
}

// The broadcast pair as a v128 of 4 int16 pairs. C is a compile-time flag: sizeof<C>() == 1 means every pair
// is (k, k+1) (blocks with even bk), read with one 2-byte splat load and a sign extension.
// @ts-ignore: decorator
@inline function vpair<C>(xr: usize, ka: usize, kb: usize): v128 {
  if (sizeof<C>() == 1) return i16x8.extend_low_i8x16_s(v128.load16_splat(xr + ka));
  return i32x4.splat(xpair(xr, ka, kb));
}

function rowsS8<T, C>(m: i32, k: i32, n: i32, g: i32, x: usize, ldx: i32, gstart: usize, pidx: usize, wts: usize,
                   gbias: usize, y: usize, ldy: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let sz = <usize>sizeof<T>();
  let ng = (n + g - 1) / g;
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let wstride = <usize>g << 1;
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vz = requantZero(zp), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    let ys = <usize>ldy * esz;
    for (; i + 4 <= m; i += 4) {
      let x0 = x + <usize>i * ldx, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
      let y0 = y + <usize>i * ys;
      for (let q = 0; q < ng; q++) {
        let n0 = q * g, cols = min(g, n - n0);
        let p = load<u32>(gstart + (<usize>q << 2)), e = load<u32>(gstart + (<usize>q << 2), 4);
        let ip = pidx + <usize>p * 2 * sz, wp = wts + <usize>p * wstride, we = wts + <usize>e * wstride;
        let bq = gbias + (<usize>n0 << 2);
        let c00 = v128.load(bq), c10 = c00, c20 = c00, c30 = c00;
        if (g == 8) {
          let c01 = v128.load(bq, 16), c11 = c01, c21 = c01, c31 = c01;
          while (wp < we) {
            let ka = <usize>load<T>(ip), kb = <usize>load<T>(ip + sz);
            let b0 = v128.load8x8_s(wp), b1 = v128.load8x8_s(wp, 8);
            let v0 = vpair<C>(x0, ka, kb);
            c00 = i32x4.add(c00, i32x4.dot_i16x8_s(v0, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(v0, b1));
            let v1 = vpair<C>(x1, ka, kb);
            c10 = i32x4.add(c10, i32x4.dot_i16x8_s(v1, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(v1, b1));
            let v2 = vpair<C>(x2, ka, kb);
            c20 = i32x4.add(c20, i32x4.dot_i16x8_s(v2, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(v2, b1));
            let v3 = vpair<C>(x3, ka, kb);
            c30 = i32x4.add(c30, i32x4.dot_i16x8_s(v3, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(v3, b1));
            ip += 2 * sz; wp += 16;
          }
          storeQuadS8(y0, n0, cols, c00, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + ys, n0, cols, c10, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + 2 * ys, n0, cols, c20, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + 3 * ys, n0, cols, c30, mode, scale, vz, vlo, vhi);
          if (cols > 4) {
            storeQuadS8(y0, n0 + 4, cols - 4, c01, mode, scale, vz, vlo, vhi);
            storeQuadS8(y0 + ys, n0 + 4, cols - 4, c11, mode, scale, vz, vlo, vhi);
            storeQuadS8(y0 + 2 * ys, n0 + 4, cols - 4, c21, mode, scale, vz, vlo, vhi);
            storeQuadS8(y0 + 3 * ys, n0 + 4, cols - 4, c31, mode, scale, vz, vlo, vhi);
          }
        } else {
          while (wp < we) {
            let ka = <usize>load<T>(ip), kb = <usize>load<T>(ip + sz);
            let b0 = v128.load8x8_s(wp);
            c00 = i32x4.add(c00, i32x4.dot_i16x8_s(vpair<C>(x0, ka, kb), b0));
            c10 = i32x4.add(c10, i32x4.dot_i16x8_s(vpair<C>(x1, ka, kb), b0));
            c20 = i32x4.add(c20, i32x4.dot_i16x8_s(vpair<C>(x2, ka, kb), b0));
            c30 = i32x4.add(c30, i32x4.dot_i16x8_s(vpair<C>(x3, ka, kb), b0));
            ip += 2 * sz; wp += 8;
          }
          storeQuadS8(y0, n0, cols, c00, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + ys, n0, cols, c10, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + 2 * ys, n0, cols, c20, mode, scale, vz, vlo, vhi);
          storeQuadS8(y0 + 3 * ys, n0, cols, c30, mode, scale, vz, vlo, vhi);
        }
      }
    }
    for (; i < m; i++) {
      let xr = x + <usize>i * ldx, yr = y + <usize>i * ys;
      for (let q = 0; q < ng; q++) {
        let n0 = q * g, cols = min(g, n - n0);
        let p = load<u32>(gstart + (<usize>q << 2)), e = load<u32>(gstart + (<usize>q << 2), 4);
        let ip = pidx + <usize>p * 2 * sz, wp = wts + <usize>p * wstride, we = wts + <usize>e * wstride;
        let bq = gbias + (<usize>n0 << 2);
        let c0 = v128.load(bq);
        if (g == 8) {
          let c1 = v128.load(bq, 16);
          while (wp < we) {
            let v = vpair<C>(xr, <usize>load<T>(ip), <usize>load<T>(ip + sz));
            c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wp)));
            c1 = i32x4.add(c1, i32x4.dot_i16x8_s(v, v128.load8x8_s(wp, 8)));
            ip += 2 * sz; wp += 16;
          }
          storeQuadS8(yr, n0, cols, c0, mode, scale, vz, vlo, vhi);
          if (cols > 4) storeQuadS8(yr, n0 + 4, cols - 4, c1, mode, scale, vz, vlo, vhi);
        } else {
          let c1 = i32x4.splat(0);
          while (wp + 8 < we) {
            let v = vpair<C>(xr, <usize>load<T>(ip), <usize>load<T>(ip + sz));
            let u = vpair<C>(xr, <usize>load<T>(ip + 2 * sz), <usize>load<T>(ip + 3 * sz));
            c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wp)));
            c1 = i32x4.add(c1, i32x4.dot_i16x8_s(u, v128.load8x8_s(wp, 8)));
            ip += 4 * sz; wp += 16;
          }
          if (wp < we) {
            let v = vpair<C>(xr, <usize>load<T>(ip), <usize>load<T>(ip + sz));
            c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v, v128.load8x8_s(wp)));
          }
          storeQuadS8(yr, n0, cols, i32x4.add(c0, c1), mode, scale, vz, vlo, vhi);
        }
      }
    }
  } else {
    let acc = memory.data(32, 16);
    for (; i < m; i++) {
      let xr = x + <usize>i * ldx, yr = y + <usize>i * ldy * esz;
      for (let q = 0; q < ng; q++) {
        let n0 = q * g, cols = min(g, n - n0);
        let p = load<u32>(gstart + (<usize>q << 2)), e = load<u32>(gstart + (<usize>q << 2), 4);
        let ip = pidx + <usize>p * 2 * sz, wp = wts + <usize>p * wstride, we = wts + <usize>e * wstride;
        for (let j = 0; j < g; j++) store<i32>(acc + (<usize>j << 2), load<i32>(gbias + (<usize>(n0 + j) << 2)));
        while (wp < we) {
          let xa = <i32>load<i8>(xr + <usize>load<T>(ip)), xb = <i32>load<i8>(xr + <usize>load<T>(ip + sz));
          for (let j = 0; j < g; j++) {
            let a = acc + (<usize>j << 2);
            store<i32>(a, load<i32>(a) + xa * <i32>load<i8>(wp + (j << 1)) + xb * <i32>load<i8>(wp + (j << 1) + 1));
          }
          ip += 2 * sz; wp += wstride;
        }
        for (let j = 0; j < cols; j++) store1S8(yr, n0 + j, load<i32>(acc + (<usize>j << 2)), mode, scale, zp, lo, hi);
      }
    }
  }
}

// gstart: u32 per group + 1 (pair index); pidx: 2 indices per pair; wts: 2g bytes per pair
// (w[ka][0], w[kb][0], w[ka][1], …); gbias: i32 per column, padded to a multiple of g.
// consec = 1: every pair is (k, k+1) with k+1 < K.
export function sparse_gemm_s8_rows(m: i32, k: i32, n: i32, g: i32, x: usize, ldx: i32, gstart: usize, pidx: usize,
                               idx16: i32, consec: i32, wts: usize, gbias: usize, y: usize, ldy: i32,
                               mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  if (consec) {
    if (idx16) rowsS8<u16, i8>(m, k, n, g, x, ldx, gstart, pidx, wts, gbias, y, ldy, mode, scale, zp, qmin, qmax);
    else rowsS8<u32, i8>(m, k, n, g, x, ldx, gstart, pidx, wts, gbias, y, ldy, mode, scale, zp, qmin, qmax);
  } else {
    if (idx16) rowsS8<u16, i32>(m, k, n, g, x, ldx, gstart, pidx, wts, gbias, y, ldy, mode, scale, zp, qmin, qmax);
    else rowsS8<u32, i32>(m, k, n, g, x, ldx, gstart, pidx, wts, gbias, y, ldy, mode, scale, zp, qmin, qmax);
  }
}
