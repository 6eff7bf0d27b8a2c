// f32 batch normalisation over the last axis of x[M][C] (assembly/bn_f32.ts): NHWC BatchNorm2d with
// M = N·H·W rows (or BatchNorm1d on [N][C]), PyTorch semantics: training mode normalises with the batch mean
// and biased variance, saves mean and invstd = 1/sqrt(var + eps) for the backward and updates the running
// statistics with momentum (unbiased variance for runVar); eval mode uses the running statistics.
// Pointer level (autograd): batchNormF32ForwardTrain / ForwardEval / Backward take a Runtime, {m, c, eps,
// momentum} and an object of byte offsets. Typed arrays (tests): batchNormF32Train, batchNormF32Eval,
// batchNormF32Grad. gamma / beta pointers may be 0 (no affine: γ = 1, β = 0).
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, checkInt, describe } from '../errors.js';
import { checkBeta, checkElements, checkPtr, type ConvF32RunOptions } from './conv_f32.js';
import { variant } from './variant.js';

export interface BatchNormF32Params {
  /** rows (N·H·W for NHWC) and channels */
  m: number; c: number;
  /** added to the variance; default 1e-5 */
  eps?: number;
  /** running-statistics update weight; default 0.1 */
  momentum?: number;
}

export interface BatchNormF32TrainPtrs {
  x: number; y: number;
  /** outputs: per-channel batch mean and invstd (saved for the backward) */
  mean: number; invstd: number;
  gamma?: number; beta?: number;
  /** running statistics updated in place (0 / omitted: not updated) */
  runMean?: number; runVar?: number;
}

export interface BatchNormF32EvalPtrs {
  x: number; y: number; runMean: number; runVar: number;
  gamma?: number; beta?: number;
  /** optional outputs: runMean copy and 1/sqrt(runVar + eps), for a backward with training = false */
  mean?: number; invstd?: number;
}

export interface BatchNormF32BackwardPtrs {
  x: number; dy: number; mean: number; invstd: number; dx: number;
  gamma?: number;
  /** 0 / omitted: not computed */
  dgamma?: number; dbeta?: number;
}

export interface BatchNormF32GradOptions extends ConvF32RunOptions {
  /** the forward ran in training mode (batch statistics; default true) or eval mode (frozen statistics) */
  training?: boolean;
  /** 0 (default) overwrites dx / dgamma / dbeta, 1 accumulates, other values scale first */
  beta?: number;
}

function resolve(p: BatchNormF32Params): { m: number; c: number; eps: number; momentum: number } {
  if (p === null || typeof p !== 'object') throw new TypeError(`batch-norm params must be an object, got ${describe(p)}`);
  const m = checkInt('m', p.m, 1), c = checkInt('c', p.c, 1);
  checkElements('x', m * c);
  const eps = checkFinite('eps', p.eps ?? 1e-5);
  if (eps < 0) throw new RangeError(`eps must be ≥ 0, got ${eps}`);
  const momentum = checkFinite('momentum', p.momentum ?? 0.1);
  if (momentum < 0 || momentum > 1) throw new RangeError(`momentum must be in [0, 1], got ${momentum}`);
  return { m, c, eps, momentum };
}

/**
 * Checks the pointer object: `rows` buffers hold m·c floats, `channels` c floats, `optional` c floats or 0 (absent
 * means 0), in that order (the first bad one is named). Returns the pointers by name.
 */
function checked(rt: Runtime, o: unknown, m: number, c: number, rows: readonly string[], channels: readonly string[],
                 optional: readonly string[]): Record<string, number> {
  if (o === null || typeof o !== 'object') throw new TypeError(`pointers must be an object, got ${describe(o)}`);
  const q = o as Record<string, unknown>, r: Record<string, number> = {};
  for (const k of rows) r[k] = checkPtr(rt, k, q[k], m * c);
  for (const k of channels) r[k] = checkPtr(rt, k, q[k], c);
  for (const k of optional) r[k] = checkPtr(rt, k, q[k] ?? 0, c, true);
  return r;
}

export function batchNormF32ForwardTrain(rt: Runtime, params: BatchNormF32Params, p: BatchNormF32TrainPtrs,
                                         opts: ConvF32RunOptions = {}): void {
  const { m, c, eps, momentum } = resolve(params);
  if (m < 2) throw new RangeError(`m must be ≥ 2 in training mode (one value per channel has no variance), got ${m}`);
  const q = checked(rt, p, m, c, ['x', 'y'], ['mean', 'invstd'], ['gamma', 'beta', 'runMean', 'runVar']);
  variant(rt, 'batchnorm_f32_fwd_train', opts.reference)(m, c, q.x, q.gamma, q.beta, q.y, q.mean, q.invstd, q.runMean, q.runVar, momentum, eps);
}

export function batchNormF32ForwardEval(rt: Runtime, params: BatchNormF32Params, p: BatchNormF32EvalPtrs,
                                        opts: ConvF32RunOptions = {}): void {
  const { m, c, eps } = resolve(params);
  const q = checked(rt, p, m, c, ['x', 'y'], ['runMean', 'runVar'], ['gamma', 'beta', 'mean', 'invstd']);
  variant(rt, 'batchnorm_f32_fwd_eval', opts.reference)(m, c, q.x, q.gamma, q.beta, q.y, q.runMean, q.runVar, eps, q.mean, q.invstd);
}

