// `qwasm/runtime`: the deployment-only entry. Loads a .qwm model file (docs/QWM.md) and runs it on the int8
// kernels; it imports the runtime, the kernels and src/deploy only — no autograd, layers, training or dataset
// code — so a bundle of this entry stays small (scripts/size.mjs measures it).
//   const model = await loadQwm(bytes);           // Uint8Array | ArrayBuffer of a .qwm file
//   model.classify(pixels)                     // [{ index, label, logit }] per sample
import { loadRuntime as loadBuild, type InitOptions, type Runtime } from './runtime.js';
import { startThreads } from './threads/transport-browser.js';
import { QwasmError, checkInt, describe, toBytes } from './errors.js';
import { decodeQwm } from './deploy/qwm.js';
import { Int8Runner, type Int8LayerSummary } from './deploy/runner.js';
import { walkGraph, type GraphMeta, type Int8Graph, type QParams } from './deploy/graph.js';

export interface LoadModelOptions extends InitOptions {
  /** Reuse an already loaded runtime (e.g. the `rt` of init() from the main entry) instead of loading one. */
  runtime?: Runtime;
}

export interface Classification { index: number; label: string; logit: number }

export interface ModelInfo {
  inputShape: [number, number, number];
  classes: number;
  labels: string[] | null;
  input: QParams;
  output: QParams;
  /** Size of the .qwm file. */
  bytes: number;
  build: string;
  layers: (Int8LayerSummary & { density?: number; weights?: number })[];
  meta: GraphMeta;
}

type Pixels = Uint8Array | Uint8ClampedArray;

/** A loaded .qwm model. Free its WASM memory with dispose(). */
export class QwmModel {
  constructor(readonly runner: Int8Runner, private readonly fileBytes: number) {}

  get graph(): Int8Graph { return this.runner.graph; }
  get inputShape(): [number, number, number] { return this.runner.inputShape; }
  get classes(): number { return this.runner.classes; }
  get labels(): string[] | null {
    const l = this.runner.graph.meta.labels;
    return Array.isArray(l) && l.length === this.classes && l.every((s) => typeof s === 'string') ? l : null;
  }

  /**
   * Logits (n × classes) of a batch: a Float32Array of normalised NHWC values (as in training), or raw pixels
   * (Uint8Array / Uint8ClampedArray, NHWC, 0..255) normalised with the file's meta mean / std.
   */
  predict(x: Float32Array | Pixels, n?: number): Float32Array {
    return this.runner.predict(x instanceof Float32Array ? x : this.normalize(x), n);
  }

  /** Output int8 codes (n × classes) of int8 input codes (quantised with info().input). */
  predictCodes(codes: Int8Array, n?: number): Int8Array { return this.runner.predictCodes(codes, n); }

  /** predict() without blocking a browser main thread: its Web Workers run the batch (Int8Runner.predictAsync). */
  predictAsync(x: Float32Array | Pixels, n?: number): Promise<Float32Array> {
    return this.runner.predictAsync(x instanceof Float32Array ? x : this.normalize(x), n);
  }

  /** predictCodes() without blocking a browser main thread (Int8Runner.predictCodesAsync). */
  predictCodesAsync(codes: Int8Array, n?: number): Promise<Int8Array> { return this.runner.predictCodesAsync(codes, n); }

  /** Best class per sample: index, label (meta labels, else the index) and its logit. */
  classify(x: Float32Array | Pixels, n?: number): Classification[] {
    const logits = this.predict(x, n), c = this.classes, labels = this.labels, out: Classification[] = [];
    for (let i = 0; i < logits.length / c; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (logits[i * c + j] > logits[i * c + best]) best = j;
      out.push({ index: best, label: labels ? labels[best] : String(best), logit: logits[i * c + best] });
    }
    return out;
  }

