// int8 conv2d (TFLite semantics), NHWC activations, OHWI weights.
//   x: [N][H][W][C] int8 with zero point zpIn; w: [OC][KH][KW][Cg] int8 in [-127, 127] (Cg = C / groups,
//   OCg = OC / groups; output channel o reads input channels g·Cg … g·Cg+Cg−1 for g = o / OCg);
//   y[n][oy][ox][o] = requant(bias[o] + Σ (x[n][iy][ix][g·Cg+c] − zpIn) · w[o][kh][kw][c])
//   with iy = oy·sh − pt + kh·dh, ix = ox·sw − pl + kw·dw; taps outside the image are padding holding zpIn,
//   i.e. they contribute 0. requant is requant1/requant4 (requant.ts) with per-OC scale, zpOut, [qmin, qmax].
// The output size (oh, ow) is given by the caller (bottom/right padding only decides it).
//
// Packed weights (conv2d_s8_pack, identical in every build) hold everything a layer needs:
//   f32 scale region, then either
//   * "gemm" kind (Cg > 1): per group, gemm_s8_pack's layout of B[K][OCg] with K = KH·KW·Cg,
//     k = (kh·KW + kw)·Cg + c (the OHWI order), bias pre-adjusted for zpIn by gemm_s8_pack. Scales: per group
//     ceil16(OCg) floats (gemm_s8 reads whole 8-column blocks of scales).
//   * "depthwise" kind (Cg == 1, i.e. groups == C, channel multiplier CM = OC / C): ceil8(OC) scales,
//     ceil8(OC) int32 biases (not adjusted), ceil8(OC) int32 biases with the zero point folded in
//     (bias[o] − zpIn · Σ taps w[o]: the SIMD multiplier-1 path then multiplies raw codes, padding reading zpIn
//     cancels against the fold), int16 weights in tap pairs [ceil(KH·KW / 2)][ceil8(OC)][2]
//     (taps t = 2p, 2p+1 of channel o side by side, a missing last tap as 0) so one i32x4.dot_i16x8_s adds two
//     taps of 4 channels, then one 16-byte i8x16.swizzle table per 8-channel block mapping output lane i (an
//     int16) to input channel (oc0+i)/CM − oc0/CM; last a 16-byte tail whose first int32 says whether every
//     channel may requantise without the f32 clamp (requant.ts requant4Unclamped). The SIMD kernel reads padded taps from a buffer holding zpIn
//     (x − zpIn = 0), so every pixel runs the same tap-pair loop.
// conv2d_s8 picks the path: depthwise kernel (Cg == 1 with groups > 1; a 1-channel input with groups == 1, like a
// first conv on grey images, goes through im2col + GEMM, ~5× faster than the depthwise loop at multiplier OC); 1×1 stride 1 unpadded → gemm_s8 straight on the NHWC input
// (M = N·H·W, lda = C); otherwise im2col into bounded chunks of output rows (padding written as zpIn) and
// gemm_s8 per group.

import { narrow16, requant1, requant4, requant4Unclamped, requantZero, unclampedOk } from './requant';
import { gemm_s8, gemm_s8_pack, gemm_s8_packed_size, gemm_s8_rows } from './gemm_s8';
import { D_N, D_H, D_W, D_C, D_OC, D_KH, D_KW, D_SH, D_SW, D_PT, D_PL, D_DH, D_DW, D_G, D_OH, D_OW, D_ZP_IN, D_ZP_OUT,
  D_QMIN, D_QMAX, dget } from './conv_desc';
import { OUT_S8 } from './requant';
import { vnniDot } from './gemm_s8_vnni';
import { IGEMM_MIN_SEG_PAIRS, conv2d_s8_igemm, igemmSegPairs } from './conv_s8_igemm';

// @ts-ignore: decorator
@inline function ceil8(v: i32): i32 { return (v + 7) & ~7; }
// @ts-ignore: decorator
@inline function ceil16(v: i32): i32 { return (v + 15) & ~15; }

// Target bytes of one im2col chunk (rows × K int8).
const CHUNK_BYTES: i32 = 16384;

function scaleBytes(oc: i32, cg: i32, groups: i32): usize {
  if (cg == 1 && groups > 1) return <usize>ceil8(oc) << 2;
  return (<usize>groups * ceil16(oc / groups)) << 2;
}

