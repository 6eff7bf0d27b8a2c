// Weight tensors of a .qwm file: dense or gap-coded sparse (docs/QWM.md "Tensor"), validated entry by entry and
// decoded to dense, or turned into a sparse linear's column lists; sparse specs and the N:M structure check.
import { E_FIELD, E_TENSOR, align16 } from './format';
import { building, decodeBuf, decodeMax, errCode, fail, mAlloc, rd, rdEnd, rdPos, ru32, ru8, take, weightsTotal } from './reader';
import { gemm_s8_packed_size } from '../gemm_s8';

// ---------------------------------------------------------------------------------------------- tensors
// Where a tensor's nonzero entries go (entry idx = flat index into the tensor, v ≠ 0). Dense: a zeroed buffer of
// `count` bytes (the decode buffer). The column lists of a sparse linear (see "sparse linears") are built in two
// walks over the same entries: count per column, then fill.
export const S_NONE = 0, S_DENSE = 1, S_COUNT = 2, S_FILL = 3;
export let sink: i32 = 0;             // S_NONE
export let sinkOut: usize = 0;       // S_DENSE: the buffer
export let sinkCols: u32 = 1;        // S_COUNT / S_FILL: N of the K × N weight (idx = kk·N + j)
export let cStart: usize = 0, cIdx: usize = 0, cVal: usize = 0, cWide = false;

export function put(idx: u32, v: i32): void {
  if (sink == S_DENSE) {
    store<i8>(sinkOut + idx, v);
  } else if (sink == S_COUNT) {
    let p = cStart + ((<usize>(idx % sinkCols) + 1) << 2);
    store<u32>(p, load<u32>(p) + 1);
  } else if (sink == S_FILL) {
    // cStart[j] is column j's fill cursor here (its start before, the next column's start after)
    let kk = idx / sinkCols, j = idx - kk * sinkCols;
    let p = cStart + (<usize>j << 2);
    let q = load<u32>(p);
    store<u32>(p, q + 1);
    if (cWide) store<u32>(cIdx + (<usize>q << 2), kk); else store<u16>(cIdx + (<usize>q << 1), <u16>kk);
    store<i8>(cVal + q, <i8>v);
  }
}

// Walks the gap-coded entries of a sparse-coded tensor (docs/QWM.md "Tensor"), checking every rule, and hands
// each (index, value) to the sink. false after an error.
export function walkGaps(gp: usize, gapBytes: u32, gapAt: u32, vp: usize, vAt: u32, nnz: u32, count: u64): bool {
  let nibbles: u64 = <u64>gapBytes << 1;
  let ni: u64 = 0;
  let idx: i64 = -1;
  for (let j: u32 = 0; j < nnz; j++) {
    let g: i64 = 0;
    for (;;) {
      if (ni >= nibbles) { fail(E_TENSOR, gapAt); return false; }   // gap stream ends before nnz indices
      let nib = (<u32>load<u8>(gp + <usize>(ni >> 1)) >> (<u32>(ni & 1) << 2)) & 15;
      ni++;
      g += nib;
      if (nib < 15) break;
    }
    idx += g + 1;
    if (<u64>idx >= count) { fail(E_TENSOR, gapAt + 4 + <u32>((ni - 1) >> 1)); return false; }
    let v = load<i8>(vp + j);
    if (v == 0 || v == -128) { fail(E_TENSOR, vAt + j); return false; }
    if (sink != S_NONE) put(<u32>idx, v);
  }
  if (((ni + 1) >> 1) != <u64>gapBytes) { fail(E_TENSOR, gapAt); return false; }
  if ((ni & 1) != 0 && (load<u8>(gp + gapBytes - 1) >> 4) != 0) { fail(E_TENSOR, gapAt + 4 + gapBytes - 1); return false; }
  return true;
}

