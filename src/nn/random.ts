// Seeded PRNG for initialisation and shuffling: same seed → same weights → same training run.
export class Rng {
  private s: number;
  constructor(seed = 1) { this.s = (seed >>> 0) || 0x9e3779b9; }
  /** uint32, xorshift32 */
  u32(): number { let s = this.s; s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; this.s = s; return s; }
  /** [0, 1) */
  float(): number { return this.u32() / 4294967296; }
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.float(); }
  /** standard normal (Box-Muller) */
  normal(): number { const u = 1 - this.float(), v = this.float(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); }
  int(n: number): number { return this.u32() % n; }
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void {
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(i + 1); const t = a[i]; a[i] = a[j]; a[j] = t; }
  }
  fork(): Rng { return new Rng(this.u32()); }
}
