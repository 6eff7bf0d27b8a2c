// int8 conv2d as an indirect GEMM (SIMD builds; the fast path of conv_s8.ts for Cg even, Cg ≥ IGEMM_MIN_CG).
//
// Same weights (gemm_s8_pack's 4x8c2 blocks of B[K][OCg], K = KH·KW·Cg, k = tap·Cg + c), same 4×8 tile of
// `i32x4.dot_i16x8_s` as gemm_s8, but no im2col matrix and no per-tile A packing:
//   1. the input rows a band of output pixels needs are sign-extended once into int16 (whole pixels, all C
//      channels), so an activation pair (x[c], x[c+1]) of one pixel is one int32 word, ready for
//      `v128.load32_splat` (the tile's broadcast operand);
//   2. per 4 output pixels, an indirection table holds for every tap the 4 pixels' addresses in that buffer
//      (XNNPACK's igemm idea); a tap in the padding points at `zrow`, Cg int16 copies of zpIn, so it adds
//      (zpIn − zpIn)·w = 0 against the zero-point-folded bias, like the im2col path's zpIn bytes;
//   3. the tile walks the taps, and within a tap the Cg/2 channel pairs, reading the 4 pixels straight from
//      the int16 buffer. Because Cg is even, a pair never straddles two taps, so the packed B (pairs of
//      consecutive k) is walked exactly as gemm_s8 walks it.
// Integer sums are exact and the requantisation is gemm_s8's storeTile4x8, so the output bytes equal the
// im2col + gemm_s8 path's (and conv2d_s8_ref's) bit for bit.
// What it saves against im2col + gemm_s8 (docs/KERNELS.md, "int8 conv 3×3"): the im2col copy (K bytes per
// output pixel) and gemm_s8's packA (a 4×4 transpose of K/2 words per 4 pixels, re-done for every 4 pixels
// although each input pixel appears in KH·KW of them); what it adds: one int16 extension per input pixel and
// band (not per tap) and 3 more address increments per k-pair in the tile.

import { storeTile4x8 } from './gemm_s8';
import { OUT_S8 } from './requant';

// Below this many channels per group a tap holds too few k-pairs to pay for the per-tap pointer reloads:
// im2col + gemm_s8 (one contiguous K) stays faster there.
export const IGEMM_MIN_CG: i32 = 8;
// Target bytes of one band's int16 input rows (stays in L2 while its output rows are computed).
const BAND_BYTES: i32 = 262144;
const MR: i32 = 4;
const NR: i32 = 8;

// Sign-extends `count` int8 values at src into int16 at dst (count a multiple of 8 or not).
function extend16(src: usize, dst: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) v128.store(dst + (<usize>i << 1), v128.load8x8_s(src + i));
  for (; i < count; i++) store<i16>(dst + (<usize>i << 1), <i16>load<i8>(src + i));
}

