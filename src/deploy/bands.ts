// Row bands of one image for intra-op parallelism (docs/THREADS.md, "Intra-op parallelism for batch 1"):
// which input rows each op needs to produce a band of output rows, what a band costs, and the plan that cuts a
// run of spatial ops into segments and each segment's output rows into one band per thread.
//   A band of a conv / pool is the same kernel call on fewer rows: input rows i0…i1−1 (the halo included),
//   top padding pt' = pt + i0 − r0·sh and r1 − r0 output rows (assembly/conv_desc.ts reads no bottom padding:
//   rows past the band's input are padding exactly when they are past the image). Every output element is the
//   same integer sum as in the whole-image call, so the codes are bit-identical for any cut.
// Segments run whole residual blocks (and runs of plain ops) per band: the 3×3 halo is recomputed by both
// neighbours instead of synchronising after each layer; the planner weighs halo recompute, the row copies
// through shared memory and a fixed sync cost per segment (a dynamic programme over the cut points).
import type { Op } from './runner.js';

/** Rows [start, end) of an activation (one image, NHWC). */
export type Rows = [number, number];

/** One op's share of a band: its output rows, the input rows they need, and the same for a residual's branches. */
export interface BandOp { out: Rows; in: Rows; body?: BandOp[]; shortcut?: BandOp[] | null }

/** A segment: top-level ops [from, to) run per band; bands[t] = output rows of thread t (empty: [r, r)). */
export interface Segment { from: number; to: number; bands: Rows[] }

/** Where each segment's output (and the run's input) sits in the shared buffer, and what the plan expects. */
export interface IntraOpPlan {
  /** Top-level ops [from, to) run banded; ops before / after run on the caller's thread alone. */
  from: number; to: number; threads: number;
  segments: Segment[];
  /** Byte offsets in the shared buffer: regions[0] holds the run's input, regions[s + 1] segment s's output. */
  regions: number[]; bytes: number;
  /** Estimated ns on one thread and with the plan (the model below; for the decision and the docs, not a promise). */
  serialNs: number; plannedNs: number;
}

/** The cost model, in ns on the AMD EPYC the plan was tuned on (only the ratios matter). */
export const bandCosts = {
  /** per multiply-accumulate: 1×1 / dense conv (GEMM), a k×k dense conv (im2col), a depthwise conv */
  gemmMac: 0.04, convMac: 0.055, depthwiseMac: 0.1,
  /** per tap-element of a pool, per element of a residual add or a table lookup */
  poolTap: 0.1, eltwise: 1,
  /** per byte copied between a thread's WASM memory and the shared buffer */
  copyByte: 0.1,
  /** per segment: a thread waiting for its neighbours' rows (futex wake-up, ~12 µs p50 measured) */
  sync: 15000,
};

const spatial = (s: readonly (number | undefined)[]) => s.length === 3;
const rowBytes = (s: readonly (number | undefined)[]) => s[1]! * s[2]!;

/** Can `op` run on a band of rows? (spatial in and out; a residual: every op of both branches) */
export function bandable(op: Op): boolean {
  if (!spatial(op.inS) || !spatial(op.outS)) return false;
  switch (op.node.kind) {
    case 'conv': case 'maxpool': case 'avgpool': case 'lut': return true;
    case 'residual': return op.body!.length > 0 && op.body!.every(bandable) && (!op.shortcut || op.shortcut.every(bandable));
    default: return false;
  }
}

/** The window geometry of a conv / pool op: kernel rows, stride, top padding, dilation. */
function window(op: Op): { kh: number; sh: number; pt: number; dh: number } | null {
  const nd = op.node;
  if (nd.kind === 'conv') return { kh: nd.kh, sh: op.convGeo!.sh, pt: op.convGeo!.pt, dh: op.convGeo!.dh };
  if (nd.kind === 'maxpool' || nd.kind === 'avgpool') return { kh: nd.kh, sh: op.geo!.sh, pt: op.geo!.pt, dh: 1 };
  return null;
}

