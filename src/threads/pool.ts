// The worker pool behind init({ threads }) (design: docs/THREADS.md). Thread 0 is the caller's thread; threads
// 1…T−1 are Node worker_threads, each with its own instance of the same compiled build (no shared linear memory:
// the scalar / SIMD / relaxed builds stay single-threaded and unchanged). The protocol is synchronous so the
// synchronous APIs (Int8Runner.predict, fit) can use it: a request is a message on a MessageChannel plus a bump
// of a request counter in a SharedArrayBuffer (Atomics.notify); the worker, blocked in Atomics.wait, takes the
// message with receiveMessageOnPort, runs the task, posts the reply and bumps the reply counter; the caller
// runs its own share meanwhile and then blocks in Atomics.wait for the reply. Bulk data (gradients, weights)
// goes through SharedArrayBuffers the tasks allocate; messages carry small things (and one-off payloads).
// In a browser the threads are Web Workers (src/threads/transport-browser.ts: the same protocol with the reply in
// a SharedArrayBuffer mailbox, since there is no receiveMessageOnPort; it also starts them, in init()).
import type { Runtime } from '../runtime.js';
import { QwasmError } from '../errors.js';

type NodeWorkers = typeof import('node:worker_threads');
type MessagePortLike = InstanceType<NodeWorkers['MessageChannel']>['port1'];

/** ctrl words: request counter, reply counter, state (0 starting, 1 ready, −1 failed). */
const REQ = 0, REP = 1, STATE = 2;
/** A worker silent this long (a task in a hung state, or a thread that died) fails the call instead of hanging. */
export const TIMEOUT_MS = 10 * 60_000;

export interface TaskReply {
  error?: string;
  /** Units of work the task did (samples, chunks): summed per worker in ThreadPool.work. */
  work?: number;
  [k: string]: unknown;
}

/** One pool thread as the pool sees it, whatever carries the messages (Node worker_threads, Web Workers). */
export interface PoolWorker {
  readonly index: number;
  /** Sends a request (at most one in flight). */
  post(msg: unknown): void;
  /** Blocks until the reply of the request in flight (polling for `spinMs` first, where supported); throws the task's error. */
  wait(spinMs?: number): TaskReply;
  /** The same without blocking (Atomics.waitAsync: a browser main thread may not block). */
  waitAsync?(): Promise<TaskReply>;
  terminate(): void;
}

/**
 * Polls ctrl[i] for up to `ms` while busy(ctrl[i]); returns whether it is still busy. A wait expected to end
 * within microseconds (the other thread's reply once its work is done) ends sooner this way than through
 * Atomics.wait: a thread blocked in the futex takes 10–30 µs to run again once notified (bench/fork-join.js).
 */
export function spinWhile(ctrl: Int32Array, i: number, busy: (v: number) => boolean, ms: number): boolean {
  if (!busy(Atomics.load(ctrl, i))) return false;
  if (ms <= 0) return true;
  const until = performance.now() + ms;
  while (busy(Atomics.load(ctrl, i))) if (performance.now() > until) return true;
  return false;
}

/**
 * Blocks (Atomics.wait, 1 s slices) while busy(ctrl[i]), after polling for `spinMs` (spinWhile); throws after
 * TIMEOUT_MS naming thread `index` and `what` it failed to do (a task in a hung state or a dead thread fails the
 * call instead of hanging it).
 */
export function waitWhile(ctrl: Int32Array, i: number, busy: (v: number) => boolean, index: number, what: string, spinMs = 0): void {
  if (!spinWhile(ctrl, i, busy, spinMs)) return;
  const t0 = Date.now();
  for (let v = Atomics.load(ctrl, i); busy(v); v = Atomics.load(ctrl, i)) {
    Atomics.wait(ctrl, i, v, 1000);
    if (Date.now() - t0 > TIMEOUT_MS) throw new QwasmError(`thread ${index} did not ${what} within ${TIMEOUT_MS / 1000} s`);
  }
}

/** waitWhile without blocking (Atomics.waitAsync): for a thread that may not block, or must keep its event loop. */
export async function waitWhileAsync(ctrl: Int32Array, i: number, busy: (v: number) => boolean, index: number, what: string): Promise<void> {
  const t0 = Date.now();
  type WaitAsync = (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: unknown };
  for (let v = Atomics.load(ctrl, i); busy(v); v = Atomics.load(ctrl, i)) {
    const w = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(ctrl, i, v, 1000);
    if (w.async) await w.value;
    if (Date.now() - t0 > TIMEOUT_MS) throw new QwasmError(`thread ${index} did not ${what} within ${TIMEOUT_MS / 1000} s`);
  }
}

