// f32 elementwise kernels (assembly/eltwise_f32.ts) for training.
// Pointer-level functions (first argument the Runtime, then byte pointers into WASM memory, sizes and
// parameters; every argument is validated and errors name it) for autograd code that keeps tensors in WASM
// memory; the class EltwiseF32 wraps them for typed arrays (tests, small users).
// The last argument `ref` of every pointer-level function selects the plain-loop reference twin (`*_ref`).
// Broadcast layout (outer, c, inner): see assembly/eltwise_f32.ts (bias over the last dim of [M×N]:
// outer = M, c = N, inner = 1; per-channel over the first dim: outer = 1, c = C, inner = rest).
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------
// Argument checks shared by the f32 training families (eltwise / loss / optim).

/** Element count of one buffer: an integer in [lo, 2^28]. */
export function checkCount(name: string, v: unknown, lo = 1): number {
  return checkInt(name, v, lo, 1 << 28);
}

/**
 * A pointer to `count` elements of `bytesPer` bytes inside linear memory, aligned to `bytesPer`
 * (optional: 0 means "none"). Returns the pointer.
 */
export function checkPtr(rt: Runtime, name: string, ptr: unknown, count: number, bytesPer = 4, optional = false): number {
  if (typeof ptr !== 'number' || !Number.isInteger(ptr)) throw new TypeError(`${name} must be an integer pointer, got ${describe(ptr)}`);
  if (ptr === 0 && optional) return 0;
  if (ptr <= 0) throw new RangeError(`${name} must be a non-null pointer into WASM memory, got ${ptr}`);
  if (ptr % bytesPer !== 0) throw new RangeError(`${name} must be ${bytesPer}-byte aligned, got ${ptr}`);
  const end = ptr + count * bytesPer;
  if (end > rt.memoryBytes()) {
    throw new RangeError(`${name} [${ptr}, ${end}) lies outside WASM memory (${rt.memoryBytes()} bytes)`);
  }
  return ptr;
}

export function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Checks the (outer, c, inner) broadcast layout and returns its element count. */
export function checkLayout(outer: unknown, c: unknown, inner: unknown): number {
  checkCount('outer', outer); checkCount('c', c); checkCount('inner', inner);
  const total = (outer as number) * (c as number) * (inner as number);
  if (total > 1 << 28) throw new RangeError(`outer×c×inner = ${outer}×${c}×${inner} is too large for one call`);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Pointer level.

export type Activation = 'relu' | 'relu6' | 'leaky';
const ACT_KIND: Record<Activation, number> = { relu: 0, relu6: 1, leaky: 2 };
function actKind(kind: unknown): number {
  if (typeof kind !== 'string' || !(kind in ACT_KIND)) {
    throw new TypeError(`kind must be 'relu', 'relu6' or 'leaky', got ${typeof kind === 'string' ? `'${kind}'` : describe(kind)}`);
  }
  return ACT_KIND[kind as Activation];
}

function binary(rt: Runtime, fn: 'add_f32' | 'sub_f32' | 'mul_f32', a: number, b: number, y: number, n: number, ref: boolean): void {
  checkCount('n', n);
  checkPtr(rt, 'a', a, n); checkPtr(rt, 'b', b, n); checkPtr(rt, 'y', y, n);
  rt.exports[(ref ? `${fn}_ref` : fn) as typeof fn](a, b, y, n);
}

/** y = a + b (n floats; y may alias a or b). */
export function add(rt: Runtime, a: number, b: number, y: number, n: number, ref = false): void { binary(rt, 'add_f32', a, b, y, n, ref); }
/** y = a − b. */
export function sub(rt: Runtime, a: number, b: number, y: number, n: number, ref = false): void { binary(rt, 'sub_f32', a, b, y, n, ref); }
/** y = a · b. */
export function mul(rt: Runtime, a: number, b: number, y: number, n: number, ref = false): void { binary(rt, 'mul_f32', a, b, y, n, ref); }

function bcast(rt: Runtime, fn: 'add_bcast_f32' | 'mul_bcast_f32', x: number, v: number, y: number, outer: number, c: number, inner: number, ref: boolean): void {
  const total = checkLayout(outer, c, inner);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 'v', v, c); checkPtr(rt, 'y', y, total);
  rt.exports[(ref ? `${fn}_ref` : fn) as typeof fn](x, v, y, outer, c, inner);
}
/** y[o,j,i] = x[o,j,i] + v[j] (bias add; y may alias x). */
export function addBcast(rt: Runtime, x: number, v: number, y: number, outer: number, c: number, inner: number, ref = false): void {
  bcast(rt, 'add_bcast_f32', x, v, y, outer, c, inner, ref);
}
/** y[o,j,i] = x[o,j,i] · v[j]. */
export function mulBcast(rt: Runtime, x: number, v: number, y: number, outer: number, c: number, inner: number, ref = false): void {
  bcast(rt, 'mul_bcast_f32', x, v, y, outer, c, inner, ref);
}

