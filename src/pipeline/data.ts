// The pipeline's datasets: the few-shot target (held-out classes of a dataset, optionally k shots per class) and,
// for method (1), a class-balanced subset of the source data the source nets were pretrained on (read from the
// teacher checkpoint's metadata, which `qwasm pretrain` writes).
import { loadDataset } from '../data/registry.js';
import { selectClasses, stratifiedSubset, type Dataset, type DatasetSplits } from '../data/dataset.js';
import { quickdrawCategories } from '../data/sources.js';
import type { CheckpointMeta } from '../checkpoint/index.js';
import { holdoutSplit } from './split.js';
import type { PipelineSettings } from './defaults.js';
import { QwasmError } from '../errors.js';

export interface TargetData extends DatasetSplits {
  /** Dataset name or path as given. */
  name: string;
  classes: string[];
  /** How the classes were chosen (for the report). */
  selection: string;
}

/** Loads the target: `holdout` classes held out by seed (0: every class), `shots` train / `testPerClass` test images each. */
export function loadTarget(s: Pick<PipelineSettings, 'target' | 'holdout' | 'holdoutSeed' | 'shots' | 'testPerClass' | 'seed'>, input: [number, number, number]): TargetData {
  const isQd = s.target.toLowerCase() === 'quickdraw';
  let splits: DatasetSplits;
  let selection: string;
  if (isQd) {
    const all = quickdrawCategories();
    const names = s.holdout ? holdoutSplit(all, s.holdout, s.holdoutSeed).target : all;
    splits = loadDataset('quickdraw', { categories: names });
    selection = s.holdout ? `${s.holdout} of ${all.length} categories held out with seed ${s.holdoutSeed}` : `all ${all.length} categories`;
  } else {
    // image folders are read at the source nets' input size and channel count
    const full = loadDataset(s.target, { size: [input[0], input[1]], channels: input[2] === 3 ? 3 : 1 });
    if (s.holdout) {
      const split = holdoutSplit([...full.train.classes], s.holdout, s.holdoutSeed);
      splits = { train: selectClasses(full.train, split.targetIndices), test: selectClasses(full.test, split.targetIndices) };
      selection = `${s.holdout} of ${full.train.classes.length} classes held out with seed ${s.holdoutSeed}`;
    } else {
      splits = full;
      selection = `all ${full.train.classes.length} classes`;
    }
  }
  let { train, test } = splits;
  if (s.shots) { train = stratifiedSubset(train, { perClass: s.shots, seed: s.seed }); selection += `, ${s.shots} training images per class`; }
  if (s.testPerClass) { test = stratifiedSubset(test, { perClass: s.testPerClass, seed: s.seed, allowFewer: true }); selection += `, ≤ ${s.testPerClass} test images per class`; }
  if (train.channels !== input[2]) {
    throw new QwasmError(`the target ${s.target} has ${train.channels} channel(s), the source nets take ${input[2]}`);
  }
  if (train.length < 2) throw new QwasmError(`the target ${s.target} has ${train.length} training image(s)`);
  return { name: s.target, train, test, classes: [...train.classes], selection };
}

/** The source selection a `qwasm pretrain` checkpoint records in its metadata. */
interface SourceMeta { dataset?: string; classes?: string[] }

/**
 * The source training data of a pretrained checkpoint (its meta.source), reduced to `perClass` images per class:
 * what method (1) compresses the source net on. The class order is the checkpoint's (its head's outputs).
 */
export function loadSourceSubset(meta: CheckpointMeta, perClass: number, seed: number): Dataset {
  const src = (meta as { source?: SourceMeta }).source;
  const dataset = src?.dataset ?? (meta as { dataset?: string }).dataset;
  if (!dataset || typeof dataset !== 'string') throw new QwasmError('the source checkpoint records no source dataset (meta.source.dataset): pretrain it with qwasm pretrain');
  let train: Dataset;
  if (dataset.toLowerCase() === 'quickdraw') {
    if (!Array.isArray(src?.classes)) throw new QwasmError('the QuickDraw source checkpoint records no class list (meta.source.classes)');
    train = loadDataset('quickdraw', { categories: src!.classes }).train;
  } else {
    const full = loadDataset(dataset).train;
    train = Array.isArray(src?.classes) ? selectClasses(full, src!.classes) : full;
  }
  return stratifiedSubset(train, { perClass, seed, allowFewer: true });
}
