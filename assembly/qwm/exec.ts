// Runs a loaded model's node records on the int8 kernels (the second half of assembly/qwm_run.ts's qwm_run).
import { K_AVGPOOL, K_CONV, K_DAG, K_FLATTEN, K_GAP, K_LINEAR, K_LOWRANK, K_LUT, K_MAXPOOL, K_RESIDUAL, OP_ADD, OP_CHAIN,
  align16 } from './format';
import { DAG_STEPS, DAG_TABLE, INPUT_BYTES, STEP_BYTES, S_C, S_COUNT, S_EBEF, S_ELEMS, S_INS, S_NIN, S_OP, S_OUT_ZP,
  S_QMAX, S_QMIN, S_S0, S_S1, S_SBEF, S_VAL, setf } from './record';
import { concat_s8 } from '../concat_s8';
import { CONV_DH, CONV_DW, CONV_GROUPS, CONV_KH, CONV_KW, CONV_OC, CONV_PACKED, CONV_PL, CONV_PT, CONV_SH, CONV_SW,
  F_IC, F_IH, F_IN_ZP, F_IW, F_KIND, F_OC, F_OH, F_OUT_ZP, F_OW, F_QMAX, F_QMIN, GAP_RATIO, LINEAR_BIAS,
  LINEAR_CSTART, LINEAR_K, LINEAR_KIDX, LINEAR_KVAL, LINEAR_N, LINEAR_PACKED, LINEAR_SCALE, LINEAR_SPARSE,
  LOWRANK_K, LUT_TABLE, LOWRANK_MID_ZP, LOWRANK_N, LOWRANK_PACKED_P, LOWRANK_PACKED_Q, LOWRANK_RANK, LOWRANK_SCALE_P,
  LOWRANK_SCALE_Q, POOL_KH, POOL_KW, POOL_PL, POOL_PT, POOL_RATIO, POOL_SH, POOL_SW, RES_BODY,
  RES_BODY_E, RES_BODY_S, RES_BODY_S0, RES_BODY_S1, RES_HAS_SHORTCUT, RES_MA, RES_MB, RES_SC_S0, RES_SC_S1,
  RES_SHORTCUT, RES_ZA, RES_ZB, getF32, getPtr, getf } from './record';
import { nodeRecord, topCount } from './reader';
import { frameBytes, topS0, topS1 } from './plan';
import { add_s8 } from '../add_s8';
import { CONV_DESC_S8_BYTES, setConvDescS8 } from '../conv_desc';
import { conv2d_s8 } from '../conv_s8';
import { gemm_s8 } from '../gemm_s8';
import { lut_s8 } from '../lut_s8';
import { maxpool2d_s8, avgpool2d_s8, global_avgpool_s8 } from '../pool_s8';
import { OUT_S8, requant_i32 } from '../requant';

// The int8 conv descriptor every conv call of a run fills (static: runs never nest).
export const convDesc = memory.data(CONV_DESC_S8_BYTES, 16);

