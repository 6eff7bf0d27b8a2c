// A batch that the threads of one batch-parallel call work through together (docs/THREADS.md): inputs and
// outputs live in one SharedArrayBuffer (no structured clone of the data per call), and the batch is cut into
// small chunks that the threads CLAIM with an atomic counter instead of a fixed half each. A thread that wakes
// late (a busy machine, the futex wake-up of a worker blocked in Atomics.wait) then just takes fewer chunks:
// the call does not wait for the slowest thread's fixed share. Each chunk is written by the one thread that
// claimed it; the caller reads the outputs after every thread has replied (Atomics orders the writes).

/** Bytes before the data: the next-chunk counter (int32), padded to 8. */
const HEADER = 8;

export interface SharedBatchSpec { buf: SharedArrayBuffer; n: number; inBytes: number; outBytes: number; chunk: number }

export class SharedBatch {
  private readonly next: Int32Array;

  /** `inBytes` / `outBytes`: bytes of one sample's input / output; `chunk`: samples per claim. */
  constructor(readonly spec: SharedBatchSpec) {
    const { buf, n, inBytes, outBytes, chunk } = spec;
    if (!(chunk >= 1) || buf.byteLength < SharedBatch.bytes(n, inBytes, outBytes)) throw new RangeError('internal: shared batch too small');
    this.next = new Int32Array(buf, 0, 1);
  }

  /** Bytes a batch of n samples needs. */
  static bytes(n: number, inBytes: number, outBytes: number): number { return HEADER + n * (inBytes + outBytes); }

  /** A batch in `buf` (reused if large enough, else a new buffer), counter reset to chunk 0. */
  static open(buf: SharedArrayBuffer | null, n: number, inBytes: number, outBytes: number, chunk: number): SharedBatch {
    const need = SharedBatch.bytes(n, inBytes, outBytes);
    const b = buf && buf.byteLength >= need ? buf : new SharedArrayBuffer(need);
    const s = new SharedBatch({ buf: b, n, inBytes, outBytes, chunk });
    Atomics.store(s.next, 0, 0);
    return s;
  }

  input(start: number, count: number): Int8Array {
    return new Int8Array(this.spec.buf, HEADER + start * this.spec.inBytes, count * this.spec.inBytes);
  }

  output(start: number, count: number): Int8Array {
    const { buf, n, inBytes, outBytes } = this.spec;
    return new Int8Array(buf, HEADER + n * inBytes + start * outBytes, count * outBytes);
  }

  /** Claims chunks until none is left, running `run(start, count)` on each; returns the samples this thread did. */
  drain(run: (start: number, count: number) => void): number {
    const { n, chunk } = this.spec;
    let done = 0;
    for (;;) {
      const start = Atomics.add(this.next, 0, 1) * chunk;
      if (start >= n) return done;
      const count = Math.min(chunk, n - start);
      run(start, count);
      done += count;
    }
  }
}

/**
 * Samples per chunk for n samples on `threads` threads: about `perThread` chunks per thread (a late or slow thread
 * costs at most a chunk), but never fewer than `minSamples` per chunk (below it, per-call overhead outweighs balance).
 */
export function chunkSize(n: number, threads: number, minSamples: number, perThread: number): number {
  const even = Math.ceil(n / threads);
  return Math.max(1, Math.min(even, Math.max(Math.ceil(n / (perThread * threads)), minSamples)));
}
