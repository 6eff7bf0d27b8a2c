// Gradient checks for the autograd tests: loss = mse(f(inputs), target); d loss / d input (analytic) against
// central differences (float64 sums of f32 evaluations) on a sample of coordinates.
import * as assert from 'uvu/assert';
import { rng } from './helpers.js';
import { Engine, ops } from '../dist/index.js';

/** gradScale: the expected analytic/numeric ratio per input or for all (−λ for gradient reversal, 1 for true gradients). */
export function gradCheck(q, name, makeInputs, f, { eps = 1e-2, tol = 2e-2, samples = 12, seed = 1, gradScale = 1 } = {}) {
  const e = new Engine(q.rt);
  const r = rng(seed);
  const inputs = makeInputs(e, r);
  const probe = e.noGrad(() => f(...inputs));
  const target = e.persistent(probe.shape, Float32Array.from({ length: probe.size }, () => r.float() * 2 - 1));
  e.endStep();
  const lossAt = () => e.noGrad(() => { const v = ops.mse(f(...inputs), target).item(); e.endStep(); return v; });
  const L = ops.mse(f(...inputs), target);
  L.backward();
  const grads = inputs.map((t) => (t.requiresGrad ? t.grad.toArray() : null));
  e.endStep();
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    for (let s = 0; s < samples; s++) {
      const i = r.int(0, t.size - 1);
      const d = t.data(); const old = d[i];
      d[i] = old + eps; const lp = lossAt();
      t.data()[i] = old - eps; const lm = lossAt();
      t.data()[i] = old;
      const num = (Array.isArray(gradScale) ? gradScale[ti] : gradScale) * (lp - lm) / (2 * eps), ana = grads[ti][i];
      const err = Math.abs(num - ana) / Math.max(1e-3, Math.abs(num) + Math.abs(ana));
      assert.ok(err < tol, `${q.build} ${name}: input ${ti}[${i}] analytic ${ana} vs numeric ${num}`);
    }
  });
  for (const t of inputs) t.dispose();
  target.dispose();
  assert.is(e.live, 0);
}

/** A trainable tensor of uniform values in ±scale; awayFromZero pushes them to |v| ≥ 0.2·scale (kinks at 0). */
export const param = (e, r, shape, scale = 1, awayFromZero = false) => e.persistent(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) },
  () => { let v = (r.float() * 2 - 1) * scale; if (awayFromZero) v = Math.sign(v || 1) * (0.2 * scale + Math.abs(v)); return v; }), true);
