// The one batched loop over a dataset outside training: evaluation, feature extraction, distillation
// agreement, PTQ calibration and int8 evaluation all walk a dataset in fixed batches the same way.
//   datasetBatches: float NHWC batches as plain arrays (an int8 model, a .qwm runner);
//   evalForward:    the same batches as WASM tensors, with the given models in eval mode and no autograd
//                   graph; every batch's temporaries are freed (engine.endStep) and the models' train / eval
//                   modes restored afterwards, also when `fn` throws.
import type { Engine, Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import { BatchIterator, type BatchOptions } from '../data/batch.js';
import type { Dataset } from '../data/dataset.js';

export interface BatchGeometry { sampleSize: number; outHeight: number; outWidth: number; channels: number; size: number }

/**
 * Calls fn(xs, ys, nb) for every batch (xs holds nb·sampleSize floats, ys nb labels); fn returning false stops.
 * Returns the number of batches seen. Defaults: no shuffle, last partial batch kept.
 */
export function datasetBatches(ds: Dataset, opts: BatchOptions, fn: (xs: Float32Array, ys: Int32Array, nb: number, it: BatchGeometry) => boolean | void): number {
  const it = new BatchIterator(ds, { shuffle: false, dropLast: false, ...opts });
  const bs = opts.batchSize;
  const xs = new Float32Array(bs * it.sampleSize), ys = new Int32Array(bs);
  let batches = 0;
  for (;;) {
    const nb = it.next(xs, ys);
    if (nb === 0) break;
    batches++;
    if (fn(xs.subarray(0, nb * it.sampleSize), ys.subarray(0, nb), nb, it) === false) break;
  }
  return batches;
}

/**
 * Runs fn(x, ys, nb) on every batch as an NHWC tensor x, with `models` in eval mode and no graph; fn returning
 * false stops. Returns the number of batches seen.
 */
export function evalForward(engine: Engine, models: Module[], ds: Dataset, opts: BatchOptions,
                            fn: (x: Tensor, ys: Int32Array, nb: number, it: BatchGeometry) => boolean | void): number {
  const rt = engine.rt;
  const modes = models.map((m) => m.training);
  for (const m of models) m.eval();
  try {
    let batches = 0;
    engine.noGrad(() => {
      batches = datasetBatches(ds, opts, (xs, ys, nb, it) => {
        const x = engine.empty([nb, it.outHeight, it.outWidth, it.channels], false);
        rt.f32(x.ptr, xs.length).set(xs);
        const r = fn(x, ys, nb, it);
        engine.endStep();
        return r;
      });
    });
    return batches;
  } finally {
    engine.endStep();
    models.forEach((m, i) => m.train(modes[i]));
  }
}
