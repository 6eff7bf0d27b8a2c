// Packed weights for the typed-array conveniences (q.gemmS8, q.gemmS8Requant, q.conv2dS8), kept between calls
// so a loop calling them with the same weights does not repack every time (at M = 1 packing costs ~100× the
// GEMM). Safe by content, not by identity: an entry is keyed by the weights array object, and every hit first
// compares the array with a snapshot taken when it was packed (memcmp in Node, 32-bit words elsewhere); any
// difference — a mutation in place — repacks. Options (zero point, bias, scales, geometry) are part of the key
// as a fingerprint string. Entries are evicted least recently used past a byte budget (packed + snapshot) or
// an entry cap, and their WASM memory freed. Weights in a SharedArrayBuffer written by another thread
// *during* a call are outside this guarantee (as they are for any kernel call).
import type { Runtime } from '../runtime.js';

export interface Disposable { dispose(): void }

interface Entry { snapshot: Int8Array; fingerprint: string; handle: Disposable; bytes: number }

const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, off: number, len: number): Uint8Array; compare(a: Uint8Array, b: Uint8Array): number } }).Buffer;

/** Byte-for-byte equality of two int8 arrays of the same length. */
export function sameBytes(a: Int8Array, b: Int8Array): boolean {
  if (a.length !== b.length) return false;
  if (NodeBuffer) return NodeBuffer.compare(NodeBuffer.from(a.buffer, a.byteOffset, a.length), NodeBuffer.from(b.buffer, b.byteOffset, b.length)) === 0;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const w = a.length >> 2, a4 = new Int32Array(a.buffer, a.byteOffset, w), b4 = new Int32Array(b.buffer, b.byteOffset, w);
    for (; i < w; i++) if (a4[i] !== b4[i]) return false;
    i = w << 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Options → a string that differs whenever any option (typed arrays included, by value) differs. */
export function fingerprint(v: unknown): string {
  return JSON.stringify(v, (_, x) => (ArrayBuffer.isView(x) ? [x.constructor.name, ...(x as unknown as ArrayLike<number>) as unknown as number[]] : x)) ?? 'undefined';
}

export class PackCache {
  private readonly entries = new Map<Int8Array, Entry>();
  private total = 0;

  constructor(readonly budgetBytes = 64 << 20, readonly maxEntries = 32) {}

  /** The handle packed from `weights` with these options, reusing a cached one only if the bytes are unchanged. */
  get<T extends Disposable>(weights: Int8Array, options: unknown, make: () => T, packedBytes: (h: T) => number): T {
    const fp = fingerprint(options), hit = this.entries.get(weights);
    if (hit) {
      this.remove(weights, hit);
      if (hit.fingerprint === fp && sameBytes(hit.snapshot, weights)) {
        this.entries.set(weights, hit); // most recently used last
        this.total += hit.bytes;
        return hit.handle as T;
      }
      hit.handle.dispose();
    }
    const handle = make();
    const bytes = packedBytes(handle) + weights.length;
    if (bytes > this.budgetBytes) return this.oneShot(handle);
    this.entries.set(weights, { snapshot: weights.slice(), fingerprint: fp, handle, bytes });
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.total <= this.budgetBytes && this.entries.size <= this.maxEntries) break;
      if (k === weights) continue;
      this.remove(k, e);
      e.handle.dispose();
    }
    return handle;
  }

  /** Frees every cached handle. */
  clear(): void {
    for (const e of this.entries.values()) e.handle.dispose();
    this.entries.clear();
    this.total = 0;
  }

  get size(): number { return this.entries.size; }
  get bytes(): number { return this.total; }

  private oneShot<T extends Disposable>(h: T): T {
    // too large to keep: the caller's `finally` does not dispose cached handles, so mark this one to go
    this.pendingDispose.push(h);
    return h;
  }

  /** Handles too large for the cache, freed by release() after the call that used them. */
  private pendingDispose: Disposable[] = [];
  release(): void { for (const h of this.pendingDispose.splice(0)) h.dispose(); }

  private remove(k: Int8Array, e: Entry): void {
    this.entries.delete(k);
    this.total -= e.bytes;
  }
}

const caches = new WeakMap<Runtime, PackCache>();
/** The runtime's cache of packed weights. */
export function packCache(rt: Runtime): PackCache {
  let c = caches.get(rt);
  if (!c) caches.set(rt, (c = new PackCache()));
  return c;
}

/** Runs fn with the cached handle for these weights; a handle too large for the cache is freed afterwards. */
export function withPacked<T extends Disposable, R>(rt: Runtime, weights: Int8Array, options: unknown, make: () => T, packedBytes: (h: T) => number, fn: (h: T) => R): R {
  const c = packCache(rt);
  try {
    return fn(c.get(weights, options, make, packedBytes));
  } finally {
    c.release();
  }
}
