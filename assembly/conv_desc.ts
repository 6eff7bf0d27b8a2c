// The convolution descriptor: int32 fields at `desc` (a byte offset into memory), in the order of the D_*
// constants. A host fills it once per call instead of passing some twenty positional integers.
//   conv2d_f32_* read the 18 geometry fields (src/kernels/conv_f32.ts writes them);
//   conv2d_s8 / conv2d_s8_ref / im2col_s8 read all 22 (src/kernels/conv_s8.ts, assembly/qwm_run.ts write them).
// Geometry: input [N][H][W][C], OC output channels, a KH×KW kernel, stride (SH, SW), padding top / left /
// bottom / right, dilation (DH, DW), G channel groups, output OH×OW. int8 only: the input and output zero
// points and the output clamp [QMIN, QMAX]. The kernels trust the descriptor: its writers validate it.
export const D_N = 0, D_H = 1, D_W = 2, D_C = 3, D_OC = 4, D_KH = 5, D_KW = 6, D_SH = 7, D_SW = 8;
export const D_PT = 9, D_PL = 10, D_PB = 11, D_PR = 12, D_DH = 13, D_DW = 14, D_G = 15, D_OH = 16, D_OW = 17;
export const D_ZP_IN = 18, D_ZP_OUT = 19, D_QMIN = 20, D_QMAX = 21;

// @ts-ignore: decorator
@inline
export function dget(desc: usize, i: i32): i32 { return load<i32>(desc + (<usize>i << 2)); }

// Fills an int8 conv descriptor for the callers inside WASM (assembly/selftest.ts, assembly/qwm_run.ts). The
// int8 kernels read no bottom / right padding (OH, OW given): those fields are written as 0.
export function setConvDescS8(desc: usize, n: i32, h: i32, w: i32, c: i32, oc: i32, kh: i32, kw: i32, groups: i32,
                              sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
                              zpIn: i32, zpOut: i32, qmin: i32, qmax: i32): void {
  dset(desc, D_N, n); dset(desc, D_H, h); dset(desc, D_W, w); dset(desc, D_C, c); dset(desc, D_OC, oc);
  dset(desc, D_KH, kh); dset(desc, D_KW, kw); dset(desc, D_SH, sh); dset(desc, D_SW, sw);
  dset(desc, D_PT, pt); dset(desc, D_PL, pl); dset(desc, D_PB, 0); dset(desc, D_PR, 0);
  dset(desc, D_DH, dh); dset(desc, D_DW, dw); dset(desc, D_G, groups); dset(desc, D_OH, oh); dset(desc, D_OW, ow);
  dset(desc, D_ZP_IN, zpIn); dset(desc, D_ZP_OUT, zpOut); dset(desc, D_QMIN, qmin); dset(desc, D_QMAX, qmax);
}

// @ts-ignore: decorator
@inline
function dset(desc: usize, i: i32, v: i32): void { store<i32>(desc + (<usize>i << 2), v); }

/** Bytes of an int8 conv descriptor. */
export const CONV_DESC_S8_BYTES: i32 = 22 * 4;
