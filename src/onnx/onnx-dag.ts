// ONNX export of a DAG node (src/deploy/graph.ts DagStep; an int8 Inception-style Graph) in QDQ form: each chain
// step through the exporters of its nodes, an add merge as DequantizeLinear → Add → (clamp) → QuantizeLinear as a
// residual join, a concat merge as DequantizeLinear per input → Concat (axis 1: channels in NCHW, features when
// flat) → QuantizeLinear with the merge's output grid — what the int8 concat computes (inputs already on that grid
// dequantise and requantise to themselves; the others are requantised, as concat_s8 does).
import type { GraphNode } from '../deploy/graph.js';
import { QwasmError } from '../errors.js';
import { attr } from './onnx-proto.js';
import { sameShape, showShape, type Cur } from './qdq.js';
import { onnxExporters } from './onnx-kinds.js';

onnxExporters.register('dag', (c, node, cur, _out, base) => {
  const n = node as Extract<GraphNode, { kind: 'dag' }>, b = c.b;
  const vals: Cur[] = [], at = (j: number) => (j < 0 ? cur : vals[j]);
  n.steps.forEach((st, i) => {
    if (st.nodes) { vals.push(c.run(st.nodes, at(st.inputs[0]))); return; }
    const name = st.name || `${base}.step${i}`, ins = st.inputs.map(at), q = st.out!;
    const dq = ins.map((v, k) => b.dequantize(v.name, v.q, `${name}.in${k}`));
    if (st.merge === 'add') {
      if (!sameShape(ins[0].shape, ins[1].shape)) throw new QwasmError(`dag '${base}' add '${name}': ${showShape(ins[0].shape)} and ${showShape(ins[1].shape)} differ`);
      const y = b.node('Add', dq, `${name}.add`);
      vals.push({ name: b.quantize(b.activation(y, q, st.qmin!, st.qmax!, name), q, name), q, shape: ins[0].shape });
      return;
    }
    const s0 = ins[0].shape;
    let shape: Cur['shape'];
    if (s0.kind === 'map' && ins.every((v) => v.shape.kind === 'map' && v.shape.h === s0.h && v.shape.w === s0.w)) {
      shape = { ...s0, c: ins.reduce((a, v) => a + (v.shape as { c: number }).c, 0) };
    } else if (ins.every((v) => v.shape.kind === 'flat' && !v.shape.perm && !v.shape.pooled4d)) {
      shape = { kind: 'flat', k: ins.reduce((a, v) => a + (v.shape as { k: number }).k, 0), perm: null, pooled4d: false };
    } else throw new QwasmError(`dag '${base}' concat '${name}': inputs ${ins.map((v) => showShape(v.shape)).join(', ')} are not maps of one size or plain feature rows`);
    const y = b.node('Concat', dq, `${name}.concat`, [attr.int('axis', 1)]);
    vals.push({ name: b.quantize(y, q, name), q, shape });
  });
  return vals[vals.length - 1];
});
