// Low-rank factorisation of trained layers (truncated SVD, src/compress/svd.ts), then fine-tune with fit:
//   - Linear [in, out]: W ≈ P·Q, P = U_r·√S_r [in, r], Q = √S_r·V_rᵀ [r, out] → LowRankLinear (two chained
//     linears, no nonlinearity between; the bias stays on the second). int8 deployment: LowRankS8 (the QAT
//     converter reads P, Q and the bias).
//   - Conv2d OHWI [oc, kh, kw, cin] (groups 1), mode 'channel' (default): the matrix [kh·kw·cin, oc] ≈ P·Q →
//     a kh×kw conv with r outputs (stride / padding / dilation of the original, no bias) followed by a 1×1 conv
//     r → oc with the bias. mode 'spatial': the matrix [(kh, cin), (kw, oc)] ≈ P·Q → a kh×1 conv with r outputs
//     followed by a 1×kw conv (vertical stride / padding / dilation on the first, horizontal on the second).
//   - the rank: explicit, or the smallest keeping a fraction `energy` of Σσ², or the largest giving a target
//     parameter `compression` (weights only: in·out / (r·(in + out))); the CLI flag is --compression too.
// factorize(model, opts) returns a new model (copies of every other layer; the original is untouched):
// Linear → LowRankLinear under the same name; Conv2d → two convs spliced into the parent list as `${name}a`,
// `${name}b` (so a following ReLU still fuses with the second conv in the int8 conversion).
import { Module } from '../nn/module.js';
import { Conv2d, Linear, Sequential } from '../nn/layers.js';
import { LowRankLinear } from '../nn/lowrank-linear.js';
import { rebuild } from '../nn/copy.js';
import { InitRng } from '../util/rng.js';
import { pair, padding4 } from '../kernels/conv_f32.js';
import { checkInt, describe, QwasmError } from '../errors.js';
import { svd, rankForEnergy, type SVDResult } from './svd.js';

export interface RankOptions {
  /** Explicit rank (a number, or per layer name). */
  rank?: number | Record<string, number>;
  /** Keep this fraction of Σσ² (0 < energy ≤ 1). */
  energy?: number;
  /** Target weight compression (> 1): the largest r with in·out / (r·(in + out)) ≥ compression. */
  compression?: number;
}

export type ConvFactorMode = 'channel' | 'spatial';

export interface FactorizeOptions extends RankOptions {
  /** Layers to factorise (names as in model.modules(): '7', '4.body.0'). Default: every Linear and groups-1
   *  Conv2d whose factorisation at the chosen rank has fewer weights than the layer. */
  layers?: string[];
  /** Conv2d factorisation: 'channel' (kh×kw conv to r, then 1×1; default) or 'spatial' (kh×1 to r, then 1×kw). */
  conv?: ConvFactorMode;
}

export interface FactorReport {
  name: string; type: 'Linear' | 'Conv2d'; mode: 'linear' | ConvFactorMode;
  /** the factorised matrix [rows, cols] and the chosen rank */
  rows: number; cols: number; rank: number;
  weightsBefore: number; weightsAfter: number;
  /** fraction of Σσ² kept */
  energy: number;
  /** relative Frobenius error ‖W − P·Q‖ / ‖W‖ */
  relError: number;
}

interface Factors { p: Float32Array; q: Float32Array; rank: number; energy: number; relError: number }

