// f32 optimiser steps (assembly/optim_f32.ts): SGD (momentum, dampening, Nesterov, weight decay) and
// Adam / AdamW as PyTorch defines them, in place over a parameter buffer, with an optional u8 mask that keeps
// pruned weights at exactly 0; plus gradient clipping by global L2 norm (PyTorch's clip_grad_norm_).
// Pointer-level functions for the training engine, and the class OptimF32 for typed arrays.
import type { Runtime } from '../runtime.js';
import { checkFinite, describe, QwasmError } from '../errors.js';
import { checkBool, checkCount, checkPtr, sumSquares, scale } from './eltwise_f32.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Multiplies the gradient before the step (fused clipping: pass clipCoefficient(...)); default 1. */
  gradScale?: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decoupled weight decay (p ← p·(1 − lr·wd)) instead of Adam's L2 term added to the gradient. */
  decoupled?: boolean;
  /** Multiplies the gradient before the step (fused clipping); default 1. */
  gradScale?: number;
}

interface SgdResolved { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; gradScale: number }
interface AdamResolved { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; gradScale: number }

function nonNeg(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  checkFinite(name, v);
  if ((v as number) < 0) throw new RangeError(`${name} must be non-negative, got ${v}`);
  return v as number;
}
function opts(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object') throw new TypeError(`opts must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

export function resolveSgd(o: SgdOptions): SgdResolved {
  const r = opts(o);
  if (r.lr === undefined) throw new TypeError('lr is required');
  const lr = nonNeg('lr', r.lr, 0);
  const momentum = nonNeg('momentum', r.momentum, 0);
  const dampening = nonNeg('dampening', r.dampening, 0);
  const weightDecay = nonNeg('weightDecay', r.weightDecay, 0);
  const nesterov = r.nesterov === undefined ? false : checkBool('nesterov', r.nesterov);
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new RangeError('nesterov requires momentum > 0 and dampening = 0');
  const gradScale = r.gradScale === undefined ? 1 : checkFinite('gradScale', r.gradScale);
  return { lr, momentum, dampening, weightDecay, nesterov, gradScale };
}

export function resolveAdam(o: AdamOptions): AdamResolved {
  const r = opts(o);
  if (r.lr === undefined) throw new TypeError('lr is required');
  const lr = nonNeg('lr', r.lr, 0);
  const beta1 = nonNeg('beta1', r.beta1, 0.9), beta2 = nonNeg('beta2', r.beta2, 0.999);
  if (beta1 >= 1) throw new RangeError(`beta1 must be in [0, 1), got ${beta1}`);
  if (beta2 >= 1) throw new RangeError(`beta2 must be in [0, 1), got ${beta2}`);
  const eps = nonNeg('eps', r.eps, 1e-8);
  const decoupled = r.decoupled === undefined ? false : checkBool('decoupled', r.decoupled);
  const weightDecay = nonNeg('weightDecay', r.weightDecay, decoupled ? 0.01 : 0);
  const gradScale = r.gradScale === undefined ? 1 : checkFinite('gradScale', r.gradScale);
  return { lr, beta1, beta2, eps, weightDecay, decoupled, gradScale };
}

/**
 * One SGD step over p[n] with gradient g[n] (p updated in place). buf: momentum buffer f32[n] (required when
 * momentum > 0, else may be 0); first = true on the first step (buf is initialised to the gradient).
 * mask: u8[n] or 0; masked-out parameters are set to 0.
 */
export function sgdStep(rt: Runtime, p: number, g: number, buf: number, mask: number, n: number, o: SgdOptions, first: boolean, ref = false): void {
  const h = resolveSgd(o);
  checkCount('n', n);
  checkPtr(rt, 'p', p, n); checkPtr(rt, 'g', g, n); checkPtr(rt, 'buf', buf, n, 4, h.momentum === 0);
  checkPtr(rt, 'mask', mask, n, 1, true); checkBool('first', first);
  rt.exports[ref ? 'sgd_f32_ref' : 'sgd_f32'](p, g, buf, mask, n, h.lr, h.momentum, h.dampening, h.weightDecay, h.nesterov ? 1 : 0, first ? 1 : 0, h.gradScale);
}

/**
 * One Adam / AdamW step (step = 1 on the first call) over p[n] with gradient g[n], moments m[n], v[n]
 * (zero-initialised by the caller before step 1). mask: u8[n] or 0.
 */
export function adamStep(rt: Runtime, p: number, g: number, m: number, v: number, mask: number, n: number, o: AdamOptions,
                         step: number, ref = false): void {
  const h = resolveAdam(o);
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 1) throw new RangeError(`step must be an integer ≥ 1, got ${describe(step)}`);
  checkCount('n', n);
  checkPtr(rt, 'p', p, n); checkPtr(rt, 'g', g, n); checkPtr(rt, 'm', m, n); checkPtr(rt, 'v', v, n);
  checkPtr(rt, 'mask', mask, n, 1, true);
  const bc1 = 1 - Math.pow(h.beta1, step), bc2 = 1 - Math.pow(h.beta2, step);
  const stepSize = h.lr / bc1, bc2sqrt = Math.sqrt(bc2);
  const wd = h.decoupled ? 0 : h.weightDecay;
  const decay = h.decoupled ? 1 - h.lr * h.weightDecay : 1;
  rt.exports[ref ? 'adam_f32_ref' : 'adam_f32'](p, g, m, v, mask, n, h.beta1, h.beta2, h.eps, wd, decay, stepSize, bc2sqrt, h.gradScale);
}

