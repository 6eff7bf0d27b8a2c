// The in-memory dataset: every image of a split in one compact Uint8Array (N×H×W×C, uint8), labels as
// Uint8Array or Int32Array, class names and per-channel normalisation defaults. Images stay uint8 until
// batching (src/data/batch.ts) turns a batch into float32 NHWC.
import { QwasmError, checkInt, describe } from '../errors.js';
import { Rng, hash32 } from '../util/rng.js';

export type Labels = Uint8Array | Int32Array;

/** Per-channel mean and std in [0, 1] pixel units: a batch holds (x/255 − mean) / std. */
export interface Normalization { mean: number[]; std: number[] }

export interface Dataset {
  readonly name: string;
  /** N×H×W×C uint8, row-major (NHWC). */
  readonly images: Uint8Array;
  /** One class index in [0, classes.length) per image. */
  readonly labels: Labels;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** [N, H, W, C]. */
  readonly shape: readonly [number, number, number, number];
  readonly classes: readonly string[];
  readonly norm: Normalization;
  /** Whether a horizontal flip keeps an image's class (clothes, sketches: yes; digits: no). */
  readonly flipSafe: boolean;
}

export interface DatasetSplits { train: Dataset; test: Dataset }

export interface DatasetInit {
  name: string;
  images: Uint8Array;
  labels: Labels;
  height: number;
  width: number;
  channels: number;
  classes: readonly string[];
  norm?: Normalization;
  flipSafe?: boolean;
}

/** Validates and builds a Dataset (no copy). Without `norm`, the mean and std are computed from the images. */
export function createDataset(init: DatasetInit): Dataset {
  const { name, images, labels, classes } = init;
  const height = checkInt('height', init.height, 1, 1 << 16);
  const width = checkInt('width', init.width, 1, 1 << 16);
  // up to 4 for images; cached activation maps (src/transfer/cache.ts) are datasets of many channels
  const channels = checkInt('channels', init.channels, 1, 1 << 16);
  if (!(images instanceof Uint8Array)) throw new TypeError(`images must be a Uint8Array, got ${describe(images)}`);
  if (!(labels instanceof Uint8Array) && !(labels instanceof Int32Array)) {
    throw new TypeError(`labels must be a Uint8Array or an Int32Array, got ${describe(labels)}`);
  }
  const per = height * width * channels;
  if (images.length % per !== 0) {
    throw new RangeError(`images has ${images.length} bytes, not a multiple of H×W×C = ${per}`);
  }
  const n = images.length / per;
  if (labels.length !== n) throw new RangeError(`labels has ${labels.length} entries for ${n} images`);
  if (!Array.isArray(classes) || classes.length < 1) throw new TypeError('classes must be a non-empty array of names');
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l < 0 || l >= classes.length) throw new RangeError(`labels[${i}] = ${l} is outside [0, ${classes.length})`);
  }
  const norm = init.norm ?? computeNorm(images, channels);
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new RangeError(`norm.mean and norm.std must have one entry per channel (${channels})`);
  }
  for (const s of norm.std) if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`norm.std entries must be positive, got ${s}`);
  return {
    name, images, labels, length: n, height, width, channels, shape: [n, height, width, channels],
    classes: [...classes], norm: { mean: [...norm.mean], std: [...norm.std] }, flipSafe: init.flipSafe ?? false,
  };
}

/** Per-channel mean and std of uint8 NHWC images, in [0, 1] units. */
export function computeNorm(images: Uint8Array, channels: number): Normalization {
  const sum = new Float64Array(channels), sq = new Float64Array(channels);
  for (let i = 0; i < images.length; i += channels) {
    for (let c = 0; c < channels; c++) { const v = images[i + c]; sum[c] += v; sq[c] += v * v; }
  }
  const count = Math.max(1, images.length / channels);
  const mean: number[] = [], std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = sum[c] / count;
    const variance = Math.max(0, sq[c] / count - m * m);
    mean.push(m / 255);
    std.push(Math.max(Math.sqrt(variance) / 255, 1e-6));
  }
  return { mean, std };
}

/** Images per class. */
export function classCounts(ds: Dataset): Int32Array {
  const counts = new Int32Array(ds.classes.length);
  for (let i = 0; i < ds.length; i++) counts[ds.labels[i]]++;
  return counts;
}

/** A compact copy holding the images at `indices` (in that order). */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const per = ds.height * ds.width * ds.channels;
  const n = indices.length;
  const images = new Uint8Array(n * per);
  const labels = ds.labels instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.length) throw new RangeError(`indices[${i}] = ${j} is outside [0, ${ds.length})`);
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
  }
  return { ...ds, name, images, labels, length: n, shape: [n, ds.height, ds.width, ds.channels] };
}