function checkRankOpts(o: RankOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError(`opts must be an object, got ${describe(o)}`);
  if ((o as { ratio?: unknown }).ratio !== undefined) throw new QwasmError('the low-rank option `ratio` is now called `compression` (as the CLI flag --compression)');
  const given = (['rank', 'energy', 'compression'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new QwasmError(`give exactly one of rank, energy, compression (got ${given.length ? given.join(', ') : 'none'})`);
  if (o.energy !== undefined && (typeof o.energy !== 'number' || !(o.energy > 0 && o.energy <= 1))) throw new RangeError(`energy must be in (0, 1], got ${describe(o.energy)}`);
  if (o.compression !== undefined && (typeof o.compression !== 'number' || !(o.compression > 1) || !Number.isFinite(o.compression))) throw new RangeError(`compression must be a finite number > 1, got ${describe(o.compression)}`);
  if (o.rank !== undefined && typeof o.rank !== 'number' && (typeof o.rank !== 'object' || o.rank === null)) throw new TypeError(`rank must be an integer or a { layerName: rank } object, got ${describe(o.rank)}`);
}

function chooseRank(o: RankOptions, name: string, s: Float64Array, rows: number, cols: number): number {
  const kmax = s.length;
  if (o.rank !== undefined) {
    const r = typeof o.rank === 'number' ? o.rank : o.rank[name];
    if (r === undefined) throw new QwasmError(`rank has no entry for layer '${name}'`);
    return checkInt(typeof o.rank === 'number' ? 'rank' : `rank['${name}']`, r, 1, kmax);
  }
  if (o.energy !== undefined) return rankForEnergy(s, o.energy);
  return Math.max(1, Math.min(kmax, Math.floor((rows * cols) / (o.compression! * (rows + cols)))));
}

/** W [rows, cols] row-major ≈ P [rows, r] · Q [r, cols] with P = U√S, Q = √S·Vᵀ. */
function factorMatrix(w: ArrayLike<number>, rows: number, cols: number, o: RankOptions, name: string): Factors {
  const d: SVDResult = svd(w, rows, cols);
  const r = chooseRank(o, name, d.s, rows, cols);
  const p = new Float32Array(rows * r), q = new Float32Array(r * cols);
  for (let t = 0; t < r; t++) {
    const sq = Math.sqrt(d.s[t]);
    for (let i = 0; i < rows; i++) p[i * r + t] = d.u[i * d.k + t] * sq;
    for (let j = 0; j < cols; j++) q[t * cols + j] = d.v[j * d.k + t] * sq;
  }
  let tot = 0, kept = 0;
  for (let i = 0; i < d.k; i++) { tot += d.s[i] * d.s[i]; if (i < r) kept += d.s[i] * d.s[i]; }
  return { p, q, rank: r, energy: tot ? kept / tot : 1, relError: tot ? Math.sqrt(Math.max(0, tot - kept) / tot) : 0 };
}

/** Factorises a Linear layer: a LowRankLinear with P = U√S, Q = √S·Vᵀ and the layer's bias. */
export function factorizeLinear(layer: Linear, opts: RankOptions): LowRankLinear {
  if (!(layer instanceof Linear)) throw new TypeError(`layer must be a Linear, got ${describe(layer)}`);
  checkRankOpts(opts);
  return linearFromFactors(layer, factorMatrix(layer.weight.data(), layer.inFeatures, layer.outFeatures, opts, ''));
}

function linearFromFactors(layer: Linear, f: Factors): LowRankLinear {
  const m = new LowRankLinear(layer.engine, layer.inFeatures, layer.outFeatures, f.rank, new InitRng(1), !!layer.bias);
  m.p.write(f.p);
  m.q.write(f.q);
  if (layer.bias) m.bias!.write(layer.bias.data());
  m.train(layer.training);
  return m;
}

function convGeometry(conv: Conv2d) {
  const s = conv.spec;
  const [sh, sw] = pair('stride', s.stride, 1, 1);
  const [dh, dw] = pair('dilation', s.dilation, 1, 1);
  const [pt, pl, pb, pr] = padding4('padding', s.padding);
  return { sh, sw, dh, dw, pt, pl, pb, pr };
}

/** The factorised matrix of a conv: 'channel' [kh·kw·cin, oc]; 'spatial' [kh·cin, kw·oc]. */
function convMatrix(conv: Conv2d, mode: ConvFactorMode): { a: Float64Array; rows: number; cols: number } {
  const [oc, kh, kw, cin] = conv.weight.shape;
  const w = conv.weight.data();
  const K = kh * kw * cin;
  if (mode === 'channel') {
    const a = new Float64Array(K * oc);
    for (let o = 0; o < oc; o++) for (let i = 0; i < K; i++) a[i * oc + o] = w[o * K + i];
    return { a, rows: K, cols: oc };
  }
  const rows = kh * cin, cols = kw * oc, a = new Float64Array(rows * cols);
  for (let o = 0; o < oc; o++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < cin; c++) {
    a[(y * cin + c) * cols + x * oc + o] = w[((o * kh + y) * kw + x) * cin + c];
  }
  return { a, rows, cols };
}

/** Factorises a Conv2d (groups 1) into two convs [first, second]; see the file header for the two modes. */
export function factorizeConv(conv: Conv2d, opts: RankOptions & { mode?: ConvFactorMode }): [Conv2d, Conv2d] {
  if (!(conv instanceof Conv2d)) throw new TypeError(`conv must be a Conv2d, got ${describe(conv)}`);
  checkRankOpts(opts);
  const mode = opts.mode ?? 'channel';
  if (mode !== 'channel' && mode !== 'spatial') throw new TypeError(`mode must be 'channel' or 'spatial', got ${describe(mode)}`);
  return convFromFactors(conv, mode, factorConv(conv, mode, opts, ''));
}

function factorConv(conv: Conv2d, mode: ConvFactorMode, o: RankOptions, name: string): Factors {
  if ((conv.spec.groups ?? 1) !== 1) throw new QwasmError(`cannot factorise conv '${name}' with groups = ${conv.spec.groups} (only groups 1)`);
  const { a, rows, cols } = convMatrix(conv, mode);
  return factorMatrix(a, rows, cols, o, name);
}

function convFromFactors(conv: Conv2d, mode: ConvFactorMode, f: Factors): [Conv2d, Conv2d] {
  const E = conv.engine, rng = new InitRng(1), r = f.rank;
  const [oc, kh, kw, cin] = conv.weight.shape;
  const g = convGeometry(conv);
  let first: Conv2d, second: Conv2d;
  const w1 = new Float32Array(r * kh * (mode === 'channel' ? kw : 1) * cin), w2 = new Float32Array(oc * r * (mode === 'channel' ? 1 : kw));
  if (mode === 'channel') {
    const K = kh * kw * cin;
    first = new Conv2d(E, { inChannels: cin, outChannels: r, kernel: [kh, kw], stride: [g.sh, g.sw], padding: [g.pt, g.pl, g.pb, g.pr], dilation: [g.dh, g.dw], bias: false }, rng);
    second = new Conv2d(E, { inChannels: r, outChannels: oc, kernel: 1, bias: !!conv.bias }, rng);
    for (let t = 0; t < r; t++) for (let i = 0; i < K; i++) w1[t * K + i] = f.p[i * r + t];
    for (let o = 0; o < oc; o++) for (let t = 0; t < r; t++) w2[o * r + t] = f.q[t * oc + o];
  } else {
    first = new Conv2d(E, { inChannels: cin, outChannels: r, kernel: [kh, 1], stride: [g.sh, 1], padding: [g.pt, 0, g.pb, 0], dilation: [g.dh, 1], bias: false }, rng);
    second = new Conv2d(E, { inChannels: r, outChannels: oc, kernel: [1, kw], stride: [1, g.sw], padding: [0, g.pl, 0, g.pr], dilation: [1, g.dw], bias: !!conv.bias }, rng);
    const cols = kw * oc;
    // first [r, kh, 1, cin] from P[(y, c), t]; second [oc, 1, kw, r] from Q[t, (x, o)]
    for (let t = 0; t < r; t++) for (let y = 0; y < kh; y++) for (let c = 0; c < cin; c++) w1[(t * kh + y) * cin + c] = f.p[(y * cin + c) * r + t];
    for (let o = 0; o < oc; o++) for (let x = 0; x < kw; x++) for (let t = 0; t < r; t++) w2[(o * kw + x) * r + t] = f.q[t * cols + x * oc + o];
  }
  first.weight.write(w1);
  second.weight.write(w2);
  if (conv.bias) second.bias!.write(conv.bias.data());
  first.train(conv.training); second.train(conv.training);
  return [first, second];
}

/**
 * Factorises the Linear / Conv2d layers of a model (see FactorizeOptions); returns the new model and a report
 * per factorised layer. Fine-tune the result with fit().
 */
export function factorize(model: Module, opts: FactorizeOptions): { model: Sequential; report: FactorReport[] } {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  checkRankOpts(opts);
  const mode = opts.conv ?? 'channel';
  if (mode !== 'channel' && mode !== 'spatial') throw new TypeError(`conv must be 'channel' or 'spatial', got ${describe(mode)}`);
  const all = new Map(model.modules());
  let wanted: Set<string> | null = null;
  if (opts.layers !== undefined) {
    if (!Array.isArray(opts.layers)) throw new TypeError(`layers must be an array of layer names, got ${describe(opts.layers)}`);
    wanted = new Set(opts.layers);
    for (const n of opts.layers) {
      const m = all.get(n);
      if (!m || n === '') throw new RangeError(`layers: no layer named '${n}' (names: ${[...all.keys()].filter((k) => k).slice(0, 24).join(', ')})`);
      if (!(m instanceof Linear) && !(m instanceof Conv2d)) throw new TypeError(`layers: '${n}' is a ${String(m.config().type)}, not a Linear or Conv2d`);
      if (m instanceof Conv2d && (m.spec.groups ?? 1) !== 1) throw new QwasmError(`layers: conv '${n}' has groups = ${m.spec.groups}; only groups-1 convs can be factorised`);
    }
  }
  if (opts.rank !== undefined && typeof opts.rank === 'object') {
    for (const n of Object.keys(opts.rank)) if (!all.has(n)) throw new RangeError(`rank: no layer named '${n}'`);
    if (!wanted) wanted = new Set(Object.keys(opts.rank));
  }
  const report: FactorReport[] = [];
  const replace = (m: Module, name: string): Module | Module[] | null => {
    if (wanted && !wanted.has(name)) return null;
    // a layer not asked for by name is skipped when the numeric rank cannot save anything
    if (!wanted && typeof opts.rank === 'number' && (m instanceof Linear || m instanceof Conv2d)) {
      const [rows, cols] = m instanceof Linear ? [m.inFeatures, m.outFeatures]
        : mode === 'channel' ? [m.weight.size / m.weight.shape[0], m.weight.shape[0]] : [m.kh * m.weight.shape[3], m.kw * m.weight.shape[0]];
      if (opts.rank * (rows + cols) >= rows * cols || opts.rank > Math.min(rows, cols)) return null;
    }
    if (m instanceof Linear) {
      const k = m.inFeatures, n = m.outFeatures;
      const f = factorMatrix(m.weight.data(), k, n, opts, name);
      const after = f.rank * (k + n);
      if (!wanted && after >= k * n) return null;
      report.push({ name, type: 'Linear', mode: 'linear', rows: k, cols: n, rank: f.rank, weightsBefore: k * n, weightsAfter: after, energy: f.energy, relError: f.relError });
      return linearFromFactors(m, f);
    }
    if (m instanceof Conv2d) {
      if ((m.spec.groups ?? 1) !== 1) return null;
      const f = factorConv(m, mode, opts, name);
      const { rows, cols } = mode === 'channel' ? { rows: m.weight.size / m.weight.shape[0], cols: m.weight.shape[0] }
        : { rows: m.kh * m.weight.shape[3], cols: m.kw * m.weight.shape[0] };
      const after = f.rank * (rows + cols);
      if (!wanted && after >= m.weight.size) return null;
      report.push({ name, type: 'Conv2d', mode, rows, cols, rank: f.rank, weightsBefore: m.weight.size, weightsAfter: after, energy: f.energy, relError: f.relError });
      return convFromFactors(m, mode, f);
    }
    return null;
  };
  const out = rebuild(model, '', replace) as Sequential;
  out.train(model.training);
  return { model: out, report };
}
