// One comparable row per compressed model (what the README tables and `qwasm compress --json` print):
// accuracy of the float weights, of the fake-quant model and of the deployed int8 model, the bytes of the int8
// export (Int8Model.bytes(): the encoded .qwm size) against 4 bytes per float parameter, the exact-zero
// fraction of the Linear / Conv2d weights, and the median batch-1 latency on the int8 kernels. A dynamic
// (weight-only) PTQ row has no int8 model: its `precision` says 'int8-weights', accuracyInt8 is null, the
// accuracy is the weight-only model's (f32 activations), bytes are int8 weights + f32 scales and biases and
// the latency is the f32 forward (the arithmetic it runs).
import type { Module } from '../nn/module.js';
import type { Dataset } from '../data/dataset.js';
import { evaluate } from '../train/trainer.js';
import { QATModel } from '../quant/qat.js';
import { weightOnlyBytes } from '../quant/ptq.js';
import { Int8Model } from './int8-model.js';
import { Int8Runner } from './runner.js';
import { walkGraph, type GraphNode, type LinearNode, type LowRankNode, type Int8Graph } from './graph.js';
import { weightSparsity } from '../compress/prune.js';
import { QwasmError, checkInt, describe } from '../errors.js';

export interface ReportRow {
  /** label of the row (the compression method, 'float', …) */
  method: string;
  /** what the deployed model computes with: 'int8' (the all-int8 model), 'f32' (a float row) or
   *  'int8-weights' (dynamic weight-only PTQ: int8 weights, f32 activations and arithmetic) */
  precision: 'int8' | 'f32' | 'int8-weights';
  /** float parameters of the (compressed) model, pruned ones included (LSQ step sizes excluded) */
  params: number;
  /** bytes of the int8 export; the float32 bytes when there is no int8 model */
  bytes: number;
  /** 4 × params */
  float32Bytes: number;
  /** exact-zero fraction of the Linear / Conv2d weights */
  sparsity: number;
  /** the deployed model's accuracy: int8 when there is one, the weight-only model's for 'int8-weights', else float */
  accuracy: number;
  /** accuracy of the float weights (the QAT model's wrapped float model) */
  accuracyFloat: number;
  /** accuracy of the fake-quant model (null without one) */
  accuracyFakeQuant: number | null;
  /** accuracy of the int8 model (null without one) */
  accuracyInt8: number | null;
  /** median ms per image, batch 1: on the int8 kernels, or the float forward when there is no int8 model */
  latencyMs: number;
  /** evaluated examples */
  count: number;
}

export interface ReportOptions {
  /** evaluate on these indices of testData only */
  indices?: ArrayLike<number>;
  /** timed batch-1 runs for the latency median (default 30) */
  latencyRuns?: number;
  /** a fake-quant model to evaluate as well (when `model` is the float one, e.g. after static PTQ) */
  fakeQuant?: QATModel | null;
  /** `fakeQuant` is a weight-only (dynamic PTQ) model and there is no int8 model: see ReportRow.precision */
  weightOnly?: boolean;
}

