// f32 2-D convolution, forward and both backward passes, for training. NHWC activations x[N][H][W][C],
// OHWI weights w[OC][KH][KW][C/groups], bias[OC], output y[N][OH][OW][OC] with
//   OH = (H + padT + padB - dilH·(KH-1) - 1) / strideH + 1   (floor; likewise OW).
// Channel group g owns input channels [g·Cg, (g+1)·Cg) and output channels [g·OCg, (g+1)·OCg).
//
// Every function takes a descriptor: the 18 geometry int32 of assembly/conv_desc.ts at `desc` (byte offset;
// src/kernels/conv_f32.ts writes and validates it; the kernels trust it).
//
// Fast paths (im2col + the f32 GEMM of gemm_f32.ts, in bounded row chunks so scratch stays ~256 KB):
//   forward        y[M×OCg]   = cols[M×Kg] · W_gᵀ + b       (M = N·OH·OW rows, Kg = KH·KW·Cg)
//   backward data  dcols[M×Kg] = dy[M×OCg] · W_g, then col2im (scatter-add into dx)
//   backward filt. dW_g[OCg×Kg] += dy_gᵀ · cols (chunk after chunk), db = column sums of dy
//   1×1 stride-1 unpadded convolutions use x / dx themselves as cols (no im2col).
//   Depthwise (C = OC = groups): a direct kernel vectorised over channels (weights transposed to [tap][C]).
//   Small K (groups = 1, KH·KW·C ≤ 32, SIMD builds): direct forward and dW kernels, 4 pixels × 8 channels.
//   The direct kernels (depthwise, small K) use f32x4.relaxed_madd in the relaxed build (fused: last-bit
//   differences from the simd build); the GEMM does not.
//   dW is computed as dW_gᵀ = colsᵀ·dy_g when that shape suits the GEMM's 6×8 tiles better.
// β (beta) of the backward passes: 0 overwrites dx / dW / db (never reads them), 1 accumulates into them
// (gradient accumulation); any other value scales the old contents first.
// The *_ref functions are plain direct loops (no im2col, no GEMM, no SIMD) in every build.

import { betaScale, betaScaleRef } from './beta_f32';
import { addF } from './vec_f32';
import { gemm_f32 } from './gemm_f32';
import { D_N, D_H, D_W, D_C, D_OC, D_KH, D_KW, D_SH, D_SW, D_PT, D_PL, D_PB, D_PR, D_DH, D_DW, D_G, D_OH, D_OW, dget } from './conv_desc';

// Target size of one im2col chunk, in floats (256 KB).
const CHUNK_FLOATS: i32 = 1 << 16;

// @ts-ignore: decorator
@inline function f(p: usize, i: usize): f32 { return load<f32>(p + (i << 2)); }
// @ts-ignore: decorator
@inline function fset(p: usize, i: usize, v: f32): void { store<f32>(p + (i << 2), v); }
// a·b + c: fused (f32x4.relaxed_madd) in the relaxed build, mul + add otherwise (results differ in the last bits)
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---------------------------------------------------------------------------------------------------------
// Reference paths.

export function conv2d_f32_fwd_ref(desc: usize, x: usize, w: usize, bias: usize, y: usize): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
  let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups;
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let o = 0; o < oc; o++) {
          let g = o / ocg;
          let acc: f32 = bias ? f(bias, o) : 0;
          for (let ki = 0; ki < kh; ki++) {
            let iy = oy * sh - pt + ki * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              let ix = ox * sw - pl + kj * dw;
              if (ix < 0 || ix >= wd) continue;
              let xb = ((<usize>(ni * h + iy) * wd + ix) * c + g * cg);
              let wb = (<usize>(o * kh + ki) * kw + kj) * cg;
              for (let ci = 0; ci < cg; ci++) acc += f(x, xb + ci) * f(w, wb + ci);
            }
          }
          fset(y, (<usize>(ni * oh + oy) * ow + ox) * oc + o, acc);
        }
      }
    }
  }
}

export function conv2d_f32_bwd_data_ref(desc: usize, dy: usize, w: usize, dx: usize, beta: f32): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
  let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups;
  betaScaleRef(dx, <usize>n * h * wd * c, beta);
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let o = 0; o < oc; o++) {
          let g = o / ocg;
          let d = f(dy, (<usize>(ni * oh + oy) * ow + ox) * oc + o);
          for (let ki = 0; ki < kh; ki++) {
            let iy = oy * sh - pt + ki * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              let ix = ox * sw - pl + kj * dw;
              if (ix < 0 || ix >= wd) continue;
              let xb = ((<usize>(ni * h + iy) * wd + ix) * c + g * cg);
              let wb = (<usize>(o * kh + ki) * kw + kj) * cg;
              for (let ci = 0; ci < cg; ci++) fset(dx, xb + ci, f(dx, xb + ci) + d * f(w, wb + ci));
            }
          }
        }
      }
    }
  }
}

