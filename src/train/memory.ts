// How much WASM memory a training step takes at a batch size, measured rather than guessed: one forward and
// backward pass of a throw-away copy of the model at two small batch sizes, counting the bytes the runtime
// allocates (peak live bytes and the largest single block). Both grow linearly with the batch, so two probes
// give base + perSample·B, and the largest batch that fits in the 4 GiB a wasm32 module can address follows —
// a run that cannot fit is refused before it starts instead of dying mid-epoch with "out of WASM memory".
import type { Engine } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import type { Module } from '../nn/module.js';

/** wasm32 linear memory limit (65536 pages of 64 KiB). */
export const WASM_MEMORY_LIMIT = 2 ** 32;
/** Largest single block Runtime.alloc accepts. */
const MAX_BLOCK = 0x7fff0000;
/** Allowance for what the count does not see: kernel scratch, allocator fragmentation, growth in whole pages (measured: a step's memory is up to 1.2× the counted peak for refcnn / resnet on MNIST). */
const SLACK = 1.3;

export interface TrainingMemory {
  /** Bytes a step needs at batch size b (model, gradients, optimiser moments, activations). */
  bytesAt(b: number): number;
  /** Largest batch size whose step fits in what is left of linear memory (0 when not even 1 fits). */
  maxBatch: number;
}

function probe(engine: Engine, make: () => Module, input: readonly number[], b: number): { peak: number; block: number; params: number } {
  const rt = engine.rt;
  const alloc = rt.alloc, free = rt.free, sizes = new Map<number, number>();
  let live = 0, peak = 0, block = 0, params = 0;
  rt.alloc = (bytes: number) => {
    const p = alloc.call(rt, bytes);
    sizes.set(p, bytes); live += bytes; peak = Math.max(peak, live); block = Math.max(block, bytes);
    return p;
  };
  rt.free = (p: number) => { live -= sizes.get(p) ?? 0; sizes.delete(p); free.call(rt, p); };
  let model: Module | null = null, labels = 0;
  try {
    model = make();
    for (const [, t] of model.namedParameters()) params += t.tensor.size * 4;
    model.train();
    labels = rt.alloc(b * 4);
    rt.i32(labels, b).fill(0);
    const x = engine.empty([b, ...input]);
    ops.crossEntropy(model.forward(x), labels).backward();
  } finally {
    engine.endStep();
    model?.dispose();
    if (labels) rt.free(labels);
    rt.alloc = alloc; rt.free = free;
  }
  return { peak, block, params };
}

/**
 * Measures a training step of `make()` (same architecture as the model to train) on inputs of shape
 * `input` (h, w, c). `free` is the memory still available (default: the limit minus what is allocated now).
 */
export function trainingMemory(engine: Engine, make: () => Module, input: readonly number[], free = WASM_MEMORY_LIMIT - engine.rt.memoryBytes()): TrainingMemory {
  const a = probe(engine, make, input, 2), c = probe(engine, make, input, 4);
  const per = Math.max(0, (c.peak - a.peak) / 2) * SLACK, base = a.peak - 2 * per / SLACK + 2 * a.params; // + Adam's two moments
  const blockPer = Math.max(0, (c.block - a.block) / 2), blockBase = a.block - 2 * blockPer;
  const bytesAt = (b: number) => base + per * b;
  let maxBatch = per > 0 ? Math.floor((free - base) / per) : Number.MAX_SAFE_INTEGER;
  if (blockPer > 0) maxBatch = Math.min(maxBatch, Math.floor((MAX_BLOCK - blockBase) / blockPer));
  return { bytesAt, maxBatch: Math.max(0, maxBatch) };
}
