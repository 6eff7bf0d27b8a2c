// Pool-thread side of batch-parallel int8 inference (src/deploy/runner.ts execParallel, docs/THREADS.md):
// each thread keeps a replica Int8Runner per graph id, built once from the .qwm bytes the caller encoded, and
// claims runs of samples of the caller's SharedBatch until none is left.
import type { Runtime } from '../runtime.js';
import { wallMs, type TaskReply } from '../threads/pool.js';
import { Int8Runner } from './runner.js';
import { decodeQwm } from './qwm.js';
import { QwasmError } from '../errors.js';
import { SharedBatch, type SharedBatchSpec } from '../threads/shared-batch.js';

const replicas = new Map<number, Int8Runner>();

/** This thread's replica of graph `id` (also used by src/deploy/intra-op-worker.ts). */
export function replica(id: unknown): Int8Runner {
  const r = replicas.get(id as number);
  if (!r) throw new QwasmError(`no int8 graph ${String(id)} loaded in this thread`);
  return r;
}

export const workerTasks: Record<string, (rt: Runtime, msg: Record<string, unknown>) => TaskReply> = {
  'infer.load': (rt, m) => {
    replicas.get(m.id as number)?.dispose();
    replicas.set(m.id as number, new Int8Runner(rt, decodeQwm(m.qwm as Uint8Array, 'the graph sent to a thread')));
    return {};
  },
  'infer.chunks': (_rt, m) => {
    const r = replica(m.id), batch = new SharedBatch(m.batch as SharedBatchSpec), start = wallMs();
    const samples = batch.drain((s, count) => r.runShared(batch, s, count));
    return { samples, work: samples, busy: [start, wallMs()] };
  },
  'infer.free': (_rt, m) => {
    replicas.get(m.id as number)?.dispose();
    replicas.delete(m.id as number);
    return {};
  },
};
