// A batch that the threads of one batch-parallel call work through together (docs/THREADS.md): inputs and
// outputs live in one SharedArrayBuffer (no structured clone of the data per call), and the threads CLAIM runs
// of samples with an atomic counter instead of a fixed half each. A thread that wakes late (a busy machine, the
// futex wake-up of a worker blocked in Atomics.wait) then just takes fewer samples: the call does not wait for
// the slowest thread's fixed share. Claims shrink as the batch runs out ("factoring": a claim takes
// remaining / (2 × threads) samples, between `minChunk` and `maxChunk`), so the last claims are small and the
// thread that finishes first waits at most for a sample or two of the other's, not for a whole fixed chunk.
// Each run of samples is written by the one thread that claimed it; the caller reads the outputs after every
// thread has replied (Atomics orders the writes). Float inputs stay float here: each thread quantises the
// samples it claims (the caller does not quantise the whole batch first).

/** Bytes before the data: the next-sample counter (int32), padded to 8 (keeps float inputs aligned). */
const HEADER = 8;

export interface SharedBatchSpec {
  buf: SharedArrayBuffer; n: number;
  /** Values of one sample's input and output (input values are float32 or int8 as `float` says; outputs int8). */
  inValues: number; outBytes: number; float: boolean;
  /** Bounds of one claim (samples) and the divisor of the remaining samples (2 × threads). */
  minChunk: number; maxChunk: number; split: number;
}

export type Chunking = Pick<SharedBatchSpec, 'minChunk' | 'maxChunk' | 'split'>;

export class SharedBatch {
  private readonly next: Int32Array;

  constructor(readonly spec: SharedBatchSpec) {
    const { buf, n, inValues, outBytes, float, minChunk, maxChunk, split } = spec;
    if (!(minChunk >= 1 && maxChunk >= minChunk && split >= 1) || buf.byteLength < SharedBatch.bytes(n, inValues, outBytes, float)) throw new RangeError('internal: bad shared batch');
    this.next = new Int32Array(buf, 0, 1);
  }

  /** Bytes a batch of n samples needs. */
  static bytes(n: number, inValues: number, outBytes: number, float: boolean): number {
    return HEADER + n * (inValues * (float ? 4 : 1) + outBytes);
  }

  /** A batch in `buf` (reused if large enough, else a new buffer), no sample claimed yet. */
  static open(buf: SharedArrayBuffer | null, n: number, inValues: number, outBytes: number, float: boolean, chunking: Chunking): SharedBatch {
    const need = SharedBatch.bytes(n, inValues, outBytes, float);
    const b = buf && buf.byteLength >= need ? buf : new SharedArrayBuffer(need);
    const s = new SharedBatch({ buf: b, n, inValues, outBytes, float, ...chunking });
    Atomics.store(s.next, 0, 0);
    return s;
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

  /** Claims runs of samples until none is left, running `run(start, count)` on each; returns the samples this thread did. */
  drain(run: (start: number, count: number) => void): number {
    const { n, minChunk, maxChunk, split } = this.spec;
    let done = 0;
    for (;;) {
      let start = Atomics.load(this.next, 0), count: number;
      for (;;) {   // compare-and-swap: the claim's size depends on what is left when it is made
        if (start >= n) return done;
        count = Math.min(n - start, Math.max(minChunk, Math.min(maxChunk, Math.ceil((n - start) / split))));
        const seen = Atomics.compareExchange(this.next, 0, start, start + count);
        if (seen === start) break;
        start = seen;
      }
      run(start, count);
      done += count;
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
