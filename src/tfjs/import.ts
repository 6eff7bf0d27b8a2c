// TF.js layers model (Keras Functional / Sequential) → a trainable qwasm Sequential (+ Residual for the Add
// joins of residual blocks). What each Keras layer class becomes (weights converted to qwasm's layouts) is its
// entry in src/tfjs/keras-kinds.ts (the Keras aspect of the layer registry); this file reads the topology,
// walks the graph and structures it. ZeroPadding2D is folded into the padding of the conv that reads it (Keras
// MobileNetV2 pads (0, 1) then runs a 'valid' stride-2 conv: qwasm's conv takes the asymmetric [top, left,
// bottom, right] directly, so the result is exact), and 'same' padding is TF's (the odd pixel at the bottom / right).
// Supported layers: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU (max_value none or 6),
// Activation (linear, relu, relu6, the registry's pointwise.keras names, softmax at the output), Add (residual joins of a two-way fork), ZeroPadding2D,
// MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Dense (linear / relu / softmax), Dropout, Flatten,
// Reshape to [features], Concatenate (channels) and Add of any two equal-shaped values. A softmax at the output is
// dropped: qwasm models output logits. Anything else is an error naming the layer.
// A chain with residual joins (MobileNetV2) becomes a Sequential with Residual blocks — what int8 deploy, QAT and
// pruning understand; any other DAG (InceptionV3's Concatenate blocks) becomes a Graph (src/nn/graph.ts) inside
// the Sequential: each run of single-input layers is one node named after its first Keras layer, each
// Concatenate / Add one merge node named after the Keras layer.
import type { Engine } from '../autograd/tensor.js';
import { Module } from '../nn/module.js';
import { GlobalAvgPool, Linear, Residual, Sequential } from '../nn/layers.js';
import type { GraphMerge } from '../nn/graph.js';
import { GraphAssembler, assembledGraph, type AssembledNode } from '../nn/graph-assembler.js';
import { ResidualChains, type Chain, type ChainSource } from '../nn/residual-chain.js';
import { InitRng } from '../util/rng.js';
import { describe } from '../errors.js';
import type { Normalization } from '../data/dataset.js';
import { TfjsImportError, decodeWeights, readModelFolder, readNsfwjs, type DecodedWeight, type TfjsArtifacts } from './artifacts.js';
import { NotAChain, fail, show, type Converted, type KLayer, type KerasContext, type Val } from './keras-util.js';
import { kerasActivationOf, kerasImporters } from './keras-kinds.js';

/** Input normalisations of well-known sources, in qwasm's (x/255 − mean) / std form. */
export const NORMALIZATIONS: Record<string, Normalization> = {
  /** Keras applications' 'tf' mode (MobileNet, MobileNetV2, InceptionV3): x/127.5 − 1, i.e. [-1, 1]. */
  keras: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  /** torchvision / Keras 'torch' mode. */
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  /** x/255 ([0, 1]): what nsfwjs feeds its models. */
  unit: { mean: [0, 0, 0], std: [1, 1, 1] },
};

export interface TfjsImportOptions {
  /** Keep the model up to this layer's output (a Keras layer name) and add a new head (GlobalAvgPool + Linear). */
  cut?: string;
  /** Outputs of the new head (required with cut); without cut, replaces the last Dense when it differs. */
  classes?: number;
  /** Input height = width (default: the model's own); convolutions run at any size. */
  inputSize?: number;
  /** Normalisation preset (keras, imagenet, unit) or values; default: the source's (nsfwjs: unit, else keras). */
  norm?: string | Normalization;
  /** Seed of the new head's initial weights. */
  seed?: number;
}

export interface TfjsImportedModel {
  model: Sequential;
  /** NHWC [h, w, c] of one sample. */
  inputShape: [number, number, number];
  classes: number;
  /** The input normalisation the model expects. */
  norm: Normalization;
  normName: string | null;
  source: string;
  /** Keras layer name → qwasm module name (dotted, as in model.modules()), for the layers that made a module. */
  layerNames: Record<string, string>;
  /** Keras layers saved with trainable = false (nsfwjs: the ImageNet-frozen backbone up to block_10). */
  frozen: string[];
  /** Activation dropped from the output (qwasm outputs logits), or null. */
  droppedActivation: string | null;
  /** The layer the model was cut after, or null. */
  cut: string | null;
  kerasVersion: string | null;
}

