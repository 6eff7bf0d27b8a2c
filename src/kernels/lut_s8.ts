// int8 table lookup (assembly/lut_s8.ts): y[i] = table[x[i] + 128]. lutTable builds the 256-entry table of
// an element-wise real function for given input / output quantisation (TFLite's LUT activations): entry q is
// clamp(round_half_even(f((q − inZp)·inScale) / outScale) + outZp, −128, 127) — the int8 result is the
// requantised real function at every input code, so it is exact per code.
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe } from '../errors.js';
import { checkCount, checkPtr } from './eltwise_f32.js';
import { rne } from './requant.js';


/** The 256-entry table (index x + 128) of y = f(x) from int8 codes (inScale, inZp) to int8 codes (outScale, outZp). */
export function lutTable(f: (x: number) => number, inScale: number, inZp: number, outScale: number, outZp: number): Int8Array {
  if (typeof f !== 'function') throw new TypeError(`f must be a function, got ${describe(f)}`);
  for (const [k, v] of [['inScale', inScale], ['outScale', outScale]] as const) if (!(checkFinite(k, v) > 0)) throw new RangeError(`${k} must be > 0, got ${v}`);
  checkInt('inZp', inZp, -128, 127); checkInt('outZp', outZp, -128, 127);
  const t = new Int8Array(256);
  for (let q = -128; q <= 127; q++) {
    const y = f((q - inZp) * inScale);
    if (Number.isNaN(y)) throw new RangeError(`f(${(q - inZp) * inScale}) is NaN: a table needs a real value at every input code`);
    t[q + 128] = Math.max(-128, Math.min(127, rne(y / outScale) + outZp));
  }
  return t;
}

/** y[i] = table[x[i] + 128] over n int8 codes (pointers into WASM memory; y may alias x). */
export function lutS8(rt: Runtime, x: number, table: number, y: number, n: number, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n, 1); checkPtr(rt, 'table', table, 256, 1); checkPtr(rt, 'y', y, n, 1);
  rt.exports[ref ? 'lut_s8_ref' : 'lut_s8'](x, table, y, n);
}

/** The same on typed arrays (copies in and out of WASM memory). */
export function lutS8Array(rt: Runtime, x: Int8Array, table: Int8Array, ref = false): Int8Array {
  checkArray('table', table, Int8Array, 256);
  if (!(x instanceof Int8Array)) throw new TypeError(`x must be an Int8Array, got ${describe(x)}`);
  const n = Math.max(1, x.length), px = rt.alloc(n), pt = rt.alloc(256), py = rt.alloc(n);
  try {
    rt.i8(px, x.length).set(x); rt.i8(pt, 256).set(table);
    if (x.length) lutS8(rt, px, pt, py, x.length, ref);
    return rt.i8(py, x.length).slice();
  } finally { rt.free(px); rt.free(pt); rt.free(py); }
}
