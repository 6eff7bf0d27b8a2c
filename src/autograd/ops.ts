// Differentiable ops on WASM-resident tensors. Each op runs its forward kernel by pointer, records its
// inputs and a backward closure that *accumulates* into the inputs' gradients (so a tensor used twice, or
// gradient accumulation over micro-batches, just works). Layout is NHWC; linear weights are [in, out].
import { Tensor, type Engine } from './tensor.js';
import { QwasmError } from '../errors.js';
import { gemmF32Ptr } from '../kernels/gemm_f32.js';
import { conv2dF32Shape, conv2dF32Forward, conv2dF32BackwardData, conv2dF32BackwardFilter, type Conv2dF32Params } from '../kernels/conv_f32.js';
import {
  pool2dF32Shape, maxPool2dF32Forward, maxPool2dF32Backward, avgPool2dF32Forward, avgPool2dF32Backward,
  globalAvgPoolF32Forward, globalAvgPoolF32Backward,
} from '../kernels/pool_f32.js';
import { batchNormF32ForwardTrain, batchNormF32ForwardEval, batchNormF32Backward } from '../kernels/bn_f32.js';
import * as el from '../kernels/eltwise_f32.js';
import * as loss from '../kernels/loss_f32.js';
import { record } from './record.js';

const needsGrad = (e: Engine, ...ts: (Tensor | null | undefined)[]): boolean =>
  e.gradEnabled && ts.some((t) => t?.requiresGrad);

function expectRank(name: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new QwasmError(`${name} must have rank ${rank}, got shape [${t.shape}]`);
}

/** y[M×N] = x[M×K]·w[K×N] + b. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  expectRank('linear input', x, 2);
  const [m, k] = x.shape, n = w.shape[1];
  if (w.shape[0] !== k) throw new QwasmError(`linear weight has shape [${w.shape}], input has ${k} features`);
  if (b && b.size !== n) throw new QwasmError(`linear bias has ${b.size} values, expected ${n}`);
  const e = x.engine, rt = e.rt;
  const y = e.empty([m, n], false);
  gemmF32Ptr(rt, m, k, n, x.ptr, w.ptr, y.ptr, { biasPtr: b ? b.ptr : 0 });
  return record(y, 'linear', [x, w, b], () => {
    const dy = y.grad!;
    if (x.requiresGrad) gemmF32Ptr(rt, m, n, k, dy.ptr, w.ptr, x.ensureGrad().ptr, { transB: true, beta: 1 });
    if (w.requiresGrad) gemmF32Ptr(rt, k, m, n, x.ptr, dy.ptr, w.ensureGrad().ptr, { transA: true, beta: 1 });
    if (b?.requiresGrad) el.sumBcast(rt, dy.ptr, b.ensureGrad().ptr, m, n, 1, true);
  });
}

export interface ConvOptions {
  stride?: number | [number, number];
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** NHWC conv; w is OHWI [oc, kh, kw, c/groups]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, o: ConvOptions = {}): Tensor {
  expectRank('conv2d input', x, 4);
  expectRank('conv2d weight', w, 4);
  const [n, h, wd, c] = x.shape, [oc, kh, kw] = w.shape;
  const p: Conv2dF32Params = { n, h, w: wd, c, oc, kh, kw, stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups };
  const s = conv2dF32Shape(p);
  if (w.shape[3] * (o.groups ?? 1) !== c) throw new QwasmError(`conv2d weight [${w.shape}] does not match ${c} input channels in ${o.groups ?? 1} groups`);
  if (b && b.size !== oc) throw new QwasmError(`conv2d bias has ${b.size} values, expected ${oc}`);
  const e = x.engine, rt = e.rt;
  const y = e.empty([n, s.oh, s.ow, oc], false);
  conv2dF32Forward(rt, s, x.ptr, w.ptr, b ? b.ptr : 0, y.ptr);
  return record(y, 'conv2d', [x, w, b], () => {
    const dy = y.grad!;
    if (x.requiresGrad) conv2dF32BackwardData(rt, s, dy.ptr, w.ptr, x.ensureGrad().ptr, { beta: 1 });
    if (w.requiresGrad) {
      // the kernel writes dW and db together; a frozen bias gets a scratch buffer
      const db = b ? (b.requiresGrad ? b.ensureGrad() : e.empty(b.shape)) : null;
      conv2dF32BackwardFilter(rt, s, x.ptr, dy.ptr, w.ensureGrad().ptr, db ? db.ptr : 0, { beta: 1 });
    } else if (b?.requiresGrad) {
      el.sumBcast(rt, dy.ptr, b.ensureGrad().ptr, dy.size / oc, oc, 1, true);
    }
  });
}

function act(kind: el.Activation, x: Tensor): Tensor {
  const e = x.engine, rt = e.rt;
  const y = e.empty(x.shape, false);
  el.activation(rt, kind, x.ptr, y.ptr, x.size);
  return record(y, kind, [x], () => el.activationBackward(rt, kind, x.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, 0.01, true));
}
export const relu = (x: Tensor): Tensor => act('relu', x);
export const relu6 = (x: Tensor): Tensor => act('relu6', x);

export interface PoolOptions { kernel: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number] | [number, number, number, number] }

function poolShape(x: Tensor, o: PoolOptions) {
  expectRank('pool input', x, 4);
  const [n, h, w, c] = x.shape;
  const [kh, kw] = typeof o.kernel === 'number' ? [o.kernel, o.kernel] : o.kernel;
  return pool2dF32Shape({ n, h, w, c, kh, kw, stride: o.stride ?? [kh, kw], padding: o.padding ?? 0 });
}

export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  const s = poolShape(x, o), e = x.engine, rt = e.rt;
  const y = e.empty([s.n, s.oh, s.ow, s.c], false);
  const idx = e.empty([s.n, s.oh, s.ow, s.c], false); // int32 argmax, same byte size as f32
  maxPool2dF32Forward(rt, s, x.ptr, y.ptr, idx.ptr);
  return record(y, 'maxpool', [x], () => maxPool2dF32Backward(rt, s, y.grad!.ptr, idx.ptr, x.ensureGrad().ptr, { beta: 1 }));
}

export function avgPool2d(x: Tensor, o: PoolOptions): Tensor {
  const s = poolShape(x, o), e = x.engine, rt = e.rt;
  const y = e.empty([s.n, s.oh, s.ow, s.c], false);
  avgPool2dF32Forward(rt, s, x.ptr, y.ptr);
  return record(y, 'avgpool', [x], () => avgPool2dF32Backward(rt, s, y.grad!.ptr, x.ensureGrad().ptr, { beta: 1 }));
}

/** [n,h,w,c] → [n,c]. */
export function globalAvgPool(x: Tensor): Tensor {
  expectRank('global pool input', x, 4);
  const [n, h, w, c] = x.shape, e = x.engine, rt = e.rt, s = { n, h, w, c };
  const y = e.empty([n, c], false);
  globalAvgPoolF32Forward(rt, s, x.ptr, y.ptr);
  return record(y, 'gap', [x], () => globalAvgPoolF32Backward(rt, s, y.grad!.ptr, x.ensureGrad().ptr, { beta: 1 }));
}

