// loadDataset(name | path, opts) → { train, test }.
import { QwasmError } from '../errors.js';
import { stratifiedSplit, type DatasetSplits, type Normalization } from './dataset.js';
import { listClassFolders, loadImageFolder, type ImageFolderOptions } from './folder.js';
import { findIdxSplits, loadIdxDataset } from './idx.js';
import { exists, fs, path } from '../util/node.js';
import { loadQuickDrawNatural, loadTuxPaintNatural } from './sketch-photo.js';
import { loadDigits, loadFashionMnist, loadMnist, loadQuickDraw, type DigitsOptions, type QuickDrawOptions } from './sources.js';

export interface LoadDatasetOptions extends QuickDrawOptions, Omit<DigitsOptions, 'size'>, Omit<ImageFolderOptions, 'name'> {
  /** Folder holding the files (MNIST / Fashion-MNIST IDX files) instead of the installed package. */
  dir?: string;
  norm?: Normalization;
}

const LOADERS: Record<string, (o: LoadDatasetOptions) => DatasetSplits> = {
  mnist: (o) => loadMnist({ dir: o.dir }),
  'fashion-mnist': (o) => loadFashionMnist({ dir: o.dir }),
  quickdraw: (o) => loadQuickDraw(o),
  digits: (o) => loadDigits({ ...o, size: typeof o.size === 'number' ? o.size : o.size?.[0] }),
  'quickdraw-natural': (o) => loadQuickDrawNatural({ dir: o.dir, seed: o.seed }),
  'tuxpaint-natural': (o) => loadTuxPaintNatural(o),
};
const ALIASES: Record<string, string> = { fashion: 'fashion-mnist', fashion_mnist: 'fashion-mnist', fmnist: 'fashion-mnist',
  'uci-digits': 'digits', optdigits: 'digits' };

/** The dataset names loadDataset knows (besides paths). */
export const DATASET_NAMES = Object.keys(LOADERS);

/**
 * Loads a named dataset ('mnist', 'fashion-mnist', 'quickdraw', 'digits') or a path: a folder with the four
 * MNIST-layout IDX files (train-/t10k-images-idx3-ubyte, …-labels-idx1-ubyte, optionally .gz); a folder with
 * train/ and test/ sub-folders of class folders; or a folder of class folders (split with a seeded
 * per-class shuffle, testFraction default 0.2).
 */
export function loadDataset(name: string, opts: LoadDatasetOptions = {}): DatasetSplits {
  if (typeof name !== 'string' || !name) throw new TypeError('loadDataset needs a dataset name or a path');
  const key = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  if (LOADERS[key]) return LOADERS[key](opts);
  const looksLikePath = name.includes('/') || name.includes('\\') || name.startsWith('.');
  if (!exists(name)) {
    throw new QwasmError(looksLikePath ? `dataset path not found: ${name}`
      : `unknown dataset ${JSON.stringify(name)}: known datasets are ${DATASET_NAMES.join(', ')} (or give a path to a folder)`);
  }
  if (!fs().statSync(name).isDirectory()) throw new QwasmError(`${name}: a dataset path must be a folder (IDX files or class sub-folders)`);
  const base = path().basename(path().resolve(name));
  const idx = findIdxSplits(name);
  if (idx) {
    return {
      train: loadIdxDataset(idx.trainImages, idx.trainLabels, { name: `${base}/train`, norm: opts.norm, flipSafe: opts.flipSafe }),
      test: loadIdxDataset(idx.testImages, idx.testLabels, { name: `${base}/test`, norm: opts.norm, flipSafe: opts.flipSafe }),
    };
  }
  const subs = listClassFolders(name);
  if (subs.includes('train') && subs.includes('test')) {
    const train = loadImageFolder(path().join(name, 'train'), { ...opts, name: `${base}/train` });
    const test = loadImageFolder(path().join(name, 'test'), {
      ...opts, name: `${base}/test`, classes: train.classes, size: [train.height, train.width], norm: opts.norm ?? train.norm,
    });
    return { train, test: { ...test, norm: train.norm } };
  }
  if (subs.length === 0) throw new QwasmError(`${name}: neither IDX files (train-images-idx3-ubyte…) nor class sub-folders`);
  const all = loadImageFolder(name, { ...opts, name: base });
  return stratifiedSplit(all, { testFraction: opts.testFraction ?? 0.2, seed: opts.seed ?? 0 });
}
