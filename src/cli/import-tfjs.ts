// `qwasm import --from SOURCE`: a TF.js layers model (nsfwjs:mobilenet_v2, a model.json or its folder) → a
// qwasm checkpoint, optionally cut at a named Keras layer with a new head. The checkpoint records the layer
// tree, the input normalisation (meta.normalization) and where the weights came from.
import { Engine } from '../autograd/tensor.js';
import { importTfjs } from '../tfjs/import.js';
import { describeLayers } from '../nn/layer-spec.js';
import { saveModel } from '../train/model-file.js';
import { UsageError, type Args, type FlagTable } from './args.js';
import { startQwasm } from './common.js';

export const TFJS_ABOUT = `TF.js layers models (Keras: Conv2D, DepthwiseConv2D, BatchNormalization, ReLU / ReLU6, Add, ZeroPadding2D,
pooling, Dense, Dropout, Flatten; docs/IMPORT.md). SOURCE: nsfwjs:mobilenet_v2 (the Keras MobileNetV2 in the
installed nsfwjs package), nsfwjs:inception_v3, or a model.json / its folder (weight shards beside it).`;

/** The flags of `qwasm import --from` (a section of import's table). */
export const TFJS_FLAGS: FlagTable = {
  from: { type: 'string', value: 'SOURCE', help: 'the TF.js model to import' },
  cut: { type: 'string', value: 'LAYER', help: 'keep the model up to this Keras layer (e.g. block_13_expand_relu) and add a new head\n(global average pool + linear); needs --classes' },
  classes: { type: 'string', value: 'N', help: 'outputs of the new head (without --cut: replaces the last Dense)', num: { int: true, min: 1 } },
  'input-size': { type: 'string', value: 'PX', help: "input height = width (default: the model's, 224 for MobileNetV2)", num: { int: true, min: 1 } },
  norm: { type: 'string', value: 'NAME', choices: ['keras', 'imagenet', 'unit'], help: 'input normalisation: keras ([-1, 1]), imagenet (mean / std), unit ([0, 1]);\ndefault: unit for nsfwjs (what nsfwjs feeds it), keras for model.json folders' },
};

export async function runTfjsImport(args: Args, out: string, argv: string[]): Promise<number> {
  const source = args.need('from', 'SOURCE');
  const cut = args.str('cut'), classes = args.num('classes'), inputSize = args.num('input-size');
  if (cut && classes === undefined) throw new UsageError('--cut needs --classes (the outputs of the new head)');
  const norm = args.str('norm');
  const q = await startQwasm(args);
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
  if (args.bool('json')) console.log(JSON.stringify(summary));
  else console.log(`imported ${source}${r.cut ? ` cut at ${r.cut}` : ''}: input ${r.inputShape.join('×')} NHWC (${r.normName ?? 'custom'} normalisation), ${r.classes} outputs, ${summary.parameters} parameters → ${out} (${seconds.toFixed(1)} s)`);
  r.model.dispose();
  return 0;
}
