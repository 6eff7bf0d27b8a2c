// Pool-thread side of batch-parallel int8 inference (src/deploy/runner.ts execParallel, docs/THREADS.md):
// each thread keeps a replica Int8Runner per graph id, built from the .qwm bytes the caller encoded.
import type { Runtime } from '../runtime.js';
import type { TaskReply } from '../threads/pool.js';
import { Int8Runner } from './runner.js';
import { decodeQwm } from './qwm.js';
import { QwasmError } from '../errors.js';

const replicas = new Map<number, Int8Runner>();

function replica(id: unknown): Int8Runner {
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
  'infer.run': (_rt, m) => ({ codes: replica(m.id).predictCodes(m.codes as Int8Array, m.n as number) }),
  'infer.free': (_rt, m) => {
    replicas.get(m.id as number)?.dispose();
    replicas.delete(m.id as number);
    return {};
  },
};