export function conv2d_f32_bwd_filter_ref(desc: usize, x: usize, dy: usize, dwt: usize, db: usize, beta: f32): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
  let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups;
  for (let o = 0; o < oc; o++) {
    let g = o / ocg;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        for (let ci = 0; ci < cg; ci++) {
          let acc: f32 = 0;
          for (let ni = 0; ni < n; ni++) {
            for (let oy = 0; oy < oh; oy++) {
              let iy = oy * sh - pt + ki * dh;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                let ix = ox * sw - pl + kj * dw;
                if (ix < 0 || ix >= wd) continue;
                acc += f(dy, (<usize>(ni * oh + oy) * ow + ox) * oc + o) *
                       f(x, (<usize>(ni * h + iy) * wd + ix) * c + g * cg + ci);
              }
            }
          }
          let idx = (<usize>(o * kh + ki) * kw + kj) * cg + ci;
          fset(dwt, idx, beta == 0 ? acc : beta * f(dwt, idx) + acc);
        }
      }
    }
    if (db) {
      let s: f32 = 0;
      let m = n * oh * ow;
      for (let r = 0; r < m; r++) s += f(dy, <usize>r * oc + o);
      fset(db, o, beta == 0 ? s : beta * f(db, o) + s);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers of the fast paths.

// @ts-ignore: decorator
@inline function copyF(dst: usize, src: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= count; i += 8) {
      let o = <usize>i << 2;
      v128.store(dst + o, v128.load(src + o));
      v128.store(dst + o, v128.load(src + o, 16), 16);
    }
    for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  }
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function zeroF(dst: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let z = f32x4.splat(0);
    for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), z);
  }
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), 0);
}


// out[j] = β·out[j] + Σ_r a[r·lda + j] over `rows` rows, j < cols. Two-level sums (blocks of 256 rows) keep
// the rounding error of long columns small.
export function colsum_f32(rows: i32, cols: i32, a: usize, lda: i32, out: usize, beta: f32): void {
  let tot = heap.alloc(<usize>(cols + 4) << 2);
  let blk = heap.alloc(<usize>(cols + 4) << 2);
  zeroF(tot, cols);
  for (let r0 = 0; r0 < rows; r0 += 256) {
    let r1 = min(rows, r0 + 256);
    zeroF(blk, cols);
    for (let r = r0; r < r1; r++) addF(blk, a + ((<usize>r * lda) << 2), cols);
    addF(tot, blk, cols);
  }
  for (let j = 0; j < cols; j++) {
    let s = f(tot, j);
    fset(out, j, beta == 0 ? s : beta * f(out, j) + s);
  }
  heap.free(blk);
  heap.free(tot);
}

// Rows per im2col chunk: about CHUNK_FLOATS floats of cols, at least 24 rows, at most m.
// @ts-ignore: decorator
@inline function chunkRows(kg: i32, m: i32): i32 {
  return min(m, max(24, CHUNK_FLOATS / kg));
}

// im2col (adjoint = false): cols[i][(ki·KW + kj)·Cg + ci] = x[n][iy][ix][g·Cg + ci] (0 outside the image) for
// output rows r = m0 .. m0+mc-1 (r = (n·OH + oy)·OW + ox). col2im (adjoint = true), its adjoint:
// x[n][iy][ix][g·Cg + ci] += cols[i][(ki·KW + kj)·Cg + ci] (taps outside the image add nothing).
function im2colWalk(desc: usize, x: usize, g: i32, m0: i32, mc: i32, cols: usize, adjoint: bool): void {
  let h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
  let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups;
  let kg = kh * kw * cg;
  let ox = m0 % ow, t = m0 / ow;
  let oy = t % oh, ni = t / oh;
  let col = cols;
  let runs = groups == 1 && dw == 1;   // the KW taps of one kernel row are contiguous in x
  for (let i = 0; i < mc; i++) {
    let iy0 = oy * sh - pt, ix0 = ox * sw - pl;
    let img = x + ((<usize>ni * h * wd * c + <usize>g * cg) << 2);
    let d = col;
    for (let ki = 0; ki < kh; ki++) {
      let iy = iy0 + ki * dh;
      if (iy < 0 || iy >= h) {
        if (!adjoint) zeroF(d, kw * cg);
        d += <usize>(kw * cg) << 2;
        continue;
      }
      let row = img + ((<usize>iy * wd * c) << 2);
      if (runs && ix0 >= 0 && ix0 + kw <= wd) {
        let p = row + ((<usize>ix0 * c) << 2);
        if (adjoint) addF(p, d, kw * c); else copyF(d, p, kw * c);
        d += <usize>(kw * c) << 2;
        continue;
      }
      for (let kj = 0; kj < kw; kj++) {
        let ix = ix0 + kj * dw;
        let p = row + ((<usize>ix * c) << 2);
        if (ix < 0 || ix >= wd) { if (!adjoint) zeroF(d, cg); }
        else if (adjoint) { if (cg == 1) store<f32>(p, load<f32>(p) + load<f32>(d)); else addF(p, d, cg); }
        else if (cg == 1) store<f32>(d, load<f32>(p));
        else copyF(d, p, cg);
        d += <usize>cg << 2;
      }
    }
    col += <usize>kg << 2;
    if (++ox == ow) { ox = 0; if (++oy == oh) { oy = 0; ni++; } }
  }
}