/** Keras layer classes this importer reads: InputLayer and the per-class table (src/tfjs/keras-kinds.ts). */
const supportedClasses = (): string[] => ['InputLayer', ...kerasImporters.keys()];
/** Keras merge layers → Graph merge kinds. */
const MERGES: Record<string, GraphMerge> = { Add: 'add', Concatenate: 'concat' };

/** Layers of a Functional / Sequential config, each with the names of the layers it reads. */
function kerasLayers(topo: Record<string, unknown>, source: string): { layers: KLayer[]; inputs: string[]; outputs: string[]; kerasVersion: string | null } {
  const mc = (topo.model_config ?? topo) as { class_name?: unknown; config?: unknown };
  const cls = String(mc.class_name);
  const kerasVersion = typeof topo.keras_version === 'string' ? topo.keras_version : null;
  const raw = Array.isArray(mc.config) ? mc.config : (mc.config as { layers?: unknown })?.layers;
  if (!Array.isArray(raw)) throw new TfjsImportError(`${source}: modelTopology has no layer list (model class ${cls})`);
  const layers: KLayer[] = raw.map((r: { class_name?: unknown; name?: unknown; config?: Record<string, unknown>; inbound_nodes?: unknown }, i: number) => {
    const name = String(r.name ?? r.config?.name ?? `layer_${i}`);
    const l: KLayer = { name, cls: String(r.class_name), config: r.config ?? {}, inputs: [] };
    if (['Model', 'Functional', 'Sequential'].includes(l.cls)) fail(l, 'nested models are not supported');
    const nodes = r.inbound_nodes;
    if (Array.isArray(nodes)) {
      if (nodes.length > 1) fail(l, `is applied ${nodes.length} times (shared layers are not supported)`);
      const n = nodes[0] as unknown;
      // Keras 2: [[name, nodeIndex, tensorIndex, kwargs], …]; Keras 3: { args: [{ config: { keras_history } }] }
      if (Array.isArray(n)) l.inputs = n.map((e: unknown) => String((e as unknown[])[0]));
      else if (n && typeof n === 'object') {
        const hist: string[] = [];
        const visit = (v: unknown) => {
          if (!v || typeof v !== 'object') return;
          const kh = (v as { config?: { keras_history?: unknown } }).config?.keras_history;
          if (Array.isArray(kh)) { hist.push(String(kh[0])); return; }
          for (const x of Object.values(v as Record<string, unknown>)) visit(x);
        };
        visit((n as { args?: unknown }).args);
        l.inputs = hist;
      }
    }
    return l;
  });
  if (cls === 'Sequential') {
    // a chain: an InputLayer first (or batch_input_shape on the first layer)
    const first = layers[0];
    const shape = first?.config.batch_input_shape ?? first?.config.batch_shape;
    const chain: KLayer[] = first?.cls === 'InputLayer' ? [] : [{ name: '__input__', cls: 'InputLayer', config: { batch_input_shape: shape }, inputs: [] }];
    chain.push(...layers);
    for (let i = 1; i < chain.length; i++) chain[i].inputs = [chain[i - 1].name];
    return { layers: chain, inputs: [chain[0].name], outputs: [chain[chain.length - 1].name], kerasVersion };
  }
  const cfg = mc.config as { input_layers?: unknown; output_layers?: unknown };
  const names = (v: unknown): string[] => (Array.isArray(v) ? v.map((e) => String(Array.isArray(e) ? e[0] : e)) : []);
  return { layers, inputs: names(cfg.input_layers), outputs: names(cfg.output_layers), kerasVersion };
}

class Importer implements KerasContext, ChainSource<KLayer, Val> {
  readonly byName = new Map<string, KLayer>();
  readonly consumers = new Map<string, KLayer[]>();
  readonly done = new Set<string>();
  readonly made: Module[] = [];
  readonly kerasOf = new Map<Module, string>();
  readonly rng: InitRng;
  droppedActivation: string | null = null;
  stopped = false;

