// DAG → Graph structuring shared by the importers (src/onnx/import.ts, src/tfjs/import.ts): they visit the
// source graph's nodes in topological order and report what each computes; this assembles the Graph nodes.
// Runs of single-input layers become one module node (a Sequential when longer than one module) as long as each
// intermediate value has exactly one reader; a merge of two or more values (add / mul / concat) is a merge node.
// Values an op passes through unchanged (Identity, a no-op Reshape) alias their input's node. `V` is the
// importer's own description of a value (its shape as the source format sees it).
import type { Engine } from '../autograd/tensor.js';
import type { Module } from './module.js';
import { Sequential } from './layers.js';
import { Graph, GRAPH_INPUT, type GraphMerge, type GraphNodeSpec } from './graph.js';

/** A Graph node being built: a module chain or a merge. */
export interface AssembledNode { name: string; inputs: string[]; modules?: Module[]; merge?: GraphMerge }

/** Where a source value lives: the node computing it (null: the graph input); `open` = a chain may grow from it. */
interface Entry<V> { node: AssembledNode | null; val: V; open: boolean }

export interface AssemblerOptions {
  /** Whether a source value has exactly one reader (only then can the chain computing it grow). */
  single(value: string): boolean;
  /** Node names: 'index' ('0', '1', …) or 'hint' (the source node's name, made unique with '_'). */
  names: 'index' | 'hint';
  /** Appends modules to a growing chain (default: push; ONNX merges back-to-back ReLU / ReLU6). */
  append?(chain: Module[], add: Module[]): void;
}

export class GraphAssembler<V> {
  readonly nodes: AssembledNode[] = [];
  private readonly vals = new Map<string, Entry<V>>();

  constructor(input: string, val: V, private readonly opts: AssemblerOptions) {
    this.vals.set(input, { node: null, val, open: false });
  }

  /** Whether a source value has been computed. */
  has(value: string): boolean { return this.vals.has(value); }

  /** The description of a computed value (undefined when not computed). */
  val(value: string): V | undefined { return this.vals.get(value)?.val; }

  /** The Graph node computing a value: its name, or null for the graph input itself (undefined: not computed). */
  nodeOf(value: string): string | null | undefined {
    const e = this.vals.get(value);
    return e === undefined ? undefined : e.node ? e.node.name : null;
  }

  private name(hint: string): string {
    if (this.opts.names === 'index') return String(this.nodes.length);
    let s = hint === GRAPH_INPUT ? `${hint}_` : hint;
    while (this.nodes.some((p) => p.name === s)) s += '_';
    return s;
  }

  private nodeName(e: Entry<V>): string { return e.node ? e.node.name : GRAPH_INPUT; }

  /** `out` = merge of the (computed) `inputs`, described by `val`. */
  merge(out: string, inputs: string[], kind: GraphMerge, val: V, hint: string): void {
    const node: AssembledNode = { name: this.name(hint), inputs: inputs.map((i) => this.nodeName(this.vals.get(i)!)), merge: kind };
    this.nodes.push(node);
    this.vals.set(out, { node, val, open: false });
  }

  /** `out` = `modules` applied to the (computed) value `from`; no modules: `out` aliases `from`. */
  chain(out: string, from: string, modules: Module[], val: V, hint: string): void {
    const src = this.vals.get(from)!;
    if (modules.length === 0) { this.vals.set(out, { node: src.node, val, open: src.open && this.opts.single(out) }); return; }
    let node = src.node;
    if (node && src.open && node.modules) {
      if (this.opts.append) this.opts.append(node.modules, modules); else node.modules.push(...modules);
    } else {
      node = { name: this.name(hint), inputs: [this.nodeName(src)], modules: [...modules] };
      this.nodes.push(node);
    }
    this.vals.set(out, { node, val, open: this.opts.single(out) });
  }

  /** The nodes the node named `output` reads, directly or not (and itself), and the rest (dead: computed for nothing). */
  liveness(output: string): { live: AssembledNode[]; dead: AssembledNode[] } {
    const live = new Set<string>([output]);
    for (let i = this.nodes.length - 1; i >= 0; i--) if (live.has(this.nodes[i].name)) for (const inp of this.nodes[i].inputs) live.add(inp);
    return { live: this.nodes.filter((n) => live.has(n.name)), dead: this.nodes.filter((n) => !live.has(n.name)) };
  }
}

/** The Graph node specs of assembled nodes (a chain of one module is that module, longer ones a Sequential). */
export function graphNodeSpecs(engine: Engine, nodes: AssembledNode[]): GraphNodeSpec[] {
  return nodes.map((sp) => (sp.merge
    ? { name: sp.name, inputs: sp.inputs, merge: sp.merge }
    : { name: sp.name, inputs: sp.inputs, module: sp.modules!.length === 1 ? sp.modules![0] : new Sequential(engine, sp.modules!) }));
}

/** The Graph of assembled nodes whose value is node `output`'s. */
export function assembledGraph(engine: Engine, nodes: AssembledNode[], output: string): Graph {
  return new Graph(engine, graphNodeSpecs(engine, nodes), output);
}
