// The pure-WASM .qwm runner: reads a .qwm v1 file (docs/QWM.md) from linear memory and runs it on the int8
// kernels, with no JavaScript host — for engines such as wasm3, WAMR or wabt's interpreter. It runs in the scalar
// build (no SIMD, no bulk memory) and compiles in all three.
//
//   qwm_load(ptr, len)          parse + validate every field (CRC-32 included), chain every shape, then pack the
//                               weights with the kernels' own packing (gemm_s8_pack / conv2d_s8_pack). 0 or an error
//                               code below; qwm_error_offset() = byte offset of the first problem.
//   qwm_run(in, n, out)         n int8 input samples (quantised codes, NHWC) → n × classes int8 output codes
//   qwm_run_f32(in, n, out)     f32 input quantised as src/quant/fakequant.ts quantizeArray (f32 division, round
//                               half to even, clamp) → f32 dequantised logits (as Int8Model.predict)
//   qwm_input_size / qwm_output_size / qwm_input_scale / qwm_input_zp / qwm_output_scale / qwm_output_zp, qwm_free
//   qwm_model_bytes()           bytes of the model region the loaded model takes; qwm_decode_bytes(): bytes of the
//                               work region its load used to decode sparse-coded tensors to dense
//
// Sparse linears: a linear whose node carries a sparse spec (csr, block or nm) runs sparse and keeps only its
// nonzeros — per output column, u16 (u32 when K > 65536) row indices and int8 values, 3 bytes per kept weight —
// built straight from the file's gap coding, so neither the packed dense K × N nor a dense decode of it is ever
// in memory (see "sparse linears"; a 90 %-pruned refcnn's fc1 1600 × 128: 62 480 bytes instead of 205 312), unless
// those lists would take more bytes than the packed dense weights (dense layers, 2:4: then it runs dense). Its
// int32 accumulators are gemm_s8's exactly and its requantisation is requant.ts's, so its outputs equal the dense
// path's and the JS runner's bit for bit. Every other layer runs on the dense kernels: sparse-coded tensors are
// decoded to dense (a pruned conv of any kernel back into its OHWI layout, packed by conv2d_s8_pack — convs stay
// dense here, sparse spec or not) and a pruned layer's kept entries are its nonzeros, so the int32 accumulators —
// and the int8 outputs — equal the sparse kernels' (JS runner: im2col + sparse GEMM) bit for bit. Low-rank layers
// run as two GEMMs exactly as src/kernels/lowrank.ts composes them.
//
// Reading: two passes over the same code path. Pass 1 validates and computes every shape and byte count without
// allocating or writing anything; pass 2 (only for a file that passed) allocates and packs. Only the N:M structure
// check waits for pass 2, as it needs the decoded weights (a sparse linear checks it on its column lists). A bad
// file never traps: every read is bounds-checked against the node area and every loop is bounded by a checked
// count. The checks are docs/QWM.md's, including its "Validation details", applied exactly as
// src/deploy/validate.ts applies them (the tests compare the two readers on mutated files); the meta JSON is
// skipped, as the spec allows.
//
// Memory. The model (node table, packed weights / sparse column lists, padded requant scales) and the activations
// live in regions this file takes with memory.grow, not from the TLSF heap: a host that refuses to grow gives
// E_NOMEM instead of a trap inside the allocator. AssemblyScript's TLSF only adds to its pool the pages it grows itself (it starts its pool
// at the memory size it sees when it first allocates), so it is initialised before the first region is taken and
// never touches a region afterwards. Regions are reused by the next load / run when big enough (linear memory
// cannot shrink). The kernels' own scratch (im2col chunks, packed activation rows, the conv packing transpose, a
// sparse linear's int32 row) still comes from the TLSF heap, as everywhere in qwasm: a host that cannot give even
// that much traps inside the allocator, like any kernel call would. qwm_model_bytes() / qwm_decode_bytes() tell
// what a load took.
// Activations: each node list alternates between two slots (see "execution"), so a chain needs its two largest
// alternating activations rather than all of them; qwm_work_bytes(n) tells how many bytes a run of n takes.
//
// Bundles (src/deploy/wasm-bundle.ts): a .wasm = this build + an active data segment holding the model (and an
// optional int8 input) beyond the build's own initial memory, with a 32-byte descriptor in the last bytes of the
// new initial memory, and qwm_embed_init as the module's start function. At instantiation nothing else has run:
// qwm_embed_init reads the descriptor, initialises the TLSF heap (its pool then covers the whole initial memory,
// payload included), grows a fresh region beyond it and copies the payload there, where no allocation can reach
// it. qwm_main() then loads the embedded model, runs the embedded input and returns a checksum; qwm_out(i) reads
// output code i. Descriptor (little-endian): "QWMBNDL1" · u32 payload offset · u32 model bytes · u32 input bytes ·
// u32 input samples · u32 CRC-32 of the 24 bytes before it · u32 0.

import { gemm_s8, gemm_s8_pack, gemm_s8_packed_size } from './gemm_s8';
import { conv2d_s8, conv2d_s8_pack, conv2d_s8_packed_size } from './conv_s8';
import { maxpool2d_s8, avgpool2d_s8, global_avgpool_s8 } from './pool_s8';
import { add_s8 } from './add_s8';
import { OUT_S8, requant_i32 } from './requant';
import { CONV_DESC_S8_BYTES, setConvDescS8 } from './conv_desc';

// The int8 conv descriptor every conv call of a run fills (static: runs never nest).
const convDesc = memory.data(CONV_DESC_S8_BYTES, 16);

