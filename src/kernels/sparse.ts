// Sparse matmul for pruned weights (assembly/sparse.ts): y[M×N] = x[M×K] · W[K×N] + bias with W stored as
// one of three formats, built here from a dense matrix plus a mask (the nonzeros of W when no mask is given).
//   format 'csr'   — unstructured. f32: per-output-column lists (SIMD over 4 rows of x). int8: "steps" —
//                    column quads × 16-wide K windows gathered by i8x16.swizzle — for M < 8 and the last
//                    M mod 8 rows, plus per-column weight pairs for blocks of 8 rows (SIMD over M); both are
//                    stored (see `bytes`).
//   format 'block' — the mask is made of aligned bk×bn blocks (bn ∈ {4, 8}, bk ∈ [1, 64]); per group of bn
//                    columns, the list of kept rows (SIMD over N).
//   format 'nm'    — N:M ("keep:group"): at most `keep` kept weights in every `group` consecutive k of each
//                    column (2:4, 1:4, …). int8: the same two representations as 'csr', but every step is full. f32 with
//                    group ≤ 4: a one-float-per-column swizzle gather; f32 with group > 4 falls back to 'csr'.
// Each handle owns one WASM allocation holding its whole format (`bytes`); free it with dispose().
import { checkMatmulX, f32Result, s8Matmul, s8MatmulInt32, s8Run } from './int8-matmul-arrays.js';
import type { Runtime } from '../runtime.js';
import { checkArray, checkInt, describe, QwasmError } from '../errors.js';
import { resolveRequant, type RequantParams, type ResolvedRequant } from './requant.js';
import { OUT_I32, OUT_S8 } from './gemm_s8.js';

export type SparseFormat = 'csr' | 'block' | 'nm';

export interface SparseOptions {
  /** u8[K×N], nonzero = kept. Default: the nonzeros of W. */
  mask?: Uint8Array;
  /** Default 'csr' (unstructured). */
  format?: SparseFormat;
  /** Block shape [bk, bn] for format 'block'; bn ∈ {4, 8}, bk ∈ [1, 64]. Default [1, 8]. */
  block?: [number, number];
  /** [keep, group] for format 'nm', 1 ≤ keep < group ≤ 16. Default [2, 4]. */
  nm?: [number, number];
}

export interface SparseF32Options extends SparseOptions {
  bias?: Float32Array;
}

export interface SparseS8Options extends SparseOptions, Partial<RequantParams> {
  /** Zero point of the activations x, in [-128, 127]; default 0. */
  aZeroPoint?: number;
  /** int32 bias per output column (accumulator units). */
  bias?: Int32Array;
}

// ------------------------------------------------------------------ masks

type Weights = Float32Array | Int8Array;

function checkWeights(name: string, w: unknown, k: number, n: number): Weights {
  if (!(w instanceof Float32Array) && !(w instanceof Int8Array)) throw new TypeError(`${name} must be a Float32Array or Int8Array, got ${describe(w)}`);
  if (w.length !== k * n) throw new RangeError(`${name} must have length ${k * n}, got ${w.length}`);
  return w;
}

/** Keeps, in every run of `group` consecutive k of each column, the `keep` weights of largest magnitude. */
export function nmMask(w: Weights, k: number, n: number, keep: number, group: number): Uint8Array {
  checkInt('k', k, 1); checkInt('n', n, 1);
  checkWeights('w', w, k, n);
  checkInt('group', group, 2, 16);
  checkInt('keep', keep, 1, group - 1);
  const mask = new Uint8Array(k * n);
  const order: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let k0 = 0; k0 < k; k0 += group) {
      order.length = 0;
      for (let kk = k0; kk < Math.min(k, k0 + group); kk++) order.push(kk);
      order.sort((a, b) => Math.abs(w[b * n + j]) - Math.abs(w[a * n + j]) || a - b);
      for (let t = 0; t < Math.min(keep, order.length); t++) mask[order[t] * n + j] = 1;
    }
  }
  return mask;
}