export function conv2d_s8_packed_size(oc: i32, kh: i32, kw: i32, cg: i32, groups: i32): usize {
  let s = scaleBytes(oc, cg, groups);
  if (cg == 1 && groups > 1) {
    let ocp = <usize>ceil8(oc);
    let pairs = <usize>((kh * kw + 1) >> 1);
    return s + (ocp << 3) + pairs * ocp * 4 + (ocp >> 3) * 16 + 16;
  }
  return s + <usize>groups * gemm_s8_packed_size(kh * kw * cg, oc / groups);
}

// Packs OHWI weights w (int8), bias (int32[OC] or 0), scale (f32[OC]) for activations with zero point zpIn.
export function conv2d_s8_pack(oc: i32, kh: i32, kw: i32, cg: i32, groups: i32, w: usize, bias: usize,
                             zpIn: i32, scale: usize, out: usize): void {
  let sb = scaleBytes(oc, cg, groups);
  let k = kh * kw * cg;
  if (cg == 1 && groups > 1) {
    let ocp = ceil8(oc);
    let cm = oc / groups;
    for (let o = 0; o < ocp; o++) {
      store<f32>(out + (<usize>o << 2), o < oc ? load<f32>(scale + (<usize>o << 2)) : <f32>1);
    }
    let pb = out + sb;
    for (let o = 0; o < ocp; o++) {
      store<i32>(pb + (<usize>o << 2), o < oc && bias ? load<i32>(bias + (<usize>o << 2)) : 0);
    }
    let taps = kh * kw, pairs = (taps + 1) >> 1;
    let pa = pb + (<usize>ocp << 2);
    for (let o = 0; o < ocp; o++) {
      let v = o < oc && bias ? load<i32>(bias + (<usize>o << 2)) : 0;
      if (o < oc) for (let t = 0; t < taps; t++) v -= zpIn * <i32>load<i8>(w + <usize>o * k + t);
      store<i32>(pa + (<usize>o << 2), v);
    }
    let pw = pa + (<usize>ocp << 2);
    for (let t = 0; t < pairs * 2; t++) {
      for (let o = 0; o < ocp; o++) {
        let v: i16 = o < oc && t < taps ? <i16>load<i8>(w + <usize>o * k + t) : 0;
        store<i16>(pw + ((((<usize>(t >> 1) * ocp + o) << 1) + (t & 1)) << 1), v);
      }
    }
    let ps = pw + <usize>pairs * ocp * 4;
    for (let o0 = 0; o0 < ocp; o0 += 8) {
      let base = o0 / cm;
      for (let i = 0; i < 8; i++) {
        let idx = (o0 + i) / cm - base;
        if (idx > 7) idx = 7; // only in padded lanes past OC
        store<u8>(ps + (i << 1), <u8>(idx << 1));
        store<u8>(ps + (i << 1) + 1, <u8>((idx << 1) + 1));
      }
      ps += 16;
    }
    // last word: whether requant4Unclamped is exact for every channel (|acc| ≤ |biasz| + 128·Σ|w| on the raw-code
    // path, ≤ |bias| + 255·Σ|w| on the zero-point-subtracted one)
    let fast = true;
    for (let o = 0; o < oc; o++) {
      let sw = 0;
      for (let t = 0; t < taps; t++) sw += abs<i32>(<i32>load<i8>(w + <usize>o * k + t));
      let b1 = abs<f64>(<f64>load<i32>(pa + (<usize>o << 2))) + 128.0 * sw;
      let b2 = abs<f64>(<f64>load<i32>(pb + (<usize>o << 2))) + 255.0 * sw;
      fast = fast && unclampedOk(max(b1, b2), load<f32>(out + (<usize>o << 2)));
    }
    store<i32>(ps, fast ? 1 : 0);
    return;
  }
  let ocg = oc / groups;
  let sg = ceil16(ocg);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < sg; j++) {
      store<f32>(out + ((<usize>g * sg + j) << 2), j < ocg ? load<f32>(scale + ((<usize>g * ocg + j) << 2)) : <f32>1);
    }
  }
  let gsize = gemm_s8_packed_size(k, ocg);
  let tmp = heap.alloc(<usize>k * ocg);
  for (let g = 0; g < groups; g++) {
    // B[kk][j] = w[g·OCg + j][kk]
    for (let j = 0; j < ocg; j++) {
      let src = w + <usize>(g * ocg + j) * k;
      for (let kk = 0; kk < k; kk++) store<i8>(tmp + <usize>kk * ocg + j, load<i8>(src + kk));
    }
    gemm_s8_pack(k, ocg, tmp, ocg, bias ? bias + (<usize>(g * ocg) << 2) : 0, zpIn, out + sb + <usize>g * gsize);
  }
  heap.free(tmp);
}

