// Data-parallel training steps over the runtime's threads (docs/THREADS.md). fit() hands each step's batch to
// DataParallel.step when the runtime has threads and the model can be replicated (a layer tree describeLayers
// can write down; no extra loss terms). Per step:
//   1. this thread writes every parameter and buffer into one SharedArrayBuffer (the broadcast);
//   2. the batch is cut into T contiguous shards; shard i (i ≥ 1) is copied into thread i's input buffer;
//   3. every thread loads the broadcast weights into its replica, runs forward + loss + backward on its shard
//      with the loss scaled by shard/batch, and writes its gradients (and BN running statistics) into its own
//      SharedArrayBuffer; this thread does shard 0 on the model itself meanwhile;
//   4. this thread adds the gradients of threads 1…T−1 to its own in that FIXED order and averages the
//      buffers (weighted by shard size), so the result is deterministic for a given thread count; the
//      optimiser step (clipping, schedule, state) then runs once, on this thread only.
// What changes with the thread count: BN batch statistics are per shard, and the float summation order.
import type { Runtime } from '../runtime.js';
import { Engine, type Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import type { Module } from '../nn/module.js';
import { buildLayers, describeLayers, type LayerSpec } from '../nn/layer-spec.js';
import { argmaxRows, add } from '../kernels/eltwise_f32.js';
import { ThreadPool, shards, type TaskReply } from '../threads/pool.js';
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

interface Shared { state: SharedArrayBuffer; grads: SharedArrayBuffer; x: SharedArrayBuffer; y: SharedArrayBuffer }

export class DataParallel {
  private readonly layout: Layout;
  private readonly state: Float32Array;
  private readonly shared: Shared[] = [];
  private readonly parts: { start: number; count: number }[];
  private readonly predPtr: number;
  /** WASM copy of one thread's gradients, summed into the model's with the SIMD add kernel. */
  private readonly gradScratch: number;

  private constructor(readonly model: Module, private readonly pool: ThreadPool, private readonly id: number, spec: LayerSpec,
    readonly batchSize: number, readonly threads: number, private readonly sample: number[], private readonly smoothing: number) {
    const rt = model.engine.rt;
    this.layout = layoutOf(model);
    const stateBuf = new SharedArrayBuffer(4 * this.layout.totalFloats);
    this.state = new Float32Array(stateBuf);
    this.parts = shards(batchSize, threads);
    const per = sample.reduce((a, b) => a * b, 1), maxShard = this.parts[0].count;
    for (let i = 1; i < threads; i++) {
      this.shared.push({
        state: stateBuf, grads: new SharedArrayBuffer(4 * this.layout.totalFloats),
        x: new SharedArrayBuffer(4 * maxShard * per), y: new SharedArrayBuffer(4 * maxShard),
      });
    }
    this.predPtr = rt.alloc(4 * maxShard);
    this.gradScratch = rt.alloc(4 * Math.max(1, this.layout.paramFloats));
    try {
      pool.run(this.shared.map((s) => ({ task: 'train.load', id, spec, signature: this.layout.signature, sample, maxShard, smoothing, ...s })), () => undefined);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * Data parallelism for fit(): null when the runtime has one thread, the batch is too small to give every
   * thread two samples, or the model is not a layer tree a thread can rebuild (describeLayers): then fit runs
   * as before. `sample` is one example's [h, w, c].
   */
  static create(model: Module, batchSize: number, sample: number[], smoothing: number): DataParallel | null {
    const rt: Runtime = model.engine.rt;
    const threads = Math.min(rt.threads, Math.floor(batchSize / 2));
    if (threads < 2) return null;
    let spec: LayerSpec;
    try { spec = describeLayers(model); } catch { return null; }
    const pool = ThreadPool.of(rt);
    if (!pool) return null;
    return new DataParallel(model, pool, pool.newId(), spec, batchSize, Math.min(threads, pool.threads), sample, smoothing);
  }

  /**
   * One step's gradients for the batch in x (batchSize rows, labels in labelsPtr / ys), accumulated into the
   * model's parameter gradients; buffers (BN running statistics) become the shard-weighted mean of the threads'.
   * Returns the batch's mean loss and correctly classified rows.
   */
  step(x: Tensor, ys: Int32Array, labelsPtr: number): { loss: number; correct: number } {
    const model = this.model, engine = model.engine, rt = engine.rt, B = this.batchSize;
    const per = x.size / B, L = this.layout;
    for (const e of [...L.params, ...L.buffers]) this.state.set(rt.f32(e.t.ptr, e.t.size), e.off);
    const trainable = L.params.map((e) => e.t.requiresGrad);
    // a module's effective mode: a frozen BatchNorm2d (transfer/finetune setFrozen) normalises with its running
    // statistics like an eval-mode one, and its buffers must come back unchanged
    const mods = model.modules(), modes = mods.map(([, m]) => m.training && !(m as { frozen?: boolean }).frozen);
    const live = new Set(mods.filter((_, i) => modes[i]).map(([name]) => name));
    const msgs = this.parts.slice(1).map((p, i) => {
      const s = this.shared[i];
      new Float32Array(s.x, 0, p.count * per).set(rt.f32(x.ptr + 4 * p.start * per, p.count * per));
      new Int32Array(s.y, 0, p.count).set(ys.subarray(p.start, p.start + p.count));
      return { task: 'train.step', id: this.id, n: p.count, weight: p.count / B, trainable, modes };
    });
    const p0 = this.parts[0];
    const { own, replies } = this.pool.run(msgs, () => {
      const x0 = engine.empty([p0.count, ...this.sample], false);
      x0.write(rt.f32(x.ptr, p0.count * per));
      return shardStep(model, x0, labelsPtr, p0.count, p0.count / B, this.smoothing, this.predPtr, ys);
    });
    // fixed order: thread 0's gradient, then + thread 1's, + thread 2's, … (each thread's block copied into WASM
    // once, then one f32 add per tensor: the same IEEE sums as a JS loop, at SIMD speed)
    for (const s of this.shared) {
      rt.f32(this.gradScratch, L.paramFloats).set(new Float32Array(s.grads, 0, L.paramFloats));
      for (const e of L.params) {
        const g = e.t.grad;
        if (g && e.t.requiresGrad) add(rt, g.ptr, this.gradScratch + 4 * e.off, g.ptr, e.t.size);
      }
    }
    for (const e of L.buffers) {
      if (!live.has(e.name.slice(0, Math.max(0, e.name.lastIndexOf('.'))))) continue;   // not updated by any thread
      const bv = rt.f32(e.t.ptr, e.t.size), w0 = Math.fround(p0.count / B);
      for (let j = 0; j < bv.length; j++) bv[j] *= w0;
      this.shared.forEach((s, i) => {
        const w = Math.fround(this.parts[i + 1].count / B), o = new Float32Array(s.grads, 4 * e.off, e.t.size);
        for (let j = 0; j < bv.length; j++) bv[j] += w * o[j];
      });
    }
    let loss = (p0.count / B) * own.loss, correct = own.correct;
    replies.forEach((r, i) => { loss += (this.parts[i + 1].count / B) * (r.loss as number); correct += r.correct as number; });
    return { loss, correct };
  }

  dispose(): void {
    this.model.engine.rt.free(this.predPtr);
    this.model.engine.rt.free(this.gradScratch);
    try { this.pool.broadcast({ task: 'train.free', id: this.id }); } catch { /* a thread that failed has nothing to free */ }
  }
}

// ------------------------------------------------------------------ pool-thread side

interface Replica { model: Module; layout: Layout; labelsPtr: number; predPtr: number; sample: number[]; smoothing: number; s: Shared }
const replicas = new Map<number, Replica>();

export const workerTasks: Record<string, (rt: Runtime, msg: Record<string, unknown>) => TaskReply> = {
  'train.load': (rt, m) => {
    const model = buildLayers(new Engine(rt), m.spec as LayerSpec, 'the model sent to a thread');
    const layout = layoutOf(model);
    if (layout.signature !== m.signature) {
      model.dispose();
      throw new QwasmError('the rebuilt model does not have the same parameters and buffers as the original');
    }
    const maxShard = m.maxShard as number;
    replicas.set(m.id as number, {
      model, layout, labelsPtr: rt.alloc(4 * maxShard), predPtr: rt.alloc(4 * maxShard), sample: m.sample as number[],
      smoothing: m.smoothing as number, s: { state: m.state, grads: m.grads, x: m.x, y: m.y } as Shared,
    });
    return {};
  },
  'train.step': (rt, m) => {
    const r = replicas.get(m.id as number);
    if (!r) throw new QwasmError(`no training replica ${String(m.id)} in this thread`);
    const { model, layout: L, s } = r, engine = model.engine, n = m.n as number;
    const state = new Float32Array(s.state), grads = new Float32Array(s.grads);
    const trainable = m.trainable as boolean[], modes = m.modes as boolean[];
    L.params.forEach((e, i) => { e.t.requiresGrad = trainable[i]; e.t.grad?.zero(); });
    model.modules().forEach(([, mod], i) => { mod.training = modes[i]; });
    for (const e of [...L.params, ...L.buffers]) rt.f32(e.t.ptr, e.t.size).set(state.subarray(e.off, e.off + e.t.size));
    const per = r.sample.reduce((a, b) => a * b, 1);
    const labels = new Int32Array(s.y, 0, n);
    rt.i32(r.labelsPtr, n).set(labels);
    try {
      const x = engine.empty([n, ...r.sample], false);
      x.write(new Float32Array(s.x, 0, n * per));
      const out = shardStep(model, x, r.labelsPtr, n, m.weight as number, r.smoothing, r.predPtr, labels);
      for (const e of L.params) {
        const g = e.t.grad;
        if (g && e.t.requiresGrad) grads.set(rt.f32(g.ptr, g.size), e.off);
        else grads.fill(0, e.off, e.off + e.t.size);
      }
      for (const e of L.buffers) grads.set(rt.f32(e.t.ptr, e.t.size), e.off);
      return out as unknown as TaskReply;
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
