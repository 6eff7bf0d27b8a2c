// f32 GEMM: C[M×N] = α · op(A)[M×K] · op(B)[K×N] + β · C + bias (bias: one value per column, optional),
// op = identity or transpose for each operand (training's backward passes need AᵀB and ABᵀ). Row-major with
// leading dimensions: A is M×K (lda ≥ K) or, transposed, K×M (lda ≥ M); B is K×N (ldb ≥ N) or N×K (ldb ≥ K).
// β = 0 never reads C (it may hold garbage or NaN, as in BLAS).
//
// Fast path (Goto/BLIS blocking): N is cut into NC-column blocks and K into KC-deep blocks; each KC×NC block of
// op(B) is packed into panels of NR = 8 columns (panel element (k, j) at k·8 + j, zero padded past N), each
// MC×KC block of op(A) into panels of MR = 4 rows (element (k, r) at k·4 + r, zero padded past M). The 4×8
// microkernel keeps 8 f32x4 accumulators in registers and, per k, loads two B vectors and splats four A values
// The inner products use madd(): f32x4.mul + f32x4.add in the simd build, f32x4.relaxed_madd (a fused multiply-add
// where the engine has one: ~1.4× the throughput in Chromium here) in the relaxed build, whose f32 results may
// therefore differ from the simd build's in the last bits (tests compare f32 within a tolerance).
// (6×8 needs 12 accumulators + 2 B + 1 A + 1 product = 16 registers: V8 keeps one xmm as scratch and spills;
// 4×8 measured 15–25 % faster.) K blocks after the first add into C. One or two rows (M ≤ 2) skip packing: a
// row-times-matrix loop that streams B directly. The scalar build runs the same blocking with a scalar 4×8 loop.


// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 72;
const NC: i32 = 512;

// @ts-ignore: decorator
@inline function ldA(a: usize, lda: i32, transA: i32, i: i32, kk: i32): f32 {
  return transA ? load<f32>(a + ((<usize>kk * lda + i) << 2)) : load<f32>(a + ((<usize>i * lda + kk) << 2));
}
// @ts-ignore: decorator
@inline function ldB(b: usize, ldb: i32, transB: i32, kk: i32, j: i32): f32 {
  return transB ? load<f32>(b + ((<usize>j * ldb + kk) << 2)) : load<f32>(b + ((<usize>kk * ldb + j) << 2));
}

// Reference path: plain loops, sum over k in order, then α·sum + β·C + bias.
export function gemm_f32_ref(m: i32, k: i32, n: i32, alpha: f32, a: usize, lda: i32, transA: i32,
                             b: usize, ldb: i32, transB: i32, beta: f32, c: usize, ldc: i32, bias: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      for (let kk = 0; kk < k; kk++) s += ldA(a, lda, transA, i, kk) * ldB(b, ldb, transB, kk, j);
      let cp = c + ((<usize>i * ldc + j) << 2);
      let v = alpha * s;
      if (beta != 0) v += beta * load<f32>(cp);
      if (bias) v += load<f32>(bias + (<usize>j << 2));
      store<f32>(cp, v);
    }
  }
}

