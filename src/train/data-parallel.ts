// Data-parallel training steps over the runtime's threads (docs/THREADS.md). fit() hands each step's batch to
// DataParallel.step when the runtime has threads and the model can be replicated (a layer tree describeLayers
// can write down; no extra loss terms). Per step:
//   1. this thread writes every parameter and buffer into one SharedArrayBuffer (the broadcast), and the batch
//      and its labels into another;
//   2. the batch is cut into T contiguous shards ("chunks"). Chunk 0 is this thread's; chunks 1…T−1 go to
//      whichever thread CLAIMS them first (an atomic counter): a worker that wakes late (a busy machine) leaves
//      its chunk to this thread instead of making the step wait for it;
//   3. a thread runs a chunk on its replica (this thread: on the model) from the broadcast weights and BN
//      statistics, from zero gradients, with the loss scaled by chunk/batch and dropout seeded by the chunk
//      index, and writes the chunk's gradients and BN running statistics into the chunk's slot;
//   4. this thread sums the gradients it had before the step and the slots of chunks 0, 1, …, T−1 in that FIXED
//      order, and averages the BN statistics (weighted by chunk size): the result does not depend on which thread
//      ran which chunk, so it is deterministic for a given thread count; the optimiser step (clipping,
//      schedule, state) then runs once, on this thread only.
// What changes with the thread count: BN batch statistics are per chunk, dropout masks, and the float summation
// order.
// On a browser main thread (fitAsync: a BACKGROUND pool, which the caller may not block on) the caller runs no
// chunk: its workers claim chunks 0…T−1, and every chunk's gradients come through its slot. The sum is the same
// (before + chunk 0 + chunk 1 …, in that order), so the result equals the blocking run's bit for bit.
// The steps talk to the pool in rounds a driver carries out (src/threads/exchange.ts): load, step, free are
// generators that yield their Exchange, so fit (blocking) and fitAsync (awaiting) share this code.
import type { Runtime } from '../runtime.js';
import { Engine, type Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import { buildLayers, describeLayers, type LayerSpec } from '../nn/layer-spec.js';
import { Dropout } from '../nn/layers.js';
import { argmaxRows, add } from '../kernels/eltwise_f32.js';
import { ThreadPool, shards, wallMs, type TaskReply } from '../threads/pool.js';
import type { Exchange, Rounds } from '../threads/exchange.js';
import { QwasmError } from '../errors.js';

/** Loss and correctly classified rows of one shard (forward, loss scaled by `weight`, backward). */
function shardStep(model: Module, x: Tensor, labelsPtr: number, n: number, weight: number, smoothing: number, predPtr: number, labels: ArrayLike<number>): { loss: number; correct: number } {
  const rt = model.engine.rt;
  const logits = model.forward(x);
  const task = ops.crossEntropy(logits, labelsPtr, smoothing);
  const loss = task.item();
  if (Number.isFinite(loss)) ops.weightedSum([[task, weight]]).backward();
  argmaxRows(rt, logits.ptr, n, logits.shape[1], predPtr);
  const pred = rt.i32(predPtr, n);
  let correct = 0;
  for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++;
  return { loss, correct };
}

/** The model's tensors in a fixed order: parameters then buffers, with their offsets in the flat layout. */
function layoutOf(model: Module) {
  const params = model.namedParameters().map(([name, p]) => ({ name, t: p.tensor }));
  const buffers = model.namedBuffers().map(([name, t]) => ({ name, t }));
  let off = 0;
  const place = (l: { name: string; t: Tensor }[]) => l.map((e) => { const o = off; off += e.t.size; return { ...e, off: o }; });
  const p = place(params), pEnd = off;
  const b = place(buffers);
  return { params: p, buffers: b, paramFloats: pEnd, totalFloats: off, signature: [...p, ...b].map((e) => `${e.name}:${e.t.shape.join('x')}`).join(',') };
}
type Layout = ReturnType<typeof layoutOf>;

interface Shared {
  /** Broadcast parameters and buffers (layout order). */
  state: SharedArrayBuffer;
  /** One slot per chunk: its gradients (parameters) then its BN running statistics (buffers). */
  slots: SharedArrayBuffer;
  /** The batch (float32) and labels (int32). */
  x: SharedArrayBuffer; y: SharedArrayBuffer;
  /** [next chunk to claim, number of the step whose broadcast is written]. */
  ctrl: SharedArrayBuffer;
  /** Per chunk: loss, correctly classified rows (float64). */
  results: SharedArrayBuffer;
}
type Part = { start: number; count: number };
/** Per module (modules() order): a Dropout's seed and calls at the start of the step, or null. */
type DropState = ([number, number] | null)[];

const dropState = (model: Module): DropState => model.modules().map(([, m]) => (m instanceof Dropout ? [m.seed, m.calls] : null));

/** Gives every Dropout a seed of its own for chunk c (the same in every thread), calls as at the step's start. */
function seedDropout(model: Module, drop: DropState, c: number): void {
  model.modules().forEach(([, m], i) => {
    const d = drop[i];
    if (d && m instanceof Dropout) { m.seed = (Math.imul(d[0], 0x9e3779b1) ^ Math.imul(c + 1, 0x85ebca6b)) >>> 0; m.calls = d[1]; }
  });
}

/**
 * Runs chunk c on `model` (this thread's model or a replica): BN statistics reset to the broadcast, gradients
 * zeroed, forward + loss + backward, then the chunk's gradients and statistics into its slot and its loss and
 * correct count into `results`. x / labels hold the batch (labelsPtr: the batch's labels in this thread's memory).
 * With keepGrads the gradients are left in the model's instead of the slot (thread 0's chunk 0: no round trip
 * through the shared buffer).
 */
function runChunk(model: Module, L: Layout, sh: Shared, parts: Part[], c: number, B: number, sample: number[], smoothing: number,
  drop: DropState, xPtrOrShared: number | null, labelsPtr: number, predPtr: number, ys: Int32Array, keepGrads = false): void {
  const engine = model.engine, rt = engine.rt, state = new Float32Array(sh.state), { start, count } = parts[c];
  const per = sample.reduce((a, b) => a * b, 1);
  for (const e of L.buffers) rt.f32(e.t.ptr, e.t.size).set(state.subarray(e.off, e.off + e.t.size));
  for (const e of L.params) e.t.grad?.zero();
  seedDropout(model, drop, c);
  const x = engine.empty([count, ...sample], false);
  x.write(xPtrOrShared === null ? new Float32Array(sh.x, 4 * start * per, count * per) : rt.f32(xPtrOrShared + 4 * start * per, count * per));
  const out = shardStep(model, x, labelsPtr + 4 * start, count, count / B, smoothing, predPtr, ys.subarray(start, start + count));
  const slot = new Float32Array(sh.slots, 4 * c * L.totalFloats, L.totalFloats);
  // keepGrads (thread 0's chunk 0): the gradients stay in the model's, where the sum needs them
  if (!keepGrads) for (const e of L.params) {
    const g = e.t.grad;
    if (g && e.t.requiresGrad) slot.set(rt.f32(g.ptr, g.size), e.off);
    else slot.fill(0, e.off, e.off + e.t.size);
  }
  for (const e of L.buffers) slot.set(rt.f32(e.t.ptr, e.t.size), e.off);
  const res = new Float64Array(sh.results);
  res[2 * c] = out.loss; res[2 * c + 1] = out.correct;
}

/** Claims chunks 1…T−1 until none is left (chunk 0 is the caller's), running each. */
function claimChunks(sh: Shared, chunks: number, run: (c: number) => void): void {
  const next = new Int32Array(sh.ctrl);
  for (let c = Atomics.add(next, 0, 1); c < chunks; c = Atomics.add(next, 0, 1)) run(c);
}

export class DataParallel {
  /** Tests only: the caller claims every chunk before the workers are told (the workers then find none left). */
  static callerRunsAll = false;
  private readonly layout: Layout;
  private readonly state: Float32Array;
  private readonly sh: Shared;
  private readonly parts: Part[];
  private readonly predPtr: number;
  /** WASM scratch: the gradients held before the step, then each chunk's slot on its way into the model's. */
  private readonly before: number;
  private readonly scratch: number;
  /** Steps so far: the number the workers wait for in ctrl[1] before reading a step's broadcast. */
  private steps = 0;

  private constructor(readonly model: Module, private readonly pool: ThreadPool, private readonly background: boolean, private readonly id: number,
    private readonly spec: LayerSpec, readonly batchSize: number, readonly threads: number, private readonly sample: number[], private readonly smoothing: number) {
    const rt = model.engine.rt;
    this.layout = layoutOf(model);
    this.parts = shards(batchSize, threads);
    const per = sample.reduce((a, b) => a * b, 1), T = this.parts.length, L = this.layout;
    this.sh = {
      state: new SharedArrayBuffer(4 * L.totalFloats), slots: new SharedArrayBuffer(4 * T * L.totalFloats),
      x: new SharedArrayBuffer(4 * batchSize * per), y: new SharedArrayBuffer(4 * batchSize),
      ctrl: new SharedArrayBuffer(8), results: new SharedArrayBuffer(16 * T),
    };
    this.state = new Float32Array(this.sh.state);
    this.predPtr = rt.alloc(4 * this.parts[0].count);
    this.before = rt.alloc(4 * Math.max(1, L.paramFloats));
    this.scratch = rt.alloc(4 * Math.max(1, L.paramFloats));
  }

  /** The workers' messages of one round: one per chunk they may run (a background pool: every chunk). */
  private round(msg: unknown, own?: () => void): Exchange {
    const workers = this.background ? this.parts.length : this.parts.length - 1;
    return { pool: this.pool, msgs: Array.from({ length: workers }, () => msg), own, background: this.background };
  }

  /** Builds the replicas in the workers (once, before the first step); the caller disposes on failure. */
  *load(): Rounds<void> {
    const { sh, layout: L, id, spec, sample, parts, batchSize, smoothing } = this;
    yield this.round({ task: 'train.load', id, spec, signature: L.signature, sample, parts, batchSize, smoothing, ...sh });
  }

  /**
   * Data parallelism for fit(): null when the runtime has one thread, the batch is too small to give every
   * thread two samples, or the model is not a layer tree a thread can rebuild (describeLayers): then fit runs
   * as before. `sample` is one example's [h, w, c].
   */
  static create(model: Module, batchSize: number, sample: number[], smoothing: number, background: ThreadPool | null = null): DataParallel | null {
    const rt: Runtime = model.engine.rt;
    // a background pool (a browser main thread, fitAsync): its workers are all the threads, the caller runs none
    const threads = Math.min(background ? background.workers.length : rt.threads, Math.floor(batchSize / 2));
    if (threads < 2) return null;
    let spec: LayerSpec;
    try { spec = describeLayers(model); } catch { return null; }
    const pool = background ?? ThreadPool.of(rt);
    if (!pool) return null;
    const cap = background ? pool.workers.length : pool.threads;
    return new DataParallel(model, pool, background !== null, pool.newId(), spec, batchSize, Math.min(threads, cap), sample, smoothing);
  }

  /**
   * One step's gradients for the batch in x (batchSize rows, labels in labelsPtr / ys), accumulated into the
   * model's parameter gradients; buffers (BN running statistics) become the chunk-weighted mean. Returns the
   * batch's mean loss and correctly classified rows.
   */
  *step(x: Tensor, ys: Int32Array, labelsPtr: number): Rounds<{ loss: number; correct: number }> {
    const model = this.model, rt = model.engine.rt, B = this.batchSize, L = this.layout, sh = this.sh;
    const per = x.size / B, T = this.parts.length, ctrl = new Int32Array(sh.ctrl), seq = ++this.steps;
    const trainable = L.params.map((e) => e.t.requiresGrad);
    // a module's effective mode: a frozen BatchNorm2d (transfer/finetune setFrozen) normalises with its running
    // statistics like an eval-mode one, and its buffers must come back unchanged
    const mods = model.modules(), modes = mods.map(([, m]) => m.training && !(m as { frozen?: boolean }).frozen);
    const live = new Set(mods.filter((_, i) => modes[i]).map(([name]) => name));
    const drop = dropState(model);
    // the parameters whose gradients are summed (a gradient buffer may first appear in a chunk's backward)
    const grads = () => L.params.filter((e) => e.t.grad && e.t.requiresGrad);
    /** The workers are told first and wait for this (their wake-up overlaps it): the broadcast of weights, batch and labels. */
    const broadcast = () => {
      try {
        for (const e of [...L.params, ...L.buffers]) this.state.set(rt.f32(e.t.ptr, e.t.size), e.off);
        new Float32Array(sh.x).set(rt.f32(x.ptr, B * per));
        new Int32Array(sh.y).set(ys);
        Atomics.store(ctrl, 0, this.background ? 0 : 1);   // the next chunk to claim (chunk 0 is a blocking caller's)
      } finally {   // even after a failure, so no worker waits forever (the step then throws once all replied)
        Atomics.store(ctrl, 1, seq);
        Atomics.notify(ctrl, 1);
      }
      // the gradients from before the step (gradient accumulation): the chunks start from zero
      const before = rt.f32(this.before, L.paramFloats);
      for (const e of L.params) {
        if (e.t.grad) before.set(rt.f32(e.t.grad.ptr, e.t.size), e.off);
        else before.fill(0, e.off, e.off + e.t.size);
      }
    };
    // chunk 0 (always this thread's) leaves its gradients in the model's; before this thread runs another chunk
    // they are added to `before` (the same sum, before + chunk 0, in the same order, as at the end)
    let folded = false;
    const run = (c: number) => {
      if (c > 0 && !folded) {
        for (const e of grads()) add(rt, this.before + 4 * e.off, e.t.grad!.ptr, this.before + 4 * e.off, e.t.size);
        folded = true;
      }
      runChunk(model, L, sh, this.parts, c, B, this.sample, this.smoothing, drop, x.ptr, labelsPtr, this.predPtr, ys, c === 0);
    };
    const msg = { task: 'train.step', id: this.id, seq, trainable, modes, drop };
    let replies: TaskReply[] | undefined;
    if (this.background) replies = yield this.round(msg, broadcast);   // the workers run every chunk
    else {
      const own = () => { broadcast(); run(0); claimChunks(sh, T, run); };
      if (DataParallel.callerRunsAll) own();
      replies = yield this.round(msg, () => { if (!DataParallel.callerRunsAll) own(); });
    }
    // a background caller ran no backward: its parameters get the gradient buffers the workers' replicas have
    if (this.background) {
      for (const [i, e] of L.params.entries()) if (replies!.some((r) => (r.grads as string | undefined)?.[i] === '1')) e.t.ensureGrad();
    }
    // fixed order: the gradients from before, + chunk 0's, + chunk 1's, … (each slot copied into WASM once, then
    // one f32 add per tensor). Chunk 0's are in the model's gradients unless this thread ran another chunk after
    // it (folded into `before`) or ran none (a background caller: chunk 0 comes from its slot)
    const summed = grads(), first = this.background ? 0 : 1;
    for (const e of summed) {
      const g = e.t.grad!;
      if (folded || this.background) rt.f32(g.ptr, g.size).set(rt.f32(this.before + 4 * e.off, e.t.size));
      else add(rt, this.before + 4 * e.off, g.ptr, g.ptr, e.t.size);
    }
    for (let c = first; c < T; c++) {
      rt.f32(this.scratch, L.paramFloats).set(new Float32Array(sh.slots, 4 * c * L.totalFloats, L.paramFloats));
      for (const e of summed) add(rt, e.t.grad!.ptr, this.scratch + 4 * e.off, e.t.grad!.ptr, e.t.size);
    }
    for (const e of L.buffers) {
      const bv = rt.f32(e.t.ptr, e.t.size);
      if (!live.has(e.name.slice(0, Math.max(0, e.name.lastIndexOf('.'))))) {   // not updated by any thread
        bv.set(this.state.subarray(e.off, e.off + e.t.size));
        continue;
      }
      for (let c = 0; c < T; c++) {
        const w = Math.fround(this.parts[c].count / B), o = new Float32Array(sh.slots, 4 * (c * L.totalFloats + e.off), e.t.size);
        if (c === 0) for (let j = 0; j < bv.length; j++) bv[j] = w * o[j];
        else for (let j = 0; j < bv.length; j++) bv[j] += w * o[j];
      }
    }
    // each Dropout moves on by one call per step, as on one thread
    mods.forEach(([, m], i) => { const d = drop[i]; if (d && m instanceof Dropout) { m.seed = d[0]; m.calls = d[1] + 1; } });
    const res = new Float64Array(sh.results);
    let loss = 0, correct = 0;
    for (let c = 0; c < T; c++) { loss += (this.parts[c].count / B) * res[2 * c]; correct += res[2 * c + 1]; }
    return { loss, correct };
  }

  /** Frees the buffers here and the replicas in the workers. */
  *dispose(): Rounds<void> {
    const rt = this.model.engine.rt;
    rt.free(this.predPtr); rt.free(this.before); rt.free(this.scratch);
    try {
      yield this.round({ task: 'train.free', id: this.id });
    } catch { /* a thread that failed has nothing to free */ }
  }
}

// ------------------------------------------------------------------ pool-thread side

interface Replica { model: Module; layout: Layout; labelsPtr: number; predPtr: number; sample: number[]; smoothing: number; parts: Part[]; batchSize: number; sh: Shared }
const replicas = new Map<number, Replica>();

export const workerTasks: Record<string, (rt: Runtime, msg: Record<string, unknown>) => TaskReply> = {
  'train.load': (rt, m) => {
    const model = buildLayers(new Engine(rt), m.spec as LayerSpec, 'the model sent to a thread');
    const layout = layoutOf(model);
    if (layout.signature !== m.signature) {
      model.dispose();
      throw new QwasmError('the rebuilt model does not have the same parameters and buffers as the original');
    }
    const batchSize = m.batchSize as number, parts = m.parts as Part[];
    const sh: Shared = { state: m.state, slots: m.slots, x: m.x, y: m.y, ctrl: m.ctrl, results: m.results } as Shared;
    replicas.set(m.id as number, {
      model, layout, labelsPtr: rt.alloc(4 * batchSize), predPtr: rt.alloc(4 * parts[0].count), sample: m.sample as number[],
      smoothing: m.smoothing as number, parts, batchSize, sh,
    });
    return {};
  },
  'train.step': (rt, m) => {
    const r = replicas.get(m.id as number);
    if (!r) throw new QwasmError(`no training replica ${String(m.id)} in this thread`);
    const { model, layout: L, sh } = r, engine = model.engine;
    const state = new Float32Array(sh.state), ctrl = new Int32Array(sh.ctrl), seq = m.seq as number;
    // the caller posts before it writes the step's broadcast (so this thread's wake-up overlaps the writing)
    const t0 = Date.now();
    for (let v = Atomics.load(ctrl, 1); v !== seq; v = Atomics.load(ctrl, 1)) {
      if (Date.now() - t0 > 600_000) throw new QwasmError(`step ${seq}: the caller did not write its broadcast within 10 minutes`);
      Atomics.wait(ctrl, 1, v, 1000);
    }
    const start = wallMs();   // busy from here: after the wait for the broadcast
    const trainable = m.trainable as boolean[], modes = m.modes as boolean[];
    L.params.forEach((e, i) => { e.t.requiresGrad = trainable[i]; });
    model.modules().forEach(([, mod], i) => { mod.training = modes[i]; });
    for (const e of L.params) rt.f32(e.t.ptr, e.t.size).set(state.subarray(e.off, e.off + e.t.size));
    const ys = new Int32Array(sh.y);
    rt.i32(r.labelsPtr, r.batchSize).set(ys);
    let chunks = 0;
    try {
      claimChunks(sh, r.parts.length, (c) => {
        runChunk(model, L, sh, r.parts, c, r.batchSize, r.sample, r.smoothing, m.drop as DropState, null, r.labelsPtr, r.predPtr, ys);
        chunks++;
      });
      // which parameters have a gradient (a background caller, which ran no backward, creates the same buffers)
      const grads = L.params.map((e) => (e.t.grad && e.t.requiresGrad ? '1' : '0')).join('');
      return { chunks, work: chunks, busy: [start, wallMs()], grads };
    } finally {
      engine.endStep();
    }
  },
  'train.free': (rt, m) => {
    const r = replicas.get(m.id as number);
    if (r) { r.model.dispose(); rt.free(r.labelsPtr); rt.free(r.predPtr); replicas.delete(m.id as number); }
    return {};
  },
};
