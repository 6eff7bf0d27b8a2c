// `qwasm import --from SOURCE`: a TF.js layers model (nsfwjs:mobilenet_v2, a model.json or its folder) → a
// qwasm checkpoint, optionally cut at a named Keras layer with a new head. The checkpoint records the layer
// tree, the input normalisation (meta.normalization) and where the weights came from.
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { importTfjs } from '../tfjs/import.js';
import { describeLayers } from '../nn/layer-spec.js';
import { saveModel } from '../train/model-file.js';
import { UsageError } from './args.js';

export const tfjsUsage = `
       qwasm import --from SOURCE -o FILE [--cut LAYER --classes N] [--input-size PX] [--norm NAME]

TF.js layers models (Keras: Conv2D, DepthwiseConv2D, BatchNormalization, ReLU / ReLU6, Add, ZeroPadding2D,
pooling, Dense, Dropout, Flatten; docs/IMPORT.md). SOURCE: nsfwjs:mobilenet_v2 (the Keras MobileNetV2 in the
installed nsfwjs package) or a model.json / its folder (weight shards beside it). Concatenate (InceptionV3)
is not supported yet.
  --from SOURCE      the TF.js model to import
  --cut LAYER        keep the model up to this Keras layer (e.g. block_13_expand_relu) and add a new head
                     (global average pool + linear); needs --classes
  --classes N        outputs of the new head (without --cut: replaces the last Dense)
  --input-size PX    input height = width (default: the model's, 224 for MobileNetV2)
  --norm NAME        input normalisation: keras ([-1, 1]), imagenet (mean / std), unit ([0, 1]);
                     default: unit for nsfwjs (what nsfwjs feeds it), keras for model.json folders`;

const posInt = (v: unknown, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got '${String(v)}'`);
  return n;
};

export async function runTfjsImport(flags: Record<string, string | boolean>, out: string, argv: string[]): Promise<number> {
  const source = flags.from as string;
  const cut = flags.cut as string | undefined, classes = posInt(flags.classes, 'classes'), inputSize = posInt(flags['input-size'], 'input-size');
  if (cut && classes === undefined) throw new UsageError('--cut needs --classes (the outputs of the new head)');
  const norm = flags.norm as string | undefined;
  if (norm !== undefined && !['keras', 'imagenet', 'unit'].includes(norm)) throw new UsageError(`--norm must be keras, imagenet or unit, got '${norm}'`);
  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const engine = new Engine(q.rt);
  const t0 = performance.now();
  const r = importTfjs(engine, source, { cut, classes, inputSize, norm });
  const seconds = (performance.now() - t0) / 1000;
  const size = saveModel(out, r.model, { name: 'tfjs', options: { input: r.inputShape, classes: r.classes }, layers: describeLayers(r.model) }, {
    source: { tfjs: r.source, keras: r.kerasVersion, cut: r.cut, droppedActivation: r.droppedActivation },
    normalization: { ...r.norm, name: r.normName },
    layerNames: r.layerNames, frozen: r.frozen,
    command: ['qwasm', 'import', ...argv].join(' '),
  });
  const summary = { file: out, bytes: size, source, input: r.inputShape, classes: r.classes, parameters: r.model.numParameters(), cut: r.cut, norm: r.normName ?? r.norm, seconds };
  if (flags.json) console.log(JSON.stringify(summary));
  else console.log(`imported ${source}${r.cut ? ` cut at ${r.cut}` : ''}: input ${r.inputShape.join('×')} NHWC (${r.normName ?? 'custom'} normalisation), ${r.classes} outputs, ${summary.parameters} parameters → ${out} (${seconds.toFixed(1)} s)`);
  r.model.dispose();
  return 0;
}
