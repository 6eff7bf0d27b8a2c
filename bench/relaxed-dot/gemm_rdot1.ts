// Experiment (not shipped): int8 GEMM with ONE i32x4.relaxed_dot_i8x16_i7x16_add_s per 16 MACs. The weights go
// in as the "i7" operand offset to unsigned bytes, u = w + 128 ∈ [1, 255], and the activations as the i8 operand:
//   Σ a·u = Σ a·w + 128·Σ a,  so  acc = bias' − 128·Σk a[r][k] + Σ rdot(a, u).
// This is exact ONLY where the engine reads the i7 operand's top bit as unsigned without saturation — V8 on an
// AVX-VNNI CPU lowers the op to one `vpdpbusd` (u8 × s8, int32 sums), which does. It is not portable: the relaxed
// SIMD spec leaves i7 values ≥ 128 implementation-defined, and V8 without AVX-VNNI uses `pmaddubsw` (saturates
// the int16 pair sum: 2·127·255 > 32767), V8 with AVX-VNNI-INT8 uses `vpdpbssd` (reads u as signed), Arm's sdot
// reads it signed. Shipping it needs a run-time probe (rdot1_probe) and the two-dot kernel as the fallback.
// bench/relaxed-dot/run.js checks it bit for bit against the SIMD128 kernel and times it.
import { storeTile4x8 } from '../../assembly/gemm_s8';
const NR: i32 = 8;
const MR: i32 = 4;
// @ts-ignore: decorator
@inline function kpad4(k: i32): i32 { return (k + 3) & ~3; }

// 1 if this engine's relaxed dot computes u8 × s8 exactly (vpdpbusd semantics), else 0.
export function rdot1_probe(): i32 {
  let r = i32x4.relaxed_dot_i8x16_i7x16_add_s(i8x16.splat(-128), i8x16.splat(-1), i32x4.splat(7));
  // unsigned, exact: 7 + 4·(−128·255) = −130553; signed: 7 + 512; pmaddubsw saturates each pair to −32768
  return i32x4.extract_lane(r, 0) == -130553 ? 1 : 0;
}

export function rdot1_packed_size(k: i32, n: i32): usize {
  let nb = (n + NR - 1) / NR;
  return <usize>nb * (<usize>NR * 4 + <usize>kpad4(k) * <usize>NR);
}

// Layout per block of 8 columns: 8 × int32 bias' = bias − zpA·Σw, then per 4 rows of k: 2 × 16 bytes, columns
// j0..j3 then j4..j7, each column's 4 consecutive k as u8 (w + 128; padded k holds 128, met by a = 0).
export function rdot1_pack(k: i32, n: i32, b: usize, ldb: i32, bias: usize, zpA: i32, out: usize): void {
  let kp = kpad4(k);
  let p = out;
  for (let n0 = 0; n0 < n; n0 += NR) {
    for (let j = 0; j < NR; j++) {
      let col = n0 + j, v = 0;
      if (col < n) {
        let s = 0;
        for (let kk = 0; kk < k; kk++) s += <i32>load<i8>(b + <usize>kk * ldb + col);
        v = (bias ? load<i32>(bias + (<usize>col << 2)) : 0) - zpA * s;
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
          store<u8>(p + <usize>((j >> 2) * 16 + (j & 3) * 4 + t), <u8>(w + 128));
        }
      }
      p += 32;
    }
  }
}

// Packs MR rows of A as 4-byte k quads (row-interleaved) and stores rowsum[r] = 128·Σk a[r][k].
function packA1(rows: i32, k: i32, a: usize, lda: i32, out: usize, rowsum: usize): void {
  let kq = kpad4(k) >> 2;
  for (let r = 0; r < MR; r++) {
    let src = a + <usize>min(r, rows - 1) * lda;
    let dst = out + (<usize>r << 2);
    let s = 0;
    for (let q = 0; q < kq; q++) {
      let w: u32 = 0;
      for (let t = 0; t < 4; t++) {
        let kk = (q << 2) + t;
        let v: i32 = kk < k ? <i32>load<i8>(src + kk) : 0;
        s += v;
        w |= (<u32>v & 0xff) << (t << 3);
      }
      store<u32>(dst, w);
      dst += MR * 4;
    }
    store<i32>(rowsum + (<usize>r << 2), s << 7);
  }
}

export function rdot1_gemm(m: i32, k: i32, n: i32, a: usize, lda: i32, packed: usize,
                           c: usize, ldc: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let kq = kpad4(k) >> 2;
  let blockBytes = <usize>NR * 4 + <usize>kq * 32;
  let apack = heap.alloc(<usize>MR * kq * 4);
  let rowsum = heap.alloc(<usize>MR * 4);
  let vz = i32x4.splat(zp), vlo = f32x4.splat(<f32>(qmin - zp)), vhi = f32x4.splat(<f32>(qmax - zp));
  for (let m0 = 0; m0 < m; m0 += MR) {
    let rows = min(MR, m - m0);
    packA1(rows, k, a + <usize>m0 * lda, lda, apack, rowsum);
    let s0 = v128.load32_splat(rowsum), s1 = v128.load32_splat(rowsum, 4);
    let s2 = v128.load32_splat(rowsum, 8), s3 = v128.load32_splat(rowsum, 12);
    for (let n0 = 0; n0 < n; n0 += NR) {
      let w = packed + <usize>(n0 / NR) * blockBytes;
      let b0 = v128.load(w), b1 = v128.load(w, 16);
      let c00 = i32x4.sub(b0, s0), c01 = i32x4.sub(b1, s0), c10 = i32x4.sub(b0, s1), c11 = i32x4.sub(b1, s1);
      let c20 = i32x4.sub(b0, s2), c21 = i32x4.sub(b1, s2), c30 = i32x4.sub(b0, s3), c31 = i32x4.sub(b1, s3);
      w += 32;
      let ap = apack;
      for (let q = 0; q < kq; q++) {
        let u0 = v128.load(w), u1 = v128.load(w, 16);
        let x = v128.load32_splat(ap);
        c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u0, c00); c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u1, c01);
        x = v128.load32_splat(ap, 4);
        c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u0, c10); c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u1, c11);
        x = v128.load32_splat(ap, 8);
        c20 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u0, c20); c21 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u1, c21);
        x = v128.load32_splat(ap, 12);
        c30 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u0, c30); c31 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u1, c31);
        w += 32; ap += 16;
      }
      storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, m0, n0, rows, n, mode, scale, vz, vlo, vhi);
    }
  }
  heap.free(rowsum);
  heap.free(apack);
}
