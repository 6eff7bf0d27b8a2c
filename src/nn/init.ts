// Parameter initialisers (PyTorch's defaults, seeded): Kaiming-uniform weights with a = √5, i.e.
// U(−1/√fanIn, 1/√fanIn), and biases U(−1/√fanIn, 1/√fanIn).
import type { InitRng } from '../util/rng.js';

export function uniform(rng: InitRng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

export const defaultWeight = (rng: InitRng, n: number, fanIn: number): Float32Array => uniform(rng, n, 1 / Math.sqrt(fanIn));
export const defaultBias = defaultWeight;

/** He-normal (fan-in, ReLU gain) for conv nets trained from scratch with BN. */
export function kaimingNormal(rng: InitRng, n: number, fanIn: number): Float32Array {
  const out = new Float32Array(n), std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}
