// f32 graph merges (assembly/merge_f32.ts) at pointer level: the squeeze-excite channel gate
// y[b,p,j] = x[b,p,j]·s[b,j] and the strided row copy that concatenates NHWC maps along channels.
import type { Runtime } from '../runtime.js';
import { checkInt } from '../errors.js';
import { checkBool, checkCount, checkPtr } from './eltwise_f32.js';

export interface ChanMulShape { n: number; hw: number; c: number }

function shapeOf(s: ChanMulShape): number {
  checkCount('n', s.n); checkCount('hw', s.hw); checkCount('c', s.c);
  const total = s.n * s.hw * s.c;
  if (total > 1 << 28) throw new RangeError(`n×hw×c = ${s.n}×${s.hw}×${s.c} is too large for one call`);
  return total;
}

/** y = x · s broadcast over the pixels: x, y [n, hw, c], s [n, c]. */
export function chanMulForward(rt: Runtime, s: ChanMulShape, x: number, gate: number, y: number): void {
  const total = shapeOf(s);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 's', gate, s.n * s.c); checkPtr(rt, 'y', y, total);
  rt.exports.chanmul_f32_fwd(x, gate, y, s.n, s.hw, s.c);
}

/** dx += dy·s and ds[b,j] += Σ_p dy·x; either gradient pointer may be 0 (not needed). */
export function chanMulBackward(rt: Runtime, s: ChanMulShape, x: number, gate: number, dy: number, dx: number, ds: number): void {
  const total = shapeOf(s);
  checkPtr(rt, 'x', x, total); checkPtr(rt, 's', gate, s.n * s.c); checkPtr(rt, 'dy', dy, total);
  checkPtr(rt, 'dx', dx, total, 4, true); checkPtr(rt, 'ds', ds, s.n * s.c, 4, true);
  rt.exports.chanmul_f32_bwd(x, gate, dy, dx, ds, s.n, s.hw, s.c);
}

/** dst[r·dstStride + k] (+)= src[r·srcStride + k] for r < rows, k < width (strides in floats). */
export function copyRows(rt: Runtime, src: number, srcStride: number, dst: number, dstStride: number, rows: number, width: number, accumulate = false): void {
  checkCount('rows', rows); checkCount('width', width);
  checkInt('srcStride', srcStride, width); checkInt('dstStride', dstStride, width); checkBool('accumulate', accumulate);
  checkPtr(rt, 'src', src, (rows - 1) * srcStride + width); checkPtr(rt, 'dst', dst, (rows - 1) * dstStride + width);
  rt.exports.copy_rows_f32(src, srcStride, dst, dstStride, rows, width, accumulate ? 1 : 0);
}