// Reference path: plain loops over the unpacked OHWI weights wts, bias (int32[OC] or 0) and scale (f32[OC]), no
// SIMD, no packing. desc: the 22-field int8 conv descriptor of conv_desc.ts.
export function conv2d_s8_ref(desc: usize, x: usize, wts: usize, bias: usize, scale: usize, y: usize): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), w = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let sh = dget(desc, D_SH), sw = dget(desc, D_SW), pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let zpIn = dget(desc, D_ZP_IN), zpOut = dget(desc, D_ZP_OUT), qmin = dget(desc, D_QMIN), qmax = dget(desc, D_QMAX);
  let cg = c / groups, ocg = oc / groups;
  let lo = <f32>(qmin - zpOut), hi = <f32>(qmax - zpOut);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let o = 0; o < oc; o++) {
          let g = o / ocg;
          let acc = bias ? load<i32>(bias + (<usize>o << 2)) : 0;
          for (let ky = 0; ky < kh; ky++) {
            let iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              let ix = ox * sw - pl + kx * dw;
              if (ix < 0 || ix >= w) continue;
              let xp = x + ((<usize>(b * h + iy) * w + ix) * c + g * cg);
              let wp = wts + ((<usize>(o * kh + ky) * kw + kx) * cg);
              for (let ci = 0; ci < cg; ci++) {
                acc += (<i32>load<i8>(xp + ci) - zpIn) * <i32>load<i8>(wp + ci);
              }
            }
          }
          store<i8>(y + ((<usize>(b * oh + oy) * ow + ox) * oc + o),
                    requant1(acc, load<f32>(scale + (<usize>o << 2)), zpOut, lo, hi));
        }
      }
    }
  }
}

// Byte copy / fill helpers (no bulk-memory ops: the builds validate without that feature).
// @ts-ignore: decorator
@inline
function copyBytes(dst: usize, src: usize, len: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= len; i += 16) v128.store(dst + i, v128.load(src + i));
  }
  for (; i + 8 <= len; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i));
}

// @ts-ignore: decorator
@inline
function fillBytes(dst: usize, v: i32, len: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vv = i8x16.splat(<i8>v);
    for (; i + 16 <= len; i += 16) v128.store(dst + i, vv);
  }
  let v8 = <u64>(v & 0xff) * 0x0101010101010101;
  for (; i + 8 <= len; i += 8) store<u64>(dst + i, v8);
  for (; i < len; i++) store<u8>(dst + i, <u8>v);
}

// Writes `rows` im2col rows (output pixels p0 … p0+rows−1, K = KH·KW·Cg bytes each) of group g into a.
// wide (SIMD builds, a with 16 bytes of slack past its rows): a kernel row of at most 16 contiguous bytes (a
// first conv's KW·C, 9 for 3×3 over RGB) is one 16-byte load and store; the store's extra bytes land where
// later rows (or the slack) are written, and the load stays inside the batch's input.
function im2col(p0: i32, rows: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, kh: i32, kw: i32, cg: i32, g: i32,
                sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32, a: usize, wide: bool): void {
  let k = kh * kw * cg;
  let rowBytes = kw * cg;
  let contiguous = dw == 1 && cg == c; // the KW taps of one kernel row are adjacent in memory
  let wideEnd: usize = 0; // wide loads may start below this address
  if (ASC_FEATURE_SIMD) if (wide && contiguous && rowBytes <= 16) wideEnd = x + <usize>(p0 / (oh * ow) + 1) * h * w * c - 16;
  let ohw = oh * ow;
  let b = p0 / ohw;
  let rem = p0 - b * ohw;
  let oy = rem / ow;
  let ox = rem - oy * ow;
  for (let r = 0; r < rows; r++) {
    let dst = a + <usize>r * k;
    let ix0 = ox * sw - pl;
    let iy0 = oy * sh - pt;
    let img = x + <usize>b * h * w * c + <usize>g * cg;
    let inside = ix0 >= 0 && ix0 + (kw - 1) * dw < w;
    for (let ky = 0; ky < kh; ky++) {
      let iy = iy0 + ky * dh;
      let d = dst + <usize>ky * rowBytes;
      if (iy < 0 || iy >= h) { fillBytes(d, zpIn, rowBytes); continue; }
      let rowp = img + <usize>iy * w * c;
      if (contiguous && inside) {
        let src = rowp + <usize>ix0 * c;
        if (ASC_FEATURE_SIMD) if (src <= wideEnd) { v128.store(d, v128.load(src)); continue; }
        copyBytes(d, src, rowBytes);
        continue;
      }
      for (let kx = 0; kx < kw; kx++) {
        let ix = ix0 + kx * dw;
        if (ix < 0 || ix >= w) fillBytes(d, zpIn, cg);
        else copyBytes(d, rowp + <usize>ix * c, cg);
        d += cg;
      }
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0; b++;
        if (ASC_FEATURE_SIMD) if (wideEnd) wideEnd += <usize>h * w * c;
      }
    }
  }
}

