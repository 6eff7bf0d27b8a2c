// A pool thread in a browser (src/threads/transport-browser.ts): a module Web Worker. Its first message is the
// setup (mailbox, build); it instantiates the build, loads the task modules and says 'ready'. Each later message
// is a request: it runs it and writes the reply into the mailbox (the caller is blocked and cannot receive
// messages). Between requests it sits in its event loop, which is how the next request reaches it.
import { Runtime, instantiateBuild, type BuildName } from '../runtime.js';
import { loadTasks, serve, errorText, type TaskHandler } from './tasks.js';
import type { WebWorkerSetup } from './transport-browser.js';

const REP = 0, LEN = 1;
type Scope = { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
const self = globalThis as unknown as Scope;

let setup: WebWorkerSetup, rt: Runtime, tasks: Record<string, TaskHandler>, seq = 0;
const encoder = new TextEncoder();

function reply(r: unknown): void {
  let bytes = encoder.encode(JSON.stringify(r));
  const room = setup.mailbox.byteLength;
  if (bytes.length > room) bytes = encoder.encode(JSON.stringify({ error: `reply of ${bytes.length} bytes does not fit the ${room}-byte mailbox: ${JSON.stringify(r).slice(0, 200)}…` }));
  new Uint8Array(setup.mailbox).set(bytes);
  Atomics.store(setup.ctrl, LEN, bytes.length);
  Atomics.store(setup.ctrl, REP, ++seq);
  Atomics.notify(setup.ctrl, REP);
}

self.onmessage = async (e: MessageEvent) => {
  setup = e.data as WebWorkerSetup;
  try {
    rt = new Runtime(setup.build as BuildName, (await instantiateBuild(setup.module)).exports);
    tasks = await loadTasks();
  } catch (err) {
    self.postMessage({ error: errorText(err) });
    return;
  }
  self.onmessage = (ev: MessageEvent) => reply(serve(tasks, rt, ev.data as Record<string, unknown>));
  self.postMessage({ ready: true });
};
