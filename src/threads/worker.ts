// A pool thread (src/threads/pool.ts): instantiates the build it is given, loads the task modules, then serves
// requests synchronously forever (blocked in Atomics.wait between them) until the pool terminates it.
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Runtime, instantiateBuild, type BuildName } from '../runtime.js';
import { loadTasks, serve, errorText, type TaskHandler } from './tasks.js';
import { spinWhile } from './pool.js';

const { port, ctrl, module, build, idleSpinMs } = workerData as { port: MessagePort; ctrl: Int32Array; module: WebAssembly.Module; build: BuildName; idleSpinMs: number };
const REQ = 0, REP = 1, STATE = 2;

let rt: Runtime, tasks: Record<string, TaskHandler>;
try {
  rt = new Runtime(build, (await instantiateBuild(module)).exports);
  tasks = await loadTasks();
  Atomics.store(ctrl, STATE, 1);
} catch (e) {
  port.postMessage({ error: errorText(e) });
  Atomics.store(ctrl, STATE, -1);
  Atomics.notify(ctrl, STATE);
  throw e;
}
Atomics.notify(ctrl, STATE);

let seen = 0;
const idle = (v: number) => v === seen;
for (;;) {
  if (spinWhile(ctrl, REQ, idle, idleSpinMs)) Atomics.wait(ctrl, REQ, seen);
  seen = Atomics.load(ctrl, REQ);
  port.postMessage(serve(tasks, rt, receiveMessageOnPort(port)?.message as Record<string, unknown> | undefined));
  Atomics.store(ctrl, REP, seen);
  Atomics.notify(ctrl, REP);
}