// im2col of an ungrouped conv for the sparse int8 GEMM (src/kernels/conv_s8.ts SparseConv2dS8): rows p0 …
// p0+rows−1 of the [N·OH·OW × KH·KW·C] patch matrix of the whole batch x, into a (row stride KH·KW·C). Column
// k = (ky·KW + kx)·C + c is the OHWI order, i.e. the K of the sparse K×N view W[k][o] = w[o][ky][kx][c]. Taps
// outside the image hold zpIn, so after the GEMM's zero-point correction they add exactly 0, as in conv2d_s8_ref.
// Pure byte copies / fills: every build writes the same bytes.
// desc: the int8 conv descriptor (its G, OC, output zero point and clamp are not read).
export function im2col_s8(desc: usize, p0: i32, rows: i32, x: usize, a: usize): void {
  let c = dget(desc, D_C);
  im2col(p0, rows, dget(desc, D_H), dget(desc, D_W), c, x, dget(desc, D_ZP_IN), dget(desc, D_KH), dget(desc, D_KW), c, 0,
         dget(desc, D_SH), dget(desc, D_SW), dget(desc, D_PT), dget(desc, D_PL), dget(desc, D_DH), dget(desc, D_DW),
         dget(desc, D_OH), dget(desc, D_OW), a, false);
}

// Stores the first len (1 … 15) bytes of q at p: one store per set bit of len, never writing past p + len.
function storePartial(p: usize, q: v128, len: i32): void {
  let v = i64x2.extract_lane(q, 0);
  if (len & 8) { store<u64>(p, v); v = i64x2.extract_lane(q, 1); p += 8; }
  if (len & 4) { store<u32>(p, <u32>v); v >>>= 32; p += 4; }
  if (len & 2) { store<u16>(p, <u16>v); v >>>= 16; p += 2; }
  if (len & 1) store<u8>(p, <u8>v);
}

