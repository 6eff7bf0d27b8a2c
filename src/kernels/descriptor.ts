// Descriptors: small int32 blocks in WASM memory that the conv / pool kernels read instead of twenty-odd
// positional integers. The conv layout (shared by conv2d_f32_* and conv2d_s8 / conv2d_s8_ref / im2col_s8) is
// assembly/conv_desc.ts's; the pool layout is assembly/pool_f32.ts's. See docs/KERNELS.md.
import type { Runtime } from '../runtime.js';
import { QwasmError } from '../errors.js';

// One descriptor block (32 int32) per runtime, written right before each call (calls never nest). Its view is
// kept while linear memory has not grown (a grown memory detaches it): at batch 1 a conv call is a few µs and
// building arrays and a fresh view per call cost a noticeable share of it.
const descs = new WeakMap<Runtime, { ptr: number; view: Int32Array }>();

function block(rt: Runtime): { ptr: number; view: Int32Array } {
  let b = descs.get(rt);
  if (b === undefined) { const ptr = rt.alloc(128); b = { ptr, view: rt.i32(ptr, 32) }; descs.set(rt, b); }
  // a grown memory detaches the old buffer (its views read length 0); a shared one keeps it valid, covering the block
  else if (b.view.length === 0) b.view = rt.i32(b.ptr, 32);
  return b;
}

/** Writes `values` (int32) into the runtime's descriptor block and returns its pointer. */
export function descriptor(rt: Runtime, values: readonly number[]): number {
  if (values.length > 32) throw new QwasmError('descriptor too long');
  const b = block(rt);
  b.view.set(values);
  return b.ptr;
}

/** The spatial part of a conv's geometry (conv_s8.ts's resolved Geometry). */
export interface SpatialGeometry { sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; dh: number; dw: number; oh: number; ow: number }

/** Geometry of one conv call in the order of assembly/conv_desc.ts's first 18 fields. */
export interface ConvDescGeometry extends SpatialGeometry {
  n: number; h: number; w: number; c: number; oc: number; kh: number; kw: number; groups: number;
}

/** The conv descriptor (assembly/conv_desc.ts): 18 geometry fields, plus the 4 int8 fields when `q` is given. */
export function convDescriptor(rt: Runtime, g: ConvDescGeometry, q?: { zpIn: number; zpOut: number; qmin: number; qmax: number }): number {
  return q ? convDescriptorS8(rt, g.n, g.h, g.w, g.c, g.oc, g.kh, g.kw, g.groups, g, q.zpIn, q.zpOut, q.qmin, q.qmax)
    : writeConv(rt, g.n, g.h, g.w, g.c, g.oc, g.kh, g.kw, g.groups, g).ptr;
}

/** The int8 conv descriptor (all 22 fields) from scalars: no intermediate objects (the int8 runner's per-call path). */
export function convDescriptorS8(rt: Runtime, n: number, h: number, w: number, c: number, oc: number, kh: number, kw: number,
                                 groups: number, g: SpatialGeometry, zpIn: number, zpOut: number, qmin: number, qmax: number): number {
  const b = writeConv(rt, n, h, w, c, oc, kh, kw, groups, g), v = b.view;
  v[18] = zpIn; v[19] = zpOut; v[20] = qmin; v[21] = qmax;
  return b.ptr;
}

function writeConv(rt: Runtime, n: number, h: number, w: number, c: number, oc: number, kh: number, kw: number, groups: number, g: SpatialGeometry) {
  const b = block(rt), v = b.view;
  v[0] = n; v[1] = h; v[2] = w; v[3] = c; v[4] = oc; v[5] = kh; v[6] = kw; v[7] = g.sh; v[8] = g.sw;
  v[9] = g.pt; v[10] = g.pl; v[11] = g.pb; v[12] = g.pr; v[13] = g.dh; v[14] = g.dw; v[15] = groups; v[16] = g.oh; v[17] = g.ow;
  return b;
}
