// One reader per node kind: validates its fields against docs/QWM.md (as src/deploy/validate.ts does), chains the
// activation shape, counts bytes (pass 1) and, in pass 2, packs the weights and fills the node's record (record.ts).
import { E_FIELD, E_NODES, E_SHAPE, E_TENSOR, K_AVGPOOL, K_CONV, K_FLATTEN, K_GAP, K_LINEAR, K_LOWRANK, K_MAXPOOL,
  K_LUT, K_RESIDUAL, K_DAG, MAX_ACT, MAX_DEPTH, MAX_TENSOR, MAX_U32_DIM } from './format';
import { CONV_DH, CONV_DW, CONV_GROUPS, CONV_KH, CONV_KW, CONV_OC, CONV_PACKED, CONV_PL, CONV_PT, CONV_SH, CONV_SW,
  F_IC, F_IH, F_IN_ZP, F_IW, F_KIND, F_OC, F_OH, F_OW, GAP_RATIO, LINEAR_BIAS, LINEAR_CSTART, LINEAR_K,
  LINEAR_KIDX, LINEAR_KVAL, LINEAR_N, LINEAR_PACKED, LINEAR_SCALE, LINEAR_SPARSE, LOWRANK_K, LUT_TABLE, LOWRANK_MID_ZP,
  LOWRANK_N, LOWRANK_PACKED_P, LOWRANK_PACKED_Q, LOWRANK_RANK, LOWRANK_SCALE_P, LOWRANK_SCALE_Q, POOL_KH, POOL_KW,
  POOL_PL, POOL_PT, POOL_RATIO, POOL_SH, POOL_SW, RES_BODY, RES_HAS_SHORTCUT, RES_MA, RES_MB,
  RES_SHORTCUT, RES_ZA, RES_ZB, setF32, setf } from './record';
import { readDag, dagOutScale } from './dag';
import { doneOutScale, doneOutZp, fileVersion, building, rd, rdEnd, take, countBuffer, errCode, fail, i32Array, lastOutScale, lastOutZp, mAlloc, macs, nodeCount,
  nodeOutZp, nodesSeen, paddedScales, posF32, posF32Array, rdPos, readClamp, readName, nodeRecord, ri8, ru16, ru8, sC,
  sH, sRank, sW, setShape, shapeElems, u16In, u32In } from './reader';
import { cIdx, cStart, cVal, cWide, checkStructure, readSparse, readTensor, spA, spB, spFmt, sparseSmaller } from './tensor';
import { conv2d_s8_pack, conv2d_s8_packed_size } from '../conv_s8';
import { gemm_s8_pack, gemm_s8_packed_size } from '../gemm_s8';

