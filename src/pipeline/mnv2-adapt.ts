// Domain adaptation from the real ImageNet MobileNetV2 (nsfwjs' Keras MobileNetV2-1.0, cut where the MobileNetV2
// pipeline cuts its teacher, MNV2_DEFAULTS.cut): what `qwasm adapt --model mobilenetv2` runs.
//  - The images of both domains are read at `size` px RGB in the network's own normalisation (x/255). Grey ink
//    datasets (MNIST, QuickDraw: light ink on a dark ground, 28 px) are drawn as dark ink on white paper, and
//    transparent photo cut-outs (Tux Paint's stamps) are composited over white: both domains then share a white
//    ground, the way sketches are drawn and product photos are shot, so the domain gap left is the one
//    sketch → photo studies (DomainNet) are about — strokes vs texture and colour — not a background colour a
//    domain classifier could read off one pixel.
//  - Both domains go through the ImageNet-frozen prefix (nsfwjs froze the layers up to block_10) ONCE
//    (src/transfer/cache.ts: uint8 maps, ranges from the last frozen BatchNorm's statistics — data-free, so no
//    image of either domain, and no test fold, chooses the quantisation).
//  - Every run (method × seed) then starts from the pretrained top blocks (block_11, block_12, block_13_expand)
//    + a new head of the source classes, and trains them on the cached maps with adapt(): the adaptation term
//    sees the pooled 576-d features before the head. BatchNorm stays on its ImageNet running statistics (as the
//    pipeline's fine-tuning does): batch statistics would differ between the two domains' batches.
import type { Engine } from '../autograd/tensor.js';
import { BatchNorm2d, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { importTfjs, type TfjsImportedModel } from '../tfjs/import.js';
import { loadDataset } from '../data/registry.js';
import { resize, toChannels, invert } from '../data/image.js';
import { createDataset, type Dataset, type DatasetSplits, type Normalization } from '../data/dataset.js';
import { bnRanges, cachePrefix, type CacheProgress, type PrefixCache } from '../transfer/cache.js';
import type { AdaptRecipe } from '../transfer/adapt-run.js';
import { MNV2_DEFAULTS } from './mnv2-settings.js';
import { TEACHER_SOURCE, topIndex } from './mnv2-teacher.js';
import { QwasmError, checkInt } from '../errors.js';

/** Built-in grey datasets of ink strokes in MNIST's convention (light ink on a dark ground). */
const INK_DATASETS = new Set(['mnist', 'quickdraw', 'quickdraw-natural', 'digits', 'uci-digits', 'optdigits']);

/**
 * The recipe of `qwasm adapt --model mobilenetv2`, fixed before any run that scored a target label:
 * SGD momentum 0.9 with DANN's annealing μ_p = μ₀/(1+10p)^0.75 for every method, the new layers (the label head,
 * DANN's domain classifier) at 10× the pretrained blocks' rate as in both papers, DANN's λ_p schedule up to 1
 * (the paper's), 400 steps of 32 source + 32 target maps (≈ 3 epochs of QuickDraw's 4480 sketches: a budget for a
 * 2-core machine shared by several jobs), no shifts (they would move cached features, not pixels). Two values
 * were chosen on source labels and unlabelled target images only (docs/ADAPTATION.md has the runs):
 *  - μ₀ = 0.01: source-only's QuickDraw test accuracy after 400 steps was 53.5 / 59.6 / 63.3 % at 0.001 / 0.003 / 0.01;
 *  - CORAL weight 1000: with this prefix the unweighted CORAL distance (1/(4d²), d = 576) is ~1e-5, so the paper's
 *    weight 1 does nothing; the paper's rule (CORAL ≈ classification loss at the end) collapses the features
 *    (weight 1e5: source test 50.7 %, 1e6: the task loss diverged), so the weight is the largest power of ten
 *    whose source test accuracy stays within 2 points of source-only's (1e3: 63.0 %, 1e4: 60.1 %, vs 63.3 %).
 */
export const MNV2_ADAPT_RECIPE: Readonly<Partial<AdaptRecipe>> = Object.freeze<Partial<AdaptRecipe>>({
  steps: 400, batchSize: 32, lr: 0.01, optimizer: { kind: 'sgd', momentum: 0.9 }, lrAnneal: true,
  dannWeight: 1, coralWeight: 1000, domainHidden: [100], shift: 0, headLrScale: 10, domainLrScale: 10,
});

/** Grey ink images (light ink on dark, any size) as size × size RGB drawings: dark ink on white, bilinear upsampling. */
export function inkAsDrawing(ds: Dataset, size: number, norm: Normalization): Dataset {
  checkInt('size', size, 8, 1024);
  if (ds.channels !== 1) throw new QwasmError(`${ds.name}: ink images must be grey, got ${ds.channels} channels`);
  const inPer = ds.height * ds.width, per = size * size * 3;
  const images = new Uint8Array(ds.length * per);
  for (let i = 0; i < ds.length; i++) {
    const img = { width: ds.width, height: ds.height, channels: 1, data: ds.images.subarray(i * inPer, (i + 1) * inPer) };
    images.set(toChannels(invert(resize(img, size, size)), 3).data, i * per);
  }
  return createDataset({ name: ds.name, images, labels: ds.labels, height: size, width: size, channels: 3, classes: ds.classes, norm, flipSafe: ds.flipSafe });
}

/**
 * A dataset name or folder at size × size RGB for the network (normalisation `norm`): ink datasets drawn dark on
 * white (inkAsDrawing), photos with transparency composited over white. Other grey datasets (Fashion-MNIST) are
 * refused: they would need a rendering decision of their own.
 */
export function loadForMobilenetV2(name: string, size: number, norm: Normalization, o: { seed?: number } = {}): DatasetSplits {
  const s = loadDataset(name, { size: [size, size], channels: 3, background: 255, seed: o.seed });
  const as = (ds: Dataset): Dataset => {
    if (ds.channels === 3 && ds.height === size && ds.width === size) return createDataset({ ...ds, norm });
    if (ds.channels === 1 && INK_DATASETS.has(name.toLowerCase())) return inkAsDrawing(ds, size, norm);
    throw new QwasmError(`${name}: ${ds.height}×${ds.width}×${ds.channels} images; --model mobilenetv2 reads RGB photos or the ink datasets (${[...INK_DATASETS].join(', ')})`);
  };
  return { train: as(s.train), test: as(s.test) };
}

/** The pretrained network's trainable top, ready to adapt: one instance per job (the cache is made once). */
export interface MobilenetV2Top {
  /** Top-level layers [0, upTo) are the frozen prefix (cached); the top is [upTo, end). */
  upTo: number;
  /** The Keras layer the cache ends at. */
  cacheAt: string;
  inputSize: number;
  norm: Normalization;
  /** Runs every set's images through the frozen prefix once: uint8 maps the top trains on. */
  cache(sets: Record<string, Dataset>, onProgress?: (p: CacheProgress) => void): PrefixCache;
  /** A fresh top (pretrained blocks + a new head of `classes`, seeded), BatchNorm on its running statistics. */
  makeModel(engine: Engine, seed: number, classes: number): Sequential;
  dispose(): void;
}

const importNet = (engine: Engine, classes: number, inputSize: number, seed: number): TfjsImportedModel =>
  importTfjs(engine, TEACHER_SOURCE, { cut: MNV2_DEFAULTS.cut, classes, inputSize, seed });

/** The ImageNet-frozen prefix: every top-level layer up to the last Keras layer nsfwjs saved as not trainable. */
export function frozenPrefixOf(imp: TfjsImportedModel): { upTo: number; cacheAt: string } {
  const tops = imp.frozen.filter((k) => imp.layerNames[k] !== undefined).map((k) => topIndex(imp, k));
  const upTo = Math.max(...tops) + 1;
  if (!(upTo >= 1 && upTo < imp.model.layers.length - 1)) throw new QwasmError(`the frozen prefix of ${imp.source} is ${upTo} layers: nothing left to train`);
  const cacheAt = Object.entries(imp.layerNames).filter(([, v]) => v === String(upTo - 1)).map(([k]) => k).pop() ?? `layer ${upTo - 1}`;
  return { upTo, cacheAt };
}

/** The network with its prefix frozen (a placeholder head: the prefix does not depend on the classes). */
export function mobilenetV2Top(engine: Engine, o: { inputSize?: number } = {}): MobilenetV2Top {
  const inputSize = checkInt('inputSize', o.inputSize ?? MNV2_DEFAULTS.inputSize, 32, 512);
  const net = importNet(engine, 2, inputSize, 1);
  const { upTo, cacheAt } = frozenPrefixOf(net);
  for (const l of net.model.layers.slice(0, upTo)) for (const [, p] of l.namedParameters()) { p.tensor.requiresGrad = false; p.tensor.grad?.dispose(); p.tensor.grad = null; }
  if (!(net.model.layers[upTo - 1] instanceof BatchNorm2d)) throw new QwasmError(`the frozen prefix of ${net.source} does not end in a BatchNorm (at ${cacheAt}): no data-free cache ranges`);
  const ranges = bnRanges(net.model, upTo);
  return {
    upTo, cacheAt, inputSize, norm: net.norm,
    cache: (sets, onProgress) => cachePrefix(net.model, upTo, sets, { batchSize: 32, ranges, onProgress }),
    makeModel(e, seed, classes) {
      const imp = importNet(e, checkInt('classes', classes, 2, 65536), inputSize, seed);
      const kids = imp.model.children();
      for (const [, m] of kids.slice(0, upTo)) m.dispose();
      const top = new Sequential(e, kids.slice(upTo).map(([n, m]) => [n, m] as [string, Module]));
      for (const [, m] of top.modules()) if (m instanceof BatchNorm2d) m.frozen = true;
      return top;
    },
    dispose: () => net.model.dispose(),
  };
}