// ---------------------------------------------------------------------------------------------- error codes
// (mirrored by QWM_WASM_ERRORS in src/deploy/wasm-bundle.ts)
const E_ARG: i32 = -1;        // bad pointer / length / sample count from the host
const E_MAGIC: i32 = -2;      // not "QWM\0"
const E_VERSION: i32 = -3;    // format version other than 1
const E_HEADER: i32 = -4;     // flags, file length field, node count, meta length or reserved bytes
const E_CRC: i32 = -5;        // CRC-32 mismatch
const E_TRUNCATED: i32 = -6;  // a field runs past the node area (into the meta block or past the end)
const E_FIELD: i32 = -7;      // a field outside its allowed range (kind, dims, scales, clamps, sparse spec, name)
const E_SHAPE: i32 = -8;      // activation shapes do not chain, or a reader limit on shapes
const E_TENSOR: i32 = -9;     // weight tensor coding: encoding byte, -128, gap nibbles, nnz, sparse structure
const E_NODES: i32 = -10;     // node count / residual child counts disagree with the nodes, or trailing bytes
const E_NOMEM: i32 = -11;     // the host refused to grow memory (or the model needs more than wasm32 holds)
const E_NOMODEL: i32 = -12;   // run / query without a loaded model
const E_EMBED: i32 = -13;     // qwm_main: no embedded model (not a bundle) or a bad bundle descriptor
const NO_OUTPUT: i32 = -1000; // qwm_out: no such output

// ---------------------------------------------------------------------------------------------- format constants
const HEADER_BYTES: u32 = 32;
const GRAPH_HEADER_BYTES: u32 = 20;
const MAX_NODES: u32 = 4096;
const MAX_DEPTH: i32 = 64;
const MAX_FILE: u32 = 1 << 30;
const MAX_TENSOR: u64 = 1 << 26;
const MAX_U32_DIM: u32 = 1 << 24;
const MAX_ACT: u64 = 1 << 24;   // elements per sample of any activation (input: h·w·c ≤ 2^24)
const MAX_NAME: u32 = 256;

const K_CONV: i32 = 1, K_LINEAR: i32 = 2, K_LOWRANK: i32 = 3, K_MAXPOOL: i32 = 4, K_AVGPOOL: i32 = 5,
  K_GAP: i32 = 6, K_FLATTEN: i32 = 7, K_RESIDUAL: i32 = 8;

// ---------------------------------------------------------------------------------------------- node records
// One 192-byte record per node, in file (pre-order) order. Fields (i32):
const F_KIND = 0, F_IH = 1, F_IW = 2, F_IC = 3, F_OH = 4, F_OW = 5, F_OC = 6;
const F_P0 = 7, F_P1 = 8, F_P2 = 9, F_P3 = 10;   // packed weights / padded scales
// parameters: conv oc kh kw groups sh sw pt pl dh dw; linear k n; lowrank k n r; pools kh kw sh sw pt pl;
// residual bodyCount shortcutCount hasShortcut; zero points, clamps, f32 multipliers as bits
const A_0 = 11, A_1 = 12, A_2 = 13, A_3 = 14, A_SH = 15, A_SW = 16, A_PT = 17, A_PL = 18, A_DH = 19, A_DW = 20;
const A_INZP = 21, A_OUTZP = 22, A_QMIN = 23, A_QMAX = 24, A_ZB = 25, A_MA = 26, A_MB = 27;
// residual: the activation plan of its body and shortcut lists (see "execution"): slot sizes s0, s1 and the
// frame's peak elements E and buffer count S, per sample
const F_B_S0 = 28, F_B_S1 = 29, F_B_E = 30, F_B_S = 31, F_S_S0 = 32, F_S_S1 = 33, F_S_E = 34, F_S_S = 35;
// sparse linear: its folded bias, and 0 (dense: packed weights in F_P0) / 1 (column lists, u16 rows) / 2 (u32 rows)
const F_P4 = 36, F_SPARSE = 37;
const REC_BYTES: u32 = 192;

// @ts-ignore: decorator
@inline function setf(rec: usize, f: i32, v: i32): void { store<i32>(rec + (<usize>f << 2), v); }
// @ts-ignore: decorator
@inline function getf(rec: usize, f: i32): i32 { return load<i32>(rec + (<usize>f << 2)); }
// @ts-ignore: decorator
@inline function align16(v: u64): u64 { return (v + 15) & ~(<u64>15); }
// @ts-ignore: decorator
@inline function ceil8(v: i32): i32 { return (v + 7) & ~7; }

// ---------------------------------------------------------------------------------------------- memory regions
// A region = [base, base + size) of pages taken with memory.grow. Slots: 0 model, 1 work (activations and the
// load-time sparse decode buffer), 2 embedded payload copy, 3 qwm_main's output codes.
const R_MODEL = 0, R_WORK = 1, R_ROM = 2, R_RESULT = 3;
const regions = memory.data(32);
let tlsfReady = false;

// AssemblyScript's TLSF takes as its pool everything up to the memory size at its first allocation: make that
// happen before any region is grown, so no region ever ends up inside the pool.
function ensureTlsf(): void {
  if (!tlsfReady) { heap.free(heap.alloc(16)); tlsfReady = true; }
}

// Start of region `r` with at least `bytes` bytes, or 0 when the host refuses to grow memory.
function region(r: i32, bytes: u64): usize {
  let slot = regions + (<usize>r << 3);
  let base = load<u32>(slot), size = load<u32>(slot, 4);
  if (<u64>size >= bytes && base != 0) return base;
  ensureTlsf();
  let top = <u64>memory.size() << 16;
  let extend = base != 0 && <u64>base + size == top;   // the region is the last thing in memory: grow it in place
  let want = extend ? bytes - size : bytes;
  let pages = (want + 0xffff) >> 16;
  if (pages == 0) pages = 1;
  if (<u64>top + (pages << 16) > 0xffff0000) return 0;
  let before = memory.grow(<i32>pages);
  if (before < 0) return 0;
  if (extend) {
    store<u32>(slot, size + <u32>(pages << 16), 4);
    return base;
  }
  base = <u32>before << 16;
  store<u32>(slot, base);
  store<u32>(slot, <u32>(pages << 16), 4);
  return base;
}

