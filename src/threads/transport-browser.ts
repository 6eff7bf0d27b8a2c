// Web Workers as pool threads (src/threads/pool.ts, docs/THREADS.md), for qwasm running in a browser's dedicated
// Worker of a cross-origin-isolated page. The protocol is the Node pool's, minus receiveMessageOnPort:
//   request: postMessage to the worker (a structured clone: SharedArrayBuffers are shared, a .qwm is copied). The
//            worker is idle in its event loop between requests, so the message reaches it while the caller blocks;
//   reply:   the worker writes it as JSON into a SharedArrayBuffer mailbox, stores the request's number in
//            ctrl[REP] and notifies; the caller, blocked in Atomics.wait, reads it from there (a blocked thread
//            cannot receive messages). Replies are small ({}, { work }, { error }).
// A Worker starts only once its creator yields to its event loop, so the pool starts in init() (startThreads), or
// on a main thread in the first asynchronous call (backgroundPool); a caller that may not block (a browser main
// thread: ThreadPool.runAsync) awaits each reply with Atomics.waitAsync.
import { QwasmError } from '../errors.js';
import { Runtime } from '../runtime.js';
import { ThreadPool, waitWhile, waitWhileAsync, type PoolWorker, type TaskReply } from './pool.js';

/** ctrl words: reply counter, reply length in bytes. */
const REP = 0, LEN = 1;
/** Mailbox bytes: a reply's JSON (longer replies — a long error message — are cut by the worker to fit). */
export const MAILBOX_BYTES = 1 << 16;
const START_TIMEOUT_MS = 60_000;

/** What the page's worker-browser.js receives first: its mailbox and the build to instantiate. */
export interface WebWorkerSetup { ctrl: Int32Array; mailbox: SharedArrayBuffer; module: WebAssembly.Module; build: string; index: number }

class WebWorkerHandle implements PoolWorker {
  private seq = 0;
  private pending = false;

  constructor(readonly index: number, private readonly worker: Worker, private readonly ctrl: Int32Array, private readonly mailbox: SharedArrayBuffer) {}

  post(msg: unknown): void {
    if (this.pending) throw new QwasmError(`internal: thread ${this.index} already has a request in flight`);
    this.worker.postMessage(msg);
    this.pending = true;
    this.seq++;
  }

  wait(): TaskReply {
    if (!this.pending) throw new QwasmError(`internal: thread ${this.index} has no request in flight`);
    waitWhile(this.ctrl, REP, (v) => v !== this.seq, this.index, 'answer');
    return this.take();
  }

  /** wait() for a thread that may not block (a browser main thread): Atomics.waitAsync. */
  async waitAsync(): Promise<TaskReply> {
    if (!this.pending) throw new QwasmError(`internal: thread ${this.index} has no request in flight`);
    await waitWhileAsync(this.ctrl, REP, (v) => v !== this.seq, this.index, 'answer');
    return this.take();
  }

  /** The reply of the request in flight, from the mailbox. */
  private take(): TaskReply {
    this.pending = false;
    // TextDecoder refuses views of shared memory: copy the bytes out first
    const bytes = new Uint8Array(this.mailbox, 0, Atomics.load(this.ctrl, LEN)).slice();
    const m = JSON.parse(new TextDecoder().decode(bytes)) as TaskReply;
    if (m.error !== undefined) throw new QwasmError(`thread ${this.index}: ${m.error}`);
    return m;
  }

  terminate(): void { this.worker.terminate(); }
}

const STARTING = new Map<string, Promise<ThreadPool>>();
const LAUNCHING = new WeakMap<Runtime, Promise<ThreadPool>>();
/** Main-thread runtimes whose Web Workers failed to start (default thread count: they run on one thread). */
const FAILED = new WeakSet<Runtime>();
const notStarted = (e: unknown) => `the Web Workers did not start: ${(e as Error)?.message ?? e}`;