  constructor(readonly E: Engine, layers: KLayer[], readonly weights: Map<string, DecodedWeight>, readonly output: string,
    readonly cut: string | null, seed: number) {
    this.rng = new InitRng(seed);
    for (const l of layers) {
      // an unsupported layer anywhere is reported as itself, not as the graph shape it causes
      if (!supportedClasses().includes(l.cls)) fail(l, `layer class '${l.cls}' is not supported (supported: ${supportedClasses().join(', ')})`);
      if (this.byName.has(l.name)) fail(l, 'the name is used twice');
      this.byName.set(l.name, l);
    }
    for (const l of layers) for (const i of l.inputs) {
      if (!this.byName.has(i)) fail(l, `reads '${i}', which is not a layer of the model`);
      let c = this.consumers.get(i);
      if (!c) this.consumers.set(i, (c = []));
      c.push(l);
    }
  }

  weight(l: KLayer, what: string, shape?: number[]): Float32Array {
    let w = this.weights.get(`${l.name}/${what}`);
    if (!w) {
      // converters may prefix the model name (model_1/Conv1/kernel) or suffix ':0'
      for (const [k, v] of this.weights) if (k.endsWith(`/${l.name}/${what}`) || k === `${l.name}/${what}:0`) { w = v; break; }
    }
    if (!w) fail(l, `its weight '${l.name}/${what}' is not in the weights manifest`);
    if (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))) fail(l, `weight ${what} has shape [${w.shape}], expected [${shape}]`);
    return w.data;
  }

  isJoin(l: KLayer): boolean { return l.cls === 'Add' && l.inputs.length === 2; }

  keep<M extends Module>(l: KLayer, m: M): M { this.made.push(m); this.kerasOf.set(m, l.name); return m; }

  // ---- ChainSource (src/nn/residual-chain.ts): the Keras graph as a chain with residual joins

  pending(v: Val): KLayer[] { return (this.consumers.get(v.name) ?? []).filter((l) => !this.done.has(l.name)); }

  /** The output, or the cut once it has been passed. */
  atEnd(v: Val): boolean { return this.stopped || v.name === this.output; }

  deadEnd(v: Val): Error { return new TfjsImportError(`layer '${v.name}' feeds nothing and is not the model output '${this.output}'`); }

  join(add: KLayer, _from: Val, body: Chain<KLayer, Val>, short: Chain<KLayer, Val>): { out: Val; post: Module | null } {
    if (!sameVal(body.end, short.end)) fail(add, `adds values of different shapes (${show(body.end)} and ${show(short.end)})`);
    this.done.add(add.name);
    const out: Val = { ...body.end, name: add.name };
    // a ReLU / ReLU6 right after the join becomes the residual's post activation (what int8 fuses)
    const next = this.consumers.get(add.name);
    if (add.name === this.cut || add.name === this.output || next?.length !== 1 || this.isJoin(next[0])) return { out, post: null };
    const act = kerasActivationOf(this, next[0]);
    if (!act) return { out, post: null };
    this.done.add(next[0].name);
    return { out: { ...out, name: next[0].name }, post: this.keep(next[0], act) };
  }

  onResidual(res: Residual, add: KLayer, out: Val): void {
    this.kerasOf.set(res, add.name);
    if (out.name === this.cut) this.stopped = true;
  }

  label(l: KLayer): string { return `layer '${l.name}'`; }
  notAChain(message: string): Error { return new NotAChain(message); }

  step(l: KLayer, v: Val, modules: Module[], inBranch: boolean): Val {
    if (l.inputs.length !== 1) throw new NotAChain(`layer '${l.name}' (${l.cls}) has ${l.inputs.length} inputs`);
    this.done.add(l.name);
    const r = this.convert(l, v);
    for (const m of r.modules) this.keep(l, m);
    modules.push(...r.modules);
    if (l.name === this.cut) {
      if (inBranch) fail(l, 'lies inside a residual block: cut at the block\'s Add (block_N_add) or before the block');
      this.stopped = true;
    }
    return r.out;
  }

  /** One single-input layer reading x: checks every class shares, then its entry in src/tfjs/keras-kinds.ts. */
  convert(l: KLayer, x: Val): Converted {
    const c = l.config;
    if (x.kind === 'map' && x.pad && !['Conv2D', 'DepthwiseConv2D'].includes(l.cls)) fail(l, 'reads a ZeroPadding2D output: padding is supported only right before a convolution (folded into it)');
    if (c.data_format !== undefined && c.data_format !== 'channels_last') fail(l, `data_format '${String(c.data_format)}' is not supported (channels_last only)`);
    const convert = kerasImporters.get(l.cls);
    if (!convert) fail(l, `layer class '${l.cls}' is not supported (supported: ${supportedClasses().join(', ')})`);
    return convert(this, l, x);
  }
}