/** Keeps the aligned bk×bn blocks of largest L1 norm, a fraction `density` ∈ [0, 1] of all blocks. */
export function blockMask(w: Weights, k: number, n: number, bk: number, bn: number, density: number): Uint8Array {
  checkInt('k', k, 1); checkInt('n', n, 1);
  checkWeights('w', w, k, n);
  checkInt('bk', bk, 1, 64);
  checkInt('bn', bn, 1, 64);
  if (typeof density !== 'number' || !(density >= 0 && density <= 1)) throw new RangeError(`density must be in [0, 1], got ${describe(density)}`);
  const kb = Math.ceil(k / bk), nb = Math.ceil(n / bn);
  const norms: { b: number; s: number }[] = [];
  for (let a = 0; a < kb; a++) {
    for (let c = 0; c < nb; c++) {
      let s = 0;
      for (let kk = a * bk; kk < Math.min(k, a * bk + bk); kk++) for (let j = c * bn; j < Math.min(n, c * bn + bn); j++) s += Math.abs(w[kk * n + j]);
      norms.push({ b: a * nb + c, s });
    }
  }
  norms.sort((x, y) => y.s - x.s || x.b - y.b);
  const keepN = Math.round(density * norms.length);
  const mask = new Uint8Array(k * n);
  for (let t = 0; t < keepN; t++) {
    const a = Math.floor(norms[t].b / nb), c = norms[t].b % nb;
    for (let kk = a * bk; kk < Math.min(k, a * bk + bk); kk++) for (let j = c * bn; j < Math.min(n, c * bn + bn); j++) mask[kk * n + j] = 1;
  }
  return mask;
}

/** Unstructured magnitude pruning: keeps the fraction `density` of weights with the largest |w|. */
export function magnitudeMask(w: Weights, k: number, n: number, density: number): Uint8Array {
  checkInt('k', k, 1); checkInt('n', n, 1);
  checkWeights('w', w, k, n);
  if (typeof density !== 'number' || !(density >= 0 && density <= 1)) throw new RangeError(`density must be in [0, 1], got ${describe(density)}`);
  const idx = Array.from({ length: k * n }, (_, i) => i);
  idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
  const mask = new Uint8Array(k * n);
  const keepN = Math.round(density * k * n);
  for (let t = 0; t < keepN; t++) mask[idx[t]] = 1;
  return mask;
}

/** Kept flags (mask given: mask ≠ 0, else w ≠ 0). */
function resolveMask(w: Weights, k: number, n: number, mask: unknown): Uint8Array {
  if (mask === undefined) {
    const m = new Uint8Array(k * n);
    for (let i = 0; i < m.length; i++) m[i] = w[i] !== 0 ? 1 : 0;
    return m;
  }
  const mk = checkArray('mask', mask, Uint8Array, k * n);
  const m = new Uint8Array(k * n);
  for (let i = 0; i < m.length; i++) m[i] = mk[i] !== 0 ? 1 : 0;
  return m;
}

interface Structure { format: SparseFormat; bk: number; bn: number; keep: number; group: number }

function resolveStructure(opts: SparseOptions, kept: Uint8Array, k: number, n: number): Structure {
  const format = opts.format ?? 'csr';
  if (format !== 'csr' && format !== 'block' && format !== 'nm') throw new TypeError(`format must be 'csr', 'block' or 'nm', got ${describe(format)}`);
  const s: Structure = { format, bk: 1, bn: 8, keep: 2, group: 4 };
  if (format === 'block') {
    const b = opts.block ?? [1, 8];
    if (!Array.isArray(b) || b.length !== 2) throw new TypeError(`block must be [bk, bn], got ${describe(b)}`);
    s.bk = checkInt('block[0] (bk)', b[0], 1, 64);
    s.bn = checkInt('block[1] (bn)', b[1], 4, 8);
    if (s.bn !== 4 && s.bn !== 8) throw new RangeError(`block[1] (bn) must be 4 or 8, got ${s.bn}`);
    for (let k0 = 0; k0 < k; k0 += s.bk) {
      for (let n0 = 0; n0 < n; n0 += s.bn) {
        const first = kept[k0 * n + n0];
        for (let kk = k0; kk < Math.min(k, k0 + s.bk); kk++) {
          for (let j = n0; j < Math.min(n, n0 + s.bn); j++) {
            if (kept[kk * n + j] !== first) {
              throw new QwasmError(`mask is not made of ${s.bk}×${s.bn} blocks: block at (k ${k0}, n ${n0}) is partly kept (see blockMask)`);
            }
          }
        }
      }
    }
  } else if (format === 'nm') {
    const p = opts.nm ?? [2, 4];
    if (!Array.isArray(p) || p.length !== 2) throw new TypeError(`nm must be [keep, group], got ${describe(p)}`);
    s.group = checkInt('nm[1] (group)', p[1], 2, 16);
    s.keep = checkInt('nm[0] (keep)', p[0], 1, s.group - 1);
    for (let j = 0; j < n; j++) {
      for (let k0 = 0; k0 < k; k0 += s.group) {
        let c = 0;
        for (let kk = k0; kk < Math.min(k, k0 + s.group); kk++) c += kept[kk * n + j];
        if (c > s.keep) throw new QwasmError(`mask is not ${s.keep}:${s.group}: column ${j} keeps ${c} weights in k ${k0}..${Math.min(k, k0 + s.group) - 1} (see nmMask)`);
      }
    }
  }
  return s;
}

