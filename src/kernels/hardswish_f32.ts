// HardSwish forward / backward kernels (assembly/hardswish_f32.ts), pointer level like src/kernels/eltwise_f32.ts:
// the Runtime, byte pointers into WASM memory, every argument checked; `ref` selects the reference twin.
import type { Runtime } from '../runtime.js';
import { checkBool, checkCount, checkPtr } from './eltwise_f32.js';

/** y = x · relu6(x + 3) / 6 (n floats; y may alias x). */
export function hardswishForward(rt: Runtime, x: number, y: number, n: number, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'y', y, n);
  rt.exports[ref ? 'hardswish_f32_fwd_ref' : 'hardswish_f32_fwd'](x, y, n);
}

/** dx (+)= dy · hardswish'(x), x the forward input (PyTorch's derivative: 0 below −3, x/3 + ½ up to 3, then 1). */
export function hardswishBackward(rt: Runtime, x: number, dy: number, dx: number, n: number, accumulate = false, ref = false): void {
  checkCount('n', n); checkPtr(rt, 'x', x, n); checkPtr(rt, 'dy', dy, n); checkPtr(rt, 'dx', dx, n); checkBool('accumulate', accumulate);
  rt.exports[ref ? 'hardswish_f32_bwd_ref' : 'hardswish_f32_bwd'](x, dy, dx, n, accumulate ? 1 : 0);
}