/**
 * The Keras layers (topologically ordered, as Keras saves them) as Graph nodes (src/nn/graph-assembler.ts), up to
 * the cut or the output: runs of single-input layers become one module node each, Concatenate / Add merge nodes.
 * With a cut, nodes the cut does not read are dropped; without one, a layer that does not feed the output is an error.
 */
function buildGraph(imp: Importer, input: Val, layers: KLayer[]): { specs: AssembledNode[]; end: Val; output: string } {
  const stop = imp.cut ?? imp.output;
  const g = new GraphAssembler<Val>(input.name, input, { single: (v) => (imp.consumers.get(v)?.length ?? 0) === 1 && v !== stop, names: 'hint' });
  for (const l of layers) {
    if (g.has(stop)) break;
    if (imp.done.has(l.name)) continue;
    const missing = l.inputs.find((i) => !g.has(i));
    if (l.inputs.length === 0 || missing) fail(l, l.inputs.length ? `reads '${missing}', which no earlier layer computes (the layer list is not in topological order)` : 'reads no layer (a second input is not supported)');
    imp.done.add(l.name);
    if (l.inputs.length >= 2) {
      const kind = MERGES[l.cls];
      if (!kind) fail(l, `has ${l.inputs.length} inputs; only ${Object.keys(MERGES).join(' and ')} merge values`);
      g.merge(l.name, l.inputs, kind, mergedVal(l, kind, l.inputs.map((i) => g.val(i)!)), l.name);
      continue;
    }
    const r = imp.convert(l, g.val(l.inputs[0])!);
    for (const m of r.modules) imp.keep(l, m);
    g.chain(l.name, l.inputs[0], r.modules, r.out, l.name);
  }
  const endNode = g.nodeOf(stop);
  if (endNode === undefined) throw new TfjsImportError(`layer '${stop}' is not computed from the input`);
  if (endNode === null) throw new TfjsImportError(`layer '${stop}' is the input itself`);
  // every node must feed the output (a dead branch would be computed for nothing); a cut drops what it does not read
  const { live, dead } = g.liveness(endNode);
  if (dead.length && !imp.cut) throw new TfjsImportError(`graph node '${dead[0].name}' does not lie on the path from the input to the output '${stop}'`);
  for (const sp of dead) for (const m of sp.modules ?? []) { m.dispose(); imp.made.splice(imp.made.indexOf(m), 1); }
  return { specs: live, end: g.val(stop)!, output: endNode };
}

/** The value a Concatenate / Add of computed values yields, or an error naming the layer. */
function mergedVal(l: KLayer, kind: GraphMerge, vs: Val[]): Val {
  if (vs.some((v) => v.kind === 'map' && v.pad)) fail(l, 'reads a ZeroPadding2D output: padding is supported only right before a convolution');
  if (kind === 'concat') {
    const axis = l.config.axis ?? -1;
    if (vs.every((v) => v.kind === 'map')) {
      if (axis !== -1 && axis !== 3) fail(l, `only the channel axis (-1) of NHWC maps is supported, got axis ${String(axis)}`);
      const ms = vs as Extract<Val, { kind: 'map' }>[];
      if (ms.some((v) => v.h !== ms[0].h || v.w !== ms[0].w)) fail(l, `inputs ${ms.map(show).join(', ')} differ in height or width`);
      return { name: l.name, kind: 'map', h: ms[0].h, w: ms[0].w, c: ms.reduce((a, v) => a + v.c, 0), pad: null };
    }
    if (vs.every((v) => v.kind === 'flat')) {
      if (axis !== -1 && axis !== 1) fail(l, `only axis -1 of [batch, features] values is supported, got axis ${String(axis)}`);
      return { name: l.name, kind: 'flat', k: vs.reduce((a, v) => a + (v as { k: number }).k, 0) };
    }
    fail(l, `concatenating ${vs.map(show).join(', ')} is not supported`);
  }
  if (vs.length !== 2 || !sameVal(vs[0], vs[1])) fail(l, `adds ${vs.map(show).join(', ')}: only two values of one shape are supported`);
  return { ...vs[0], name: l.name };
}

function sameVal(a: Val, b: Val): boolean {
  if (a.kind === 'map' && b.kind === 'map') return a.h === b.h && a.w === b.w && a.c === b.c && !a.pad && !b.pad;
  return a.kind === 'flat' && b.kind === 'flat' && a.k === b.k;
}

