// The student's unlabelled transfer set: images of the target's kind that carry no label the pipeline uses —
// the classic remedy for distillation on a small labelled set (Hinton et al. 2015; "knowledge distillation
// needs a transfer set"): the student learns the teacher's soft outputs on many more images than the labelled
// ones. Never a test image:
//  - 'tuxpaint-natural': every other photo stamp of tuxpaint-stamps-default (the folders outside the seven
//    natural superclasses, and the excluded stamps) — no file of the labelled pool, so no test fold;
//  - 'fashion-mnist': images of its train split that are not among the chosen shots (never its test split);
//  - a folder: its image files (PNG / PNM; labels unused).
import { fs, path } from '../util/node.js';
import { loadFashionMnist } from '../data/sources.js';
import { IMAGE_EXTENSIONS, loadImageFiles, loadUnlabelledFolder } from '../data/folder.js';
import { TUXPAINT_STAMPS_DIR, tuxPaintNaturalFiles } from '../data/sketch-photo.js';
import { createDataset, stratifiedSubset, type Dataset, type Normalization } from '../data/dataset.js';
import { Rng, hash32 } from '../util/rng.js';
import { toRgbSize } from './mnv2-data.js';
import { QwasmError, checkInt } from '../errors.js';

export interface TransferSetOptions {
  /** The pipeline's target (decides what 'auto' means). */
  target: string;
  /** 'auto', 'none' or a folder of images. */
  source: string;
  size: number;
  norm: Normalization;
  /** The labelled pool (its classes; Fashion-MNIST: the shots per class it was drawn with, `shots`). */
  pool: Dataset;
  /** Fashion-MNIST: training images per class in the pool (0: its default, 20) — those are never taken. */
  shots: number;
  /** At most this many images (a seeded choice; 0: all). */
  max: number;
  seed: number;
}

export interface TransferSet { images: Dataset; what: string }

/** Every image file under `dir` (recursively), sorted. */
function imageFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs().readdirSync(dir, { withFileTypes: true })) {
    const p = path().join(dir, e.name);
    if (e.isDirectory()) out.push(...imageFilesUnder(p));
    else if (IMAGE_EXTENSIONS.includes(path().extname(e.name).toLowerCase())) out.push(p);
  }
  return out.sort();
}

/** A seeded choice of at most `max` of `n` items (0: all), in order. */
function choose(n: number, max: number, seed: number): Int32Array {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  if (!max || max >= n) return all;
  return new Rng(hash32(seed, 0x7a45)).shuffle(all).subarray(0, max).sort();
}

/** Fashion-MNIST train images not in the labelled pool, grey → RGB at `size`. */
function fashionTransfer(o: TransferSetOptions): Dataset {
  const train = loadFashionMnist().train, per = train.height * train.width;
  // the shots, drawn as mnv2-data.ts draws them (same seed), and any image equal to one of them, are left out
  const chosen = stratifiedSubset(train, { perClass: o.shots || 20, seed: o.seed });
  const key = (ds: Dataset, i: number) => String.fromCharCode(...ds.images.subarray(i * per, (i + 1) * per));
  const shots = new Set<string>(Array.from({ length: chosen.length }, (_, i) => key(chosen, i)));
  const keep: number[] = [];
  for (let i = 0; i < train.length; i++) if (!shots.has(key(train, i))) keep.push(i);
  const idx = choose(keep.length, o.max || 1000, o.seed).map((j) => keep[j]);
  const images = new Uint8Array(idx.length * per);
  idx.forEach((j, i) => images.set(train.images.subarray(j * per, (j + 1) * per), i * per));
  const grey = createDataset({ ...train, name: 'fashion-mnist[transfer]', images, labels: new Uint8Array(idx.length) });
  return toRgbSize(grey, o.size, o.norm);
}

/** The transfer set of `o.source` (null for 'none', or for 'auto' on a target that has none). */
export function loadTransferSet(o: TransferSetOptions): TransferSet | null {
  checkInt('max', o.max, 0);
  const key = o.target.toLowerCase(), src = o.source;
  if (src === 'none') return null;
  const relabel = (ds: Dataset): Dataset => createDataset({ ...ds, labels: new Uint8Array(ds.length), classes: o.pool.classes, norm: o.norm, flipSafe: o.pool.flipSafe });
  if (src === 'auto') {
    if (key === 'tuxpaint-natural') {
      const labelled = new Set(tuxPaintNaturalFiles().map((f) => f.file));
      const files = imageFilesUnder(TUXPAINT_STAMPS_DIR).filter((f) => !labelled.has(f));
      const pick = choose(files.length, o.max, o.seed);
      const ds = loadImageFiles(Array.from(pick, (i) => ({ file: files[i], label: 0 })), o.pool.classes, { size: o.size, channels: 3, name: 'tuxpaint-other-stamps', norm: o.norm, flipSafe: true });
      return { images: ds, what: `${ds.length} other photo stamps of tuxpaint-stamps-default (outside the labelled folders: no labelled, so no test, image)` };
    }
    if (['fashion-mnist', 'fashion', 'fmnist', 'fashion_mnist'].includes(key)) {
      const ds = fashionTransfer(o);
      return { images: relabel(ds), what: `${ds.length} Fashion-MNIST train-split images outside the chosen shots (labels unused; no test-split image)` };
    }
    return null;
  }
  if (!fs().existsSync(src) || !fs().statSync(src).isDirectory()) throw new QwasmError(`--transfer-set: ${src} is neither 'auto', 'none' nor a folder of images`);
  const ds = loadUnlabelledFolder(src, { size: o.size, channels: 3, norm: o.norm });
  const pick = choose(ds.length, o.max, o.seed);
  const per = o.size * o.size * 3, images = new Uint8Array(pick.length * per);
  pick.forEach((j, i) => images.set(ds.images.subarray(j * per, (j + 1) * per), i * per));
  return { images: relabel(createDataset({ ...ds, images, labels: new Uint8Array(pick.length) })), what: `${pick.length} images of ${src} (labels unused)` };
}
