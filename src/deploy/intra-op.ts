// Intra-op parallelism for batch 1 (docs/THREADS.md): one image split into row bands across the threads.
// Design B of the doc: today's builds, a replica of the graph per pool thread (the batch-parallel one), and one
// SharedArrayBuffer per runner that holds the run's input and every segment's output (src/deploy/bands.ts).
// Per image, one message per worker; then every thread (the caller too) walks the segments (BandWalker): for
// each band, wait for (or take over) the bands of the previous segment holding its input rows (own band + halo),
// copy those rows into its WASM memory, run the segment's ops on the band (halo recomputed), copy the band's
// output rows into the segment's region and publish it. No global barrier: a thread waits only for the bands
// it reads. The caller then reads the last region and runs the rest of the graph (pooling, head). A thread
// that fails sets the abort word and wakes every waiter: the error surfaces as `thread N: …`, never a hang.
import type { Runtime } from '../runtime.js';
import type { Op, Int8Runner } from './runner.js';
import { ThreadPool } from '../threads/pool.js';
import { QwasmError } from '../errors.js';
import { bandOps, bandWindow, planIntraOp, type BandOp, type IntraOpPlan, type PlanOptions, type Rows } from './bands.js';

/** Knobs (tests, benchmarks): a plan is used when its estimate beats one thread by `minGain`; see PlanOptions. */
export const intraOpTuning: PlanOptions & { minGain: number; spinUs: number; adaptive: boolean } = {
  minGain: 1.25,
  /**
   * Time banded images against one-thread ones and keep to one thread while banded ones are slower (a machine
   * whose other core is busy: every wait for a descheduled neighbour costs a time slice). Off: always banded.
   */
  adaptive: true,
  /**
   * µs a thread polls a done word before it sleeps in Atomics.wait (sent to the workers with each image): a
   * neighbour about to publish is caught without a futex wake-up, and a thread that does not sleep is not moved
   * onto its waker's core by the scheduler.
   */
  spinUs: 2000,
};

/** Bands run by a thread other than their owner (a late or descheduled thread's), over the process: bench/intra-op.js. */
export const intraOpStats = { images: 0, bands: 0, stolen: 0, walkMs: [0], waitedMs: [0], oneThread: 0 };

/** A thread silent this long fails the call (the pool's own limit). */
const TIMEOUT_MS = 10 * 60_000;
const rowBytes = (s: readonly (number | undefined)[]) => s[1]! * s[2]!;

/**
 * Control words (int32) at the start of the shared buffer: the abort word, then per segment s and band b a
 * claim word (0 free, 1 taken) and a done word. The data (plan.regions) starts after them, 16-byte aligned.
 */
const ABORT = 0;
const ctrlWords = (plan: IntraOpPlan) => 1 + 2 * plan.segments.length * plan.threads;
const claimWord = (plan: IntraOpPlan, s: number, b: number) => 1 + 2 * (s * plan.threads + b);
const dataStart = (plan: IntraOpPlan) => (4 * ctrlWords(plan) + 15) & ~15;

/** A plan's shared buffer: control words, the run's input (region 0), every segment's output. */
export function sharedRun(plan: IntraOpPlan): SharedArrayBuffer {
  return new SharedArrayBuffer(dataStart(plan) + plan.bytes);
}

/** Region k of a plan's shared buffer (0: the run's input, s + 1: segment s's output), all of it. */
export function region(plan: IntraOpPlan, buf: SharedArrayBuffer, k: number): Int8Array {
  const end = k + 1 < plan.regions.length ? plan.regions[k + 1] : plan.bytes;
  return new Int8Array(buf, dataStart(plan) + plan.regions[k], end - plan.regions[k]);
}

/** Clears the control words before an image (no thread may be walking the buffer). */
export function resetRun(plan: IntraOpPlan, buf: SharedArrayBuffer): void {
  new Int32Array(buf, 0, ctrlWords(plan)).fill(0);
}

/** Every band of a plan, [segment][band]: its ops' rows and input rows (null: an empty band). */
export type PlanBands = ({ ops: BandOp[]; in: Rows } | null)[][];

