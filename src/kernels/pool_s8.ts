// int8 pooling (assembly/pool_s8.ts), NHWC, TFLite semantics: padded pixels are ignored (not counted).
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe } from '../errors.js';
import { activationRange, type Activation } from './requant.js';
import { checkPair, checkShape4, resolveGeometry, type Geometry, type Padding, type Pair, type Shape4, type Tensor4S8 } from './conv_s8.js';

export interface MaxPool2dS8Options {
  /** Window size (kh, kw) ≥ 1 (required). */
  kernel: Pair;
  /** Stride (sh, sw) ≥ 1; default = kernel. */
  stride?: Pair;
  /** Padding (ignored pixels); each pad must be < the kernel size on its axis. Default 0. */
  padding?: Padding;
  /** Fused activation clamp; default 'none'. relu needs zeroPoint, relu6 also scale. */
  activation?: Activation;
  /** Zero point of input and output (max pool keeps the quantisation); only used by relu / relu6. Default 0. */
  zeroPoint?: number;
  /** Scale of input and output; only used to place the relu6 bound. */
  scale?: number;
}

export interface AvgQuantOptions {
  /** Input zero point in [-128, 127]; default 0. */
  inZeroPoint?: number;
  /** Output zero point in [-128, 127]; default inZeroPoint. */
  outZeroPoint?: number;
  /** Input scale; when given, outScale is required and the output is requantised by f32(inScale / outScale).
   *  Omitted: ratio 1 (input and output share their scale). */
  inScale?: number;
  /** Output scale (also places the relu6 bound). */
  outScale?: number;
  /** Fused activation clamp; default 'none'. relu6 needs outScale. */
  activation?: Activation;
}

export interface AvgPool2dS8Options extends AvgQuantOptions {
  /** Window size (kh, kw) ≥ 1 (required). */
  kernel: Pair;
  /** Stride (sh, sw) ≥ 1; default = kernel. */
  stride?: Pair;
  /** Padding (ignored, not counted in the average); each pad must be < the kernel size. Default 0. */
  padding?: Padding;
}

interface PoolSetup { s: Shape4; kh: number; kw: number; g: Geometry }

