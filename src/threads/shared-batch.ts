// A batch that the threads of one batch-parallel call work through together (docs/THREADS.md): inputs and
// outputs live in one SharedArrayBuffer (no structured clone of the data per call), and the threads CLAIM runs
// of samples with an atomic counter instead of a fixed half each. A thread that wakes late (a busy machine, the
// futex wake-up of a worker blocked in Atomics.wait) then just takes fewer samples: the call does not wait for
// the slowest thread's fixed share. Claims shrink as the batch runs out ("factoring": a claim takes
// remaining / (2 × threads) samples, between `minChunk` and `maxChunk`), so the last claims are small and the
// thread that finishes first waits at most for a sample or two of the other's, not for a whole fixed chunk.
// Each run of samples is written by the one thread that claimed it; the caller reads the outputs after every
// thread has replied (Atomics orders the writes). Float inputs stay float here: each thread quantises the
// samples it claims (the caller does not quantise the whole batch first). The caller posts the request before it
// copies the input in (fill): the copy overlaps the workers' wake-up, and a worker that wakes first polls the
// header's `ready` word before claiming anything.
import { QwasmError } from '../errors.js';
import { spinWhile, TIMEOUT_MS } from './pool.js';

/**
 * Bytes before the data, int32 words: the next sample to claim, the input state (0 being filled, 1 ready, −1
 * abandoned) and the samples finished; padded to 16 (keeps float inputs aligned).
 */
const HEADER = 16;
const NEXT = 0, READY = 1, DONE = 2;
/** A worker polls this long (ms) for the input before blocking: the caller copies it in while the worker wakes. */
const READY_SPIN_MS = 0.02;

export interface SharedBatchSpec {
  buf: SharedArrayBuffer; n: number;
  /** Values of one sample's input and output (input values are float32 or int8 as `float` says; outputs int8). */
  inValues: number; outBytes: number; float: boolean;
  /** Bounds of one claim (samples) and the divisor of the remaining samples (2 × threads). */
  minChunk: number; maxChunk: number; split: number;
}

export type Chunking = Pick<SharedBatchSpec, 'minChunk' | 'maxChunk' | 'split'>;

export class SharedBatch {
  /** The header words (NEXT, READY, DONE). */
  private readonly head: Int32Array;

  constructor(readonly spec: SharedBatchSpec) {
    const { buf, n, inValues, outBytes, float, minChunk, maxChunk, split } = spec;
    if (!(minChunk >= 1 && maxChunk >= minChunk && split >= 1) || buf.byteLength < SharedBatch.bytes(n, inValues, outBytes, float)) throw new RangeError('internal: bad shared batch');
    this.head = new Int32Array(buf, 0, 3);
  }

  /** Bytes a batch of n samples needs. */
  static bytes(n: number, inValues: number, outBytes: number, float: boolean): number {
    return HEADER + n * (inValues * (float ? 4 : 1) + outBytes);
  }

  /**
   * A batch with no sample claimed yet and its input not filled in: `prev` itself when its shape and chunking are
   * the same (a caller's back-to-back calls: no new views, and the same spec to post), else a batch in prev's
   * buffer if large enough, else in a new buffer. `prev` must not be in use.
   */
  static open(prev: SharedBatch | null, n: number, inValues: number, outBytes: number, float: boolean, chunking: Chunking): SharedBatch {
    const p = prev?.spec;
    let s: SharedBatch;
    if (p && p.n === n && p.inValues === inValues && p.outBytes === outBytes && p.float === float && p.minChunk === chunking.minChunk && p.maxChunk === chunking.maxChunk && p.split === chunking.split) s = prev!;
    else {
      const need = SharedBatch.bytes(n, inValues, outBytes, float);
      const b = p && p.buf.byteLength >= need ? p.buf : new SharedArrayBuffer(need);
      s = new SharedBatch({ buf: b, n, inValues, outBytes, float, ...chunking });
    }
    Atomics.store(s.head, NEXT, 0);
    Atomics.store(s.head, READY, 0);
    Atomics.store(s.head, DONE, 0);
    return s;
  }

  /**
   * Copies the n samples in (float32 or int8 codes, as `float` says) and lets the claimants start. If the copy
   * fails the batch is marked abandoned, so threads already waiting for it return instead of hanging.
   */
  fill(input: Float32Array | Int8Array): void {
    let state = -1;
    try {
      (this.input(0, this.spec.n) as Float32Array).set(input as Float32Array);   // same element type (float says which)
      state = 1;
    } finally {
      Atomics.store(this.head, READY, state);
      Atomics.notify(this.head, READY);
    }
  }

  /** Samples [start, start + count) of the input (float32 or int8 codes). */
  input(start: number, count: number): Float32Array | Int8Array {
    const { buf, inValues, float } = this.spec;
    return float ? new Float32Array(buf, HEADER + 4 * start * inValues, count * inValues) : new Int8Array(buf, HEADER + start * inValues, count * inValues);
  }

  output(start: number, count: number): Int8Array {
    const { buf, n, inValues, outBytes, float } = this.spec;
    return new Int8Array(buf, HEADER + n * inValues * (float ? 4 : 1) + start * outBytes, count * outBytes);
  }

  /**
   * After this thread's drain: polls until every claimed sample is finished, for at most `ms` (the other threads
   * are in their last claims, a sample or two away: polling sees the end sooner than a futex wake-up would).
   * Returns whether they all are.
   */
  awaitOthers(ms: number): boolean {
    return !spinWhile(this.head, DONE, (v) => v < this.spec.n, ms);
  }

  /**
   * Claims runs of samples until none is left, running `run(start, count)` on each; returns the samples this
   * thread did (none if the batch was abandoned). Waits for fill() first.
   */
  drain(run: (start: number, count: number) => void): number {
    const { n, minChunk, maxChunk, split } = this.spec;
    if (spinWhile(this.head, READY, (v) => v === 0, READY_SPIN_MS)) {
      const t0 = Date.now();
      while (Atomics.wait(this.head, READY, 0, 1000) === 'timed-out') {
        if (Date.now() - t0 > TIMEOUT_MS) throw new QwasmError(`the input of a parallel batch did not arrive within ${TIMEOUT_MS / 1000} s`);
      }
    }
    if (Atomics.load(this.head, READY) < 0) return 0;
    let done = 0;
    for (;;) {
      let start = Atomics.load(this.head, NEXT), count: number;
      for (;;) {   // compare-and-swap: the claim's size depends on what is left when it is made
        if (start >= n) return done;
        count = Math.min(n - start, Math.max(minChunk, Math.min(maxChunk, Math.ceil((n - start) / split))));
        const seen = Atomics.compareExchange(this.head, NEXT, start, start + count);
        if (seen === start) break;
        start = seen;
      }
      run(start, count);
      done += count;
      Atomics.add(this.head, DONE, count);
    }
  }
}

/**
 * Claim bounds for n samples on `threads` threads: claims of at most n / (perThread × threads) samples (a thread
 * preempted in the middle of one holds up at most that much), shrinking to `minSamples` (below it, per-call
 * overhead outweighs balance) as the batch runs out.
 */
export function chunking(n: number, threads: number, minSamples: number, perThread: number): Chunking {
  const even = Math.ceil(n / threads);
  const minChunk = Math.max(1, Math.min(even, minSamples));
  return { minChunk, maxChunk: Math.max(minChunk, Math.min(even, Math.ceil(n / (perThread * threads)))), split: 2 * threads };
}
