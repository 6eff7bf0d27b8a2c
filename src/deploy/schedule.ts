// The flat schedule of a compiled op list (src/deploy/runner.ts): every kernel call of a run in order, each
// reading and writing numbered values, and the arena layout that gives those values fixed places in one WASM
// block for a batch size. Int8Runner walks the schedule with no recursion and no per-layer allocation: at batch 1
// the ~40 alloc / free pairs and per-op closures of a run cost as much as the smallest layers.
//   Values: −1 is the run's input (outside the arena unless the layout holds it); value v is produced by exactly
//   one step. A flatten produces no step: its output is its input's value.
//   Layout: each value lives from the step that writes it to the last step that reads it (the result: to the
//   end); values whose lifetimes overlap get disjoint bytes (greedy by size, first fit: TFLite's arena planner
//   does the same). A step's output never shares bytes with its inputs (both are live at that step).
import type { Op } from './runner.js';
import type { QParams } from './graph.js';

/** A value recorded by Int8Runner.trace once its step has run. */
export interface TraceRecord { name: string; v: number; shape: readonly number[]; bytes: number; qparams: QParams }

export interface Step {
  /** The op a step's time goes to (Int8Runner.profile): a residual's add and a DAG's merges are their node's own time. */
  op: Op;
  /** A DAG's merge: its index in op.node.steps (−1 otherwise; a residual op's step is its add, any other op's its kernel). */
  dag: number;
  /** Values read (−1: the run's input) and written. */
  ins: number[]; out: number;
  /** Traces recorded after this step (nodes finished by it; a merge's own name). */
  traces: TraceRecord[];
}

export interface Schedule {
  steps: Step[];
  /** Per value: bytes of one sample. */
  bytes: number[];
  /** The value holding the run's output (−1: the input itself, a graph of flattens only). */
  result: number;
  /** Traces of ops finished before any step ran (leading flattens never trace: kept for completeness). */
  pre: TraceRecord[];
  /** Layouts of the values alone (valuesLayout) and of whole runs (runLayout), by batch size. */
  layouts: Map<number, Layout>; runLayouts: Map<number, Layout>;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The schedule of `ops` (run on the value −1). */
export function scheduleOf(ops: readonly Op[]): Schedule {
  const sc: Schedule = { steps: [], bytes: [], result: -1, pre: [], layouts: new Map(), runLayouts: new Map() };
  const value = (bytes: number) => { sc.bytes.push(bytes); return sc.bytes.length - 1; };
  const traceAfter = (r: TraceRecord) => (sc.steps.length ? sc.steps[sc.steps.length - 1].traces : sc.pre).push(r);
  const push = (op: Op, ins: number[], bytes: number, dag = -1) => {
    const out = value(bytes);
    sc.steps.push({ op, dag, ins, out, traces: [] });
    return out;
  };
  const walk = (list: readonly Op[], x: number): number => {
    for (const o of list) {
      const nd = o.node;
      let y: number;
      switch (nd.kind) {
        case 'flatten': y = x; break;
        case 'residual': {
          const a = walk(o.body!, x), b = o.shortcut ? walk(o.shortcut, x) : x;
          y = push(o, [a, b], o.outBytes);
          break;
        }
        case 'dag': {
          const vals: number[] = [], at = (j: number) => (j < 0 ? x : vals[j]);
          nd.steps.forEach((st, i) => {
            const sp = o.steps![i];
            if (sp.ops) { vals.push(walk(sp.ops, at(st.inputs[0]))); return; }
            const v = push(o, st.inputs.map(at), size(sp.outS), i);
            traceAfter({ name: st.name!, v, shape: sp.outS, bytes: size(sp.outS), qparams: st.out! });
            vals.push(v);
          });
          y = vals[vals.length - 1];
          break;
        }
        default: y = push(o, [x], o.outBytes);
      }
      // what the per-node run recorded: every node's output but a flatten's and a maxpool's (its input's grid)
      if (nd.kind !== 'flatten' && nd.kind !== 'maxpool') traceAfter({ name: nd.name, v: y, shape: o.outS, bytes: o.outBytes, qparams: nd.out });
      x = y;
    }
    return x;
  };
  sc.result = walk(ops, -1);
  return sc;
}

/** A block to place: bytes and the steps it is live over, [first, last] (−1: before the first step). */
export interface Interval { bytes: number; first: number; last: number }

export interface Layout { offsets: number[]; total: number }

/** Offsets (16-byte aligned) for `blocks` such that blocks live at the same step never overlap, and the total. */
export function layout(blocks: readonly Interval[]): Layout {
  const offsets = new Array<number>(blocks.length).fill(0), placed: number[] = [];
  const order = blocks.map((_, i) => i).sort((a, b) => blocks[b].bytes - blocks[a].bytes || a - b);
  let total = 0;
  for (const i of order) {
    const bi = blocks[i], len = (bi.bytes + 15) & ~15;
    // the placed blocks alive together with this one, by offset: take the first gap that fits
    const busy = placed.filter((j) => blocks[j].first <= bi.last && bi.first <= blocks[j].last).sort((a, b) => offsets[a] - offsets[b]);
    let off = 0;
    for (const j of busy) {
      if (offsets[j] - off >= len) break;
      off = Math.max(off, offsets[j] + ((blocks[j].bytes + 15) & ~15));
    }
    offsets[i] = off;
    placed.push(i);
    total = Math.max(total, off + len);
  }
  return { offsets, total };
}

/**
 * The lifetimes of a schedule's values for n samples (value v at index v), plus the input's when `input` gives
 * its bytes (index bytes.length; live from before the first step to its last reader) and any `extra` blocks.
 */
export function lifetimes(sc: Schedule, n: number, input?: number): Interval[] {
  const end = sc.steps.length;
  const iv: Interval[] = sc.bytes.map((b) => ({ bytes: n * b, first: end, last: -1 }));
  const inIv: Interval = { bytes: input ?? 0, first: -1, last: -1 };
  const at = (v: number) => (v < 0 ? inIv : iv[v]);
  sc.steps.forEach((st, k) => {
    iv[st.out].first = Math.min(iv[st.out].first, k);
    iv[st.out].last = Math.max(iv[st.out].last, k);
    for (const v of st.ins) at(v).last = Math.max(at(v).last, k);
    for (const r of st.traces) at(r.v).last = Math.max(at(r.v).last, k); // read after the step (trace)
  });
  at(sc.result).last = end;
  return input === undefined ? iv : [...iv, inIv];
}

/** The entry for batch size n of `memo`, made on first use; the last few sizes are kept (batch-parallel claims vary). */
function remembered(memo: Map<number, Layout>, n: number, make: () => Layout): Layout {
  let l = memo.get(n);
  if (!l) {
    if (memo.size >= 16) memo.clear();
    memo.set(n, l = make());
  }
  return l;
}

/** layout(lifetimes(sc, n)): the values alone (exec() runs a schedule on an input it does not own). */
export function valuesLayout(sc: Schedule, n: number): Layout {
  return remembered(sc.layouts, n, () => layout(lifetimes(sc, n)));
}

/**
 * A whole run of n samples: the values (offsets[v]), then the input codes (offsets[values], `inBytes` a sample)
 * and the float input until it is quantised (offsets[values + 1], 4 · inBytes a sample, live before step 0 only).
 */
export function runLayout(sc: Schedule, n: number, inBytes: number): Layout {
  return remembered(sc.runLayouts, n, () => layout([...lifetimes(sc, n, n * inBytes), { bytes: 4 * n * inBytes, first: -1, last: -1 }]));
}