/**
 * Starts the Web Workers of a runtime that blocks (a browser's dedicated Worker; nothing to do in Node, whose
 * pool starts on first use, nor on a main thread, whose pool backgroundPool starts on the first asynchronous
 * call). A Worker only starts once its creator returns to its event loop, so the synchronous calls (which block)
 * could never start one: init() awaits this. Returns the runtime; if the workers fail to start (a worker script
 * the server or a bundler left out, a content policy) and the thread count was the default, a one-thread runtime
 * on the same instance whose threadsReason gives the error; else it throws.
 */
export async function startThreads(rt: Runtime): Promise<Runtime> {
  if (!rt.threading?.blocking) return rt;
  try {
    await launch(rt);
    return rt;
  } catch (e) {
    if (rt.threading.asked) throw e;
    return new Runtime(rt.build, rt.exports, null, notStarted(e));
  }
}

/**
 * The runtime's pool for asynchronous calls from a thread that may not block (a browser main thread), started
 * on first use; null where the runtime blocks (Node, a Worker: the synchronous path is the parallel one there)
 * or has no threads.
 */
export async function backgroundPool(rt: Runtime): Promise<ThreadPool | null> {
  const t = rt.threading;
  if (!t || t.blocking || FAILED.has(rt)) return null;
  try {
    await launch(rt);
  } catch (e) {
    if (t.asked) throw e;
    FAILED.add(rt); // the default count: run on this thread from now on, and say why
    rt.threadsReason = notStarted(e);
    return null;
  }
  return rt.pool as ThreadPool;
}

/** Starts the runtime's Web Workers: threads − 1 if the caller blocks (it is thread 0), else `threads`. */
async function launch(rt: Runtime): Promise<void> {
  const t = rt.threading;
  if (!t || t.workers !== 'web' || rt.pool) return;
  const key = t.shareKey && `${t.shareKey}:${t.blocking ? 'blocking' : 'async'}`;
  // set before the first await: overlapping first calls (predictAsync × 3) must share one start, not race
  let p = LAUNCHING.get(rt) ?? (key ? STARTING.get(key) : undefined);
  if (!p) {
    p = startWebWorkers(t.blocking ? t.threads - 1 : t.threads, t.module, t.build).then((h) => new ThreadPool(h));
    if (key) STARTING.set(key, p);
    p.catch(() => { if (key) STARTING.delete(key); LAUNCHING.delete(rt); });
  }
  LAUNCHING.set(rt, p);
  rt.pool = await p;
}

/** Starts `count` module Workers (threads 1…count) and resolves once each has instantiated `module`. */
async function startWebWorkers(count: number, module: WebAssembly.Module, build: string): Promise<PoolWorker[]> {
  const started = Array.from({ length: count }, (_, k) => startOne(k + 1, module, build));
  const settled = await Promise.allSettled(started);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') s.value.terminate();
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<PoolWorker>).value);
}

function startOne(index: number, module: WebAssembly.Module, build: string): Promise<PoolWorker> {
  // the literal new Worker(new URL('…', import.meta.url), { type: 'module' }) form bundlers recognise (webpack 5, Vite)
  const worker = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module', name: `qwasm thread ${index}` });
  const setup: WebWorkerSetup = { ctrl: new Int32Array(new SharedArrayBuffer(8)), mailbox: new SharedArrayBuffer(MAILBOX_BYTES), module, build, index };
  return new Promise<PoolWorker>((ok, fail) => {
    const timer = setTimeout(() => done(new QwasmError(`thread ${index} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const done = (err: Error | null) => {
      clearTimeout(timer);
      worker.onmessage = worker.onerror = worker.onmessageerror = null;
      if (err) { worker.terminate(); fail(err); } else ok(new WebWorkerHandle(index, worker, setup.ctrl, setup.mailbox));
    };
    worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { ready?: boolean; error?: string };
      done(m?.ready ? null : new QwasmError(`thread ${index} failed to start: ${m?.error ?? 'unknown error'}`));
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      done(new QwasmError(`thread ${index} failed to start: ${e.message || 'the worker script did not load'} ` +
        `(${new URL('./worker-browser.js', import.meta.url).href} must be served next to pool.js)`));
    };
    worker.onmessageerror = () => done(new QwasmError(`thread ${index} failed to start: the setup message could not be cloned into it`));
    worker.postMessage(setup);
  });
}
