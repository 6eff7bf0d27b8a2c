// Experiment (not shipped): int8 GEMM on i32x4.relaxed_dot_i8x16_i7x16_add_s. The dot needs its second operand
// in [0, 127], so weights are split w = wp − wn (both 7-bit) and the wn half is taken against ~a (= −a − 1),
// whose error Σwn is folded into the bias: acc = rdot(a, wp) + rdot(~a, wn) + Σwn. 16 relaxed dots per
// 4×8×4 tile step, against 16 i32x4.dot_i16x8_s + 16 adds for 4×8×2 in the shipped SIMD128 kernel.
// bench/relaxed-dot/run.js compiles it with the shipped kernel and times both in Chromium.
import { storeTile4x8 } from '../../assembly/gemm_s8';
import { requantZero } from '../../assembly/requant';
const NR: i32 = 8;
const MR: i32 = 4;
// acc + dot(x, p) + dot(y, q), p and q in [0, 127]
// @ts-ignore: decorator
@inline function rdotPair(x: v128, y: v128, p: v128, q: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(y, q, i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc));
}
// @ts-ignore: decorator
@inline function kpad4(k: i32): i32 { return (k + 3) & ~3; }

export function rdot_packed_size(k: i32, n: i32): usize {
  let nb = (n + NR - 1) / NR;
  return <usize>nb * (<usize>NR * 4 + <usize>kpad4(k) * <usize>NR * 2);
}

export function rdot_pack(k: i32, n: i32, b: usize, ldb: i32, bias: usize, zpA: i32, out: usize): void {
  let kp = kpad4(k);
  let p = out;
  for (let n0 = 0; n0 < n; n0 += NR) {
    for (let j = 0; j < NR; j++) {
      let col = n0 + j, v = 0;
      if (col < n) {
        let s = 0, sn = 0;
        for (let kk = 0; kk < k; kk++) { let w = <i32>load<i8>(b + <usize>kk * ldb + col); s += w; if (w < 0) sn -= w; }
        v = (bias ? load<i32>(bias + (<usize>col << 2)) : 0) - zpA * s + sn;
      }
      store<i32>(p + (<usize>j << 2), v);
    }
    p += NR * 4;
    for (let kk = 0; kk < kp; kk += 4) {
      for (let j = 0; j < NR; j++) {
        let col = n0 + j;
        for (let t = 0; t < 4; t++) {
          let w = 0;
          if (col < n && kk + t < k) w = <i32>load<i8>(b + <usize>(kk + t) * ldb + col);
          let off = <usize>((j >> 2) * 16 + (j & 3) * 4 + t);
          store<i8>(p + off, w > 0 ? w : 0);
          store<i8>(p + 32 + off, w < 0 ? -w : 0);
        }
      }
      p += 64;
    }
  }
}

function packA4(rows: i32, k: i32, a: usize, lda: i32, out: usize, mr: i32): void {
  let kq = kpad4(k) >> 2;
  let step = <usize>mr << 3;
  for (let r = 0; r < mr; r++) {
    let src = a + <usize>min(r, rows - 1) * lda;
    let dst = out + (<usize>r << 3);
    for (let q = 0; q < kq; q++) {
      let w: u32 = 0;
      for (let t = 0; t < 4; t++) {
        let kk = (q << 2) + t;
        let v: u32 = kk < k ? <u32>load<u8>(src + kk) : 0;
        w |= v << (t << 3);
      }
      store<u32>(dst, w);
      // ~a for the negative-weight half; padded k must contribute 0: ~0 = -1 times wn = 0 there, fine.
      store<u32>(dst, ~w, 4);
      dst += step;
    }
  }
}

export function rdot_gemm(m: i32, k: i32, n: i32, a: usize, lda: i32, packed: usize,
                          c: usize, ldc: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let kq = kpad4(k) >> 2;
  let blockBytes = <usize>NR * 4 + <usize>kq * 64;
  let apack = heap.alloc(<usize>MR * kq * 8);
  let vz = requantZero(zp), vlo = f32x4.splat(<f32>(qmin - zp)), vhi = f32x4.splat(<f32>(qmax - zp));
  for (let m0 = 0; m0 < m; m0 += MR) {
    let rows = min(MR, m - m0);
    packA4(rows, k, a + <usize>m0 * lda, lda, apack, MR);
    for (let n0 = 0; n0 < n; n0 += NR) {
      let w = packed + <usize>(n0 / NR) * blockBytes;
      let c00 = v128.load(w), c01 = v128.load(w, 16);
      let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
      w += 32;
      let ap = apack;
      for (let q = 0; q < kq; q++) {
        let p0 = v128.load(w), p1 = v128.load(w, 16), n0v = v128.load(w, 32), n1v = v128.load(w, 48);
        // row r: x = its 4 activations, y = their complements (~a), against the wp / wn halves
        let x = v128.load32_splat(ap), y = v128.load32_splat(ap, 4);
        c00 = rdotPair(x, y, p0, n0v, c00); c01 = rdotPair(x, y, p1, n1v, c01);
        x = v128.load32_splat(ap, 8); y = v128.load32_splat(ap, 12);
        c10 = rdotPair(x, y, p0, n0v, c10); c11 = rdotPair(x, y, p1, n1v, c11);
        x = v128.load32_splat(ap, 16); y = v128.load32_splat(ap, 20);
        c20 = rdotPair(x, y, p0, n0v, c20); c21 = rdotPair(x, y, p1, n1v, c21);
        x = v128.load32_splat(ap, 24); y = v128.load32_splat(ap, 28);
        c30 = rdotPair(x, y, p0, n0v, c30); c31 = rdotPair(x, y, p1, n1v, c31);
        w += 64; ap += 32;
      }
      storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, m0, n0, rows, n, mode, scale, vz, vlo, vhi);
    }
  }
  heap.free(apack);
}
