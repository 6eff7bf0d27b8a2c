// Fine-tuning throughput of nsfwjs' MobileNetV2 (cut at block_13_expand_relu) on qwasm's f32 training engine, at
// 96 and 224 px: images / s of (1) training every layer (forward + backward + Adam), (2) the frozen prefix's
// forward (what the cache costs, once per image), (3) training the top blocks on cached maps (what the
// pipeline's fine-tune variant does every epoch). Synthetic images (throughput does not depend on the pixels).
//   node bench/mnv2-finetune-throughput.mjs [--sizes 96,224] [--batch 16] [--threads N] [--images 64]
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { init, Engine, importTfjs, createDataset } from '../dist/index.js';
import { cachePrefix, suffixView } from '../dist/transfer/cache.js';
import { fit } from '../dist/train/trainer.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '96,224' }, batch: { type: 'string', default: '16' }, threads: { type: 'string' }, images: { type: 'string', default: '64' } } });
const B = Number(values.batch), N = Number(values.images);
const q = await init(values.threads ? { threads: Number(values.threads) } : {});
const engine = new Engine(q.rt);
console.log(`CPU: ${cpus()[0]?.model ?? '?'}; build ${q.rt.build}; ${q.rt.threads} thread(s); batch ${B}; load ${loadavg().map((v) => v.toFixed(2)).join(' / ')}`);
for (const S of values.sizes.split(',').map(Number)) {
  const r = importTfjs(engine, 'nsfwjs:mobilenet_v2', { cut: 'block_13_expand_relu', classes: 7, inputSize: S });
  const images = new Uint8Array(N * S * S * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const ds = createDataset({ name: 'synthetic', images, labels: new Uint8Array(N).map((_, i) => i % 7), height: S, width: S, channels: 3, classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], norm: r.norm });
  // warm-up (thread pool, packed weights, JIT), then the timed epochs
  fit(r.model, ds, { epochs: 1, batchSize: B, lr: 1e-4, seed: 1, maxSteps: 1 }).optimizer.dispose();
  const all = fit(r.model, ds, { epochs: 2, batchSize: B, lr: 1e-4, seed: 1 });
  all.optimizer.dispose();
  const L = Number(r.layerNames.block_10_project_BN.split('.')[0]) + 1;
  for (const l of r.model.layers.slice(0, L)) for (const [, p] of l.namedParameters()) { p.tensor.requiresGrad = false; p.tensor.grad?.dispose(); p.tensor.grad = null; }
  cachePrefix(r.model, L, { train: ds });
  const c = cachePrefix(r.model, L, { train: ds });
  const top = fit(suffixView(r.model, L), c.sets.train, { epochs: 2, batchSize: B, lr: 1e-4, seed: 1 });
  top.optimizer.dispose();
  console.log(`${S} px: every layer trained ${all.imagesPerSecond.toFixed(1)} img/s | frozen prefix forward (cache) ${(N / c.seconds).toFixed(1)} img/s | top blocks on the cache ${top.imagesPerSecond.toFixed(1)} img/s | cache ${c.bytesPerImage} B/image (${c.shape.join('×')} uint8)`);
  r.model.dispose();
}
console.log(`load at the end ${loadavg().map((v) => v.toFixed(2)).join(' / ')}`);
