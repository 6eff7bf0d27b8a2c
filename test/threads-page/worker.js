// The dedicated Worker of test/threads-page/index.html: qwasm runs here, where Atomics.wait is allowed, so its
// synchronous APIs can drive a pool of nested Web Workers. A message { name, args } runs scenario[name] (args and
// result encoded by test/wire.js).
import * as qw from '../../dist/index.js';
import * as rtEntry from '../../dist/runtime-entry.js';
import * as wire from '../wire.js';
import * as scenario from './scenario.js';

onmessage = async (e) => {
  const { name, args } = e.data;
  try {
    const a = wire.decode(args);
    const lib = scenario.FULL_LIBRARY.includes(name) ? qw : rtEntry;
    postMessage({ ok: wire.encode(await scenario[name](lib, a)) });
  } catch (err) {
    postMessage({ error: `${err?.name}: ${err?.message}` });
  }
};
