// Pool-thread side of intra-op parallelism (src/deploy/intra-op.ts): the replica of the graph is the one
// batch-parallel inference loaded (src/deploy/parallel.ts); the plan arrives with the first image of a graph
// and this thread's bands are derived from it once.
import type { Runtime } from '../runtime.js';
import type { TaskReply } from '../threads/pool.js';
import { QwasmError } from '../errors.js';
import { replica } from './parallel.js';
import { abort, threadBands, walk, type ThreadBands } from './intra-op.js';
import type { IntraOpPlan } from './bands.js';
import type { Int8Runner } from './runner.js';

/** Per replica (dropped with it): the plan and this thread's bands. */
const plans = new WeakMap<Int8Runner, { plan: IntraOpPlan; mine: ThreadBands }>();

export const workerTasks: Record<string, (rt: Runtime, msg: Record<string, unknown>) => TaskReply> = {
  'intra.run': (rt, m) => {
    const id = m.id as number, t = m.thread as number, buf = m.buf as SharedArrayBuffer;
    try {
      const r = replica(id);
      if (m.plan) plans.set(r, { plan: m.plan as IntraOpPlan, mine: threadBands(r.ops, m.plan as IntraOpPlan, t) });
      const p = plans.get(r);
      if (!p) throw new QwasmError(`no intra-op plan for int8 graph ${id} in this thread`);
      // stopped because another thread failed: that thread's error is the one the caller reports
      return { stopped: !walk(rt, r.ops, p.plan, t, p.mine, buf) };
    } catch (e) {
      abort(buf, m.threads as number); // the others are waiting for this thread's rows
      throw e;
    }
  },
};