// ---------------------------------------------------------------------------------------------- nodes
export function readConv(rec: usize, at: u32): void {
  let oc = u16In(1), kh = u16In(1), kw = u16In(1), cg = u16In(1), groups = u16In(1);
  let sh = u16In(1), sw = u16In(1), dh = u16In(1), dw = u16In(1);
  let pt = u16In(0), pl = u16In(0), pb = u16In(0), pr = u16In(0);
  let inZp = ri8();
  readClamp(rec);
  let spAt = readSparse(groups == 1);   // any ungrouped conv may carry a sparse spec (docs/QWM.md)
  let fmt = spFmt;
  posF32Array(oc);                      // wScale: validated, folded into mult already
  let mult = posF32Array(oc);
  let bias = i32Array(oc);
  if (errCode != 0) return;
  let count = <u64>oc * <u64>kh * <u64>kw * <u64>cg;
  if (count > MAX_TENSOR) { fail(E_FIELD, at); return; }
  // shapes before the weights are read
  if (sRank != 4 || <u64>sC != <u64>cg * <u64>groups || oc % groups != 0) { fail(E_SHAPE, at); return; }
  let ekh = <i64>(kh - 1) * dh + 1, ekw = <i64>(kw - 1) * dw + 1;
  let ph = <i64>sH + pt + pb, pw = <i64>sW + pl + pr;
  if (ph < ekh || pw < ekw) { fail(E_SHAPE, at); return; }
  let ih = sH, iw = sW, ic = sC;
  setShape((ph - ekh) / sh + 1, (pw - ekw) / sw + 1, oc, 4, at);
  if (errCode != 0) return;
  macs += shapeElems() * <u64>kh * <u64>kw * <u64>cg;
  let w = readTensor(count, 0);
  if (errCode != 0) return;
  spFmt = fmt;
  let kk = kh * kw * cg;                        // OHWI [o][ky][kx][c] seen as K × N, k = (ky·kw + kx)·cg + c
  checkStructure(w, kk, oc, 1, kk, spAt);
  let packed = mAlloc(<u64>conv2d_s8_packed_size(oc, kh, kw, cg, groups));
  countBuffer(shapeElems());
  if (!building || errCode != 0) return;
  conv2d_s8_pack(oc, kh, kw, cg, groups, w, bias, inZp, mult, packed);
  setf(rec, CONV_PACKED, <i32>packed);
  setf(rec, CONV_OC, oc); setf(rec, CONV_KH, kh); setf(rec, CONV_KW, kw); setf(rec, CONV_GROUPS, groups);
  setf(rec, CONV_SH, sh); setf(rec, CONV_SW, sw); setf(rec, CONV_PT, pt); setf(rec, CONV_PL, pl); setf(rec, CONV_DH, dh); setf(rec, CONV_DW, dw);
  setf(rec, F_IN_ZP, inZp);
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

export function readLinear(rec: usize, at: u32): void {
  let k = u32In(1, MAX_U32_DIM), n = u32In(1, MAX_U32_DIM);
  let inZp = ri8();
  readClamp(rec);
  let spAt = readSparse(true);
  let fmt = spFmt;
  if (errCode != 0) return;
  let count = <u64>k * <u64>n;
  if (count > MAX_TENSOR) { fail(E_FIELD, at); return; }
  posF32Array(n);
  let mult = posF32Array(n);
  let bias = i32Array(n);
  if (errCode != 0) return;
  if (shapeElems() != <u64>k) { fail(E_SHAPE, at); return; }
  setShape(1, 1, n, 2, at);
  macs += count;
  if (fmt != 0 && sparseSmaller(k, n, count)) { readSparseLinear(rec, k, n, inZp, mult, bias, spAt); return; }
  let w = readTensor(count, 0);
  if (errCode != 0) return;
  spFmt = fmt;
  checkStructure(w, k, n, n, 1, spAt);
  let packed = mAlloc(<u64>gemm_s8_packed_size(k, n));
  let scale = paddedScales(mult, n);
  countBuffer(<u64>n);
  if (!building || errCode != 0) return;
  gemm_s8_pack(k, n, w, n, bias, inZp, packed);
  setf(rec, LINEAR_PACKED, <i32>packed); setf(rec, LINEAR_SCALE, <i32>scale);
  setf(rec, LINEAR_K, k); setf(rec, LINEAR_N, n); setf(rec, F_IN_ZP, inZp);
}

// A linear with a sparse spec: its column lists (see "sparse linears"), folded bias and padded scales.
export function readSparseLinear(rec: usize, k: i32, n: i32, inZp: i32, mult: usize, bias: usize, spAt: u32): void {
  let fmt = spFmt, keep = <i32>spA, group = <i32>spB;
  if (readTensor(<u64>k * <u64>n, n) == 0 || errCode != 0) return;
  let cs = cStart, ki = cIdx, kv = cVal, wide = cWide;
  let folded = mAlloc(<u64>n << 2);
  let scale = paddedScales(mult, n);
  countBuffer(<u64>n);
  if (!building) return;
  for (let j = 0; j < n; j++) {
    let p0 = load<u32>(cs + (<usize>j << 2)), p1 = load<u32>(cs + (<usize>(j + 1) << 2));
    let s = 0, g = -1, c = 0;
    for (let p = p0; p < p1; p++) {
      s += <i32>load<i8>(kv + p);
      if (fmt == 3) {
        // the N:M promise (checkStructure's, on the same nonzeros): at most `keep` in each group of `group` rows
        let kk = wide ? <i32>load<u32>(ki + (<usize>p << 2)) : <i32>load<u16>(ki + (<usize>p << 1));
        let gi = kk / group;
        if (gi != g) { g = gi; c = 0; }
        if (++c > keep) { fail(E_TENSOR, spAt); return; }
      }
    }
    store<i32>(folded + (<usize>j << 2), load<i32>(bias + (<usize>j << 2)) - inZp * s);
  }
  setf(rec, LINEAR_CSTART, <i32>cs); setf(rec, LINEAR_SCALE, <i32>scale); setf(rec, LINEAR_KIDX, <i32>ki); setf(rec, LINEAR_KVAL, <i32>kv);
  setf(rec, LINEAR_BIAS, <i32>folded); setf(rec, LINEAR_SPARSE, wide ? 2 : 1);
  setf(rec, LINEAR_K, k); setf(rec, LINEAR_N, n); setf(rec, F_IN_ZP, inZp);
}

export function readLowRank(rec: usize, at: u32): void {
  let k = u32In(1, MAX_U32_DIM), r = u32In(1, MAX_U32_DIM), n = u32In(1, MAX_U32_DIM);
  let inZp = ri8();
  posF32();                             // mid.scale
  let midZp = ri8();
  readClamp(rec);
  if (errCode != 0) return;
  if (<u64>k * <u64>r > MAX_TENSOR || <u64>r * <u64>n > MAX_TENSOR || <u64>r > MAX_ACT) { fail(E_FIELD, at); return; }
  posF32Array(r);                       // pScale
  let midMult = posF32Array(r);
  posF32Array(n);                       // qScale
  let mult = posF32Array(n);
  let bias = i32Array(n);
  if (errCode != 0) return;
  if (shapeElems() != <u64>k) { fail(E_SHAPE, at); return; }
  setShape(1, 1, n, 2, at);
  macs += <u64>k * <u64>r + <u64>r * <u64>n;
  let p = readTensor(<u64>k * <u64>r, 0);
  if (errCode != 0) return;
  // p may live in the decode buffer, which q reuses: pack p before reading q
  let packedP = mAlloc(<u64>gemm_s8_packed_size(k, r));
  let scaleP = paddedScales(midMult, r);
  if (building) gemm_s8_pack(k, r, p, r, 0, inZp, packedP);
  let q = readTensor(<u64>r * <u64>n, 0);
  if (errCode != 0) return;
  let packedQ = mAlloc(<u64>gemm_s8_packed_size(r, n));
  let scaleQ = paddedScales(mult, n);
  countBuffer(<u64>r);
  countBuffer(<u64>n);
  if (!building) return;
  gemm_s8_pack(r, n, q, n, bias, midZp, packedQ);
  setf(rec, LOWRANK_PACKED_P, <i32>packedP); setf(rec, LOWRANK_SCALE_P, <i32>scaleP); setf(rec, LOWRANK_PACKED_Q, <i32>packedQ); setf(rec, LOWRANK_SCALE_Q, <i32>scaleQ);
  setf(rec, LOWRANK_K, k); setf(rec, LOWRANK_N, n); setf(rec, LOWRANK_RANK, r); setf(rec, F_IN_ZP, inZp); setf(rec, LOWRANK_MID_ZP, midZp);
}

// max / avg pool: window geometry; pads < kernel so every window holds a pixel (pool_s8's contract).
// A rank-2 input [c] is a 1×1 image (a standalone activation after a linear); it stays flat when the output is
// 1×1 and becomes an image otherwise (as src/deploy/validate.ts chains it).
export function readPool(rec: usize, at: u32, avg: bool): void {
  let kh = u16In(1), kw = u16In(1), sh = u16In(1), sw = u16In(1);
  let pt = u16In(0), pl = u16In(0), pb = u16In(0), pr = u16In(0);
  if (avg) {
    let inZp = ri8();
    let ratio = posF32();
    readClamp(rec);
    if (building) { setf(rec, F_IN_ZP, inZp); setF32(rec, POOL_RATIO, ratio); }
  }
  if (errCode != 0) return;
  if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) { fail(E_FIELD, at); return; }
  let ih = sH, iw = sW, ic = sC, rank = sRank;
  let ph = <i64>ih + pt + pb, pw = <i64>iw + pl + pr;
  if (ph < kh || pw < kw) { fail(E_SHAPE, at); return; }
  let oh = (ph - kh) / sh + 1, ow = (pw - kw) / sw + 1;
  setShape(oh, ow, ic, rank == 2 && oh == 1 && ow == 1 ? 2 : 4, at);
  macs += shapeElems() * <u64>kh * <u64>kw;
  countBuffer(shapeElems());
  if (!building || errCode != 0) return;
  setf(rec, POOL_KH, kh); setf(rec, POOL_KW, kw); setf(rec, POOL_SH, sh); setf(rec, POOL_SW, sw); setf(rec, POOL_PT, pt); setf(rec, POOL_PL, pl);
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

export function readGap(rec: usize, at: u32): void {
  let inZp = ri8();
  let ratio = posF32();
  readClamp(rec);
  if (errCode != 0) return;
  if (sRank != 4) { fail(E_SHAPE, at); return; }
  let ih = sH, iw = sW, ic = sC;
  macs += shapeElems();
  setShape(1, 1, ic, 2, at);
  countBuffer(<u64>ic);
  if (!building) return;
  setf(rec, F_IN_ZP, inZp); setF32(rec, GAP_RATIO, ratio);
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

export function readResidual(rec: usize, at: u32, depth: i32): void {
  let hsAt = rdPos, hasShortcut = ru8();
  let bodyCount = <i32>ru16(), scAt = rdPos, scCount = <i32>ru16();
  let za = ri8();
  let ma = posF32();
  let zb = ri8();
  let mb = posF32();
  readClamp(rec);
  if (errCode != 0) return;
  if (hasShortcut > 1) { fail(E_FIELD, hsAt); return; }
  if (hasShortcut == 0 && scCount != 0) { fail(E_FIELD, scAt); return; }
  if (depth >= MAX_DEPTH) { fail(E_NODES, at); return; }
  let h = sH, w = sW, c = sC, rank = sRank;
  for (let i = 0; i < bodyCount && errCode == 0; i++) readNode(depth + 1);
  if (errCode != 0) return;
  let bh = sH, bw = sW, bc = sC, brank = sRank;
  sH = h; sW = w; sC = c; sRank = rank;
  for (let i = 0; i < scCount && errCode == 0; i++) readNode(depth + 1);
  if (errCode != 0) return;
  if (<u64>bh * <u64>bw * <u64>bc != shapeElems()) { fail(E_SHAPE, at); return; }
  sH = bh; sW = bw; sC = bc; sRank = brank;
  macs += shapeElems();
  countBuffer(shapeElems());
  if (!building) return;
  setf(rec, RES_BODY, bodyCount); setf(rec, RES_SHORTCUT, scCount); setf(rec, RES_HAS_SHORTCUT, <i32>hasShortcut);
  setf(rec, RES_ZA, za); setf(rec, RES_ZB, zb); setF32(rec, RES_MA, ma); setF32(rec, RES_MB, mb);
}

// lut: the op (the function's name: non-empty UTF-8 of at most MAX_NAME bytes, as validate.ts requires) and a
// 256-entry int8 table, y = table[x + 128] (any codes); the activation passes through with its shape.
export function readLut(rec: usize): void {
  let opAt = rdPos;
  if (rdEnd - rdPos >= 2 && load<u16>(rd + rdPos) == 0) { fail(E_FIELD, opAt); return; }
  readName();
  if (!take(256)) return;
  let src = rd + rdPos;
  rdPos += 256;
  macs += shapeElems();
  let table = mAlloc(256);
  countBuffer(shapeElems());
  if (!building) return;
  for (let i: usize = 0; i < 256; i += 8) store<u64>(table + i, load<u64>(src + i));
  setf(rec, LUT_TABLE, <i32>table);
}

export function readNode(depth: i32): void {
  let at = rdPos;
  if (nodesSeen >= nodeCount) { fail(E_NODES, at); return; }
  let rec = nodeRecord(<i32>nodesSeen);
  nodesSeen++;
  let kind = <i32>ru8();
  if (errCode == 0 && (kind < K_CONV || kind > K_DAG || (kind == K_DAG && fileVersion < 2))) { fail(E_FIELD, at); return; }
  readName();
  let oScale = posF32();
  let outZp = ri8();
  if (errCode != 0) return;
  if (depth == 0) { lastOutScale = oScale; lastOutZp = outZp; }
  nodeOutZp = outZp;
  if (building) {
    setf(rec, F_KIND, kind); setf(rec, LINEAR_SPARSE, 0);
    setf(rec, F_IH, sH); setf(rec, F_IW, sW); setf(rec, F_IC, sC);
  }
  switch (kind) {
    case K_CONV: readConv(rec, at); break;
    case K_LINEAR: readLinear(rec, at); break;
    case K_LOWRANK: readLowRank(rec, at); break;
    case K_MAXPOOL: readPool(rec, at, false); break;
    case K_AVGPOOL: readPool(rec, at, true); break;
    case K_GAP: readGap(rec, at); break;
    case K_FLATTEN: setShape(1, 1, shapeElems(), 2, at); break;
    case K_RESIDUAL: readResidual(rec, at, depth); break;
    case K_LUT: readLut(rec); break;
    case K_DAG: dagOutScale = oScale; readDag(rec, at, depth); break;
  }
  if (errCode == 0 && macs > (<u64>1 << 32)) fail(E_SHAPE, at);
  if (building) { setf(rec, F_OH, sH); setf(rec, F_OW, sW); setf(rec, F_OC, sC); }
  doneOutScale = oScale; doneOutZp = outZp;
}
