// Descriptors: small int32 blocks in WASM memory that the conv / pool kernels read instead of twenty-odd
// positional integers. The conv layout (shared by conv2d_f32_* and conv2d_s8 / conv2d_s8_ref / im2col_s8) is
// assembly/conv_desc.ts's; the pool layout is assembly/pool_f32.ts's. See docs/KERNELS.md.
import type { Runtime } from '../runtime.js';
import { QwasmError } from '../errors.js';

// One descriptor block (32 int32) per runtime, written right before each call (calls never nest).
const descs = new WeakMap<Runtime, number>();

/** Writes `values` (int32) into the runtime's descriptor block and returns its pointer. */
export function descriptor(rt: Runtime, values: readonly number[]): number {
  let p = descs.get(rt);
  if (p === undefined) { p = rt.alloc(128); descs.set(rt, p); }
  if (values.length > 32) throw new QwasmError('descriptor too long');
  rt.i32(p, values.length).set(values);
  return p;
}

/** Geometry of one conv call in the order of assembly/conv_desc.ts's first 18 fields. */
export interface ConvDescGeometry {
  n: number; h: number; w: number; c: number; oc: number; kh: number; kw: number; sh: number; sw: number;
  pt: number; pl: number; pb: number; pr: number; dh: number; dw: number; groups: number; oh: number; ow: number;
}

/** The conv descriptor (assembly/conv_desc.ts): 18 geometry fields, plus the 4 int8 fields when `q` is given. */
export function convDescriptor(rt: Runtime, g: ConvDescGeometry, q?: { zpIn: number; zpOut: number; qmin: number; qmax: number }): number {
  const geo = [g.n, g.h, g.w, g.c, g.oc, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.dh, g.dw, g.groups, g.oh, g.ow];
  return descriptor(rt, q ? [...geo, q.zpIn, q.zpOut, q.qmin, q.qmax] : geo);
}