// @ts-ignore: decorator
@inline function im2col(desc: usize, x: usize, g: i32, m0: i32, mc: i32, cols: usize): void {
  im2colWalk(desc, x, g, m0, mc, cols, false);
}

// @ts-ignore: decorator
@inline function col2im(desc: usize, dcols: usize, g: i32, m0: i32, mc: i32, dx: usize): void {
  im2colWalk(desc, dx, g, m0, mc, dcols, true);
}

// @ts-ignore: decorator
@inline function isPointwise(desc: usize): bool {
  return dget(desc, D_KH) == 1 && dget(desc, D_KW) == 1 && dget(desc, D_SH) == 1 && dget(desc, D_SW) == 1 &&
         dget(desc, D_PT) == 0 && dget(desc, D_PL) == 0 && dget(desc, D_PB) == 0 && dget(desc, D_PR) == 0;
}

// @ts-ignore: decorator
@inline function isDepthwise(desc: usize): bool {
  let g = dget(desc, D_G);
  return g > 1 && dget(desc, D_C) == g && dget(desc, D_OC) == g;
}

// First and one-past-last kernel index k with 0 ≤ i0 + k·d < size.
// @ts-ignore: decorator
@inline function tapLo(i0: i32, d: i32): i32 { return i0 >= 0 ? 0 : (-i0 + d - 1) / d; }
// @ts-ignore: decorator
@inline function tapHi(i0: i32, d: i32, size: i32, k: i32): i32 {
  return i0 > size - 1 ? 0 : min(k, (size - 1 - i0) / d + 1);
}

// w[C][taps] → wt[taps][C]
function transposeTaps(w: usize, c: i32, taps: i32, wt: usize): void {
  for (let ch = 0; ch < c; ch++) {
    for (let t = 0; t < taps; t++) fset(wt, <usize>t * c + ch, f(w, <usize>ch * taps + t));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Depthwise (C = OC = groups): vectorised over channels.

// The three depthwise passes walk the same (output pixel, tap) pairs over an input-side tensor (x, or dx) and a
// per-tap, per-channel buffer (the weights transposed to [tap][C], or dW's accumulator); `pix` is the output
// pixel's row of y (forward) or dy (backward). mode: DW_FWD, DW_BWD_DATA, DW_BWD_FILTER.
const DW_FWD = 0, DW_BWD_DATA = 1, DW_BWD_FILTER = 2;

function dwWalk(mode: i32, desc: usize, spatial: usize, pixels: usize, perTap: usize, bias: usize): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
  let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cs = <usize>c << 2;
  for (let ni = 0; ni < n; ni++) {
    let img = spatial + <usize>ni * h * wd * cs;
    for (let oy = 0; oy < oh; oy++) {
      let iy0 = oy * sh - pt;
      let k0 = tapLo(iy0, dh), k1 = tapHi(iy0, dh, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        let ix0 = ox * sw - pl;
        let j0 = tapLo(ix0, dw), j1 = tapHi(ix0, dw, wd, kw);
        let pix = pixels + (<usize>(ni * oh + oy) * ow + ox) * cs;
        if (mode == DW_FWD) dwPixelFwd(img, iy0, ix0, dh, dw, wd, perTap, kw, k0, k1, j0, j1, c, bias, pix);
        else dwPixelBwd(img, iy0, ix0, dh, dw, wd, perTap, kw, k0, k1, j0, j1, c, pix, mode == DW_BWD_FILTER);
      }
    }
  }
}

// out[ch] = bias[ch] + Σ taps x·w over the window's taps inside the image, per channel.
// @ts-ignore: decorator
@inline function dwPixelFwd(img: usize, iy0: i32, ix0: i32, dh: i32, dw: i32, wd: i32, wt: usize, kw: i32,
                            k0: i32, k1: i32, j0: i32, j1: i32, c: i32, bias: usize, out: usize): void {
  let cs = <usize>c << 2;
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    // 16 channels a step (four accumulators), tap pointers stepped rather than recomputed; per channel the same
    // bias + taps in (ki, kj) order as the 8- and 4-channel steps, so the sums are theirs
    let xs = <usize>dw * cs;
    for (; ch + 16 <= c; ch += 16) {
      let o = <usize>ch << 2;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      if (bias) { a0 = v128.load(bias + o); a1 = v128.load(bias + o, 16); a2 = v128.load(bias + o, 32); a3 = v128.load(bias + o, 48); }
      for (let ki = k0; ki < k1; ki++) {
        let xp = img + <usize>(iy0 + ki * dh) * wd * cs + <usize>(ix0 + j0 * dw) * cs + o;
        let wp = wt + <usize>(ki * kw + j0) * cs + o;
        for (let kj = j0; kj < j1; kj++) {
          a0 = madd(v128.load(xp), v128.load(wp), a0);
          a1 = madd(v128.load(xp, 16), v128.load(wp, 16), a1);
          a2 = madd(v128.load(xp, 32), v128.load(wp, 32), a2);
          a3 = madd(v128.load(xp, 48), v128.load(wp, 48), a3);
          xp += xs; wp += cs;
        }
      }
      v128.store(out + o, a0);
      v128.store(out + o, a1, 16);
      v128.store(out + o, a2, 32);
      v128.store(out + o, a3, 48);
    }
    for (; ch + 8 <= c; ch += 8) {
      let o = <usize>ch << 2;
      let a0 = f32x4.splat(0), a1 = a0;
      if (bias) { a0 = v128.load(bias + o); a1 = v128.load(bias + o, 16); }
      for (let ki = k0; ki < k1; ki++) {
        let row = img + <usize>(iy0 + ki * dh) * wd * cs + o;
        let wr = wt + <usize>(ki * kw) * cs + o;
        for (let kj = j0; kj < j1; kj++) {
          let xp = row + <usize>(ix0 + kj * dw) * cs;
          let wp = wr + <usize>kj * cs;
          a0 = madd(v128.load(xp), v128.load(wp), a0);
          a1 = madd(v128.load(xp, 16), v128.load(wp, 16), a1);
        }
      }
      v128.store(out + o, a0);
      v128.store(out + o, a1, 16);
    }
    for (; ch + 4 <= c; ch += 4) {
      let o = <usize>ch << 2;
      let a0 = bias ? v128.load(bias + o) : f32x4.splat(0);
      for (let ki = k0; ki < k1; ki++) {
        let row = img + <usize>(iy0 + ki * dh) * wd * cs + o;
        let wr = wt + <usize>(ki * kw) * cs + o;
        for (let kj = j0; kj < j1; kj++) a0 = madd(v128.load(row + <usize>(ix0 + kj * dw) * cs), v128.load(wr + <usize>kj * cs), a0);
      }
      v128.store(out + o, a0);
    }
  }
  for (; ch < c; ch++) {
    let o = <usize>ch << 2;
    let a: f32 = bias ? load<f32>(bias + o) : 0;
    for (let ki = k0; ki < k1; ki++) {
      let row = img + <usize>(iy0 + ki * dh) * wd * cs + o;
      let wr = wt + <usize>(ki * kw) * cs + o;
      for (let kj = j0; kj < j1; kj++) a += load<f32>(row + <usize>(ix0 + kj * dw) * cs) * load<f32>(wr + <usize>kj * cs);
    }
    store<f32>(out + o, a);
  }
}