// ---------------------------------------------------------------------------------------------- CRC-32 (IEEE)
const crcTable = memory.data(1024);
let crcReady = false;

function crc32(p: usize, len: u32): u32 {
  if (!crcReady) {
    for (let i: u32 = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & (0 - (c & 1)));
      store<u32>(crcTable + (<usize>i << 2), c);
    }
    crcReady = true;
  }
  let c: u32 = 0xffffffff;
  for (let i: u32 = 0; i < len; i++) c = load<u32>(crcTable + ((<usize>((c ^ <u32>load<u8>(p + i)) & 0xff)) << 2)) ^ (c >>> 8);
  return c ^ 0xffffffff;
}

// ---------------------------------------------------------------------------------------------- reader state
let rd: usize = 0;        // file start
let rdEnd: u32 = 0;       // end of the node area (file length − meta length)
let rdPos: u32 = 0;
let errCode: i32 = 0;
let errOff: i32 = -1;
let building = false;     // pass 2: write records and pack
let nodeCount: u32 = 0, nodesSeen: u32 = 0, topCount: i32 = 0;
let recBase: usize = 0;
let mTop: u64 = 0;        // model-region bump offset (pass 1: a byte count; pass 2: added to the region base)
let mBase: usize = 0;
let decodeMax: u64 = 0;   // largest sparse-coded tensor (dense bytes), decoded through the work region
let decodeBuf: usize = 0;
let weightsTotal: u64 = 0; // declared weight elements of all tensors (≤ 2^28)
let macs: u64 = 0;         // multiply-accumulates per sample (≤ 2^32), counted as src/deploy/validate.ts counts them
let nodeOutZp: i32 = 0;    // out.zeroPoint of the node being read: its payload outZp must equal it
let lastOutScale: f32 = 0, lastOutZp: i32 = 0;   // out of the last top-level node (must equal the graph's output)
let maxAct: u64 = 0;       // largest activation (elements per sample), input included
// current activation shape (per sample): rank 4 = [h, w, c], rank 2 = [c] (stored as 1 × 1 × c)
let sH: i32 = 0, sW: i32 = 0, sC: i32 = 0, sRank: i32 = 0;

function fail(code: i32, off: u32): void {
  if (errCode == 0) { errCode = code; errOff = <i32>off; }
}

function take(bytes: u32): bool {
  if (errCode != 0) return false;
  if (bytes > rdEnd - rdPos) { fail(E_TRUNCATED, rdPos); return false; }
  return true;
}

function ru8(): u32 { if (!take(1)) return 0; let v = <u32>load<u8>(rd + rdPos); rdPos += 1; return v; }
function ri8(): i32 { if (!take(1)) return 0; let v = <i32>load<i8>(rd + rdPos); rdPos += 1; return v; }
function ru16(): u32 { if (!take(2)) return 0; let v = <u32>load<u16>(rd + rdPos); rdPos += 2; return v; }
function ru32(): u32 { if (!take(4)) return 0; let v = load<u32>(rd + rdPos); rdPos += 4; return v; }
function rf32(): f32 { if (!take(4)) return 0; let v = load<f32>(rd + rdPos); rdPos += 4; return v; }

function u16In(lo: u32): i32 {
  let at = rdPos, v = ru16();
  if (errCode == 0 && v < lo) fail(E_FIELD, at);
  return <i32>v;
}

function u32In(lo: u32, hi: u32): i32 {
  let at = rdPos, v = ru32();
  if (errCode == 0 && (v < lo || v > hi)) fail(E_FIELD, at);
  return <i32>v;
}

// finite and > 0 (scales, multipliers, ratios)
function posF32(): f32 {
  let at = rdPos, v = rf32();
  if (errCode == 0 && !(v > 0 && v <= f32.MAX_VALUE)) fail(E_FIELD, at);
  return v;
}

// n f32 values, each finite and > 0; returns where they start in the file
function posF32Array(n: i32): usize {
  let at = rd + rdPos;
  for (let i = 0; i < n && errCode == 0; i++) posF32();
  return at;
}

// n int32 values (any); returns where they start
function i32Array(n: i32): usize {
  let at = rd + rdPos;
  if (take(<u32>n * 4)) rdPos += <u32>n * 4;
  return at;
}

// out zero point, qmin, qmax: qmin ≤ zp ≤ qmax (a fused clamp must contain the zero point), zp = out.zeroPoint
function readClamp(rec: usize): void {
  let at = rdPos;
  let zp = ri8(), lo = ri8(), hi = ri8();
  if (errCode == 0 && !(lo <= zp && zp <= hi && zp == nodeOutZp)) fail(E_FIELD, at);
  if (building) { setf(rec, A_OUTZP, zp); setf(rec, A_QMIN, lo); setf(rec, A_QMAX, hi); }
}