  /** Pixels 0..255 → (p/255 − mean) / std with the meta normalisation (one value, or one per channel). */
  normalize(px: Pixels): Float32Array {
    if (!(px instanceof Uint8Array) && !(px instanceof Uint8ClampedArray)) throw new TypeError(`pixels must be a Uint8Array, got ${describe(px)}`);
    const c = this.inputShape[2], meta = this.runner.graph.meta;
    const per = (v: unknown, dflt: number, name: string): number[] => {
      if (v === undefined) return new Array(c).fill(dflt);
      const a = typeof v === 'number' ? new Array(c).fill(v) : Array.isArray(v) && v.length === c ? v : null;
      if (!a || !a.every((t) => typeof t === 'number' && Number.isFinite(t))) throw new QwasmError(`the model's meta.${name} must be a number or ${c} numbers, got ${JSON.stringify(v)}`);
      return a as number[];
    };
    const mean = per(meta.mean, 0, 'mean'), std = per(meta.std, 1, 'std');
    if (std.some((s) => !(s > 0))) throw new QwasmError(`the model's meta.std must be positive, got ${JSON.stringify(meta.std)}`);
    const out = new Float32Array(px.length);
    for (let i = 0; i < px.length; i++) out[i] = (px[i] / 255 - mean[i % c]) / std[i % c];
    return out;
  }

  /** Shapes, sizes, quantisation and per-layer sparsity. */
  info(): ModelInfo {
    const dens = new Map<string, { density: number; weights: number }>();
    walkGraph(this.runner.graph.nodes, (n) => {
      const ws = n.kind === 'conv' || n.kind === 'linear' ? [n.w] : n.kind === 'lowrank' ? [n.p, n.q] : [];
      if (!ws.length) return;
      let nz = 0, all = 0;
      for (const w of ws) { all += w.length; for (let i = 0; i < w.length; i++) if (w[i] !== 0) nz++; }
      dens.set(n.name, { density: nz / all, weights: all });
    });
    const g = this.runner.graph;
    return {
      inputShape: [...g.inputShape] as [number, number, number], classes: g.classes, labels: this.labels, input: { ...g.input }, output: { ...g.output },
      bytes: this.fileBytes, build: this.runner.rt.build,
      layers: this.runner.layers().map((l) => ({ ...l, ...(dens.get(l.name) ?? {}) })),
      meta: g.meta,
    };
  }

  dispose(): void { this.runner.dispose(); }
}

/** Decodes and validates a .qwm file, loads the kernels (or uses opts.runtime) and packs the model. */
/** Loads a build (as init() does) and, in a browser, starts its Web Workers (docs/THREADS.md). */
export async function loadRuntime(opts: InitOptions = {}): Promise<Runtime> {
  return await startThreads(await loadBuild(opts));
}

export async function loadQwm(bytes: Uint8Array | ArrayBuffer, opts: LoadModelOptions = {}): Promise<QwmModel> {
  const b = toBytes('bytes', bytes);
  const graph = decodeQwm(b);
  const rt = opts.runtime ?? await loadRuntime(opts);
  return new QwmModel(new Int8Runner(rt, graph), b.length);
}

/** Index of the largest logit of sample i (classes per sample). */
export function argmax(logits: Float32Array, classes: number, i = 0): number {
  checkInt('classes', classes, 1);
  let best = 0;
  for (let j = 1; j < classes; j++) if (logits[i * classes + j] > logits[i * classes + best]) best = j;
  return best;
}

export { decodeQwm, encodeQwm, isQwm } from './deploy/qwm.js';
export { centreCropBox, rgbaToRgb } from './deploy/preprocess.js';
export { Int8Runner, quantizeInput } from './deploy/runner.js';
export { validateGraph, QWM_LIMITS } from './deploy/validate.js';
export { Runtime, type InitOptions, type BuildName } from './runtime.js';
export { QwasmError } from './errors.js';
export type { Int8Graph, GraphNode, GraphMeta, QParams } from './deploy/graph.js';
export type { Int8LayerSummary } from './deploy/runner.js';

/** @deprecated the old name of loadQwm, kept for code written against qwasm 0.1 (docs/API.md: Deprecated names). */
export const loadModel = loadQwm;
