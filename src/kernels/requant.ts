// Requantisation parameters in the TFLite int8 scheme, resolved into what the kernels take:
// per-channel f32 multipliers (padded to a multiple of 8 channels for the 8-wide microkernels), the output
// zero point and the fused-activation clamp [qmin, qmax].
import { checkFinite, checkInt, checkScales } from '../errors.js';

export type Activation = 'none' | 'relu' | 'relu6';

export interface RequantParams {
  /** Real multiplier per output channel: inputScale * weightScale[c] / outputScale (number = all channels). */
  scale: number | Float32Array;
  /** Output zero point in [-128, 127]; default 0. */
  outZeroPoint?: number;
  /** Fused activation; relu6 needs outScale. Default 'none'. */
  activation?: Activation;
  /** Output scale (only used to place the ReLU6 upper bound). */
  outScale?: number;
}

export interface ResolvedRequant {
  scale: Float32Array; // length = ceil8(channels)
  zp: number;
  qmin: number;
  qmax: number;
}

export const ceil8 = (n: number): number => (n + 7) & ~7;

export function resolveRequant(p: RequantParams | undefined, channels: number, where = 'requant'): ResolvedRequant {
  if (!p || typeof p !== 'object') throw new TypeError(`${where} parameters must be an object with at least 'scale'`);
  const s = checkScales(`${where}.scale`, p.scale, channels);
  const scale = new Float32Array(ceil8(channels));
  scale.set(s);
  for (let i = channels; i < scale.length; i++) scale[i] = 1;
  const zp = checkInt(`${where}.outZeroPoint`, p.outZeroPoint ?? 0, -128, 127);
  const { qmin, qmax } = activationRange(p.activation ?? 'none', zp, p.outScale, where);
  return { scale, zp, qmin, qmax };
}

/** The int8 clamp a fused activation imposes (real 0 sits at the zero point). */
export function activationRange(act: Activation, zp: number, outScale: number | undefined, where = 'requant'): { qmin: number; qmax: number } {
  if (act === 'none') return { qmin: -128, qmax: 127 };
  if (act === 'relu') return { qmin: zp, qmax: 127 };
  if (act === 'relu6') {
    const s = checkFinite(`${where}.outScale (needed for relu6)`, outScale);
    if (!(s > 0)) throw new RangeError(`${where}.outScale must be positive, got ${s}`);
    return { qmin: zp, qmax: Math.min(127, zp + Math.round(6 / s)) };
  }
  throw new TypeError(`${where}.activation must be 'none', 'relu' or 'relu6', got ${String(act)}`);
}

/** Scalar twin of the kernels' rule, for hosts and tests: clamp(rne(f32(acc)·scale), qmin−zp, qmax−zp) + zp. */
export function requantize(acc: number, scale: number, zp: number, qmin: number, qmax: number): number {
  let f = Math.fround(Math.fround(acc) * Math.fround(scale));
  f = Math.min(Math.max(f, qmin - zp), qmax - zp);
  return rne(f) + zp;
}

/** Round half to even (the kernels' `nearest`). */
export function rne(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}
