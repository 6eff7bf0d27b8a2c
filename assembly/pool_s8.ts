// int8 pooling, NHWC: x [N][H][W][C] → y [N][OH][OW][C]. Window of output (oy, ox): rows oy·sh − pt + ky,
// columns ox·sw − pl + kx (ky < KH, kx < KW); taps outside the image (padding) are ignored, not counted
// (TFLite). The caller guarantees every window holds at least one valid tap (padding < kernel size).
//
// max pool: y = clamp(max over valid taps, qmin, qmax) — same scale and zero point in and out.
// avg pool: acc = Σ (x − zpIn) over the cnt valid taps (exact int32), then
//   y = clamp(rne((f32(acc) / f32(cnt)) · ratio), qmin − zpOut, qmax − zpOut) + zpOut
// with ratio = f32(inScale / outScale) (1 when in and out share their quantisation). f32 division and
// multiplication are exact IEEE operations (no fused multiply-add), rne = round half to even as in
// requant.ts, so the scalar and SIMD builds agree bit for bit. Global average pool = avg pool with the
// whole image as window.

// Valid tap range [k0, k1) of a window starting at i0 (dilation 1) inside [0, size).
// @ts-ignore: decorator
@inline function tapLo(i0: i32): i32 { return i0 < 0 ? -i0 : 0; }
// @ts-ignore: decorator
@inline function tapHi(i0: i32, k: i32, size: i32): i32 { return i0 + k > size ? size - i0 : k; }

export function maxpool2d_s8_ref(n: i32, h: i32, w: i32, c: i32, x: usize, kh: i32, kw: i32, sh: i32, sw: i32,
                                pt: i32, pl: i32, oh: i32, ow: i32, y: usize, qmin: i32, qmax: i32): void {
  poolRef(false, n, h, w, c, x, 0, kh, kw, sh, sw, pt, pl, oh, ow, y, 1, 0, qmin, qmax);
}

export function avgpool2d_s8_ref(n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, kh: i32, kw: i32,
                                sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, y: usize,
                                ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  poolRef(true, n, h, w, c, x, zpIn, kh, kw, sh, sw, pt, pl, oh, ow, y, ratio, zpOut, qmin, qmax);
}

// The reference twins: plain loops over every tap of every window, skipping the padding (avg: a constant).
// @ts-ignore: decorator
@inline function poolRef(avg: bool, n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, kh: i32, kw: i32,
                         sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, y: usize,
                         ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zpOut), hi = <f32>(qmax - zpOut);
  for (let b = 0; b < n; b++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    for (let ch = 0; ch < c; ch++) {
      let m = -128, acc = 0, cnt = 0;
      for (let ky = 0; ky < kh; ky++) {
        let iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          let ix = ox * sw - pl + kx;
          if (ix < 0 || ix >= w) continue;
          let v = <i32>load<i8>(x + (<usize>(b * h + iy) * w + ix) * c + ch);
          if (avg) { acc += v - zpIn; cnt++; } else if (v > m) m = v;
        }
      }
      let q: i32;
      if (avg) {
        let f = (<f32>acc / <f32>cnt) * ratio;
        f = min<f32>(max<f32>(f, lo), hi);
        q = <i32>nearest<f32>(f) + zpOut;
      } else {
        q = m < qmin ? qmin : m;
        if (q > qmax) q = qmax;
      }
      store<i8>(y + (<usize>(b * oh + oy) * ow + ox) * c + ch, <i8>q);
    }
  }
}

export function maxpool2d_s8(n: i32, h: i32, w: i32, c: i32, x: usize, kh: i32, kw: i32, sh: i32, sw: i32,
                            pt: i32, pl: i32, oh: i32, ow: i32, y: usize, qmin: i32, qmax: i32): void {
  poolWalk(false, n, h, w, c, x, 0, kh, kw, sh, sw, pt, pl, oh, ow, y, 1, 0, qmin, qmax);
}

export function avgpool2d_s8(n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, kh: i32, kw: i32,
                            sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, y: usize,
                            ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  poolWalk(true, n, h, w, c, x, zpIn, kh, kw, sh, sw, pt, pl, oh, ow, y, ratio, zpOut, qmin, qmax);
}

// The fast paths' walk over output pixels; each pixel's valid taps are rows ky0 … ky1−1, columns kx0 … kx1−1
// of the window whose first valid tap starts at `first` (rows `rowBytes` apart). avg is a constant after inlining.
// @ts-ignore: decorator
@inline function poolWalk(avg: bool, n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, kh: i32, kw: i32,
                          sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, y: usize,
                          ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  let rowBytes = <usize>w * c;
  for (let b = 0; b < n; b++) {
    let img = x + <usize>b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      let iy0 = oy * sh - pt;
      let ky0 = tapLo(iy0), ky1 = tapHi(iy0, kh, h);
      for (let ox = 0; ox < ow; ox++) {
        let ix0 = ox * sw - pl;
        let kx0 = tapLo(ix0), kx1 = tapHi(ix0, kw, w);
        let first = img + (<usize>(iy0 + ky0) * w + ix0 + kx0) * c;
        let yp = y + (<usize>(b * oh + oy) * ow + ox) * c;
        if (avg) avgPixel(first, rowBytes, ky1 - ky0, kx1 - kx0, c, zpIn, ratio, zpOut, qmin, qmax, yp);
        else maxPixel(first, rowBytes, ky1 - ky0, kx1 - kx0, c, qmin, qmax, yp);
      }
    }
  }
}

