// The task table every pool thread serves (Node's src/threads/worker.ts, the browser's worker-browser.ts): each
// module with per-thread jobs exports `workerTasks` (name → handler), and a request names one of them.
import type { Runtime } from '../runtime.js';
import type { TaskReply } from './pool.js';

export type TaskHandler = (rt: Runtime, msg: Record<string, unknown>) => TaskReply;

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function loadTasks(): Promise<Record<string, TaskHandler>> {
  const mods = await Promise.all([import('../deploy/parallel.js'), import('../deploy/intra-op-worker.js'), import('../train/data-parallel.js')]);
  return Object.assign({}, ...mods.map((m) => m.workerTasks)) as Record<string, TaskHandler>;
}

/** Runs one request; a failure (unknown task, a throwing handler) becomes the reply's `error`. */
export function serve(tasks: Record<string, TaskHandler>, rt: Runtime, msg: Record<string, unknown> | undefined): TaskReply {
  try {
    const h = msg && tasks[msg.task as string];
    if (!h) throw new Error(`unknown task ${JSON.stringify(msg?.task)}`);
    return h(rt, msg);
  } catch (e) {
    return { error: errorText(e) };
  }
}
