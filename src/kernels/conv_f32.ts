// f32 2-D convolution for training (assembly/conv_f32.ts): forward, backward-data (dx) and backward-filter
// (dW, db). NHWC activations x[N][H][W][C], OHWI weights w[OC][KH][KW][C/groups], bias[OC], output
// y[N][OH][OW][OC]. Two layers:
//   - pointer level (for the autograd engine): conv2dF32Forward / BackwardData / BackwardFilter take a Runtime,
//     a shape (conv2dF32Shape(params) resolves and validates it once; raw params are accepted too) and byte
//     offsets of f32 buffers already in WASM memory. Every pointer is checked to lie inside memory.
//   - typed arrays (tests, quick use): conv2dF32 / conv2dF32Backward copy in, run, copy out.
// Backward passes take `beta`: 0 overwrites the gradient buffers, 1 accumulates into them (gradient
// accumulation), any other finite value scales the old contents first. `reference: true` runs the plain-loop
// *_ref kernels instead of the fast paths.
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe, QwasmError } from '../errors.js';
import { convDescriptor } from './descriptor.js';
import { variant, type WithRef } from './variant.js';

/** Largest number of elements of one tensor (its byte size must fit in 2 GiB and int32 flat indices). */
export const MAX_ELEMENTS = 1 << 29;

export interface Conv2dF32Params {
  /** batch, input height, width, channels */
  n: number; h: number; w: number; c: number;
  /** output channels */
  oc: number;
  /** kernel height, width */
  kh: number; kw: number;
  /** s or [sH, sW]; default 1 */
  stride?: number | readonly [number, number];
  /** p (all sides), [pH, pW] (top = bottom, left = right) or [top, left, bottom, right]; default 0 */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** d or [dH, dW]; default 1 */
  dilation?: number | readonly [number, number];
  /** channel groups (C and OC divisible by it); groups = C = OC is depthwise; default 1 */
  groups?: number;
}

/** Resolved, validated convolution geometry (what every pointer-level call takes). */
export interface Conv2dF32Shape {
  readonly n: number; readonly h: number; readonly w: number; readonly c: number; readonly oc: number;
  readonly kh: number; readonly kw: number;
  readonly strideH: number; readonly strideW: number;
  readonly padT: number; readonly padL: number; readonly padB: number; readonly padR: number;
  readonly dilationH: number; readonly dilationW: number;
  readonly groups: number;
  readonly oh: number; readonly ow: number;
  /** element counts of x, w, y, bias */
  readonly xLength: number; readonly wLength: number; readonly yLength: number; readonly bLength: number;
}

export interface ConvF32RunOptions {
  /** run the plain-loop reference kernel */
  reference?: boolean;
}
export interface ConvF32GradOptions extends ConvF32RunOptions {
  /** 0 (default) overwrites the gradient buffer(s), 1 accumulates into them, other values scale first */
  beta?: number;
}

const resolved = new WeakSet<object>();

export function pair(name: string, v: unknown, def: number, min: number): [number, number] {
  if (v === undefined) return [def, def];
  if (typeof v === 'number') { checkInt(name, v, min, 1 << 20); return [v, v]; }
  if (Array.isArray(v) && v.length === 2) {
    return [checkInt(`${name}[0]`, v[0], min, 1 << 20), checkInt(`${name}[1]`, v[1], min, 1 << 20)];
  }
  throw new TypeError(`${name} must be an integer or [h, w], got ${describe(v)}`);
}

/** Padding as [top, left, bottom, right]. */
export function padding4(name: string, v: unknown): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  if (typeof v === 'number') { checkInt(name, v, 0, 1 << 20); return [v, v, v, v]; }
  if (Array.isArray(v) && v.length === 2) {
    const [ph, pw] = [checkInt(`${name}[0]`, v[0], 0, 1 << 20), checkInt(`${name}[1]`, v[1], 0, 1 << 20)];
    return [ph, pw, ph, pw];
  }
  if (Array.isArray(v) && v.length === 4) {
    return v.map((x, i) => checkInt(`${name}[${i}]`, x, 0, 1 << 20)) as [number, number, number, number];
  }
  throw new TypeError(`${name} must be an integer, [pH, pW] or [top, left, bottom, right], got ${describe(v)}`);
}

export function checkElements(name: string, count: number): number {
  if (count > MAX_ELEMENTS) throw new RangeError(`${name} would hold ${count} elements (more than ${MAX_ELEMENTS})`);
  return count;
}

