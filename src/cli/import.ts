// `qwasm import`: a float ONNX model (e.g. from torch.onnx.export) → a qwasm checkpoint that train / eval /
// compress read. The checkpoint records the imported layer tree (ModelRecord.layers), since no built-in model
// name describes it; the model takes NHWC input of the ONNX input's [C, H, W] (src/onnx/import.ts).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { importOnnx } from '../onnx/import.js';
import { describeLayers } from '../nn/layer-spec.js';
import { saveModel } from '../train/model-file.js';
import { parseArgs, UsageError } from './args.js';
import type { Command } from './main.js';
import { runTfjsImport, tfjsUsage } from './import-tfjs.js';

const usage = `usage: qwasm import MODEL.onnx -o FILE [--json] [--build NAME]

Imports a float ONNX model as a qwasm checkpoint (written atomically) that 'qwasm eval', 'qwasm compress'
and the API's loadModel read. Supported ops: Conv, BatchNormalization, Relu, Clip (ReLU / ReLU6), MaxPool,
AveragePool, GlobalAveragePool, Flatten, Reshape (to [batch, features]), Gemm, MatMul (+ bias Add), Add
(residual joins), Pad (zeros), Identity, Dropout, Constant; anything else is an error naming the node.
The imported model takes NHWC input ([H, W, C] from the ONNX input's [N, C, H, W]); flatten orders and weight
layouts are converted so it computes what the ONNX model computes.
  -o, --out FILE   the checkpoint to write (required)
  --json           print a JSON summary
  --build NAME     WASM build (auto, scalar, simd, relaxed)
${tfjsUsage}`;

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { o: 'string', out: 'string', json: 'boolean', build: 'string', help: 'boolean', h: 'boolean', from: 'string', cut: 'string', classes: 'string', 'input-size': 'string', norm: 'string' });
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (flags.from !== undefined || flags.cut !== undefined || flags.classes !== undefined || flags['input-size'] !== undefined || flags.norm !== undefined) {
    if (flags.from === undefined) throw new UsageError('--cut, --classes, --input-size and --norm apply to TF.js models: give --from SOURCE');
    if (positional.length) throw new UsageError(`give either --from SOURCE or an ONNX file, not both (got '${positional[0]}')`);
    const out = (flags.o ?? flags.out) as string | undefined;
    if (flags.o && flags.out && flags.o !== flags.out) throw new UsageError('give the output once (-o or --out)');
    if (!out) throw new UsageError('-o FILE (the checkpoint to write) is required');
    return runTfjsImport(flags, out, argv);
  }
  if (positional.length !== 1) throw new UsageError(positional.length ? `expected one ONNX file, got ${positional.length} arguments` : 'the ONNX model file is required');
  if (flags.o && flags.out && flags.o !== flags.out) throw new UsageError('give the output once (-o or --out)');
  const out = (flags.o ?? flags.out) as string | undefined;
  if (!out) throw new UsageError('-o FILE (the checkpoint to write) is required');
  const src = positional[0];
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(readFileSync(src)); } catch (e) { throw new Error(`cannot read ${src}: ${(e as Error).message}`); }
  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  const engine = new Engine(q.rt);
  const r = importOnnx(engine, bytes);
  const layers = describeLayers(r.model);
  const size = saveModel(out, r.model, { name: 'onnx', options: { input: r.inputShape, classes: r.classes }, layers }, {
    source: { onnx: basename(src), producer: r.producer, opset: r.opset, input: r.inputName, output: r.outputName },
    command: ['qwasm', 'import', ...argv].join(' '),
  });
  const summary = { file: out, bytes: size, source: src, input: r.inputShape, classes: r.classes, parameters: r.model.numParameters(), layers: r.model.layers.length, opset: r.opset, producer: r.producer };
  if (flags.json) console.log(JSON.stringify(summary));
  else console.log(`imported ${src} (${r.producer || 'unknown producer'}, opset ${r.opset}): input ${r.inputShape.join('×')} NHWC, ${r.classes} outputs, ${summary.parameters} parameters → ${out}`);
  r.model.dispose();
  return 0;
}

export const command: Command = { summary: 'import a float ONNX or TF.js (Keras) model as a qwasm checkpoint', usage, run };