/** out[j] (+)= Σ_o Σ_i x[o,j,i] (bias gradient; accumulate adds to out). */
export function sumBcast(rt: Runtime, x: number, out: number, outer: number, c: number, inner: number, accumulate = false, ref = false): void {
  const total = checkLayout(outer, c, inner);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 'out', out, c); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'sum_bcast_f32_ref' : 'sum_bcast_f32'](x, out, outer, c, inner, accumulate ? 1 : 0);
}

/** y += alpha · x. */
export function axpy(rt: Runtime, alpha: number, x: number, y: number, n: number, ref = false): void {
  checkFinite('alpha', alpha); checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'axpy_f32_ref' : 'axpy_f32'](alpha, x, y, n);
}

/** y = alpha · x (y may alias x: gradient scaling). */
export function scale(rt: Runtime, alpha: number, x: number, y: number, n: number, ref = false): void {
  checkFinite('alpha', alpha); checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'scale_f32_ref' : 'scale_f32'](alpha, x, y, n);
}

/** y[0..n) = value. */
export function fill(rt: Runtime, y: number, value: number, n: number, ref = false): void {
  if (typeof value !== 'number') throw new TypeError(`value must be a number, got ${describe(value)}`);
  checkCount('n', n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'fill_f32_ref' : 'fill_f32'](y, value, n);
}

/** y = x (n floats; must not overlap unless equal). */
export function copy(rt: Runtime, x: number, y: number, n: number, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'copy_f32_ref' : 'copy_f32'](x, y, n);
}

/** y = f(x): relu, relu6, or leaky relu with negative slope alpha (y may alias x). */
export function activation(rt: Runtime, kind: Activation, x: number, y: number, n: number, alpha = 0.01, ref = false): void {
  const k = actKind(kind);
  checkFinite('alpha', alpha); checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'act_f32_fwd_ref' : 'act_f32_fwd'](k, x, y, n, alpha);
}

/**
 * dx (+)= dy · f'(t), t the forward input or output (the same mask; for leaky from the output only when
 * alpha > 0). dx may alias dy.
 */
export function activationBackward(rt: Runtime, kind: Activation, t: number, dy: number, dx: number, n: number,
                                   alpha = 0.01, accumulate = false, ref = false): void {
  const k = actKind(kind);
  checkFinite('alpha', alpha); checkCount('n', n);
  checkPtr(rt, 't', t, n); checkPtr(rt, 'dy', dy, n); checkPtr(rt, 'dx', dx, n); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'act_f32_bwd_ref' : 'act_f32_bwd'](k, t, dy, dx, n, alpha, accumulate ? 1 : 0);
}

/** y = mask ? x·scale : 0 (mask u8[n]; dropout backward with scale 1/(1−p), pruning with scale 1). */
export function mulMask(rt: Runtime, x: number, mask: number, y: number, n: number, scaleBy = 1, ref = false): void {
  checkFinite('scale', scaleBy); checkCount('n', n);
  checkPtr(rt, 'x', x, n); checkPtr(rt, 'mask', mask, n, 1); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'mul_mask_f32_ref' : 'mul_mask_f32'](x, mask, y, n, scaleBy);
}

/**
 * Dropout forward: mask[i] = 1 (kept, probability 1 − p) or 0, y = mask ? x/(1 − p) : 0. The draw of
 * element i is a hash of (seed, i): same seed, same mask in every build. Backward: mulMask(dy, mask, dx, 1/(1−p)).
 */
