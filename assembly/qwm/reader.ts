// The .qwm reader's state and its bounds-checked primitives: every read checks the node area's end and records
// the first error (code and byte offset) instead of trapping; the model-region bump allocator (pass 1 only counts);
// the activation shape being chained from node to node.
import { E_FIELD, E_SHAPE, E_TRUNCATED, MAX_ACT, MAX_NAME, align16, ceil8 } from './format';
import { F_OUT_ZP, F_QMAX, F_QMIN, REC_BYTES, setf } from './record';

// ---------------------------------------------------------------------------------------------- reader state
export let rd: usize = 0;        // file start
export let rdEnd: u32 = 0;       // end of the node area (file length − meta length)
export let rdPos: u32 = 0;
export let errCode: i32 = 0;
export let errOff: i32 = -1;
export let building = false;     // pass 2: write records and pack
export let nodeCount: u32 = 0, nodesSeen: u32 = 0, topCount: i32 = 0;
export let recBase: usize = 0;

// The record of node i (file order) in the model region (record.ts).
// @ts-ignore: decorator
@inline export function nodeRecord(i: i32): usize { return recBase + <usize>i * REC_BYTES; }
export let mTop: u64 = 0;        // model-region bump offset (pass 1: a byte count; pass 2: added to the region base)
export let mBase: usize = 0;
export let decodeMax: u64 = 0;   // largest sparse-coded tensor (dense bytes), decoded through the work region
export let decodeBuf: usize = 0;
export let weightsTotal: u64 = 0; // declared weight elements of all tensors (≤ 2^28)
export let macs: u64 = 0;         // multiply-accumulates per sample (≤ 2^32), counted as src/deploy/validate.ts counts them
export let nodeOutZp: i32 = 0;    // out.zeroPoint of the node being read: its payload outZp must equal it
export let lastOutScale: f32 = 0, lastOutZp: i32 = 0;   // out of the last top-level node (must equal the graph's output)
export let doneOutScale: f32 = 0, doneOutZp: i32 = 0;   // out of the node whose reading finished last (any depth)
export let fileVersion: u32 = 1;
export let maxAct: u64 = 0;       // largest activation (elements per sample), input included
// current activation shape (per sample): rank 4 = [h, w, c], rank 2 = [c] (stored as 1 × 1 × c)
export let sH: i32 = 0, sW: i32 = 0, sC: i32 = 0, sRank: i32 = 0;

export function fail(code: i32, off: u32): void {
  if (errCode == 0) { errCode = code; errOff = <i32>off; }
}

export function take(bytes: u32): bool {
  if (errCode != 0) return false;
  if (bytes > rdEnd - rdPos) { fail(E_TRUNCATED, rdPos); return false; }
  return true;
}

export function ru8(): u32 { if (!take(1)) return 0; let v = <u32>load<u8>(rd + rdPos); rdPos += 1; return v; }
export function ri8(): i32 { if (!take(1)) return 0; let v = <i32>load<i8>(rd + rdPos); rdPos += 1; return v; }
export function ru16(): u32 { if (!take(2)) return 0; let v = <u32>load<u16>(rd + rdPos); rdPos += 2; return v; }
export function ru32(): u32 { if (!take(4)) return 0; let v = load<u32>(rd + rdPos); rdPos += 4; return v; }
export function rf32(): f32 { if (!take(4)) return 0; let v = load<f32>(rd + rdPos); rdPos += 4; return v; }

export function u16In(lo: u32): i32 {
  let at = rdPos, v = ru16();
  if (errCode == 0 && v < lo) fail(E_FIELD, at);
  return <i32>v;
}

export function u32In(lo: u32, hi: u32): i32 {
  let at = rdPos, v = ru32();
  if (errCode == 0 && (v < lo || v > hi)) fail(E_FIELD, at);
  return <i32>v;
}

// finite and > 0 (scales, multipliers, ratios)
export function posF32(): f32 {
  let at = rdPos, v = rf32();
  if (errCode == 0 && !(v > 0 && v <= f32.MAX_VALUE)) fail(E_FIELD, at);
  return v;
}

// n f32 values, each finite and > 0; returns where they start in the file
export function posF32Array(n: i32): usize {
  let at = rd + rdPos;
  for (let i = 0; i < n && errCode == 0; i++) posF32();
  return at;
}

// n int32 values (any); returns where they start
export function i32Array(n: i32): usize {
  let at = rd + rdPos;
  if (take(<u32>n * 4)) rdPos += <u32>n * 4;
  return at;
}

// out zero point, qmin, qmax: qmin ≤ zp ≤ qmax (a fused clamp must contain the zero point), zp = out.zeroPoint
export function readClamp(rec: usize): void {
  let at = rdPos;
  let zp = ri8(), lo = ri8(), hi = ri8();
  if (errCode == 0 && !(lo <= zp && zp <= hi && zp == nodeOutZp)) fail(E_FIELD, at);
  if (building) { setf(rec, F_OUT_ZP, zp); setf(rec, F_QMIN, lo); setf(rec, F_QMAX, hi); }
}

// UTF-8 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), as a fatal TextDecoder accepts it
export function validUtf8(p: usize, len: u32): bool {
  let i: u32 = 0;
  while (i < len) {
    let b = <u32>load<u8>(p + i);
    if (b < 0x80) { i++; continue; }
    let n: u32 = 0, min: u32 = 0, cp: u32 = 0;
    if ((b & 0xe0) == 0xc0) { n = 1; min = 0x80; cp = b & 0x1f; }
    else if ((b & 0xf0) == 0xe0) { n = 2; min = 0x800; cp = b & 0x0f; }
    else if ((b & 0xf8) == 0xf0) { n = 3; min = 0x10000; cp = b & 0x07; }
    else return false;
    if (len - i <= n) return false;
    for (let k: u32 = 1; k <= n; k++) {
      let c = <u32>load<u8>(p + i + k);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

export function readName(): void {
  let at = rdPos, len = ru16();
  if (errCode != 0) return;
  if (len > MAX_NAME) { fail(E_FIELD, at); return; }
  if (!take(len)) return;
  if (!validUtf8(rd + rdPos, len)) { fail(E_FIELD, at); return; }
  rdPos += len;
}

// bump allocation in the model region (pass 1 only counts)
export function mAlloc(bytes: u64): usize {
  let off = mTop;
  mTop += align16(bytes);
  return building ? mBase + <usize>off : 0;
}

// f32 multipliers padded with 1.0 to a multiple of 8 (gemm_s8 reads whole 8-column blocks of scales)
export function paddedScales(src: usize, n: i32): usize {
  let p = mAlloc(<u64>ceil8(n) << 2);
  if (building) {
    for (let j = 0; j < ceil8(n); j++) store<f32>(p + (<usize>j << 2), j < n ? load<f32>(src + (<usize>j << 2)) : <f32>1);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------- shapes
export function setShape(h: i64, w: i64, c: i64, rank: i32, at: u32): void {
  if (h < 1 || w < 1 || c < 1 || <u64>(h * w) * <u64>c > MAX_ACT) { fail(E_SHAPE, at); return; }
  sH = <i32>h; sW = <i32>w; sC = <i32>c; sRank = rank;
}

// @ts-ignore: decorator
@inline export function shapeElems(): u64 { return <u64>sH * <u64>sW * <u64>sC; }

// an activation of `elems` per sample is produced during a run
export function countBuffer(elems: u64): void {
  if (elems > maxAct) maxAct = elems;
}