// max over the rows × cols valid taps from `first`, per channel, clamped to [qmin, qmax].
// @ts-ignore: decorator
@inline function maxPixel(first: usize, rowBytes: usize, rows: i32, cols: i32, c: i32, qmin: i32, qmax: i32, yp: usize): void {
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    let vlo = i8x16.splat(<i8>qmin), vhi = i8x16.splat(<i8>qmax);
    for (; ch + 16 <= c; ch += 16) {
      let m = i8x16.splat(-128);
      for (let ky = 0; ky < rows; ky++) {
        let p = first + <usize>ky * rowBytes + ch;
        for (let kx = 0; kx < cols; kx++) { m = i8x16.max_s(m, v128.load(p)); p += c; }
      }
      v128.store(yp + ch, i8x16.min_s(i8x16.max_s(m, vlo), vhi));
    }
    if (ch + 8 <= c) {
      let m = i8x16.splat(-128);
      for (let ky = 0; ky < rows; ky++) {
        let p = first + <usize>ky * rowBytes + ch;
        for (let kx = 0; kx < cols; kx++) { m = i8x16.max_s(m, v128.load64_zero(p)); p += c; }
      }
      v128.store64_lane(yp + ch, i8x16.min_s(i8x16.max_s(m, vlo), vhi), 0);
      ch += 8;
    }
  }
  for (; ch < c; ch++) {
    let m = -128;
    for (let ky = 0; ky < rows; ky++) {
      let p = first + <usize>ky * rowBytes + ch;
      for (let kx = 0; kx < cols; kx++) { let v = <i32>load<i8>(p); if (v > m) m = v; p += c; }
    }
    if (m < qmin) m = qmin;
    if (m > qmax) m = qmax;
    store<i8>(yp + ch, <i8>m);
  }
}

// Average of the rows × cols valid taps from `first`, per channel, requantised (see the file header).
// @ts-ignore: decorator
@inline function avgPixel(first: usize, rowBytes: usize, rows: i32, cols: i32, c: i32, zpIn: i32, ratio: f32, zpOut: i32,
                          qmin: i32, qmax: i32, yp: usize): void {
  let lo = <f32>(qmin - zpOut), hi = <f32>(qmax - zpOut);
  let cnt = rows * cols;
  let ch = 0;
  if (ASC_FEATURE_SIMD) {
    let vcorr = i32x4.splat(cnt * zpIn);
    let vcnt = f32x4.splat(<f32>cnt), vratio = f32x4.splat(ratio);
    let vz = i32x4.splat(zpOut), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    for (; ch + 8 <= c; ch += 8) {
      let a0 = i32x4.splat(0), a1 = a0;
      for (let ky = 0; ky < rows; ky++) {
        let p = first + <usize>ky * rowBytes + ch;
        for (let kx = 0; kx < cols; kx++) {
          let v = v128.load8x8_s(p);
          a0 = i32x4.add(a0, i32x4.extend_low_i16x8_s(v));
          a1 = i32x4.add(a1, i32x4.extend_high_i16x8_s(v));
          p += c;
        }
      }
      let f0 = f32x4.mul(f32x4.div(f32x4.convert_i32x4_s(i32x4.sub(a0, vcorr)), vcnt), vratio);
      let f1 = f32x4.mul(f32x4.div(f32x4.convert_i32x4_s(i32x4.sub(a1, vcorr)), vcnt), vratio);
      f0 = f32x4.min(f32x4.max(f0, vlo), vhi);
      f1 = f32x4.min(f32x4.max(f1, vlo), vhi);
      let r0 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f0)), vz);
      let r1 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f1)), vz);
      let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
      v128.store64_lane(yp + ch, q, 0);
    }
  }
  for (; ch < c; ch++) {
    let acc = 0;
    for (let ky = 0; ky < rows; ky++) {
      let p = first + <usize>ky * rowBytes + ch;
      for (let kx = 0; kx < cols; kx++) { acc += <i32>load<i8>(p); p += c; }
    }
    acc -= cnt * zpIn;
    let f = (<f32>acc / <f32>cnt) * ratio;
    f = min<f32>(max<f32>(f, lo), hi);
    store<i8>(yp + ch, <i8>(<i32>nearest<f32>(f) + zpOut));
  }
}

// Global average pool: y [N][1][1][C] (avg pool with the whole H×W image as window).
export function global_avgpool_s8(n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, y: usize,
                                   ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  avgpool2d_s8(n, h, w, c, x, zpIn, h, w, 1, 1, 0, 0, 1, 1, y, ratio, zpOut, qmin, qmax);
}

export function global_avgpool_s8_ref(n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, y: usize,
                                       ratio: f32, zpOut: i32, qmin: i32, qmax: i32): void {
  avgpool2d_s8_ref(n, h, w, c, x, zpIn, h, w, 1, 1, 0, 0, 1, 1, y, ratio, zpOut, qmin, qmax);
}