/** Reads `source`: 'nsfwjs:NAME', a model.json or its folder, or artefacts already in memory. */
export function readTfjsSource(source: string | TfjsArtifacts): TfjsArtifacts {
  if (typeof source !== 'string') {
    if (!source || typeof source !== 'object' || !source.modelTopology || !(source.weightData instanceof Uint8Array)) throw new TypeError(`source must be 'nsfwjs:NAME', a model.json path or TfjsArtifacts, got ${describe(source)}`);
    return source;
  }
  if (source.startsWith('nsfwjs:')) return readNsfwjs(source.slice(7));
  return readModelFolder(source);
}

/** The option checks of importTfjs (errors name the option). */
function checkImportOptions(opts: TfjsImportOptions): void {
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  if (opts.classes !== undefined && (!Number.isInteger(opts.classes) || opts.classes < 1)) throw new RangeError(`classes must be a positive integer, got ${describe(opts.classes)}`);
  if (opts.inputSize !== undefined && (!Number.isInteger(opts.inputSize) || opts.inputSize < 8 || opts.inputSize > 4096)) throw new RangeError(`inputSize must be an integer in [8, 4096], got ${describe(opts.inputSize)}`);
  if (opts.cut !== undefined && (typeof opts.cut !== 'string' || !opts.cut)) throw new TypeError(`cut must be a layer name, got ${describe(opts.cut)}`);
  if (opts.cut && opts.classes === undefined) throw new RangeError('cut needs classes (the outputs of the new head)');
}

/** The input normalisation: opts.norm (a preset name or values), else the source's (nsfwjs: unit, else keras). */
function normalizationOf(opts: TfjsImportOptions, source: string): { norm: Normalization; normName: string | null } {
  if (opts.norm !== undefined && typeof opts.norm !== 'string') return { norm: opts.norm, normName: null };
  const normName = opts.norm ?? (source.startsWith('nsfwjs:') ? 'unit' : 'keras');
  if (!NORMALIZATIONS[normName]) throw new RangeError(`unknown normalisation '${normName}' (${Object.keys(NORMALIZATIONS).join(', ')})`);
  return { norm: NORMALIZATIONS[normName], normName };
}

/** The input layer and the NHWC input size (inputSize overrides the model's own height and width). */
function inputOf(layers: KLayer[], name: string, inputSize: number | undefined, source: string): { inLayer: KLayer; h: number; w: number; ch: number } {
  const inLayer = layers.find((l) => l.name === name);
  if (!inLayer) throw new TfjsImportError(`${source}: input layer '${name}' is not in the layer list`);
  const shape = (inLayer.config.batch_input_shape ?? inLayer.config.batch_shape) as unknown[] | undefined;
  if (!Array.isArray(shape) || shape.length !== 4) throw new TfjsImportError(`${source}: input '${inLayer.name}' has shape ${JSON.stringify(shape)}; [batch, h, w, c] images are supported`);
  const [, nh, nw, ch] = shape as (number | null)[];
  if (typeof ch !== 'number') throw new TfjsImportError(`${source}: input '${inLayer.name}' has no fixed channel count`);
  const h = inputSize ?? nh, w = inputSize ?? nw;
  if (typeof h !== 'number' || typeof w !== 'number') throw new TfjsImportError(`${source}: the input size is not fixed in the model: pass inputSize`);
  return { inLayer, h, w, ch };
}

/**
 * Imports a TF.js layers model as a trainable qwasm Sequential (see the file header); with `cut`, keeps it up to
 * that layer and adds GlobalAvgPool + Linear(classes). The model is in training mode.
 */
