// Intra-op parallelism for batch 1 (docs/THREADS.md): one image split into row bands across the threads.
// Design B of the doc: today's builds, a replica of the graph per pool thread (the batch-parallel one), and one
// SharedArrayBuffer per runner that holds the run's input and every segment's output (src/deploy/bands.ts).
// Per image, one message per worker; then every thread (the caller too) walks the segments on its own:
//   wait until the threads owning the input rows it needs (its band + halo) have published segment s − 1,
//   copy those rows into its WASM memory, run the segment's ops on its band (halo recomputed), copy its output
//   rows into segment s's region, publish (done[t] = s + 1, Atomics.notify).
// No thread waits for a global barrier: only for its neighbours' rows. The caller then reads the last region
// and runs the rest of the graph (pooling, head). A thread that fails sets the abort word and wakes every
// waiter, so the others stop at their next wait: the error surfaces as `thread N: …`, never a hang.
import type { Runtime } from '../runtime.js';
import type { Op, Int8Runner } from './runner.js';
import { ThreadPool } from '../threads/pool.js';
import { QwasmError } from '../errors.js';
import { bandOps, bandWindow, planIntraOp, type BandOp, type IntraOpPlan, type PlanOptions, type Rows } from './bands.js';

/** Knobs (tests, benchmarks): a plan is used when its estimate beats one thread by `minGain`; see PlanOptions. */
export const intraOpTuning: PlanOptions & { minGain: number; spin: number } = {
  minGain: 1.25,
  /** Atomics.load polls before a futex wait: a neighbour about to publish is caught without a wake-up. */
  spin: 2000,
};

export const ABORT = 0, DONE = 4;
/** A thread silent this long fails the call (the pool's own limit). */
const TIMEOUT_MS = 10 * 60_000;
const dataStart = (threads: number) => (16 + 4 * threads + 15) & ~15;
const rowBytes = (s: readonly (number | undefined)[]) => s[1]! * s[2]!;

/** One thread's share of a plan: per segment its band's ops and input rows (null: an empty band). */
export type ThreadBands = ({ ops: BandOp[]; in: Rows } | null)[];

export function threadBands(ops: readonly Op[], plan: IntraOpPlan, t: number): ThreadBands {
  return plan.segments.map((s) => {
    const out = s.bands[t];
    if (out[1] <= out[0]) return null;
    const b = bandOps(ops.slice(s.from, s.to), out);
    if (!b) throw new QwasmError(`internal: no band form for rows ${out[0]}…${out[1] - 1} of ops ${s.from}…${s.to - 1}`);
    return b;
  });
}

/** Runs output rows band[last].out of `ops` from input rows `avail` at x (one image); returns the output pointer. */
function execBand(rt: Runtime, ops: readonly Op[], band: readonly BandOp[], x: number, avail: Rows, bufs: number[]): number {
  const e = rt.exports;
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k], b = band[k], nd = op.node, w = op.inS[1]!, c = op.inS[2]!;
    const xin = x + (b.in[0] - avail[0]) * w * c, rows = b.out[1] - b.out[0];
    const y = rt.alloc(rows * rowBytes(op.outS));
    bufs.push(y);
    switch (nd.kind) {
      case 'conv': {
        const bw = bandWindow(op, b.out, b.in);
        op.conv!.runResolved(xin, 1, bw.h, w, { ...op.convGeo!, pt: bw.pt, oh: bw.oh }, y);
        break;
      }
      case 'maxpool': case 'avgpool': {
        const bw = bandWindow(op, b.out, b.in), g = op.geo!;
        if (nd.kind === 'maxpool') e.maxpool2d_s8(1, bw.h, w, c, xin, nd.kh, nd.kw, g.sh, g.sw, bw.pt, g.pl, bw.oh, g.ow, y, -128, 127);
        else e.avgpool2d_s8(1, bw.h, w, c, xin, nd.inZp, nd.kh, nd.kw, g.sh, g.sw, bw.pt, g.pl, bw.oh, g.ow, y, nd.ratio, nd.outZp, nd.qmin, nd.qmax);
        break;
      }
      case 'lut': e.lut_s8(xin, op.table!, y, rows * rowBytes(op.outS)); break;
      case 'residual': {
        const a = execBand(rt, op.body!, b.body!, x, avail, bufs);
        const s = op.shortcut ? execBand(rt, op.shortcut, b.shortcut!, x, avail, bufs) : x + (b.out[0] - avail[0]) * w * c;
        e.add_s8(rows * rowBytes(op.outS), a, nd.za, nd.ma, s, nd.zb, nd.mb, y, nd.outZp, nd.qmin, nd.qmax);
        break;
      }
      default: throw new QwasmError(`internal: ${nd.kind} node ${nd.name} has no band form`);
    }
    x = y; avail = b.out;
  }
  return x;
}

/** Waits until thread u has published segment `need` − 1; false when some thread aborted. */
function waitFor(ctrl: Int32Array, u: number, need: number): boolean {
  const t0 = Date.now();
  for (let i = 0; ; i++) {
    const v = Atomics.load(ctrl, DONE + u);
    if (v >= need) return true;
    if (Atomics.load(ctrl, ABORT) !== 0) return false;
    if (i < intraOpTuning.spin) continue;
    if (Atomics.wait(ctrl, DONE + u, v, 1000) === 'timed-out' && Date.now() - t0 > TIMEOUT_MS) {
      throw new QwasmError(`thread ${u} published no rows within ${TIMEOUT_MS / 1000} s`);
    }
  }
}

export function abort(buf: SharedArrayBuffer, threads: number): void {
  const ctrl = new Int32Array(buf, 0, DONE + threads);
  Atomics.store(ctrl, ABORT, 1);
  for (let u = 0; u < threads; u++) Atomics.notify(ctrl, DONE + u);
}