// ------------------------------------------------------------------ one-allocation format images

class Image {
  private parts: { off: number; data: ArrayBufferView }[] = [];
  size = 0;
  add(data: ArrayBufferView): number {
    const off = this.size;
    this.parts.push({ off, data });
    this.size = (off + data.byteLength + 15) & ~15;
    return off;
  }
  upload(rt: Runtime): number {
    const ptr = rt.alloc(this.size);
    const mem = rt.u8(ptr, this.size);
    mem.fill(0);
    for (const p of this.parts) mem.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), p.off);
    return ptr;
  }
}

const idxArray = (k: number, len: number): Uint16Array | Uint32Array => (k <= 65535 ? new Uint16Array(len) : new Uint32Array(len));

/** Kept rows of the columns [n0, n0 + g) in increasing k. */
function groupRows(kept: Uint8Array, k: number, n: number, n0: number, g: number): number[] {
  const rows: number[] = [];
  for (let kk = 0; kk < k; kk++) {
    for (let j = n0; j < Math.min(n, n0 + g); j++) if (kept[kk * n + j]) { rows.push(kk); break; }
  }
  return rows;
}

/**
 * Block layout: the kept rows of each block of g columns, and gstart[q] = where block q's entries start when a
 * block of r rows takes per(r) entries (rows for f32, row pairs for int8); total = all entries.
 */
function blockRows(kept: Uint8Array, k: number, n: number, g: number, per: (rows: number) => number): { all: number[][]; gstart: Uint32Array; total: number } {
  const ng = Math.ceil(n / g), gstart = new Uint32Array(ng + 1), all: number[][] = [];
  let total = 0;
  for (let q = 0; q < ng; q++) { const r = groupRows(kept, k, n, q * g, g); all.push(r); gstart[q] = total; total += per(r.length); }
  gstart[ng] = total;
  return { all, gstart, total };
}

// int8 / f32 "steps" over 4-column quads. win = 16 (int8, 4 slots per column per step) or 4 (f32, 1 slot).
// Returns qstart, kst and the step bytes (idx part filled; weights via the callback).
function buildSteps(kept: Uint8Array, k: number, n: number, win: number, slots: number, bytesPerStep: number,
                    put: (step: Uint8Array, lane: number, slot: number, kk: number, col: number, off: number) => void,
                    blank?: Uint8Array) {
  const nq = Math.ceil(n / 4);
  const qstart = new Uint32Array(nq + 1);
  const kstList: number[] = [];
  const chunks: Uint8Array[] = [];
  const lists: number[][] = [[], [], [], []];
  for (let q = 0; q < nq; q++) {
    qstart[q] = kstList.length;
    for (let kb = 0; kb < k; kb += win) {
      const ks = k >= win ? Math.min(kb, k - win) : 0;
      let most = 0;
      for (let l = 0; l < 4; l++) {
        const col = q * 4 + l, list = lists[l];
        list.length = 0;
        if (col < n) for (let kk = kb; kk < Math.min(k, kb + win); kk++) if (kept[kk * n + col]) list.push(kk);
        most = Math.max(most, list.length);
      }
      const ns = Math.ceil(most / slots);
      for (let s = 0; s < ns; s++) {
        const step = new Uint8Array(bytesPerStep);
        if (blank) step.set(blank);
        for (let l = 0; l < 4; l++) {
          for (let t = 0; t < slots; t++) {
            const kk = lists[l][s * slots + t];
            if (kk !== undefined) put(step, l, t, kk, q * 4 + l, kk - ks);
          }
        }
        chunks.push(step);
        kstList.push(ks);
      }
    }
  }
  qstart[nq] = kstList.length;
  const steps = new Uint8Array(Math.max(1, chunks.length) * bytesPerStep);
  chunks.forEach((c, i) => steps.set(c, i * bytesPerStep));
  return { qstart, kst: Uint32Array.from(kstList.length ? kstList : [0]), steps, nsteps: chunks.length };
}