// Packs op(B)[pc .. pc+kc)[jc .. jc+nc) into NR-column panels of kc rows each.
function packB(kc: i32, nc: i32, b: usize, ldb: i32, transB: i32, pc: i32, jc: i32, out: usize): void {
  let p = out;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    let cols = min(NR, nc - j0);
    if (!transB && cols == NR) {
      let src = b + ((<usize>pc * ldb + jc + j0) << 2);
      let step = <usize>ldb << 2;
      if (ASC_FEATURE_SIMD) {
        for (let kk = 0; kk < kc; kk++) {
          v128.store(p, v128.load(src));
          v128.store(p, v128.load(src, 16), 16);
          src += step; p += NR * 4;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          for (let j = 0; j < NR; j++) store<f32>(p + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
          src += step; p += NR * 4;
        }
      }
    } else if (transB && cols == NR) {
      // op(B)[k][j] = B[j][k]: eight source rows read along k.
      let src = b + ((<usize>(jc + j0) * ldb + pc) << 2);
      let rs = <usize>ldb << 2;
      for (let kk = 0; kk < kc; kk++) {
        let s = src + (<usize>kk << 2);
        store<f32>(p, load<f32>(s));
        store<f32>(p, load<f32>(s + rs), 4);
        store<f32>(p, load<f32>(s + 2 * rs), 8);
        store<f32>(p, load<f32>(s + 3 * rs), 12);
        store<f32>(p, load<f32>(s + 4 * rs), 16);
        store<f32>(p, load<f32>(s + 5 * rs), 20);
        store<f32>(p, load<f32>(s + 6 * rs), 24);
        store<f32>(p, load<f32>(s + 7 * rs), 28);
        p += NR * 4;
      }
    } else {
      for (let kk = 0; kk < kc; kk++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(p + (<usize>j << 2), j < cols ? ldB(b, ldb, transB, pc + kk, jc + j0 + j) : 0);
        }
        p += NR * 4;
      }
    }
  }
}

// Packs op(A)[ic .. ic+mc)[pc .. pc+kc) into MR-row panels of kc columns each.
function packA(mc: i32, kc: i32, a: usize, lda: i32, transA: i32, ic: i32, pc: i32, out: usize): void {
  let p = out;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    let rows = min(MR, mc - i0);
    if (rows == MR) {
      if (transA) {
        // op(A)[i][k] = A[k][i]: the four rows of one k are adjacent.
        let src = a + ((<usize>pc * lda + ic + i0) << 2);
        let step = <usize>lda << 2;
        for (let kk = 0; kk < kc; kk++) {
          if (ASC_FEATURE_SIMD) {
            v128.store(p, v128.load(src));
          } else {
            store<f32>(p, load<f32>(src));
            store<f32>(p, load<f32>(src, 4), 4);
            store<f32>(p, load<f32>(src, 8), 8);
            store<f32>(p, load<f32>(src, 12), 12);
          }
          src += step; p += MR * 4;
        }
      } else {
        let rs = <usize>lda << 2;
        let src = a + ((<usize>(ic + i0) * lda + pc) << 2);
        let kk = 0;
        if (ASC_FEATURE_SIMD) {
          // 4 k at a time from each of the four rows: a 4×4 transpose, written k-major.
          for (; kk + 4 <= kc; kk += 4) {
            let s = src + (<usize>kk << 2);
            let r0 = v128.load(s), r1 = v128.load(s + rs), r2 = v128.load(s + 2 * rs), r3 = v128.load(s + 3 * rs);
            let t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
            let t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
            let t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
            let t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
            v128.store(p, v128.shuffle<i64>(t0, t1, 0, 2));
            v128.store(p, v128.shuffle<i64>(t0, t1, 1, 3), 16);
            v128.store(p, v128.shuffle<i64>(t2, t3, 0, 2), 32);
            v128.store(p, v128.shuffle<i64>(t2, t3, 1, 3), 48);
            p += 4 * MR * 4;
          }
        }
        for (; kk < kc; kk++) {
          let s = src + (<usize>kk << 2);
          store<f32>(p, load<f32>(s));
          store<f32>(p, load<f32>(s + rs), 4);
          store<f32>(p, load<f32>(s + 2 * rs), 8);
          store<f32>(p, load<f32>(s + 3 * rs), 12);
          p += MR * 4;
        }
      }
    } else {
      for (let kk = 0; kk < kc; kk++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(p + (<usize>r << 2), r < rows ? ldA(a, lda, transA, ic + i0 + r, pc + kk) : 0);
        }
        p += MR * 4;
      }
    }
  }
}

