// Reading a DAG node (kind 10, docs/QWM.md; src/deploy/graph.ts DagStep): the step headers first (all of them
// precede the chains' child nodes in the file), then, step by step, each chain's child nodes (chained from its
// input's shape) or each merge's shape — the checks src/deploy/qwm.ts and validate.ts apply, in the same two passes
// as every node (pass 1 counts, pass 2 fills the step table). The headers stay in the file: pass 1 keeps only each
// step's header position and output shape, in a scratch array from the heap freed before returning.
import { E_FIELD, E_NODES, E_SHAPE, MAX_DEPTH, OP_ADD, OP_CHAIN, OP_CONCAT } from './format';
import { DAG_STEPS, DAG_TABLE, INPUT_BYTES, STEP_BYTES, S_C, S_COUNT, S_ELEMS, S_INS, S_NIN, S_OP, S_OUT_ZP, S_QMAX,
  S_QMIN, setf } from './record';
import { building, countBuffer, doneOutScale, doneOutZp, errCode, fail, mAlloc, macs, nodeCount, nodeOutZp, nodesSeen,
  posF32, rd, rdPos, readName, ri8, ru16, ru8, sC, sH, sRank, sW, setShape, shapeElems, u16In } from './reader';
import { readNode } from './nodes';

// scratch per step: header position, output h, w, c, rank
const T_POS = 0, T_H = 1, T_W = 2, T_C = 3, T_RANK = 4, T_INTS = 5;

// @ts-ignore: decorator
@inline function tget(t: usize, i: i32, f: i32): i32 { return load<i32>(t + ((<usize>(i * T_INTS + f)) << 2)); }
// @ts-ignore: decorator
@inline function tset(t: usize, i: i32, f: i32, v: i32): void { store<i32>(t + ((<usize>(i * T_INTS + f)) << 2), v); }

// One step header (validated, nothing kept but its position); returns its chain child count (0 for a merge).
function readStepHeader(i: i32): i32 {
  let opAt = rdPos, op = <i32>ru8();
  if (errCode == 0 && op > OP_CONCAT) { fail(E_FIELD, opAt); return 0; }
  let nIn = u16In(1);
  for (let k = 0; k < nIn && errCode == 0; k++) {
    let at = rdPos, j = <i32>ru16() - 1;
    if (errCode == 0 && j >= i) fail(E_FIELD, at);
  }
  if (errCode != 0) return 0;
  if (op == OP_CHAIN) {
    let count = u16In(1);
    if (errCode == 0 && nIn != 1) fail(E_FIELD, opAt);
    return count;
  }
  readName();
  posF32();
  let zpAt = rdPos, zp = ri8(), lo = ri8(), hi = ri8();
  if (errCode == 0 && !(lo <= zp && zp <= hi)) fail(E_FIELD, zpAt);
  if (errCode == 0 && op == OP_ADD && nIn != 2) fail(E_FIELD, opAt);
  if (errCode == 0 && op == OP_CONCAT && (nIn < 2 || lo != -128 || hi != 127)) fail(E_FIELD, opAt);
  for (let k = 0; k < nIn && errCode == 0; k++) { ri8(); posF32(); }
  return 0;
}