// f32 padding lanes gather a whole float (bytes 0..3 of the window, never a byte pattern that could be NaN)
// and multiply it by a zero weight.
const F32_BLANK = Uint8Array.of(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);

// int8 step lane layout: column l of the quad owns bytes 2l, 2l+1, 8+2l, 9+2l.
const S8_POS = [0, 1, 8, 9];

// ------------------------------------------------------------------ handles


/** w holds k × n weights of `ctor`, k and n in [1, 2^24] (the handles and references). */
function checkMatrix(w: unknown, k: number, n: number, ctor: Float32ArrayConstructor | Int8ArrayConstructor): void {
  checkInt('k', k, 1, 1 << 24);
  checkInt('n', n, 1, 1 << 24);
  checkArray('w', w, ctor, k * n);
}

abstract class SparseBase {
  readonly ptr: number;
  readonly bytes: number;
  readonly nnz: number;
  readonly density: number;
  protected disposed = false;
  protected off: Record<string, number> = {};

  constructor(readonly rt: Runtime, readonly k: number, readonly n: number, readonly format: SparseFormat,
              readonly structure: Structure, kept: Uint8Array, img: Image) {
    let nnz = 0;
    for (let i = 0; i < kept.length; i++) nnz += kept[i];
    this.nnz = nnz;
    this.density = nnz / (k * n);
    this.bytes = img.size;
    this.ptr = img.upload(rt);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.ptr);
  }

  protected live(): void {
    if (this.disposed) throw new QwasmError(`${this.constructor.name} used after dispose()`);
  }

  protected p(name: string): number { return this.ptr + this.off[name]; }
}

/** f32 sparse weights; y = x·W + bias. */
export class SparseMatrixF32 extends SparseBase {
  private readonly kind: 'csr' | 'rows' | 'steps';
  private readonly g: number;