// Reads a weight tensor of `count` int8 values. cols = 0: returns the dense weights (in the file, or decoded into
// the decode buffer in pass 2), 0 after an error. cols = N > 0 (a sparse linear's K × N weight): builds its column
// lists in the model region (pass 1 only counts their bytes) — no dense copy is ever made; returns 1 (0 after an
// error).
export function readTensor(count: u64, cols: i32): usize {
  let at = rdPos, enc = ru8();
  if (errCode != 0) return 0;
  weightsTotal += count;
  if (weightsTotal > (<u64>1 << 28)) { fail(E_FIELD, at); return 0; }
  if (enc == 0) {
    if (!take(<u32>count)) return 0;
    let p = rd + rdPos;
    let nz: u32 = 0;
    for (let i: u32 = 0; i < <u32>count; i++) {
      let v = load<i8>(p + i);
      if (v == -128) { fail(E_TENSOR, rdPos + i); return 0; }
      if (v != 0) nz++;
    }
    rdPos += <u32>count;
    if (cols == 0) return p;
    cscAlloc(cols, nz, count);
    if (building) {
      for (let ph = S_COUNT; ph <= S_FILL; ph++) {
        sink = ph;
        for (let i: u32 = 0; i < <u32>count; i++) { let v = load<i8>(p + i); if (v != 0) put(i, v); }
        cscPhaseDone(ph, cols);
      }
      sink = S_NONE;
    }
    return 1;
  }
  if (enc != 1) { fail(E_TENSOR, at); return 0; }
  let nnzAt = rdPos, nnz = ru32();
  let gapAt = rdPos, gapBytes = ru32();
  if (errCode != 0) return 0;
  if (<u64>nnz > count) { fail(E_TENSOR, nnzAt); return 0; }
  if (!take(gapBytes)) return 0;
  let gp = rd + rdPos;
  rdPos += gapBytes;
  if (!take(nnz)) return 0;
  let vp = rd + rdPos, vAt = rdPos;
  rdPos += nnz;
  if (cols != 0) {
    cscAlloc(cols, nnz, count);
    if (!building) { sink = S_NONE; return walkGaps(gp, gapBytes, gapAt, vp, vAt, nnz, count) ? 1 : 0; }
    for (let ph = S_COUNT; ph <= S_FILL; ph++) {
      sink = ph;
      let ok = walkGaps(gp, gapBytes, gapAt, vp, vAt, nnz, count);   // validated in pass 1: cannot fail here
      sink = S_NONE;
      if (!ok) return 0;
      cscPhaseDone(ph, cols);
    }
    return 1;
  }
  if (count > decodeMax) decodeMax = count;
  let out = decodeBuf;
  if (building) {
    let q: u32 = 0;
    for (; q + 8 <= <u32>count; q += 8) store<u64>(out + q, 0);
    for (; q < <u32>count; q++) store<u8>(out + q, 0);
  }
  sink = building ? S_DENSE : S_NONE;
  sinkOut = out;
  let ok = walkGaps(gp, gapBytes, gapAt, vp, vAt, nnz, count);
  sink = S_NONE;
  if (!ok) return 0;
  return building ? out : 1;
}

// ---------------------------------------------------------------------------------------------- sparse linears
// A linear whose node carries a sparse spec (csr, block or nm) keeps only its nonzeros, per output column, in the
// model region (its kept entries are its nonzeros whatever the format, docs/QWM.md, so one form serves all three):
//   u32 cstart[N + 1]               column j's entries are p ∈ [cstart[j], cstart[j+1]), rows increasing
//   u16 kidx[nnz] (u32 when K > 65536)   their row k
//   i8  kval[nnz]                   their weight
//   i32 bias'[N]                    bias[j] − inZp · Σ_p kval[p]   (gemm_s8_pack's zero-point fold, same int32 ops)
//   f32 scale[ceil8(N)]             the requant multipliers (paddedScales)
// 3 bytes per kept weight (u16 rows) instead of the packed dense K × N, and the load needs no dense decode buffer.
// acc[j] = bias'[j] + Σ_p x[kidx[p]] · kval[p] is gemm_s8's accumulator exactly (int32 sums wrap the same in any
// order; the dense sum only adds the zeros' zero products), and requant_i32 requantises it with requant.ts's
// rule — the code gemm_s8 uses (requant1 in the scalar build; requant4 in SIMD builds, which equals it) — so the
// int8 outputs are the dense path's and the JS runner's bit for bit.