// Backward at one output pixel, g = dy there: backward data adds g·k into the input-side row under each tap,
// backward filter (intoTaps) adds g·x into the tap's accumulator row (per channel, target + g·source; fused in
// the relaxed build).
// @ts-ignore: decorator
@inline function dwPixelBwd(img: usize, iy0: i32, ix0: i32, dh: i32, dw: i32, wd: i32, perTap: usize, kw: i32,
                            k0: i32, k1: i32, j0: i32, j1: i32, c: i32, g: usize, intoTaps: bool): void {
  let cs = <usize>c << 2;
  for (let ki = k0; ki < k1; ki++) {
    let row = img + <usize>(iy0 + ki * dh) * wd * cs;
    let kr = perTap + <usize>(ki * kw) * cs;
    for (let kj = j0; kj < j1; kj++) {
      let sp = row + <usize>(ix0 + kj * dw) * cs;
      let kp = kr + <usize>kj * cs;
      let dst = intoTaps ? kp : sp, src = intoTaps ? sp : kp;
      let ch = 0;
      if (ASC_FEATURE_SIMD) {
        for (; ch + 4 <= c; ch += 4) {
          let o = <usize>ch << 2;
          v128.store(dst + o, madd(v128.load(g + o), v128.load(src + o), v128.load(dst + o)));
        }
      }
      for (; ch < c; ch++) {
        let o = <usize>ch << 2;
        store<f32>(dst + o, load<f32>(dst + o) + load<f32>(g + o) * load<f32>(src + o));
      }
    }
  }
}

function dwFwd(desc: usize, x: usize, w: usize, bias: usize, y: usize): void {
  let c = dget(desc, D_C), taps = dget(desc, D_KH) * dget(desc, D_KW);
  let wt = heap.alloc(<usize>taps * c * 4 + 16);
  transposeTaps(w, c, taps, wt);
  dwWalk(DW_FWD, desc, x, y, wt, bias);
  heap.free(wt);
}

function dwBwdData(desc: usize, dy: usize, w: usize, dx: usize, beta: f32): void {
  let c = dget(desc, D_C), taps = dget(desc, D_KH) * dget(desc, D_KW);
  let wt = heap.alloc(<usize>taps * c * 4 + 16);
  transposeTaps(w, c, taps, wt);
  betaScale(dx, <usize>dget(desc, D_N) * dget(desc, D_H) * dget(desc, D_W) * c, beta);
  dwWalk(DW_BWD_DATA, desc, dx, dy, wt, 0);
  heap.free(wt);
}