/** Median ms of one eval-mode forward of a single random example (float model, no graph). */
export function floatLatencyMs(model: Module, inputShape: [number, number, number], runs = 30): number {
  checkInt('runs', runs, 1, 100000);
  const e = model.engine;
  const per = inputShape[0] * inputShape[1] * inputShape[2];
  const x = e.persistent([1, ...inputShape], Float32Array.from({ length: per }, (_, i) => Math.sin(i * 0.37)));
  const was = model.training;
  model.eval();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs + 2; i++) {
      const t = performance.now();
      e.noGrad(() => model.forward(x));
      e.endStep();
      if (i >= 2) times.push(performance.now() - t);
    }
  } finally {
    x.dispose();
    model.train(was);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Measures one row. `model` is the float model or a QATModel (then its fake-quant accuracy and its wrapped
 * float model's accuracy are both measured); `int8` the deployed model or null (a float baseline).
 */
export function reportRow(method: string, model: Module, int8: Int8Model | null, testData: Dataset, opts: ReportOptions = {}): ReportRow {
  if (typeof method !== 'string' || !method) throw new TypeError(`method must be a non-empty string, got ${describe(method)}`);
  if (!model || typeof (model as Module).forward !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
  if (int8 !== null && !(int8 instanceof Int8Model)) throw new TypeError(`int8 must be an Int8Model or null, got ${describe(int8)}`);
  if (!testData || typeof testData !== 'object' || !(testData.images instanceof Uint8Array)) throw new TypeError(`testData must be a Dataset, got ${describe(testData)}`);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const runs = checkInt('latencyRuns', opts.latencyRuns ?? 30, 1, 100000);
  const fq = model instanceof QATModel ? model : opts.fakeQuant ?? null;
  if (fq !== null && !(fq instanceof QATModel)) throw new TypeError(`opts.fakeQuant must be a QATModel, got ${describe(fq)}`);
  const float = model instanceof QATModel ? model.model : model;
  const weightOnly = opts.weightOnly ?? false;
  if (typeof weightOnly !== 'boolean') throw new TypeError(`opts.weightOnly must be a boolean, got ${describe(weightOnly)}`);
  if (weightOnly && (int8 !== null || fq === null)) throw new QwasmError('opts.weightOnly: pass the weight-only model as opts.fakeQuant and int8 = null');
  const idx = opts.indices;
  const accuracyFloat = evaluate(float, testData, 250, idx);
  const accuracyFakeQuant = fq ? evaluate(fq, testData, 250, idx).accuracy : null;
  const accuracyInt8 = int8 ? int8.evaluate(testData, { indices: idx }).accuracy : null;
  const params = float.numParameters();
  const shape: [number, number, number] = [testData.height, testData.width, testData.channels];
  const latencyMs = int8 ? int8.latencyMs(1, runs) : floatLatencyMs(float, shape, runs);
  if (!Number.isFinite(latencyMs)) throw new QwasmError(`latency measurement of '${method}' gave ${latencyMs}`);
  return {
    method, precision: int8 ? 'int8' : weightOnly ? 'int8-weights' : 'f32',
    params, bytes: int8 ? int8.bytes() : weightOnly ? weightOnlyBytes(fq!) : 4 * params, float32Bytes: 4 * params,
    sparsity: weightSparsity(float).global,
    accuracy: accuracyInt8 ?? (weightOnly ? accuracyFakeQuant! : accuracyFloat.accuracy), accuracyFloat: accuracyFloat.accuracy, accuracyFakeQuant, accuracyInt8,
    latencyMs, count: accuracyFloat.count,
  };
}

const pct = (v: number | null) => (v === null ? '–' : (100 * v).toFixed(2));
const group = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

/**
 * A Markdown table of rows. The "× smaller" column is relative to `reference` float32 bytes (default: the
 * first row's float32Bytes — put the uncompressed baseline first).
 */
export function formatReport(rows: readonly ReportRow[], reference?: number): string {
  if (!Array.isArray(rows)) throw new TypeError(`rows must be an array of ReportRow, got ${describe(rows)}`);
  if (rows.length === 0) return '';
  const ref = reference ?? rows[0].float32Bytes;
  const head = '| method | params | sparsity | float % | fake-quant % | int8 % | bytes | × smaller than f32 | ms / image |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map((r) => `| ${r.method}${r.precision === 'int8-weights' ? ' (int8 weights, f32 activations)' : ''} | ${group(r.params)} | ${(100 * r.sparsity).toFixed(1)} % | ${pct(r.accuracyFloat)} | ${pct(r.accuracyFakeQuant)} | ${pct(r.accuracyInt8)} | ${group(r.bytes)} | ${(ref / r.bytes).toFixed(1)} | ${r.latencyMs.toFixed(3)} |`);
  return [head, sep, ...lines].join('\n');
}

// ------------------------------------------------------------------ one layer's time inside the int8 model

/** The linear / low-rank node `name` of an int8 model's graph, alone: a one-node graph on the same kernels. */
function layerGraph(int8: Int8Model, name: string): Int8Graph {
  let node: GraphNode | null = null;
  walkGraph(int8.graph.nodes, (n) => { if (n.name === name) node = n; });
  const nd = node as GraphNode | null;
  if (!nd) throw new RangeError(`the int8 model has no layer named '${name}'`);
  if (nd.kind !== 'linear' && nd.kind !== 'lowrank') throw new QwasmError(`layer '${name}' is a ${nd.kind}; only linear and low-rank layers can be timed alone`);
  const l = nd as LinearNode | LowRankNode;
  return { input: { scale: 1, zeroPoint: l.inZp }, inputShape: [1, 1, l.k], output: l.out, classes: l.n, nodes: [l], meta: {} };
}

export interface LayerTiming { name: string; kind: string; backend: string; us: number }

/**
 * Median µs per batch-`batch` run of each named layer of its int8 model, each layer packed alone (same int8
 * weights, same kernel as in the model) and fed int8 codes, the layers timed in interleaved rounds so machine
 * noise hits them alike. `layers`: [model, layer name] pairs (e.g. the dense and the factorised fc1).
 */
export function layerLatencyUs(layers: [Int8Model, string][], opts: { batch?: number; rounds?: number; minMs?: number } = {}): LayerTiming[] {
  if (!Array.isArray(layers) || !layers.length) throw new TypeError(`layers must be a non-empty array of [Int8Model, name], got ${describe(layers)}`);
  const batch = checkInt('batch', opts.batch ?? 1, 1, 4096), rounds = checkInt('rounds', opts.rounds ?? 9, 1, 1000);
  const minMs = opts.minMs ?? 40;
  const runners = layers.map(([m, name], i) => {
    if (!(m instanceof Int8Model)) throw new TypeError(`layers[${i}][0] must be an Int8Model, got ${describe(m)}`);
    return new Int8Runner(m.rt, layerGraph(m, name));
  });
  try {
    const inputs = runners.map((r) => { const k = r.inputShape[2]; return Int8Array.from({ length: batch * k }, (_, i) => ((i * 37) % 255) - 127); });
    const times: number[][] = runners.map(() => []);
    for (let r = -1; r < rounds; r++) {
      runners.forEach((run, i) => {
        let n = 0;
        const t0 = performance.now();
        do { run.predictCodes(inputs[i], batch); n++; } while (performance.now() - t0 < minMs);
        if (r >= 0) times[i].push(((performance.now() - t0) / n) * 1000); // round −1 is a warm-up
      });
    }
    return layers.map(([, name], i) => {
      const t = times[i].sort((a, b) => a - b);
      const lay = runners[i].layers()[0];
      return { name, kind: lay.kind, backend: lay.backend ?? lay.kind, us: t[t.length >> 1] };
    });
  } finally {
    for (const r of runners) r.dispose();
  }
}