// UTF-8 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), as a fatal TextDecoder accepts it
function validUtf8(p: usize, len: u32): bool {
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

function readName(): void {
  let at = rdPos, len = ru16();
  if (errCode != 0) return;
  if (len > MAX_NAME) { fail(E_FIELD, at); return; }
  if (!take(len)) return;
  if (!validUtf8(rd + rdPos, len)) { fail(E_FIELD, at); return; }
  rdPos += len;
}

// bump allocation in the model region (pass 1 only counts)
function mAlloc(bytes: u64): usize {
  let off = mTop;
  mTop += align16(bytes);
  return building ? mBase + <usize>off : 0;
}

// f32 multipliers padded with 1.0 to a multiple of 8 (gemm_s8 reads whole 8-column blocks of scales)
function paddedScales(src: usize, n: i32): usize {
  let p = mAlloc(<u64>ceil8(n) << 2);
  if (building) {
    for (let j = 0; j < ceil8(n); j++) store<f32>(p + (<usize>j << 2), j < n ? load<f32>(src + (<usize>j << 2)) : <f32>1);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------- tensors
// Where a tensor's nonzero entries go (entry idx = flat index into the tensor, v ≠ 0). Dense: a zeroed buffer of
// `count` bytes (the decode buffer). The column lists of a sparse linear (see "sparse linears") are built in two
// walks over the same entries: count per column, then fill.
const S_NONE = 0, S_DENSE = 1, S_COUNT = 2, S_FILL = 3;
let sink: i32 = 0;             // S_NONE
let sinkOut: usize = 0;       // S_DENSE: the buffer
let sinkCols: u32 = 1;        // S_COUNT / S_FILL: N of the K × N weight (idx = kk·N + j)
let cStart: usize = 0, cIdx: usize = 0, cVal: usize = 0, cWide = false;

function put(idx: u32, v: i32): void {
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
function walkGaps(gp: usize, gapBytes: u32, gapAt: u32, vp: usize, vAt: u32, nnz: u32, count: u64): bool {
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
function readTensor(count: u64, cols: i32): usize {
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
function sparseSmaller(k: i32, n: i32, count: u64): bool {
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
function cscAlloc(cols: i32, nnz: u32, count: u64): void {
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
function cscPhaseDone(ph: i32, cols: i32): void {
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
let spFmt: u32 = 0, spA: u32 = 0, spB: u32 = 0;
function readSparse(allowed: bool): u32 {
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
function checkStructure(w: usize, k: i32, n: i32, sk: i32, sn: i32, at: u32): void {
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

// ---------------------------------------------------------------------------------------------- shapes
function setShape(h: i64, w: i64, c: i64, rank: i32, at: u32): void {
  if (h < 1 || w < 1 || c < 1 || <u64>(h * w) * <u64>c > MAX_ACT) { fail(E_SHAPE, at); return; }
  sH = <i32>h; sW = <i32>w; sC = <i32>c; sRank = rank;
}

// @ts-ignore: decorator
@inline function shapeElems(): u64 { return <u64>sH * <u64>sW * <u64>sC; }

// an activation of `elems` per sample is produced during a run
function countBuffer(elems: u64): void {
  if (elems > maxAct) maxAct = elems;
}

// ---------------------------------------------------------------------------------------------- nodes
function readConv(rec: usize, at: u32): void {
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
  setf(rec, F_P0, <i32>packed);
  setf(rec, A_0, oc); setf(rec, A_1, kh); setf(rec, A_2, kw); setf(rec, A_3, groups);
  setf(rec, A_SH, sh); setf(rec, A_SW, sw); setf(rec, A_PT, pt); setf(rec, A_PL, pl); setf(rec, A_DH, dh); setf(rec, A_DW, dw);
  setf(rec, A_INZP, inZp);
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

function readLinear(rec: usize, at: u32): void {
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
  setf(rec, F_P0, <i32>packed); setf(rec, F_P1, <i32>scale);
  setf(rec, A_0, k); setf(rec, A_1, n); setf(rec, A_INZP, inZp);
}

// A linear with a sparse spec: its column lists (see "sparse linears"), folded bias and padded scales.
function readSparseLinear(rec: usize, k: i32, n: i32, inZp: i32, mult: usize, bias: usize, spAt: u32): void {
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
  setf(rec, F_P0, <i32>cs); setf(rec, F_P1, <i32>scale); setf(rec, F_P2, <i32>ki); setf(rec, F_P3, <i32>kv);
  setf(rec, F_P4, <i32>folded); setf(rec, F_SPARSE, wide ? 2 : 1);
  setf(rec, A_0, k); setf(rec, A_1, n); setf(rec, A_INZP, inZp);
}

function readLowRank(rec: usize, at: u32): void {
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
  setf(rec, F_P0, <i32>packedP); setf(rec, F_P1, <i32>scaleP); setf(rec, F_P2, <i32>packedQ); setf(rec, F_P3, <i32>scaleQ);
  setf(rec, A_0, k); setf(rec, A_1, n); setf(rec, A_2, r); setf(rec, A_INZP, inZp); setf(rec, A_ZB, midZp);
}

// max / avg pool: window geometry; pads < kernel so every window holds a pixel (pool_s8's contract).
// A rank-2 input [c] is a 1×1 image (a standalone activation after a linear); it stays flat when the output is
// 1×1 and becomes an image otherwise (as src/deploy/validate.ts chains it).
function readPool(rec: usize, at: u32, avg: bool): void {
  let kh = u16In(1), kw = u16In(1), sh = u16In(1), sw = u16In(1);
  let pt = u16In(0), pl = u16In(0), pb = u16In(0), pr = u16In(0);
  if (avg) {
    let inZp = ri8();
    let ratio = posF32();
    readClamp(rec);
    if (building) { setf(rec, A_INZP, inZp); setf(rec, A_MA, reinterpret<i32>(ratio)); }
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
  setf(rec, A_1, kh); setf(rec, A_2, kw); setf(rec, A_SH, sh); setf(rec, A_SW, sw); setf(rec, A_PT, pt); setf(rec, A_PL, pl);
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

function readGap(rec: usize, at: u32): void {
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
  setf(rec, A_INZP, inZp); setf(rec, A_MA, reinterpret<i32>(ratio));
  setf(rec, F_IH, ih); setf(rec, F_IW, iw); setf(rec, F_IC, ic);
}

function readResidual(rec: usize, at: u32, depth: i32): void {
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
  setf(rec, A_0, bodyCount); setf(rec, A_1, scCount); setf(rec, A_2, <i32>hasShortcut);
  setf(rec, A_INZP, za); setf(rec, A_ZB, zb); setf(rec, A_MA, reinterpret<i32>(ma)); setf(rec, A_MB, reinterpret<i32>(mb));
}

function readNode(depth: i32): void {
  let at = rdPos;
  if (nodesSeen >= nodeCount) { fail(E_NODES, at); return; }
  let rec = recBase + <usize>nodesSeen * REC_BYTES;
  nodesSeen++;
  let kind = <i32>ru8();
  if (errCode == 0 && (kind < K_CONV || kind > K_RESIDUAL)) { fail(E_FIELD, at); return; }
  readName();
  let oScale = posF32();
  let outZp = ri8();
  if (errCode != 0) return;
  if (depth == 0) { lastOutScale = oScale; lastOutZp = outZp; }
  nodeOutZp = outZp;
  if (building) {
    setf(rec, F_KIND, kind); setf(rec, F_SPARSE, 0);
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
  }
  if (errCode == 0 && macs > (<u64>1 << 32)) fail(E_SHAPE, at);
  if (building) { setf(rec, F_OH, sH); setf(rec, F_OW, sW); setf(rec, F_OC, sC); }
}

// ---------------------------------------------------------------------------------------------- the model
let loaded = false;
let inH: i32 = 0, inW: i32 = 0, inC: i32 = 0, classes: i32 = 0;
let inScale: f32 = 0, outScale: f32 = 0, inZpG: i32 = 0, outZpG: i32 = 0;
let modelBytesLoaded: u64 = 0;

// One pass over the nodes (pass 1 when !building). Returns the error code (0: fine).
function readGraph(): i32 {
  rdPos = HEADER_BYTES + GRAPH_HEADER_BYTES;
  nodesSeen = 0; topCount = 0; mTop = 0;
  maxAct = <u64>inH * inW * inC; weightsTotal = 0; macs = 0;
  if (!building) decodeMax = 0;
  sH = inH; sW = inW; sC = inC; sRank = 4;
  recBase = mAlloc(<u64>nodeCount * REC_BYTES);
  while (nodesSeen < nodeCount && errCode == 0) { readNode(0); topCount++; }
  if (errCode == 0 && rdPos != rdEnd) fail(E_NODES, rdPos);          // bytes between the last node and the meta
  if (errCode == 0 && shapeElems() != <u64>classes) fail(E_SHAPE, HEADER_BYTES + 16);
  if (errCode == 0 && (lastOutScale != outScale || lastOutZp != outZpG)) fail(E_FIELD, HEADER_BYTES + 11);
  return errCode;
}

function memoryEnd(): u64 { return <u64>memory.size() << 16; }

export function qwm_load(ptr: usize, len: u32): i32 {
  loaded = false;
  errCode = 0; errOff = -1;
  if (ptr == 0 || <u64>ptr + len > memoryEnd()) { fail(E_ARG, 0); return errCode; }
  rd = ptr; rdEnd = len; rdPos = 0;
  if (len < HEADER_BYTES + GRAPH_HEADER_BYTES) { fail(len >= 4 && load<u32>(ptr) != 0x004d5751 ? E_MAGIC : E_HEADER, 0); return errCode; }
  if (load<u32>(ptr) != 0x004d5751) { fail(E_MAGIC, 0); return errCode; }          // "QWM\0"
  if (load<u16>(ptr, 4) != 1) { fail(E_VERSION, 4); return errCode; }
  if (load<u16>(ptr, 6) != 0) { fail(E_HEADER, 6); return errCode; }
  if (load<u32>(ptr, 8) != len || len > MAX_FILE) { fail(E_HEADER, 8); return errCode; }
  if (crc32(ptr + 16, len - 16) != load<u32>(ptr, 12)) { fail(E_CRC, 12); return errCode; }
  nodeCount = load<u32>(ptr, 16);
  if (nodeCount < 1 || nodeCount > MAX_NODES) { fail(E_HEADER, 16); return errCode; }
  let metaLen = load<u32>(ptr, 20);
  if (metaLen > len - HEADER_BYTES - GRAPH_HEADER_BYTES) { fail(E_HEADER, 20); return errCode; }
  for (let i: u32 = 24; i < 32; i++) if (load<u8>(ptr + i) != 0) { fail(E_HEADER, i); return errCode; }
  rdEnd = len - metaLen;
  // graph header
  rdPos = HEADER_BYTES;
  let h = u16In(1), w = u16In(1), c = u16In(1);
  if (errCode == 0 && (h > 4096 || w > 4096 || c > 4096 || <u64>h * w * c > MAX_ACT)) fail(E_FIELD, HEADER_BYTES);
  let sIn = posF32(), zIn = ri8(), sOut = posF32(), zOut = ri8();
  let cls = u32In(1, 1 << 20);
  if (errCode != 0) return errCode;
  inH = h; inW = w; inC = c; inScale = sIn; inZpG = zIn; outScale = sOut; outZpG = zOut; classes = cls;
  // pass 1: validate, chain shapes, count bytes — nothing allocated, nothing written
  building = false;
  decodeBuf = 0;
  if (readGraph() != 0) return errCode;
  let modelBytes = mTop;
  modelBytesLoaded = modelBytes;
  if (modelBytes > 0x7fff0000 || decodeMax > 0x7fff0000) { fail(E_NOMEM, 0); return errCode; }
  // pass 2: allocate and pack
  mBase = region(R_MODEL, modelBytes);
  decodeBuf = decodeMax > 0 ? region(R_WORK, decodeMax) : 0;
  if (mBase == 0 || (decodeMax > 0 && decodeBuf == 0)) { fail(E_NOMEM, 0); return errCode; }
  building = true;
  readGraph();
  building = false;
  if (errCode != 0) return errCode;   // only the sparse-structure checks can fail here
  planIdx = 0;
  planList(topCount);
  topS0 = pS0; topS1 = pS1; topE = pE; topS = pS;
  loaded = true;
  return 0;
}

export function qwm_error_offset(): i32 { return errOff; }
export function qwm_input_size(): i32 { return loaded ? inH * inW * inC : E_NOMODEL; }
export function qwm_output_size(): i32 { return loaded ? classes : E_NOMODEL; }
export function qwm_input_scale(): f32 { return loaded ? inScale : 0; }
export function qwm_input_zp(): i32 { return loaded ? inZpG : E_NOMODEL; }
export function qwm_output_scale(): f32 { return loaded ? outScale : 0; }
export function qwm_output_zp(): i32 { return loaded ? outZpG : E_NOMODEL; }

// Drops the loaded model (its memory region is kept for the next qwm_load: wasm memory cannot shrink).
export function qwm_free(): void { loaded = false; }

// ---------------------------------------------------------------------------------------------- execution
// Activation memory: every node list (the top level, each residual body and shortcut) owns a frame of two slots
// and alternates its outputs between them — a node reads its input from one slot (or from the list's input) and
// writes the other, so a chain needs only its two largest alternating activations, not all of them. Flatten is
// free (the NHWC rows already are the flattened layout). A residual's body runs in a frame above its list's,
// its shortcut in a frame above the body's (the body's output must live until the join), and the join writes
// the list's next slot; a low-rank layer's middle activation sits just above the frame. Slot sizes are planned
// once at load (per sample; stored as u32: E < 2^25 · 65 even at the deepest nesting); a run of n samples needs at
// most n·E + 16·S bytes (E elements, S buffers, each 16-byte aligned).
let topS0: u64 = 0, topS1: u64 = 0, topE: u64 = 0, topS: u64 = 0;
let pS0: u64 = 0, pS1: u64 = 0, pE: u64 = 0, pS: u64 = 0;   // planList's results
let planIdx: i32 = 0;

function planList(count: i32): void {
  let s0: u64 = 0, s1: u64 = 0, childE: u64 = 0, childS: u64 = 0;
  let slot = -1;
  for (let i = 0; i < count; i++) {
    let r = recBase + <usize>planIdx * REC_BYTES;
    planIdx++;
    let kind = getf(r, F_KIND);
    if (kind == K_FLATTEN) continue;
    if (kind == K_RESIDUAL) {
      planList(getf(r, A_0));
      let bE = pE, bS = pS;
      setf(r, F_B_S0, <i32>pS0); setf(r, F_B_S1, <i32>pS1); setf(r, F_B_E, <i32>pE); setf(r, F_B_S, <i32>pS);
      let sE: u64 = 0, sS: u64 = 0;
      if (getf(r, A_2) != 0) {
        planList(getf(r, A_1));
        sE = pE; sS = pS;
        setf(r, F_S_S0, <i32>pS0); setf(r, F_S_S1, <i32>pS1); setf(r, F_S_E, <i32>pE); setf(r, F_S_S, <i32>pS);
      }
      if (bE + sE > childE) childE = bE + sE;
      if (bS + sS > childS) childS = bS + sS;
    } else if (kind == K_LOWRANK) {
      if (<u64>getf(r, A_2) > childE) childE = <u64>getf(r, A_2);
      if (childS < 1) childS = 1;
    }
    let elems = <u64>getf(r, F_OH) * <u64>getf(r, F_OW) * <u64>getf(r, F_OC);
    slot = slot == 0 ? 1 : 0;
    if (slot == 0) { if (elems > s0) s0 = elems; } else if (elems > s1) s1 = elems;
  }
  pS0 = s0; pS1 = s1; pE = s0 + s1 + childE; pS = 2 + childS;
}

// bytes a frame of (E, S) takes for n samples
// @ts-ignore: decorator
@inline function frameBytes(n: i32, e: u64, s: u64): u64 { return <u64>n * e + 16 * s; }

// A sparse linear on its column lists (see "sparse linears"): m samples of k codes → m × n codes. One plain
// scalar loop per output column (no SIMD, no bulk memory); the int32 row goes through requant_i32.
function linearSparse(m: i32, k: i32, n: i32, x: usize, cs: usize, ki: usize, wide: bool, kv: usize, bias: usize,
                      scale: usize, y: usize, zp: i32, qmin: i32, qmax: i32): void {
  let acc = heap.alloc(<usize>n << 2);
  for (let i = 0; i < m; i++) {
    let xr = x + <usize>i * k;
    let p = load<u32>(cs);
    for (let j = 0; j < n; j++) {
      let end = load<u32>(cs + (<usize>(j + 1) << 2));
      let s = load<i32>(bias + (<usize>j << 2));
      if (wide) {
        for (; p < end; p++) s += <i32>load<i8>(xr + <usize>load<u32>(ki + (<usize>p << 2))) * <i32>load<i8>(kv + p);
      } else {
        for (; p < end; p++) s += <i32>load<i8>(xr + <usize>load<u16>(ki + (<usize>p << 1))) * <i32>load<i8>(kv + p);
      }
      store<i32>(acc + (<usize>j << 2), s);
    }
    requant_i32(acc, scale, n, zp, qmin, qmax, y + <usize>i * n);
  }
  heap.free(acc);
}

let exIdx: i32 = 0;
let runN: i32 = 0;

// Runs `count` sibling nodes (and their children) on x in the frame at `base` with slots of s0, s1 elements per
// sample; returns the last output (x itself for an empty list).
function execList(count: i32, x: usize, base: usize, s0: u64, s1: u64): usize {
  let n = runN;
  let slot1 = base + <usize>align16(<u64>n * s0);
  let child = slot1 + <usize>align16(<u64>n * s1);   // frames of residual branches, low-rank middles
  let slot = -1;
  for (let i = 0; i < count; i++) {
    let r = recBase + <usize>exIdx * REC_BYTES;
    exIdx++;
    let kind = getf(r, F_KIND);
    if (kind == K_FLATTEN) continue;
    slot = slot == 0 ? 1 : 0;
    let y = slot == 0 ? base : slot1;
    let ih = getf(r, F_IH), iw = getf(r, F_IW), ic = getf(r, F_IC);
    let oh = getf(r, F_OH), ow = getf(r, F_OW), oc = getf(r, F_OC);
    let outZp = getf(r, A_OUTZP), qmin = getf(r, A_QMIN), qmax = getf(r, A_QMAX), inZp = getf(r, A_INZP);
    if (kind == K_CONV) {
      setConvDescS8(convDesc, n, ih, iw, ic, getf(r, A_0), getf(r, A_1), getf(r, A_2), getf(r, A_3),
                    getf(r, A_SH), getf(r, A_SW), getf(r, A_PT), getf(r, A_PL), getf(r, A_DH), getf(r, A_DW), oh, ow,
                    inZp, outZp, qmin, qmax);
      conv2d_s8(convDesc, <usize>getf(r, F_P0), x, y);
    } else if (kind == K_LINEAR && getf(r, F_SPARSE) != 0) {
      linearSparse(n, getf(r, A_0), getf(r, A_1), x, <usize>getf(r, F_P0), <usize>getf(r, F_P2), getf(r, F_SPARSE) == 2,
                   <usize>getf(r, F_P3), <usize>getf(r, F_P4), <usize>getf(r, F_P1), y, outZp, qmin, qmax);
    } else if (kind == K_LINEAR) {
      let k = getf(r, A_0), nn = getf(r, A_1);
      gemm_s8(n, k, nn, x, k, <usize>getf(r, F_P0), y, nn, OUT_S8, <usize>getf(r, F_P1), outZp, qmin, qmax);
    } else if (kind == K_LOWRANK) {
      let k = getf(r, A_0), nn = getf(r, A_1), rk = getf(r, A_2);
      gemm_s8(n, k, rk, x, k, <usize>getf(r, F_P0), child, rk, OUT_S8, <usize>getf(r, F_P1), getf(r, A_ZB), -128, 127);
      gemm_s8(n, rk, nn, child, rk, <usize>getf(r, F_P2), y, nn, OUT_S8, <usize>getf(r, F_P3), outZp, qmin, qmax);
    } else if (kind == K_MAXPOOL) {
      maxpool2d_s8(n, ih, iw, ic, x, getf(r, A_1), getf(r, A_2), getf(r, A_SH), getf(r, A_SW), getf(r, A_PT), getf(r, A_PL),
                  oh, ow, y, -128, 127);
    } else if (kind == K_AVGPOOL) {
      avgpool2d_s8(n, ih, iw, ic, x, inZp, getf(r, A_1), getf(r, A_2), getf(r, A_SH), getf(r, A_SW), getf(r, A_PT), getf(r, A_PL),
                  oh, ow, y, reinterpret<f32>(getf(r, A_MA)), outZp, qmin, qmax);
    } else if (kind == K_GAP) {
      global_avgpool_s8(n, ih, iw, ic, x, inZp, y, reinterpret<f32>(getf(r, A_MA)), outZp, qmin, qmax);
    } else if (kind == K_RESIDUAL) {
      let bodyE = <u64><u32>getf(r, F_B_E), bodyS = <u64><u32>getf(r, F_B_S);
      let a = execList(getf(r, A_0), x, child, <u64><u32>getf(r, F_B_S0), <u64><u32>getf(r, F_B_S1));
      let b = x;
      if (getf(r, A_2) != 0) {
        b = execList(getf(r, A_1), x, child + <usize>frameBytes(n, bodyE, bodyS), <u64><u32>getf(r, F_S_S0), <u64><u32>getf(r, F_S_S1));
      }
      add_s8(n * oh * ow * oc, a, getf(r, A_INZP), reinterpret<f32>(getf(r, A_MA)), b, getf(r, A_ZB), reinterpret<f32>(getf(r, A_MB)),
             y, outZp, qmin, qmax);
    }
    x = y;
  }
  return x;
}

// Work bytes of a run of n samples (activation frames, + the quantised input of qwm_run_f32).
function workBytes(n: i32, f32in: bool): u64 {
  let b = frameBytes(n, topE, topS);
  if (f32in) b += align16(<u64>n * inH * inW * inC);
  return b;
}

// n·(largest activation) must stay inside the kernels' i32 index range (as Int8Runner's batch limit), and the
// host's buffers inside memory
function runCheck(inPtr: usize, inBytes: u64, n: i32, outPtr: usize, outBytes: u64): i32 {
  if (!loaded) return E_NOMODEL;
  if (n < 1 || <u64>n * maxAct > 0x40000000) return E_ARG;
  let end = memoryEnd();
  if (inPtr == 0 || outPtr == 0 || <u64>inPtr + inBytes > end || <u64>outPtr + outBytes > end) return E_ARG;
  return 0;
}

function runCodes(x: usize, n: i32, frame: usize): usize {
  runN = n;
  exIdx = 0;
  return execList(topCount, x, frame, topS0, topS1);
}

export function qwm_run(inPtr: usize, n: i32, outPtr: usize): i32 {
  let e = runCheck(inPtr, <u64>n * inH * inW * inC, n, outPtr, <u64>n * classes);
  if (e != 0) return e;
  let base = region(R_WORK, workBytes(n, false));
  if (base == 0) return E_NOMEM;
  let y = runCodes(inPtr, n, base);
  let len = <usize>n * classes;
  if (y != outPtr) for (let i: usize = 0; i < len; i++) store<i8>(outPtr + i, load<i8>(y + i));
  return 0;
}

export function qwm_run_f32(inPtr: usize, n: i32, outPtr: usize): i32 {
  let e = runCheck(inPtr, (<u64>n * inH * inW * inC) << 2, n, outPtr, (<u64>n * classes) << 2);
  if (e != 0) return e;
  let base = region(R_WORK, workBytes(n, true));
  if (base == 0) return E_NOMEM;
  let len = <usize>n * inH * inW * inC;
  let q = base;
  // quantizeArray: t = rne(f32(x / scale)), clamped to [−128 − zp, 127 − zp], + zp; a NaN stores 0 (JS Int8Array)
  let lo = <f32>(<i32>-128 - inZpG), hi = <f32>(<i32>127 - inZpG);
  for (let i: usize = 0; i < len; i++) {
    let t = nearest<f32>(load<f32>(inPtr + (i << 2)) / inScale);
    let v: i32 = 0;
    if (t == t) v = <i32>(t < lo ? lo : t > hi ? hi : t) + inZpG;
    store<i8>(q + i, <i8>v);
  }
  let y = runCodes(q, n, base + <usize>align16(<u64>len));
  let m = <usize>n * classes;
  // Int8Model: logits[i] = scale · (code − zp) in double precision, stored as f32
  for (let i: usize = 0; i < m; i++) {
    store<f32>(outPtr + (i << 2), <f32>(<f64>outScale * <f64>(<i32>load<i8>(y + i) - outZpG)));
  }
  return 0;
}

// Bytes of the model region the loaded model takes (node records, packed weights / sparse column lists, folded
// biases, padded scales; E_NOMODEL without a model) — the memory the weights cost on the device.
export function qwm_model_bytes(): f64 {
  return loaded ? <f64>modelBytesLoaded : <f64>E_NOMODEL;
}

// Bytes of the work region the last qwm_load needed to decode sparse-coded tensors to dense (convs, low-rank and
// dense-spec linears; sparse linears need none); 0 when nothing was decoded, E_NOMODEL without a model.
export function qwm_decode_bytes(): f64 {
  return loaded ? <f64>decodeMax : <f64>E_NOMODEL;
}

// Bytes of the work region a run of n samples takes (E_NOMODEL without a model).
export function qwm_work_bytes(n: i32): f64 {
  return loaded ? <f64>workBytes(n, true) : <f64>E_NOMODEL;
}

// ---------------------------------------------------------------------------------------------- bundles
let embedState: i32 = 0;          // 0: not a bundle, 1: payload copied, < 0: error code
let embModel: usize = 0, embModelLen: u32 = 0, embInput: usize = 0, embInputLen: u32 = 0, embSamples: i32 = 0;
let resCount: i32 = 0;
let resPtr: usize = 0;

// The bundle's start function (see the file header). Harmless anywhere else: without the descriptor it does nothing.
export function qwm_embed_init(): void {
  if (embedState != 0) return;
  let end = memoryEnd();
  if (end < 64) return;
  let d = <usize>(end - 32);
  if (load<u32>(d) != 0x424d5751 || load<u32>(d, 4) != 0x314c444e) return;      // "QWMBNDL1"
  let off = load<u32>(d, 8), mlen = load<u32>(d, 12), ilen = load<u32>(d, 16), n = load<u32>(d, 20);
  // the payload must lie above the heap's first bookkeeping (TLSF root and first block headers at __heap_base)
  if (crc32(d, 24) != load<u32>(d, 24) || mlen == 0 || <u64>off < <u64>__heap_base + 4096 || <u64>off + mlen + ilen > <u64>d
      || n > 0x7fffffff) {
    embedState = E_EMBED;
    return;
  }
  let total = <u64>mlen + ilen;
  let dst = region(R_ROM, total);                // initialises TLSF first, then grows beyond its pool
  if (dst == 0) { embedState = E_NOMEM; return; }
  let src = <usize>off;
  let i: usize = 0;
  for (; i + 8 <= <usize>total; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < <usize>total; i++) store<u8>(dst + i, load<u8>(src + i));
  embModel = dst; embModelLen = mlen;
  embInput = dst + mlen; embInputLen = ilen; embSamples = <i32>n;
  embedState = 1;
}

// Loads the embedded model and runs the embedded input: FNV-1a 32 of the n × classes output codes, shifted right
// by one (so it is never negative), or a negative error code. Without an embedded input: 0 after a good load.
export function qwm_main(): i32 {
  resCount = 0;
  if (embedState <= 0) return embedState == 0 ? E_EMBED : embedState;
  let e = qwm_load(embModel, embModelLen);
  if (e != 0) return e;
  if (embInputLen == 0) return 0;
  let per = inH * inW * inC;
  if (embSamples < 1 || <u64>embSamples * per != <u64>embInputLen) return E_EMBED;
  let m = <u64>embSamples * classes;
  let out = region(R_RESULT, m);
  if (out == 0) return E_NOMEM;
  e = qwm_run(embInput, embSamples, out);
  if (e != 0) return e;
  resPtr = out; resCount = <i32>m;
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < <usize>m; i++) h = (h ^ <u32>load<u8>(out + i)) * 0x01000193;
  return <i32>(h >>> 1);
}

// Output code i of the last qwm_main run (sample i / classes, class i % classes), or -1000 when there is none.
export function qwm_out(i: i32): i32 {
  if (i < 0 || i >= resCount) return NO_OUTPUT;
  return <i32>load<i8>(resPtr + <usize>i);
}

export function qwm_out_count(): i32 { return resCount; }
