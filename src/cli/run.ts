// `qwasm run`: predictions of a .qwm model on image files (PNG / PGM / PPM) or on a dataset's test split.
import { readFileSync } from 'node:fs';
import { init } from '../index.js';
import { loadDataset } from '../data/registry.js';
import { datasetBatches } from '../train/eval-loop.js';
import { decodeImage } from '../data/folder.js';
import { decodePhoto } from '../data/photos.js';
import { isPng } from '../data/png.js';
import { isPnm } from '../data/pnm.js';
import { resize, toChannels } from '../data/image.js';
import { loadModel, type QwmModel } from '../runtime-entry.js';
import { QwasmError } from '../errors.js';
import { parseArgs, UsageError } from './args.js';
import type { Command } from './main.js';

const usage = `usage: qwasm run MODEL.qwm IMAGE... [flags]
       qwasm run MODEL.qwm --data NAME [--count N] [flags]

Runs an int8 .qwm model (from 'qwasm export') on the int8 kernels.
IMAGE files (JPEG, PNG, WebP, PGM, PPM) are converted to the model's channels, resized to its input size and
normalised with the mean / std stored in the file; each prints its top classes. Photos (JPEG / WebP, or any
image for a model whose meta records preprocess: shorter side + centre crop) go through sharp: EXIF
orientation applied, the shorter side resized and the centre cropped (docs/IMPORT.md). With --data, the model runs on the
test split of a dataset (normalised with the dataset's statistics) and prints the accuracy.

flags:
  --data NAME     mnist, fashion-mnist, quickdraw, digits or a folder
  --count N       only the first N test images (default: all)
  --top K         classes printed per image (default 3)
  --batch N       batch size for --data (default 250)
  --build NAME    wasm build: auto (default), scalar, simd, relaxed
  --json          one JSON object on stdout`;

function num(v: unknown, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(v)}'`);
  return n;
}

function readFile(file: string): Uint8Array {
  try { return readFileSync(file); } catch (e) { throw new QwasmError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
}

/** Pixels of an image file in the model's input layout (h × w × c, 0..255). */
async function imagePixels(model: QwmModel, file: string): Promise<Uint8Array> {
  const [h, w, c] = model.inputShape;
  if (c !== 1 && c !== 3) throw new QwasmError(`the model takes ${c} channels: image files can feed 1- or 3-channel models only`);
  const bytes = readFile(file);
  const pre = model.graph.meta.preprocess as { crop?: unknown; background?: [number, number, number] } | undefined;
  if (pre?.crop === 'centre' || !(isPng(bytes) || isPnm(bytes))) {
    // a photo: the same decoding as training on a photo folder (src/data/photos.ts)
    if (h !== w) throw new QwasmError(`the model takes ${h}×${w} input: photos are centre-cropped to squares`);
    const rgb = await decodePhoto(bytes, h, { what: file, background: pre?.background });
    return c === 3 ? rgb : toChannels({ width: w, height: h, channels: 3, data: rgb }, 1).data;
  }
  return resize(toChannels(decodeImage(bytes, file), c), h, w).data;
}

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { data: 'string', count: 'string', top: 'string', batch: 'string', build: 'string', json: 'boolean', help: 'boolean', h: 'boolean' });
  if (flags.help || flags.h) { console.log(usage); return 0; }
  const [file, ...images] = positional;
  if (!file) throw new UsageError('MODEL.qwm is required');
  if (!images.length && !flags.data) throw new UsageError('give IMAGE files or --data NAME');
  if (images.length && flags.data) throw new UsageError('give either IMAGE files or --data, not both');
  const top = flags.top !== undefined ? num(flags.top, 'top', 1) : 3;
  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const model = await loadModel(readFile(file), { runtime: q.rt });
  try {
    if (images.length) {
      const results = [];
      for (const img of images) {
        const logits = model.predict(model.normalize(await imagePixels(model, img)), 1);
        const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, Math.min(top, logits.length));
        const labels = model.labels;
        results.push({ file: img, top: order.map((i) => ({ index: i, label: labels ? labels[i] : String(i), logit: logits[i] })) });
      }
      if (flags.json) console.log(JSON.stringify({ model: file, build: q.build, predictions: results }));
      else for (const r of results) console.log(`${r.file}: ${r.top.map((t) => `${t.label} (${t.logit.toFixed(3)})`).join(', ')}`);
      return 0;
    }
    const { test } = loadDataset(flags.data as string);
    const [h, w, c] = model.inputShape;
    if (test.height !== h || test.width !== w || test.channels !== c) throw new QwasmError(`${flags.data} images are ${test.height}×${test.width}×${test.channels}, the model takes ${h}×${w}×${c}`);
    const total = test.labels.length, count = flags.count !== undefined ? Math.min(num(flags.count, 'count', 1), total) : total;
    const bs = flags.batch !== undefined ? num(flags.batch, 'batch', 1) : 250;
    let correct = 0, seen = 0;
    const t0 = performance.now();
    datasetBatches(test, { batchSize: bs, indices: Array.from({ length: count }, (_, i) => i) }, (xs, ys, nb) => {
      const res = model.classify(xs, nb);
      for (let i = 0; i < nb; i++) if (res[i].index === ys[i]) correct++;
      seen += nb;
    });
    const seconds = (performance.now() - t0) / 1000, accuracy = correct / seen;
    if (flags.json) console.log(JSON.stringify({ model: file, data: flags.data, build: q.build, count: seen, correct, accuracy, seconds, imagesPerSecond: seen / seconds }));
    else console.log(`${file} on ${flags.data}: accuracy ${(accuracy * 100).toFixed(2)}% (${correct}/${seen} test images, ${(seen / seconds).toFixed(0)} images/s, build ${q.build})`);
    return 0;
  } finally {
    model.dispose();
  }
}

export const command: Command = { summary: 'run an int8 .qwm model on images or a dataset', usage, run };