export interface BatchNormState { runMean: Tensor; runVar: Tensor; momentum: number; eps: number }

/** Batch norm over the last dim (channels of NHWC, or features of [N, F]). */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, st: BatchNormState, training: boolean): Tensor {
  const c = x.shape[x.shape.length - 1], m = x.size / c, e = x.engine, rt = e.rt;
  const params = { m, c, eps: st.eps, momentum: st.momentum };
  const y = e.empty(x.shape, false), mean = e.empty([c], false), invstd = e.empty([c], false);
  if (training) {
    batchNormF32ForwardTrain(rt, params, { x: x.ptr, y: y.ptr, mean: mean.ptr, invstd: invstd.ptr, gamma: gamma.ptr, beta: beta.ptr, runMean: st.runMean.ptr, runVar: st.runVar.ptr });
  } else {
    batchNormF32ForwardEval(rt, params, { x: x.ptr, y: y.ptr, runMean: st.runMean.ptr, runVar: st.runVar.ptr, gamma: gamma.ptr, beta: beta.ptr, mean: mean.ptr, invstd: invstd.ptr });
  }
  return record(y, 'batchnorm', [x, gamma, beta], () => {
    const dgamma = gamma.requiresGrad ? gamma.ensureGrad() : e.empty([c], false);
    const dbeta = beta.requiresGrad ? beta.ensureGrad() : e.empty([c], false);
    const dx = x.requiresGrad ? x.ensureGrad() : e.empty(x.shape, false);
    batchNormF32Backward(rt, params, { x: x.ptr, dy: y.grad!.ptr, mean: mean.ptr, invstd: invstd.ptr, dx: dx.ptr, gamma: gamma.ptr, dgamma: dgamma.ptr, dbeta: dbeta.ptr }, { training, beta: 1 });
  });
}

