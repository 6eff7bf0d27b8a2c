// Which QAT unit each built-in layer kind becomes (the 'QAT compiler' aspect of the layer registry, see
// src/nn/registry.ts and src/quant/qat-units.ts). Fusion follows TFLite: Conv2d [+ BatchNorm2d] [+ ReLU | ReLU6]
// and Linear / LowRankLinear [+ ReLU | ReLU6] are one unit each.
import { BatchNorm2d, ReLU, ReLU6, type AvgPool2d, type Conv2d, type GlobalAvgPool, type Linear, type MaxPool2d, type Residual, type Sequential } from '../nn/layers.js';
import type { LowRankLinear } from '../nn/lowrank-linear.js';
import type { Module } from '../nn/module.js';
import { Graph, GRAPH_INPUT } from '../nn/graph.js';
import { QwasmError } from '../errors.js';
import { qatCompilers, type FusedActivation, type GraphStep } from './qat-units.js';

/** 'relu' / 'relu6' for a ReLU / ReLU6 module, else null. */
export const activationOf = (m: Module | undefined | null): FusedActivation | null => (m instanceof ReLU6 ? 'relu6' : m instanceof ReLU ? 'relu' : null);

qatCompilers.register('Sequential', (c) => c.compile(c.module as Sequential, c.name));

qatCompilers.register('Conv2d', (c) => {
  const conv = c.module as Conv2d;
  let bn: BatchNorm2d | null = null;
  const n = c.next();
  if (n instanceof BatchNorm2d) { bn = n; c.take(); }
  const act = c.fuseActivation();
  return { kind: 'conv', name: c.name, conv, bn, act, wq: c.weightQuant(c.name, conv.spec.outChannels), out: c.actQuant(c.name) };
});

qatCompilers.register('Linear', (c) => {
  const linear = c.module as Linear, act = c.fuseActivation();
  return { kind: 'linear', name: c.name, linear, act, wq: c.weightQuant(c.name, linear.outFeatures), out: c.actQuant(c.name) };
});

qatCompilers.register('LowRankLinear', (c) => {
  const m = c.module as LowRankLinear, act = c.fuseActivation();
  return {
    kind: 'lowrank', name: c.name, module: m, p: m.p, q: m.q, bias: m.bias, act,
    wqP: c.weightQuant(`${c.name}.p`, m.p.shape[1]), wqQ: c.weightQuant(`${c.name}.q`, m.q.shape[1]),
    mid: c.actQuant(`${c.name}.mid`), out: c.actQuant(c.name),
  };
});

qatCompilers.register('Residual', (c) => {
  const m = c.module as Residual;
  const post = m.post ? activationOf(m.post) : 'none';
  if (!post) throw new QwasmError(`cannot quantise residual '${c.name}': its post module must be ReLU, ReLU6 or none, got ${m.post!.config().type}`);
  const body = c.compile(m.body, `${c.name}.body`);
  const shortcut = m.shortcut ? c.compile(m.shortcut, `${c.name}.shortcut`) : null;
  return { kind: 'residual', name: c.name, body, shortcut, act: post, out: c.actQuant(c.name) };
});

// A Graph: only the nodes its output reads (an importer's cut leaves the others computed for nothing); each module
// node compiles like a Sequential, add / concat merges get an output quantiser. 'mul' (a squeeze-excite gate) has
// no int8 lowering yet.
qatCompilers.register('Graph', (c) => {
  const g = c.module as Graph;
  const live = new Set<string>([g.output]);
  for (let i = g.nodes.length - 1; i >= 0; i--) if (live.has(g.nodes[i].name)) for (const inp of g.nodes[i].inputs) live.add(inp);
  const mul = g.nodes.find((n) => live.has(n.name) && n.merge === 'mul');
  if (mul) throw new QwasmError(`prepareQAT: cannot quantise graph node '${c.name}.${mul.name}': a 'mul' merge (squeeze-excite gate) has no int8 lowering`);
  const index = new Map<string, number>([[GRAPH_INPUT, -1]]);
  const steps: GraphStep[] = [];
  for (const n of g.nodes) {
    if (!live.has(n.name)) continue;
    const name = `${c.name}.${n.name}`, inputs = n.inputs.map((i) => index.get(i)!);
    if (n.module) steps.push({ name, inputs, units: c.compile(n.module, name) });
    else steps.push({ name, inputs, merge: n.merge as 'add' | 'concat', out: c.actQuant(name) });
    index.set(n.name, steps.length - 1);
    if (n.name === g.output) break;
  }
  return { kind: 'graph', name: c.name, steps };
});

qatCompilers.register('MaxPool2d', (c) => ({ kind: 'maxpool', name: c.name, module: c.module as MaxPool2d, out: null }));
qatCompilers.register('AvgPool2d', (c) => ({ kind: 'avgpool', name: c.name, module: c.module as AvgPool2d, out: c.actQuant(c.name) }));
qatCompilers.register('GlobalAvgPool', (c) => {
  if ((c.module as GlobalAvgPool).keepDims) throw new QwasmError(`prepareQAT: cannot quantise '${c.name}': a GlobalAvgPool with keepDims (a squeeze-excite gate) has no int8 lowering`);
  return { kind: 'gap', name: c.name, out: c.actQuant(c.name) };
});
qatCompilers.register('Flatten', (c) => ({ kind: 'flatten', name: c.name, module: c.module }));
qatCompilers.register('Dropout', (c) => ({ kind: 'dropout', name: c.name, module: c.module }));
qatCompilers.register('ReLU', (c) => ({ kind: 'act', name: c.name, act: 'relu', out: c.actQuant(c.name) }));
qatCompilers.register('ReLU6', (c) => ({ kind: 'act', name: c.name, act: 'relu6', out: c.actQuant(c.name) }));
