// What several commands do the same way: start the runtime from --build / --threads, load a checkpoint given
// by a flag (refusing a .qwm with a hint), and check that a model and a dataset agree on the input shape and
// the number of classes before anything runs (a mismatch would otherwise print a meaningless accuracy).
import { init, type Qwasm } from '../index.js';
import type { Engine } from '../autograd/tensor.js';
import { stratifiedSplit, type Dataset, type Normalization } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { loadPhotoFolder } from '../data/photos.js';
import { loadModelBytes, type LoadedModel } from '../train/model-file.js';
import { QwasmError } from '../errors.js';
import type { Args } from './args.js';
import { expectKind, readInput } from './files.js';

/** init() with the shared --build and --threads flags. */
export function startQwasm(args: Args): Promise<Qwasm> {
  return init({ build: (args.str('build') ?? 'auto') as 'auto', threads: args.num('threads') });
}

/** Loads the float checkpoint named by `flag` (e.g. '--model'); a .qwm there says which command takes it. */
export function loadCheckpointFlag(command: string, engine: Engine, flag: string, file: string): LoadedModel {
  const bytes = readInput(flag, file);
  expectKind(command, file, bytes, ['checkpoint', 'other']);
  return loadModelBytes(engine, bytes, file);
}

/**
 * A model of input [h, w, c] and `classes` outputs against a dataset: refuses a different image size or
 * channel count, or a different number of classes, naming both.
 */
export function checkModelFitsData(what: string, input: readonly number[], classes: number, dataName: string, ds: Dataset): void {
  const [h, w, c] = input;
  if (ds.height !== h || ds.width !== w || ds.channels !== c) {
    throw new QwasmError(`${what} takes ${h}×${w}×${c} images, ${dataName} has ${ds.height}×${ds.width}×${ds.channels}`);
  }
  if (ds.classes.length !== classes) {
    throw new QwasmError(`${what} has ${classes} classes, ${dataName} has ${ds.classes.length} (${ds.classes.slice(0, 6).join(', ')}${ds.classes.length > 6 ? ', …' : ''}): use the dataset the model was trained on`);
  }
}

/**
 * The train / test splits a checkpoint is calibrated or compressed on. An imported photo model (qwasm import
 * --from: meta.normalization, 3 channels) takes a folder of class folders of photos, decoded the way it was
 * trained (src/data/photos.ts; split 80 / 20 per class, seed 0) — `preprocess` is that decoding, for the .qwm
 * meta; anything else loadDataset(name).
 */
export async function checkpointData(dataName: string, input: readonly number[] | undefined, meta: Record<string, unknown>): Promise<{ train: Dataset; test: Dataset; preprocess?: unknown }> {
  const norm = meta.normalization as Normalization | undefined;
  if (!norm || input?.[2] !== 3) return loadDataset(dataName);
  const photos = await loadPhotoFolder(dataName, { size: input[0], norm });
  return { ...stratifiedSplit(photos, { testFraction: 0.2, seed: 0 }), preprocess: photos.preprocess };
}

/** A dataset's normalisation as .qwm meta records it: one number per field for grey images, one per channel else. */
export function normMeta(ds: Dataset): { mean: number | number[]; std: number | number[] } {
  return ds.channels === 1 ? { mean: ds.norm.mean[0], std: ds.norm.std[0] } : { mean: [...ds.norm.mean], std: [...ds.norm.std] };
}

/** The first n indices (a --limit), refusing more than there are. */
export function firstIndices(n: number, total: number): Int32Array {
  return Int32Array.from({ length: Math.min(n, total) }, (_, i) => i);
}