function setup(input: unknown, inShape: unknown, opts: { kernel: Pair; stride?: Pair; padding?: Padding } | undefined): PoolSetup {
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object with at least 'kernel', got ${describe(opts)}`);
  const s = checkShape4('inShape', inShape, ['n', 'h', 'w', 'c']);
  checkArray('input', input, Int8Array, s[0] * s[1] * s[2] * s[3]);
  if (opts.kernel === undefined) throw new TypeError('opts.kernel is required');
  const [kh, kw] = checkPair('kernel', opts.kernel, 1, 1, 1 << 16);
  const g = resolveGeometry(s[1], s[2], kh, kw, opts.stride ?? [kh, kw], opts.padding, undefined, [kh - 1, kw - 1]);
  return { s, kh, kw, g };
}

interface AvgQuant { zpIn: number; zpOut: number; ratio: number; qmin: number; qmax: number }

function avgQuant(o: AvgQuantOptions): AvgQuant {
  const zpIn = checkInt('inZeroPoint', o.inZeroPoint ?? 0, -128, 127);
  const zpOut = checkInt('outZeroPoint', o.outZeroPoint ?? zpIn, -128, 127);
  let ratio = 1;
  if (o.inScale !== undefined) {
    const si = checkFinite('inScale', o.inScale), so = checkFinite('outScale', o.outScale);
    if (!(si > 0)) throw new RangeError(`inScale must be positive, got ${si}`);
    if (!(so > 0)) throw new RangeError(`outScale must be positive, got ${so}`);
    ratio = Math.fround(si / so);
    if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`inScale / outScale = ${si / so} is not a finite positive f32`);
  }
  const { qmin, qmax } = activationRange(o.activation ?? 'none', zpOut, o.outScale, 'opts');
  return { zpIn, zpOut, ratio, qmin, qmax };
}

function maxPool(rt: Runtime, ref: boolean, input: Int8Array, inShape: Shape4, opts: MaxPool2dS8Options): Tensor4S8 {
  const { s, kh, kw, g } = setup(input, inShape, opts);
  const zp = checkInt('zeroPoint', opts.zeroPoint ?? 0, -128, 127);
  const { qmin, qmax } = activationRange(opts.activation ?? 'none', zp, opts.scale, 'opts');
  const shape: Shape4 = [s[0], g.oh, g.ow, s[3]];
  const len = shape[0] * shape[1] * shape[2] * shape[3];
  return rt.scoped((sc) => {
    const ip = sc.put(input), op = sc.alloc(len);
    const f = ref ? rt.exports.maxpool2d_s8_ref : rt.exports.maxpool2d_s8;
    f(s[0], s[1], s[2], s[3], ip, kh, kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, op, qmin, qmax);
    return { data: rt.i8(op, len).slice(), shape };
  });
}

function avgPool(rt: Runtime, ref: boolean, input: Int8Array, inShape: Shape4, opts: AvgPool2dS8Options): Tensor4S8 {
  const { s, kh, kw, g } = setup(input, inShape, opts);
  const q = avgQuant(opts);
  const shape: Shape4 = [s[0], g.oh, g.ow, s[3]];
  const len = shape[0] * shape[1] * shape[2] * shape[3];
  return rt.scoped((sc) => {
    const ip = sc.put(input), op = sc.alloc(len);
    const f = ref ? rt.exports.avgpool2d_s8_ref : rt.exports.avgpool2d_s8;
    f(s[0], s[1], s[2], s[3], ip, q.zpIn, kh, kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, op, q.ratio, q.zpOut, q.qmin, q.qmax);
    return { data: rt.i8(op, len).slice(), shape };
  });
}

function globalAvg(rt: Runtime, ref: boolean, input: Int8Array, inShape: Shape4, opts: AvgQuantOptions = {}): Tensor4S8 {
  const s = checkShape4('inShape', inShape, ['n', 'h', 'w', 'c']);
  checkArray('input', input, Int8Array, s[0] * s[1] * s[2] * s[3]);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const q = avgQuant(opts);
  const shape: Shape4 = [s[0], 1, 1, s[3]];
  const len = s[0] * s[3];
  return rt.scoped((sc) => {
    const ip = sc.put(input), op = sc.alloc(len);
    const f = ref ? rt.exports.global_avgpool_s8_ref : rt.exports.global_avgpool_s8;
    f(s[0], s[1], s[2], s[3], ip, q.zpIn, op, q.ratio, q.zpOut, q.qmin, q.qmax);
    return { data: rt.i8(op, len).slice(), shape };
  });
}

/** int8 max pool: y = clamp(max over the window's valid pixels, activation range). */
export const maxPool2dS8 = (rt: Runtime, input: Int8Array, inShape: Shape4, opts: MaxPool2dS8Options) => maxPool(rt, false, input, inShape, opts);
export const maxPool2dS8Reference = (rt: Runtime, input: Int8Array, inShape: Shape4, opts: MaxPool2dS8Options) => maxPool(rt, true, input, inShape, opts);
/**
 * int8 average pool over the valid (non-padded) pixels: acc = Σ(x − inZeroPoint), then
 * y = clamp(rne((f32(acc) / f32(count)) · f32(inScale / outScale)), activation range) + outZeroPoint.
 */
export const avgPool2dS8 = (rt: Runtime, input: Int8Array, inShape: Shape4, opts: AvgPool2dS8Options) => avgPool(rt, false, input, inShape, opts);
export const avgPool2dS8Reference = (rt: Runtime, input: Int8Array, inShape: Shape4, opts: AvgPool2dS8Options) => avgPool(rt, true, input, inShape, opts);
/** int8 global average pool: [n, h, w, c] → [n, 1, 1, c], same rule as avgPool2dS8. */
export const globalAvgPoolS8 = (rt: Runtime, input: Int8Array, inShape: Shape4, opts?: AvgQuantOptions) => globalAvg(rt, false, input, inShape, opts);
export const globalAvgPoolS8Reference = (rt: Runtime, input: Int8Array, inShape: Shape4, opts?: AvgQuantOptions) => globalAvg(rt, true, input, inShape, opts);
