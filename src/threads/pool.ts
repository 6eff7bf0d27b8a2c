// The worker pool behind init({ threads }) (design: docs/THREADS.md). Thread 0 is the caller's thread; threads
// 1…T−1 are Node worker_threads, each with its own instance of the same compiled build (no shared linear memory:
// the scalar / SIMD / relaxed builds stay single-threaded and unchanged). The protocol is synchronous so the
// synchronous APIs (Int8Runner.predict, fit) can use it: a request is a message on a MessageChannel plus a bump
// of a request counter in a SharedArrayBuffer (Atomics.notify); the worker, blocked in Atomics.wait, takes the
// message with receiveMessageOnPort, runs the task, posts the reply and bumps the reply counter; the caller
// runs its own share meanwhile and then blocks in Atomics.wait for the reply. Bulk data (gradients, weights)
// goes through SharedArrayBuffers the tasks allocate; messages carry small things (and one-off payloads).
import type { Runtime } from '../runtime.js';
import { QwasmError } from '../errors.js';

type NodeWorkers = typeof import('node:worker_threads');
type MessagePortLike = InstanceType<NodeWorkers['MessageChannel']>['port1'];

/** ctrl words: request counter, reply counter, state (0 starting, 1 ready, −1 failed). */
const REQ = 0, REP = 1, STATE = 2;
/** A worker silent this long (a task in a hung state, or a thread that died) fails the call instead of hanging. */
const TIMEOUT_MS = 10 * 60_000;

export interface TaskReply { error?: string; [k: string]: unknown }

class WorkerHandle {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  readonly port: MessagePortLike;
  private readonly worker: InstanceType<NodeWorkers['Worker']>;
  private seq = 0;
  private pending = false;

  constructor(readonly index: number, w: NodeWorkers, module: WebAssembly.Module, build: string) {
    const { port1, port2 } = new w.MessageChannel();
    this.port = port1;
    this.worker = new w.Worker(new URL('./worker.js', import.meta.url), {
      workerData: { port: port2, ctrl: this.ctrl, module, build, index },
      transferList: [port2 as unknown as import('node:worker_threads').TransferListItem],
    });
    this.worker.unref();
    this.port.unref?.();
    this.worker.on('error', () => { /* reported through ctrl / the reply; keep the process alive */ });
  }

  /** Blocks until the worker has instantiated its build (or failed to). */
  waitReady(w: NodeWorkers): void {
    const t0 = Date.now();
    while (Atomics.load(this.ctrl, STATE) === 0) {
      Atomics.wait(this.ctrl, STATE, 0, 1000);
      if (Date.now() - t0 > TIMEOUT_MS) throw new QwasmError(`thread ${this.index} did not start within ${TIMEOUT_MS / 1000} s`);
    }
    if (Atomics.load(this.ctrl, STATE) < 0) {
      const m = w.receiveMessageOnPort(this.port)?.message as TaskReply | undefined;
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

  wait(w: NodeWorkers): TaskReply {
    if (!this.pending) throw new QwasmError(`internal: thread ${this.index} has no request in flight`);
    const t0 = Date.now();
    for (;;) {
      const r = Atomics.load(this.ctrl, REP);
      if (r === this.seq) break;
      Atomics.wait(this.ctrl, REP, r, 1000);
      if (Date.now() - t0 > TIMEOUT_MS) throw new QwasmError(`thread ${this.index} did not answer within ${TIMEOUT_MS / 1000} s`);
    }
    this.pending = false;
    const m = w.receiveMessageOnPort(this.port)?.message as TaskReply | undefined;
    if (!m) throw new QwasmError(`internal: thread ${this.index} answered without a message`);
    if (m.error !== undefined) throw new QwasmError(`thread ${this.index}: ${m.error}`);
    return m;
  }

  terminate(): void { void this.worker.terminate(); }
}

const SHARED = new Map<string, ThreadPool>();

export class ThreadPool {
  /** Worker threads (the caller's thread is thread 0 and not counted here). */
  readonly workers: WorkerHandle[] = [];
  private nextId = 1;

  private constructor(private readonly api: NodeWorkers, threads: number, module: WebAssembly.Module, build: string) {
    try {
      for (let i = 1; i < threads; i++) this.workers.push(new WorkerHandle(i, api, module, build));
      for (const h of this.workers) h.waitReady(api);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * The runtime's pool (started on first use), or null when the runtime runs one thread. Runtimes of the same
   * shipped build and thread count share one pool (tasks key their state by a pool-wide id), so a process that
   * calls init() many times does not start workers for each.
   */
  static of(rt: Runtime): ThreadPool | null {
    const t = rt.threading;
    if (!t || t.threads < 2) return null;
    if (!rt.pool) {
      const shared = t.shareKey ? SHARED.get(t.shareKey) : undefined;
      rt.pool = shared ?? new ThreadPool(t.workers, t.threads, t.module, t.build);
      if (t.shareKey && !shared) SHARED.set(t.shareKey, rt.pool as ThreadPool);
    }
    return rt.pool as ThreadPool;
  }

  /** Total threads, the caller's included. */
  get threads(): number { return this.workers.length + 1; }

  /** A fresh id for a task's per-worker state (replicas). */
  newId(): number { return this.nextId++; }

  post(worker: number, msg: unknown): void { this.workers[worker].post(msg); }
  wait(worker: number): TaskReply { return this.workers[worker].wait(this.api); }

  /**
   * Sends msgs[i] to worker i (i < msgs.length), runs `own` on the caller's thread meanwhile, and returns the
   * replies in worker order. Every reply is collected before an error (a worker's or own's) is thrown, so the
   * protocol stays in step.
   */
  run<T>(msgs: unknown[], own: () => T): { own: T; replies: TaskReply[] } {
    for (let i = 0; i < msgs.length; i++) this.post(i, msgs[i]);
    let result: T | undefined, err: unknown = null;
    try { result = own(); } catch (e) { err = e; }
    const replies: TaskReply[] = [];
    for (let i = 0; i < msgs.length; i++) {
      try { replies.push(this.wait(i)); } catch (e) { err ??= e; }
    }
    if (err) throw err;
    return { own: result as T, replies };
  }

  /** Sends the same message to every worker and waits for all (setup / teardown of per-worker state). */
  broadcast(msg: unknown): TaskReply[] {
    return this.run(this.workers.map(() => msg), () => undefined).replies;
  }

  close(): void {
    for (const h of this.workers) h.terminate();
    this.workers.length = 0;
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