/** Elementwise a + b (same shape): residual connections. */
export function add(a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new QwasmError(`add: shapes [${a.shape}] and [${b.shape}] differ`);
  const e = a.engine, rt = e.rt;
  const y = e.empty(a.shape, false);
  el.add(rt, a.ptr, b.ptr, y.ptr, a.size);
  return record(y, 'add', [a, b], () => {
    if (a.requiresGrad) el.axpy(rt, 1, y.grad!.ptr, a.ensureGrad().ptr, a.size);
    if (b.requiresGrad) el.axpy(rt, 1, y.grad!.ptr, b.ensureGrad().ptr, b.size);
  });
}

/** Inverted dropout with a seeded in-WASM mask (identity when p = 0 or not training). */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (p === 0) return x;
  const e = x.engine, rt = e.rt;
  const y = e.empty(x.shape, false);
  const mask = e.empty([Math.ceil(x.size / 4)], false); // u8 per element
  el.dropout(rt, x.ptr, y.ptr, mask.ptr, x.size, p, seed >>> 0);
  return record(y, 'dropout', [x], () => {
    const tmp = e.empty(x.shape, false);
    el.mulMask(rt, y.grad!.ptr, mask.ptr, tmp.ptr, x.size, 1 / (1 - p));
    el.axpy(rt, 1, tmp.ptr, x.ensureGrad().ptr, x.size);
  });
}

/** [n, ...] → [n, rest] (a view, no copy). */
export function flatten(x: Tensor): Tensor {
  return x.reshape([x.shape[0], x.size / x.shape[0]]);
}

function scalarLoss(e: Engine, value: number, op: string, parents: Tensor[], backward: (gradOut: number) => void): Tensor {
  const y = e.empty([1], false);
  y.data()[0] = value;
  return record(y, op, parents, () => backward(y.grad!.data()[0]));
}

/** Mean softmax cross-entropy of logits [m, n] against int32 labels at labelsPtr (WASM memory). */
export function crossEntropy(logits: Tensor, labelsPtr: number, smoothing = 0): Tensor {
  expectRank('logits', logits, 2);
  const [m, n] = logits.shape, e = logits.engine, rt = e.rt;
  const grad = logits.requiresGrad && e.gradEnabled ? e.empty(logits.shape, false) : null;
  const v = loss.softmaxCrossEntropy(rt, logits.ptr, labelsPtr, m, n, grad ? grad.ptr : 0, smoothing, 1);
  return scalarLoss(e, v, 'cross_entropy', [logits], (g) => el.axpy(rt, g, grad!.ptr, logits.ensureGrad().ptr, logits.size));
}

/** Hinton distillation loss: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), mean over the batch. */
export function distillKL(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  expectRank('student logits', student, 2);
  if (teacher.size !== student.size) throw new QwasmError(`teacher logits [${teacher.shape}] do not match student [${student.shape}]`);
  const [m, n] = student.shape, e = student.engine, rt = e.rt;
  const grad = student.requiresGrad && e.gradEnabled ? e.empty(student.shape, false) : null;
  const v = loss.klDistill(rt, student.ptr, teacher.ptr, m, n, temperature, grad ? grad.ptr : 0, 1);
  return scalarLoss(e, v, 'distill_kl', [student], (g) => el.axpy(rt, g, grad!.ptr, student.ensureGrad().ptr, student.size));
}

/** Mean squared error between a and a constant target b (hint loss). */
export function mse(a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new QwasmError(`mse: shapes [${a.shape}] and [${b.shape}] differ`);
  const e = a.engine, rt = e.rt;
  const grad = a.requiresGrad && e.gradEnabled ? e.empty(a.shape, false) : null;
  const v = loss.mse(rt, a.ptr, b.ptr, a.size, grad ? grad.ptr : 0, 1);
  return scalarLoss(e, v, 'mse', [a], (g) => el.axpy(rt, g, grad!.ptr, a.ensureGrad().ptr, a.size));
}

/** Σ wᵢ·lossᵢ of scalar losses (joint objectives). */
export function weightedSum(terms: [Tensor, number][]): Tensor {
  const e = terms[0][0].engine;
  let v = 0;
  for (const [t, w] of terms) v += w * t.item();
  const y = e.empty([1], false);
  y.data()[0] = v;
  return record(y, 'weighted_sum', terms.map(([t]) => t), () => {
    const g = y.grad!.data()[0];
    for (const [t, w] of terms) if (t.requiresGrad) t.ensureGrad().data()[0] += g * w;
  });
}