export function readDag(rec: usize, at: u32, depth: i32): void {
  let myScale = dagOutScale, myZp = nodeOutZp;       // nested nodes overwrite both
  let stepCount = u16In(1);
  if (errCode != 0) return;
  if (depth >= MAX_DEPTH) { fail(E_NODES, at); return; }
  let t = heap.alloc(<usize>stepCount * T_INTS * 4);
  let children: u64 = 0;
  for (let i = 0; i < stepCount && errCode == 0; i++) {
    tset(t, i, T_POS, <i32>rdPos);
    children += <u64>readStepHeader(i);
  }
  if (errCode == 0 && children > <u64>(nodeCount - nodesSeen)) fail(E_NODES, at);
  let table = mAlloc(<u64>stepCount * STEP_BYTES);
  let inH = sH, inW = sW, inC = sC, inRank = sRank;
  let lastScale: f32 = 0, lastZp: i32 = 0;
  for (let i = 0; i < stepCount && errCode == 0; i++) {
    let p = rd + <usize>tget(t, i, T_POS);
    let op = <i32>load<u8>(p), nIn = <i32>load<u16>(p, 1);
    let ins = p + 3;                                   // u16 inputs (+1)
    let tail = ins + (<usize>nIn << 1);
    let st = table + <usize>i * STEP_BYTES;
    let inputs = mAlloc(<u64>nIn * INPUT_BYTES);
    if (op == OP_CHAIN) {
      let j = <i32>load<u16>(ins) - 1, count = <i32>load<u16>(tail);
      if (j < 0) { sH = inH; sW = inW; sC = inC; sRank = inRank; }
      else { sH = tget(t, j, T_H); sW = tget(t, j, T_W); sC = tget(t, j, T_C); sRank = tget(t, j, T_RANK); }
      for (let k = 0; k < count && errCode == 0; k++) readNode(depth + 1);
      if (errCode != 0) break;
      lastScale = doneOutScale; lastZp = doneOutZp;
      if (building) {
        setf(st, S_COUNT, count);
        store<i32>(inputs, j);
      }
    } else {
      let nameLen = <usize>load<u16>(tail);
      let q = tail + 2 + nameLen;                       // f32 scale, i8 zp, qmin, qmax, then (i8 zp, f32 mult) per input
      lastScale = load<f32>(q); lastZp = <i32>load<i8>(q, 4);
      let pairs = q + 7;
      let rank = 0, h = 0, w = 0, c: i64 = 0;
      for (let k = 0; k < nIn; k++) {
        let j = <i32>load<u16>(ins + (<usize>k << 1)) - 1;
        let jh = j < 0 ? inH : tget(t, j, T_H), jw = j < 0 ? inW : tget(t, j, T_W);
        let jc = j < 0 ? inC : tget(t, j, T_C), jr = j < 0 ? inRank : tget(t, j, T_RANK);
        if (k == 0) { rank = jr; h = jh; w = jw; }
        if (op == OP_ADD) {
          if (k == 0) c = <i64>jc;
          else if (<u64>jh * <u64>jw * <u64>jc != <u64>h * <u64>w * <u64>c) { fail(E_SHAPE, at); break; }
        } else {
          if (jr != rank || (rank == 4 && (jh != h || jw != w))) { fail(E_SHAPE, at); break; }
          c += <i64>jc;
        }
        if (building) {
          let e = inputs + <usize>k * INPUT_BYTES;
          store<i32>(e, j); store<i32>(e, <i32>load<i8>(pairs + <usize>k * 5), 4);
          store<f32>(e, load<f32>(pairs + <usize>k * 5, 1), 8); store<i32>(e, jc, 12);
        }
      }
      if (errCode != 0) break;
      setShape(<i64>h, <i64>w, c, rank, at);
      if (errCode != 0) break;
      macs += shapeElems();
      countBuffer(shapeElems());
      if (building) {
        setf(st, S_COUNT, 0);
        setf(st, S_OUT_ZP, lastZp); setf(st, S_QMIN, <i32>load<i8>(q, 5)); setf(st, S_QMAX, <i32>load<i8>(q, 6));
      }
    }
    tset(t, i, T_H, sH); tset(t, i, T_W, sW); tset(t, i, T_C, sC); tset(t, i, T_RANK, sRank);
    if (building) {
      setf(st, S_OP, op); setf(st, S_NIN, nIn); setf(st, S_INS, <i32>inputs);
      setf(st, S_ELEMS, <i32>shapeElems()); setf(st, S_C, sC);
    }
  }
  if (errCode == 0) {
    let last = stepCount - 1;
    sH = tget(t, last, T_H); sW = tget(t, last, T_W); sC = tget(t, last, T_C); sRank = tget(t, last, T_RANK);
  }
  heap.free(t);
  if (errCode != 0) return;
  // the node's out is its last step's (docs/QWM.md)
  let oAt = at + 1;
  if (lastZp != myZp || lastScale != myScale) { fail(E_FIELD, oAt); return; }
  if (building) { setf(rec, DAG_TABLE, <i32>table); setf(rec, DAG_STEPS, stepCount); }
}

// the out.scale of the DAG node being read (nodes.ts sets it before calling readDag)
export let dagOutScale: f32 = 0;
