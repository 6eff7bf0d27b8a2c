// RGB photo folders (src/data/photos.ts) on real files: Tux Paint PNG photos and JPEGs made from them with sharp
// (with and without EXIF orientation), odd files (truncated, CMYK, 16-bit, grey, alpha), the documented
// resize (shorter side + centre crop) and normalisation, photo augmentation in the batch loader, the browser
// helpers, and `qwasm export` + `qwasm run model.qwm photo.jpg` on an imported MobileNetV2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import { loadPhotoFolder, decodePhoto, IMAGENET_NORM } from '../dist/data/photos.js';
import { BatchIterator } from '../dist/data/batch.js';
import { centreCropBox, rgbaToRgb } from '../dist/runtime-entry.js';
import { NORMALIZATIONS } from '../dist/tfjs/import.js';
import { main } from '../dist/cli/main.js';
import { needs } from './helpers.js';

const withPhotos = needs(needs(test, 'sharp'), 'tuxpaint-stamps');
const withAll = needs(needs(needs(test, 'sharp'), 'tuxpaint-stamps'), 'nsfwjs');
const sharp = (() => { try { return createRequire(import.meta.url)('sharp'); } catch { return null; } })();
const STAMPS = '/usr/share/tuxpaint/stamps/animals';
const dir = mkdtempSync(join(tmpdir(), 'qwasm-photos-'));
const folder = join(dir, 'photos');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const pngs = (cls, n) => readdirSync(join(STAMPS, cls)).filter((f) => f.endsWith('.png')).sort().slice(0, n).map((f) => join(STAMPS, cls, f));

/** mammals: 3 Tux Paint PNGs (RGBA); birds: 3 JPEGs made from bird PNGs, the last stored with EXIF orientation 6. */
async function makeFolder() {
  mkdirSync(join(folder, 'mammals'), { recursive: true });
  mkdirSync(join(folder, 'birds', 'nested'), { recursive: true });
  for (const f of pngs('mammals', 3)) copyFileSync(f, join(folder, 'mammals', f.split('/').pop()));
  const birds = pngs('birds', 3);
  for (let i = 0; i < 3; i++) {
    let s = sharp(birds[i]).flatten({ background: '#ffffff' }).jpeg({ quality: 92 });
    if (i === 2) s = s.withMetadata({ orientation: 6 });
    await s.toFile(join(folder, 'birds', i === 1 ? 'nested' : '', `bird${i}.jpg`));
  }
}

withPhotos('a folder of PNG and JPEG photos loads as uint8 NHWC, shorter side resized + centre crop, equal to sharp\'s own output', async () => {
  await makeFolder();
  const ds = await loadPhotoFolder(folder, { size: 64, norm: NORMALIZATIONS.keras });
  assert.equal(ds.classes, ['birds', 'mammals']);
  assert.is(ds.length, 6);
  assert.ok(ds.images instanceof Uint8Array);
  assert.is(ds.images.length, 6 * 64 * 64 * 3);
  assert.equal(Array.from(ds.labels), [0, 0, 0, 1, 1, 1]);
  assert.is(ds.labels[ds.files.findIndex((f) => f.includes('nested'))], 0, 'photos in nested folders belong to the class');
  assert.equal(ds.preprocess, { size: 64, resize: 'shorter-side', crop: 'centre', background: [255, 255, 255] });
  // exact pixels: sharp's own pipeline for one RGBA PNG (alpha over white, cover-resize, centre)
  const f = ds.files[3];
  const ref = await sharp(f).flatten({ background: '#ffffff' }).resize(64, 64, { fit: 'cover', position: 'centre' }).raw().toBuffer();
  assert.equal(Array.from(ds.images.subarray(3 * 64 * 64 * 3, 4 * 64 * 64 * 3)), Array.from(ref));
  // the documented normalisation: keras = x / 127.5 − 1, exactly, per channel
  const it = new BatchIterator(ds, { batchSize: 6, shuffle: false });
  const x = new Float32Array(6 * it.sampleSize), y = new Int32Array(6);
  it.next(x, y);
  for (const i of [0, 1, 2, 1000, 12287, 3 * 12288 + 77]) assert.ok(Math.abs(x[i] - (ds.images[i] / 127.5 - 1)) < 1e-6, `pixel ${i}`);
});

