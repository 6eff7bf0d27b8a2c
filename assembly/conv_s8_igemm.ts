// int8 conv2d as an indirect GEMM (SIMD builds; the fast path of conv_s8.ts for an even Cg).
//
// Same weights (gemm_s8_pack's 4x8c2 blocks of B[K][OCg], K = KH·KW·Cg, k = tap·Cg + c), same 4×8 tile of
// `i32x4.dot_i16x8_s` as gemm_s8, but no im2col matrix and no per-tile A packing:
//   1. a band of output pixels' input rows is sign-extended once into int16 *with its padding made explicit*
//      (rows and columns outside the image hold zpIn, which adds (zpIn − zpIn)·w = 0 against the
//      zero-point-folded bias, like the im2col path's zpIn bytes), so an activation pair (x[c], x[c+1]) of one
//      pixel is one int32 word, ready for `v128.load32_splat` (the tile's broadcast operand), and every tap of
//      every output pixel, border or not, is a plain address;
//   2. per 4 output pixels, a table holds for every *segment* the 4 pixels' start addresses (XNNPACK's
//      indirection idea). A segment is a run of K that is contiguous in the band: with groups = 1 and
//      dilation 1 along W, the KW taps of one kernel row are KW adjacent pixels, so a whole kernel row
//      (KW·C values) is one segment — 3 segments of 96 k-pairs for a 3×3 conv over 64 channels, where a
//      per-tap walk would restart 9 times; otherwise each tap is a segment of Cg values;
//   3. the tile walks the segments, reading the 4 pixels straight from the band. Cg is even, so a k-pair
//      never straddles two segments and the packed B (pairs of consecutive k) is walked as gemm_s8 walks it.
// Integer sums are exact and the requantisation is gemm_s8's storeTile4x8, so the output bytes equal the
// im2col + gemm_s8 path's (and conv2d_s8_ref's) bit for bit.
// What it saves against im2col + gemm_s8 (docs/KERNELS.md, "int8 conv 3×3"): the im2col copy (K bytes per
// output pixel) and gemm_s8's packA (a 4×4 transpose of K/2 words per 4 pixels, re-done for every 4 pixels
// although each input pixel appears in KH·KW of them); what it adds: one int16 extension per band input pixel
// and 3 more address increments per k-pair in the tile (one per pixel pointer).

import { storeTile4x8, storeTile4x8Unclamped, tilesUnclamped } from './gemm_s8';
import { OUT_S8, requantZero } from './requant';

// Below this many k-pairs per segment the per-segment pointer reloads cost more than im2col + gemm_s8's one
// contiguous K (conv2d_s8 checks it with igemmSegPairs).
export const IGEMM_MIN_SEG_PAIRS: i32 = 4;
// Target bytes of one band's int16 input rows (stays in L2 while its output rows are computed).
const BAND_BYTES: i32 = 262144;
const MR: i32 = 4;
const NR: i32 = 8;

// Sign-extends `count` int8 values at src into int16 at dst.
// @ts-ignore: decorator
@inline
function extend16(src: usize, dst: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) v128.store(dst + (<usize>i << 1), v128.load8x8_s(src + i));
  for (; i < count; i++) store<i16>(dst + (<usize>i << 1), <i16>load<i8>(src + i));
}

// count int16 copies of v at dst.
// @ts-ignore: decorator
@inline
function fill16(dst: usize, v: v128, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) v128.store(dst + (<usize>i << 1), v);
  for (; i < count; i++) store<i16>(dst + (<usize>i << 1), i16x8.extract_lane_s(v, 0));
}

// Whether a kernel row is one contiguous segment (see the header), and the k-pairs of one segment.
// @ts-ignore: decorator
@inline
function rowSegments(groups: i32, dw: i32): bool { return groups == 1 && dw == 1; }
export function igemmSegPairs(kw: i32, cg: i32, groups: i32, dw: i32): i32 {
  return (rowSegments(groups, dw) ? kw * cg : cg) >> 1;
}

