// f32 2-D pooling over NHWC tensors, forward and backward, for training.
// Descriptor: 14 int32 at `desc` in the order of the P_* constants (written and validated by
// src/kernels/pool_f32.ts): N, H, W, C, KH, KW, strideH, strideW, padT, padL, padB, padR, OH, OW with
//   OH = (H + padT + padB - KH) / strideH + 1 (floor).
// Padding never contributes a value: padding < kernel size (checked by the host) so every window holds at
// least one real element.
//   max pool: y = max over the window's real elements (the first one wins ties; comparisons are `>`, so a NaN
//             wins only as the window's first element); idx (int32, optional: pass 0) receives the flat index into x of the
//             winner, ((n·H + iy)·W + ix)·C + c; backward scatter-adds dy into dx at idx.
//   avg pool: y = mean over the window's real elements (count_include_pad = false: a window clipped by the
//             padding divides by the number of real elements it covers); backward spreads dy / count.
//   global average pool: y[N][C] = mean over H·W; backward dx = dy / (H·W) broadcast.
// Backward passes take β: 0 overwrites dx (never reads it), 1 accumulates, other values scale first.
// *_ref functions are plain loops in every build; the fast paths vectorise over channels.

import { betaScale, betaScaleRef } from './beta_f32';
import { dget } from './conv_desc';
import { addF } from './vec_f32';
const P_N = 0, P_H = 1, P_W = 2, P_C = 3, P_KH = 4, P_KW = 5, P_SH = 6, P_SW = 7;
const P_PT = 8, P_PL = 9, P_OH = 12, P_OW = 13;

// @ts-ignore: decorator
@inline function f(p: usize, i: usize): f32 { return load<f32>(p + (i << 2)); }
// @ts-ignore: decorator
@inline function fset(p: usize, i: usize, v: f32): void { store<f32>(p + (i << 2), v); }

// @ts-ignore: decorator
@inline function tapLo(i0: i32): i32 { return i0 >= 0 ? 0 : -i0; }
// @ts-ignore: decorator
@inline function tapHi(i0: i32, size: i32, k: i32): i32 { return min(k, size - i0); }

// ---------------------------------------------------------------------------------------------------------
// Max pool.

export function maxpool2d_f32_fwd_ref(desc: usize, x: usize, y: usize, idx: usize): void {
  let n = dget(desc, P_N), h = dget(desc, P_H), w = dget(desc, P_W), c = dget(desc, P_C);
  let kh = dget(desc, P_KH), kw = dget(desc, P_KW), sh = dget(desc, P_SH), sw = dget(desc, P_SW);
  let pt = dget(desc, P_PT), pl = dget(desc, P_PL), oh = dget(desc, P_OH), ow = dget(desc, P_OW);
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best: f32 = 0, bi = -1;
          for (let ki = 0; ki < kh; ki++) {
            let iy = oy * sh - pt + ki;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              let ix = ox * sw - pl + kj;
              if (ix < 0 || ix >= w) continue;
              let i = ((ni * h + iy) * w + ix) * c + ch;
              let v = f(x, i);
              if (bi < 0 || v > best) { best = v; bi = i; }
            }
          }
          let o = (<usize>(ni * oh + oy) * ow + ox) * c + ch;
          fset(y, o, best);
          if (idx) store<i32>(idx + (o << 2), bi);
        }
      }
    }
  }
}

export function maxpool2d_f32_fwd(desc: usize, x: usize, y: usize, idx: usize): void {
  poolWalk(POOL_MAX, desc, x, y, idx);
}

// dx (n·H·W·C floats) = β·dx, then dx[idx[o]] += dy[o] for every output element o (count of them).
export function maxpool2d_f32_bwd_ref(count: i32, dy: usize, idx: usize, dxCount: i32, dx: usize, beta: f32): void {
  betaScaleRef(dx, dxCount, beta);
  for (let o = 0; o < count; o++) {
    let i = <usize>load<i32>(idx + (<usize>o << 2));
    fset(dx, i, f(dx, i) + f(dy, o));
  }
}