/** Validates convolution parameters and computes the output size. Throws errors naming the bad argument. */
export function conv2dF32Shape(p: Conv2dF32Params | Conv2dF32Shape): Conv2dF32Shape {
  if (resolved.has(p as object)) return p as Conv2dF32Shape;
  if (p === null || typeof p !== 'object') throw new TypeError(`conv params must be an object, got ${describe(p)}`);
  const q = p as Conv2dF32Params;
  const n = checkInt('n', q.n, 1), h = checkInt('h', q.h, 1), w = checkInt('w', q.w, 1);
  const c = checkInt('c', q.c, 1), oc = checkInt('oc', q.oc, 1);
  const kh = checkInt('kh', q.kh, 1, 1 << 16), kw = checkInt('kw', q.kw, 1, 1 << 16);
  const [strideH, strideW] = pair('stride', q.stride, 1, 1);
  const [dilationH, dilationW] = pair('dilation', q.dilation, 1, 1);
  const [padT, padL, padB, padR] = padding4('padding', q.padding);
  const groups = checkInt('groups', q.groups ?? 1, 1);
  if (c % groups !== 0) throw new RangeError(`c (${c}) must be divisible by groups (${groups})`);
  if (oc % groups !== 0) throw new RangeError(`oc (${oc}) must be divisible by groups (${groups})`);
  const effH = dilationH * (kh - 1) + 1, effW = dilationW * (kw - 1) + 1;
  if (h + padT + padB < effH) throw new RangeError(`kernel height ${kh} (dilated ${effH}) exceeds the padded input height ${h + padT + padB}`);
  if (w + padL + padR < effW) throw new RangeError(`kernel width ${kw} (dilated ${effW}) exceeds the padded input width ${w + padL + padR}`);
  const oh = Math.floor((h + padT + padB - effH) / strideH) + 1;
  const ow = Math.floor((w + padL + padR - effW) / strideW) + 1;
  const xLength = checkElements('x', n * h * w * c);
  const wLength = checkElements('w', oc * kh * kw * (c / groups));
  const yLength = checkElements('y', n * oh * ow * oc);
  const s: Conv2dF32Shape = Object.freeze({
    n, h, w, c, oc, kh, kw, strideH, strideW, padT, padL, padB, padR, dilationH, dilationW, groups, oh, ow,
    xLength, wLength, yLength, bLength: oc,
  });
  resolved.add(s);
  return s;
}

/** Checks that `ptr` is a non-null, 4-byte aligned offset with `count` f32/i32 elements inside memory. */
export function checkPtr(rt: Runtime, name: string, ptr: unknown, count: number, optional = false): number {
  if (optional && ptr === 0) return 0;
  if (typeof ptr !== 'number' || !Number.isInteger(ptr) || ptr <= 0) {
    throw new TypeError(`${name} must be a pointer (positive integer byte offset)${optional ? ' or 0' : ''}, got ${describe(ptr)}`);
  }
  if (ptr % 4 !== 0) throw new RangeError(`${name} (${ptr}) must be 4-byte aligned`);
  if (ptr + count * 4 > rt.memoryBytes()) {
    throw new RangeError(`${name} (${ptr}) + ${count} elements runs past the end of WASM memory (${rt.memoryBytes()} bytes)`);
  }
  return ptr;
}

/** checkPtr over [name, ptr, count, optional?] entries, in order (the wrappers' argument checks in one line). */
export function checkPtrs(rt: Runtime, ...bufs: [string, unknown, number, boolean?][]): void {
  for (const [name, ptr, count, optional] of bufs) checkPtr(rt, name, ptr, count, optional);
}

export function checkBeta(v: unknown): number {
  return v === undefined ? 0 : checkFinite('beta', v);
}

/** A pointer argument of a kernel call: [name for errors, byte offset, f32 elements, may be 0]. */
export type PtrArg = [string, number, number, boolean?];

/**
 * The one sequence of every descriptor-driven f32 kernel call (conv and pool, forward and backward): check the
 * pointers (errors name them), check `beta` when `grad`, write the geometry descriptor, then call the fast kernel
 * or its `_ref` twin as name(descriptor, ...pointers in the order given[, beta]).
 */
export function callWithDescriptor(rt: Runtime, name: WithRef, desc: (rt: Runtime) => number, ptrs: PtrArg[],
                                   opts: ConvF32GradOptions, grad: boolean): void {
  checkPtrs(rt, ...ptrs);
  const beta = grad ? [checkBeta(opts.beta)] : [];
  const d = desc(rt);
  (variant(rt, name, opts.reference) as (...args: number[]) => void)(d, ...ptrs.map((p) => p[1]), ...beta);
}