/**
 * Thread t's walk over the segments (caller and workers alike). Returns false when another thread aborted;
 * throws (after setting the abort word) when this thread fails.
 */
export function walk(rt: Runtime, ops: readonly Op[], plan: IntraOpPlan, t: number, mine: ThreadBands, buf: SharedArrayBuffer): boolean {
  const ctrl = new Int32Array(buf, 0, DONE + plan.threads), base = dataStart(plan.threads);
  try {
    for (let s = 0; s < plan.segments.length; s++) {
      const seg = plan.segments[s], b = mine[s];
      if (b) {
        // the rows this band reads were written by the threads whose previous bands overlap them
        if (s > 0) {
          for (let u = 0; u < plan.threads; u++) {
            const r = plan.segments[s - 1].bands[u];
            if (u !== t && r[0] < b.in[1] && b.in[0] < r[1] && !waitFor(ctrl, u, s)) return false;
          }
        }
        const inRb = rowBytes(ops[seg.from].inS), outRb = rowBytes(ops[seg.to - 1].outS), out = seg.bands[t];
        const bufs: number[] = [];
        try {
          const inLen = (b.in[1] - b.in[0]) * inRb, x = rt.alloc(inLen);
          bufs.push(x);
          rt.i8(x, inLen).set(new Int8Array(buf, base + plan.regions[s] + b.in[0] * inRb, inLen));
          const y = execBand(rt, ops.slice(seg.from, seg.to), b.ops, x, b.in, bufs), outLen = (out[1] - out[0]) * outRb;
          new Int8Array(buf, base + plan.regions[s + 1] + out[0] * outRb, outLen).set(rt.i8(y, outLen));
        } finally {
          for (const p of bufs) rt.free(p);
        }
      }
      Atomics.store(ctrl, DONE + t, s + 1);
      Atomics.notify(ctrl, DONE + t);
    }
    return true;
  } catch (e) {
    abort(buf, plan.threads);
    throw e;
  }
}

/** The caller's per-runner state: the plan for its pool, the shared buffer, the caller's bands. */
interface CallerState { key: string; plan: IntraOpPlan | null; pool?: ThreadPool; sent?: boolean; buf?: SharedArrayBuffer; mine?: ThreadBands }
const states = new WeakMap<Int8Runner, CallerState>();

function stateOf(runner: Int8Runner, threads: number): CallerState {
  const key = `${threads}/${intraOpTuning.segmentOps ?? 0}/${intraOpTuning.maxSegmentOps ?? 0}/${intraOpTuning.minGain}`;
  let st = states.get(runner);
  if (!st || st.key !== key) {
    let plan = planIntraOp(runner.ops, threads, intraOpTuning);
    if (plan && !intraOpTuning.segmentOps && plan.serialNs < intraOpTuning.minGain * plan.plannedNs) plan = null;
    st = { key, plan };
    states.set(runner, st);
  }
  return st;
}

/** The plan intra-op parallelism would use for this runner on its runtime's threads (null: one thread). */
export function intraOpPlan(runner: Int8Runner): IntraOpPlan | null {
  const t = runner.rt.threads;
  return t >= 2 ? stateOf(runner, t).plan : null;
}

/**
 * Runs one image (int8 codes at inPtr) with its spatial ops split across the runtime's threads; returns the
 * output codes' pointer (in `bufs`), or null when the runner does not qualify (one thread, no worthwhile plan).
 */
export function runIntraOp(runner: Int8Runner, inPtr: number, bufs: number[]): number | null {
  const rt = runner.rt, plan = intraOpPlan(runner);
  if (!plan) return null;
  const pool = ThreadPool.of(rt);
  if (!pool) return null;
  const st = stateOf(runner, rt.threads), ops = runner.ops;
  const id = runner.replicaId(pool);
  if (st.pool !== pool) { st.pool = pool; st.sent = false; }
  if (!st.buf) st.buf = new SharedArrayBuffer(dataStart(plan.threads) + plan.bytes);
  st.mine ??= threadBands(ops, plan, 0);
  const buf = st.buf, ctrl = new Int32Array(buf, 0, DONE + plan.threads);
  const x = runner.exec(ops.slice(0, plan.from), inPtr, 1, bufs, null);
  ctrl.fill(0);
  const inLen = ops[plan.from].inS.reduce((a, b) => a * b, 1), base = dataStart(plan.threads);
  new Int8Array(buf, base, inLen).set(rt.i8(x, inLen));
  const msgs = pool.workers.map((_, i) => ({ task: 'intra.run', id, thread: i + 1, threads: plan.threads, buf, plan: st.sent ? undefined : plan }));
  st.sent = true;
  const { own } = pool.run(msgs, () => {
    if (!walk(rt, ops, plan, 0, st.mine!, buf)) return null;
    const last = plan.segments[plan.segments.length - 1];
    for (let u = 1; u < plan.threads; u++) if (last.bands[u][1] > last.bands[u][0] && !waitFor(ctrl, u, plan.segments.length)) return null;
    return true;
  });
  // own === null: a worker aborted, and pool.run has already thrown its error; this guards the protocol
  if (!own) throw new QwasmError('internal: intra-op run aborted without an error');
  const outS = ops[plan.to - 1].outS, outLen = outS.reduce((a, b) => a * b, 1), y = rt.alloc(outLen);
  bufs.push(y);
  rt.i8(y, outLen).set(new Int8Array(buf, base + plan.regions[plan.segments.length], outLen));
  return runner.exec(ops.slice(plan.to), y, 1, bufs, null);
}