export function maxpool2d_f32_bwd(count: i32, dy: usize, idx: usize, dxCount: i32, dx: usize, beta: f32): void {
  betaScale(dx, dxCount, beta);
  let o = 0;
  for (; o + 4 <= count; o += 4) {
    let ip = idx + (<usize>o << 2), gp = dy + (<usize>o << 2);
    let i0 = <usize>load<i32>(ip) << 2, i1 = <usize>load<i32>(ip, 4) << 2;
    let i2 = <usize>load<i32>(ip, 8) << 2, i3 = <usize>load<i32>(ip, 12) << 2;
    store<f32>(dx + i0, load<f32>(dx + i0) + load<f32>(gp));
    store<f32>(dx + i1, load<f32>(dx + i1) + load<f32>(gp, 4));
    store<f32>(dx + i2, load<f32>(dx + i2) + load<f32>(gp, 8));
    store<f32>(dx + i3, load<f32>(dx + i3) + load<f32>(gp, 12));
  }
  for (; o < count; o++) {
    let i = <usize>load<i32>(idx + (<usize>o << 2));
    fset(dx, i, f(dx, i) + f(dy, o));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Average pool (count_include_pad = false).

export function avgpool2d_f32_fwd_ref(desc: usize, x: usize, y: usize): void {
  let n = dget(desc, P_N), h = dget(desc, P_H), w = dget(desc, P_W), c = dget(desc, P_C);
  let kh = dget(desc, P_KH), kw = dget(desc, P_KW), sh = dget(desc, P_SH), sw = dget(desc, P_SW);
  let pt = dget(desc, P_PT), pl = dget(desc, P_PL), oh = dget(desc, P_OH), ow = dget(desc, P_OW);
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let s: f32 = 0, cnt = 0;
          for (let ki = 0; ki < kh; ki++) {
            let iy = oy * sh - pt + ki;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              let ix = ox * sw - pl + kj;
              if (ix < 0 || ix >= w) continue;
              s += f(x, (<usize>(ni * h + iy) * w + ix) * c + ch);
              cnt++;
            }
          }
          fset(y, (<usize>(ni * oh + oy) * ow + ox) * c + ch, s / <f32>cnt);
        }
      }
    }
  }
}

export function avgpool2d_f32_fwd(desc: usize, x: usize, y: usize): void {
  poolWalk(POOL_AVG, desc, x, y, 0);
}

export function avgpool2d_f32_bwd_ref(desc: usize, dy: usize, dx: usize, beta: f32): void {
  let n = dget(desc, P_N), h = dget(desc, P_H), w = dget(desc, P_W), c = dget(desc, P_C);
  let kh = dget(desc, P_KH), kw = dget(desc, P_KW), sh = dget(desc, P_SH), sw = dget(desc, P_SW);
  let pt = dget(desc, P_PT), pl = dget(desc, P_PL), oh = dget(desc, P_OH), ow = dget(desc, P_OW);
  betaScaleRef(dx, <usize>n * h * w * c, beta);
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let cnt = 0;
        for (let ki = 0; ki < kh; ki++) {
          let iy = oy * sh - pt + ki;
          for (let kj = 0; kj < kw; kj++) {
            let ix = ox * sw - pl + kj;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) cnt++;
          }
        }
        for (let ch = 0; ch < c; ch++) {
          let g = f(dy, (<usize>(ni * oh + oy) * ow + ox) * c + ch) / <f32>cnt;
          for (let ki = 0; ki < kh; ki++) {
            let iy = oy * sh - pt + ki;
            if (iy < 0 || iy >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              let ix = ox * sw - pl + kj;
              if (ix < 0 || ix >= w) continue;
              let i = (<usize>(ni * h + iy) * w + ix) * c + ch;
              fset(dx, i, f(dx, i) + g);
            }
          }
        }
      }
    }
  }
}

export function avgpool2d_f32_bwd(desc: usize, dy: usize, dx: usize, beta: f32): void {
  betaScale(dx, <usize>dget(desc, P_N) * dget(desc, P_H) * dget(desc, P_W) * dget(desc, P_C), beta);
  poolWalk(POOL_AVG_BWD, desc, dx, dy, 0);
}

// The fast paths' walk over output pixels (o: the pixel's flat index / C). The window's valid taps are rows
// k0 … k1−1, columns j0 … j1−1 (padding never counts); its first valid element has flat index `first`.
//   POOL_MAX      x → y (max; idx receives the winners' flat indices when not 0)
//   POOL_AVG      x → y (mean)
//   POOL_AVG_BWD  spreads y = dy / count over the window in x = dx
const POOL_MAX = 0, POOL_AVG = 1, POOL_AVG_BWD = 2;

