// Seeded pseudo-random numbers (reproducible across runs and platforms; not for cryptography). One class
// of derived draws — float, uniform, normal, an unbiased int(n), Fisher–Yates shuffle — over two 32-bit
// streams that existing seeds depend on:
//   Rng      splitmix-style: shuffles, splits, augmentation (src/data, src/pipeline, transfer heads' order);
//   InitRng  xorshift32: weight initialisation and dropout / distillation seeds (src/nn and above).
// Both streams are kept bit for bit: replacing either would change every seeded result (initial weights or
// batch order) and so the default pipeline's accuracies and .qwm bytes. InitRng.int() used to be
// `u32() % n` (modulo-biased); it now rejects like Rng.int — no existing stream called it.

/** Mixes up to four 32-bit integers into one well-spread 32-bit hash. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul((a >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (b >>> 0), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ (c >>> 0), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ (d >>> 0), 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

/** The draws every generator shares; subclasses supply the 32-bit stream. */
export abstract class RandomSource {
  /** Next uniformly distributed 32-bit unsigned integer. */
  abstract u32(): number;
  /** Uniform in [0, 1). */
  float(): number { return this.u32() / 4294967296; }
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.float(); }
  /** Standard normal (Box-Muller). */
  normal(): number { const u = 1 - this.float(), v = this.float(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); }
  /** Uniform integer in [0, n) (n ≤ 2^32), without modulo bias (rejection). */
  int(n: number): number {
    if (n <= 1) return 0;
    const limit = 4294967296 - (4294967296 % n);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return x % n;
  }
  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }
}

/** The splitmix-style stream (data order, splits, augmentation). */
export class Rng extends RandomSource {
  private s = 0;
  constructor(seed: number) { super(); this.reseed(seed); }
  /** Restarts the sequence from `seed` (no allocation). */
  reseed(seed: number): this { this.s = hash32(seed >>> 0, Math.floor(seed / 4294967296)); return this; }
  u32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** The xorshift32 stream (weight initialisation): same seed → same weights → same training run. */
export class InitRng extends RandomSource {
  private s: number;
  constructor(seed = 1) { super(); this.s = (seed >>> 0) || 0x9e3779b9; }
  u32(): number { let s = this.s; s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; this.s = s; return s; }
  /** A new generator seeded from this one. */
  fork(): InitRng { return new InitRng(this.u32()); }
}