/** The band geometry of a conv / pool for output rows `out` from input rows `inp`: its input height and top padding. */
export function bandWindow(op: Op, out: Rows, inp: Rows): { h: number; pt: number; oh: number } {
  const w = window(op)!;
  return { h: inp[1] - inp[0], pt: w.pt + inp[0] - out[0] * w.sh, oh: out[1] - out[0] };
}

/**
 * The input rows ops[…] need for output rows `out` of the last op (a backward pass), with every op's share;
 * null when some op's rows read only padding (no band form: the segment stays on one thread).
 */
export function bandOps(ops: readonly Op[], out: Rows): { ops: BandOp[]; in: Rows } | null {
  const res: BandOp[] = new Array(ops.length);
  let need = out;
  for (let k = ops.length - 1; k >= 0; k--) {
    const op = ops[k], b: BandOp = { out: need, in: need };
    const w = window(op);
    if (w) {
      const H = op.inS[0];
      const i0 = Math.max(0, need[0] * w.sh - w.pt), i1 = Math.min(H, (need[1] - 1) * w.sh - w.pt + (w.kh - 1) * w.dh + 1);
      if (i1 <= i0) return null;
      b.in = [i0, i1];
    } else if (op.node.kind === 'residual') {
      const body = bandOps(op.body!, need);
      const sc = op.shortcut ? bandOps(op.shortcut, need) : null;
      if (!body || (op.shortcut && !sc)) return null;
      b.body = body.ops; b.shortcut = sc ? sc.ops : null;
      const other = sc ? sc.in : need;
      b.in = [Math.min(body.in[0], other[0]), Math.max(body.in[1], other[1])];
    }
    res[k] = b;
    need = b.in;
  }
  return { ops: res, in: need };
}

/** Estimated ns of one output row of `op` (a residual: its add; its branches are counted op by op). */
function rowNs(op: Op): number {
  const nd = op.node, ow = op.outS[1]!, oc = op.outS[2]!, c = bandCosts;
  switch (nd.kind) {
    case 'conv': {
      const macs = ow * oc * nd.kh * nd.kw * nd.cg;
      return macs * (nd.groups > 1 && nd.cg === 1 ? c.depthwiseMac : nd.kh * nd.kw > 1 ? c.convMac : c.gemmMac);
    }
    case 'maxpool': case 'avgpool': return ow * oc * nd.kh * nd.kw * c.poolTap;
    default: return ow * oc * c.eltwise; // lut, residual add
  }
}

function computeNs(ops: readonly Op[], band: readonly BandOp[]): number {
  let t = 0;
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k], b = band[k];
    t += (b.out[1] - b.out[0]) * rowNs(op);
    if (op.body) t += computeNs(op.body, b.body!) + (op.shortcut ? computeNs(op.shortcut, b.shortcut!) : 0);
  }
  return t;
}

/** Estimated ns for one thread to run output rows `out` of ops[from, to): copy-in, kernels, copy-out. */
function bandNs(ops: readonly Op[], from: number, to: number, out: Rows): number {
  if (out[1] <= out[0]) return 0;
  const seg = ops.slice(from, to), b = bandOps(seg, out);
  if (!b) return Infinity;
  const copy = (b.in[1] - b.in[0]) * rowBytes(seg[0].inS) + (out[1] - out[0]) * rowBytes(seg[seg.length - 1].outS);
  return computeNs(seg, b.ops) + copy * bandCosts.copyByte;
}

/**
 * Output rows per thread for ops[from, to) minimising the slowest band: the smallest cost bound C for which
 * greedy contiguous bands of cost ≤ C cover every row with `threads` bands (binary search on C).
 */
type BandCost = (from: number, to: number, out: Rows) => number;

