// f32 pooling over NHWC tensors for training (assembly/pool_f32.ts): max pool (with int32 argmax indices for
// the backward), average pool (count_include_pad = false: windows clipped by padding divide by the number of
// real elements they cover) and global average pool, each with its backward.
// Pointer level (autograd): *Forward / *Backward take a Runtime, a shape and byte offsets of buffers in WASM
// memory. Typed arrays (tests): maxPool2dF32, maxPool2dF32Grad, avgPool2dF32, avgPool2dF32Grad,
// globalAvgPoolF32, globalAvgPoolF32Grad. Backward `beta`: 0 overwrites dx, 1 accumulates, else scales first.
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, describe } from '../errors.js';
import { callWithDescriptor, checkBeta, checkElements, checkPtrs, pair, padding4, type ConvF32GradOptions, type ConvF32RunOptions } from './conv_f32.js';
import { descriptor } from './descriptor.js';
import { variant } from './variant.js';

export interface Pool2dF32Params {
  n: number; h: number; w: number; c: number;
  /** window height, width */
  kh: number; kw: number;
  /** s or [sH, sW]; default: the window size */
  stride?: number | readonly [number, number];
  /** p, [pH, pW] or [top, left, bottom, right]; each side < the window size; default 0 */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
}

export interface Pool2dF32Shape {
  readonly n: number; readonly h: number; readonly w: number; readonly c: number;
  readonly kh: number; readonly kw: number; readonly strideH: number; readonly strideW: number;
  readonly padT: number; readonly padL: number; readonly padB: number; readonly padR: number;
  readonly oh: number; readonly ow: number;
  readonly xLength: number; readonly yLength: number;
}

export interface GlobalPoolF32Shape { n: number; h: number; w: number; c: number }

const resolved = new WeakSet<object>();

/** Validates pooling parameters and computes the output size (floor mode). */
export function pool2dF32Shape(p: Pool2dF32Params | Pool2dF32Shape): Pool2dF32Shape {
  if (resolved.has(p as object)) return p as Pool2dF32Shape;
  if (p === null || typeof p !== 'object') throw new TypeError(`pool params must be an object, got ${describe(p)}`);
  const q = p as Pool2dF32Params;
  const n = checkInt('n', q.n, 1), h = checkInt('h', q.h, 1), w = checkInt('w', q.w, 1), c = checkInt('c', q.c, 1);
  const kh = checkInt('kh', q.kh, 1, 1 << 16), kw = checkInt('kw', q.kw, 1, 1 << 16);
  const [strideH, strideW] = q.stride === undefined ? [kh, kw] : pair('stride', q.stride, 1, 1);
  const [padT, padL, padB, padR] = padding4('padding', q.padding);
  if (padT >= kh || padB >= kh) throw new RangeError(`padding top/bottom (${padT}, ${padB}) must be smaller than kh (${kh})`);
  if (padL >= kw || padR >= kw) throw new RangeError(`padding left/right (${padL}, ${padR}) must be smaller than kw (${kw})`);
  if (h + padT + padB < kh) throw new RangeError(`kh (${kh}) exceeds the padded input height ${h + padT + padB}`);
  if (w + padL + padR < kw) throw new RangeError(`kw (${kw}) exceeds the padded input width ${w + padL + padR}`);
  const oh = Math.floor((h + padT + padB - kh) / strideH) + 1;
  const ow = Math.floor((w + padL + padR - kw) / strideW) + 1;
  const s: Pool2dF32Shape = Object.freeze({
    n, h, w, c, kh, kw, strideH, strideW, padT, padL, padB, padR, oh, ow,
    xLength: checkElements('x', n * h * w * c), yLength: checkElements('y', n * oh * ow * c),
  });
  resolved.add(s);
  return s;
}

function poolDesc(rt: Runtime, s: Pool2dF32Shape): number {
  return descriptor(rt, [s.n, s.h, s.w, s.c, s.kh, s.kw, s.strideH, s.strideW, s.padT, s.padL, s.padB, s.padR, s.oh, s.ow]);
}

