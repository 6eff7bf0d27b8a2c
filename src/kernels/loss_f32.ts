// f32 losses (assembly/loss_f32.ts): softmax cross-entropy (fused loss + gradient, label smoothing),
// softmax / log-softmax (+ backward), distillation KL with temperature, MSE, and the vectorised exp / log
// (accuracy documented in assembly/loss_f32.ts). Pointer-level functions for autograd (Runtime, pointers,
// sizes, parameters; validated; last argument `ref` selects the reference twin) and the class LossF32 for
// typed arrays. Every loss returns the mean over the batch (a JS number, accumulated in f64).
import type { Runtime } from '../runtime.js';
import { checkArray, checkFinite, describe } from '../errors.js';
import { checkBool, checkCount, checkPtr } from './eltwise_f32.js';

function checkRows(m: unknown, n: unknown): number {
  checkCount('m', m); checkCount('n', n);
  const total = (m as number) * (n as number);
  if (total > 1 << 28) throw new RangeError(`m×n = ${m}×${n} is too large for one call`);
  return total;
}

/** y = exp(x) (vectorised; y may alias x). */
export function exp(rt: Runtime, x: number, y: number, n: number, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'exp_f32_ref' : 'exp_f32'](x, y, n);
}
/** y = log(x). */
export function log(rt: Runtime, x: number, y: number, n: number, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'log_f32_ref' : 'log_f32'](x, y, n);
}

/**
 * Softmax cross-entropy over logits [m×n] with int32 labels [m] (each in [0, n)): returns the mean loss.
 * When dlogits is non-zero it also receives gradScale·(softmax − target)/m (may alias logits).
 * smoothing in [0, 1]: PyTorch's label_smoothing (target = (1 − ε)·onehot + ε/n).
 */
export function softmaxCrossEntropy(rt: Runtime, logits: number, labels: number, m: number, n: number, dlogits = 0,
                                    smoothing = 0, gradScale = 1, ref = false): number {
  const total = checkRows(m, n);
  checkPtr(rt, 'logits', logits, total); checkPtr(rt, 'labels', labels, m); checkPtr(rt, 'dlogits', dlogits, total, 4, true);
  checkFinite('smoothing', smoothing);
  if (smoothing < 0 || smoothing > 1) throw new RangeError(`smoothing must be in [0, 1], got ${smoothing}`);
  checkFinite('gradScale', gradScale);
  const lab = rt.i32(labels, m);
  for (let i = 0; i < m; i++) {
    if (!(lab[i] >= 0 && lab[i] < n)) throw new RangeError(`labels[${i}] must be in [0, ${n - 1}], got ${lab[i]}`);
  }
  return rt.exports[ref ? 'xent_f32_ref' : 'xent_f32'](logits, labels, m, n, smoothing, dlogits, gradScale);
}

/** Row softmax of x [m×n] (y may alias x). */
export function softmax(rt: Runtime, x: number, y: number, m: number, n: number, ref = false): void {
  const total = checkRows(m, n);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 'y', y, total);
  rt.exports[ref ? 'softmax_f32_ref' : 'softmax_f32'](x, y, m, n);
}
/** Row log-softmax of x [m×n] (y may alias x). */
export function logSoftmax(rt: Runtime, x: number, y: number, m: number, n: number, ref = false): void {
  const total = checkRows(m, n);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 'y', y, total);
  rt.exports[ref ? 'log_softmax_f32_fwd_ref' : 'log_softmax_f32_fwd'](x, y, m, n);
}
/** Log-softmax backward from its output y: dx = dy − exp(y)·Σ_row dy (dx may alias dy). */
export function logSoftmaxBackward(rt: Runtime, y: number, dy: number, dx: number, m: number, n: number, ref = false): void {
  const total = checkRows(m, n);
  checkPtr(rt, 'y', y, total); checkPtr(rt, 'dy', dy, total); checkPtr(rt, 'dx', dx, total);
  rt.exports[ref ? 'log_softmax_f32_bwd_ref' : 'log_softmax_f32_bwd'](y, dy, dx, m, n);
}

/**
 * Distillation loss T²·KL(softmax(teacher/T) ‖ softmax(student/T)) averaged over the m rows (batchmean).
 * When dstudent is non-zero it receives gradScale·(T/m)·(softmax(student/T) − softmax(teacher/T)), added to
 * its contents when accumulate is true (e.g. α·KD onto (1 − α)·cross-entropy gradient of the same logits).
 */
export function klDistill(rt: Runtime, student: number, teacher: number, m: number, n: number, temperature: number,
                          dstudent = 0, gradScale = 1, accumulate = false, ref = false): number {
  const total = checkRows(m, n);
  checkPtr(rt, 'student', student, total); checkPtr(rt, 'teacher', teacher, total); checkPtr(rt, 'dstudent', dstudent, total, 4, true);
  checkFinite('temperature', temperature);
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  checkFinite('gradScale', gradScale); checkBool('accumulate', accumulate);
  return rt.exports[ref ? 'kl_distill_f32_ref' : 'kl_distill_f32'](student, teacher, m, n, temperature, dstudent, gradScale, accumulate ? 1 : 0);
}