export function dropout(rt: Runtime, x: number, y: number, mask: number, n: number, p: number, seed: number, ref = false): void {
  checkFinite('p', p);
  if (p < 0 || p > 1) throw new RangeError(`p must be in [0, 1], got ${p}`);
  checkInt('seed', seed, 0, 0xffffffff);
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n); checkPtr(rt, 'mask', mask, n, 1);
  rt.exports[ref ? 'dropout_f32_ref' : 'dropout_f32'](x, y, mask, n, p, seed | 0);
}

/** Σ x (accumulated in f64). */
export function sum(rt: Runtime, x: number, n: number, ref = false): number {
  checkCount('n', n); checkPtr(rt, 'x', x, n);
  return rt.exports[ref ? 'sum_f32_ref' : 'sum_f32'](x, n);
}
/** Σ x² (f64; √ of it is the L2 norm, for clipping by global norm). */
export function sumSquares(rt: Runtime, x: number, n: number, ref = false): number {
  checkCount('n', n); checkPtr(rt, 'x', x, n);
  return rt.exports[ref ? 'sumsq_f32_ref' : 'sumsq_f32'](x, n);
}
/** max x. */
export function max(rt: Runtime, x: number, n: number, ref = false): number {
  checkCount('n', n); checkPtr(rt, 'x', x, n);
  return rt.exports[ref ? 'max_f32_ref' : 'max_f32'](x, n);
}
/** Observer: out[0] = min x, out[1] = max x (accumulate: merged with out's values). */
export function minmax(rt: Runtime, x: number, n: number, out: number, accumulate = false, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'out', out, 2); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'minmax_f32_ref' : 'minmax_f32'](x, n, out, accumulate ? 1 : 0);
}
/** Per-channel observer: mins[j], maxs[j] over x[o,j,i]. */
export function minmaxChannel(rt: Runtime, x: number, outer: number, c: number, inner: number, mins: number, maxs: number,
                              accumulate = false, ref = false): void {
  const total = checkLayout(outer, c, inner);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 'mins', mins, c); checkPtr(rt, 'maxs', maxs, c); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'minmax_channel_f32_ref' : 'minmax_channel_f32'](x, outer, c, inner, mins, maxs, accumulate ? 1 : 0);
}
/** out[r] = first index of the maximum of row r of x[m×n] (int32[m]). */
export function argmaxRows(rt: Runtime, x: number, m: number, n: number, out: number, ref = false): void {
  checkCount('m', m); checkCount('n', n);
  if (m * n > 1 << 28) throw new RangeError(`m×n = ${m}×${n} is too large for one call`);
  checkPtr(rt, 'x', x, m * n); checkPtr(rt, 'out', out, m);
  rt.exports[ref ? 'argmax_rows_f32_ref' : 'argmax_rows_f32'](x, m, n, out);
}

/** Quantisation grid of a fake-quant op. */
export interface FakeQuantRange { qmin: number; qmax: number }

function checkRange(qmin: unknown, qmax: unknown): void {
  checkInt('qmin', qmin, -(1 << 24), 1 << 24);
  checkInt('qmax', qmax, -(1 << 24), 1 << 24);
  if ((qmin as number) > (qmax as number)) throw new RangeError(`qmin (${qmin}) must not exceed qmax (${qmax})`);
}
function checkScale(name: string, s: unknown): number {
  checkFinite(name, s);
  if (!((s as number) > 0)) throw new RangeError(`${name} must be a finite positive number, got ${s}`);
  return s as number;
}
function checkZp(zp: unknown, qmin: number, qmax: number): void {
  checkInt('zeroPoint', zp, qmin, qmax);
}

/** Per-tensor affine fake quantisation: y = (clamp(round_half_even(x/s) + zp, qmin, qmax) − zp)·s. */
export function fakeQuant(rt: Runtime, x: number, y: number, n: number, scaleV: number, zeroPoint: number, qmin: number, qmax: number, ref = false): void {
  checkScale('scale', scaleV); checkRange(qmin, qmax); checkZp(zeroPoint, qmin, qmax);
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'fake_quant_f32_fwd_ref' : 'fake_quant_f32_fwd'](x, y, n, scaleV, zeroPoint, qmin, qmax);
}
/** Straight-through estimator: dx (+)= dy where qmin ≤ round_half_even(x/s) + zp ≤ qmax, else 0. */
export function fakeQuantBackward(rt: Runtime, x: number, dy: number, dx: number, n: number, scaleV: number, zeroPoint: number,
                                  qmin: number, qmax: number, accumulate = false, ref = false): void {
  checkScale('scale', scaleV); checkRange(qmin, qmax); checkZp(zeroPoint, qmin, qmax);
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'dy', dy, n); checkPtr(rt, 'dx', dx, n); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'fake_quant_f32_bwd_ref' : 'fake_quant_f32_bwd'](x, dy, dx, n, scaleV, zeroPoint, qmin, qmax, accumulate ? 1 : 0);
}

