// `qwasm export`: a saved float model (checkpoint of `qwasm train --out`) → an int8 .qwm file or an ONNX model.
// The int8 conversion needs activation ranges: a checkpoint whose meta holds `quantState` (a QAT run's
// qat.quantState()) uses those; otherwise post-training calibration runs on the training split of --data.
import { readFileSync } from 'node:fs';
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { loadPhotoFolder } from '../data/photos.js';
import { stratifiedSplit, type Dataset, type Normalization } from '../data/dataset.js';
import { loadModelBytes } from '../train/model-file.js';
import { writeFileAtomic } from '../checkpoint/index.js';
import { quantizeStatic } from '../quant/ptq.js';
import { buildInt8Graph, Int8Model } from '../deploy/int8-model.js';
import { encodeQwm, decodeQwm, isQwm } from '../deploy/qwm.js';
import { bundleWasm } from '../deploy/wasm-bundle.js';
import { childLists, type Int8Graph, type GraphMeta } from '../deploy/graph.js';
import type { QuantState } from '../quant/qat.js';
import { QwasmError } from '../errors.js';
import { FLAGS, UsageError, flag, type Args, type CommandSpec } from './args.js';
import { checkModelFitsData, checkpointData, normMeta, startQwasm } from './common.js';
import { checkOutputFile, expectKind, extOf, readInput } from './files.js';
import type { Command } from './main.js';

const FORMATS: Record<string, string> = { qwm: '.qwm', onnx: '.onnx', wasm: '.wasm' };

const spec: CommandSpec = {
  name: 'export',
  summary: 'export a saved model as an int8 .qwm file, ONNX or a standalone .wasm',
  synopsis: ['qwasm export MODEL --format qwm|onnx|wasm -o OUT [flags]'],
  about: `Converts a saved model to an all-int8 graph and writes it as a .qwm file (docs/QWM.md; run it with
'qwasm run', inspect it with 'qwasm info', load it with 'qwasm/runtime'), as an ONNX model (QDQ int8), or as a
standalone .wasm for hosts without JS (wasm3, WAMR, wasm-interp): the scalar build with the model embedded;
qwm_main() loads the embedded model, then qwm_run / qwm_run_f32 run it (assembly/qwm_run.ts).
MODEL is a checkpoint written by 'qwasm train --out FILE', or a .qwm file (re-exported, e.g. to ONNX).

Quantisation: a checkpoint whose metadata holds 'quantState' (from a QAT run) is converted with it; a plain
float checkpoint is calibrated post-training (PTQ, min/max observers) on the training split of --data.`,
  positionals: true,
  sections: [['', {
    format: { type: 'string', value: 'NAME', help: 'qwm, onnx or wasm (default: from the -o extension, else qwm;\nan extension that names another format is refused)', choices: Object.keys(FORMATS) },
    out: flag('out', 'output file (required; checked before any work)'),
    data: flag('data', 'calibration data: mnist, fashion-mnist, quickdraw, digits or a folder\n(default: the dataset recorded in the checkpoint, else mnist)'),
    calib: { type: 'string', value: 'N', help: 'calibration batches of 64 images (default 8)', num: { int: true, min: 1 } },
    eval: { type: 'string', value: 'N', help: 'also report the int8 accuracy on the first N test images of --data', num: { int: true, min: 1 } },
    build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json,
  }]],
};

/** The output format: --format, else the -o extension; an extension naming another format is refused. */
function outputFormat(out: string, given: string | undefined): string {
  const ext = extOf(out);
  const byExt = Object.keys(FORMATS).find((f) => FORMATS[f] === ext);
  if (given && byExt && given !== byExt) throw new UsageError(`--format ${given} with -o ${out}: the ${ext} extension is for --format ${byExt} (name the file ${out.slice(0, out.length - ext.length)}${FORMATS[given]})`);
  return given ?? byExt ?? 'qwm';
}