function convDesc(rt: Runtime, s: Conv2dF32Shape): number {
  return convDescriptor(rt, { n: s.n, h: s.h, w: s.w, c: s.c, oc: s.oc, kh: s.kh, kw: s.kw, sh: s.strideH, sw: s.strideW,
    pt: s.padT, pl: s.padL, pb: s.padB, pr: s.padR, dh: s.dilationH, dw: s.dilationW, groups: s.groups, oh: s.oh, ow: s.ow });
}

/** y = conv(x, w) + bias. bias may be 0 (none). Returns the resolved shape. */
export function conv2dF32Forward(rt: Runtime, shape: Conv2dF32Params | Conv2dF32Shape, x: number, w: number,
                                 bias: number, y: number, opts: ConvF32RunOptions = {}): Conv2dF32Shape {
  const s = conv2dF32Shape(shape);
  callWithDescriptor(rt, 'conv2d_f32_fwd', (r) => convDesc(r, s), [['x', x, s.xLength], ['w', w, s.wLength], ['bias', bias, s.bLength, true], ['y', y, s.yLength]], opts, false);
  return s;
}

/** dx = β·dx + convᵀ(dy, w) (the gradient of the forward with respect to x). */
export function conv2dF32BackwardData(rt: Runtime, shape: Conv2dF32Params | Conv2dF32Shape, dy: number, w: number,
                                      dx: number, opts: ConvF32GradOptions = {}): Conv2dF32Shape {
  const s = conv2dF32Shape(shape);
  callWithDescriptor(rt, 'conv2d_f32_bwd_data', (r) => convDesc(r, s), [['dy', dy, s.yLength], ['w', w, s.wLength], ['dx', dx, s.xLength]], opts, true);
  return s;
}

/** dw = β·dw + ∂y/∂w ⋅ dy, db = β·db + Σ dy (db may be 0: not computed). */
export function conv2dF32BackwardFilter(rt: Runtime, shape: Conv2dF32Params | Conv2dF32Shape, x: number, dy: number,
                                        dw: number, db: number, opts: ConvF32GradOptions = {}): Conv2dF32Shape {
  const s = conv2dF32Shape(shape);
  callWithDescriptor(rt, 'conv2d_f32_bwd_filter', (r) => convDesc(r, s), [['x', x, s.xLength], ['dy', dy, s.yLength], ['dw', dw, s.wLength], ['db', db, s.bLength, true]], opts, true);
  return s;
}

/** Typed-array forward: y (N×OH×OW×OC) = conv(x, w) + bias. */
export function conv2dF32(rt: Runtime, x: Float32Array, w: Float32Array, bias: Float32Array | null | undefined,
                          params: Conv2dF32Params, opts: ConvF32RunOptions = {}): Float32Array {
  const s = conv2dF32Shape(params);
  checkArray('x', x, Float32Array, s.xLength);
  checkArray('w', w, Float32Array, s.wLength);
  if (bias != null) checkArray('bias', bias, Float32Array, s.bLength);
  return rt.scoped((sc) => {
    const xp = sc.put(x), wp = sc.put(w), bp = bias != null ? sc.put(bias) : 0;
    const yp = sc.alloc(s.yLength * 4);
    conv2dF32Forward(rt, s, xp, wp, bp, yp, opts);
    return rt.f32(yp, s.yLength).slice();
  });
}

export interface Conv2dF32Grads { dx: Float32Array; dw: Float32Array; db: Float32Array }

/** Typed-array backward: gradients of the forward with respect to x, w and bias, given dy. */
export function conv2dF32Backward(rt: Runtime, x: Float32Array, w: Float32Array, dy: Float32Array,
                                  params: Conv2dF32Params, opts: ConvF32RunOptions = {}): Conv2dF32Grads {
  const s = conv2dF32Shape(params);
  checkArray('x', x, Float32Array, s.xLength);
  checkArray('w', w, Float32Array, s.wLength);
  checkArray('dy', dy, Float32Array, s.yLength);
  return rt.scoped((sc) => {
    const xp = sc.put(x), wp = sc.put(w), gp = sc.put(dy);
    const dxp = sc.alloc(s.xLength * 4), dwp = sc.alloc(s.wLength * 4), dbp = sc.alloc(s.bLength * 4);
    conv2dF32BackwardData(rt, s, gp, wp, dxp, opts);
    conv2dF32BackwardFilter(rt, s, xp, gp, dwp, dbp, opts);
    return { dx: rt.f32(dxp, s.xLength).slice(), dw: rt.f32(dwp, s.wLength).slice(), db: rt.f32(dbp, s.bLength).slice() };
  });
}