export function batchNormF32Backward(rt: Runtime, params: BatchNormF32Params, p: BatchNormF32BackwardPtrs,
                                     opts: BatchNormF32GradOptions = {}): void {
  const { m, c } = resolve(params);
  const q = checked(rt, p, m, c, ['x', 'dy', 'dx'], ['mean', 'invstd'], ['gamma', 'dgamma', 'dbeta']);
  const acc = checkBeta(opts.beta);
  const training = opts.training === undefined ? 1 : opts.training ? 1 : 0;
  variant(rt, 'batchnorm_f32_bwd', opts.reference)(m, c, q.x, q.dy, q.mean, q.invstd, q.gamma, q.dx, q.dgamma, q.dbeta, training, acc);
}

// ----- typed arrays -----

export interface BatchNormF32TrainOptions extends ConvF32RunOptions {
  gamma?: Float32Array; beta?: Float32Array;
  /** updated in place when given */
  runMean?: Float32Array; runVar?: Float32Array;
  eps?: number; momentum?: number;
}

function rowsOf(x: Float32Array, c: number): number {
  if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
  checkInt('c', c, 1);
  if (x.length === 0 || x.length % c !== 0) throw new RangeError(`x length ${x.length} must be a positive multiple of c (${c})`);
  return x.length / c;
}

export function batchNormF32Train(rt: Runtime, x: Float32Array, c: number, opts: BatchNormF32TrainOptions = {}):
    { y: Float32Array; mean: Float32Array; invstd: Float32Array } {
  const m = rowsOf(x, c);
  for (const k of ['gamma', 'beta', 'runMean', 'runVar'] as const) if (opts[k] !== undefined) checkArray(k, opts[k], Float32Array, c);
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * c * 4), mp = s.alloc(c * 4), ip = s.alloc(c * 4);
    const gp = opts.gamma ? s.put(opts.gamma) : 0, bp = opts.beta ? s.put(opts.beta) : 0;
    const rmp = opts.runMean ? s.put(opts.runMean) : 0, rvp = opts.runVar ? s.put(opts.runVar) : 0;
    batchNormF32ForwardTrain(rt, { m, c, eps: opts.eps, momentum: opts.momentum },
      { x: xp, y: yp, mean: mp, invstd: ip, gamma: gp, beta: bp, runMean: rmp, runVar: rvp }, opts);
    if (opts.runMean) opts.runMean.set(rt.f32(rmp, c));
    if (opts.runVar) opts.runVar.set(rt.f32(rvp, c));
    return { y: rt.f32(yp, m * c).slice(), mean: rt.f32(mp, c).slice(), invstd: rt.f32(ip, c).slice() };
  });
}

export function batchNormF32Eval(rt: Runtime, x: Float32Array, c: number,
                                 opts: ConvF32RunOptions & { runMean: Float32Array; runVar: Float32Array; gamma?: Float32Array; beta?: Float32Array; eps?: number }):
    Float32Array {
  const m = rowsOf(x, c);
  if (opts === null || typeof opts !== 'object') throw new TypeError('opts with runMean and runVar is required');
  checkArray('runMean', opts.runMean, Float32Array, c);
  checkArray('runVar', opts.runVar, Float32Array, c);
  for (const k of ['gamma', 'beta'] as const) if (opts[k] !== undefined) checkArray(k, opts[k], Float32Array, c);
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * c * 4);
    const gp = opts.gamma ? s.put(opts.gamma) : 0, bp = opts.beta ? s.put(opts.beta) : 0;
    batchNormF32ForwardEval(rt, { m, c, eps: opts.eps },
      { x: xp, y: yp, runMean: s.put(opts.runMean), runVar: s.put(opts.runVar), gamma: gp, beta: bp }, opts);
    return rt.f32(yp, m * c).slice();
  });
}

export function batchNormF32Grad(rt: Runtime, x: Float32Array, dy: Float32Array, c: number, mean: Float32Array,
                                 invstd: Float32Array, opts: BatchNormF32GradOptions & { gamma?: Float32Array } = {}):
    { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const m = rowsOf(x, c);
  checkArray('dy', dy, Float32Array, m * c);
  checkArray('mean', mean, Float32Array, c);
  checkArray('invstd', invstd, Float32Array, c);
  if (opts.gamma !== undefined) checkArray('gamma', opts.gamma, Float32Array, c);
  return rt.scoped((s) => {
    const xp = s.put(x), gp = s.put(dy), dxp = s.alloc(m * c * 4), dgp = s.alloc(c * 4), dbp = s.alloc(c * 4);
    batchNormF32Backward(rt, { m, c }, {
      x: xp, dy: gp, mean: s.put(mean), invstd: s.put(invstd), gamma: opts.gamma ? s.put(opts.gamma) : 0,
      dx: dxp, dgamma: dgp, dbeta: dbp,
    }, { training: opts.training, reference: opts.reference });
    return { dx: rt.f32(dxp, m * c).slice(), dgamma: rt.f32(dgp, c).slice(), dbeta: rt.f32(dbp, c).slice() };
  });
}
