// f32 mobile-net activations (assembly/act_f32.ts): sigmoid, hard sigmoid, SiLU, tanh, clip (hard swish: hardswish_f32.ts) — forward and
// backward at pointer level (Runtime, byte pointers into WASM memory, sizes; every argument checked, errors
// name it). Backward `accumulate` adds dy·f' to dx instead of overwriting it. `ref` selects the plain-loop
// twin of the hard kernels (sigmoid, SiLU and tanh have one path in every build).
import type { Runtime } from '../runtime.js';
import { checkFinite } from '../errors.js';
import { checkBool, checkCount, checkPtr } from './eltwise_f32.js';
import { variant } from './variant.js';

/** Hard sigmoid parameters: y = max(0, min(1, alpha·x + beta)); ONNX's defaults are 0.2 / 0.5, PyTorch's 1/6 / 0.5. */
export interface HardSigmoidParams { alpha: number; beta: number }

function unary(rt: Runtime, x: number, y: number, n: number): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
}
function backward(rt: Runtime, t: number, tName: string, dy: number, dx: number, n: number, accumulate: boolean): number {
  checkCount('n', n); checkPtr(rt, tName, t, n); checkPtr(rt, 'dy', dy, n); checkPtr(rt, 'dx', dx, n); checkBool('accumulate', accumulate);
  return accumulate ? 1 : 0;
}
/** The kernels without parameters (one path in every build); backward reads t, the forward input or output. */
type NoParam = 'sigmoid_f32' | 'silu_f32' | 'tanh_f32';
function forward0(rt: Runtime, k: NoParam, x: number, y: number, n: number): void {
  unary(rt, x, y, n);
  rt.exports[`${k}_fwd`](x, y, n);
}
function backward0(rt: Runtime, k: NoParam, t: number, tName: string, dy: number, dx: number, n: number, accumulate: boolean): void {
  const acc = backward(rt, t, tName, dy, dx, n, accumulate);
  rt.exports[`${k}_bwd`](t, dy, dx, n, acc);
}
/** The kernels with two scalar parameters (a, b) and a plain-loop twin; forward and backward share one argument order. */
type TwoParam = 'hardsigmoid_f32' | 'clip_f32';
function forward2(rt: Runtime, k: TwoParam, x: number, y: number, n: number, a: number, b: number, ref: boolean): void {
  unary(rt, x, y, n);
  variant(rt, `${k}_fwd`, ref)(x, y, n, a, b);
}
function backward2(rt: Runtime, k: TwoParam, x: number, dy: number, dx: number, n: number, a: number, b: number, accumulate: boolean, ref: boolean): void {
  const acc = backward(rt, x, 'x', dy, dx, n, accumulate);
  variant(rt, `${k}_bwd`, ref)(x, dy, dx, n, a, b, acc);
}
function hsParams(p: HardSigmoidParams): void {
  checkFinite('alpha', p.alpha); checkFinite('beta', p.beta);
}

/** y = 1 / (1 + e^−x). */
export function sigmoidForward(rt: Runtime, x: number, y: number, n: number): void {
  forward0(rt, 'sigmoid_f32', x, y, n);
}
/** dx (+)= dy · y·(1 − y), y the forward output. */
export function sigmoidBackward(rt: Runtime, y: number, dy: number, dx: number, n: number, accumulate = false): void {
  backward0(rt, 'sigmoid_f32', y, 'y', dy, dx, n, accumulate);
}

/** y = tanh(x). */
export function tanhForward(rt: Runtime, x: number, y: number, n: number): void {
  forward0(rt, 'tanh_f32', x, y, n);
}
/** dx (+)= dy · (1 − y²), y the forward output. */
export function tanhBackward(rt: Runtime, y: number, dy: number, dx: number, n: number, accumulate = false): void {
  backward0(rt, 'tanh_f32', y, 'y', dy, dx, n, accumulate);
}

/** y = x · sigmoid(x). */
export function siluForward(rt: Runtime, x: number, y: number, n: number): void {
  forward0(rt, 'silu_f32', x, y, n);
}
/** dx (+)= dy · s·(1 + x·(1 − s)), s = sigmoid(x), x the forward input. */
export function siluBackward(rt: Runtime, x: number, dy: number, dx: number, n: number, accumulate = false): void {
  backward0(rt, 'silu_f32', x, 'x', dy, dx, n, accumulate);
}

/** y = max(0, min(1, alpha·x + beta)). */
export function hardSigmoidForward(rt: Runtime, p: HardSigmoidParams, x: number, y: number, n: number, ref = false): void {
  hsParams(p); forward2(rt, 'hardsigmoid_f32', x, y, n, p.alpha, p.beta, ref);
}
/** dx (+)= dy·alpha where 0 < alpha·x + beta < 1. */
export function hardSigmoidBackward(rt: Runtime, p: HardSigmoidParams, x: number, dy: number, dx: number, n: number, accumulate = false, ref = false): void {
  hsParams(p); backward2(rt, 'hardsigmoid_f32', x, dy, dx, n, p.alpha, p.beta, accumulate, ref);
}

/** Clip bounds (±Infinity for none); lo ≤ hi. */
export interface ClipParams { lo: number; hi: number }
function clipParams(p: ClipParams): void {
  for (const k of ['lo', 'hi'] as const) if (typeof p[k] !== 'number' || Number.isNaN(p[k])) throw new TypeError(`${k} must be a number (±Infinity for none), got ${p[k]}`);
  if (p.lo > p.hi) throw new RangeError(`lo (${p.lo}) must not exceed hi (${p.hi})`);
}

/** y = min(max(x, lo), hi). */
export function clipForward(rt: Runtime, p: ClipParams, x: number, y: number, n: number, ref = false): void {
  clipParams(p); forward2(rt, 'clip_f32', x, y, n, p.lo, p.hi, ref);
}
/** dx (+)= dy where lo ≤ x ≤ hi (PyTorch's clamp gradient). */
export function clipBackward(rt: Runtime, p: ClipParams, x: number, dy: number, dx: number, n: number, accumulate = false, ref = false): void {
  clipParams(p); backward2(rt, 'clip_f32', x, dy, dx, n, p.lo, p.hi, accumulate, ref);
}