// Whether the column lists of the K × N tensor at rdPos take no more bytes than its packed dense form (denser
// layers — a 2:4 linear is 50 % dense: 1.5 bytes per weight in lists — stay dense: same outputs, less memory).
// Only peeks at the nonzero count: readTensor validates it all afterwards, whichever form is chosen, and a tensor
// it cannot even peek at goes the sparse way to be rejected there. Deterministic on the file, so both passes agree.
export function sparseSmaller(k: i32, n: i32, count: u64): bool {
  if (rdEnd - rdPos < 5) return true;
  let p = rd + rdPos;
  let enc = load<u8>(p);
  let nnz: u64 = 0;
  if (enc == 1) nnz = <u64>load<u32>(p + 1);
  else if (enc == 0 && <u64>(rdEnd - rdPos - 1) >= count) {
    for (let i: usize = 0; i < <usize>count; i++) if (load<i8>(p + 1 + i) != 0) nnz++;
  } else return true;
  if (nnz > count) return true;
  let lists = align16((<u64>n + 1) << 2) + align16(nnz << (k > 65536 ? 2 : 1)) + align16(nnz) + align16(<u64>n << 2);
  return lists <= align16(<u64>gemm_s8_packed_size(k, n));
}

// Sizes the column lists of a K × N weight with nnz nonzeros (both passes, so pass 1 counts their bytes).
export function cscAlloc(cols: i32, nnz: u32, count: u64): void {
  let k = count / <u64>cols;
  cWide = k > 65536;
  cStart = mAlloc((<u64>cols + 1) << 2);
  cIdx = mAlloc(<u64>nnz << (cWide ? 2 : 1));
  cVal = mAlloc(<u64>nnz);
  sinkCols = <u32>cols;
  if (building) for (let j = 0; j <= cols; j++) store<u32>(cStart + (<usize>j << 2), 0);
}

// After counting (column j's count in cStart[j + 1], cStart[0] = 0): a running sum turns them into column starts.
// After filling, cursor cStart[j] has advanced to column j's end = column j + 1's start: shift them back up one.
export function cscPhaseDone(ph: i32, cols: i32): void {
  if (ph == S_COUNT) {
    let s: u32 = 0;
    for (let j = 0; j <= cols; j++) {
      let p = cStart + (<usize>j << 2);
      s += load<u32>(p);
      store<u32>(p, s);
    }
  } else {
    for (let j = cols; j >= 1; j--) store<u32>(cStart + (<usize>j << 2), load<u32>(cStart + (<usize>(j - 1) << 2)));
    store<u32>(cStart, 0);
  }
}

// Sparse spec: u8 format (0 dense, 1 csr, 2 block, 3 nm), u8 a, b. Returns the position it started at.
export let spFmt: u32 = 0, spA: u32 = 0, spB: u32 = 0;
export function readSparse(allowed: bool): u32 {
  let at = rdPos;
  spFmt = ru8(); spA = ru8(); spB = ru8();
  if (errCode != 0) return at;
  let ok = false;
  if (spFmt == 0 || spFmt == 1) ok = spA == 0 && spB == 0;
  else if (spFmt == 2) ok = spA >= 1 && spA <= 64 && (spB == 4 || spB == 8);        // block bk × bn
  else if (spFmt == 3) ok = spB >= 2 && spB <= 16 && spA >= 1 && spA < spB;        // nm keep : group
  if (!ok || (spFmt != 0 && !allowed)) fail(E_FIELD, at);
  return at;
}

// The N:M structure an nm spec promises (at most `keep` nonzeros in every `group` consecutive k of a column: the
// nm kernel relies on it), checked on the dense weights W[kk][j] = w[kk·sk + j·sn] as src/deploy/validate.ts does.
// (A block spec promises nothing a reader can check: its kernel keeps every block holding a nonzero.)
export function checkStructure(w: usize, k: i32, n: i32, sk: i32, sn: i32, at: u32): void {
  if (!building || errCode != 0) return;
  if (spFmt == 3) {
    let keep = <i32>spA, group = <i32>spB;
    for (let j = 0; j < n; j++) {
      for (let k0 = 0; k0 < k; k0 += group) {
        let c = 0;
        for (let kk = k0; kk < min(k, k0 + group); kk++) if (load<i8>(w + <usize>(kk * sk + j * sn)) != 0) c++;
        if (c > keep) { fail(E_TENSOR, at); return; }
      }
    }
  }
}
