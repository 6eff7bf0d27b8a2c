// Shared test helpers: a seeded RNG (tests are reproducible) and the builds this engine can run.
import { init, detect } from '../dist/index.js';

export function rng(seed = 1) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    u32: next,
    int: (lo, hi) => lo + (next() % (hi - lo + 1)),       // inclusive
    float: () => next() / 4294967296,
    i8: (n, lo = -128, hi = 127) => Int8Array.from({ length: n }, () => lo + (next() % (hi - lo + 1))),
    f32: (n, scale = 1) => Float32Array.from({ length: n }, () => (next() / 4294967296 * 2 - 1) * scale),
  };
}

let cache = null;
/** Loaded Qwasm instances for every build this engine runs correctly (scalar, simd; relaxed if it passes its probe). */
export async function builds() {
  if (cache) return cache;
  const s = await detect();
  const names = ['scalar', ...(s.simd ? ['simd'] : []), ...(s.relaxed ? ['relaxed'] : [])];
  cache = await Promise.all(names.map((build) => init({ build })));
  return cache;
}

export function eq(a, b) {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at ${i}: ${a[i]} != ${b[i]}`;
  return null;
}