// Writes one accumulator value: the first K block applies α, β·C and bias; later blocks add α·acc into C.
// @ts-ignore: decorator
@inline function put1(cp: usize, acc: f32, alpha: f32, beta: f32, bv: f32, first: bool): void {
  let v = alpha * acc;
  if (first) {
    if (beta != 0) v += beta * load<f32>(cp);
    v += bv;
  } else v = load<f32>(cp) + v;
  store<f32>(cp, v);
}

// @ts-ignore: decorator
@inline function putRow(cp: usize, v0: v128, v1: v128, va: v128, vb: v128, bb0: v128, bb1: v128,
                        first: bool, hasBeta: bool): void {
  let x0 = f32x4.mul(v0, va), x1 = f32x4.mul(v1, va);
  if (first) {
    if (hasBeta) {
      x0 = madd(vb, v128.load(cp), x0);
      x1 = madd(vb, v128.load(cp, 16), x1);
    }
    x0 = f32x4.add(x0, bb0);
    x1 = f32x4.add(x1, bb1);
  } else {
    x0 = f32x4.add(v128.load(cp), x0);
    x1 = f32x4.add(v128.load(cp, 16), x1);
  }
  v128.store(cp, x0);
  v128.store(cp, x1, 16);
}

// Stores a partial tile (rows × cols of the MR × NR accumulators, spilled row-major at tile).
function putTile(tile: usize, c: usize, ldc: i32, rows: i32, cols: i32, alpha: f32, beta: f32,
                 bias: usize, first: bool): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      let bv: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      put1(c + ((<usize>r * ldc + j) << 2), load<f32>(tile + ((<usize>(r * NR + j)) << 2)), alpha, beta, bv, first);
    }
  }
}

// MR×NR microkernel over packed panels ap (kc×MR) and bp (kc×NR); bias points at this tile's first column.
function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32,
               alpha: f32, beta: f32, bias: usize, first: bool): void {
  if (ASC_FEATURE_SIMD) {
    let z = f32x4.splat(0);
    if (rows == 1) {
      // one row (M = 1 on packed weights, or the last row): the packed A panel still has MR lanes per k
      let s0 = z, s1 = z, t0 = z, t1 = z;
      let p = 0;
      for (; p + 2 <= kc; p += 2) {
        let x0 = v128.load32_splat(ap), x1 = v128.load32_splat(ap, MR * 4);
        s0 = madd(x0, v128.load(bp), s0);
        s1 = madd(x0, v128.load(bp, 16), s1);
        t0 = madd(x1, v128.load(bp, 32), t0);
        t1 = madd(x1, v128.load(bp, 48), t1);
        ap += 2 * MR * 4; bp += 2 * NR * 4;
      }
      if (p < kc) {
        let x0 = v128.load32_splat(ap);
        s0 = madd(x0, v128.load(bp), s0);
        s1 = madd(x0, v128.load(bp, 16), s1);
      }
      let tile = memory.data(MR * NR * 4, 16);
      v128.store(tile, f32x4.add(s0, t0)); v128.store(tile, f32x4.add(s1, t1), 16);
      putTile(tile, c, ldc, 1, cols, alpha, beta, bias, first);
      return;
    }
    let c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
    for (let p = 0; p < kc; p++) {
      let b0 = v128.load(bp), b1 = v128.load(bp, 16);
      let a0 = v128.load32_splat(ap);
      c00 = madd(a0, b0, c00);
      c01 = madd(a0, b1, c01);
      let a1 = v128.load32_splat(ap, 4);
      c10 = madd(a1, b0, c10);
      c11 = madd(a1, b1, c11);
      let a2 = v128.load32_splat(ap, 8);
      c20 = madd(a2, b0, c20);
      c21 = madd(a2, b1, c21);
      let a3 = v128.load32_splat(ap, 12);
      c30 = madd(a3, b0, c30);
      c31 = madd(a3, b1, c31);
      ap += MR * 4; bp += NR * 4;
    }
    if (rows == MR && cols == NR) {
      let va = f32x4.splat(alpha), vb = f32x4.splat(beta);
      let bb0 = z, bb1 = z;
      if (bias) { bb0 = v128.load(bias); bb1 = v128.load(bias, 16); }
      let hasBeta = beta != 0;
      let rs = <usize>ldc << 2;
      putRow(c, c00, c01, va, vb, bb0, bb1, first, hasBeta);
      putRow(c + 1 * rs, c10, c11, va, vb, bb0, bb1, first, hasBeta);
      putRow(c + 2 * rs, c20, c21, va, vb, bb0, bb1, first, hasBeta);
      putRow(c + 3 * rs, c30, c31, va, vb, bb0, bb1, first, hasBeta);
    } else {
      let tile = memory.data(MR * NR * 4, 16);
      v128.store(tile, c00, 0); v128.store(tile, c01, 16);
      v128.store(tile, c10, 32); v128.store(tile, c11, 48);
      v128.store(tile, c20, 64); v128.store(tile, c21, 80);
      v128.store(tile, c30, 96); v128.store(tile, c31, 112);
      putTile(tile, c, ldc, rows, cols, alpha, beta, bias, first);
    }
  } else {
    // Scalar build: one row of eight columns at a time in locals (only the rows that exist).
    let tile = memory.data(MR * NR * 4, 16);
    for (let r = 0; r < rows; r++) {
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
      let pa = ap + (<usize>r << 2), pb = bp;
      for (let p = 0; p < kc; p++) {
        let x = load<f32>(pa);
        s0 += x * load<f32>(pb, 0); s1 += x * load<f32>(pb, 4);
        s2 += x * load<f32>(pb, 8); s3 += x * load<f32>(pb, 12);
        s4 += x * load<f32>(pb, 16); s5 += x * load<f32>(pb, 20);
        s6 += x * load<f32>(pb, 24); s7 += x * load<f32>(pb, 28);
        pa += MR * 4; pb += NR * 4;
      }
      let t = tile + (<usize>(r * NR) << 2);
      store<f32>(t, s0, 0); store<f32>(t, s1, 4); store<f32>(t, s2, 8); store<f32>(t, s3, 12);
      store<f32>(t, s4, 16); store<f32>(t, s5, 20); store<f32>(t, s6, 24); store<f32>(t, s7, 28);
    }
    putTile(tile, c, ldc, rows, cols, alpha, beta, bias, first);
  }
}