/** A gradient buffer in WASM memory. */
export interface GradBuffer { ptr: number; n: number }

/** Global L2 norm √Σ‖g‖² of several gradient buffers (sums of squares in f64). */
export function gradNorm(rt: Runtime, grads: readonly GradBuffer[], ref = false): number {
  if (!Array.isArray(grads)) throw new TypeError(`grads must be an array of { ptr, n }, got ${describe(grads)}`);
  let ss = 0;
  grads.forEach((b, i) => {
    if (b === null || typeof b !== 'object') throw new TypeError(`grads[${i}] must be { ptr, n }, got ${describe(b)}`);
    ss += sumSquares(rt, b.ptr, b.n, ref);
  });
  return Math.sqrt(ss);
}

/**
 * PyTorch clip_grad_norm_'s factor: min(1, maxNorm/(norm + 1e-6)). Pass it as the optimiser's gradScale to
 * clip without touching the gradients (one pass fewer), or use clipGradNorm to scale them in place.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  checkFinite('maxNorm', maxNorm);
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm must be positive, got ${maxNorm}`);
  if (!Number.isFinite(norm)) throw new QwasmError(`gradient norm is ${norm}: non-finite gradients`);
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * Clips gradients in place by their global L2 norm (PyTorch clip_grad_norm_): when total > maxNorm every
 * buffer is scaled by maxNorm/(total + 1e-6). Returns the total norm (before clipping).
 */
export function clipGradNorm(rt: Runtime, grads: readonly GradBuffer[], maxNorm: number, ref = false): number {
  checkFinite('maxNorm', maxNorm);
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm must be positive, got ${maxNorm}`);
  const total = gradNorm(rt, grads, ref);
  const coef = clipCoefficient(total, maxNorm);
  if (coef < 1) for (const b of grads) scale(rt, coef, b.ptr, b.ptr, b.n, ref);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Typed-array layer: the buffers passed in are updated in place (copied in, stepped, copied back).

function f32Arg(name: string, v: unknown, n?: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  if (n !== undefined && v.length !== n) throw new RangeError(`${name} must have length ${n}, got ${v.length}`);
  if (v.length === 0) throw new RangeError(`${name} must not be empty`);
  return v;
}
function maskArg(mask: unknown, n: number): Uint8Array | undefined {
  if (mask === undefined || mask === null) return undefined;
  if (!(mask instanceof Uint8Array)) throw new TypeError(`mask must be a Uint8Array, got ${describe(mask)}`);
  if (mask.length !== n) throw new RangeError(`mask must have length ${n}, got ${mask.length}`);
  return mask;
}

export class OptimF32 {
  constructor(readonly rt: Runtime, readonly ref = false) {}
  get reference(): OptimF32 { return this.ref ? this : new OptimF32(this.rt, true); }

  /** SGD step: updates p (and buf, when momentum > 0) in place. */
  sgdStep(p: Float32Array, g: Float32Array, buf: Float32Array | null, o: SgdOptions, first: boolean, mask?: Uint8Array): void {
    f32Arg('p', p); f32Arg('g', g, p.length);
    if (buf !== null) f32Arg('buf', buf, p.length);
    const mk = maskArg(mask, p.length);
    this.rt.scoped((s) => {
      const pp = s.put(p), gp = s.put(g), bp = buf ? s.put(buf) : 0, mp = mk ? s.put(mk) : 0;
      sgdStep(this.rt, pp, gp, bp, mp, p.length, o, first, this.ref);
      p.set(this.rt.f32(pp, p.length));
      if (buf) buf.set(this.rt.f32(bp, p.length));
    });
  }
  /** Adam / AdamW step: updates p, m, v in place. */
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, o: AdamOptions, step: number, mask?: Uint8Array): void {
    f32Arg('p', p); f32Arg('g', g, p.length); f32Arg('m', m, p.length); f32Arg('v', v, p.length);
    const mk = maskArg(mask, p.length);
    this.rt.scoped((s) => {
      const pp = s.put(p), gp = s.put(g), mp = s.put(m), vp = s.put(v), kp = mk ? s.put(mk) : 0;
      adamStep(this.rt, pp, gp, mp, vp, kp, p.length, o, step, this.ref);
      p.set(this.rt.f32(pp, p.length)); m.set(this.rt.f32(mp, p.length)); v.set(this.rt.f32(vp, p.length));
    });
  }
  /** Clips the arrays in place by their global L2 norm; returns the norm before clipping. */
  clipGradNorm(grads: Float32Array[], maxNorm: number): number {
    if (!Array.isArray(grads)) throw new TypeError(`grads must be an array of Float32Array, got ${describe(grads)}`);
    grads.forEach((g, i) => f32Arg(`grads[${i}]`, g));
    return this.rt.scoped((s) => {
      const bufs = grads.map((g) => ({ ptr: s.put(g), n: g.length }));
      const total = clipGradNorm(this.rt, bufs, maxNorm, this.ref);
      grads.forEach((g, i) => g.set(this.rt.f32(bufs[i].ptr, g.length)));
      return total;
    });
  }
}
