// Smooth and "hard" activations of mobile networks (MobileNetV3, EfficientNet) and tanh, each a registered pointwise
// kind (src/nn/registry.ts): its real function f (the reference an int8 lookup table is built from) and its
// ONNX op, so QAT / int8 (a lookup table) / ONNX handle them generically (HardSigmoid and Clip carry parameters, so they are
// plain kinds). Kernels: assembly/act_f32.ts. HardSwish lives in hardswish.ts.
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as gops from '../autograd/ops-graph.js';
import { record } from '../autograd/record.js';
import { tanhBackward, tanhForward } from '../kernels/act_f32.js';
import { Module } from './module.js';
import { registerLayer } from './registry.js';
import { checkFinite } from '../errors.js';

const sigmoidF = (x: number) => 1 / (1 + Math.exp(-x));

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return gops.sigmoid(x); }
  config() { return { type: 'Sigmoid' }; }
}
registerLayer({ type: 'Sigmoid', cls: Sigmoid, build: (_s, c) => new Sigmoid(c.engine), pointwise: { f: sigmoidF, onnx: { op: 'Sigmoid', opset: 6 }, keras: ['sigmoid'] } });

/** max(0, min(1, alpha·x + beta)); PyTorch's nn.Hardsigmoid is alpha 1/6, beta 1/2 (the defaults here). */
export class HardSigmoid extends Module {
  constructor(engine: Engine, readonly alpha = 1 / 6, readonly beta = 0.5) {
    super(engine);
    checkFinite('alpha', alpha); checkFinite('beta', beta);
  }
  forward(x: Tensor): Tensor { return gops.hardSigmoid(x, this.alpha, this.beta); }
  config() { return { type: 'HardSigmoid', alpha: this.alpha, beta: this.beta }; }
}
// pointwise.f is PyTorch's hardsigmoid (alpha 1/6, beta 1/2); other parameters have no generic int8 / ONNX form
registerLayer({ type: 'HardSigmoid', cls: HardSigmoid, build: (s, c) => new HardSigmoid(c.engine, c.num(s, 'alpha'), c.num(s, 'beta')) });

/** x · sigmoid(x) (swish; EfficientNet). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor { return gops.silu(x); }
  config() { return { type: 'SiLU' }; }
}
registerLayer({ type: 'SiLU', cls: SiLU, build: (_s, c) => new SiLU(c.engine), pointwise: { f: (x) => x * sigmoidF(x), keras: ['swish', 'silu'] } });

/** tanh(x), any shape: the differentiable op (kernels: assembly/act_f32.ts tanh_f32_fwd / _bwd). */
export function tanh(x: Tensor): Tensor {
  const e = x.engine, rt = e.rt, y = e.empty(x.shape, false);
  tanhForward(rt, x.ptr, y.ptr, x.size);
  return record(y, 'tanh', [x], () => tanhBackward(rt, y.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

/** tanh (Keras activation 'tanh', ONNX Tanh). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return tanh(x); }
  config() { return { type: 'Tanh' }; }
}
registerLayer({ type: 'Tanh', cls: Tanh, build: (_s, c) => new Tanh(c.engine), pointwise: { f: Math.tanh, onnx: { op: 'Tanh', opset: 6 }, keras: ['tanh'] } });

/** min(max(x, lo), hi): ONNX Clip with bounds other than ReLU's (0, ∞) and ReLU6's (0, 6). Infinite bounds are
 * recorded as null in the description (JSON has no Infinity). */
export class Clip extends Module {
  constructor(engine: Engine, readonly lo = -Infinity, readonly hi = Infinity) {
    super(engine);
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new RangeError(`Clip bounds must be numbers with lo ≤ hi, got [${lo}, ${hi}]`);
  }
  forward(x: Tensor): Tensor { return gops.clip(x, this.lo, this.hi); }
  config() { return { type: 'Clip', lo: Number.isFinite(this.lo) ? this.lo : null, hi: Number.isFinite(this.hi) ? this.hi : null }; }
}
registerLayer({
  type: 'Clip', cls: Clip,
  build: (s, c) => new Clip(c.engine, s.lo === null ? -Infinity : c.num(s, 'lo'), s.hi === null ? Infinity : c.num(s, 'hi')),
});