withPhotos('EXIF orientation is applied (a JPEG tagged "rotate 90°" loads rotated)', async () => {
  const file = join(folder, 'birds', 'bird2.jpg');
  const meta = await sharp(file).metadata();
  assert.is(meta.orientation, 6);
  // reference: jpeg-js decodes the stored pixels (it ignores EXIF); rotate them 90° clockwise by hand
  const raw = jpeg.decode(readFileSync(file), { useTArray: true, formatAsRGBA: false });
  const { width: w, height: h } = raw, rot = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) rot[(x * h + (h - 1 - y)) * 3 + c] = raw.data[(y * w + x) * 3 + c];
  const resized = (data, ww, hh) => sharp(Buffer.from(data), { raw: { width: ww, height: hh, channels: 3 } }).resize(48, 48, { fit: 'cover' }).raw().toBuffer();
  const ours = await decodePhoto(file, 48);
  const mad = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
  const rotated = mad(ours, await resized(rot, h, w)), unrotated = mad(ours, await resized(raw.data, w, h));
  assert.ok(rotated < 3, `mean |Δ| vs the rotated reference ${rotated}`);
  assert.ok(unrotated > 4 * rotated, `mean |Δ| vs the unrotated pixels ${unrotated} (rotated ${rotated})`);
});

withPhotos('shorter side + centre crop: a wide image keeps its middle', async () => {
  // 300×100: red | green | blue thirds → the centre 100×100 square is green (Lanczos-3 lets a little red
  // and blue ring into the outermost columns; the inside is exact)
  const w = 300, h = 100, px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[(y * w + x) * 3 + Math.floor(x / 100)] = 255;
  const png = await sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  const out = await decodePhoto(new Uint8Array(png), 20);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) {
    const p = Array.from(out.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    if (x >= 3 && x < 17) assert.equal(p, [0, 255, 0], `pixel ${x},${y}`);
    else assert.ok(p[1] >= 200 && p[0] <= 40 && p[2] <= 40, `edge pixel ${x},${y}: ${p}`);
  }
});

withPhotos('odd files: grey, 16-bit, CMYK and alpha decode to 8-bit RGB; a truncated JPEG is an error naming the file (or skipped)', async () => {
  const src = pngs('mammals', 1)[0];
  const odd = join(dir, 'odd', 'x');
  mkdirSync(odd, { recursive: true });
  const rgb = await decodePhoto(src, 32);
  const grey = join(odd, 'grey.png'), g16 = join(odd, 'deep.png'), cmyk = join(odd, 'cmyk.jpg'), bad = join(odd, 'truncated.jpg');
  await sharp(src).flatten({ background: '#ffffff' }).greyscale().png().toFile(grey);
  await sharp(src).flatten({ background: '#ffffff' }).toColourspace('rgb16').png().toFile(g16);
  await sharp(src).flatten({ background: '#ffffff' }).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(cmyk);
  assert.is((await sharp(g16).metadata()).depth, 'ushort');
  assert.is((await sharp(cmyk).metadata()).space, 'cmyk');
  const gp = await decodePhoto(grey, 32);
  for (let i = 0; i < 32 * 32; i++) assert.ok(gp[i * 3] === gp[i * 3 + 1] && gp[i * 3] === gp[i * 3 + 2]);
  const mad = (a) => a.reduce((s, v, i) => s + Math.abs(v - rgb[i]), 0) / a.length;
  assert.ok(mad(await decodePhoto(g16, 32)) < 1, '16-bit PNG ≈ the 8-bit decode');
  assert.ok(mad(await decodePhoto(cmyk, 32)) < 12, 'CMYK JPEG converted to sRGB');
  // alpha: a fully transparent pixel becomes the background
  const clear = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0 } } }).png().toBuffer();
  assert.equal(Array.from((await decodePhoto(new Uint8Array(clear), 4, { background: [1, 2, 3] })).subarray(0, 3)), [1, 2, 3]);
  const full = await sharp(src).flatten({ background: '#ffffff' }).jpeg().toBuffer();
  writeFileSync(bad, full.subarray(0, full.length >> 1));
  let msg = '';
  try { await decodePhoto(bad, 32); } catch (e) { msg = e.message; }
  assert.match(msg, /truncated\.jpg: cannot decode as a photo/);
  try { await loadPhotoFolder(join(dir, 'odd'), { size: 32 }); assert.unreachable(); } catch (e) { assert.match(e.message, /truncated\.jpg/); }
  const ds = await loadPhotoFolder(join(dir, 'odd'), { size: 32, onBadFile: 'skip' });
  assert.is(ds.length, 3);
  assert.is(ds.skipped.length, 1);
  assert.match(ds.skipped[0].file, /truncated\.jpg$/);
  assert.equal(ds.norm, IMAGENET_NORM);
});