function dwBwdFilter(desc: usize, x: usize, dy: usize, dwt: usize, beta: f32): void {
  let c = dget(desc, D_C), taps = dget(desc, D_KH) * dget(desc, D_KW);
  let acc = heap.alloc(<usize>taps * c * 4 + 16);
  zeroF(acc, taps * c);
  dwWalk(DW_BWD_FILTER, desc, x, dy, acc, 0);
  for (let ch = 0; ch < c; ch++) {
    for (let t = 0; t < taps; t++) {
      let i = <usize>ch * taps + t;
      let s = f(acc, <usize>t * c + ch);
      fset(dwt, i, beta == 0 ? s : beta * f(dwt, i) + s);
    }
  }
  heap.free(acc);
}

// ---------------------------------------------------------------------------------------------------------
// Small-K direct kernels (SIMD builds, groups = 1, Kg = KH·KW·C ≤ SMALL_KG: first layers on 1–3 channels).
// With so few taps the GEMM's packing and short K loop dominate; these read x through a table of tap offsets
// and keep the weights transposed to wt[Kg][OCp] (OCp = OC rounded up to 8, zero padded). Windows fully inside
// the image are done four output pixels × eight channels at a time; windows touching the padding one pixel at
// a time with bounds checks.

const SMALL_KG: i32 = 32;

// @ts-ignore: decorator
@inline function isSmallK(desc: usize): bool {
  return dget(desc, D_G) == 1 && dget(desc, D_KH) * dget(desc, D_KW) * dget(desc, D_C) <= SMALL_KG;
}

// wt[k][o] = w[o][k] (o < OC), 0 for OC ≤ o < OCp; off[k] = byte offset of tap k from the window origin.
function smallPrep(desc: usize, w: usize, wt: usize, off: usize): void {
  let wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let kg = kh * kw * c, ocp = (oc + 7) & ~7;
  if (wt) {
    for (let k = 0; k < kg; k++) {
      for (let o = 0; o < ocp; o++) fset(wt, <usize>k * ocp + o, o < oc ? f(w, <usize>o * kg + k) : 0);
    }
  }
  let k = 0;
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      for (let ci = 0; ci < c; ci++) store<i32>(off + (<usize>(k++) << 2), ((ki * dh * wd + kj * dw) * c + ci) << 2);
    }
  }
}

// Output columns [lo, hi) whose windows lie inside the image horizontally.
// @ts-ignore: decorator
@inline function interiorLo(pl: i32, sw: i32): i32 { return pl > 0 ? (pl + sw - 1) / sw : 0; }
// @ts-ignore: decorator
@inline function interiorHi(wd: i32, kw: i32, dw: i32, pl: i32, sw: i32, ow: i32): i32 {
  let num = wd - 1 - (kw - 1) * dw + pl;
  return num < 0 ? 0 : min(ow, num / sw + 1);
}