// Conv of one batch image img (H×W×C int8) into out (OH·OW rows of OC int8), every group, over packed weights
// wbase (group g at wbase + g·gsize) and scales (group g at scales + g·sg floats). Geometry as conv2d_s8; Cg even.
export function conv2d_s8_igemm(img: usize, h: i32, w: i32, c: i32, oc: i32, kh: i32, kw: i32, groups: i32,
                                sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
                                zpIn: i32, zpOut: i32, qmin: i32, qmax: i32,
                                wbase: usize, gsize: usize, scales: usize, sg: i32, out: usize): void {
  let cg = c / groups, ocg = oc / groups;
  let whole = rowSegments(groups, dw);
  let segs = whole ? kh : kh * kw;
  let segPairs = igemmSegPairs(kw, cg, groups, dw);
  let blockBytes = <usize>NR * 4 + <usize>kh * kw * (cg >> 1) * NR * 2;
  // band columns: input x from −pl to the last one any output pixel reads (padding included)
  let ixHi = (ow - 1) * sw - pl + (kw - 1) * dw;
  let wp = ixHi + pl + 1;
  let pixBytes = <usize>c << 1;
  let rowBytes = <usize>wp * pixBytes;
  let copyLo = min(pl, wp), copyN = max(0, min(w - 1, ixHi) + 1); // band columns [pl, pl + copyN) hold image x 0 …
  // Band: a multiple of MR output pixels whose input rows fit BAND_BYTES (at least one output row's worth).
  let spanRows = (kh - 1) * dh + 1; // input rows under one output row
  let fitRows = max(spanRows, <i32>(<usize>BAND_BYTES / rowBytes));
  let bandOutRows = min(oh, max(1, (fitRows - spanRows) / sh + 1));
  let bandPix = (bandOutRows * ow + MR - 1) & ~(MR - 1);
  let outSpan = (bandPix + 2 * ow - 2) / ow; // most output rows bandPix consecutive pixels touch
  let buf = heap.alloc(<usize>((outSpan - 1) * sh + spanRows) * rowBytes);
  let ind = heap.alloc(<usize>segs * MR * 4);
  let vzIn = i16x8.splat(<i16>zpIn);
  let vz = requantZero(zpOut), vlo = f32x4.splat(<f32>(qmin - zpOut)), vhi = f32x4.splat(<f32>(qmax - zpOut));
  let vqlo = i8x16.splat(<i8>qmin), vqhi = i8x16.splat(<i8>qmax);
  let fast = true; // every group's tiles may skip the f32 clamp (gemm_s8.ts tilesUnclamped)
  for (let g = 0; g < groups; g++) {
    fast = fast && tilesUnclamped(wbase + <usize>g * gsize, kh * kw * cg, ocg, scales + ((<usize>g * sg) << 2));
  }
  let total = oh * ow;
  for (let p0 = 0; p0 < total; p0 += bandPix) {
    let pEnd = min(total, p0 + bandPix);
    // band rows: input y from iyLo (padding rows included) to the last one the band's pixels read
    let iyLo = (p0 / ow) * sh - pt;
    let iyHi = ((pEnd - 1) / ow) * sh - pt + (kh - 1) * dh;
    for (let iy = iyLo; iy <= iyHi; iy++) {
      let d = buf + <usize>(iy - iyLo) * rowBytes;
      if (iy < 0 || iy >= h) { fill16(d, vzIn, wp * c); continue; }
      fill16(d, vzIn, copyLo * c);
      extend16(img + <usize>iy * w * c, d + <usize>copyLo * pixBytes, copyN * c);
      fill16(d + <usize>(copyLo + copyN) * pixBytes, vzIn, (wp - copyLo - copyN) * c);
    }
    for (let m0 = p0; m0 < pEnd; m0 += MR) {
      let rows = min(MR, pEnd - m0);
      // ind[s·MR + r] = band address of pixel r's segment s (group offset added below); rows past `rows`
      // repeat the last valid pixel (computed, then dropped by storeTile4x8)
      for (let r = 0; r < MR; r++) {
        let pr = m0 + min(r, rows - 1);
        let oy = pr / ow, ox = pr - oy * ow;
        let px = buf + <usize>(oy * sh - pt - iyLo) * rowBytes + <usize>(ox * sw) * pixBytes; // top-left tap
        for (let s = 0; s < segs; s++) {
          let ky = whole ? s : s / kw, kx = whole ? 0 : s - ky * kw;
          store<u32>(ind + (<usize>(s * MR + r) << 2),
                     <u32>(px + <usize>(ky * dh) * rowBytes + <usize>(kx * dw) * pixBytes));
        }
      }
      for (let g = 0; g < groups; g++) {
        let goff = <usize>g * cg * 2;
        let packed = wbase + <usize>g * gsize;
        let sc = scales + ((<usize>g * sg) << 2);
        let cout = out + <usize>g * ocg;
        for (let n0 = 0; n0 < ocg; n0 += NR) {
          let wq = packed + <usize>(n0 / NR) * blockBytes;
          let c00 = v128.load(wq), c01 = v128.load(wq, 16);
          let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
          wq += 32;
          let ip = ind;
          for (let s = 0; s < segs; s++) {
            let a0 = <usize>load<u32>(ip) + goff, a1 = <usize>load<u32>(ip, 4) + goff;
            let a2 = <usize>load<u32>(ip, 8) + goff, a3 = <usize>load<u32>(ip, 12) + goff;
            ip += 16;
            for (let p = 0; p < segPairs; p++) {
              let b0 = v128.load8x8_s(wq), b1 = v128.load8x8_s(wq, 8);
              let x0 = v128.load32_splat(a0);
              c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, b0));
              c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, b1));
              let x1 = v128.load32_splat(a1);
              c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, b0));
              c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, b1));
              let x2 = v128.load32_splat(a2);
              c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, b0));
              c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, b1));
              let x3 = v128.load32_splat(a3);
              c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, b0));
              c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, b1));
              wq += 16; a0 += 4; a1 += 4; a2 += 4; a3 += 4;
            }
          }
          if (fast && rows == 4 && n0 + NR <= ocg) {
            storeTile4x8Unclamped(c00, c01, c10, c11, c20, c21, c30, c31, cout + <usize>m0 * oc + n0, oc,
                                  sc + (<usize>n0 << 2), vz, vqlo, vqhi);
          } else storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, cout, oc, m0, n0, rows, ocg, OUT_S8, sc, vz, vlo, vhi);
        }
      }
    }
  }
  heap.free(ind);
  heap.free(buf);
}