/** Mean squared error mean((a − b)²); when da is non-zero it receives (accumulate: += ) gradScale·2(a − b)/n (may alias a). */
export function mse(rt: Runtime, a: number, b: number, n: number, da = 0, gradScale = 1, accumulate = false, ref = false): number {
  checkCount('n', n); checkPtr(rt, 'a', a, n); checkPtr(rt, 'b', b, n); checkPtr(rt, 'da', da, n, 4, true);
  checkFinite('gradScale', gradScale); checkBool('accumulate', accumulate);
  return rt.exports[ref ? 'mse_f32_ref' : 'mse_f32'](a, b, n, da, gradScale, accumulate ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------------------
// Typed-array layer.

function f32Arg(name: string, v: unknown, n: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  if (v.length !== n) throw new RangeError(`${name} must have length ${n}, got ${v.length}`);
  return v;
}

export interface LossResult { loss: number; grad: Float32Array }

export class LossF32 {
  constructor(readonly rt: Runtime, readonly ref = false) {}
  get reference(): LossF32 { return this.ref ? this : new LossF32(this.rt, true); }

  private map(x: Float32Array, fn: (xp: number, yp: number) => void): Float32Array {
    if (!(x instanceof Float32Array) || x.length === 0) throw new TypeError(`x must be a non-empty Float32Array, got ${describe(x)}`);
    return this.rt.scoped((s) => {
      const xp = s.put(x), yp = s.alloc(x.length * 4);
      fn(xp, yp);
      return this.rt.f32(yp, x.length).slice();
    });
  }
  exp(x: Float32Array): Float32Array { return this.map(x, (xp, yp) => exp(this.rt, xp, yp, x.length, this.ref)); }
  log(x: Float32Array): Float32Array { return this.map(x, (xp, yp) => log(this.rt, xp, yp, x.length, this.ref)); }
  softmax(x: Float32Array, m: number, n: number): Float32Array {
    f32Arg('x', x, checkRows(m, n));
    return this.map(x, (xp, yp) => softmax(this.rt, xp, yp, m, n, this.ref));
  }
  logSoftmax(x: Float32Array, m: number, n: number): Float32Array {
    f32Arg('x', x, checkRows(m, n));
    return this.map(x, (xp, yp) => logSoftmax(this.rt, xp, yp, m, n, this.ref));
  }
  logSoftmaxBackward(y: Float32Array, dy: Float32Array, m: number, n: number): Float32Array {
    const total = checkRows(m, n);
    f32Arg('y', y, total); f32Arg('dy', dy, total);
    return this.rt.scoped((s) => {
      const yp = s.put(y), dyp = s.put(dy), dxp = s.alloc(total * 4);
      logSoftmaxBackward(this.rt, yp, dyp, dxp, m, n, this.ref);
      return this.rt.f32(dxp, total).slice();
    });
  }
  /** Mean cross-entropy and its gradient w.r.t. the logits. */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, m: number, n: number, smoothing = 0, gradScale = 1): LossResult {
    const total = checkRows(m, n);
    f32Arg('logits', logits, total); checkArray('labels', labels, Int32Array, m);
    return this.rt.scoped((s) => {
      const lp = s.put(logits), yp = s.put(labels), gp = s.alloc(total * 4);
      const loss = softmaxCrossEntropy(this.rt, lp, yp, m, n, gp, smoothing, gradScale, this.ref);
      return { loss, grad: this.rt.f32(gp, total).slice() };
    });
  }
  /** T²-scaled distillation KL and its gradient w.r.t. the student logits. */
  /** With `acc` (f32[m·n]) the gradient is added to a copy of it. */
  klDistill(student: Float32Array, teacher: Float32Array, m: number, n: number, temperature: number, gradScale = 1, acc?: Float32Array): LossResult {
    const total = checkRows(m, n);
    f32Arg('student', student, total); f32Arg('teacher', teacher, total);
    if (acc !== undefined) f32Arg('acc', acc, total);
    return this.rt.scoped((s) => {
      const sp = s.put(student), tp = s.put(teacher), gp = acc ? s.put(acc) : s.alloc(total * 4);
      const loss = klDistill(this.rt, sp, tp, m, n, temperature, gp, gradScale, acc !== undefined, this.ref);
      return { loss, grad: this.rt.f32(gp, total).slice() };
    });
  }
  /** Mean squared error and its gradient w.r.t. a. */
  mse(a: Float32Array, b: Float32Array, gradScale = 1, acc?: Float32Array): LossResult {
    if (!(a instanceof Float32Array) || a.length === 0) throw new TypeError(`a must be a non-empty Float32Array, got ${describe(a)}`);
    f32Arg('b', b, a.length);
    if (acc !== undefined) f32Arg('acc', acc, a.length);
    return this.rt.scoped((s) => {
      const ap = s.put(a), bp = s.put(b), gp = acc ? s.put(acc) : s.alloc(a.length * 4);
      const loss = mse(this.rt, ap, bp, a.length, gp, gradScale, acc !== undefined, this.ref);
      return { loss, grad: this.rt.f32(gp, a.length).slice() };
    });
  }
}
