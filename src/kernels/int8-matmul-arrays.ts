// The typed-array entry points the int8 matmul handles share (SparseMatrixS8, LowRankS8): x [m × k] int8 copied
// into WASM memory, the handle's pointer-level run, y [m × n] copied out; temporaries freed.
import type { Runtime } from '../runtime.js';

/** y [m × n] int32 accumulators of `run(xPtr, m, yPtr)`. */
export function int32Result(rt: Runtime, x: Int8Array, m: number, n: number, run: (xp: number, m: number, yp: number) => void): Int32Array {
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * n * 4);
    run(xp, m, yp);
    return rt.i32(yp, m * n).slice();
  });
}

/** y [m × n] requantised int8 of `run(xPtr, m, yPtr)`. */
export function int8Result(rt: Runtime, x: Int8Array, m: number, n: number, run: (xp: number, m: number, yp: number) => void): Int8Array {
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * n);
    run(xp, m, yp);
    return rt.i8(yp, m * n).slice();
  });
}