export function importTfjs(engine: Engine, source: string | TfjsArtifacts, opts: TfjsImportOptions = {}): TfjsImportedModel {
  if (!engine || typeof engine !== 'object' || typeof (engine as Engine).persistent !== 'function') throw new TypeError(`engine must be an Engine, got ${describe(engine)}`);
  checkImportOptions(opts);
  const art = readTfjsSource(source);
  const { norm, normName } = normalizationOf(opts, art.source);

  const { layers, inputs, outputs, kerasVersion } = kerasLayers(art.modelTopology, art.source);
  if (inputs.length !== 1 || outputs.length !== 1) throw new TfjsImportError(`${art.source}: the model has ${inputs.length} inputs and ${outputs.length} outputs; one of each is supported`);
  const { inLayer, h, w, ch } = inputOf(layers, inputs[0], opts.inputSize, art.source);
  if (opts.cut && !layers.some((l) => l.name === opts.cut)) {
    throw new TfjsImportError(`${art.source}: no layer named '${opts.cut}' to cut at (layers: ${layers.filter((l) => /(_relu|_add|_BN|_project)$|^mixed\d+$/.test(l.name)).slice(-12).map((l) => l.name).join(', ')}, …)`);
  }
  const weights = decodeWeights(art.weightSpecs, art.weightData, art.source);
  const start: Val = { name: inLayer.name, kind: 'map', h, w, c: ch, pad: null };
  // a chain with residual joins → Sequential; any other DAG (NotAChain) → a Graph inside the Sequential
  let imp = new Importer(engine, layers, weights, outputs[0], opts.cut ?? null, opts.seed ?? 1);
  let built: { modules: Module[]; end: Val; specs: AssembledNode[] | null; output: string };
  try {
    imp.done.add(inLayer.name);
    const r = new ResidualChains(engine, imp).walk(start);
    if (r.join) throw new NotAChain(`Add layer '${r.join.name}' joins '${r.end.name}' with a value that does not branch from it`);
    built = { modules: r.modules, end: r.end, specs: null, output: '' };
  } catch (e) {
    for (const m of imp.made) m.dispose();
    if (!(e instanceof NotAChain)) throw e;
    imp = new Importer(engine, layers, weights, outputs[0], opts.cut ?? null, opts.seed ?? 1);
    try {
      imp.done.add(inLayer.name);
      const g = buildGraph(imp, start, layers);
      built = { modules: [], end: g.end, specs: g.specs, output: g.output };
    } catch (e2) {
      for (const m of imp.made) m.dispose();
      throw e2;
    }
  }
  try {
    const modules = built.modules;
    let end = built.end, classes: number;
    if (opts.cut) {
      if (built.specs) modules.push(assembledGraph(engine, built.specs, built.output));
      // the new head: features → GlobalAvgPool → Linear(classes)
      const k = end.kind === 'map' ? end.c : end.k;
      if (end.kind === 'map' && (end.h > 1 || end.w > 1 || modules.length === 0)) modules.push(new GlobalAvgPool(engine));
      const head = new Linear(engine, k, opts.classes!, new InitRng(opts.seed ?? 1));
      imp.made.push(head);
      modules.push(head);
      classes = opts.classes!;
    } else {
      if (end.kind === 'map') throw new TfjsImportError(`${art.source}: the model output '${end.name}' is ${show(end)}; models ending in [batch, features] are supported (or pass cut and classes)`);
      classes = end.k;
      if (opts.classes !== undefined && opts.classes !== classes) {
        // a new last Dense with the requested outputs (in a Graph: in the node computing the output)
        const where = built.specs ? built.specs.find((sp) => sp.name === built.output)!.modules ?? [] : modules;
        const li = where.map((m, i) => [m, i] as [Module, number]).reverse().find(([m]) => m instanceof Linear);
        if (!li) throw new TfjsImportError(`${art.source}: no Dense layer to replace for classes = ${opts.classes}`);
        const old = li[0] as Linear;
        const head = new Linear(engine, old.inFeatures, opts.classes, new InitRng(opts.seed ?? 1));
        imp.made.push(head);
        imp.kerasOf.set(head, imp.kerasOf.get(old)!);
        where[li[1]] = head;
        old.dispose();
        classes = opts.classes;
      }
      if (built.specs) modules.push(assembledGraph(engine, built.specs, built.output));
    }
    const model = new Sequential(engine, modules);
    const layerNames: Record<string, string> = {};
    for (const [n, m] of model.modules()) {
      const k = imp.kerasOf.get(m);
      if (k && n) layerNames[k] ??= n;
    }
    return {
      model, inputShape: [h, w, ch], classes, norm: { mean: [...norm.mean], std: [...norm.std] }, normName, source: art.source, layerNames,
      frozen: layers.filter((l) => l.config.trainable === false && l.cls !== 'InputLayer').map((l) => l.name),
      droppedActivation: imp.droppedActivation, cut: opts.cut ?? null, kerasVersion,
    };
  } catch (e) {
    for (const m of imp.made) m.dispose();
    throw e;
  }
}

