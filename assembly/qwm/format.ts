// .qwm v1 constants of the pure-WASM runner (assembly/qwm_run.ts): error codes, format limits, node kinds,
// and two size helpers. The format itself: docs/QWM.md.

// ---------------------------------------------------------------------------------------------- error codes
// (mirrored by QWM_WASM_ERRORS in src/deploy/wasm-bundle.ts)
export const E_ARG: i32 = -1;        // bad pointer / length / sample count from the host
export const E_MAGIC: i32 = -2;      // not "QWM\0"
export const E_VERSION: i32 = -3;    // format version other than 1
export const E_HEADER: i32 = -4;     // flags, file length field, node count, meta length or reserved bytes
export const E_CRC: i32 = -5;        // CRC-32 mismatch
export const E_TRUNCATED: i32 = -6;  // a field runs past the node area (into the meta block or past the end)
export const E_FIELD: i32 = -7;      // a field outside its allowed range (kind, dims, scales, clamps, sparse spec, name)
export const E_SHAPE: i32 = -8;      // activation shapes do not chain, or a reader limit on shapes
export const E_TENSOR: i32 = -9;     // weight tensor coding: encoding byte, -128, gap nibbles, nnz, sparse structure
export const E_NODES: i32 = -10;     // node count / residual child counts disagree with the nodes, or trailing bytes
export const E_NOMEM: i32 = -11;     // the host refused to grow memory (or the model needs more than wasm32 holds)
export const E_NOMODEL: i32 = -12;   // run / query without a loaded model
export const E_EMBED: i32 = -13;     // qwm_main: no embedded model (not a bundle) or a bad bundle descriptor
export const NO_OUTPUT: i32 = -1000; // qwm_out: no such output

// ---------------------------------------------------------------------------------------------- format constants
export const HEADER_BYTES: u32 = 32;
export const GRAPH_HEADER_BYTES: u32 = 20;
export const MAX_NODES: u32 = 4096;
export const MAX_DEPTH: i32 = 64;
export const MAX_FILE: u32 = 1 << 30;
export const MAX_TENSOR: u64 = 1 << 26;
export const MAX_U32_DIM: u32 = 1 << 24;
export const MAX_ACT: u64 = 1 << 24;   // elements per sample of any activation (input: h·w·c ≤ 2^24)
export const MAX_NAME: u32 = 256;

export const K_CONV: i32 = 1, K_LINEAR: i32 = 2, K_LOWRANK: i32 = 3, K_MAXPOOL: i32 = 4, K_AVGPOOL: i32 = 5,
  K_GAP: i32 = 6, K_FLATTEN: i32 = 7, K_RESIDUAL: i32 = 8, K_LUT: i32 = 9, K_DAG: i32 = 10;
// DAG step ops (docs/QWM.md, kind 10; files holding a DAG node say version 2)
export const OP_CHAIN: i32 = 0, OP_ADD: i32 = 1, OP_CONCAT: i32 = 2;

// @ts-ignore: decorator
@inline export function align16(v: u64): u64 { return (v + 15) & ~(<u64>15); }
// @ts-ignore: decorator
@inline export function ceil8(v: i32): i32 { return (v + 7) & ~7; }