// One or two rows: y = α·x·op(B) + β·y + bias per row, streaming B without packing. x (op(A)'s row) is copied
// to xs first so both transposes read it contiguously; the sums gather in acc, then one pass writes C.
function smallM(m: i32, k: i32, n: i32, alpha: f32, a: usize, lda: i32, transA: i32,
                b: usize, ldb: i32, transB: i32, beta: f32, c: usize, ldc: i32, bias: usize): void {
  let xs = heap.alloc(<usize>(k + 4) << 2);
  let acc = heap.alloc(<usize>(n + 4) << 2);
  let rs = <usize>ldb << 2;
  for (let i = 0; i < m; i++) {
    for (let kk = 0; kk < k; kk++) store<f32>(xs + (<usize>kk << 2), ldA(a, lda, transA, i, kk));
    for (let j = 0; j < n; j++) store<f32>(acc + (<usize>j << 2), 0);
    if (!transB) {
      // acc[j] += Σ x[k]·B[k][j], four rows of B per pass (contiguous streams).
      for (let kk = 0; kk < k; kk += 4) {
        let kb = min(4, k - kk);
        let x0 = load<f32>(xs + (<usize>kk << 2));
        let x1: f32 = kb > 1 ? load<f32>(xs + (<usize>(kk + 1) << 2)) : 0;
        let x2: f32 = kb > 2 ? load<f32>(xs + (<usize>(kk + 2) << 2)) : 0;
        let x3: f32 = kb > 3 ? load<f32>(xs + (<usize>(kk + 3) << 2)) : 0;
        let b0 = b + ((<usize>kk * ldb) << 2);
        let b1 = kb > 1 ? b0 + rs : b0, b2 = kb > 2 ? b0 + 2 * rs : b0, b3 = kb > 3 ? b0 + 3 * rs : b0;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          let v0 = f32x4.splat(x0), v1 = f32x4.splat(x1), v2 = f32x4.splat(x2), v3 = f32x4.splat(x3);
          for (; j + 8 <= n; j += 8) {
            let o = <usize>j << 2;
            let s = f32x4.add(f32x4.add(f32x4.mul(v0, v128.load(b0 + o)), f32x4.mul(v1, v128.load(b1 + o))),
                              f32x4.add(f32x4.mul(v2, v128.load(b2 + o)), f32x4.mul(v3, v128.load(b3 + o))));
            let t = f32x4.add(f32x4.add(f32x4.mul(v0, v128.load(b0 + o, 16)), f32x4.mul(v1, v128.load(b1 + o, 16))),
                              f32x4.add(f32x4.mul(v2, v128.load(b2 + o, 16)), f32x4.mul(v3, v128.load(b3 + o, 16))));
            v128.store(acc + o, f32x4.add(v128.load(acc + o), s));
            v128.store(acc + o, f32x4.add(v128.load(acc + o, 16), t), 16);
          }
        }
        for (; j < n; j++) {
          let o = <usize>j << 2;
          let s = (x0 * load<f32>(b0 + o) + x1 * load<f32>(b1 + o)) + (x2 * load<f32>(b2 + o) + x3 * load<f32>(b3 + o));
          store<f32>(acc + o, load<f32>(acc + o) + s);
        }
      }
    } else {
      // acc[j] = x · B[j] (rows of B are contiguous along k), four columns at a time.
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        for (; j + 4 <= n; j += 4) {
          let r0 = b + ((<usize>j * ldb) << 2), r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
          let z = f32x4.splat(0);
          let s0 = z, s1 = z, s2 = z, s3 = z;
          let kk = 0;
          for (; kk + 4 <= k; kk += 4) {
            let o = <usize>kk << 2;
            let x = v128.load(xs + o);
            s0 = madd(x, v128.load(r0 + o), s0);
            s1 = madd(x, v128.load(r1 + o), s1);
            s2 = madd(x, v128.load(r2 + o), s2);
            s3 = madd(x, v128.load(r3 + o), s3);
          }
          // horizontal sums of the four accumulators → one vector of four columns
          let t0 = f32x4.add(v128.shuffle<i32>(s0, s1, 0, 4, 1, 5), v128.shuffle<i32>(s0, s1, 2, 6, 3, 7));
          let t1 = f32x4.add(v128.shuffle<i32>(s2, s3, 0, 4, 1, 5), v128.shuffle<i32>(s2, s3, 2, 6, 3, 7));
          let h = f32x4.add(v128.shuffle<i64>(t0, t1, 0, 2), v128.shuffle<i64>(t0, t1, 1, 3));
          for (; kk < k; kk++) {
            let o = <usize>kk << 2;
            let xk = f32x4.splat(load<f32>(xs + o));
            let col = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(r0 + o)),
                        1, load<f32>(r1 + o)), 2, load<f32>(r2 + o)), 3, load<f32>(r3 + o));
            h = madd(xk, col, h);
          }
          v128.store(acc + (<usize>j << 2), h);
        }
      }
      for (; j < n; j++) {
        let r = b + ((<usize>j * ldb) << 2);
        let s: f32 = 0;
        for (let kk = 0; kk < k; kk++) s += load<f32>(xs + (<usize>kk << 2)) * load<f32>(r + (<usize>kk << 2));
        store<f32>(acc + (<usize>j << 2), s);
      }
    }
    let crow = c + ((<usize>i * ldc) << 2);
    for (let j = 0; j < n; j++) {
      let bv: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      put1(crow + (<usize>j << 2), load<f32>(acc + (<usize>j << 2)), alpha, beta, bv, true);
    }
  }
  heap.free(acc);
  heap.free(xs);
}

