// Requantising int8 elementwise add (assembly/add_s8.ts) for residual connections, TFLite int8 ADD semantics
// with an exact f32 rule (bit-identical in every build):
//   ma = f32(aScale / outScale), mb = f32(bScale / outScale)
//   y  = clamp(rne(f32(f32(a − aZeroPoint) · ma) + f32(f32(b − bZeroPoint) · mb)), qmin − zo, qmax − zo) + zo
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe } from '../errors.js';
import { activationRange, type Activation } from './requant.js';

export interface AddS8Options {
  /** Scale of input a (> 0, required). */
  aScale: number;
  /** Zero point of input a in [-128, 127]; default 0. */
  aZeroPoint?: number;
  /** Scale of input b (> 0, required). */
  bScale: number;
  /** Zero point of input b in [-128, 127]; default 0. */
  bZeroPoint?: number;
  /** Output scale (> 0, required). */
  outScale: number;
  /** Output zero point in [-128, 127]; default 0. */
  outZeroPoint?: number;
  /** Fused activation clamp: 'none' (default), 'relu', 'relu6'. */
  activation?: Activation;
}

function positive(name: string, v: unknown): number {
  const x = checkFinite(name, v);
  if (!(x > 0)) throw new RangeError(`${name} must be positive, got ${x}`);
  return x;
}

function ratio(name: string, num: number, den: number): number {
  const r = Math.fround(num / den);
  if (!(r > 0) || !Number.isFinite(r)) throw new RangeError(`${name} = ${num / den} is not a finite positive f32`);
  return r;
}

function add(rt: Runtime, ref: boolean, a: Int8Array, b: Int8Array, opts: AddS8Options): Int8Array {
  if (!(a instanceof Int8Array)) throw new TypeError(`a must be a Int8Array, got ${describe(a)}`);
  checkArray('b', b, Int8Array, a.length);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object with aScale, bScale, outScale, got ${describe(opts)}`);
  const sa = positive('aScale', opts.aScale), sb = positive('bScale', opts.bScale), so = positive('outScale', opts.outScale);
  const za = checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
  const zb = checkInt('bZeroPoint', opts.bZeroPoint ?? 0, -128, 127);
  const zo = checkInt('outZeroPoint', opts.outZeroPoint ?? 0, -128, 127);
  const ma = ratio('aScale / outScale', sa, so), mb = ratio('bScale / outScale', sb, so);
  const { qmin, qmax } = activationRange(opts.activation ?? 'none', zo, so, 'opts');
  const n = a.length;
  if (n === 0) return new Int8Array(0);
  return rt.scoped((s) => {
    const ap = s.put(a), bp = s.put(b), yp = s.alloc(n);
    (ref ? rt.exports.add_s8_ref : rt.exports.add_s8)(n, ap, za, ma, bp, zb, mb, yp, zo, qmin, qmax);
    return rt.i8(yp, n).slice();
  });
}

/** y = requant(a + b) elementwise (a, b, y same length); see the file header for the exact rule. */
export const addS8 = (rt: Runtime, a: Int8Array, b: Int8Array, opts: AddS8Options) => add(rt, false, a, b, opts);
/** Plain-loop reference twin of addS8. */
export const addS8Reference = (rt: Runtime, a: Int8Array, b: Int8Array, opts: AddS8Options) => add(rt, true, a, b, opts);
