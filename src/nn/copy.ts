// Model copies: a deep copy of a module tree (fresh tensors, same values, same structure and child names),
// optionally replacing some modules on the way — what factorize() (src/compress/lowrank.ts) and channel
// pruning (src/compress/prune.ts) build their new models with. Leaves are cloned through the layer registry
// (src/nn/registry.ts: describe + build + load state).
import { Module } from './module.js';
import { Residual, Sequential } from './layers.js';
import { cloneModule } from './registry.js';
import { describe } from '../errors.js';

/** A replacement for the module at `name` (an array is spliced into the parent Sequential), or null to copy it. */
export type Replacer = (m: Module, name: string) => Module | Module[] | null;

const join = (prefix: string, n: string) => (prefix ? `${prefix}.${n}` : n);

/** A deep copy of a model: fresh parameter / buffer tensors with the same values, same structure and names. */
export function copyModel<M extends Module>(model: M): M {
  if (!model || typeof (model as Module).modules !== 'function') throw new TypeError(`model must be a Module, got ${describe(model)}`);
  return rebuild(model, '') as M;
}

/**
 * A deep copy of a module tree with optional replacements: Sequential and Residual are walked (a replacement
 * array becomes `${name}a`, `${name}b`, … in a Sequential, a Sequential of its own in a Residual); every other
 * module is cloned (cloneModule).
 */
export function rebuild(m: Module, name: string, replace?: Replacer): Module {
  const E = m.engine;
  if (m instanceof Sequential) {
    const items: [string, Module][] = [];
    for (const [n, k] of m.children()) {
      const full = join(name, n);
      const r = replace?.(k, full) ?? null;
      if (Array.isArray(r)) r.forEach((x, i) => items.push([`${n}${String.fromCharCode(97 + i)}`, x]));
      else items.push([n, r ?? rebuild(k, full, replace)]);
    }
    const s = new Sequential(E, items);
    s.train(m.training);
    return s;
  }
  if (m instanceof Residual) {
    const sub = (k: Module | null, n: string): Module | null => {
      if (!k) return null;
      const full = join(name, n);
      const r = replace?.(k, full) ?? null;
      if (Array.isArray(r)) return new Sequential(E, r);
      return r ?? rebuild(k, full, replace);
    };
    const res = new Residual(E, sub(m.body, 'body')!, sub(m.shortcut, 'shortcut'), sub(m.post, 'post'));
    res.train(m.training);
    return res;
  }
  return cloneModule(m);
}
