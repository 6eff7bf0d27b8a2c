// More differentiable ops (domain adaptation: DANN, Deep CORAL): gradient reversal, matmul of two tensors with
// transposes, row means, difference, scaling, squared Frobenius norm, covariance, and the CORAL loss.
// Same conventions as ops.ts: kernels run by pointer, outputs are step temporaries, backward closures
// *accumulate* into the inputs' gradients.
import type { Tensor, Engine } from './tensor.js';
import { QwasmError, checkFinite, describe } from '../errors.js';
import { gemmF32Ptr } from '../kernels/gemm_f32.js';
import * as el from '../kernels/eltwise_f32.js';
import { record } from './record.js';

function checkTensor(name: string, t: unknown): Tensor {
  if (!t || typeof t !== 'object' || typeof (t as Tensor).ptr !== 'number' || !Array.isArray((t as Tensor).shape)) {
    throw new TypeError(`${name} must be a Tensor, got ${describe(t)}`);
  }
  return t as Tensor;
}

function expectRank2(name: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new QwasmError(`${name} must have rank 2 ([rows, features]), got shape [${t.shape}]`);
  return [t.shape[0], t.shape[1]];
}

function sameEngine(a: Tensor, b: Tensor, what: string): Engine {
  if (a.engine !== b.engine) throw new QwasmError(`${what}: the tensors belong to different engines`);
  return a.engine;
}

/**
 * Gradient reversal layer (Ganin & Lempitsky): identity forward, −λ·grad backward. The output is a copy
 * (not a view: a view's gradient would alias its input's).
 */
export function gradReverse(x: Tensor, lambda: number): Tensor {
  checkTensor('x', x);
  const lam = checkFinite('lambda', lambda);
  const e = x.engine, rt = e.rt;
  const y = e.empty(x.shape, false);
  el.copy(rt, x.ptr, y.ptr, x.size);
  return record(y, 'grad_reverse', [x], () => el.axpy(rt, -lam, y.grad!.ptr, x.ensureGrad().ptr, x.size));
}

export interface MatmulOptions {
  /** Use aᵀ: a is stored [K, M]. */
  transA?: boolean;
  /** Use bᵀ: b is stored [N, K]. */
  transB?: boolean;
  /** Multiplies the product (default 1). */
  alpha?: number;
}

/** y[M×N] = alpha·op(a)·op(b) for two tensors (both may require gradients; a and b may be the same tensor). */
export function matmul(a: Tensor, b: Tensor, o: MatmulOptions = {}): Tensor {
  checkTensor('a', a); checkTensor('b', b);
  const tA = o.transA ?? false, tB = o.transB ?? false;
  if (typeof tA !== 'boolean') throw new TypeError(`transA must be a boolean, got ${describe(tA)}`);
  if (typeof tB !== 'boolean') throw new TypeError(`transB must be a boolean, got ${describe(tB)}`);
  const alpha = checkFinite('alpha', o.alpha ?? 1);
  const [ar, ac] = expectRank2('matmul a', a), [br, bc] = expectRank2('matmul b', b);
  const m = tA ? ac : ar, k = tA ? ar : ac, kb = tB ? bc : br, n = tB ? br : bc;
  if (k !== kb) throw new QwasmError(`matmul: op(a) is ${m}×${k} but op(b) is ${kb}×${n} (transA ${tA}, transB ${tB})`);
  const e = sameEngine(a, b, 'matmul'), rt = e.rt;
  const y = e.empty([m, n], false);
  gemmF32Ptr(rt, m, k, n, a.ptr, b.ptr, y.ptr, { transA: tA, transB: tB, alpha });
  return record(y, 'matmul', [a, b], () => {
    const dy = y.grad!.ptr;
    if (a.requiresGrad) {
      const da = a.ensureGrad().ptr;
      // d op(a) = dy·op(b)ᵀ (M×K); stored aᵀ: da = op(b)·dyᵀ (K×M)
      if (!tA) gemmF32Ptr(rt, m, n, k, dy, b.ptr, da, { transB: !tB, alpha, beta: 1 });
      else gemmF32Ptr(rt, k, n, m, b.ptr, dy, da, { transA: tB, transB: true, alpha, beta: 1 });
    }
    if (b.requiresGrad) {
      const db = b.ensureGrad().ptr;
      // d op(b) = op(a)ᵀ·dy (K×N); stored bᵀ: db = dyᵀ·op(a) (N×K)
      if (!tB) gemmF32Ptr(rt, k, m, n, a.ptr, dy, db, { transA: !tA, alpha, beta: 1 });
      else gemmF32Ptr(rt, n, m, k, dy, a.ptr, db, { transA: true, transB: tA, alpha, beta: 1 });
    }
  });
}

