// `qwasm run`: predictions of a .qwm model on image files (PNG / PGM / PPM) or on a dataset's test split.
import { loadDataset } from '../data/registry.js';
import { datasetBatches } from '../train/eval-loop.js';
import { decodeImage } from '../data/folder.js';
import { decodePhoto } from '../data/photos.js';
import { isPng } from '../data/png.js';
import { isPnm } from '../data/pnm.js';
import { resize, toChannels } from '../data/image.js';
import { loadQwm, type QwmModel } from '../runtime-entry.js';
import { QwasmError } from '../errors.js';
import { FLAGS, UsageError, flag, type Args, type CommandSpec } from './args.js';
import { checkModelFitsData, startQwasm } from './common.js';
import { expectKind, readInput } from './files.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'run',
  summary: 'run an int8 .qwm model on images or a dataset',
  synopsis: ['qwasm run MODEL.qwm IMAGE... [flags]', 'qwasm run MODEL.qwm --data NAME [--limit N] [flags]'],
  about: `Runs an int8 .qwm model (from 'qwasm export' or 'qwasm compress --out') on the int8 kernels.
IMAGE files (JPEG, PNG, WebP, PGM, PPM) are converted to the model's channels, resized to its input size and
normalised with the mean / std stored in the file; each prints its top classes. Photos (JPEG / WebP, or any
image for a model whose meta records preprocess: shorter side + centre crop) go through sharp: EXIF
orientation applied, the shorter side resized and the centre cropped (docs/IMPORT.md). With --data, the model runs on the
test split of a dataset (normalised with the dataset's statistics) and prints the accuracy.
(A float checkpoint .qck is evaluated with 'qwasm eval --model FILE --data NAME'.)`,
  positionals: true,
  sections: [['', {
    data: FLAGS.data,
    limit: flag('limit', 'only the first N test images (default: all)'),
    count: { type: 'string', value: 'N', help: 'old name of --limit', num: { int: true, min: 1 } },
    top: { type: 'string', value: 'K', help: 'classes printed per image (default 3)', num: { int: true, min: 1 } },
    batch: { ...FLAGS.batch, help: 'batch size for --data (default 250)', num: { int: true, min: 1, max: 65536 } },
    build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json,
  }]],
};


/** Pixels of an image file in the model's input layout (h × w × c, 0..255). */
async function imagePixels(model: QwmModel, file: string): Promise<Uint8Array> {
  const [h, w, c] = model.inputShape;
  if (c !== 1 && c !== 3) throw new QwasmError(`the model takes ${c} channels: image files can feed 1- or 3-channel models only`);
  const bytes = readInput('image', file);
  const pre = model.graph.meta.preprocess as { crop?: unknown; background?: [number, number, number] } | undefined;
  if (pre?.crop === 'centre' || !(isPng(bytes) || isPnm(bytes))) {
    // a photo: the same decoding as training on a photo folder (src/data/photos.ts)
    if (h !== w) throw new QwasmError(`the model takes ${h}×${w} input: photos are centre-cropped to squares`);
    const rgb = await decodePhoto(bytes, h, { what: file, background: pre?.background });
    return c === 3 ? rgb : toChannels({ width: w, height: h, channels: 3, data: rgb }, 1).data;
  }
  return resize(toChannels(decodeImage(bytes, file), c), h, w).data;
}

async function run(args: Args): Promise<number> {
  const [file, ...images] = args.positional;
  if (!file) throw new UsageError('MODEL.qwm is required');
  const dataName = args.str('data');
  if (!images.length && !dataName) throw new UsageError('give IMAGE files or --data NAME');
  if (images.length && dataName) throw new UsageError('give either IMAGE files or --data, not both');
  if (args.has('count') && args.has('limit')) throw new UsageError('give --limit once (--count is its old name)');
  const top = args.num('top', 3);
  const bytes = readInput('MODEL', file);
  expectKind('run', file, bytes, ['qwm', 'other']);
  const q = await startQwasm(args);
  const model = await loadQwm(bytes, { runtime: q.rt });
  try {
    if (images.length) {
      const results = [];
      for (const img of images) {
        const logits = model.predict(model.normalize(await imagePixels(model, img)), 1);
        const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, Math.min(top, logits.length));
        const labels = model.labels;
        results.push({ file: img, top: order.map((i) => ({ index: i, label: labels ? labels[i] : String(i), logit: logits[i] })) });
      }
      if (args.bool('json')) console.log(JSON.stringify({ model: file, build: q.build, predictions: results }));
      else for (const r of results) console.log(`${r.file}: ${r.top.map((t) => `${t.label} (${t.logit.toFixed(3)})`).join(', ')}`);
      return 0;
    }
    const { test } = loadDataset(dataName!);
    checkModelFitsData(file, model.inputShape, model.classes, dataName!, test);
    const total = test.labels.length, count = Math.min(args.num('limit') ?? args.num('count') ?? total, total);
    const bs = args.num('batch', 250);
    let correct = 0, seen = 0;
    const t0 = performance.now();
    datasetBatches(test, { batchSize: bs, indices: Array.from({ length: count }, (_, i) => i) }, (xs, ys, nb) => {
      const res = model.classify(xs, nb);
      for (let i = 0; i < nb; i++) if (res[i].index === ys[i]) correct++;
      seen += nb;
    });
    const seconds = (performance.now() - t0) / 1000, accuracy = correct / seen;
    if (args.bool('json')) console.log(JSON.stringify({ model: file, data: dataName, build: q.build, count: seen, correct, accuracy, seconds, imagesPerSecond: seen / seconds }));
    else console.log(`${file} on ${dataName}: accuracy ${(accuracy * 100).toFixed(2)}% (${correct}/${seen} test images, ${(seen / seconds).toFixed(0)} images/s, build ${q.build})`);
    return 0;
  } finally {
    model.dispose();
  }
}

export const command: Command = { spec, run };