function smallFwd(desc: usize, x: usize, w: usize, bias: usize, y: usize): void {
  if (ASC_FEATURE_SIMD) {
    let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
    let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
    let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
    let oh = dget(desc, D_OH), ow = dget(desc, D_OW);
    let kg = kh * kw * c, ocp = (oc + 7) & ~7;
    let wt = heap.alloc(<usize>kg * ocp * 4), off = heap.alloc(<usize>kg * 4);
    let bp = heap.alloc(<usize>ocp * 4), tmp = heap.alloc(32);
    smallPrep(desc, w, wt, off);
    for (let o = 0; o < ocp; o++) fset(bp, o, bias && o < oc ? f(bias, o) : 0);
    let wstep = <usize>ocp << 2, cs = <usize>c << 2;
    let xlo = interiorLo(pl, sw), xhi = interiorHi(wd, kw, dw, pl, sw, ow);
    for (let ni = 0; ni < n; ni++) {
      for (let oy = 0; oy < oh; oy++) {
        let iy0 = oy * sh - pt;
        let rowIn = iy0 >= 0 && iy0 + (kh - 1) * dh < h;
        let yrow = y + ((<usize>(ni * oh + oy) * ow * oc) << 2);
        let ox = 0;
        while (ox < ow) {
          if (rowIn && ox >= xlo && ox + 4 <= xhi) {
            let xb0 = x + (<usize>(ni * h + iy0) * wd + (ox * sw - pl)) * cs;
            let st = <usize>sw * cs;
            let xb1 = xb0 + st, xb2 = xb1 + st, xb3 = xb2 + st;
            for (let ob = 0; ob < ocp; ob += 8) {
              let a00 = v128.load(bp + (<usize>ob << 2)), a01 = v128.load(bp + (<usize>ob << 2), 16);
              let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
              let wp = wt + (<usize>ob << 2);
              for (let k = 0; k < kg; k++) {
                let o = <usize>load<i32>(off + (<usize>k << 2));
                let w0 = v128.load(wp), w1 = v128.load(wp, 16);
                let x0 = v128.load32_splat(xb0 + o);
                a00 = madd(x0, w0, a00); a01 = madd(x0, w1, a01);
                let x1 = v128.load32_splat(xb1 + o);
                a10 = madd(x1, w0, a10); a11 = madd(x1, w1, a11);
                let x2 = v128.load32_splat(xb2 + o);
                a20 = madd(x2, w0, a20); a21 = madd(x2, w1, a21);
                let x3 = v128.load32_splat(xb3 + o);
                a30 = madd(x3, w0, a30); a31 = madd(x3, w1, a31);
                wp += wstep;
              }
              let yp = yrow + ((<usize>ox * oc + ob) << 2);
              let rs = <usize>oc << 2;
              let cols = min(8, oc - ob);
              storeOut(yp, a00, a01, cols, tmp);
              storeOut(yp + rs, a10, a11, cols, tmp);
              storeOut(yp + 2 * rs, a20, a21, cols, tmp);
              storeOut(yp + 3 * rs, a30, a31, cols, tmp);
            }
            ox += 4;
            continue;
          }
          // one pixel, bounds-checked taps
          let ix0 = ox * sw - pl;
          let k0 = tapLo(iy0, dh), k1 = tapHi(iy0, dh, h, kh), j0 = tapLo(ix0, dw), j1 = tapHi(ix0, dw, wd, kw);
          for (let ob = 0; ob < ocp; ob += 8) {
            let a0 = v128.load(bp + (<usize>ob << 2)), a1 = v128.load(bp + (<usize>ob << 2), 16);
            for (let ki = k0; ki < k1; ki++) {
              for (let kj = j0; kj < j1; kj++) {
                let xb = x + (<usize>(ni * h + iy0 + ki * dh) * wd + (ix0 + kj * dw)) * cs;
                let wp = wt + ((<usize>((ki * kw + kj) * c) * ocp + ob) << 2);
                for (let ci = 0; ci < c; ci++) {
                  let xs = v128.load32_splat(xb + (<usize>ci << 2));
                  a0 = madd(xs, v128.load(wp), a0);
                  a1 = madd(xs, v128.load(wp, 16), a1);
                  wp += wstep;
                }
              }
            }
            storeOut(yrow + ((<usize>ox * oc + ob) << 2), a0, a1, min(8, oc - ob), tmp);
          }
          ox++;
        }
      }
    }
    heap.free(tmp); heap.free(bp); heap.free(off); heap.free(wt);
  }
}

// Stores the first `cols` (≤ 8) lanes of v0:v1 at p.
// @ts-ignore: decorator
@inline function storeOut(p: usize, v0: v128, v1: v128, cols: i32, tmp: usize): void {
  if (cols == 8) { v128.store(p, v0); v128.store(p, v1, 16); return; }
  v128.store(tmp, v0); v128.store(tmp, v1, 16);
  for (let j = 0; j < cols; j++) store<f32>(p + (<usize>j << 2), load<f32>(tmp + (<usize>j << 2)));
}

