// The one helper every differentiable op ends with: attach y to the graph (op name, parents that need a
// gradient, the backward closure) — or leave it a constant when no parent needs a gradient or grad is off.
import type { Tensor } from './tensor.js';

export function record(y: Tensor, op: string, parents: (Tensor | null | undefined)[], backward: () => void): Tensor {
  const ps = parents.filter((p): p is Tensor => !!p && p.requiresGrad);
  if (!y.engine.gradEnabled || ps.length === 0) return y;
  y.requiresGrad = true;
  y.op = op;
  y.parents = ps;
  y.backwardFn = backward;
  return y;
}
