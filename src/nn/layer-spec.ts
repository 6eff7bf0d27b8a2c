// A generic, JSON description of a module tree (types, hyper-parameters and child names), and the module tree
// rebuilt from it. Checkpoints of built-in models record {name, options}; a model that no built-in name
// describes — an imported ONNX model, a factorised or channel-pruned one — records its layers instead
// (ModelRecord.layers in src/train/model-file.ts), so loadModel can rebuild it and load its tensors.
// Child names are kept (factorize() splices convs in as '3a', '3b'), so the state-dict keys match.
import type { Engine } from '../autograd/tensor.js';
import { Module } from './module.js';
import {
  AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool, HardSigmoid, HardSwish, Linear, MaxPool2d, ReLU, ReLU6, Residual,
  Sequential, SiLU, Sigmoid, type Conv2dSpec,
} from './layers.js';
import { Graph, type GraphMerge } from './graph.js';
import { Rng } from './random.js';
import { LowRankLinear } from '../compress/lowrank.js';
import { QwasmError, describe } from '../errors.js';

/** One module: its config() fields, plus named children for containers. */
export type LayerSpec =
  | { type: 'Sequential'; layers: { name: string; module: LayerSpec }[] }
  | { type: 'Residual'; body: LayerSpec; shortcut: LayerSpec | null; post: LayerSpec | null }
  | { type: 'Graph'; output: string; nodes: ({ name: string; inputs: string[]; module: LayerSpec } | { name: string; inputs: string[]; merge: GraphMerge })[] }
  | { type: string; [key: string]: unknown };

const LEAVES = ['Linear', 'Conv2d', 'BatchNorm2d', 'ReLU', 'ReLU6', 'MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'Flatten', 'Dropout', 'LowRankLinear',
  'Sigmoid', 'HardSigmoid', 'HardSwish', 'SiLU'];

/** The description of a module tree built from the layers of src/nn/layers.ts (and LowRankLinear). */
export function describeLayers(m: Module): LayerSpec {
  if (!(m instanceof Module)) throw new TypeError(`model must be a Module, got ${describe(m)}`);
  if (m instanceof Sequential) return { type: 'Sequential', layers: m.children().map(([name, k]) => ({ name, module: describeLayers(k) })) };
  if (m instanceof Residual) {
    return { type: 'Residual', body: describeLayers(m.body), shortcut: m.shortcut ? describeLayers(m.shortcut) : null, post: m.post ? describeLayers(m.post) : null };
  }
  if (m instanceof Graph) {
    return {
      type: 'Graph', output: m.output,
      nodes: m.nodes.map((n) => (n.module ? { name: n.name, inputs: [...n.inputs], module: describeLayers(n.module) } : { name: n.name, inputs: [...n.inputs], merge: n.merge! })),
    };
  }
  const cfg = m.config() as { type?: unknown };
  if (typeof cfg.type !== 'string' || !LEAVES.includes(cfg.type)) {
    throw new QwasmError(`cannot describe a module of type '${String(cfg.type)}' for a checkpoint (supported: Sequential, Residual, Graph, ${LEAVES.join(', ')})`);
  }
  return JSON.parse(JSON.stringify(cfg)) as LayerSpec;
}

const num = (spec: Record<string, unknown>, k: string, where: string): number => {
  const v = spec[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new QwasmError(`${where}.${k} must be a number, got ${describe(v)}`);
  return v;
};

/** Rebuilds the module tree a LayerSpec describes (fresh weights: load the state dict after). */
export function buildLayers(engine: Engine, spec: unknown, where = 'layers'): Module {
  if (!spec || typeof spec !== 'object') throw new QwasmError(`${where} must be a layer description object, got ${describe(spec)}`);
  const s = spec as Record<string, unknown>, E = engine, rng = new Rng(1);
  switch (s.type) {
    case 'Sequential': {
      if (!Array.isArray(s.layers)) throw new QwasmError(`${where}.layers must be an array`);
      return new Sequential(E, s.layers.map((l: unknown, i: number) => {
        const e = l as { name?: unknown; module?: unknown };
        if (!e || typeof e.name !== 'string') throw new QwasmError(`${where}.layers[${i}] must be { name, module }`);
        return [e.name, buildLayers(E, e.module, `${where}.${e.name}`)] as [string, Module];
      }));
    }
    case 'Residual':
      return new Residual(E, buildLayers(E, s.body, `${where}.body`), s.shortcut ? buildLayers(E, s.shortcut, `${where}.shortcut`) : null,
        s.post ? buildLayers(E, s.post, `${where}.post`) : null);
    case 'Graph': {
      if (!Array.isArray(s.nodes)) throw new QwasmError(`${where}.nodes must be an array`);
      return new Graph(E, s.nodes.map((n: unknown, i: number) => {
        const e = n as { name?: unknown; inputs?: unknown; module?: unknown; merge?: unknown };
        if (!e || typeof e.name !== 'string' || !Array.isArray(e.inputs)) throw new QwasmError(`${where}.nodes[${i}] must be { name, inputs, module | merge }`);
        return e.module !== undefined
          ? { name: e.name, inputs: e.inputs as string[], module: buildLayers(E, e.module, `${where}.${e.name}`) }
          : { name: e.name, inputs: e.inputs as string[], merge: e.merge as GraphMerge };
      }), typeof s.output === 'string' ? s.output : undefined);
    }
    case 'Linear': return new Linear(E, num(s, 'in', where), num(s, 'out', where), rng, s.bias !== false);
    case 'LowRankLinear': return new LowRankLinear(E, num(s, 'in', where), num(s, 'out', where), num(s, 'rank', where), rng, s.bias !== false);
    case 'Conv2d': {
      const { type: _t, ...rest } = s;
      return new Conv2d(E, rest as unknown as Conv2dSpec, rng);
    }
    case 'BatchNorm2d': return new BatchNorm2d(E, num(s, 'channels', where), num(s, 'momentum', where), num(s, 'eps', where));
    case 'ReLU': return new ReLU(E);
    case 'ReLU6': return new ReLU6(E);
    case 'MaxPool2d': case 'AvgPool2d': {
      const { type: _t, ...opts } = s;
      const o = opts as unknown as ConstructorParameters<typeof MaxPool2d>[1];
      return s.type === 'MaxPool2d' ? new MaxPool2d(E, o) : new AvgPool2d(E, o);
    }
    case 'GlobalAvgPool': return new GlobalAvgPool(E, s.keepDims === true);
    case 'Sigmoid': return new Sigmoid(E);
    case 'HardSigmoid': return new HardSigmoid(E, num(s, 'alpha', where), num(s, 'beta', where));
    case 'HardSwish': return new HardSwish(E);
    case 'SiLU': return new SiLU(E);
    case 'Flatten': return new Flatten(E);
    case 'Dropout': return new Dropout(E, num(s, 'p', where));
    default:
      throw new QwasmError(`${where}: unknown layer type ${describe(s.type)}${typeof s.type === 'string' ? ` ('${s.type}')` : ''}`);
  }
}

/** A copy of a module tree (same architecture, copied weights and running statistics, same train/eval mode). */
export function cloneModule(m: Module): Module {
  const c = buildLayers(m.engine, describeLayers(m), 'clone');
  try {
    c.loadStateDict(m.stateDict());
  } catch (e) { c.dispose(); throw e; }
  for (const [[, src], [, dst]] of m.modules().map((x, i) => [x, c.modules()[i]] as const)) {
    dst.training = src.training;
    if (src instanceof BatchNorm2d && dst instanceof BatchNorm2d) dst.frozen = src.frozen;
  }
  return c;
}