/** Datasets of one geometry and class list, one after the other (labels kept; name, norm and flipSafe: the first's unless given). */
export function concatDatasets(sets: readonly Dataset[], o: { name?: string; norm?: Normalization } = {}): Dataset {
  if (!sets.length) throw new QwasmError('concatDatasets: no dataset');
  const d0 = sets[0], per = d0.height * d0.width * d0.channels;
  for (const d of sets) {
    if (d.height !== d0.height || d.width !== d0.width || d.channels !== d0.channels) throw new QwasmError(`concatDatasets: ${d.name} is ${d.height}×${d.width}×${d.channels}, ${d0.name} ${d0.height}×${d0.width}×${d0.channels}`);
    if (d.classes.join('\u0000') !== d0.classes.join('\u0000')) throw new QwasmError(`concatDatasets: ${d.name} and ${d0.name} have different classes`);
  }
  const n = sets.reduce((a, d) => a + d.length, 0);
  const images = new Uint8Array(n * per), labels = d0.classes.length <= 256 ? new Uint8Array(n) : new Int32Array(n);
  let at = 0;
  for (const d of sets) { images.set(d.images, at * per); labels.set(d.labels, at); at += d.length; }
  return createDataset({ name: o.name ?? d0.name, images, labels, height: d0.height, width: d0.width, channels: d0.channels, classes: d0.classes, norm: o.norm ?? d0.norm, flipSafe: d0.flipSafe });
}

/** Indices of each class, in dataset order. */
export function indicesByClass(ds: Dataset): Int32Array[] {
  const counts = classCounts(ds);
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(counts.length);
  for (let i = 0; i < ds.length; i++) { const l = ds.labels[i]; out[l][fill[l]++] = i; }
  return out;
}

function classOrder(ds: Dataset, seed: number, c: number, members: Int32Array): Int32Array {
  return new Rng(hash32(seed, c, 0x5e1ec7)).shuffle(Int32Array.from(members));
}

export interface StratifiedOptions {
  /** Exactly this many images of every class (few-shot k). */
  perClass?: number;
  /** Or this fraction of every class (rounded, at least one image of each non-empty class). */
  fraction?: number;
  seed?: number;
  /** With perClass: take every image of a class that has fewer instead of throwing. */
  allowFewer?: boolean;
}

/** Seeded class-balanced subset (few-shot: `{ perClass: k }`). The result keeps dataset order. */
export function stratifiedSubset(ds: Dataset, opts: StratifiedOptions): Dataset {
  const seed = opts.seed ?? 0;
  if ((opts.perClass === undefined) === (opts.fraction === undefined)) throw new QwasmError('stratifiedSubset needs exactly one of perClass, fraction');
  if (opts.perClass !== undefined) checkInt('perClass', opts.perClass, 0);
  if (opts.fraction !== undefined && !(opts.fraction >= 0 && opts.fraction <= 1)) throw new RangeError(`fraction must be in [0, 1], got ${opts.fraction}`);
  const chosen: number[] = [];
  indicesByClass(ds).forEach((members, c) => {
    let k: number;
    if (opts.perClass !== undefined) {
      k = opts.perClass;
      if (k > members.length) {
        if (!opts.allowFewer) throw new RangeError(`class ${c} (${ds.classes[c]}) has ${members.length} images, fewer than perClass = ${k}`);
        k = members.length;
      }
    } else {
      k = members.length === 0 ? 0 : Math.min(members.length, Math.max(1, Math.round(members.length * opts.fraction!)));
    }
    const order = classOrder(ds, seed, c, members);
    for (let i = 0; i < k; i++) chosen.push(order[i]);
  });
  chosen.sort((a, b) => a - b);
  return subset(ds, chosen, `${ds.name}[stratified]`);
}

/** Seeded per-class split into train and test (each class split testFraction : 1 − testFraction). */
export function stratifiedSplit(ds: Dataset, opts: { testFraction?: number; seed?: number } = {}): DatasetSplits {
  const tf = opts.testFraction ?? 0.2;
  if (!(tf >= 0 && tf <= 1)) throw new RangeError(`testFraction must be in [0, 1], got ${tf}`);
  const seed = opts.seed ?? 0;
  const train: number[] = [], test: number[] = [];
  indicesByClass(ds).forEach((members, c) => {
    const order = classOrder(ds, seed, c, members);
    const nTest = Math.round(order.length * tf);
    for (let i = 0; i < order.length; i++) (i < nTest ? test : train).push(order[i]);
  });
  train.sort((a, b) => a - b);
  test.sort((a, b) => a - b);
  return { train: subset(ds, train, `${ds.name}/train`), test: subset(ds, test, `${ds.name}/test`) };
}

/** Keeps only the given classes (names or indices), relabelled 0..k−1 in the order given. */
export function selectClasses(ds: Dataset, classes: readonly (string | number)[]): Dataset {
  const map = new Int32Array(ds.classes.length).fill(-1);
  const names: string[] = [];
  classes.forEach((c, i) => {
    const idx = typeof c === 'number' ? c : ds.classes.indexOf(c);
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.classes.length) {
      throw new RangeError(`unknown class ${JSON.stringify(c)}; ${ds.name} has: ${ds.classes.join(', ')}`);
    }
    if (map[idx] !== -1) throw new RangeError(`class ${JSON.stringify(c)} is listed twice`);
    map[idx] = i;
    names.push(ds.classes[idx]);
  });
  const keep: number[] = [];
  for (let i = 0; i < ds.length; i++) if (map[ds.labels[i]] >= 0) keep.push(i);
  const out = subset(ds, keep);
  for (let i = 0; i < out.length; i++) out.labels[i] = map[out.labels[i]];
  return { ...out, classes: names };
}
