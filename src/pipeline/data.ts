// The pipeline's datasets: the few-shot target (held-out classes of a dataset, optionally k shots per class) and,
// for method (1), a class-balanced subset of the source data the source nets were pretrained on (read from the
// teacher checkpoint's metadata, which `qwasm pretrain` writes).
import { loadDataset, DATASET_NAMES } from '../data/registry.js';
import { listClassFolders, loadUnlabelledFolder } from '../data/folder.js';
import { findIdxSplits } from '../data/idx.js';
import { exists, fs, path } from '../util/node.js';
import { concatDatasets, createDataset, selectClasses, stratifiedSubset, type Dataset, type DatasetSplits, type Normalization } from '../data/dataset.js';
import { kFoldSplits } from './mnv2-data.js';
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

/** Domain adaptation's target: the images adaptation sees and, when the source had labels, a test set to score on. */
export interface UnlabelledTarget {
  name: string;
  /** The images adaptation trains on (its labels, if any, are dropped before training: see withoutLabels). */
  adaptation: Dataset;
  /** Whether `adaptation` carries real labels (then it is also scored afterwards, transductively). */
  labelled: boolean;
  /** Labelled target images held out from adaptation (null: none, nothing is scored on the target). */
  test: Dataset | null;
  /** How the target was read, for the report. */
  description: string;
}

export interface UnlabelledTargetOptions {
  /** Image size and channels of the model input. */
  input: [number, number, number];
  /** The source's class names: labelled target classes are matched to them by name. */
  classes: readonly string[];
  /** MNIST framing of the target images (20×20 ink box, centred by mass; grey only). */
  centre?: boolean;
  invert?: boolean;
  seed?: number;
  /** Grey level transparent pixels are composited over (default black; with invert white). */
  background?: number;
  /** The model's input normalisation (default: the dataset's own). */
  norm?: Normalization;
}

/**
 * Reads the unlabelled target of domain adaptation: a built-in dataset name (its training split is the adaptation
 * set, its test split is held out for scoring), a labelled folder (IDX files or class sub-folders: split the same
 * way, classes matched to the source's by name), or a folder of images with no class sub-folders (no labels at
 * all: nothing to score on).
 */
export function loadUnlabelledTarget(spec: string, o: UnlabelledTargetOptions): UnlabelledTarget {
  const [h, w, c] = o.input;
  const opts = { size: [h, w] as [number, number], channels: (c === 3 ? 3 : 1) as 1 | 3, centre: o.centre, invert: o.invert, seed: o.seed ?? 0,
    ...(o.background !== undefined ? { background: o.background } : {}) };
  const normed = (ds: Dataset): Dataset => (o.norm ? createDataset({ ...ds, norm: o.norm }) : ds);
  const isName = DATASET_NAMES.includes(spec.toLowerCase()) || !exists(spec);
  if (!isName && fs().statSync(spec).isDirectory() && !findIdxSplits(spec) && listClassFolders(spec).length === 0) {
    const ds = normed(loadUnlabelledFolder(spec, { ...opts, name: path().basename(path().resolve(spec)) }));
    return { name: spec, adaptation: ds, labelled: false, test: null, description: `${ds.length} images of ${spec} (no labels: nothing is scored on the target)` };
  }
  const s = loadDataset(spec, opts);
  const missing = o.classes.filter((k) => !s.train.classes.includes(k));
  const extra = s.train.classes.filter((k) => !o.classes.includes(k));
  if (missing.length || extra.length) {
    throw new QwasmError(`the target ${spec} has classes ${s.train.classes.join(', ')} but the source has ${o.classes.join(', ')}: domain adaptation needs the same classes`);
  }
  const train = normed(selectClasses(s.train, o.classes)), test = normed(selectClasses(s.test, o.classes));
  if (train.channels !== c || train.height !== h || train.width !== w) {
    throw new QwasmError(`the target ${spec} has ${train.height}×${train.width}×${train.channels} images, the model takes ${h}×${w}×${c}`);
  }
  return {
    name: spec, adaptation: train, labelled: true, test,
    description: `${train.length} images of ${spec} for adaptation (labels dropped), ${test.length} held-out labelled images for scoring only`,
  };
}

/** A labelled target's images (adaptation and test sides pooled) in k stratified folds: test = one fold, adaptation = the rest. */
export interface TargetFolds { pool: Dataset; folds: { name: string; adaptation: Int32Array; test: Int32Array }[]; description: string }

export function targetFolds(target: UnlabelledTarget, k: number, seed = 0): TargetFolds {
  if (!target.labelled || !target.test) throw new QwasmError(`--folds needs a labelled target (a dataset name or a folder of class sub-folders); ${target.name} has no labels`);
  const pool = concatDatasets([target.adaptation, target.test], { name: target.name });
  const folds = kFoldSplits(pool, k, 1, 0.1, seed).map((sp, f) => {
    const inTest = new Uint8Array(pool.length);
    for (const i of sp.test) inTest[i] = 1;
    return { name: `fold ${f + 1}`, adaptation: Int32Array.from({ length: pool.length }, (_, i) => i).filter((i) => !inTest[i]), test: sp.test };
  });
  return { pool, folds, description: `${pool.length} labelled images of ${target.name} in ${k} stratified folds: the i-th seed is scored on fold i (cyclically) and adapts on the ${k - 1} other fold${k > 2 ? 's' : ''} (labels dropped)` };
}