/** [n, d] → [1, d]: the mean of the rows. */
export function meanRows(x: Tensor): Tensor {
  checkTensor('x', x);
  const [n, d] = expectRank2('meanRows input', x);
  const e = x.engine, rt = e.rt;
  const y = e.empty([1, d], false);
  el.sumBcast(rt, x.ptr, y.ptr, n, d, 1, false);
  el.scale(rt, 1 / n, y.ptr, y.ptr, d);
  return record(y, 'mean_rows', [x], () => {
    const g = e.empty([d], false);
    el.scale(rt, 1 / n, y.grad!.ptr, g.ptr, d);
    const dx = x.ensureGrad().ptr;
    el.addBcast(rt, dx, g.ptr, dx, n, d, 1);
  });
}

/** a − b (same number of elements; the shape of a). */
export function sub(a: Tensor, b: Tensor): Tensor {
  checkTensor('a', a); checkTensor('b', b);
  if (a.size !== b.size) throw new QwasmError(`sub: shapes [${a.shape}] and [${b.shape}] differ`);
  const e = sameEngine(a, b, 'sub'), rt = e.rt;
  const y = e.empty(a.shape, false);
  el.sub(rt, a.ptr, b.ptr, y.ptr, a.size);
  return record(y, 'sub', [a, b], () => {
    if (a.requiresGrad) el.axpy(rt, 1, y.grad!.ptr, a.ensureGrad().ptr, a.size);
    if (b.requiresGrad) el.axpy(rt, -1, y.grad!.ptr, b.ensureGrad().ptr, b.size);
  });
}

/** alpha·x. */
export function scaleBy(x: Tensor, alpha: number): Tensor {
  checkTensor('x', x);
  const s = checkFinite('alpha', alpha);
  const e = x.engine, rt = e.rt;
  const y = e.empty(x.shape, false);
  el.scale(rt, s, x.ptr, y.ptr, x.size);
  return record(y, 'scale', [x], () => el.axpy(rt, s, y.grad!.ptr, x.ensureGrad().ptr, x.size));
}

/** Σ x² (the squared Frobenius norm), a scalar tensor. */
export function sumSquares(x: Tensor): Tensor {
  checkTensor('x', x);
  const e = x.engine, rt = e.rt;
  const y = e.empty([1], false);
  y.data()[0] = el.sumSquares(rt, x.ptr, x.size);
  return record(y, 'sum_squares', [x], () => el.axpy(rt, 2 * y.grad!.data()[0], x.ptr, x.ensureGrad().ptr, x.size));
}

/**
 * Sample covariance of the rows of x [n, d] (n ≥ 2): C = (x − μ)ᵀ(x − μ)/(n − 1), [d, d] — the same value as
 * (xᵀx − n·μᵀμ)/(n − 1), computed on centred rows (no cancellation). Backward: dx = (x − μ)(G + Gᵀ)/(n − 1)
 * (the term through μ vanishes because the centred rows sum to zero).
 */
export function covariance(x: Tensor): Tensor {
  checkTensor('x', x);
  const [n, d] = expectRank2('covariance input', x);
  if (n < 2) throw new QwasmError(`covariance needs at least 2 rows, x has shape [${x.shape}]`);
  const e = x.engine, rt = e.rt;
  const negMean = e.empty([d], false), xc = e.empty([n, d], false), y = e.empty([d, d], false);
  el.sumBcast(rt, x.ptr, negMean.ptr, n, d, 1, false);
  el.scale(rt, -1 / n, negMean.ptr, negMean.ptr, d);
  el.addBcast(rt, x.ptr, negMean.ptr, xc.ptr, n, d, 1);
  const a = 1 / (n - 1);
  gemmF32Ptr(rt, d, n, d, xc.ptr, xc.ptr, y.ptr, { transA: true, alpha: a });
  return record(y, 'covariance', [x], () => {
    const g = y.grad!.ptr, dx = x.ensureGrad().ptr;
    gemmF32Ptr(rt, n, d, d, xc.ptr, g, dx, { alpha: a, beta: 1 });
    gemmF32Ptr(rt, n, d, d, xc.ptr, g, dx, { transB: true, alpha: a, beta: 1 });
  });
}

/**
 * Deep CORAL loss (Sun & Saenko): ‖C_s − C_t‖²_F / (4d²) between the feature covariances of a source batch
 * [n_s, d] and a target batch [n_t, d].
 */
export function coralLoss(source: Tensor, target: Tensor): Tensor {
  checkTensor('source', source); checkTensor('target', target);
  const [, d] = expectRank2('CORAL source features', source), [, dt] = expectRank2('CORAL target features', target);
  if (d !== dt) throw new QwasmError(`CORAL: source features have ${d} dimensions, target features ${dt}`);
  sameEngine(source, target, 'coralLoss');
  return scaleBy(sumSquares(sub(covariance(source), covariance(target))), 1 / (4 * d * d));
}