// dW (β-scaled) += Σ over output pixels of x[tap k] · dy[o]; accumulates in t[Kg][OCp], then transposes.
function smallBwdFilter(desc: usize, x: usize, dy: usize, dwt: usize, beta: f32): void {
  if (ASC_FEATURE_SIMD) {
    let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
    let kh = dget(desc, D_KH), kw = dget(desc, D_KW), sh = dget(desc, D_SH), sw = dget(desc, D_SW);
    let pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
    let oh = dget(desc, D_OH), ow = dget(desc, D_OW);
    let kg = kh * kw * c, ocp = (oc + 7) & ~7;
    let t = heap.alloc(<usize>kg * ocp * 4), off = heap.alloc(<usize>kg * 4);
    let gb = heap.alloc(<usize>ocp * 4 * 4);   // dy of four pixels, zero padded to OCp
    smallPrep(desc, 0, 0, off);
    zeroF(t, kg * ocp);
    zeroF(gb, 4 * ocp);
    let wstep = <usize>ocp << 2, cs = <usize>c << 2, gs = <usize>ocp << 2;
    let xlo = interiorLo(pl, sw), xhi = interiorHi(wd, kw, dw, pl, sw, ow);
    for (let ni = 0; ni < n; ni++) {
      for (let oy = 0; oy < oh; oy++) {
        let iy0 = oy * sh - pt;
        let rowIn = iy0 >= 0 && iy0 + (kh - 1) * dh < h;
        let grow = dy + ((<usize>(ni * oh + oy) * ow * oc) << 2);
        let ox = 0;
        while (ox < ow) {
          if (rowIn && ox >= xlo && ox + 4 <= xhi) {
            for (let p = 0; p < 4; p++) copyF(gb + <usize>p * gs, grow + ((<usize>(ox + p) * oc) << 2), oc);
            let xb0 = x + (<usize>(ni * h + iy0) * wd + (ox * sw - pl)) * cs;
            let st = <usize>sw * cs;
            let xb1 = xb0 + st, xb2 = xb1 + st, xb3 = xb2 + st;
            for (let ob = 0; ob < ocp; ob += 8) {
              let gp = gb + (<usize>ob << 2);
              let g00 = v128.load(gp), g01 = v128.load(gp, 16);
              let g10 = v128.load(gp + gs), g11 = v128.load(gp + gs, 16);
              let g20 = v128.load(gp + 2 * gs), g21 = v128.load(gp + 2 * gs, 16);
              let g30 = v128.load(gp + 3 * gs), g31 = v128.load(gp + 3 * gs, 16);
              let tp = t + (<usize>ob << 2);
              for (let k = 0; k < kg; k++) {
                let o = <usize>load<i32>(off + (<usize>k << 2));
                let x0 = v128.load32_splat(xb0 + o), x1 = v128.load32_splat(xb1 + o);
                let x2 = v128.load32_splat(xb2 + o), x3 = v128.load32_splat(xb3 + o);
                if (ASC_FEATURE_RELAXED_SIMD) {
                  v128.store(tp, madd(x3, g30, madd(x2, g20, madd(x1, g10, madd(x0, g00, v128.load(tp))))));
                  v128.store(tp, madd(x3, g31, madd(x2, g21, madd(x1, g11, madd(x0, g01, v128.load(tp, 16))))), 16);
                } else {
                  let s0 = f32x4.add(f32x4.add(f32x4.mul(x0, g00), f32x4.mul(x1, g10)), f32x4.add(f32x4.mul(x2, g20), f32x4.mul(x3, g30)));
                  let s1 = f32x4.add(f32x4.add(f32x4.mul(x0, g01), f32x4.mul(x1, g11)), f32x4.add(f32x4.mul(x2, g21), f32x4.mul(x3, g31)));
                  v128.store(tp, f32x4.add(v128.load(tp), s0));
                  v128.store(tp, f32x4.add(v128.load(tp, 16), s1), 16);
                }
                tp += wstep;
              }
            }
            ox += 4;
            continue;
          }
          copyF(gb, grow + ((<usize>ox * oc) << 2), oc);
          let ix0 = ox * sw - pl;
          let k0 = tapLo(iy0, dh), k1 = tapHi(iy0, dh, h, kh), j0 = tapLo(ix0, dw), j1 = tapHi(ix0, dw, wd, kw);
          for (let ki = k0; ki < k1; ki++) {
            for (let kj = j0; kj < j1; kj++) {
              let xb = x + (<usize>(ni * h + iy0 + ki * dh) * wd + (ix0 + kj * dw)) * cs;
              let tp = t + ((<usize>((ki * kw + kj) * c) * ocp) << 2);
              for (let ci = 0; ci < c; ci++) {
                let xs = v128.load32_splat(xb + (<usize>ci << 2));
                for (let ob = 0; ob < ocp; ob += 4) {
                  let o = <usize>ob << 2;
                  v128.store(tp + o, madd(xs, v128.load(gb + o), v128.load(tp + o)));
                }
                tp += wstep;
              }
            }
          }
          ox++;
        }
      }
    }
    for (let o = 0; o < oc; o++) {
      let row = dwt + ((<usize>o * kg) << 2);
      for (let k = 0; k < kg; k++) {
        let v = f(t, <usize>k * ocp + o);
        fset(row, k, beta == 0 ? v : beta * f(row, k) + v);
      }
    }
    heap.free(gb); heap.free(off); heap.free(t);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fast paths.

export function conv2d_f32_fwd(desc: usize, x: usize, w: usize, bias: usize, y: usize): void {
  if (isDepthwise(desc)) { dwFwd(desc, x, w, bias, y); return; }
  if (ASC_FEATURE_SIMD) { if (isSmallK(desc) && !isPointwise(desc)) { smallFwd(desc, x, w, bias, y); return; } }
  let n = dget(desc, D_N), c = dget(desc, D_C), oc = dget(desc, D_OC), kh = dget(desc, D_KH), kw = dget(desc, D_KW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups, kg = kh * kw * cg;
  let m = n * oh * ow;
  if (isPointwise(desc)) {
    for (let g = 0; g < groups; g++) {
      gemm_f32(m, cg, ocg, 1, x + (<usize>(g * cg) << 2), c, 0, w + (<usize>(g * ocg * cg) << 2), cg, 1,
               0, y + (<usize>(g * ocg) << 2), oc, bias ? bias + (<usize>(g * ocg) << 2) : 0);
    }
    return;
  }
  let mcMax = chunkRows(kg, m);
  let cols = heap.alloc(<usize>mcMax * kg * 4);
  for (let m0 = 0; m0 < m; m0 += mcMax) {
    let mc = min(mcMax, m - m0);
    for (let g = 0; g < groups; g++) {
      im2col(desc, x, g, m0, mc, cols);
      gemm_f32(mc, kg, ocg, 1, cols, kg, 0, w + (<usize>(g * ocg * kg) << 2), kg, 1,
               0, y + ((<usize>m0 * oc + g * ocg) << 2), oc, bias ? bias + (<usize>(g * ocg) << 2) : 0);
    }
  }
  heap.free(cols);
}

export function conv2d_f32_bwd_data(desc: usize, dy: usize, w: usize, dx: usize, beta: f32): void {
  if (isDepthwise(desc)) { dwBwdData(desc, dy, w, dx, beta); return; }
  let n = dget(desc, D_N), h = dget(desc, D_H), wd = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups, kg = kh * kw * cg;
  let m = n * oh * ow;
  if (isPointwise(desc)) {
    for (let g = 0; g < groups; g++) {
      gemm_f32(m, ocg, cg, 1, dy + (<usize>(g * ocg) << 2), oc, 0, w + (<usize>(g * ocg * cg) << 2), cg, 0,
               beta, dx + (<usize>(g * cg) << 2), c, 0);
    }
    return;
  }
  betaScale(dx, <usize>n * h * wd * c, beta);
  let mcMax = chunkRows(kg, m);
  let cols = heap.alloc(<usize>mcMax * kg * 4);
  for (let m0 = 0; m0 < m; m0 += mcMax) {
    let mc = min(mcMax, m - m0);
    for (let g = 0; g < groups; g++) {
      gemm_f32(mc, ocg, kg, 1, dy + ((<usize>m0 * oc + g * ocg) << 2), oc, 0, w + (<usize>(g * ocg * kg) << 2), kg, 0,
               0, cols, kg, 0);
      col2im(desc, cols, g, m0, mc, dx);
    }
  }
  heap.free(cols);
}

// dW_g (OCg×Kg) from cols (rows × Kg, row stride ldc) and dy_g (rows × OCg, row stride OC), either directly
// (dW_g = dy_gᵀ·cols) or, when the GEMM's 6×8 tiles fit the transposed shape better (e.g. Kg = 9, OCg = 32),
// as dW_gᵀ = colsᵀ·dy_g into t (Kg×OCg, transposed back at the end by flipStore).
// @ts-ignore: decorator
@inline function flipDW(ocg: i32, kg: i32): bool {
  let costA = <f64>((ocg + 5) / 6 * 6) * <f64>((kg + 7) / 8 * 8);
  let costB = <f64>((kg + 5) / 6 * 6) * <f64>((ocg + 7) / 8 * 8);
  return costB < costA;
}

function flipStore(groups: i32, ocg: i32, kg: i32, t: usize, dwt: usize, beta: f32): void {
  for (let g = 0; g < groups; g++) {
    let tg = t + ((<usize>g * kg * ocg) << 2);
    for (let o = 0; o < ocg; o++) {
      let row = dwt + ((<usize>(g * ocg + o) * kg) << 2);
      for (let k = 0; k < kg; k++) {
        let v = f(tg, <usize>k * ocg + o);
        fset(row, k, beta == 0 ? v : beta * f(row, k) + v);
      }
    }
  }
}

export function conv2d_f32_bwd_filter(desc: usize, x: usize, dy: usize, dwt: usize, db: usize, beta: f32): void {
  let n = dget(desc, D_N), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW);
  let groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let cg = c / groups, ocg = oc / groups, kg = kh * kw * cg;
  let m = n * oh * ow;
  if (db) colsum_f32(m, oc, dy, oc, db, beta);
  if (isDepthwise(desc)) { dwBwdFilter(desc, x, dy, dwt, beta); return; }
  if (ASC_FEATURE_SIMD) { if (isSmallK(desc) && !isPointwise(desc)) { smallBwdFilter(desc, x, dy, dwt, beta); return; } }
  let flip = flipDW(ocg, kg);
  let t = flip ? heap.alloc(<usize>groups * kg * ocg * 4) : 0;
  if (isPointwise(desc)) {
    for (let g = 0; g < groups; g++) {
      let dyg = dy + (<usize>(g * ocg) << 2), xg = x + (<usize>(g * cg) << 2);
      if (flip) gemm_f32(cg, m, ocg, 1, xg, c, 1, dyg, oc, 0, 0, t + ((<usize>g * cg * ocg) << 2), ocg, 0);
      else gemm_f32(ocg, m, cg, 1, dyg, oc, 1, xg, c, 0, beta, dwt + (<usize>(g * ocg * cg) << 2), cg, 0);
    }
  } else {
    let mcMax = chunkRows(kg, m);
    let cols = heap.alloc(<usize>mcMax * kg * 4);
    for (let m0 = 0; m0 < m; m0 += mcMax) {
      let mc = min(mcMax, m - m0);
      for (let g = 0; g < groups; g++) {
        im2col(desc, x, g, m0, mc, cols);
        let dyg = dy + ((<usize>m0 * oc + g * ocg) << 2);
        if (flip) {
          gemm_f32(kg, mc, ocg, 1, cols, kg, 1, dyg, oc, 0, m0 == 0 ? 0 : 1, t + ((<usize>g * kg * ocg) << 2), ocg, 0);
        } else {
          gemm_f32(ocg, mc, kg, 1, dyg, oc, 1, cols, kg, 0, m0 == 0 ? beta : 1, dwt + (<usize>(g * ocg * kg) << 2), kg, 0);
        }
      }
    }
    heap.free(cols);
  }
  if (flip) { flipStore(groups, ocg, kg, t, dwt, beta); heap.free(t); }
}
