// The typed-array entry points the matmul handles share (SparseMatrixF32/S8, LowRankF32/S8, PackedGemmF32):
// x [m × k] copied into WASM memory, the handle's pointer-level run, y [m × n] copied out; temporaries freed.
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, QwasmError } from '../errors.js';

type Run = (xp: number, m: number, yp: number) => void;

/** x must hold m × k elements of `ctor`, m ≥ 1, and m·k must fit one call. */
export function checkMatmulX(k: number, x: unknown, m: number, ctor: Float32ArrayConstructor | Int8ArrayConstructor): void {
  checkInt('m', m, 1, 1 << 24);
  if (m * k > 0x40000000) throw new RangeError(`m×k = ${m}×${k} is too large for one call`);
  checkArray('x', x, ctor, m * k);
}

/** y [m × n] f32 of `run(xPtr, m, yPtr)`. */
export function f32Result(rt: Runtime, x: Float32Array, m: number, n: number, run: Run): Float32Array {
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * n * 4);
    run(xp, m, yp);
    return rt.f32(yp, m * n).slice();
  });
}

/** y [m × n] int32 accumulators of `run(xPtr, m, yPtr)`. */
export function int32Result(rt: Runtime, x: Int8Array, m: number, n: number, run: Run): Int32Array {
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * n * 4);
    run(xp, m, yp);
    return rt.i32(yp, m * n).slice();
  });
}

/** y [m × n] requantised int8 of `run(xPtr, m, yPtr)`. */
export function int8Result(rt: Runtime, x: Int8Array, m: number, n: number, run: Run): Int8Array {
  return rt.scoped((s) => {
    const xp = s.put(x), yp = s.alloc(m * n);
    run(xp, m, yp);
    return rt.i8(yp, m * n).slice();
  });
}

/** An int8 handle (SparseMatrixS8, LowRankS8): exact int32 output, or int8 when built with requantisation. */
export interface S8Handle {
  readonly rt: Runtime; readonly k: number; readonly n: number;
  runInt32(xPtr: number, m: number, yPtr: number, ldx?: number, ldy?: number): void;
  runInt8(xPtr: number, m: number, yPtr: number, ldx?: number, ldy?: number): void;
}

/** The handle's runPtr: runInt8 when it requantises, else runInt32. */
export function s8Run(h: S8Handle, requantised: boolean, xPtr: number, m: number, yPtr: number, ldx: number, ldy: number): void {
  if (requantised) h.runInt8(xPtr, m, yPtr, ldx, ldy);
  else h.runInt32(xPtr, m, yPtr, ldx, ldy);
}

/** The handle's typed-array matmulInt32 (the caller checks it is live). */
export function s8MatmulInt32(h: S8Handle, x: Int8Array, m: number): Int32Array {
  checkMatmulX(h.k, x, m, Int8Array);
  return int32Result(h.rt, x, m, h.n, (xp, mm, yp) => h.runInt32(xp, mm, yp));
}

/** The handle's typed-array matmul (requantised int8); `noRequant` is the error when it was built without. */
export function s8Matmul(h: S8Handle, requantised: boolean, noRequant: string, x: Int8Array, m: number): Int8Array {
  checkMatmulX(h.k, x, m, Int8Array);
  if (!requantised) throw new QwasmError(noRequant);
  return int8Result(h.rt, x, m, h.n, (xp, mm, yp) => h.runInt8(xp, mm, yp));
}
