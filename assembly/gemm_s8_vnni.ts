// int8 GEMM on one i32x4.relaxed_dot_i8x16_i7x16_add_s per 16 MACs — the relaxed build's gemm_s8 where the engine
// computes that dot as u8 × s8 with int32 sums (V8 on an AVX-VNNI CPU: one `vpdpbusd`), checked once by
// vnniDot(); elsewhere gemm_s8 keeps its SIMD128 kernel and layout. Same results as gemm_s8_ref, bit for bit.
//
// Encoding: the weights go in as the dot's "i7" operand offset to unsigned bytes, u = w + 128 ∈ [1, 255], the
// activations as its i8 operand: Σ a·u = Σ a·w + 128·Σ a, so each row starts from bias' − 128·Σk a[r][k].
// (u ≥ 128 is outside the relaxed dot's portable range — read signed by Arm sdot and AVX-VNNI-INT8's vpdpbssd,
// saturated by x64's pmaddubsw fallback — hence the probe. A portable encoding needs two 7-bit dots per weight and
// is slower than SIMD128: docs/BENCHMARKS-THREADS.md, "Relaxed int8 dot".)
//
// Packed layout, per block of NR = 8 columns: 8 × int32 bias'[j] = bias[j] − zpA·Σk B[k][j], then per 4 rows of
// k (K padded to a multiple of 4 with u = 128, met by a = 0): 2 × 16 bytes, columns j0..j3 then j4..j7, each
// column's 4 consecutive k as u8.
import { packBias, storeRow, storeTile4x8 } from './gemm_s8';
import { OUT_I32, requantZero } from './requant';

const NR: i32 = 8;
const MR: i32 = 4;
// @ts-ignore: decorator
@inline function kpad4(k: i32): i32 { return (k + 3) & ~3; }

let probed: i32 = -1;
/** True where the relaxed dot computes u8 × s8 exactly (vpdpbusd semantics); computed once per instance. */
export function vnniDot(): bool {
  if (probed < 0) {
    let r = i32x4.relaxed_dot_i8x16_i7x16_add_s(i8x16.splat(<i8>load<u8>(memory.data<u8>([0x80]))),
                                                i8x16.splat(<i8>load<u8>(memory.data<u8>([0xff]))), i32x4.splat(7));
    // u8 × s8, int32: 7 + 4·(−128·255); signed i7: 7 + 512; pmaddubsw saturates each pair at −32768
    probed = i32x4.extract_lane(r, 0) == 7 - 4 * 128 * 255 ? 1 : 0;
  }
  return probed == 1;
}

export function vnni_packed_size(k: i32, n: i32): usize {
  return <usize>((n + NR - 1) / NR) * (<usize>NR * 4 + <usize>kpad4(k) * <usize>NR);
}

export function vnni_pack(k: i32, n: i32, b: usize, ldb: i32, bias: usize, zpA: i32, out: usize): void {
  let kp = kpad4(k);
  let p = out;
  for (let n0 = 0; n0 < n; n0 += NR) {
    packBias(k, n, n0, b, ldb, bias, zpA, p);
    p += NR * 4;
    for (let kk = 0; kk < kp; kk += 4) {
      for (let j = 0; j < NR; j++) {
        let col = n0 + j;
        for (let t = 0; t < 4; t++) {
          let w = col < n && kk + t < k ? <i32>load<i8>(b + <usize>(kk + t) * ldb + col) : 0;
          store<u8>(p + <usize>((j >> 2) * 16 + (j & 3) * 4 + t), <u8>(w + 128));
        }
      }
      p += NR * 4;
    }
  }
}