function poolWalk(mode: i32, desc: usize, x: usize, y: usize, idx: usize): void {
  let n = dget(desc, P_N), h = dget(desc, P_H), w = dget(desc, P_W), c = dget(desc, P_C);
  let kh = dget(desc, P_KH), kw = dget(desc, P_KW), sh = dget(desc, P_SH), sw = dget(desc, P_SW);
  let pt = dget(desc, P_PT), pl = dget(desc, P_PL), oh = dget(desc, P_OH), ow = dget(desc, P_OW);
  let scratch = heap.alloc((<usize>c << 2) + 16);   // max: the winners' indices without idx; avg bwd: dy / count
  for (let ni = 0; ni < n; ni++) {
    for (let oy = 0; oy < oh; oy++) {
      let iy0 = oy * sh - pt;
      let k0 = tapLo(iy0), k1 = tapHi(iy0, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        let ix0 = ox * sw - pl;
        let j0 = tapLo(ix0), j1 = tapHi(ix0, w, kw);
        let o = (<usize>(ni * oh + oy) * ow + ox) * c;
        let first = ((ni * h + iy0 + k0) * w + ix0 + j0) * c;   // flat index of the window's first element
        if (mode == POOL_MAX) maxPixel(x, y, idx, scratch, o, first, k1 - k0, j1 - j0, w, c);
        else avgPixel(mode == POOL_AVG_BWD, x, y, scratch, o, first, k1 - k0, j1 - j0, w, c);
      }
    }
  }
  heap.free(scratch);
}

// Max over the window (rows × cols valid taps from flat index `first`, rows w·c apart) into y[o …], the
// winners' flat indices into idx[o …] (or ib): the first one wins ties.
// @ts-ignore: decorator
@inline function maxPixel(x: usize, y: usize, idx: usize, ib: usize, o: usize, first: i32, rows: i32, cols: i32, w: i32, c: i32): void {
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    let lanes = i32x4(0, 1, 2, 3);
    for (; ch + 4 <= c; ch += 4) {
      let best = v128.load(x + ((<usize>first + ch) << 2));
      let bi = i32x4.add(i32x4.splat(first + ch), lanes);
      for (let ki = 0; ki < rows; ki++) {
        for (let kj = 0; kj < cols; kj++) {
          let i = first + (ki * w + kj) * c + ch;
          let v = v128.load(x + (<usize>i << 2));
          let gt = f32x4.gt(v, best);
          best = v128.bitselect(v, best, gt);
          bi = v128.bitselect(i32x4.add(i32x4.splat(i), lanes), bi, gt);
        }
      }
      v128.store(y + ((o + ch) << 2), best);
      if (idx) v128.store(idx + ((o + ch) << 2), bi);
    }
  }
  if (ch < c) {
    // remaining channels (all of them in the scalar build): first tap, then each further tap streams over
    // the channels, keeping the running max in y and its index in idx (or the scratch row `ib`)
    let ir = idx ? idx + (o << 2) : ib;
    let yr = y + (o << 2);
    for (let j = ch; j < c; j++) { fset(yr, j, f(x, first + j)); store<i32>(ir + (<usize>j << 2), first + j); }
    for (let ki = 0; ki < rows; ki++) {
      for (let kj = 0; kj < cols; kj++) {
        if (ki == 0 && kj == 0) continue;
        let t = first + (ki * w + kj) * c;
        let xr = x + (<usize>t << 2);
        for (let j = ch; j < c; j++) {
          let v = load<f32>(xr + (<usize>j << 2));
          let best = load<f32>(yr + (<usize>j << 2));
          if (v > best) {
            store<f32>(yr + (<usize>j << 2), v);
            store<i32>(ir + (<usize>j << 2), t + j);
          }
        }
      }
    }
  }
}