function depthwise(packed: usize, n: i32, h: i32, w: i32, c: i32, x: usize, zpIn: i32, oc: i32, kh: i32, kw: i32,
                   sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
                   y: usize, zpOut: i32, qmin: i32, qmax: i32): void {
  let ocp = ceil8(oc);
  let cm = oc / c;
  let taps = kh * kw, pairs = (taps + 1) >> 1;
  let scale = packed;
  let biasp = packed + (<usize>ocp << 2);
  let biasz = biasp + (<usize>ocp << 2); // zero point folded in (multiplier-1 SIMD path)
  let wts = biasz + (<usize>ocp << 2);
  let swzp = wts + <usize>pairs * ocp * 4;
  let pstride = <usize>ocp << 2; // bytes between tap pairs
  if (ASC_FEATURE_SIMD) {
    // Tap addresses are base + tbl[t]. Interior pixels (every tap inside the image) share one table of
    // offsets from the window's top-left input pixel (built once); border pixels get a table of absolute
    // addresses (base 0), padding taps pointing at zbuf (zpIn codes). Both are padded to whole tap pairs: the
    // missing last tap has weight 0, so it may read any valid address (interior: the first tap's; border: zbuf).
    // Channel tails read whole 16- or 8-byte vectors: from a tap address a (a pixel's first channel) a block reads
    // up to a + c + 15 (16-wide: ceil16(c); 8-wide: cb + 8 ≤ c + 7), i.e. into the next pixels, whose lanes meet
    // zero weights and are never stored. Only the last bytes of x have no next pixel: a tap address past
    // xLim = xend − reach is remapped into tailb, a copy of x's last tailLen bytes followed by 16 bytes of slack,
    // so no read ever leaves x, zbuf or tailb (interior pixels that would touch it take the border path).
    let reach = c + 15;
    let total = <usize>n * h * w * c;
    let tailLen = min<usize>(total, <usize>reach);
    let xend = x + total;
    let zlen = <usize>ceil16(c) + 16;
    let zbuf = heap.alloc(zlen + tailLen + 16); // zbuf, then tailb (one allocation)
    fillBytes(zbuf, zpIn, <i32>zlen);
    let tailb = zbuf + zlen;
    copyBytes(tailb, xend - tailLen, <i32>tailLen);
    fillBytes(tailb + tailLen, zpIn, 16);
    let tailShift = tailb - (xend - tailLen); // wraps (usize arithmetic): a + tailShift = tailb + (a − (xend − tailLen))
    let xLim = xend - <usize>reach; // tap addresses a > xLim are remapped (x lies past the static data: no wrap)
    let inner = heap.alloc(<usize>pairs << 3);
    let border = heap.alloc(<usize>pairs << 3);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) store<i32>(inner + (<usize>(ky * kw + kx) << 2), (ky * dh * w + kx * dw) * c);
    }
    if (taps & 1) {
      store<i32>(inner + (<usize>taps << 2), 0);
      store<usize>(border + (<usize>taps << 2), zbuf);
    }
    // interior output columns: ox·sw − pl ≥ 0 and ox·sw − pl + (kw − 1)·dw ≤ w − 1
    let oxLo = (pl + sw - 1) / sw;
    let oxHi = w - 1 - (kw - 1) * dw + pl;
    oxHi = oxHi < 0 ? -1 : oxHi / sw; // last interior column (−1: none)
    let vzIn = i16x8.splat(<i16>zpIn);
    let vz = requantZero(zpOut), vlo = f32x4.splat(<f32>(qmin - zpOut)), vhi = f32x4.splat(<f32>(qmax - zpOut));
    // channels on the 16-wide multiplier-1 path: every whole 16-block, and a last block of 9 … 15 channels
    // (its packed scales, biases and weights exist: ceil8(oc) = ceil16(oc) there, padded lanes zero-weighted)
    let main = cm == 1 ? ocp & ~15 : 0;
    let lastOff = <usize>load<i32>(inner + (<usize>(taps - 1) << 2)); // the largest interior tap offset
    let fast = load<i32>(swzp + (<usize>(ocp >> 3) << 4)) != 0; // requant4Unclamped is exact (conv2d_s8_pack)
    let vqlo = i8x16.splat(<i8>qmin), vqhi = i8x16.splat(<i8>qmax);
    for (let b = 0; b < n; b++) {
      let img = x + <usize>b * h * w * c;
      for (let oy = 0; oy < oh; oy++) {
        let iy0 = oy * sh - pt;
        let rowIn = iy0 >= 0 && iy0 + (kh - 1) * dh < h;
        // whether this row's interior windows may reach x's last bytes (only the last rows of the last image)
        let rowEnd = rowIn && img + (<usize>(iy0 + (kh - 1) * dh) * w + w - 1) * c > xLim;
        let yp = y + <usize>(b * oh + oy) * ow * oc;
        for (let ox = 0; ox < ow; ox++, yp += oc) {
          let ix0 = ox * sw - pl;
          let base: usize, tp: usize;
          if (rowIn && ox >= oxLo && ox <= oxHi && (!rowEnd || img + (<usize>iy0 * w + ix0) * c + lastOff <= xLim)) {
            base = img + (<usize>iy0 * w + ix0) * c;
            tp = inner;
          } else {
            base = 0;
            tp = border;
            let t = 0;
            for (let ky = 0; ky < kh; ky++) {
              let iy = iy0 + ky * dh;
              let rowOk = iy >= 0 && iy < h;
              for (let kx = 0; kx < kw; kx++) {
                let ix = ix0 + kx * dw;
                let a = zbuf;
                if (rowOk && ix >= 0 && ix < w) {
                  a = img + (<usize>iy * w + ix) * c;
                  if (a > xLim) a += tailShift;
                }
                store<usize>(border + (<usize>t << 2), a);
                t++;
              }
            }
          }
          let o0 = 0;
          // multiplier 1: 16 channels × 2 taps per step, raw codes against the zero-point-folded bias
          for (; o0 < main; o0 += 16) {
            let bp = biasz + (<usize>o0 << 2);
            let acc0 = v128.load(bp), acc1 = v128.load(bp, 16), acc2 = v128.load(bp, 32), acc3 = v128.load(bp, 48);
            let wq = wts + (<usize>o0 << 2);
            let pp = tp;
            let xb = base + o0;
            for (let p = 0; p < pairs; p++) {
              let va = v128.load(xb + load<usize>(pp)), vb = v128.load(xb + load<usize>(pp, 4));
              let lo = i8x16.shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
              let hi = i8x16.shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
              acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(wq)));
              acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(wq, 16)));
              acc2 = i32x4.add(acc2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(wq, 32)));
              acc3 = i32x4.add(acc3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(wq, 48)));
              pp += 8;
              wq += pstride;
            }
            let sp = scale + (<usize>o0 << 2);
            if (fast) {
              let q = narrow16(requant4Unclamped(acc0, v128.load(sp), vz), requant4Unclamped(acc1, v128.load(sp, 16), vz),
                               requant4Unclamped(acc2, v128.load(sp, 32), vz), requant4Unclamped(acc3, v128.load(sp, 48), vz));
              q = i8x16.min_s(i8x16.max_s(q, vqlo), vqhi);
              if (o0 + 16 <= oc) v128.store(yp + o0, q);
              else storePartial(yp + o0, q, oc - o0);
              continue;
            }
            let r0 = requant4(acc0, v128.load(sp), vz, vlo, vhi);
            let r1 = requant4(acc1, v128.load(sp, 16), vz, vlo, vhi);
            let r2 = requant4(acc2, v128.load(sp, 32), vz, vlo, vhi);
            let r3 = requant4(acc3, v128.load(sp, 48), vz, vlo, vhi);
            let q = narrow16(r0, r1, r2, r3);
            if (o0 + 16 <= oc) v128.store(yp + o0, q);
            else storePartial(yp + o0, q, oc - o0);
          }
          for (; o0 < oc; o0 += 8) {
            let cb = o0 / cm;
            let swz = v128.load(swzp + (<usize>o0 << 1));
            let acc0 = v128.load(biasp + (<usize>o0 << 2)), acc1 = v128.load(biasp + (<usize>o0 << 2), 16);
            let wq = wts + (<usize>o0 << 2);
            let pp = tp;
            let xb = base + cb;
            for (let p = 0; p < pairs; p++) {
              let pa = xb + load<usize>(pp), pb = xb + load<usize>(pp, 4);
              let va = v128.load8x8_s(pa), vb = v128.load8x8_s(pb); // lanes past c: see reach above
              if (cm != 1) { va = i8x16.swizzle(va, swz); vb = i8x16.swizzle(vb, swz); }
              va = i16x8.sub(va, vzIn);
              vb = i16x8.sub(vb, vzIn);
              let lo = i8x16.shuffle(va, vb, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
              let hi = i8x16.shuffle(va, vb, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
              acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo, v128.load(wq)));
              acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi, v128.load(wq, 16)));
              pp += 8;
              wq += pstride;
            }
            let sp = scale + (<usize>o0 << 2);
            let r0 = requant4(acc0, v128.load(sp), vz, vlo, vhi);
            let r1 = requant4(acc1, v128.load(sp, 16), vz, vlo, vhi);
            let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), r0);
            if (o0 + 8 <= oc) v128.store64_lane(yp + o0, q, 0);
            else storePartial(yp + o0, q, oc - o0);
          }
        }
      }
    }
    heap.free(border);
    heap.free(inner);
    heap.free(zbuf);
  } else {
    let lo = <f32>(qmin - zpOut), hi = <f32>(qmax - zpOut);
    for (let b = 0; b < n; b++) {
      let img = x + <usize>b * h * w * c;
      for (let oy = 0; oy < oh; oy++) {
        let iy0 = oy * sh - pt;
        for (let ox = 0; ox < ow; ox++) {
          let ix0 = ox * sw - pl;
          let yp = y + (<usize>(b * oh + oy) * ow + ox) * oc;
          for (let o = 0; o < oc; o++) {
            let ci = o / cm;
            let acc = load<i32>(biasp + (<usize>o << 2));
            for (let ky = 0; ky < kh; ky++) {
              let iy = iy0 + ky * dh;
              if (iy < 0 || iy >= h) continue;
              let rowp = img + <usize>iy * w * c + ci;
              for (let kx = 0; kx < kw; kx++) {
                let ix = ix0 + kx * dw;
                if (ix < 0 || ix >= w) continue;
                let t = ky * kw + kx;
                let wv = <i32>load<i16>(wts + ((((<usize>(t >> 1) * ocp + o) << 1) + (t & 1)) << 1));
                acc += (<i32>load<i8>(rowp + <usize>ix * c) - zpIn) * wv;
              }
            }
            store<i8>(yp + o, requant1(acc, load<f32>(scale + (<usize>o << 2)), zpOut, lo, hi));
          }
        }
      }
    }
  }
}