function balance(ops: readonly Op[], from: number, to: number, threads: number, cost: BandCost): { bands: Rows[]; ns: number } {
  const H = ops[to - 1].outS[0];
  const cover = (C: number): Rows[] | null => {
    const bands: Rows[] = [];
    let s = 0;
    for (let t = 0; t < threads && s < H; t++) {
      let lo = s, hi = H; // largest e in (s, H] with cost([s, e)) ≤ C
      while (lo < hi) { const m = (lo + hi + 1) >> 1; if (cost(from, to, [s, m]) <= C) lo = m; else hi = m - 1; }
      if (lo === s) return null;
      bands.push([s, lo]);
      s = lo;
    }
    if (s < H) return null;
    while (bands.length < threads) bands.push([H, H]);
    return bands;
  };
  const whole = cost(from, to, [0, H]);
  let lo = 0, hi = whole, best: Rows[] | null = null;
  for (let it = 0; it < 24 && hi - lo > 0.005 * whole; it++) {
    const m = (lo + hi) / 2, b = cover(m);
    if (b) { best = b; hi = m; } else lo = m;
  }
  best ??= cover(hi) ?? [[0, H], ...Array.from({ length: threads - 1 }, (): Rows => [H, H])];
  return { bands: best, ns: Math.max(...best.map((r) => cost(from, to, r))) };
}

/** Knobs for tests and benchmarks: `segmentOps` > 0 cuts segments of exactly that many top-level ops, always split. */
export interface PlanOptions { segmentOps?: number; maxSegmentOps?: number }

/**
 * The intra-op plan for one image of `ops` on `threads` threads, or null when no run of spatial ops is worth
 * splitting. The run is the longest stretch of bandable top-level ops (by estimated time); its cut points come
 * from a dynamic programme over segments of ≤ maxSegmentOps ops, each costing its slowest band plus a sync.
 */
export function planIntraOp(ops: readonly Op[], threads: number, opts: PlanOptions = {}): IntraOpPlan | null {
  const memo = new Map<string, number>(); // the searches below ask for the same bands many times
  const cost: BandCost = (f, t, r) => {
    const key = `${f},${t},${r[0]},${r[1]}`;
    let ns = memo.get(key);
    if (ns === undefined) memo.set(key, ns = bandNs(ops, f, t, r));
    return ns;
  };
  const whole = (from: number, to: number) => cost(from, to, [0, ops[to - 1].outS[0]]);
  // the longest run of bandable ops, by estimated time
  let from = 0, to = 0, bestNs = 0;
  for (let i = 0; i < ops.length;) {
    if (!bandable(ops[i])) { i++; continue; }
    let j = i;
    while (j < ops.length && bandable(ops[j])) j++;
    let ns = 0;
    for (let k = i; k < j; k++) ns += whole(k, k + 1);
    if (ns > bestNs) { from = i; to = j; bestNs = ns; }
    i = j;
  }
  if (to === from) return null;
  const fixed = opts.segmentOps ?? 0, maxLen = fixed || (opts.maxSegmentOps ?? 6), n = to - from;
  // best[j]: cheapest plan of ops[from, from + j); cut[j]: where its last segment starts
  const best = new Array<number>(n + 1).fill(Infinity), cut = new Array<number>(n + 1).fill(0);
  const segs = new Map<string, { bands: Rows[]; ns: number }>();
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    for (let i = Math.max(0, j - maxLen); i < j; i++) {
      if (fixed && !(j - i === fixed || (j === n && j - i < fixed && i % fixed === 0))) continue;
      const split = balance(ops, from + i, from + j, threads, cost);
      const alone = whole(from + i, from + j);
      // a segment too small to gain from a split stays whole on thread 0 (the others skip it)
      const H = ops[from + j - 1].outS[0];
      const s = !fixed && alone <= split.ns ? { bands: [[0, H] as Rows, ...Array.from({ length: threads - 1 }, (): Rows => [H, H])], ns: alone } : split;
      const total = best[i] + s.ns + bandCosts.sync;
      if (total < best[j]) { best[j] = total; cut[j] = i; segs.set(`${i},${j}`, s); }
    }
  }
  if (!Number.isFinite(best[n])) return null;
  const segments: Segment[] = [];
  for (let j = n; j > 0; j = cut[j]) segments.unshift({ from: from + cut[j], to: from + j, bands: segs.get(`${cut[j]},${j}`)!.bands });
  const regions = [0];
  let bytes = ops[from].inS.reduce((a, b) => a * b, 1);
  for (const s of segments) { regions.push(bytes); bytes += ops[s.to - 1].outS.reduce((a, b) => a * b, 1); }
  return { from, to, threads, segments, regions, bytes, serialNs: bestNs, plannedNs: best[n] };
}