function checkScalesPtr(rt: Runtime, scales: number, c: number): void {
  checkPtr(rt, 'scales', scales, c);
  const s = rt.f32(scales, c);
  for (let j = 0; j < c; j++) {
    if (!(s[j] > 0) || !Number.isFinite(s[j])) throw new RangeError(`scales[${j}] must be a finite positive number, got ${s[j]}`);
  }
}

/** Per-channel symmetric fake quantisation over the channel axis of (outer, c, inner), scales f32[c]. */
export function fakeQuantChannel(rt: Runtime, x: number, y: number, outer: number, c: number, inner: number, scales: number,
                                 qmin: number, qmax: number, ref = false): void {
  const total = checkLayout(outer, c, inner);
  checkRange(qmin, qmax); checkPtr(rt, 'x', x, total); checkPtr(rt, 'y', y, total); checkScalesPtr(rt, scales, c);
  rt.exports[ref ? 'fake_quant_channel_f32_fwd_ref' : 'fake_quant_channel_f32_fwd'](x, y, outer, c, inner, scales, qmin, qmax);
}
/** STE backward of fakeQuantChannel. */
export function fakeQuantChannelBackward(rt: Runtime, x: number, dy: number, dx: number, outer: number, c: number, inner: number,
                                         scales: number, qmin: number, qmax: number, accumulate = false, ref = false): void {
  const total = checkLayout(outer, c, inner);
  checkRange(qmin, qmax); checkPtr(rt, 'x', x, total); checkPtr(rt, 'dy', dy, total); checkPtr(rt, 'dx', dx, total);
  checkScalesPtr(rt, scales, c); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'fake_quant_channel_f32_bwd_ref' : 'fake_quant_channel_f32_bwd'](x, dy, dx, outer, c, inner, scales, qmin, qmax, accumulate ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------------------
// Typed-array layer: each call copies its inputs into WASM memory, runs the kernel and returns fresh arrays.

function f32Arg(name: string, v: unknown, n?: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  if (n !== undefined && v.length !== n) throw new RangeError(`${name} must have length ${n}, got ${v.length}`);
  if (v.length === 0) throw new RangeError(`${name} must not be empty`);
  return v;
}

export class EltwiseF32 {
  constructor(readonly rt: Runtime, readonly ref = false) {}

  /** The same operations on the plain-loop reference kernels. */
  get reference(): EltwiseF32 { return this.ref ? this : new EltwiseF32(this.rt, true); }

  private unary(x: Float32Array, fn: (xp: number, yp: number) => void): Float32Array {
    return this.rt.scoped((s) => {
      const xp = s.put(x), yp = s.alloc(x.length * 4);
      fn(xp, yp);
      return this.rt.f32(yp, x.length).slice();
    });
  }
  private binary(a: Float32Array, b: Float32Array, fn: (ap: number, bp: number, yp: number) => void, na = 'a', nb = 'b'): Float32Array {
    f32Arg(na, a); f32Arg(nb, b, a.length);
    return this.rt.scoped((s) => {
      const ap = s.put(a), bp = s.put(b), yp = s.alloc(a.length * 4);
      fn(ap, bp, yp);
      return this.rt.f32(yp, a.length).slice();
    });
  }

  add(a: Float32Array, b: Float32Array): Float32Array { return this.binary(a, b, (ap, bp, yp) => add(this.rt, ap, bp, yp, a.length, this.ref)); }
  sub(a: Float32Array, b: Float32Array): Float32Array { return this.binary(a, b, (ap, bp, yp) => sub(this.rt, ap, bp, yp, a.length, this.ref)); }
  mul(a: Float32Array, b: Float32Array): Float32Array { return this.binary(a, b, (ap, bp, yp) => mul(this.rt, ap, bp, yp, a.length, this.ref)); }

  /** x (outer·c·inner) + v[c] broadcast over the channel axis. */
  addBcast(x: Float32Array, v: Float32Array, outer: number, c: number, inner = 1): Float32Array {
    return this.bcast(addBcast, x, v, outer, c, inner);
  }
  mulBcast(x: Float32Array, v: Float32Array, outer: number, c: number, inner = 1): Float32Array {
    return this.bcast(mulBcast, x, v, outer, c, inner);
  }
  private bcast(fn: typeof addBcast, x: Float32Array, v: Float32Array, outer: number, c: number, inner: number): Float32Array {
    const total = checkLayout(outer, c, inner);
    f32Arg('x', x, total); f32Arg('v', v, c);
    return this.rt.scoped((s) => {
      const xp = s.put(x), vp = s.put(v), yp = s.alloc(total * 4);
      fn(this.rt, xp, vp, yp, outer, c, inner, this.ref);
      return this.rt.f32(yp, total).slice();
    });
  }
  /** Channel sums f32[c]; with `acc` (f32[c]) the sums are added to a copy of it. */
  sumBcast(x: Float32Array, outer: number, c: number, inner = 1, acc?: Float32Array): Float32Array {
    const total = checkLayout(outer, c, inner);
    f32Arg('x', x, total);
    if (acc !== undefined) f32Arg('acc', acc, c);
    return this.rt.scoped((s) => {
      const xp = s.put(x), op = acc ? s.put(acc) : s.alloc(c * 4);
      sumBcast(this.rt, xp, op, outer, c, inner, acc !== undefined, this.ref);
      return this.rt.f32(op, c).slice();
    });
  }
  /** y + alpha·x (new array). */
  axpy(alpha: number, x: Float32Array, y: Float32Array): Float32Array {
    f32Arg('x', x); f32Arg('y', y, x.length);
    return this.rt.scoped((s) => {
      const xp = s.put(x), yp = s.put(y);
      axpy(this.rt, alpha, xp, yp, x.length, this.ref);
      return this.rt.f32(yp, x.length).slice();
    });
  }
  scale(alpha: number, x: Float32Array): Float32Array {
    f32Arg('x', x);
    return this.unary(x, (xp, yp) => scale(this.rt, alpha, xp, yp, x.length, this.ref));
  }
  fill(n: number, value: number): Float32Array {
    checkCount('n', n);
    return this.rt.scoped((s) => { const yp = s.alloc(n * 4); fill(this.rt, yp, value, n, this.ref); return this.rt.f32(yp, n).slice(); });
  }
  copy(x: Float32Array): Float32Array {
    f32Arg('x', x);
    return this.unary(x, (xp, yp) => copy(this.rt, xp, yp, x.length, this.ref));
  }
  activation(kind: Activation, x: Float32Array, alpha = 0.01): Float32Array {
    f32Arg('x', x);
    return this.unary(x, (xp, yp) => activation(this.rt, kind, xp, yp, x.length, alpha, this.ref));
  }
  /** dy · f'(t); with `acc` the result is added to a copy of acc. */
  activationBackward(kind: Activation, t: Float32Array, dy: Float32Array, alpha = 0.01, acc?: Float32Array): Float32Array {
    f32Arg('t', t); f32Arg('dy', dy, t.length);
    if (acc !== undefined) f32Arg('acc', acc, t.length);
    return this.rt.scoped((s) => {
      const tp = s.put(t), dyp = s.put(dy), dxp = acc ? s.put(acc) : s.alloc(t.length * 4);
      activationBackward(this.rt, kind, tp, dyp, dxp, t.length, alpha, acc !== undefined, this.ref);
      return this.rt.f32(dxp, t.length).slice();
    });
  }
  mulMask(x: Float32Array, mask: Uint8Array, scaleBy = 1): Float32Array {
    f32Arg('x', x); checkArray('mask', mask, Uint8Array, x.length);
    return this.rt.scoped((s) => {
      const xp = s.put(x), mp = s.put(mask), yp = s.alloc(x.length * 4);
      mulMask(this.rt, xp, mp, yp, x.length, scaleBy, this.ref);
      return this.rt.f32(yp, x.length).slice();
    });
  }
  dropout(x: Float32Array, p: number, seed: number): { y: Float32Array; mask: Uint8Array } {
    f32Arg('x', x);
    const n = x.length;
    return this.rt.scoped((s) => {
      const xp = s.put(x), yp = s.alloc(n * 4), mp = s.alloc(n);
      dropout(this.rt, xp, yp, mp, n, p, seed, this.ref);
      return { y: this.rt.f32(yp, n).slice(), mask: this.rt.u8(mp, n).slice() };
    });
  }
  private reduce(x: Float32Array, fn: (xp: number) => number): number {
    f32Arg('x', x);
    return this.rt.scoped((s) => fn(s.put(x)));
  }
  sum(x: Float32Array): number { return this.reduce(x, (xp) => sum(this.rt, xp, x.length, this.ref)); }
  sumSquares(x: Float32Array): number { return this.reduce(x, (xp) => sumSquares(this.rt, xp, x.length, this.ref)); }
  l2Norm(x: Float32Array): number { return Math.sqrt(this.sumSquares(x)); }
  max(x: Float32Array): number { return this.reduce(x, (xp) => max(this.rt, xp, x.length, this.ref)); }
  /** [min, max] of x (merged with `prev` when given). */
  minmax(x: Float32Array, prev?: [number, number]): [number, number] {
    f32Arg('x', x);
    return this.rt.scoped((s) => {
      const xp = s.put(x), op = s.alloc(8);
      if (prev) this.rt.f32(op, 2).set(prev);
      minmax(this.rt, xp, x.length, op, prev !== undefined, this.ref);
      const o = this.rt.f32(op, 2);
      return [o[0], o[1]];
    });
  }
  minmaxChannel(x: Float32Array, outer: number, c: number, inner = 1, prev?: { min: Float32Array; max: Float32Array }): { min: Float32Array; max: Float32Array } {
    const total = checkLayout(outer, c, inner);
    f32Arg('x', x, total);
    if (prev) { f32Arg('prev.min', prev.min, c); f32Arg('prev.max', prev.max, c); }
    return this.rt.scoped((s) => {
      const xp = s.put(x), lo = prev ? s.put(prev.min) : s.alloc(c * 4), hi = prev ? s.put(prev.max) : s.alloc(c * 4);
      minmaxChannel(this.rt, xp, outer, c, inner, lo, hi, prev !== undefined, this.ref);
      return { min: this.rt.f32(lo, c).slice(), max: this.rt.f32(hi, c).slice() };
    });
  }
  argmaxRows(x: Float32Array, m: number, n: number): Int32Array {
    checkCount('m', m); checkCount('n', n); f32Arg('x', x, m * n);
    return this.rt.scoped((s) => {
      const xp = s.put(x), op = s.alloc(m * 4);
      argmaxRows(this.rt, xp, m, n, op, this.ref);
      return this.rt.i32(op, m).slice();
    });
  }
  fakeQuant(x: Float32Array, scaleV: number, zeroPoint: number, qmin: number, qmax: number): Float32Array {
    f32Arg('x', x);
    return this.unary(x, (xp, yp) => fakeQuant(this.rt, xp, yp, x.length, scaleV, zeroPoint, qmin, qmax, this.ref));
  }
  fakeQuantBackward(x: Float32Array, dy: Float32Array, scaleV: number, zeroPoint: number, qmin: number, qmax: number): Float32Array {
    return this.binary(x, dy, (xp, dyp, dxp) => fakeQuantBackward(this.rt, xp, dyp, dxp, x.length, scaleV, zeroPoint, qmin, qmax, false, this.ref), 'x', 'dy');
  }
  fakeQuantChannel(x: Float32Array, outer: number, c: number, inner: number, scales: Float32Array, qmin: number, qmax: number): Float32Array {
    const total = checkLayout(outer, c, inner);
    f32Arg('x', x, total); f32Arg('scales', scales, c);
    return this.unary(x, (xp, yp) => this.rt.scoped((s) => fakeQuantChannel(this.rt, xp, yp, outer, c, inner, s.put(scales), qmin, qmax, this.ref)));
  }
  fakeQuantChannelBackward(x: Float32Array, dy: Float32Array, outer: number, c: number, inner: number, scales: Float32Array,
                           qmin: number, qmax: number): Float32Array {
    const total = checkLayout(outer, c, inner);
    f32Arg('x', x, total); f32Arg('dy', dy, total); f32Arg('scales', scales, c);
    return this.binary(x, dy, (xp, dyp, dxp) => this.rt.scoped((s) =>
      fakeQuantChannelBackward(this.rt, xp, dyp, dxp, outer, c, inner, s.put(scales), qmin, qmax, false, this.ref)), 'x', 'dy');
  }
}
