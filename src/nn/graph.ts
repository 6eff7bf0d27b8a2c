// Graph: a module whose layers form a DAG rather than a chain — what an imported network with squeeze-excite
// gates (MobileNetV3, EfficientNet) or channel concatenations (SqueezeNet, Inception) needs. Each node is
// named and reads earlier nodes (or the graph input, named 'input'); it is either a module applied to its one
// input, or a merge of two or more inputs:
//   add     elementwise sum (same shapes)
//   mul     elementwise product of same shapes, or a feature map [n, h, w, c] times a per-sample channel gate
//           [n, 1, 1, c] / [n, c] (squeeze-excite: ONNX's broadcast Mul of [N,C,1,1] by [N,C,H,W])
//   concat  concatenation along the channel (last) axis
// Chains stay Sequential (a node's module is usually one): pruning and the checkpoint layer records understand
// those best; a Graph is trainable, checkpointable and quantisable (QAT / PTQ compile it into one unit of steps,
// src/quant/qat-kinds.ts; convertToInt8 lowers it to a DAG node, src/deploy/graph.ts), except its 'mul' merges.
// Modules are children named by their node, so state-dict keys are '<node>.<param>'.
import type { Engine, Tensor } from '../autograd/tensor.js';
import { add } from '../autograd/ops.js';
import { concat, mul, mulChannels } from '../autograd/ops-graph.js';
import { Module } from './module.js';
import { registerLayer, type LayerSpec } from './registry.js';
import { QwasmError, describe } from '../errors.js';

export const GRAPH_MERGES = ['add', 'mul', 'concat'] as const;
export type GraphMerge = typeof GRAPH_MERGES[number];

/** A node as given to the constructor: exactly one of module / merge. */
export interface GraphNodeSpec { name: string; inputs: string[]; module?: Module; merge?: GraphMerge }

export interface GraphNode { readonly name: string; readonly inputs: readonly string[]; readonly module: Module | null; readonly merge: GraphMerge | null }

/** The name by which nodes read the graph's input. */
export const GRAPH_INPUT = 'input';

export class Graph extends Module {
  readonly nodes: readonly GraphNode[];
  /** The node whose value forward() returns (default: the last). */
  readonly output: string;

  constructor(engine: Engine, nodes: GraphNodeSpec[], output?: string) {
    super(engine);
    if (!Array.isArray(nodes) || nodes.length === 0) throw new QwasmError(`a Graph needs at least one node, got ${describe(nodes)}`);
    const seen = new Set<string>([GRAPH_INPUT]);
    this.nodes = nodes.map((n, i) => {
      const where = `graph node ${i}${n && typeof n.name === 'string' ? ` '${n.name}'` : ''}`;
      if (!n || typeof n.name !== 'string' || !n.name || n.name.includes('.')) throw new QwasmError(`${where}: name must be a non-empty string without '.', got ${describe(n?.name)}`);
      if (seen.has(n.name)) throw new QwasmError(`${where}: the name is used twice (or is the reserved '${GRAPH_INPUT}')`);
      if (!Array.isArray(n.inputs) || n.inputs.length === 0) throw new QwasmError(`${where}: inputs must be a non-empty array of node names`);
      for (const inp of n.inputs) if (!seen.has(inp)) throw new QwasmError(`${where}: input '${inp}' is not '${GRAPH_INPUT}' or an earlier node`);
      if (!!n.module === !!n.merge) throw new QwasmError(`${where}: give exactly one of module or merge`);
      if (n.module) {
        if (!(n.module instanceof Module)) throw new QwasmError(`${where}: module must be a Module, got ${describe(n.module)}`);
        if (n.inputs.length !== 1) throw new QwasmError(`${where}: a module node reads one input, got ${n.inputs.length}`);
        this.child(n.name, n.module);
      } else {
        if (!GRAPH_MERGES.includes(n.merge!)) throw new QwasmError(`${where}: merge must be one of ${GRAPH_MERGES.join(', ')}, got ${describe(n.merge)}`);
        if (n.inputs.length < 2 || (n.merge !== 'concat' && n.inputs.length !== 2)) throw new QwasmError(`${where}: '${n.merge}' merges ${n.merge === 'concat' ? 'two or more' : 'two'} inputs, got ${n.inputs.length}`);
      }
      seen.add(n.name);
      return Object.freeze({ name: n.name, inputs: Object.freeze([...n.inputs]), module: n.module ?? null, merge: n.merge ?? null });
    });
    this.output = output ?? this.nodes[this.nodes.length - 1].name;
    if (!this.nodes.some((n) => n.name === this.output)) throw new QwasmError(`graph output '${this.output}' is not a node`);
  }

  forward(x: Tensor): Tensor {
    const vals = new Map<string, Tensor>([[GRAPH_INPUT, x]]);
    for (const n of this.nodes) {
      const ins = n.inputs.map((i) => vals.get(i)!);
      let y: Tensor;
      try {
        y = n.module ? n.module.forward(ins[0]) : merge(n.merge!, ins);
      } catch (e) {
        if (e instanceof QwasmError && !e.message.startsWith('graph node')) e.message = `graph node '${n.name}': ${e.message}`;
        throw e;
      }
      vals.set(n.name, y);
      if (n.name === this.output) return y;
    }
    return vals.get(this.output)!;
  }

  config() {
    return {
      type: 'Graph', output: this.output,
      nodes: this.nodes.map((n) => (n.module ? { name: n.name, inputs: [...n.inputs], module: n.module.config() } : { name: n.name, inputs: [...n.inputs], merge: n.merge })),
    };
  }
}

function merge(kind: GraphMerge, ins: Tensor[]): Tensor {
  switch (kind) {
    case 'add': return add(ins[0], ins[1]);
    case 'concat': return concat(ins);
    case 'mul': {
      const [a, b] = ins;
      if (a.size === b.size) return mul(a, b);
      return a.size > b.size ? mulChannels(a, b) : mulChannels(b, a);
    }
  }
}

registerLayer({
  type: 'Graph', cls: Graph,
  describe: (m, c) => ({
    type: 'Graph', output: m.output,
    nodes: m.nodes.map((n) => (n.module ? { name: n.name, inputs: [...n.inputs], module: c.describe(n.module) } : { name: n.name, inputs: [...n.inputs], merge: n.merge })),
  }) as LayerSpec,
  build: (s, c) => {
    if (!Array.isArray(s.nodes)) throw new QwasmError(`${c.where}.nodes must be an array`);
    return new Graph(c.engine, s.nodes.map((n: unknown, i: number) => {
      const e = n as { name?: unknown; inputs?: unknown; module?: unknown; merge?: unknown };
      if (!e || typeof e.name !== 'string' || !Array.isArray(e.inputs)) throw new QwasmError(`${c.where}.nodes[${i}] must be { name, inputs, module | merge }`);
      return e.module !== undefined
        ? { name: e.name, inputs: e.inputs as string[], module: c.build(e.module, `${c.where}.${e.name}`) }
        : { name: e.name, inputs: e.inputs as string[], merge: e.merge as GraphMerge };
    }), typeof s.output === 'string' ? s.output : undefined);
  },
});
