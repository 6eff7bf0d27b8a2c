// `qwasm import`: a float ONNX model (e.g. from torch.onnx.export) → a qwasm checkpoint that train / eval /
// compress read. The checkpoint records the imported layer tree (ModelRecord.layers), since no built-in model
// name describes it; the model takes NHWC input of the ONNX input's [C, H, W] (src/onnx/import.ts).
import { basename } from 'node:path';
import { Engine } from '../autograd/tensor.js';
import { importOnnx } from '../onnx/import.js';
import { describeLayers } from '../nn/layer-spec.js';
import { saveModel } from '../train/model-file.js';
import { FLAGS, UsageError, flag, type Args, type CommandSpec } from './args.js';
import { startQwasm } from './common.js';
import { checkOutputFile, expectKind, readInput } from './files.js';
import type { Command } from './main.js';
import { TFJS_ABOUT, TFJS_FLAGS, runTfjsImport } from './import-tfjs.js';

const spec: CommandSpec = {
  name: 'import',
  summary: 'import a float ONNX or TF.js (Keras) model as a qwasm checkpoint',
  synopsis: ['qwasm import MODEL.onnx -o FILE [flags]', 'qwasm import --from SOURCE -o FILE [--cut LAYER --classes N] [--input-size PX] [--norm NAME]'],
  about: `Imports a float ONNX model as a qwasm checkpoint (written atomically) that 'qwasm eval', 'qwasm compress'
and the API's loadModelCheckpoint read. Supported ops: Conv, BatchNormalization, Relu, Clip (ReLU / ReLU6), MaxPool,
AveragePool, GlobalAveragePool, Flatten, Reshape (to [batch, features]), Gemm, MatMul (+ bias Add), Add
(residual joins), Pad (zeros), Identity, Dropout, Constant; anything else is an error naming the node.
The imported model takes NHWC input ([H, W, C] from the ONNX input's [N, C, H, W]); flatten orders and weight
layouts are converted so it computes what the ONNX model computes.`,
  positionals: true,
  sections: [
    ['', { out: flag('out', 'the checkpoint to write (required; atomic, checked before the import)'), build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json }],
    ['TF.js models (--from)', TFJS_FLAGS],
  ],
  footer: TFJS_ABOUT,
};

async function run(args: Args, argv: string[]): Promise<number> {
  const out = args.str('out');
  if (Object.keys(TFJS_FLAGS).some((f) => args.has(f))) {
    if (!args.has('from')) throw new UsageError('--cut, --classes, --input-size and --norm apply to TF.js models: give --from SOURCE');
    if (args.positional.length) throw new UsageError(`give either --from SOURCE or an ONNX file, not both (got '${args.positional[0]}')`);
    if (!out) throw new UsageError('-o FILE is required (the checkpoint to write; --out FILE works too)');
    checkOutputFile('-o/--out', out);
    return runTfjsImport(args, out, argv);
  }
  if (args.positional.length !== 1) throw new UsageError(args.positional.length ? `expected one ONNX file, got ${args.positional.length} arguments` : 'the ONNX model file (or --from SOURCE) is required');
  if (!out) throw new UsageError('-o FILE is required (the checkpoint to write; --out FILE works too)');
  const src = args.positional[0];
  checkOutputFile('-o/--out', out);
  const bytes = readInput('MODEL', src);
  expectKind('import', src, bytes, ['other']);
  const q = await startQwasm(args);
  const engine = new Engine(q.rt);
  const r = importOnnx(engine, bytes);
  try {
    const layers = describeLayers(r.model);
    const size = saveModel(out, r.model, { name: 'onnx', options: { input: r.inputShape, classes: r.classes }, layers }, {
      source: { onnx: basename(src), producer: r.producer, opset: r.opset, input: r.inputName, output: r.outputName },
      command: ['qwasm', 'import', ...argv].join(' '),
    });
    const summary = { file: out, bytes: size, source: src, input: r.inputShape, classes: r.classes, parameters: r.model.numParameters(), layers: r.model.children().length, opset: r.opset, producer: r.producer };
    if (args.bool('json')) console.log(JSON.stringify(summary));
    else console.log(`imported ${src} (${r.producer || 'unknown producer'}, opset ${r.opset}): input ${r.inputShape.join('×')} NHWC, ${r.classes} outputs, ${summary.parameters} parameters → ${out}`);
  } finally {
    r.model.dispose();
  }
  return 0;
}

export const command: Command = { spec, run };
