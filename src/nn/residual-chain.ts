// Chain-with-residual-joins structuring shared by the importers (src/onnx/import.ts, src/tfjs/import.ts): from a
// value, follow its single reader; where a value feeds two readers, follow both branches to the join (an Add)
// where they meet, and make a Residual (the longer branch its body, the other its shortcut, or none when one
// branch is the value itself). What int8 deploy, QAT and pruning understand. Anything else (three readers,
// branches that never meet) is NotAChain, and the importer builds a Graph instead (src/nn/graph-assembler.ts).
// `N` is the importer's source node, `V` its description of a value (with the value's name).
import type { Engine } from '../autograd/tensor.js';
import type { Module } from './module.js';
import { Residual, Sequential } from './layers.js';

/** A run of modules from a value up to `end`, and the join node that stopped it (null: the model's end). */
export interface Chain<N, V> { modules: Module[]; end: V; join: N | null }

/** What the walk needs to know of the source graph; the importer implements it. */
export interface ChainSource<N, V extends { name: string }> {
  /** The readers of v not converted yet. */
  pending(v: V): N[];
  /** v ends the model (its output, or a cut): the walk stops there (may throw when it is read anyway). */
  atEnd(v: V, readers: N[]): boolean;
  /** The error for a value nothing reads that is not the end. */
  deadEnd(v: V): Error;
  /** A join of two computed values (a residual Add). */
  isJoin(n: N): boolean;
  /** Converts n reading v, appends its modules to `modules` and returns its output. */
  step(n: N, v: V, modules: Module[], inBranch: boolean): V;
  /**
   * The join `add` of two branches from `from` (body: the longer): checks them, marks the join done and returns
   * the value after it, with a fused post activation (ReLU / ReLU6) when one follows.
   */
  join(add: N, from: V, body: Chain<N, V>, shortcut: Chain<N, V>): { out: V; post: Module | null };
  /** Called with each Residual made, its join and the value after it. */
  onResidual?(res: Residual, add: N, out: V): void;
  /** "node 'x' (Conv)" / "layer 'x'": a node in messages. */
  label(n: N): string;
  /** The importer's NotAChain error (it then builds a Graph). */
  notAChain(message: string): Error;
  /** Appends modules to a chain (default: push; ONNX merges back-to-back ReLU / ReLU6). */
  append?(chain: Module[], add: Module[]): void;
}

export class ResidualChains<N, V extends { name: string }> {
  constructor(private readonly engine: Engine, private readonly src: ChainSource<N, V>) {}

  /** Follows the chain from v to the model's end or to a join with a sibling branch. */
  walk(v: V, inBranch = false): Chain<N, V> {
    const src = this.src, E = this.engine;
    const modules: Module[] = [];
    for (;;) {
      const readers = src.pending(v);
      if (src.atEnd(v, readers)) return { modules, end: v, join: null };
      if (readers.length === 0) throw src.deadEnd(v);
      if (readers.length === 1) {
        const n = readers[0];
        if (src.isJoin(n)) return { modules, end: v, join: n };
        v = src.step(n, v, modules, inBranch);
        continue;
      }
      if (readers.length > 2) throw src.notAChain(`'${v.name}' feeds ${readers.length} nodes (${readers.map((n) => src.label(n)).join(', ')})`);
      const [a, b] = readers.map((n): Chain<N, V> => (src.isJoin(n) ? { modules: [], end: v, join: n } : this.branch(n, v)));
      if (!a.join || a.join !== b.join) throw src.notAChain(`the branches from '${v.name}' (${readers.map((n) => src.label(n)).join(', ')}) do not meet at one join`);
      const [body, short] = a.modules.length >= b.modules.length ? [a, b] : [b, a];
      const { out, post } = src.join(a.join, v, body, short);
      const res = new Residual(E, new Sequential(E, body.modules), short.modules.length ? new Sequential(E, short.modules) : null, post);
      src.onResidual?.(res, a.join, out);
      modules.push(res);
      v = out;
    }
  }

  /** One branch from v, starting with its reader `first`, up to its join. */
  private branch(first: N, v: V): Chain<N, V> {
    const modules: Module[] = [];
    const x = this.src.step(first, v, modules, true);
    const rest = this.walk(x, true);
    if (this.src.append) this.src.append(modules, rest.modules); else modules.push(...rest.modules);
    if (!rest.join) throw this.src.notAChain(`the branch starting at ${this.src.label(first)} reaches the end without joining its sibling branch`);
    return { modules, end: rest.end, join: rest.join };
  }
}