class WorkerHandle implements PoolWorker {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  readonly port: MessagePortLike;
  private readonly worker: InstanceType<NodeWorkers['Worker']>;
  private seq = 0;
  private pending = false;

  constructor(readonly index: number, private readonly w: NodeWorkers, module: WebAssembly.Module, build: string) {
    const { port1, port2 } = new w.MessageChannel();
    this.port = port1;
    this.worker = new w.Worker(new URL('./worker.js', import.meta.url), {
      workerData: { port: port2, ctrl: this.ctrl, module, build, index, idleSpinMs: ThreadPool.idleSpinMs },
      transferList: [port2 as unknown as import('node:worker_threads').TransferListItem],
    });
    this.worker.unref();
    this.port.unref?.();
    this.worker.on('error', () => { /* reported through ctrl / the reply; keep the process alive */ });
  }

  /** Blocks until the worker has instantiated its build (or failed to). */
  waitReady(): void {
    waitWhile(this.ctrl, STATE, (v) => v === 0, this.index, 'start');
    if (Atomics.load(this.ctrl, STATE) < 0) {
      const m = this.w.receiveMessageOnPort(this.port)?.message as TaskReply | undefined;
      throw new QwasmError(`thread ${this.index} failed to start: ${m?.error ?? 'unknown error'}`);
    }
  }

  post(msg: unknown): void {
    if (this.pending) throw new QwasmError(`internal: thread ${this.index} already has a request in flight`);
    this.port.postMessage(msg);
    this.pending = true;
    Atomics.store(this.ctrl, REQ, ++this.seq);
    Atomics.notify(this.ctrl, REQ);
  }

  wait(spinMs = 0): TaskReply {
    if (!this.pending) throw new QwasmError(`internal: thread ${this.index} has no request in flight`);
    waitWhile(this.ctrl, REP, (v) => v !== this.seq, this.index, 'answer', spinMs);
    return this.take();
  }

  /** wait() keeping this thread's event loop running (a background pool in Node: tests of fitAsync's main-thread path). */
  async waitAsync(): Promise<TaskReply> {
    if (!this.pending) throw new QwasmError(`internal: thread ${this.index} has no request in flight`);
    this.worker.ref();   // an Atomics.waitAsync does not keep Node's event loop alive; the awaited worker does
    try {
      await waitWhileAsync(this.ctrl, REP, (v) => v !== this.seq, this.index, 'answer');
    } finally {
      this.worker.unref();
    }
    return this.take();
  }

  private take(): TaskReply {
    this.pending = false;
    const m = this.w.receiveMessageOnPort(this.port)?.message as TaskReply | undefined;
    if (!m) throw new QwasmError(`internal: thread ${this.index} answered without a message`);
    if (m.error !== undefined) throw new QwasmError(`thread ${this.index}: ${m.error}`);
    return m;
  }

  terminate(): void { void this.worker.terminate(); }
}

const SHARED = new Map<string, ThreadPool>();

export class ThreadPool {
  /**
   * A Node pool thread polls this long (ms) for the next request after replying before blocking: back-to-back
   * calls (a predict loop) then find it awake. Short, since on a busy machine a polling thread holds a core the
   * caller may need. Read when the pool starts; 0 blocks at once.
   */
  static idleSpinMs = 0.05;
  /** Worker threads (the caller's thread is thread 0 and not counted here). */
  readonly workers: PoolWorker[];
  /** Per worker: the work (TaskReply.work: samples, chunks) its replies reported, e.g. to check a batch was shared. */
  readonly work: number[];
  private nextId = 1;
  /** Per worker, the last queued asynchronous request (runAsync keeps one request in flight per worker). */
  private readonly queue: Promise<unknown>[];

  /** A pool of started workers (Node: ThreadPool.of starts them; Web Workers: src/threads/transport-browser.ts). */
  constructor(workers: PoolWorker[]) {
    this.workers = workers;
    this.work = workers.map(() => 0);
    this.queue = workers.map(() => Promise.resolve());
  }

  /** Node: starts threads 1…T−1 as worker_threads and blocks until each has instantiated its build. */
  private static startNode(w: NodeWorkers, threads: number, module: WebAssembly.Module, build: string): ThreadPool {
    const handles: WorkerHandle[] = [];
    try {
      for (let i = 1; i < threads; i++) handles.push(new WorkerHandle(i, w, module, build));
      for (const h of handles) h.waitReady();
    } catch (e) {
      for (const h of handles) h.terminate();
      throw e;
    }
    return new ThreadPool(handles);
  }

