// `qwasm export`: a saved float model (checkpoint of `qwasm train --out`) → an int8 .qwm file or an ONNX model.
// The int8 conversion needs activation ranges: a checkpoint whose meta holds `quantState` (a QAT run's
// qat.quantState()) uses those; otherwise post-training calibration runs on the training split of --data.
import { readFileSync, writeFileSync } from 'node:fs';
import { init } from '../index.js';
import { Engine } from '../autograd/tensor.js';
import { loadDataset } from '../data/registry.js';
import { loadPhotoFolder } from '../data/photos.js';
import { stratifiedSplit, type Dataset, type Normalization } from '../data/dataset.js';
import { loadModel } from '../train/model-file.js';
import { quantizeStatic } from '../quant/ptq.js';
import { buildInt8Graph, Int8Model } from '../deploy/int8-model.js';
import { encodeQwm, decodeQwm, isQwm } from '../deploy/qwm.js';
import { bundleWasm } from '../deploy/wasm-bundle.js';
import type { Int8Graph, GraphMeta } from '../deploy/graph.js';
import type { QuantState } from '../quant/qat.js';
import { QwasmError } from '../errors.js';
import { parseArgs, UsageError } from './args.js';
import type { Command } from './main.js';

const usage = `usage: qwasm export MODEL --format qwm|onnx|wasm -o OUT [flags]

Converts a saved model to an all-int8 graph and writes it as a .qwm file (docs/QWM.md; run it with
'qwasm run', inspect it with 'qwasm info', load it with 'qwasm/runtime'), as an ONNX model (QDQ int8), or as a
standalone .wasm for hosts without JS (wasm3, WAMR, wasm-interp): the scalar build with the model embedded;
qwm_main() loads the embedded model, then qwm_run / qwm_run_f32 run it (assembly/qwm_run.ts).
MODEL is a checkpoint written by 'qwasm train --out FILE', or a .qwm file (re-exported, e.g. to ONNX).

Quantisation: a checkpoint whose metadata holds 'quantState' (from a QAT run) is converted with it; a plain
float checkpoint is calibrated post-training (PTQ, min/max observers) on the training split of --data.

flags:
  --format qwm|onnx|wasm  output format (default: from the -o extension, else qwm)
  -o, --out FILE      output file (required)
  --data NAME         calibration data: mnist, fashion-mnist, quickdraw, digits or a folder
                      (default: the dataset recorded in the checkpoint, else mnist)
  --calib N           calibration batches of 64 images (default 8)
  --eval N            also report the int8 accuracy on the first N test images of --data
  --build NAME        wasm build: auto (default), scalar, simd, relaxed
  --json              print the result as JSON`;

function num(v: unknown, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(v)}'`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    format: 'string', out: 'string', o: 'string', data: 'string', calib: 'string', eval: 'string', build: 'string', json: 'boolean', help: 'boolean', h: 'boolean',
  });
  if (flags.help || flags.h) { console.log(usage); return 0; }
  if (positional.length !== 1) throw new UsageError(positional.length ? `expected one MODEL file, got ${positional.length}` : 'MODEL (a checkpoint or .qwm file) is required');
  const out = (flags.out ?? flags.o) as string | undefined;
  if (!out) throw new UsageError('-o OUT is required');
  const ext = out.toLowerCase();
  const format = (flags.format as string | undefined) ?? (ext.endsWith('.onnx') ? 'onnx' : ext.endsWith('.wasm') ? 'wasm' : 'qwm');
  if (format !== 'qwm' && format !== 'onnx' && format !== 'wasm') throw new UsageError(`--format must be qwm, onnx or wasm, got '${format}'`);
  const file = positional[0];
  const calib = flags.calib !== undefined ? num(flags.calib, 'calib', 1) : 8;
  const evalN = flags.eval !== undefined ? num(flags.eval, 'eval', 1) : 0;
  let bytes: Uint8Array;
  try { bytes = readFileSync(file); } catch (e) { throw new QwasmError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }

  const q = await init({ build: (flags.build as 'auto') ?? 'auto' });
  let graph: Int8Graph, source: string, dataName: string | null = null, photoTest: Dataset | null = null;
  if (isQwm(bytes)) {
    graph = decodeQwm(bytes, file);
    source = 'qwm';
  } else {
    const engine = new Engine(q.rt);
    const { model, record, meta } = loadModel(engine, file);
    dataName = (flags.data as string | undefined) ?? (typeof meta.dataset === 'string' ? meta.dataset : 'mnist');
    // an imported photo model (qwasm import --from, meta.normalization): calibrate on photos decoded the way
    // it was trained (src/data/photos.ts), and record that preprocessing in the .qwm
    const norm = meta.normalization as Normalization | undefined;
    let train: Dataset, preprocess: unknown;
    if (norm && record.options.input?.[2] === 3) {
      const photos = await loadPhotoFolder(dataName, { size: record.options.input[0], norm });
      ({ train, test: photoTest } = stratifiedSplit(photos, { testFraction: 0.2, seed: 0 }));
      preprocess = photos.preprocess;
    } else ({ train } = loadDataset(dataName));
    const gm: GraphMeta = {
      labels: [...train.classes], source: `${file} (${record.name})`, dataset: dataName, model: { name: record.name, options: record.options },
      ...(preprocess ? { preprocess } : {}),
    };
    const c = train.channels;
    if (c === 1) { gm.mean = train.norm.mean[0]; gm.std = train.norm.std[0]; } else { gm.mean = train.norm.mean as unknown as number; gm.std = train.norm.std as unknown as number; }
    const state = meta.quantState as QuantState | undefined;
    if (state !== undefined && (!state || typeof state !== 'object' || !('units' in state))) throw new QwasmError(`${file}: meta.quantState is not a QuantState`);
    const qat = state ? undefined : quantizeStatic(model, train, { batches: calib, batchSize: 64 });
    graph = buildInt8Graph(qat ?? model, state, { inputShape: [train.height, train.width, train.channels], meta: { ...gm, quantization: state ? 'qat' : `ptq (${calib} × 64 images)` } });
    source = state ? 'checkpoint + QAT state' : 'checkpoint + PTQ';
  }

  let accuracy: number | undefined;
  if (evalN) {
    const name = dataName ?? (flags.data as string | undefined) ?? (typeof graph.meta.dataset === 'string' ? graph.meta.dataset : 'mnist');
    const test = photoTest ?? loadDataset(name).test;
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
  writeFileSync(out, data);
  const result = { file: out, format, bytes: data.length, source, nodes: countNodes(graph.nodes), inputShape: graph.inputShape, classes: graph.classes, ...(accuracy !== undefined ? { int8Accuracy: accuracy } : {}) };
  if (flags.json) console.log(JSON.stringify(result));
  else console.log(`wrote ${out}: ${format}, ${data.length} bytes, ${result.nodes} nodes, input ${graph.inputShape.join('×')}, ${graph.classes} classes (${source})${accuracy !== undefined ? `, int8 test accuracy ${(accuracy * 100).toFixed(2)}%` : ''}`);
  return 0;
}

function countNodes(nodes: Int8Graph['nodes']): number {
  let c = 0;
  for (const n of nodes) { c++; if (n.kind === 'residual') c += countNodes(n.body) + (n.shortcut ? countNodes(n.shortcut) : 0); }
  return c;
}

export const command: Command = { summary: 'export a saved model as an int8 .qwm file or ONNX', usage, run };