withPhotos('photo augmentation: random-resized crop, flip and colour jitter on the uint8 data, reproducible from the seed', async () => {
  const ds = await loadPhotoFolder(folder, { size: 48 });
  const opts = { batchSize: 6, seed: 3, resizedCrop: true, flip: true, jitter: 0.1 };
  const a = new BatchIterator(ds, opts), b = new BatchIterator(ds, opts), plain = new BatchIterator(ds, { batchSize: 6, seed: 3 });
  const n = 6 * a.sampleSize, xa = new Float32Array(n), xb = new Float32Array(n), xp = new Float32Array(n), y = new Int32Array(6);
  a.next(xa, y); b.next(xb, y); plain.next(xp, y);
  assert.equal(Array.from(xa), Array.from(xb), 'same seed, same batch');
  assert.ok(xa.some((v, i) => Math.abs(v - xp[i]) > 0.05), 'augmented differs from plain');
  const lo = (0 - IMAGENET_NORM.mean[0]) / IMAGENET_NORM.std[0] - 1e-5, hi = (1 - IMAGENET_NORM.mean[2]) / IMAGENET_NORM.std[2] + 1e-5;
  assert.ok(xa.every((v) => Number.isFinite(v) && v >= lo - 0.2 && v <= hi + 0.2), 'values stay within the normalised pixel range');
  a.nextEpoch();
  const xc = new Float32Array(n);
  a.next(xc, y);
  assert.ok(xc.some((v, i) => v !== xa[i]), 'another epoch, other crops');
  assert.throws(() => new BatchIterator(ds, { batchSize: 2, resizedCrop: { scale: [0.5, 1.5] } }), /resizedCrop\.scale/);
  assert.throws(() => new BatchIterator(ds, { batchSize: 2, jitter: 1 }), /jitter must be in/);
});

test('browser helpers of qwasm/runtime: centreCropBox and rgbaToRgb', () => {
  assert.equal(centreCropBox(640, 480), { sx: 80, sy: 0, sw: 480, sh: 480 });
  assert.equal(centreCropBox(3, 5), { sx: 0, sy: 1, sw: 3, sh: 3 });
  assert.equal(Array.from(rgbaToRgb(new Uint8ClampedArray([10, 20, 30, 255, 200, 100, 0, 0, 100, 100, 100, 128]))), [10, 20, 30, 255, 255, 255, 177, 177, 177]);
  assert.throws(() => rgbaToRgb(new Uint8Array(5)), /not a multiple of 4/);
});

withAll('qwasm import (cut MobileNetV2) → export --data photos → qwasm run model.qwm photo.jpg', async () => {
  const ck = join(dir, 'mnv2.qck'), qwm = join(dir, 'mnv2.qwm');
  const out = [], log = console.log, err = console.error;
  console.log = (s) => out.push(String(s));
  console.error = (s) => out.push(String(s));
  try {
    assert.is(await main(['import', '--from', 'nsfwjs:mobilenet_v2', '--cut', 'block_6_expand_relu', '--classes', '2', '--input-size', '64', '--norm', 'keras', '-o', ck]), 0);
    assert.is(await main(['export', ck, '--data', folder, '--calib', '1', '-o', qwm]), 0, out.join('\n'));
    assert.is(await main(['run', qwm, join(folder, 'birds', 'bird0.jpg'), join(folder, 'mammals', readdirSync(join(folder, 'mammals'))[0]), '--json']), 0, out.join('\n'));
    assert.is(await main(['info', qwm, '--json']), 0);
  } finally { console.log = log; console.error = err; }
  const r = JSON.parse(out.find((l) => l.includes('"predictions"')));
  assert.is(r.predictions.length, 2);
  assert.ok(['birds', 'mammals'].includes(r.predictions[0].top[0].label));
  const info = JSON.parse(out.at(-1));
  assert.equal(info.meta.mean, NORMALIZATIONS.keras.mean);
  assert.is(info.meta.preprocess.crop, 'centre');
});

test.run();
