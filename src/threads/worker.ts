// A pool thread (src/threads/pool.ts): instantiates the build it is given, loads the task modules, then serves
// requests synchronously forever (blocked in Atomics.wait between them) until the pool terminates it.
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Runtime, instantiateBuild, type BuildName } from '../runtime.js';
import type { TaskReply } from './pool.js';

export type TaskHandler = (rt: Runtime, msg: Record<string, unknown>) => TaskReply;

const { port, ctrl, module, build } = workerData as { port: MessagePort; ctrl: Int32Array; module: WebAssembly.Module; build: BuildName };
const REQ = 0, REP = 1, STATE = 2;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

let rt: Runtime, tasks: Record<string, TaskHandler>;
try {
  rt = new Runtime(build, (await instantiateBuild(module)).exports);
  // every task family a pool request may name (each module exports workerTasks: name → handler)
  const mods = await Promise.all([import('../deploy/parallel.js'), import('../deploy/intra-op-worker.js'), import('../train/data-parallel.js')]);
  tasks = Object.assign({}, ...mods.map((m) => m.workerTasks)) as Record<string, TaskHandler>;
  Atomics.store(ctrl, STATE, 1);
} catch (e) {
  port.postMessage({ error: errorText(e) });
  Atomics.store(ctrl, STATE, -1);
  Atomics.notify(ctrl, STATE);
  throw e;
}
Atomics.notify(ctrl, STATE);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, REQ, seen);
  seen = Atomics.load(ctrl, REQ);
  const msg = receiveMessageOnPort(port)?.message as Record<string, unknown> | undefined;
  let reply: TaskReply;
  try {
    const h = msg && tasks[msg.task as string];
    if (!h) throw new Error(`unknown task ${JSON.stringify(msg?.task)}`);
    reply = h(rt, msg);
  } catch (e) {
    reply = { error: errorText(e) };
  }
  port.postMessage(reply);
  Atomics.store(ctrl, REP, seen);
  Atomics.notify(ctrl, REP);
}