export function globalPoolF32Shape(p: GlobalPoolF32Shape): GlobalPoolF32Shape & { xLength: number; yLength: number } {
  if (p === null || typeof p !== 'object') throw new TypeError(`pool shape must be an object, got ${describe(p)}`);
  const n = checkInt('n', p.n, 1), h = checkInt('h', p.h, 1), w = checkInt('w', p.w, 1), c = checkInt('c', p.c, 1);
  return { n, h, w, c, xLength: checkElements('x', n * h * w * c), yLength: n * c };
}

/** y = max pool(x); idx (int32, may be 0) receives the flat index into x of each output's winner. */
export function maxPool2dF32Forward(rt: Runtime, shape: Pool2dF32Params | Pool2dF32Shape, x: number, y: number,
                                    idx: number, opts: ConvF32RunOptions = {}): Pool2dF32Shape {
  const s = pool2dF32Shape(shape);
  callWithDescriptor(rt, 'maxpool2d_f32_fwd', (r) => poolDesc(r, s), [['x', x, s.xLength], ['y', y, s.yLength], ['idx', idx, s.yLength, true]], opts, false);
  return s;
}

/**
 * dx = β·dx, then dx[idx[o]] += dy[o]. idx must be what maxPool2dF32Forward wrote for this shape (its entries
 * are not re-checked here; the typed-array maxPool2dF32Grad checks them).
 */
export function maxPool2dF32Backward(rt: Runtime, shape: Pool2dF32Params | Pool2dF32Shape, dy: number, idx: number,
                                     dx: number, opts: ConvF32GradOptions = {}): Pool2dF32Shape {
  const s = pool2dF32Shape(shape);
  checkPtrs(rt, ['dy', dy, s.yLength], ['idx', idx, s.yLength], ['dx', dx, s.xLength]);
  const beta = checkBeta(opts.beta);
  variant(rt, 'maxpool2d_f32_bwd', opts.reference)(s.yLength, dy, idx, s.xLength, dx, beta);
  return s;
}

/** y = average pool(x), count_include_pad = false. */
export function avgPool2dF32Forward(rt: Runtime, shape: Pool2dF32Params | Pool2dF32Shape, x: number, y: number,
                                    opts: ConvF32RunOptions = {}): Pool2dF32Shape {
  const s = pool2dF32Shape(shape);
  callWithDescriptor(rt, 'avgpool2d_f32_fwd', (r) => poolDesc(r, s), [['x', x, s.xLength], ['y', y, s.yLength]], opts, false);
  return s;
}

export function avgPool2dF32Backward(rt: Runtime, shape: Pool2dF32Params | Pool2dF32Shape, dy: number, dx: number,
                                     opts: ConvF32GradOptions = {}): Pool2dF32Shape {
  const s = pool2dF32Shape(shape);
  callWithDescriptor(rt, 'avgpool2d_f32_bwd', (r) => poolDesc(r, s), [['dy', dy, s.yLength], ['dx', dx, s.xLength]], opts, true);
  return s;
}

/** y[N][C] = mean of x[N][H][W][C] over H, W. */
export function globalAvgPoolF32Forward(rt: Runtime, shape: GlobalPoolF32Shape, x: number, y: number,
                                        opts: ConvF32RunOptions = {}): void {
  const s = globalPoolF32Shape(shape);
  checkPtrs(rt, ['x', x, s.xLength], ['y', y, s.yLength]);
  variant(rt, 'global_avgpool_f32_fwd', opts.reference)(s.n, s.h * s.w, s.c, x, y);
}