  constructor(rt: Runtime, w: Float32Array, k: number, n: number, opts: SparseF32Options = {}) {
    checkMatrix(w, k, n, Float32Array);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Float32Array, n);
    const kept = resolveMask(w, k, n, opts.mask);
    const st = resolveStructure(opts, kept, k, n);
    const img = new Image();
    const off: Record<string, number> = {};
    let kind: 'csr' | 'rows' | 'steps' = 'csr';
    let g = 0;
    const biasPadded = (mult: number) => { const b = new Float32Array(Math.ceil(n / mult) * mult + 8); if (opts.bias) b.set(opts.bias); return b; };
    if (st.format === 'block') {
      kind = 'rows'; g = st.bn;
      const { all, gstart, total } = blockRows(kept, k, n, g, (rows) => rows), ng = all.length;
      const idx = idxArray(k, Math.max(1, total)), vals = new Float32Array(Math.max(1, total) * g);
      let t = 0;
      for (let q = 0; q < ng; q++) {
        for (const kk of all[q]) {
          idx[t] = kk;
          for (let j = 0; j < g; j++) { const col = q * g + j; if (col < n && kept[kk * n + col]) vals[t * g + j] = w[kk * n + col]; }
          t++;
        }
      }
      off.gstart = img.add(gstart); off.idx = img.add(idx); off.vals = img.add(vals); off.bias = img.add(biasPadded(8));
    } else if (st.format === 'nm' && st.group <= 4) {
      kind = 'steps';
      const { qstart, kst, steps } = buildSteps(kept, k, n, 4, 1, 32, (step, lane, _slot, kk, col, o) => {
        for (let b = 0; b < 4; b++) step[lane * 4 + b] = o * 4 + b;
        new DataView(step.buffer).setFloat32(16 + lane * 4, w[kk * n + col], true);
      }, F32_BLANK);
      off.qstart = img.add(qstart); off.kst = img.add(kst); off.steps = img.add(steps); off.bias = img.add(biasPadded(4));
    } else {
      const cstart = new Uint32Array(n + 1);
      let total = 0;
      for (let j = 0; j < n; j++) { cstart[j] = total; for (let kk = 0; kk < k; kk++) total += kept[kk * n + j]; }
      cstart[n] = total;
      const idx = idxArray(k, Math.max(1, total)), vals = new Float32Array(Math.max(1, total));
      let t = 0;
      for (let j = 0; j < n; j++) for (let kk = 0; kk < k; kk++) if (kept[kk * n + j]) { idx[t] = kk; vals[t] = w[kk * n + j]; t++; }
      off.cstart = img.add(cstart); off.idx = img.add(idx); off.vals = img.add(vals); off.bias = img.add(biasPadded(8));
    }
    super(rt, k, n, st.format, st, kept, img);
    this.off = off;
    this.kind = kind;
    this.g = g;
  }

  /** y (f32, m×n, row stride ldy) for x at xPtr (f32, m×k, row stride ldx). */
  runPtr(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    const e = this.rt.exports, k = this.k, n = this.n, i16 = k <= 65535 ? 1 : 0;
    if (this.kind === 'csr') e.sparse_gemm_f32_csr(m, k, n, xPtr, ldx, this.p('cstart'), this.p('idx'), i16, this.p('vals'), this.p('bias'), yPtr, ldy);
    else if (this.kind === 'rows') e.sparse_gemm_f32_rows(m, k, n, this.g, xPtr, ldx, this.p('gstart'), this.p('idx'), i16, this.p('vals'), this.p('bias'), yPtr, ldy);
    else e.sparse_gemm_f32_steps(m, k, n, xPtr, ldx, this.p('qstart'), this.p('kst'), this.p('steps'), this.p('bias'), yPtr, ldy);
  }

  matmul(x: Float32Array, m: number): Float32Array {
    this.live();
    checkMatmulX(this.k, x, m, Float32Array);
    return f32Result(this.rt, x, m, this.n, (xp, mm, yp) => this.runPtr(xp, mm, yp));
  }
}

/** int8 sparse weights (in [-127, 127]); acc = bias + Σ kept (x − zpA)·w, then exact int32 or requantised int8. */
export class SparseMatrixS8 extends SparseBase {
  readonly requant: ResolvedRequant | null;
  readonly scalePtr: number;
  private readonly kind: 'steps' | 'rows';
  private readonly g: number;
  private readonly consec: number;

