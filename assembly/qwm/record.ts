// Node records: what qwm_load's second pass (nodes.ts) writes for each node and what plan.ts / exec.ts read.
// One 192-byte record per node, in file (pre-order) order: 48 int32 fields. The first seven and the output
// requantisation mean the same for every kind; the others are named per node kind below (a kind's names never
// share a slot; different kinds reuse slots). f32 values are stored as their bits (getF32).
// In-memory only: the .qwm bytes (docs/QWM.md) are read by nodes.ts and never depend on this layout.
export const REC_BYTES: u32 = 192;

// every kind: kind code, input shape (per sample), output shape
export const F_KIND = 0, F_IH = 1, F_IW = 2, F_IC = 3, F_OH = 4, F_OW = 5, F_OC = 6;
// every kind with a requantised output: input zero point, output zero point and clamp
export const F_IN_ZP = 21, F_OUT_ZP = 22, F_QMIN = 23, F_QMAX = 24;

// conv: packed weights (conv2d_s8_pack) and the geometry
export const CONV_PACKED = 7;
export const CONV_OC = 11, CONV_KH = 12, CONV_KW = 13, CONV_GROUPS = 14;
export const CONV_SH = 15, CONV_SW = 16, CONV_PT = 17, CONV_PL = 18, CONV_DH = 19, CONV_DW = 20;

// linear: K × N; dense (LINEAR_SPARSE 0): packed weights (gemm_s8_pack); sparse (1: u16 rows, 2: u32 rows): the
// column lists of tensor.ts ("sparse linears") and the folded bias. Both: the padded requant scales.
export const LINEAR_K = 11, LINEAR_N = 12;
export const LINEAR_PACKED = 7, LINEAR_SCALE = 8;
export const LINEAR_CSTART = 7, LINEAR_KIDX = 9, LINEAR_KVAL = 10, LINEAR_BIAS = 36, LINEAR_SPARSE = 37;

// low-rank: x (K) → mid (RANK, zero point LOWRANK_MID_ZP) → y (N), two packed GEMMs with their scales
export const LOWRANK_K = 11, LOWRANK_N = 12, LOWRANK_RANK = 13, LOWRANK_MID_ZP = 25;
export const LOWRANK_PACKED_P = 7, LOWRANK_SCALE_P = 8, LOWRANK_PACKED_Q = 9, LOWRANK_SCALE_Q = 10;

// max / avg pool: the window; avg pool: the ratio (f32)
export const POOL_KH = 12, POOL_KW = 13, POOL_SH = 15, POOL_SW = 16, POOL_PT = 17, POOL_PL = 18, POOL_RATIO = 26;

// global average pool: the ratio (f32)
export const GAP_RATIO = 26;

// lut: the 256-entry int8 table (copied into the model region)
export const LUT_TABLE = 7;

// residual: child counts, the join's (zero point, multiplier) per branch (body a = F_IN_ZP's slot, shortcut b),
// and the activation plan of its body and shortcut lists (plan.ts): slot sizes s0, s1 and the frame's peak
// elements E and buffer count S, per sample
export const RES_BODY = 11, RES_SHORTCUT = 12, RES_HAS_SHORTCUT = 13;
export const RES_ZA = 21, RES_ZB = 25, RES_MA = 26, RES_MB = 27;
export const RES_BODY_S0 = 28, RES_BODY_S1 = 29, RES_BODY_E = 30, RES_BODY_S = 31;
export const RES_SC_S0 = 32, RES_SC_S1 = 33, RES_SC_E = 34, RES_SC_S = 35;

// dag: the step table (STEP_BYTES per step, fields S_* below) and the step count; DAG_E / DAG_S: the frame its
// steps' outputs take (plan.ts), per sample
export const DAG_TABLE = 7, DAG_STEPS = 11, DAG_E = 28, DAG_S = 29;
// a DAG step: op, input count, chain child count, merge output zero point and clamp, output elements and channels
// per sample, the inputs (INPUT_BYTES each: step index (−1: the DAG's input), zero point, f32 multiplier bits,
// channels), a chain's frame plan (s0, s1, E, S), where its output region starts in the DAG's frame (elements,
// buffers before it) and, during a run, the pointer to its output
export const STEP_BYTES: u32 = 64, INPUT_BYTES: u32 = 16;
export const S_OP = 0, S_NIN = 1, S_COUNT = 2, S_OUT_ZP = 3, S_QMIN = 4, S_QMAX = 5, S_ELEMS = 6, S_C = 7, S_INS = 8,
  S_S0 = 9, S_S1 = 10, S_E = 11, S_SS = 12, S_EBEF = 13, S_SBEF = 14, S_VAL = 15;

// @ts-ignore: decorator
@inline export function setf(rec: usize, f: i32, v: i32): void { store<i32>(rec + (<usize>f << 2), v); }
// @ts-ignore: decorator
@inline export function getf(rec: usize, f: i32): i32 { return load<i32>(rec + (<usize>f << 2)); }
// @ts-ignore: decorator
@inline export function setF32(rec: usize, f: i32, v: f32): void { store<f32>(rec + (<usize>f << 2), v); }
// @ts-ignore: decorator
@inline export function getF32(rec: usize, f: i32): f32 { return load<f32>(rec + (<usize>f << 2)); }
// @ts-ignore: decorator
@inline export function getPtr(rec: usize, f: i32): usize { return <usize>load<i32>(rec + (<usize>f << 2)); }