// Packs `mr` rows of A as 4-byte k quads, row-interleaved (quad q of row r at (q·mr + r)·4; rows past `rows`
// repeat the last valid one), and stores rowsum[r] = 128·Σk a[r][k].
function packA4(rows: i32, k: i32, a: usize, lda: i32, out: usize, mr: i32, rowsum: usize): void {
  let kq = kpad4(k) >> 2;
  for (let r = 0; r < mr; r++) {
    let src = a + <usize>min(r, rows - 1) * lda;
    let dst = out + (<usize>r << 2);
    let s = 0, kk = 0;
    for (let q = 0; q < kq; q++) {
      let w: u32 = 0;
      for (let t = 0; t < 32; t += 8) {
        let v: i32 = kk < k ? <i32>load<i8>(src + kk) : 0;
        s += v; kk++;
        w |= (<u32>v & 0xff) << t;
      }
      store<u32>(dst, w);
      dst += <usize>mr << 2;
    }
    store<i32>(rowsum + (<usize>r << 2), s << 7);
  }
}

// @ts-ignore: decorator
@inline function dot(x: v128, u: v128, acc: v128): v128 { return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u, acc); }

export function vnni_gemm(m: i32, k: i32, n: i32, a: usize, lda: i32, packed: usize,
                          c: usize, ldc: i32, mode: i32, scale: usize, zp: i32, qmin: i32, qmax: i32): void {
  let kq = kpad4(k) >> 2;
  let blockBytes = <usize>NR * 4 + <usize>kq * NR * 4;
  let esz: usize = mode == OUT_I32 ? 4 : 1;
  let apack = heap.alloc(<usize>MR * kq * 4 + 16);
  let rowsum = apack + <usize>MR * kq * 4;
  let vz = requantZero(zp), vlo = f32x4.splat(<f32>(qmin - zp)), vhi = f32x4.splat(<f32>(qmax - zp));
  let m0 = 0;
  for (; m0 + 1 < m; m0 += MR) {
    let rows = min(MR, m - m0);
    packA4(rows, k, a + <usize>m0 * lda, lda, apack, MR, rowsum);
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
        c00 = dot(x, u0, c00); c01 = dot(x, u1, c01);
        x = v128.load32_splat(ap, 4);
        c10 = dot(x, u0, c10); c11 = dot(x, u1, c11);
        x = v128.load32_splat(ap, 8);
        c20 = dot(x, u0, c20); c21 = dot(x, u1, c21);
        x = v128.load32_splat(ap, 12);
        c30 = dot(x, u0, c30); c31 = dot(x, u1, c31);
        w += 32; ap += 16;
      }
      storeTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, m0, n0, rows, n, mode, scale, vz, vlo, vhi);
    }
  }
  if (m0 < m) {
    // One row left (M = 1, or M ≡ 1 mod 4): a 1×16 tile over two blocks at once
    packA4(1, k, a + <usize>m0 * lda, lda, apack, 1, rowsum);
    let s = v128.load32_splat(rowsum);
    let cp0 = c + <usize>m0 * ldc * esz;
    for (let n0 = 0; n0 < n; n0 += 2 * NR) {
      let two = n0 + NR < n;
      let w = packed + <usize>(n0 / NR) * blockBytes;
      let u = two ? w + blockBytes : w; // a lone last block computes itself twice, storing once
      let c0 = i32x4.sub(v128.load(w), s), c1 = i32x4.sub(v128.load(w, 16), s);
      let c2 = i32x4.sub(v128.load(u), s), c3 = i32x4.sub(v128.load(u, 16), s);
      w += 32; u += 32;
      let ap = apack;
      for (let q = 0; q < kq; q++) {
        let x = v128.load32_splat(ap);
        c0 = dot(x, v128.load(w), c0); c1 = dot(x, v128.load(w, 16), c1);
        c2 = dot(x, v128.load(u), c2); c3 = dot(x, v128.load(u, 16), c3);
        w += 32; u += 32; ap += 4;
      }
      let sc = scale + (<usize>n0 << 2);
      storeRow(c0, c1, cp0 + <usize>n0 * esz, min(NR, n - n0), mode, sc, vz, vlo, vhi);
      if (two) storeRow(c2, c3, cp0 + <usize>(n0 + NR) * esz, min(NR, n - n0 - NR), mode, sc + 32, vz, vlo, vhi);
    }
  }
  heap.free(apack);
}