export function globalAvgPoolF32Backward(rt: Runtime, shape: GlobalPoolF32Shape, dy: number, dx: number,
                                         opts: ConvF32GradOptions = {}): void {
  const s = globalPoolF32Shape(shape);
  checkPtrs(rt, ['dy', dy, s.yLength], ['dx', dx, s.xLength]);
  const beta = checkBeta(opts.beta);
  variant(rt, 'global_avgpool_f32_bwd', opts.reference)(s.n, s.h * s.w, s.c, dy, dx, beta);
}

// ----- typed arrays -----

/**
 * A one-input pool kernel on typed arrays: forward ('x': x [xLength] in, y [yLength] out) or backward ('dy':
 * dy [yLength] in, dx [xLength] out) through `run` at pointer level; temporaries freed.
 */
function throughMemory<S extends { xLength: number; yLength: number }>(
  rt: Runtime, s: S, name: 'x' | 'dy', input: Float32Array, opts: ConvF32RunOptions,
  run: (rt: Runtime, s: S, inPtr: number, outPtr: number, opts: ConvF32RunOptions) => unknown): Float32Array {
  const [inLength, outLength] = name === 'x' ? [s.xLength, s.yLength] : [s.yLength, s.xLength];
  checkArray(name, input, Float32Array, inLength);
  return rt.scoped((sc) => {
    const ip = sc.put(input), op = sc.alloc(outLength * 4);
    run(rt, s, ip, op, opts);
    return rt.f32(op, outLength).slice();
  });
}

export function maxPool2dF32(rt: Runtime, x: Float32Array, params: Pool2dF32Params,
                             opts: ConvF32RunOptions = {}): { y: Float32Array; idx: Int32Array } {
  const s = pool2dF32Shape(params);
  checkArray('x', x, Float32Array, s.xLength);
  return rt.scoped((sc) => {
    const xp = sc.put(x), yp = sc.alloc(s.yLength * 4), ip = sc.alloc(s.yLength * 4);
    maxPool2dF32Forward(rt, s, xp, yp, ip, opts);
    return { y: rt.f32(yp, s.yLength).slice(), idx: rt.i32(ip, s.yLength).slice() };
  });
}

export function maxPool2dF32Grad(rt: Runtime, dy: Float32Array, idx: Int32Array, params: Pool2dF32Params,
                                 opts: ConvF32RunOptions = {}): Float32Array {
  const s = pool2dF32Shape(params);
  checkArray('dy', dy, Float32Array, s.yLength);
  checkArray('idx', idx, Int32Array, s.yLength);
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] < s.xLength)) throw new RangeError(`idx[${i}] = ${idx[i]} is outside x (${s.xLength} elements)`);
  }
  return rt.scoped((sc) => {
    const gp = sc.put(dy), ip = sc.put(idx), dxp = sc.alloc(s.xLength * 4);
    maxPool2dF32Backward(rt, s, gp, ip, dxp, opts);
    return rt.f32(dxp, s.xLength).slice();
  });
}

export function avgPool2dF32(rt: Runtime, x: Float32Array, params: Pool2dF32Params, opts: ConvF32RunOptions = {}): Float32Array {
  return throughMemory(rt, pool2dF32Shape(params), 'x', x, opts, avgPool2dF32Forward);
}

export function avgPool2dF32Grad(rt: Runtime, dy: Float32Array, params: Pool2dF32Params, opts: ConvF32RunOptions = {}): Float32Array {
  return throughMemory(rt, pool2dF32Shape(params), 'dy', dy, opts, avgPool2dF32Backward);
}

export function globalAvgPoolF32(rt: Runtime, x: Float32Array, shape: GlobalPoolF32Shape, opts: ConvF32RunOptions = {}): Float32Array {
  return throughMemory(rt, globalPoolF32Shape(shape), 'x', x, opts, globalAvgPoolF32Forward);
}

export function globalAvgPoolF32Grad(rt: Runtime, dy: Float32Array, shape: GlobalPoolF32Shape, opts: ConvF32RunOptions = {}): Float32Array {
  return throughMemory(rt, globalPoolF32Shape(shape), 'dy', dy, opts, globalAvgPoolF32Backward);
}
