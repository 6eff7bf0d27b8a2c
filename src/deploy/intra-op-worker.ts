// Pool-thread side of intra-op parallelism (src/deploy/intra-op.ts): the replica of the graph is the one
// batch-parallel inference loaded (src/deploy/parallel.ts); the plan arrives with the first image of a graph
// and every band's rows are derived from it once.
import type { Runtime } from '../runtime.js';
import type { TaskReply } from '../threads/pool.js';
import type { IntraOpPlan } from './bands.js';
import type { Int8Runner } from './runner.js';
import { QwasmError } from '../errors.js';
import { replica } from './parallel.js';
import { abort, planBands, BandWalker, type PlanBands } from './intra-op.js';

/** Per replica (dropped with it): the plan and its bands. */
const plans = new WeakMap<Int8Runner, { plan: IntraOpPlan; bands: PlanBands }>();

export const workerTasks: Record<string, (rt: Runtime, msg: Record<string, unknown>) => TaskReply> = {
  'intra.run': (rt, m) => {
    const buf = m.buf as SharedArrayBuffer;
    let r: Int8Runner, p: { plan: IntraOpPlan; bands: PlanBands } | undefined;
    try {
      r = replica(m.id);
      if (m.plan) plans.set(r, { plan: m.plan as IntraOpPlan, bands: planBands(r.ops, m.plan as IntraOpPlan) });
      p = plans.get(r);
      if (!p) throw new QwasmError(`no intra-op plan for int8 graph ${String(m.id)} in this thread`);
    } catch (e) {
      // stops the others early (without it the caller would run this thread's bands itself, then report the error)
      if (m.plan) abort(buf, m.plan as IntraOpPlan);
      throw e;
    }
    const w = new BandWalker(rt, r.ops, p.plan, p.bands, buf, m.thread as number, m.spinUs as number);
    // stopped (false): another thread failed, and that thread's error is the one the caller reports
    const stopped = !w.walk();
    return { stopped, ran: w.ran, stolen: w.stolen, walkMs: w.walkMs, waitedMs: w.waitedMs };
  },
};