  // Long (~95 lines): checks every option, then encodes one of three sparse layouts into WASM memory with the
  // frees on failure in one place.
  constructor(rt: Runtime, w: Int8Array, k: number, n: number, opts: SparseS8Options = {}) {
    checkMatrix(w, k, n, Int8Array);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
    for (let i = 0; i < w.length; i++) {
      if (w[i] === -128) throw new RangeError(`w[${i}] is -128: int8 weights must lie in [-127, 127] (TFLite symmetric)`);
    }
    const zpA = checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
    if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
    const requant = opts.scale !== undefined ? resolveRequant(opts as RequantParams, n) : null;
    const kept = resolveMask(w, k, n, opts.mask);
    const st = resolveStructure(opts, kept, k, n);
    // bias'[j] = bias[j] − zpA · Σ kept w[k][j]
    const folded = (len: number) => {
      const b = new Int32Array(len);
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let kk = 0; kk < k; kk++) if (kept[kk * n + j]) s += w[kk * n + j];
        b[j] = (opts.bias ? opts.bias[j] : 0) - zpA * s;
      }
      return b;
    };
    const img = new Image();
    const off: Record<string, number> = {};
    let kind: 'steps' | 'rows' = 'steps';
    let g = 0, consec = 0;
    if (st.format === 'block') {
      kind = 'rows'; g = st.bn;
      const { all, gstart, total: pairs } = blockRows(kept, k, n, g, (rows) => Math.ceil(rows / 2)), ng = all.length;
      const pidx = idxArray(k, Math.max(2, 2 * pairs)), wts = new Int8Array(Math.max(1, pairs) * 2 * g);
      let t = 0;
      consec = 1;
      for (let q = 0; q < ng; q++) {
        const r = all[q];
        for (let a = 0; a < r.length; a += 2) {
          // a lone last row k pairs with k − 1 (weight 0) so pairs stay consecutive when possible
          let ka = r[a], kb = a + 1 < r.length ? r[a + 1] : -1, wa = true, wb = kb >= 0;
          if (kb < 0) { if (ka >= 1) { kb = ka; ka = ka - 1; wa = false; wb = true; } else kb = ka; }
          pidx[2 * t] = ka; pidx[2 * t + 1] = kb;
          if (kb !== ka + 1) consec = 0;
          for (let j = 0; j < g; j++) {
            const col = q * g + j;
            if (col >= n) continue;
            if (wa && kept[ka * n + col]) wts[t * 2 * g + 2 * j] = w[ka * n + col];
            if (wb && kept[kb * n + col]) wts[t * 2 * g + 2 * j + 1] = w[kb * n + col];
          }
          t++;
        }
      }
      off.gstart = img.add(gstart); off.idx = img.add(pidx); off.wts = img.add(wts); off.bias = img.add(folded(ng * g + 8));
    } else {
      // 'csr' and 'nm' share the steps format (N:M masks just fill the steps)
      const { qstart, kst, steps } = buildSteps(kept, k, n, 16, 4, 32, (step, lane, slot, kk, col, o) => {
        const b = 2 * lane + S8_POS[slot];
        step[b] = o;
        step[16 + b] = w[kk * n + col] & 0xff;
      });
      off.qstart = img.add(qstart); off.kst = img.add(kst); off.steps = img.add(steps);
      off.bias = img.add(folded(Math.ceil(n / 4) * 4 + 8));
    }
    if (st.format !== 'block') {
      // column pairs for M ≥ 8 (SIMD over rows): per column its kept rows two at a time
      const cstart = new Uint32Array(n + 1);
      const cols: number[][] = [];
      let pairs = 0;
      for (let j = 0; j < n; j++) {
        const list: number[] = [];
        for (let kk = 0; kk < k; kk++) if (kept[kk * n + j]) list.push(kk);
        cols.push(list); cstart[j] = pairs; pairs += Math.ceil(list.length / 2);
      }
      cstart[n] = pairs;
      const pidx = idxArray(k, Math.max(2, 2 * pairs)), wpair = new Int8Array(Math.max(2, 2 * pairs));
      let t = 0;
      for (let j = 0; j < n; j++) {
        const list = cols[j];
        for (let a = 0; a < list.length; a += 2, t++) {
          const ka = list[a], kb = a + 1 < list.length ? list[a + 1] : ka;
          pidx[2 * t] = ka; pidx[2 * t + 1] = kb;
          wpair[2 * t] = w[ka * n + j]; wpair[2 * t + 1] = a + 1 < list.length ? w[kb * n + j] : 0;
        }
      }
      off.cstart = img.add(cstart); off.pidx = img.add(pidx); off.wpair = img.add(wpair);
    }
    super(rt, k, n, st.format, st, kept, img);
    this.off = off;
    this.kind = kind;
    this.g = g;
    this.consec = consec;
    this.requant = requant;
    this.scalePtr = requant ? rt.put(requant.scale) : 0;
  }

  private run(xPtr: number, m: number, yPtr: number, ldx: number, ldy: number, mode: number): void {
    const e = this.rt.exports, k = this.k, n = this.n, r = this.requant;
    const sp = mode === OUT_S8 ? this.scalePtr : 0, zp = mode === OUT_S8 ? r!.zp : 0;
    const qmin = mode === OUT_S8 ? r!.qmin : 0, qmax = mode === OUT_S8 ? r!.qmax : 0;
    if (this.kind === 'rows') {
      e.sparse_gemm_s8_rows(m, k, n, this.g, xPtr, ldx, this.p('gstart'), this.p('idx'), k <= 65535 ? 1 : 0, this.consec, this.p('wts'), this.p('bias'),
        yPtr, ldy, mode, sp, zp, qmin, qmax);
    } else {
      // M ≥ 8: blocks of 8 rows on the column pairs, the last m mod 8 rows on the steps
      const m8 = m >= 8 ? m & ~7 : 0;
      if (m8) {
        e.sparse_gemm_s8_pairs(m8, k, n, xPtr, ldx, this.p('cstart'), this.p('pidx'), k <= 65535 ? 1 : 0, this.p('wpair'), this.p('bias'),
          yPtr, ldy, mode, sp, zp, qmin, qmax);
      }
      if (m > m8) {
        e.sparse_gemm_s8_steps(m - m8, k, n, xPtr + m8 * ldx, ldx, this.p('qstart'), this.p('kst'), this.p('steps'), this.p('bias'),
          yPtr + m8 * ldy * (mode === OUT_I32 ? 4 : 1), ldy, mode, sp, zp, qmin, qmax);
      }
    }
  }

  /** y (int32, m×n, row stride ldy) for x at xPtr (int8, m×k, row stride ldx). */
  runInt32(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    this.run(xPtr, m, yPtr, ldx, ldy, OUT_I32);
  }

  /** y (int8, requantised) for x at xPtr. */
  runInt8(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    this.live();
    if (!this.requant) throw new QwasmError('this SparseMatrixS8 was built without requantisation parameters (scale)');
    this.run(xPtr, m, yPtr, ldx, ldy, OUT_S8);
  }

  /** runInt8 when built with requantisation parameters (scale), else runInt32. */
  runPtr(xPtr: number, m: number, yPtr: number, ldx = this.k, ldy = this.n): void {
    s8Run(this, !!this.requant, xPtr, m, yPtr, ldx, ldy);
  }

  matmulInt32(x: Int8Array, m: number): Int32Array {
    this.live();
    return s8MatmulInt32(this, x, m);
  }

  matmul(x: Int8Array, m: number): Int8Array {
    this.live();
    return s8Matmul(this, !!this.requant, 'this SparseMatrixS8 was built without requantisation parameters (scale); use matmulInt32', x, m);
  }

  override dispose(): void {
    if (this.disposed) return;
    super.dispose();
    this.rt.free(this.scalePtr);
  }
}