// Blocked driver. packed = 0: op(B) is packed block by block into scratch; else it points at gemm_f32_pack's
// layout (N blocks of NC columns, each holding its K blocks of KC rows, each a run of NR-column panels).
function blocked(m: i32, k: i32, n: i32, alpha: f32, a: usize, lda: i32, transA: i32,
                 b: usize, ldb: i32, transB: i32, packed: usize, beta: f32, c: usize, ldc: i32, bias: usize): void {
  // packing buffers sized to this problem (at most KC×NC and MC×KC floats)
  let kcMax = <usize>min(KC, k);
  let bpack: usize = packed ? 0 : heap.alloc(kcMax * <usize>((min(NC, n) + NR - 1) & ~(NR - 1)) * 4);
  let apack = heap.alloc(kcMax * <usize>((min(MC, m) + MR - 1) / MR * MR) * 4);
  for (let jc = 0; jc < n; jc += NC) {
    let nc = min(NC, n - jc);
    let nc8 = (nc + NR - 1) & ~(NR - 1);
    for (let pc = 0; pc < k; pc += KC) {
      let kc = min(KC, k - pc);
      let first = pc == 0;
      let bblock = bpack;
      if (packed) bblock = packed + ((<usize>jc * k + <usize>pc * nc8) << 2);
      else packB(kc, nc, b, ldb, transB, pc, jc, bpack);
      for (let ic = 0; ic < m; ic += MC) {
        let mc = min(MC, m - ic);
        packA(mc, kc, a, lda, transA, ic, pc, apack);
        for (let jr = 0; jr < nc; jr += NR) {
          let cols = min(NR, nc - jr);
          let bp = bblock + ((<usize>jr * kc) << 2);
          let bb = bias ? bias + (<usize>(jc + jr) << 2) : 0;
          for (let ir = 0; ir < mc; ir += MR) {
            let rows = min(MR, mc - ir);
            micro(kc, apack + ((<usize>ir * kc) << 2), bp,
                  c + ((<usize>(ic + ir) * ldc + jc + jr) << 2), ldc, rows, cols, alpha, beta, bb, first);
          }
        }
      }
    }
  }
  heap.free(apack);
  if (bpack) heap.free(bpack);
}

