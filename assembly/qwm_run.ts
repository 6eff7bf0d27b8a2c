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
//
// Files (assembly/qwm/): format.ts (error codes, limits, node kinds), crc.ts, regions.ts (memory regions),
// reader.ts (bounds-checked reads, shape chaining), tensor.ts (weight tensors, sparse linears' column lists),
// nodes.ts (one reader per node kind, validation + pass-2 packing), record.ts (the in-memory node record, named
// per node kind), plan.ts (activation slots), exec.ts (running the records), bundle.ts (bundle entry points).
// This file: load, queries and runs.

import { E_ARG, E_CRC, E_FIELD, E_HEADER, E_MAGIC, E_NODES, E_NOMEM, E_NOMODEL, E_SHAPE, E_VERSION,
  GRAPH_HEADER_BYTES, HEADER_BYTES, MAX_ACT, MAX_FILE, MAX_NODES, align16 } from './qwm/format';
import { REC_BYTES } from './qwm/record';
import { R_MODEL, R_WORK, memoryEnd, region } from './qwm/regions';
import { crc32 } from './qwm/crc';
import { building, fileVersion, decodeBuf, decodeMax, errCode, errOff, fail, lastOutScale, lastOutZp, mAlloc, mBase, mTop, macs,
  maxAct, nodeCount, nodesSeen, posF32, rd, rdEnd, rdPos, recBase, ri8, sC, sH, sRank, sW, shapeElems, topCount,
  u16In, u32In, weightsTotal } from './qwm/reader';
import { readNode } from './qwm/nodes';
import { frameBytes, pE, pS, pS0, pS1, planIdx, planList, topE, topS, topS0, topS1 } from './qwm/plan';
import { runCodes } from './qwm/exec';

// ---------------------------------------------------------------------------------------------- the model
export let loaded = false;
export let inH: i32 = 0, inW: i32 = 0, inC: i32 = 0, classes: i32 = 0;
export let inScale: f32 = 0, outScale: f32 = 0, inZpG: i32 = 0, outZpG: i32 = 0;
export let modelBytesLoaded: u64 = 0;

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


export function qwm_load(ptr: usize, len: u32): i32 {
  loaded = false;
  errCode = 0; errOff = -1;
  if (ptr == 0 || <u64>ptr + len > memoryEnd()) { fail(E_ARG, 0); return errCode; }
  rd = ptr; rdEnd = len; rdPos = 0;
  if (len < HEADER_BYTES + GRAPH_HEADER_BYTES) { fail(len >= 4 && load<u32>(ptr) != 0x004d5751 ? E_MAGIC : E_HEADER, 0); return errCode; }
  if (load<u32>(ptr) != 0x004d5751) { fail(E_MAGIC, 0); return errCode; }          // "QWM\0"
  let version = <u32>load<u16>(ptr, 4);
  if (version != 1 && version != 2) { fail(E_VERSION, 4); return errCode; }     // 2: the file holds a DAG node
  fileVersion = version;
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