// Mean over the window into y[o …] (bwd = false), or (bwd) gs = y[o …] / count added to every window element of x.
// @ts-ignore: decorator
@inline function avgPixel(bwd: bool, x: usize, y: usize, gs: usize, o: usize, first: i32, rows: i32, cols: i32, w: i32, c: i32): void {
  let cs = <usize>c << 2, rs = <usize>w * cs;
  let cnt = <f32>(rows * cols);
  let win = x + (<usize>first << 2);
  let out = y + (o << 2);
  let ch = 0;
  if (bwd) {
    if (ASC_FEATURE_SIMD) {
      let vc = f32x4.splat(cnt);
      for (; ch + 4 <= c; ch += 4) v128.store(gs + (<usize>ch << 2), f32x4.div(v128.load(out + (<usize>ch << 2)), vc));
    }
    for (; ch < c; ch++) fset(gs, ch, f(out, ch) / cnt);
    for (let ki = 0; ki < rows; ki++) {
      for (let kj = 0; kj < cols; kj++) {
        addF(win + <usize>ki * rs + <usize>kj * cs, gs, c);
      }
    }
    return;
  }
  if (ASC_FEATURE_SIMD) {
    let vc = f32x4.splat(cnt);
    for (; ch + 4 <= c; ch += 4) {
      let q = <usize>ch << 2;
      let s = f32x4.splat(0);
      for (let ki = 0; ki < rows; ki++) {
        let row = win + <usize>ki * rs + q;
        for (let kj = 0; kj < cols; kj++) s = f32x4.add(s, v128.load(row + <usize>kj * cs));
      }
      v128.store(out + q, f32x4.div(s, vc));
    }
  }
  for (; ch < c; ch++) {
    let q = <usize>ch << 2;
    let s: f32 = 0;
    for (let ki = 0; ki < rows; ki++) {
      let row = win + <usize>ki * rs + q;
      for (let kj = 0; kj < cols; kj++) s += load<f32>(row + <usize>kj * cs);
    }
    store<f32>(out + q, s / cnt);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Global average pool: x[N][HW][C] → y[N][C].

export function global_avgpool_f32_fwd_ref(n: i32, hw: i32, c: i32, x: usize, y: usize): void {
  for (let ni = 0; ni < n; ni++) {
    for (let ch = 0; ch < c; ch++) {
      let s: f32 = 0;
      for (let p = 0; p < hw; p++) s += f(x, (<usize>ni * hw + p) * c + ch);
      fset(y, <usize>ni * c + ch, s / <f32>hw);
    }
  }
}

export function global_avgpool_f32_fwd(n: i32, hw: i32, c: i32, x: usize, y: usize): void {
  let acc = heap.alloc((<usize>c << 2) + 16);
  let blk = heap.alloc((<usize>c << 2) + 16);
  let inv: f32 = <f32>hw;
  for (let ni = 0; ni < n; ni++) {
    for (let j = 0; j < c; j++) fset(acc, j, 0);
    for (let p0 = 0; p0 < hw; p0 += 64) {          // two-level sums: blocks of 64 pixels
      let p1 = min(hw, p0 + 64);
      for (let j = 0; j < c; j++) fset(blk, j, 0);
      for (let p = p0; p < p1; p++) {
        addF(blk, x + ((<usize>ni * hw + p) * c << 2), c);
      }
      for (let j = 0; j < c; j++) fset(acc, j, f(acc, j) + f(blk, j));
    }
    for (let j = 0; j < c; j++) fset(y, <usize>ni * c + j, f(acc, j) / inv);
  }
  heap.free(blk);
  heap.free(acc);
}

export function global_avgpool_f32_bwd_ref(n: i32, hw: i32, c: i32, dy: usize, dx: usize, beta: f32): void {
  for (let ni = 0; ni < n; ni++) {
    for (let p = 0; p < hw; p++) {
      for (let ch = 0; ch < c; ch++) {
        let i = (<usize>ni * hw + p) * c + ch;
        let g = f(dy, <usize>ni * c + ch) / <f32>hw;
        fset(dx, i, beta == 0 ? g : beta * f(dx, i) + g);
      }
    }
  }
}

export function global_avgpool_f32_bwd(n: i32, hw: i32, c: i32, dy: usize, dx: usize, beta: f32): void {
  let gs = heap.alloc((<usize>c << 2) + 16);
  let fh: f32 = <f32>hw;
  for (let ni = 0; ni < n; ni++) {
    for (let j = 0; j < c; j++) fset(gs, j, f(dy, <usize>ni * c + j) / fh);
    for (let p = 0; p < hw; p++) {
      let row = dx + ((<usize>ni * hw + p) * c << 2);
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        let vb = f32x4.splat(beta);
        if (beta == 0) {
          for (; j + 4 <= c; j += 4) v128.store(row + (<usize>j << 2), v128.load(gs + (<usize>j << 2)));
        } else {
          for (; j + 4 <= c; j += 4) {
            let o = <usize>j << 2;
            v128.store(row + o, f32x4.add(f32x4.mul(vb, v128.load(row + o)), v128.load(gs + o)));
          }
        }
      }
      for (; j < c; j++) fset(row, j, beta == 0 ? f(gs, j) : beta * f(row, j) + f(gs, j));
    }
  }
  heap.free(gs);
}