// Conv of one batch image img (H×W×C int8) into out (OH·OW rows of OC int8), every group, over packed weights
// wbase (group g at wbase + g·gsize) and scales (group g at scales + g·sg floats). Geometry as conv2d_s8.
export function conv2d_s8_igemm(img: usize, h: i32, w: i32, c: i32, oc: i32, kh: i32, kw: i32, groups: i32,
                                sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
                                zpIn: i32, zpOut: i32, qmin: i32, qmax: i32,
                                wbase: usize, gsize: usize, scales: usize, sg: i32, out: usize): void {
  let cg = c / groups, ocg = oc / groups;
  let taps = kh * kw;
  let pairs = cg >> 1;
  let blockBytes = <usize>NR * 4 + <usize>taps * pairs * NR * 2;
  let rowBytes = <usize>w * c * 2;
  // Band: a multiple of MR output pixels whose input rows fit BAND_BYTES (at least one output row's worth).
  let spanRows = (kh - 1) * dh + 1; // input rows under one output row
  let fitRows = max(spanRows, <i32>(<usize>BAND_BYTES / rowBytes));
  let bandOutRows = max(1, (fitRows - spanRows) / sh + 1);
  let bandPix = (bandOutRows * ow + MR - 1) & ~(MR - 1);
  let outSpan = (bandPix + 2 * ow - 2) / ow; // most output rows bandPix consecutive pixels touch
  let bandInRows = min(h, (outSpan - 1) * sh + spanRows);
  let buf = heap.alloc(<usize>bandInRows * rowBytes);
  // a padding pixel: C int16 copies of zpIn, so zrow + group offset is valid for every group
  let zrow = heap.alloc(<usize>c << 1);
  let zv = i16x8.splat(<i16>zpIn);
  for (let i = 0; i + 8 <= c; i += 8) v128.store(zrow + (<usize>i << 1), zv);
  for (let i = c & ~7; i < c; i++) store<i16>(zrow + (<usize>i << 1), <i16>zpIn);
  let ind = heap.alloc(<usize>taps * MR * 4);
  let vz = i32x4.splat(zpOut), vlo = f32x4.splat(<f32>(qmin - zpOut)), vhi = f32x4.splat(<f32>(qmax - zpOut));
  let total = oh * ow;
  for (let p0 = 0; p0 < total; p0 += bandPix) {
    let pEnd = min(total, p0 + bandPix);
    // input rows under the band's output rows, clipped to the image
    let iyLo = max(0, (p0 / ow) * sh - pt);
    let iyHi = min(h - 1, ((pEnd - 1) / ow) * sh - pt + (kh - 1) * dh);
    if (iyHi >= iyLo) extend16(img + <usize>iyLo * w * c, buf, (iyHi - iyLo + 1) * w * c);
    for (let m0 = p0; m0 < pEnd; m0 += MR) {
      let rows = min(MR, pEnd - m0);
      // indirection: ind[t·MR + r] = int16 address of pixel r's tap t, or zrow (group offset added below);
      // rows past `rows` repeat the last valid pixel (computed, then dropped by storeTile4x8)
      for (let r = 0; r < MR; r++) {
        let pr = m0 + min(r, rows - 1);
        let oy = pr / ow, ox = pr - oy * ow;
        let iy0 = oy * sh - pt, ix0 = ox * sw - pl;
        for (let ky = 0; ky < kh; ky++) {
          let iy = iy0 + ky * dh;
          let rowOk = iy >= 0 && iy < h;
          let rowp = buf + <usize>(iy - iyLo) * rowBytes;
          for (let kx = 0; kx < kw; kx++) {
            let ix = ix0 + kx * dw;
            store<u32>(ind + (<usize>((ky * kw + kx) * MR + r) << 2),
                       rowOk && ix >= 0 && ix < w ? <u32>(rowp + <usize>ix * c * 2) : <u32>zrow);
          }
        }
      }
      for (let g = 0; g < groups; g++) {
        let goff = <usize>g * cg * 2;
        let packed = wbase + <usize>g * gsize;
        let sc = scales + ((<usize>g * sg) << 2);
        let cout = out + <usize>g * ocg;
        for (let n0 = 0; n0 < ocg; n0 += NR) {
          let wp = packed + <usize>(n0 / NR) * blockBytes;
          let c00 = v128.load(wp), c01 = v128.load(wp, 16);
          let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
          wp += 32;
          let ip = ind;
          for (let t = 0; t < taps; t++) {
            let a0 = <usize>load<u32>(ip) + goff, a1 = <usize>load<u32>(ip, 4) + goff;
            let a2 = <usize>load<u32>(ip, 8) + goff, a3 = <usize>load<u32>(ip, 12) + goff;
            ip += 16;
            for (let p = 0; p < pairs; p++) {
              let b0 = v128.load8x8_s(wp), b1 = v128.load8x8_s(wp, 8);
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
              wp += 16; a0 += 4; a1 += 4; a2 += 4; a3 += 4;
            }
          }
          storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, cout, oc, m0, n0, rows, ocg, OUT_S8, sc, vz, vlo, vhi);
        }
      }
    }
  }
  heap.free(ind);
  heap.free(zrow);
  heap.free(buf);
}
