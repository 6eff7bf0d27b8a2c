// What several commands do the same way: start the runtime from --build / --threads, load a checkpoint given
// by a flag (refusing a .qwm with a hint), and check that a model and a dataset agree on the input shape and
// the number of classes before anything runs (a mismatch would otherwise print a meaningless accuracy).
import { init, type Qwasm } from '../index.js';
import type { Engine } from '../autograd/tensor.js';
import type { Dataset } from '../data/dataset.js';
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

/** The first n indices (a --limit), refusing more than there are. */
export function firstIndices(n: number, total: number): Int32Array {
  return Int32Array.from({ length: Math.min(n, total) }, (_, i) => i);
}