// ------------------------------------------------------------------ references (plain loops over W∘mask)

/** y = x·(W∘mask) + bias with the plain-loop kernel (mask default: nonzeros of W; the structure is checked too). */
export function sparseF32Reference(rt: Runtime, w: Float32Array, k: number, n: number, x: Float32Array, m: number,
                                   opts: SparseF32Options = {}): Float32Array {
  checkMatrix(w, k, n, Float32Array);
  checkMatmulX(k, x, m, Float32Array);
  if (opts.bias !== undefined) checkArray('bias', opts.bias, Float32Array, n);
  const kept = resolveMask(w, k, n, opts.mask);
  resolveStructure(opts, kept, k, n);
  return rt.scoped((s) => {
    const xp = s.put(x), wp = s.put(w), mp = s.put(kept), bp = opts.bias ? s.put(opts.bias) : 0, yp = s.alloc(m * n * 4);
    rt.exports.sparse_gemm_f32_ref(m, k, n, xp, k, wp, mp, bp, yp, n);
    return rt.f32(yp, m * n).slice();
  });
}

/** int8 reference: int32 without opts.scale, requantised int8 with it. */
export function sparseS8Reference(rt: Runtime, w: Int8Array, k: number, n: number, x: Int8Array, m: number,
                                  opts: SparseS8Options = {}): Int32Array | Int8Array {
  checkMatrix(w, k, n, Int8Array);
  checkMatmulX(k, x, m, Int8Array);
  const zpA = checkInt('aZeroPoint', opts.aZeroPoint ?? 0, -128, 127);
  if (opts.bias !== undefined) checkArray('bias', opts.bias, Int32Array, n);
  const r = opts.scale !== undefined ? resolveRequant(opts as RequantParams, n) : null;
  const kept = resolveMask(w, k, n, opts.mask);
  resolveStructure(opts, kept, k, n);
  return rt.scoped((s) => {
    const xp = s.put(x), wp = s.put(w), mp = s.put(kept), bp = opts.bias ? s.put(opts.bias) : 0;
    const yp = s.alloc(m * n * (r ? 1 : 4)), sp = r ? s.put(r.scale) : 0;
    rt.exports.sparse_gemm_s8_ref(m, k, n, xp, k, zpA, wp, mp, bp, yp, n, r ? OUT_S8 : OUT_I32, sp, r?.zp ?? 0, r?.qmin ?? 0, r?.qmax ?? 0);
    return r ? rt.i8(yp, m * n).slice() : rt.i32(yp, m * n).slice();
  });
}