async function run(args: Args): Promise<number> {
  if (args.positional.length !== 1) throw new UsageError('give one MODEL file (a checkpoint or a .qwm)');
  const out = args.str('out');
  if (!out) throw new UsageError('-o FILE is required (the file to write; --out FILE works too)');
  const format = outputFormat(out, args.str('format'));
  checkOutputFile('-o/--out', out);
  const file = args.positional[0];
  const calib = args.num('calib', 8);
  const evalN = args.num('eval', 0);
  const bytes = readInput('MODEL', file);
  expectKind('export', file, bytes, ['checkpoint', 'qwm']);
  const q = await startQwasm(args);
  let graph: Int8Graph, source: string, dataName: string | null = null, photoTest: Dataset | null = null;
  if (isQwm(bytes)) {
    graph = decodeQwm(bytes, file);
    source = 'qwm';
  } else {
    const engine = new Engine(q.rt);
    const { model, record, meta } = loadModelBytes(engine, bytes, file);
    dataName = args.str('data') ?? (typeof meta.dataset === 'string' ? meta.dataset : 'mnist');
    // an imported photo model (qwasm import --from, meta.normalization): calibrate on photos decoded the way
    // it was trained (src/data/photos.ts), and record that preprocessing in the .qwm
    const { train, test, preprocess } = await checkpointData(dataName, record.options.input, meta);
    if (preprocess) photoTest = test;
    checkModelFitsData(`${file} (${record.name})`, record.options.input ?? [28, 28, 1], record.options.classes ?? 10, dataName, train);
    const gm: GraphMeta = {
      labels: [...train.classes], source: `${file} (${record.name})`, dataset: dataName, model: { name: record.name, options: record.options },
      ...(preprocess ? { preprocess } : {}),
    };
    Object.assign(gm, normMeta(train));
    const state = meta.quantState as QuantState | undefined;
    if (state !== undefined && (!state || typeof state !== 'object' || !('units' in state))) throw new QwasmError(`${file}: meta.quantState is not a QuantState`);
    const qat = state ? undefined : quantizeStatic(model, train, { batches: calib, batchSize: 64 });
    graph = buildInt8Graph(qat ?? model, state, { inputShape: [train.height, train.width, train.channels], meta: { ...gm, quantization: state ? 'qat' : `ptq (${calib} × 64 images)` } });
    source = state ? 'checkpoint + QAT state' : 'checkpoint + PTQ';
  }

  let accuracy: number | undefined;
  if (evalN) {
    const name = dataName ?? args.str('data') ?? (typeof graph.meta.dataset === 'string' ? graph.meta.dataset : 'mnist');
    const test = photoTest ?? loadDataset(name).test;
    checkModelFitsData(file, graph.inputShape, graph.classes, name, test);
    const m = Int8Model.fromGraph(q.rt, graph);
    try { accuracy = m.evaluate(test, { indices: Array.from({ length: Math.min(evalN, test.labels.length) }, (_, i) => i) }).accuracy; } finally { m.dispose(); }
  }

  let data: Uint8Array;
  if (format === 'qwm') data = encodeQwm(graph);
  else if (format === 'wasm') {
    // the scalar build: the one every WASM host runs (no SIMD, no bulk memory)
    const scalar = readFileSync(new URL('../../build/qwasm.scalar.wasm', import.meta.url));
    data = bundleWasm(scalar, encodeQwm(graph)).wasm;
  }
  else {
    let mod: { int8GraphToOnnx?: (g: Int8Graph) => Uint8Array };
    try { mod = await import('../onnx/export.js' as string) as typeof mod; } catch (e) { throw new QwasmError(`ONNX export is not available in this build (${(e as Error).message})`); }
    if (typeof mod.int8GraphToOnnx !== 'function') throw new QwasmError('ONNX export is not available in this build (no int8GraphToOnnx)');
    data = mod.int8GraphToOnnx(graph);
  }
  writeFileAtomic(out, data);
  const result = { file: out, format, bytes: data.length, source, nodes: countNodes(graph.nodes), inputShape: graph.inputShape, classes: graph.classes, ...(accuracy !== undefined ? { int8Accuracy: accuracy } : {}) };
  if (args.bool('json')) console.log(JSON.stringify(result));
  else console.log(`wrote ${out}: ${format}, ${data.length} bytes, ${result.nodes} nodes, input ${graph.inputShape.join('×')}, ${graph.classes} classes (${source})${accuracy !== undefined ? `, int8 test accuracy ${(accuracy * 100).toFixed(2)}%` : ''}`);
  return 0;
}

function countNodes(nodes: Int8Graph['nodes']): number {
  let c = 0;
  for (const n of nodes) { c++; for (const l of childLists(n)) c += countNodes(l); }
  return c;
}

export const command: Command = { spec, run };