export function gemm_f32(m: i32, k: i32, n: i32, alpha: f32, a: usize, lda: i32, transA: i32,
                         b: usize, ldb: i32, transB: i32, beta: f32, c: usize, ldc: i32, bias: usize): void {
  if (m <= 2) smallM(m, k, n, alpha, a, lda, transA, b, ldb, transB, beta, c, ldc, bias);
  else blocked(m, k, n, alpha, a, lda, transA, b, ldb, transB, 0, beta, c, ldc, bias);
}

// Persistent packed op(B) (weights reused across calls): K × roundUp(N, 8) floats.
export function gemm_f32_packed_size(k: i32, n: i32): usize {
  return <usize>k * <usize>((n + NR - 1) & ~(NR - 1)) * 4;
}

export function gemm_f32_pack(k: i32, n: i32, b: usize, ldb: i32, transB: i32, out: usize): void {
  for (let jc = 0; jc < n; jc += NC) {
    let nc = min(NC, n - jc);
    let nc8 = (nc + NR - 1) & ~(NR - 1);
    for (let pc = 0; pc < k; pc += KC) {
      packB(min(KC, k - pc), nc, b, ldb, transB, pc, jc, out + ((<usize>jc * k + <usize>pc * nc8) << 2));
    }
  }
}

// C = alpha·op(A)·B_packed + beta·C + bias over gemm_f32_pack's layout.
export function gemm_f32_packed(m: i32, k: i32, n: i32, alpha: f32, a: usize, lda: i32, transA: i32,
                                packed: usize, beta: f32, c: usize, ldc: i32, bias: usize): void {
  blocked(m, k, n, alpha, a, lda, transA, 0, 0, 0, packed, beta, c, ldc, bias);
}