  /**
   * The runtime's pool (Node: started on first use), or null when the runtime runs one thread. Runtimes of the
   * same shipped build and thread count share one pool (tasks key their state by a pool-wide id), so a process
   * that calls init() many times does not start workers for each.
   */
  static of(rt: Runtime): ThreadPool | null {
    const t = rt.threading;
    if (!t || t.threads < 2 || !t.blocking) return null;
    if (!rt.pool) {
      if (t.workers === 'web') throw new QwasmError('this runtime\'s Web Workers were not started: load it with init() or loadQwm(), which start them (startThreads)');
      const shared = t.shareKey ? SHARED.get(t.shareKey) : undefined;
      rt.pool = shared ?? ThreadPool.startNode(t.workers, t.threads, t.module, t.build);
      if (t.shareKey && !shared) SHARED.set(t.shareKey, rt.pool as ThreadPool);
    }
    return rt.pool as ThreadPool;
  }

  /** Total threads, the caller's included. */
  get threads(): number { return this.workers.length + 1; }

  /** A fresh id for a task's per-worker state (replicas). */
  newId(): number { return this.nextId++; }

  post(worker: number, msg: unknown): void { this.workers[worker].post(msg); }
  wait(worker: number, spinMs = 0): TaskReply {
    const r = this.workers[worker].wait(spinMs);
    if (typeof r.work === 'number') this.work[worker] += r.work;
    return r;
  }

  /**
   * Sends msgs[i] to worker i (i < msgs.length), runs `own` on the caller's thread meanwhile, and returns the
   * replies in worker order. Every reply is collected before an error (a worker's or own's) is thrown, so the
   * protocol stays in step. `replySpinMs(own's result)`: how long to poll for each reply before blocking — for a
   * task that knows its workers are about to answer (their work is done, the reply is on its way: ~20–50 µs).
   */
  run<T>(msgs: unknown[], own: () => T, replySpinMs: (own: T | undefined) => number = () => 0): { own: T; replies: TaskReply[] } {
    for (let i = 0; i < msgs.length; i++) this.post(i, msgs[i]);
    let result: T | undefined, err: unknown = null;
    try { result = own(); } catch (e) { err = e; }
    const replies: TaskReply[] = [], spin = err ? 0 : replySpinMs(result);
    for (let i = 0; i < msgs.length; i++) {
      try { replies.push(this.wait(i, spin)); } catch (e) { err ??= e; }
    }
    if (err) throw err;
    return { own: result as T, replies };
  }

  /**
   * Sends msgs[i] to worker i without blocking and resolves with the replies in worker order (rejects with the
   * first error once every reply is in). Requests queue per worker, so concurrent calls interleave safely.
   */
  async runAsync(msgs: unknown[]): Promise<TaskReply[]> {
    const replies = msgs.map((m, i) => {
      const h = this.workers[i];
      if (!h.waitAsync) throw new QwasmError(`internal: thread ${h.index} cannot be awaited`);
      const r = this.queue[i].then(() => { h.post(m); return h.waitAsync!(); })
        .then((rep) => { if (typeof rep.work === 'number') this.work[i] += rep.work; return rep; });
      this.queue[i] = r.catch(() => undefined);
      return r;
    });
    const settled = await Promise.allSettled(replies);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<TaskReply>).value);
  }

  /** Sends the same message to every worker and waits for all (setup / teardown of per-worker state). */
  broadcast(msg: unknown): TaskReply[] {
    return this.run(this.workers.map(() => msg), () => undefined).replies;
  }

  close(): void {
    for (const h of this.workers) h.terminate();
    this.workers.length = 0;
    this.work.length = 0;
  }
}

/** Splits n items into `parts` contiguous shards (sizes differ by at most one, larger first); empty shards dropped. */
export function shards(n: number, parts: number): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  const base = Math.floor(n / parts), extra = n % parts;
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const count = base + (i < extra ? 1 : 0);
    if (count > 0) out.push({ start, count });
    start += count;
  }
  return out;
}

/**
 * Wall-clock ms comparable between threads (epoch based: each thread's performance.now() has its own origin).
 * Task replies carry `busy: [start, end]` in it, so a caller can see a worker's wake-up lag (bench/threads-phases.js).
 */
export const wallMs = (): number => performance.timeOrigin + performance.now();