// Fast path over packed weights (conv2d_s8_pack with the same oc, kh, kw, C/groups, groups and zpIn).
// desc: the 22-field int8 conv descriptor of conv_desc.ts.
export function conv2d_s8(desc: usize, packed: usize, x: usize, y: usize): void {
  let n = dget(desc, D_N), h = dget(desc, D_H), w = dget(desc, D_W), c = dget(desc, D_C), oc = dget(desc, D_OC);
  let kh = dget(desc, D_KH), kw = dget(desc, D_KW), groups = dget(desc, D_G), oh = dget(desc, D_OH), ow = dget(desc, D_OW);
  let sh = dget(desc, D_SH), sw = dget(desc, D_SW), pt = dget(desc, D_PT), pl = dget(desc, D_PL), dh = dget(desc, D_DH), dw = dget(desc, D_DW);
  let zpIn = dget(desc, D_ZP_IN), zpOut = dget(desc, D_ZP_OUT), qmin = dget(desc, D_QMIN), qmax = dget(desc, D_QMAX);
  let cg = c / groups;
  let ocg = oc / groups;
  if (cg == 1 && groups > 1) {
    depthwise(packed, n, h, w, c, x, zpIn, oc, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, y, zpOut, qmin, qmax);
    return;
  }
  let sg = ceil16(ocg);
  let k = kh * kw * cg;
  let gsize = gemm_s8_packed_size(k, ocg);
  let wbase = packed + scaleBytes(oc, cg, groups);
  if (kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w) {
    let m = n * h * w;
    for (let g = 0; g < groups; g++) {
      gemm_s8(m, cg, ocg, x + <usize>g * cg, c, wbase + <usize>g * gsize, y + <usize>g * ocg, oc, OUT_S8,
              packed + ((<usize>g * sg) << 2), zpOut, qmin, qmax);
    }
    return;
  }
  if (ASC_FEATURE_SIMD && (cg & 1) == 0 && igemmSegPairs(kw, cg, groups, dw) >= IGEMM_MIN_SEG_PAIRS) {
    // the relaxed build on a vpdpbusd engine packs weights in gemm_s8_vnni's layout: im2col + gemm_s8 there
    let vnni = false;
    if (ASC_FEATURE_RELAXED_SIMD) vnni = vnniDot();
    if (!vnni) {
      for (let b = 0; b < n; b++) {
        conv2d_s8_igemm(x + <usize>b * h * w * c, h, w, c, oc, kh, kw, groups, sh, sw, pt, pl, dh, dw, oh, ow,
                        zpIn, zpOut, qmin, qmax, wbase, gsize, packed, sg, y + <usize>b * oh * ow * oc);
      }
      return;
    }
  }
  let total = n * oh * ow;
  let rows = (CHUNK_BYTES / k) & ~3;
  if (rows < 4) rows = 4;
  if (rows > total) rows = total;
  // 16 bytes of slack: im2col's wide stores and gemm_s8_rows' reads up to ceil8(K) of the last row
  let a = heap.alloc(<usize>rows * k + 16);
  for (let p0 = 0; p0 < total; p0 += rows) {
    let r = min(rows, total - p0);
    for (let g = 0; g < groups; g++) {
      im2col(p0, r, h, w, c, x, zpIn, kh, kw, cg, g, sh, sw, pt, pl, dh, dw, oh, ow, a, true);
      gemm_s8_rows(r, k, ocg, a, k, wbase + <usize>g * gsize, y + <usize>p0 * oc + <usize>g * ocg, oc, OUT_S8,
                   packed + ((<usize>g * sg) << 2), zpOut, qmin, qmax, true);
    }
  }
  heap.free(a);
}