// A sparse linear on its column lists (see "sparse linears"): m samples of k codes → m × n codes. One plain
// scalar loop per output column (no SIMD, no bulk memory); the int32 row goes through requant_i32.
export function linearSparse(m: i32, k: i32, n: i32, x: usize, cs: usize, ki: usize, wide: bool, kv: usize, bias: usize,
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

export let exIdx: i32 = 0;
export let runN: i32 = 0;

// Runs `count` sibling nodes (and their children) on x in the frame at `base` with slots of s0, s1 elements per
// sample; returns the last output (x itself for an empty list).
export function execList(count: i32, x: usize, base: usize, s0: u64, s1: u64): usize {
  let n = runN;
  let slot1 = base + <usize>align16(<u64>n * s0);
  let child = slot1 + <usize>align16(<u64>n * s1);   // frames of residual branches, low-rank middles
  let slot = -1;
  for (let i = 0; i < count; i++) {
    let r = nodeRecord(exIdx++);
    let kind = getf(r, F_KIND);
    if (kind == K_FLATTEN) continue;
    slot = slot == 0 ? 1 : 0;
    let y = slot == 0 ? base : slot1;
    let ih = getf(r, F_IH), iw = getf(r, F_IW), ic = getf(r, F_IC);
    let oh = getf(r, F_OH), ow = getf(r, F_OW), oc = getf(r, F_OC);
    let outZp = getf(r, F_OUT_ZP), qmin = getf(r, F_QMIN), qmax = getf(r, F_QMAX), inZp = getf(r, F_IN_ZP);
    if (kind == K_CONV) {
      setConvDescS8(convDesc, n, ih, iw, ic, getf(r, CONV_OC), getf(r, CONV_KH), getf(r, CONV_KW), getf(r, CONV_GROUPS),
                    getf(r, CONV_SH), getf(r, CONV_SW), getf(r, CONV_PT), getf(r, CONV_PL), getf(r, CONV_DH), getf(r, CONV_DW),
                    oh, ow, inZp, outZp, qmin, qmax);
      conv2d_s8(convDesc, getPtr(r, CONV_PACKED), x, y);
    } else if (kind == K_LINEAR && getf(r, LINEAR_SPARSE) != 0) {
      linearSparse(n, getf(r, LINEAR_K), getf(r, LINEAR_N), x, getPtr(r, LINEAR_CSTART), getPtr(r, LINEAR_KIDX),
                   getf(r, LINEAR_SPARSE) == 2, getPtr(r, LINEAR_KVAL), getPtr(r, LINEAR_BIAS), getPtr(r, LINEAR_SCALE),
                   y, outZp, qmin, qmax);
    } else if (kind == K_LINEAR) {
      let k = getf(r, LINEAR_K), nn = getf(r, LINEAR_N);
      gemm_s8(n, k, nn, x, k, getPtr(r, LINEAR_PACKED), y, nn, OUT_S8, getPtr(r, LINEAR_SCALE), outZp, qmin, qmax);
    } else if (kind == K_LOWRANK) {
      let k = getf(r, LOWRANK_K), nn = getf(r, LOWRANK_N), rk = getf(r, LOWRANK_RANK);
      gemm_s8(n, k, rk, x, k, getPtr(r, LOWRANK_PACKED_P), child, rk, OUT_S8, getPtr(r, LOWRANK_SCALE_P),
              getf(r, LOWRANK_MID_ZP), -128, 127);
      gemm_s8(n, rk, nn, child, rk, getPtr(r, LOWRANK_PACKED_Q), y, nn, OUT_S8, getPtr(r, LOWRANK_SCALE_Q), outZp, qmin, qmax);
    } else if (kind == K_MAXPOOL) {
      maxpool2d_s8(n, ih, iw, ic, x, getf(r, POOL_KH), getf(r, POOL_KW), getf(r, POOL_SH), getf(r, POOL_SW),
                   getf(r, POOL_PT), getf(r, POOL_PL), oh, ow, y, -128, 127);
    } else if (kind == K_AVGPOOL) {
      avgpool2d_s8(n, ih, iw, ic, x, inZp, getf(r, POOL_KH), getf(r, POOL_KW), getf(r, POOL_SH), getf(r, POOL_SW),
                   getf(r, POOL_PT), getf(r, POOL_PL), oh, ow, y, getF32(r, POOL_RATIO), outZp, qmin, qmax);
    } else if (kind == K_GAP) {
      global_avgpool_s8(n, ih, iw, ic, x, inZp, y, getF32(r, GAP_RATIO), outZp, qmin, qmax);
    } else if (kind == K_LUT) {
      lut_s8(x, getPtr(r, LUT_TABLE), y, n * oh * ow * oc);
    } else if (kind == K_RESIDUAL) {
      let bodyE = <u64><u32>getf(r, RES_BODY_E), bodyS = <u64><u32>getf(r, RES_BODY_S);
      let a = execList(getf(r, RES_BODY), x, child, <u64><u32>getf(r, RES_BODY_S0), <u64><u32>getf(r, RES_BODY_S1));
      let b = x;
      if (getf(r, RES_HAS_SHORTCUT) != 0) {
        b = execList(getf(r, RES_SHORTCUT), x, child + <usize>frameBytes(n, bodyE, bodyS),
                     <u64><u32>getf(r, RES_SC_S0), <u64><u32>getf(r, RES_SC_S1));
      }
      add_s8(n * oh * ow * oc, a, getf(r, RES_ZA), getF32(r, RES_MA), b, getf(r, RES_ZB), getF32(r, RES_MB),
             y, outZp, qmin, qmax);
    } else if (kind == K_DAG) {
      execDag(r, x, y, child, n * oh * ow * oc);
    }
    x = y;
  }
  return x;
}

// A step's output during a run (j = −1: the DAG's input x).
// @ts-ignore: decorator
@inline function stepVal(table: usize, j: i32, x: usize): usize {
  return j < 0 ? x : getPtr(table + <usize>j * STEP_BYTES, S_VAL);
}

// Runs a DAG node's steps in the frame at `frame` (plan.ts); its output (len bytes) ends up at y.
function execDag(r: usize, x: usize, y: usize, frame: usize, len: i32): void {
  let n = runN;
  let steps = getf(r, DAG_STEPS), table = getPtr(r, DAG_TABLE);
  for (let i = 0; i < steps; i++) {
    let st = table + <usize>i * STEP_BYTES, ins = getPtr(st, S_INS);
    let at = frame + <usize>frameBytes(n, <u64><u32>getf(st, S_EBEF), <u64><u32>getf(st, S_SBEF));
    let v: usize;
    if (getf(st, S_OP) == OP_CHAIN) {
      v = execList(getf(st, S_COUNT), stepVal(table, load<i32>(ins), x), at, <u64><u32>getf(st, S_S0), <u64><u32>getf(st, S_S1));
    } else {
      v = i == steps - 1 ? y : at;
      let elems = getf(st, S_ELEMS), zo = getf(st, S_OUT_ZP);
      if (getf(st, S_OP) == OP_ADD) {
        let b = ins + INPUT_BYTES;
        add_s8(n * elems, stepVal(table, load<i32>(ins), x), load<i32>(ins, 4), load<f32>(ins, 8),
               stepVal(table, load<i32>(b), x), load<i32>(b, 4), load<f32>(b, 8), v, zo, getf(st, S_QMIN), getf(st, S_QMAX));
      } else {
        let ctot = getf(st, S_C), pixels = n * (elems / ctot), off = 0;
        for (let k = 0; k < getf(st, S_NIN); k++) {
          let e = ins + <usize>k * INPUT_BYTES, c = load<i32>(e, 12);
          concat_s8(pixels, stepVal(table, load<i32>(e), x), c, load<i32>(e, 4), load<f32>(e, 8), v, ctot, off, zo);
          off += c;
        }
      }
    }
    setf(st, S_VAL, <i32>v);
  }
  let last = getPtr(table + <usize>(steps - 1) * STEP_BYTES, S_VAL);
  if (last != y) for (let i = 0; i < len; i++) store<i8>(y + i, load<i8>(last + i));
}


export function runCodes(x: usize, n: i32, frame: usize): usize {
  runN = n;
  exIdx = 0;
  return execList(topCount, x, frame, topS0, topS1);
}
