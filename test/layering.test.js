// The layer order of src/ (docs/ARCHITECTURE.md), checked on every import: a file may import its own folder or
// a LOWER layer, a folder of the same layer only when no cycle between folders results. Static imports, type
// imports, re-exports and dynamic import() all count.
//
//   0  util, errors.ts                      general helpers (CRC, RNG, node builtins), error types
//   1  kernels, runtime.ts, exports.ts,     TS wrappers of the WASM kernels, the module loader, the typed
//      probes.ts, qwasm.ts, threads         exports, build probes, init(), the worker pool
//   2  autograd                             tensors in WASM memory, differentiable ops
//   3  nn, data, checkpoint                 layers + the layer registry; datasets; the .qck container
//   4  optim                                optimisers and schedules
//   5  train                                fit / evaluate, model files, the eval-mode batch loop
//   6  quant, compress, transfer            QAT / PTQ; pruning, low-rank, distillation; transfer learning
//   7  deploy                               int8 graph, .qwm, int8 runner, float / int8 reports
//   8  onnx, tfjs, pipeline,                ONNX / TF.js import and export; end-to-end jobs (compressModel, qwasm
//      runtime-entry.ts,                    pipeline); the lightweight 'qwasm/runtime' entry; the worker thread's
//      threads/worker.ts, worker-browser.ts entries (Node / Web Worker; they run train's and deploy's per-thread
//      threads/tasks.ts                     jobs, whose table tasks.ts loads)
//   9  index.ts                             the library entry
//  10  cli                                  the `qwasm` command
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

export const LAYERS = {
  util: 0, 'errors.ts': 0,
  kernels: 1, 'runtime.ts': 1, 'exports.ts': 1, 'probes.ts': 1, 'qwasm.ts': 1, threads: 1,
  autograd: 2,
  nn: 3, data: 3, checkpoint: 3,
  optim: 4,
  train: 5,
  quant: 6, compress: 6, transfer: 6,
  deploy: 7,
  onnx: 8, tfjs: 8, pipeline: 8, 'runtime-entry.ts': 8, 'threads/worker.ts': 8, 'threads/worker-browser.ts': 8, 'threads/tasks.ts': 8,
  'index.ts': 9,
  cli: 10,
};

/** The unit a src file belongs to: a file with its own entry in LAYERS, else its top folder (or itself at the root). */
const unitOf = (file) => {
  const rel = relative(SRC, file).split(/[\\/]/).join('/');
  return rel in LAYERS ? rel : rel.split('/')[0];
};

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of a file (static, type-only, re-export, side-effect, dynamic), resolved to a .ts file. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => ({ spec: s, target: resolve(dirname(file), s).replace(/\.js$/, '.ts') }));
}

const all = files(SRC);
const edges = [];
for (const f of all) for (const { spec, target } of importsOf(f)) edges.push({ from: f, to: target, spec });

test('every src/ unit has a layer', () => {
  const missing = [...new Set(all.map(unitOf))].filter((u) => !(u in LAYERS));
  assert.equal(missing, [], `units without a layer in test/layering.test.js (add them to LAYERS and docs/ARCHITECTURE.md): ${missing.join(', ')}`);
});

test('every relative import resolves to a file in src/', () => {
  const known = new Set(all);
  const bad = edges.filter((e) => !known.has(e.to)).map((e) => `${relative(SRC, e.from)}: '${e.spec}'`);
  assert.equal(bad, [], bad.join('\n'));
});

test('no import runs upward (a lower layer never imports a higher one)', () => {
  const bad = edges.filter((e) => LAYERS[unitOf(e.to)] > LAYERS[unitOf(e.from)])
    .map((e) => `${relative(SRC, e.from)} (${unitOf(e.from)}, layer ${LAYERS[unitOf(e.from)]}) imports '${e.spec}' (${unitOf(e.to)}, layer ${LAYERS[unitOf(e.to)]})`);
  assert.equal(bad, [], `upward imports:\n${bad.join('\n')}`);
});

test('no cycle between folders', () => {
  const graph = new Map();
  for (const e of edges) {
    const a = unitOf(e.from), b = unitOf(e.to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    if (!graph.get(a).has(b)) graph.get(a).set(b, `${relative(SRC, e.from)} → '${e.spec}'`);
  }
  // depth-first search; a back edge is a cycle, reported with the import that closes each step
  const state = new Map(), stack = [], cycles = [];
  const visit = (u) => {
    state.set(u, 1); stack.push(u);
    for (const [v] of graph.get(u) ?? []) {
      if (state.get(v) === 1) {
        const loop = [...stack.slice(stack.indexOf(v)), v];
        cycles.push(loop.slice(0, -1).map((x, i) => `${x} → ${loop[i + 1]} (${graph.get(x).get(loop[i + 1])})`).join('; '));
      } else if (!state.has(v)) visit(v);
    }
    stack.pop(); state.set(u, 2);
  };
  for (const u of graph.keys()) if (!state.has(u)) visit(u);
  assert.equal(cycles, [], `cycles between folders:\n${cycles.join('\n')}`);
});

test('import parsing sees static, type-only and side-effect imports', () => {
  const units = importsOf(join(SRC, 'nn', 'layer-spec.ts')).map((i) => relative(SRC, i.target));
  for (const f of ['autograd/tensor.ts', 'nn/layers.ts', 'nn/registry.ts']) assert.ok(units.includes(f), `layer-spec.ts imports ${f}; parsed: ${units.join(', ')}`);
});

test.run();
