// One loop, two ways to wait (docs/THREADS.md "Training on a main thread"). Code that talks to the pool in rounds
// (fit's data-parallel steps) is written once as a generator that YIELDS each round — an Exchange: requests for
// workers 0…k−1 and the caller's own share — and receives the replies back; drive() carries the rounds out
// blocking (ThreadPool.run: Node, a browser's dedicated Worker), driveAsync() without blocking (a browser main
// thread: ThreadPool.runAsync, i.e. Atomics.waitAsync). A yielded null marks a point where driveAsync lets the
// event loop run (a page repaints, its handlers run); drive() goes straight on.
import { QwasmError } from '../errors.js';
import type { ThreadPool, TaskReply } from './pool.js';

export interface Exchange {
  pool: ThreadPool;
  /** msgs[i] goes to worker i. */
  msgs: unknown[];
  /** The caller's share, run while the workers work (blocking) or before it awaits them (background). */
  own?: () => void;
  /** The caller may not block: its workers must be awaited (the pool of a browser main thread). */
  background: boolean;
}

/** What a generator that talks to the pool yields (null: a point to let the event loop run) and gets back. */
export type Rounds<R> = Generator<Exchange | null, R, TaskReply[] | undefined>;

/** Runs a generator to its end, blocking in each exchange; an exchange's error is thrown into it (its finally runs). */
export function drive<R>(g: Rounds<R>): R {
  let r = g.next();
  while (!r.done) {
    const ex = r.value;
    let replies: TaskReply[] | undefined;
    try {
      if (ex?.background) throw new QwasmError('internal: a background pool cannot be waited for synchronously');
      replies = ex ? ex.pool.run(ex.msgs, ex.own ?? (() => undefined)).replies : undefined;
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(replies);
  }
  return r.value;
}

/** The same without blocking where the pool is a background one, and letting the event loop run at each null. */
export async function driveAsync<R>(g: Rounds<R>): Promise<R> {
  let r = g.next();
  while (!r.done) {
    const ex = r.value;
    let replies: TaskReply[] | undefined;
    try {
      if (!ex) await macrotask();
      else if (!ex.background) replies = ex.pool.run(ex.msgs, ex.own ?? (() => undefined)).replies;
      else {
        ex.own?.();
        replies = await ex.pool.runAsync(ex.msgs);
      }
    } catch (e) {
      r = g.throw(e);
      continue;
    }
    r = g.next(replies);
  }
  return r.value;
}

type Resolve = () => void;
let channel: MessageChannel | null = null;
const waiting: Resolve[] = [];

/**
 * Resolves in a later task of the event loop (not a microtask: a page gets to render and handle input first).
 * Node: setImmediate; elsewhere a MessageChannel message (a setTimeout(0) chain is clamped to 4 ms per call).
 */
export function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: Resolve) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((ok) => { g.setImmediate!(ok); });
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  return new Promise((ok) => { waiting.push(ok); channel!.port2.postMessage(null); });
}
