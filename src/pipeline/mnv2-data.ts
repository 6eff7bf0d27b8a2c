// The MobileNetV2 pipeline's data: every labelled image of the target in ONE pool (RGB at the input size, the
// teacher's normalisation), and the evaluation splits over it — each a disjoint train / validation / test index
// set. Small targets (a few hundred images: the Tux Paint classes) are scored by repeated stratified k-fold
// cross-validation (every image is tested once per repeat); larger or few-shot targets (Fashion-MNIST, k shots
// per class) by one fixed split. Validation is always carved from the training side of a split: every model
// choice (epoch, which variant is the final teacher, which student) is made on it, never on the test indices.
import { loadDataset, DATASET_NAMES } from '../data/registry.js';
import { loadFashionMnist } from '../data/sources.js';
import { loadPhotoFolder } from '../data/photos.js';
import { resize, toChannels } from '../data/image.js';
import { concatDatasets, createDataset, indicesByClass, stratifiedSubset, type Dataset, type Normalization } from '../data/dataset.js';
import { Rng, hash32 } from '../util/rng.js';
import { exists, fs, path } from '../util/node.js';
import { QwasmError, checkInt } from '../errors.js';

export interface Split {
  /** e.g. "repeat 1, fold 3" or "fixed split". */
  name: string;
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

export interface TargetPool {
  name: string;
  /** Every image used (RGB, size × size), labels and the teacher's normalisation. */
  pool: Dataset;
  classes: string[];
  splits: Split[];
  /** How the images were chosen and scored, for the report. */
  protocol: string;
  /** 'cv': k-fold × repeats over the pool; 'fixed': one split. */
  mode: 'cv' | 'fixed';
  /** How a photo of a folder target became input (shorter side + centre crop), for the student's .qwm meta. */
  preprocess?: unknown;
}

export interface PoolOptions {
  target: string;
  size: number;
  norm: Normalization;
  /** Training images per class for a fixed split (0: all; Fashion-MNIST default 20). */
  shots: number;
  /** Test images per class for a fixed split (0: all). */
  testPerClass: number;
  /** Cross-validation: folds and repeats; folds 0 = a fixed split. */
  folds: number;
  repeats: number;
  /** Fraction of each class of a training side held out for validation. */
  valFraction: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** Grey 28×28 (Fashion-MNIST) → RGB size × size: resized bilinearly, the grey value replicated to 3 channels. */
export function toRgbSize(ds: Dataset, size: number, norm: Normalization): Dataset {
  const per = size * size * 3, inPer = ds.height * ds.width * ds.channels;
  const images = new Uint8Array(ds.length * per);
  for (let i = 0; i < ds.length; i++) {
    const img = { width: ds.width, height: ds.height, channels: ds.channels, data: ds.images.subarray(i * inPer, (i + 1) * inPer) };
    images.set(toChannels(resize(img, size, size), 3).data, i * per);
  }
  return createDataset({ name: ds.name, images, labels: ds.labels, height: size, width: size, channels: 3, classes: ds.classes, norm, flipSafe: ds.flipSafe });
}

/** Per class: the class's indices (of `idx`) in a seeded order. */
function shuffledByClass(ds: Dataset, idx: ArrayLike<number>, seed: number): number[][] {
  const byClass: number[][] = ds.classes.map(() => []);
  for (let i = 0; i < idx.length; i++) byClass[ds.labels[idx[i]]].push(idx[i]);
  return byClass.map((m, c) => Array.from(new Rng(hash32(seed, c, 0x5a11d)).shuffle(Int32Array.from(m))));
}

/** Carves a stratified validation set (valFraction of each class, at least 1 when the class has ≥ 2) from `train`. */
export function carveValidation(ds: Dataset, train: ArrayLike<number>, valFraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const tr: number[] = [], va: number[] = [];
  for (const m of shuffledByClass(ds, train, seed)) {
    const k = m.length < 2 ? 0 : Math.max(1, Math.round(m.length * valFraction));
    m.forEach((j, i) => (i < k ? va : tr).push(j));
  }
  const sort = (a: number[]) => Int32Array.from(a.sort((x, y) => x - y));
  return { train: sort(tr), val: sort(va) };
}

/** Repeated stratified k-fold: per repeat, each class's images dealt round-robin into k folds after a seeded shuffle. */
export function kFoldSplits(ds: Dataset, folds: number, repeats: number, valFraction: number, seed: number): Split[] {
  checkInt('folds', folds, 2, 100); checkInt('repeats', repeats, 1, 100);
  for (const [c, m] of indicesByClass(ds).entries()) if (m.length < folds) throw new QwasmError(`class ${ds.classes[c]} has ${m.length} images, fewer than ${folds} folds`);
  const all = Int32Array.from({ length: ds.length }, (_, i) => i);
  const out: Split[] = [];
  for (let r = 0; r < repeats; r++) {
    const foldOf = new Int32Array(ds.length);
    for (const m of shuffledByClass(ds, all, hash32(seed, r, 0xf01d))) m.forEach((j, i) => { foldOf[j] = i % folds; });
    for (let f = 0; f < folds; f++) {
      const test: number[] = [], rest: number[] = [];
      for (let i = 0; i < ds.length; i++) (foldOf[i] === f ? test : rest).push(i);
      const tv = carveValidation(ds, rest, valFraction, hash32(seed, r * 1000 + f, 0x7a1));
      out.push({ name: `repeat ${r + 1}, fold ${f + 1}`, train: tv.train, val: tv.val, test: Int32Array.from(test) });
    }
  }
  return out;
}

/**
 * Loads the target's labelled images into one pool at `size` px RGB and makes the evaluation splits:
 * 'fashion-mnist' (grey → RGB) with `shots` training images per class (default 20) and `testPerClass` test
 * images per class from its test split (default 100) — a fixed split; 'tuxpaint-natural' or a folder of class
 * folders of photos (decoded with sharp) — all images pooled, repeated k-fold (or a fixed split with folds 0).
 */
export async function loadTargetPool(o: PoolOptions): Promise<TargetPool> {
  checkInt('size', o.size, 16, 1024);
  const key = o.target.toLowerCase();
  const isFashion = ['fashion-mnist', 'fashion', 'fmnist', 'fashion_mnist'].includes(key);
  let pool: Dataset;
  let fixed: { train: Int32Array; test: Int32Array } | null = null;
  let what: string;
  let preprocess: unknown;
  if (isFashion) {
    const s = loadFashionMnist();
    const shots = o.shots || 20, tpc = o.testPerClass || 100;
    const train = stratifiedSubset(s.train, { perClass: shots, seed: o.seed });
    const test = stratifiedSubset(s.test, { perClass: tpc, seed: o.seed, allowFewer: true });
    pool = concatDatasets([toRgbSize(train, o.size, o.norm), toRgbSize(test, o.size, o.norm)], { name: 'fashion-mnist', norm: o.norm });
    fixed = { train: Int32Array.from({ length: train.length }, (_, i) => i), test: Int32Array.from({ length: test.length }, (_, i) => train.length + i) };
    what = `Fashion-MNIST: ${shots} training images per class from its train split, ${tpc} test images per class from its test split; 28×28 grey resized to ${o.size}×${o.size} and replicated to RGB`;
  } else if (key === 'tuxpaint-natural' || DATASET_NAMES.includes(key)) {
    const s = loadDataset(key, { size: [o.size, o.size], channels: 3, seed: o.seed });
    if (s.train.channels !== 3) throw new QwasmError(`${o.target}: images are not RGB`);
    pool = concatDatasets([s.train, s.test], { name: key, norm: o.norm });
    what = `${key}: all ${pool.length} labelled images (its own train and test splits pooled), ${o.size}×${o.size} RGB`;
  } else {
    if (!exists(o.target) || !fs().statSync(o.target).isDirectory()) {
      throw new QwasmError(`--target: ${o.target} is neither a dataset name (tuxpaint-natural, fashion-mnist) nor a folder of class folders of photos`);
    }
    const ds = await loadPhotoFolder(o.target, { size: o.size, norm: o.norm, onProgress: o.onProgress });
    pool = createDataset({ ...ds, name: path().basename(path().resolve(o.target)), norm: o.norm, flipSafe: true });
    preprocess = ds.preprocess;
    what = `${o.target}: ${pool.length} photos in ${pool.classes.length} class folders, ${o.size}×${o.size} RGB (sharp: shorter side resized, centre crop)`;
  }
  let splits: Split[], protocol: string, mode: 'cv' | 'fixed';
  if (fixed || o.folds === 0) {
    if (!fixed) {
      // a path or a named photo set without CV: one stratified hold-out of 20 %
      const perClass = shuffledByClass(pool, Int32Array.from({ length: pool.length }, (_, i) => i), hash32(o.seed, 0x7e57));
      const tr: number[] = [], te: number[] = [];
      for (const m of perClass) { const k = Math.max(1, Math.round(m.length * 0.2)); m.forEach((j, i) => (i < k ? te : tr).push(j)); }
      fixed = { train: Int32Array.from(tr.sort((a, b) => a - b)), test: Int32Array.from(te.sort((a, b) => a - b)) };
    }
    const tv = carveValidation(pool, fixed.train, o.valFraction, hash32(o.seed, 0xba1));
    splits = [{ name: 'fixed split', train: tv.train, val: tv.val, test: fixed.test }];
    protocol = `one fixed split: ${tv.train.length} train / ${tv.val.length} validation (carved from the training images) / ${fixed.test.length} test`;
    mode = 'fixed';
  } else {
    splits = kFoldSplits(pool, o.folds, o.repeats, o.valFraction, o.seed);
    protocol = `repeated stratified ${o.folds}-fold cross-validation × ${o.repeats} (every image tested once per repeat); in each fold ${Math.round(100 * o.valFraction)} % of each class of the training side is held out for validation`;
    mode = 'cv';
  }
  for (const s of splits) checkDisjoint(s);
  return { name: o.target, pool, classes: [...pool.classes], splits, protocol: `${what}; ${protocol}`, mode, ...(preprocess ? { preprocess } : {}) };
}

/** Train, validation and test indices of a split never overlap (what keeps test data out of every choice). */
export function checkDisjoint(s: Split): void {
  const seen = new Map<number, string>();
  for (const [k, idx] of [['train', s.train], ['val', s.val], ['test', s.test]] as const) {
    for (const i of idx) {
      const prev = seen.get(i);
      if (prev) throw new QwasmError(`${s.name}: image ${i} is in both ${prev} and ${k}`);
      seen.set(i, k);
    }
  }
}