export function planBands(ops: readonly Op[], plan: IntraOpPlan): PlanBands {
  return plan.segments.map((s) => s.bands.map((out) => {
    if (out[1] <= out[0]) return null;
    const b = bandOps(ops.slice(s.from, s.to), out);
    if (!b) throw new QwasmError(`internal: no band form for rows ${out[0]}…${out[1] - 1} of ops ${s.from}…${s.to - 1}`);
    return b;
  }));
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

/** Sets the abort word and wakes every waiter: the other threads stop at their next wait. */
export function abort(buf: SharedArrayBuffer, plan: IntraOpPlan): void {
  const ctrl = new Int32Array(buf, 0, ctrlWords(plan));
  Atomics.store(ctrl, ABORT, 1);
  for (let i = 1; i < ctrl.length; i++) Atomics.notify(ctrl, i);
}

/**
 * One thread's walk through an image. Every band is a unit of work that ONE thread claims (compareExchange on
 * its claim word) and publishes (its done word). The owner claims its band of segment s before waiting for the
 * rows it reads; a thread that needs a neighbour's band (its halo) first makes sure of that band's own inputs,
 * then runs it if the owner has not claimed it yet (a worker woken late, a core taken by another process), or
 * waits for it. So a slow thread costs the others at most the band it is running, not the rest of the image,
 * and the codes do not depend on who ran which band (a band is the same computation wherever it runs). A thread
 * waits only for a band whose inputs are published (of an earlier segment): no cycle, no deadlock.
 */
export class BandWalker {
  private readonly ctrl: Int32Array;
  private readonly base: number;
  /** Bands of other threads this walker ran, and all it ran. */
  stolen = 0; ran = 0;
  /** ms this walker spent waiting for other threads' bands, and in walk() in all. */
  waitedMs = 0; walkMs = 0;
  /** The own band claimed ahead (segment), −1: none. */
  private held = -1;

  constructor(private readonly rt: Runtime, private readonly ops: readonly Op[], private readonly plan: IntraOpPlan,
              private readonly bands: PlanBands, private readonly buf: SharedArrayBuffer, private readonly t: number,
              private readonly spinUs = intraOpTuning.spinUs) {
    this.ctrl = new Int32Array(buf, 0, ctrlWords(plan));
    this.base = dataStart(plan);
  }

  /** Thread t's own bands in order, then (the caller, t = 0) every band of the last segment. False: aborted. */
  walk(): boolean {
    const t0 = performance.now();
    try {
      const S = this.plan.segments.length;
      for (let s = 0; s < S; s++) if (!this.ensure(s, this.t)) return false;
      if (this.t === 0) for (let b = 1; b < this.plan.threads; b++) if (!this.ensure(S - 1, b)) return false;
      return true;
    } catch (e) {
      abort(this.buf, this.plan);
      throw e;
    } finally {
      this.walkMs += performance.now() - t0;
    }
  }

  /** Makes sure band b of segment s is published, running it here if nobody has claimed it. False: aborted. */
  private ensure(s: number, b: number): boolean {
    const band = this.bands[s][b];
    if (!band) return true;
    const claim = claimWord(this.plan, s, b), ctrl = this.ctrl, mine = b === this.t;
    if (Atomics.load(ctrl, claim + 1)) return true;
    if (!mine && !this.inputs(s, band.in)) return false;
    if (mine && this.held === s) this.held = -1;
    else if (Atomics.compareExchange(ctrl, claim, 0, 1) !== 0) return this.wait(claim + 1);
    if (mine && !this.inputs(s, band.in)) return false;
    this.runBand(s, b);
    this.ran++;
    if (!mine) this.stolen++;
    // claim the next own band before publishing this one: a neighbour woken by this band's done word would
    // otherwise race this thread (busy with the notify) for the next band and run it while this thread waits
    if (mine) {
      let next = s + 1;
      while (next < this.bands.length && !this.bands[next][b]) next++;
      if (next < this.bands.length && Atomics.compareExchange(ctrl, claimWord(this.plan, next, b), 0, 1) === 0) this.held = next;
    }
    Atomics.store(ctrl, claim + 1, 1);
    Atomics.notify(ctrl, claim + 1);
    return true;
  }

  /** Makes sure the bands of segment s − 1 holding input rows `rows` of segment s are published. */
  private inputs(s: number, rows: Rows): boolean {
    if (s === 0) return true; // the run's input: written by the caller before any worker started
    const prev = this.plan.segments[s - 1].bands;
    for (let u = 0; u < prev.length; u++) if (prev[u][0] < rows[1] && rows[0] < prev[u][1] && !this.ensure(s - 1, u)) return false;
    return true;
  }

  private wait(done: number): boolean {
    const ctrl = this.ctrl, t0 = Date.now(), p0 = performance.now();
    for (;;) {
      if (Atomics.load(ctrl, done)) { this.waitedMs += performance.now() - p0; return true; }
      if (Atomics.load(ctrl, ABORT)) return false;
      if (performance.now() - p0 < this.spinUs / 1000) continue;
      if (Atomics.wait(ctrl, done, 0, 1000) === 'timed-out' && Date.now() - t0 > TIMEOUT_MS) {
        throw new QwasmError(`a band was not published within ${TIMEOUT_MS / 1000} s`);
      }
    }
  }

  /**
   * Band b of segment s, here and now, with no claim or wait (walk() uses it; bench/intra-op.js times the
   * bands one by one): copies the band's input rows in, runs its ops, copies its output rows out.
   */
  runBand(s: number, b: number): void {
    const { rt, ops, plan, buf, base } = this, seg = plan.segments[s], out = seg.bands[b], band = this.bands[s][b];
    if (!band) return;
    const inRb = rowBytes(ops[seg.from].inS), outRb = rowBytes(ops[seg.to - 1].outS), bufs: number[] = [];
    try {
      const inLen = (band.in[1] - band.in[0]) * inRb, x = rt.alloc(inLen);
      bufs.push(x);
      rt.i8(x, inLen).set(new Int8Array(buf, base + plan.regions[s] + band.in[0] * inRb, inLen));
      const y = execBand(rt, ops.slice(seg.from, seg.to), band.ops, x, band.in, bufs), outLen = (out[1] - out[0]) * outRb;
      new Int8Array(buf, base + plan.regions[s + 1] + out[0] * outRb, outLen).set(rt.i8(y, outLen));
    } finally {
      for (const p of bufs) rt.free(p);
    }
  }
}

/** The caller's per-runner state: the plan for its thread count, every band, the shared buffer, the pool it was sent to. */
interface CallerState {
  key: string; plan: IntraOpPlan | null; bands?: PlanBands; buf?: SharedArrayBuffer; pool?: ThreadPool; sent?: boolean; pick?: Chooser;
  /** The ops before and after the banded run (the same arrays every image: the runner keeps their schedules). */
  head?: Op[]; tail?: Op[];
}

/**
 * Banded or one thread, from measured wall times (intraOpTuning.adaptive). Medians of the last 5 images of each
 * kind (one slow image on a busy machine does not decide): after two warm-up banded images, three run on one
 * thread; then banded, with one image on one thread every 32 to keep that median fresh. When the median banded
 * image is slower, the next `skip` images run on one thread and the wait doubles (4 … 64) before three banded
 * images are tried again.
 */
class Chooser {
  private calls = 0; private skip = 0; private backoff = 4;
  private readonly single: number[] = []; private banded: number[] = [];

  /** Should this image run banded? */
  next(): boolean {
    this.calls++;
    if (this.calls <= 2) return true;
    if (this.single.length < 3 || this.calls % 32 === 0) return false;
    if (this.skip > 0) { this.skip--; return false; }
    return true;
  }

  record(banded: boolean, ms: number): void {
    const into = banded ? this.banded : this.single;
    into.push(ms);
    if (into.length > 5) into.shift();
    if (!banded || this.banded.length < 3 || this.single.length < 3) return;
    if (median(this.banded) > median(this.single)) { this.skip = this.backoff; this.backoff = Math.min(2 * this.backoff, 64); this.banded = []; }
    else this.backoff = 4;
  }
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

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
 * `single` runs the image on this thread alone when the adaptive choice says so (default: runner.exec).
 */
export function runIntraOp(runner: Int8Runner, inPtr: number, bufs: number[], single?: () => number): number | null {
  const rt = runner.rt, plan = intraOpPlan(runner);
  if (!plan) return null;
  const pool = ThreadPool.of(rt);
  if (!pool) return null;
  const st = stateOf(runner, rt.threads), ops = runner.ops, id = runner.replicaId(pool);
  if (st.pool !== pool) { st.pool = pool; st.sent = false; }
  const pick = intraOpTuning.adaptive && !intraOpTuning.segmentOps ? (st.pick ??= new Chooser()) : null;
  const t0 = performance.now(), banded = pick ? pick.next() : true, first = !st.sent;
  const y = banded ? runBanded(runner, plan, st, pool, id, inPtr, bufs) : single ? single() : runner.exec(ops, inPtr, 1, bufs, null);
  if (!banded) intraOpStats.oneThread++;
  if (pick && !first) pick.record(banded, performance.now() - t0); // the first image also loads the workers' plans
  return y;
}

function runBanded(runner: Int8Runner, plan: IntraOpPlan, st: CallerState, pool: ThreadPool, id: number, inPtr: number, bufs: number[]): number {
  const rt = runner.rt, ops = runner.ops;
  st.bands ??= planBands(ops, plan);
  st.buf ??= sharedRun(plan);
  const buf = st.buf;
  const x = runner.exec(st.head ??= ops.slice(0, plan.from), inPtr, 1, bufs, null);
  resetRun(plan, buf); // no worker is walking it: the last call collected every reply
  const input = region(plan, buf, 0);
  input.set(rt.i8(x, input.length));
  const msgs = pool.workers.map((_, i) => ({ task: 'intra.run', id, thread: i + 1, buf, spinUs: intraOpTuning.spinUs, plan: st.sent ? undefined : plan }));
  st.sent = true;
  const walker = new BandWalker(rt, ops, plan, st.bands, buf, 0);
  const { own, replies } = pool.run(msgs, () => walker.walk());
  // own false: a worker failed and pool.run has thrown its error already; this only guards the protocol
  if (!own) throw new QwasmError('internal: intra-op run stopped without an error');
  intraOpStats.images++;
  intraOpStats.bands += walker.ran + replies.reduce((a, r) => a + (r.ran as number), 0);
  intraOpStats.stolen += walker.stolen + replies.reduce((a, r) => a + (r.stolen as number), 0);
  for (const [i, w] of [walker, ...replies].entries()) {
    intraOpStats.walkMs[i] = (intraOpStats.walkMs[i] ?? 0) + (w.walkMs as number);
    intraOpStats.waitedMs[i] = (intraOpStats.waitedMs[i] ?? 0) + (w.waitedMs as number);
  }
  const output = region(plan, buf, plan.segments.length), y = rt.alloc(output.length);
  bufs.push(y);
  rt.i8(y, output.length).set(output);
  return runner.exec(st.tail ??= ops.slice(plan.to), y, 1, bufs, null);
}
