// HardSwish (MobileNetV3): y = x · relu6(x + 3) / 6 — its differentiable op (kernels: assembly/hardswish_f32.ts)
// and its layer-registry entry. Being `pointwise`, everything above nn handles it without a line of its own:
// QAT fake-quantises its output, the int8 graph runs it as a 256-entry table (lut_s8), ONNX maps it to
// HardSwish (opset 14) both ways.
import type { Tensor } from '../autograd/tensor.js';
import { record } from '../autograd/record.js';
import { hardswishBackward, hardswishForward } from '../kernels/hardswish_f32.js';
import { Module } from './module.js';
import { registerLayer } from './registry.js';

/** y = x · relu6(x + 3) / 6, any shape. */
export function hardswish(x: Tensor): Tensor {
  const e = x.engine, rt = e.rt;
  const y = e.empty(x.shape, false);
  hardswishForward(rt, x.ptr, y.ptr, x.size);
  return record(y, 'hardswish', [x], () => hardswishBackward(rt, x.ptr, y.grad!.ptr, x.ensureGrad().ptr, x.size, true));
}

export class HardSwish extends Module {
  forward(x: Tensor): Tensor { return hardswish(x); }
  config() { return { type: 'HardSwish' }; }
}

registerLayer({
  type: 'HardSwish', cls: HardSwish,
  build: (_s, c) => new HardSwish(c.engine),
  pointwise: { f: (x) => x * Math.min(Math.max(x + 3, 0), 6) / 6, onnx: { op: 'HardSwish', opset: 14 } },
});
