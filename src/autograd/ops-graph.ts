// Differentiable ops of imported graphs (MobileNetV3, EfficientNet, SqueezeNet): sigmoid, hard sigmoid
// (hard swish: src/nn/hardswish.ts), SiLU, clip, elementwise and squeeze-excite (per-sample channel gate) products, and channel concatenation.
// Same conventions as ops.ts: kernels run by pointer on WASM-resident tensors, outputs are step temporaries,
// backward closures *accumulate* into the inputs' gradients. Layout NHWC: the channel axis is the last one.
import type { Tensor } from './tensor.js';
import { QwasmError } from '../errors.js';
import { record } from './record.js';
import * as act from '../kernels/act_f32.js';
import * as el from '../kernels/eltwise_f32.js';
import { chanMulBackward, chanMulForward, copyRows } from '../kernels/merge_f32.js';

/** 1 / (1 + e^−x). */
export function sigmoid(x: Tensor): Tensor {
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false);
  act.sigmoidForward(rt, x.ptr, y.ptr, x.size);
  return record(y, 'sigmoid', [x], () => act.sigmoidBackward(rt, y.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

/** x · sigmoid(x) (swish). */
export function silu(x: Tensor): Tensor {
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false);
  act.siluForward(rt, x.ptr, y.ptr, x.size);
  return record(y, 'silu', [x], () => act.siluBackward(rt, x.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

/** max(0, min(1, alpha·x + beta)). */
export function hardSigmoid(x: Tensor, alpha: number, beta: number): Tensor {
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false), p = { alpha, beta };
  act.hardSigmoidForward(rt, p, x.ptr, y.ptr, x.size);
  return record(y, 'hardsigmoid', [x], () => act.hardSigmoidBackward(rt, p, x.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

/** min(max(x, lo), hi) (±Infinity for a missing bound). */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false), p = { lo, hi };
  act.clipForward(rt, p, x.ptr, y.ptr, x.size);
  return record(y, 'clip', [x], () => act.clipBackward(rt, p, x.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

/** a · b elementwise (same shape). */
export function mul(a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new QwasmError(`mul: shapes [${a.shape}] and [${b.shape}] differ`);
  const e = a.engine, rt = e.rt, y = e.empty(a.shape, false);
  el.mul(rt, a.ptr, b.ptr, y.ptr, a.size);
  return record(y, 'mul', [a, b], () => {
    const tmp = e.empty(a.shape, false);
    if (a.requiresGrad) { el.mul(rt, y.grad!.ptr, b.ptr, tmp.ptr, a.size); el.axpy(rt, 1, tmp.ptr, a.ensureGrad().ptr, a.size); }
    if (b.requiresGrad) { el.mul(rt, y.grad!.ptr, a.ptr, tmp.ptr, a.size); el.axpy(rt, 1, tmp.ptr, b.ensureGrad().ptr, a.size); }
  });
}

/**
 * x [n, h, w, c] times a per-sample channel gate s ([n, 1, 1, c] or [n, c]): squeeze-excite's scale, ONNX's
 * Mul with broadcasting [N,C,1,1] × [N,C,H,W].
 */
export function mulChannels(x: Tensor, s: Tensor): Tensor {
  const n = x.shape[0], c = x.shape[x.shape.length - 1];
  const ok = (s.shape.length === 2 || (s.shape.length === 4 && s.shape[1] === 1 && s.shape[2] === 1)) && s.shape[0] === n && s.shape[s.shape.length - 1] === c;
  if (!ok) throw new QwasmError(`mulChannels: the gate [${s.shape}] must be [${n}, 1, 1, ${c}] or [${n}, ${c}] for input [${x.shape}]`);
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false), sh = { n, hw: x.size / (n * c), c };
  chanMulForward(rt, sh, x.ptr, s.ptr, y.ptr);
  return record(y, 'mul_channels', [x, s], () => {
    chanMulBackward(rt, sh, x.ptr, s.ptr, y.grad!.ptr, x.requiresGrad ? x.ensureGrad().ptr : 0, s.requiresGrad ? s.ensureGrad().ptr : 0);
  });
}

/** Concatenation along the last (channel) axis; every input has the same leading dims. */
export function concat(xs: Tensor[]): Tensor {
  if (xs.length < 1) throw new QwasmError('concat needs at least one input');
  const lead = xs[0].shape.slice(0, -1);
  for (const t of xs) {
    if (t.shape.length !== lead.length + 1 || t.shape.slice(0, -1).some((d, i) => d !== lead[i])) {
      throw new QwasmError(`concat: input shapes [${xs.map((x) => `[${x.shape}]`).join(', ')}] differ outside the channel (last) axis`);
    }
  }
  const widths = xs.map((t) => t.shape[t.shape.length - 1]), total = widths.reduce((a, b) => a + b, 0);
  const rows = xs[0].size / widths[0];
  const e = xs[0].engine, rt = e.rt, y = e.empty([...lead, total], false);
  let off = 0;
  for (let i = 0; i < xs.length; i++) { copyRows(rt, xs[i].ptr, widths[i], y.ptr + off * 4, total, rows, widths[i]); off += widths[i]; }
  return record(y, 'concat', xs, () => {
    let o = 0;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i].requiresGrad) copyRows(rt, y.grad!.ptr + o * 4, total, xs[i].ensureGrad().ptr, widths[i], rows, widths[i], true);
      o += widths[i];
    }
  });
}
