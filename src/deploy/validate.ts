// Structural validation of an Int8Graph and its activation shapes (docs/QWM.md "Reader limits" and
// "Consistency"). One checker for every source of graphs: decodeQwm runs it (with byte offsets for the messages)
// before it materialises any weight tensor, and Int8Runner runs it on hand-built graphs before any kernel
// handle is created — so a graph that passes can be packed and run without a bad size ever reaching a kernel.
import { QwasmError } from '../errors.js';
import type { DagNode, GraphNode, Int8Graph, QParams, Requant, SparseSpec } from './graph.js';

/** Reader limits of the .qwm format (docs/QWM.md). */
export const QWM_LIMITS = Object.freeze({
  nodes: 4096,
  nameBytes: 256,
  depth: 64,
  inputDim: 4096,
  inputElems: 1 << 24,
  u32Dim: 1 << 24,
  classes: 1 << 20,
  /** Elements of one weight tensor. */
  tensorElems: 1 << 26,
  /** Elements of all weight tensors together. */
  totalWeights: 1 << 28,
  /** Elements of one activation, per sample. */
  activationElems: 1 << 24,
  /** Multiply-accumulates of one sample through the whole graph. */
  macs: 2 ** 32,
  fileBytes: 1 << 30,
});

/** Per-sample activation shape: [h, w, c] (NHWC image) or [k] (flat features). */
export type SampleShape = [number, number, number] | [number];

/** Resolved window geometry of a conv / pool on an h×w input. */
export interface WindowGeometry { oh: number; ow: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; pb: number; pr: number }

/** Which nodes a message names and where (decodeQwm adds " at byte N"). */
export type Locate = (node: GraphNode | null, field: string) => string;

export interface ValidateOptions {
  /** false: weight tensors are not materialised yet (decoder, pass 1): use the declared element counts. */
  tensors?: boolean;
  locate?: Locate;
  /** Message prefix ("qwm" / "graph"). */
  what?: string;
  /** false: do not compare g.classes with the output size (a converter asking for the output shape). */
  checkClasses?: boolean;
}

export interface GraphShapes {
  /** Output shape (per sample) of every node, in execution (pre-)order. */
  shapes: Map<GraphNode, SampleShape>;
  /** Input shape (per sample) of every node. */
  inputs: Map<GraphNode, SampleShape>;
  output: SampleShape;
  nodeCount: number;
  weights: number;
  macs: number;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const isF32 = (v: number) => Math.fround(v) === v;

/** Window output size (no checks beyond a non-empty output: callers validate the fields). */
export function windowGeometry(h: number, w: number, kh: number, kw: number, stride: readonly [number, number],
                               dilation: readonly [number, number], padding: readonly [number, number, number, number]): WindowGeometry | null {
  const [sh, sw] = stride, [dh, dw] = dilation, [pt, pl, pb, pr] = padding;
  const ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
  if (h + pt + pb < ekh || w + pl + pr < ekw) return null;
  return { oh: Math.floor((h + pt + pb - ekh) / sh) + 1, ow: Math.floor((w + pl + pr - ekw) / sw) + 1, sh, sw, dh, dw, pt, pl, pb, pr };
}

/** Element count of a node's weight tensors (declared by its dims). */
export function weightCounts(n: GraphNode): number[] {
  switch (n.kind) {
    case 'conv': return [n.oc * n.kh * n.kw * n.cg];
    case 'linear': return [n.k * n.n];
    case 'lowrank': return [n.k * n.r, n.r * n.n];
    default: return [];
  }
}

/**
 * Checks every field of `g` and chains the activation shapes; throws a QwasmError naming the node, the field and
 * (through opts.locate) its byte offset. Returns the shapes.
 */
// Long (~250 lines, chain ~140): one switch over node kinds inside closures over `fail` / `current`, so every
// message names the node, field and byte offset; the per-kind cases are short.
export function validateGraph(g: Int8Graph, opts: ValidateOptions = {}): GraphShapes {
  const what = opts.what ?? 'graph', withTensors = opts.tensors !== false;
  const locate = opts.locate ?? (() => '');
  let index = -1, current: GraphNode | null = null;
  const fail = (field: string, msg: string): never => {
    const who = current ? `node ${index} (${current.kind} '${current.name}')` : 'graph header';
    throw new QwasmError(`${what}: ${who}: ${msg}${locate(current, field)}`);
  };
  const int = (field: string, v: unknown, lo: number, hi: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(field, `${field} = ${typeof v === 'number' ? v : typeof v} outside [${lo}, ${hi}]`);
    return v as number;
  };
  const pos = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(field, `${field} = ${String(v)} must be a finite number > 0`);
    if (!isF32(v as number)) fail(field, `${field} = ${String(v)} is not an f32 value`);
    return v as number;
  };
  const qp = (field: string, q: QParams | undefined): void => {
    if (!q || typeof q !== 'object') fail(field, `${field} must be { scale, zeroPoint }`);
    pos(`${field}.scale`, q!.scale);
    int(`${field}.zeroPoint`, q!.zeroPoint, -128, 127);
  };
  const clamp = (zpField: string, zp: number, qmin: number, qmax: number): void => {
    int(zpField, zp, -128, 127);
    int('qmin', qmin, -128, 127);
    int('qmax', qmax, -128, 127);
    if (!(qmin <= zp && zp <= qmax)) fail('qmin', `clamp [${qmin}, ${qmax}] must contain the output zero point ${zp}`);
  };
  const chan = (field: string, a: unknown, ctor: Float32ArrayConstructor | Int32ArrayConstructor, len: number, positive: boolean): void => {
    if (!(a instanceof ctor)) fail(field, `${field} must be a ${ctor.name}`);
    const arr = a as Float32Array | Int32Array;
    if (arr.length !== len) fail(field, `${field} has ${arr.length} entries, expected ${len}`);
    if (positive) for (let i = 0; i < len; i++) if (!(arr[i] > 0) || !Number.isFinite(arr[i])) fail(field, `${field}[${i}] = ${arr[i]} must be finite and > 0`);
  };
  const requant = (rq: Requant | undefined, len: number, out: QParams): void => {
    if (!rq || typeof rq !== 'object') fail('rq', 'rq (requantisation) is missing');
    chan('mult', rq!.mult, Float32Array, len, true);
    clamp('outZp', rq!.outZp, rq!.qmin, rq!.qmax);
    if (rq!.outZp !== out.zeroPoint) fail('outZp', `payload outZp ${rq!.outZp} differs from out.zeroPoint ${out.zeroPoint}`);
  };
  let weights = 0, macs = 0;
  const tensor = (field: string, w: unknown, count: number): void => {
    if (count > QWM_LIMITS.tensorElems) fail(field, `tensor ${field} holds ${count} elements (limit 2^26)`);
    weights += count;
    if (weights > QWM_LIMITS.totalWeights) fail(field, `the weight tensors hold more than 2^28 elements together`);
    if (!withTensors) return;
    if (!(w instanceof Int8Array)) fail(field, `${field} must be an Int8Array`);
    const a = w as Int8Array;
    if (a.length !== count) fail(field, `${field} has ${a.length} elements, the dims give ${count}`);
    const bad = a.indexOf(-128);
    if (bad >= 0) fail(field, `${field}[${bad}] = -128 (weights lie in [-127, 127])`);
  };
  const sparse = (s: SparseSpec | null | undefined, ungrouped: boolean): void => {
    if (s === null) return;
    if (!s || typeof s !== 'object') fail('sparse', 'sparse must be null or a SparseSpec');
    if (!ungrouped) fail('sparse', 'a sparse spec needs a linear or an ungrouped conv (groups 1; grouped and depthwise convs run dense)');
    if (s!.format === 'block') {
      const b = s!.block;
      if (!Array.isArray(b) || b.length !== 2) fail('sparse', 'block format needs block [bk, bn]');
      int('sparse.bk', b![0], 1, 64);
      if (b![1] !== 4 && b![1] !== 8) fail('sparse.bn', `block bn = ${b![1]} must be 4 or 8`);
    } else if (s!.format === 'nm') {
      const p = s!.nm;
      if (!Array.isArray(p) || p.length !== 2) fail('sparse', 'nm format needs nm [keep, group]');
      int('sparse.group', p![1], 2, 16);
      int('sparse.keep', p![0], 1, p![1] - 1);
    } else if (s!.format !== 'csr') fail('sparse', `sparse format ${String(s!.format)} is not csr, block or nm`);
  };
  /** N:M: at most `keep` nonzeros in every `group` consecutive k of each column (the kernel relies on it). */
  const nmCheck = (s: SparseSpec | null, at: (kk: number, j: number) => number, k: number, n: number): void => {
    if (!withTensors || !s || s.format !== 'nm') return;
    const [keep, group] = s.nm!;
    for (let j = 0; j < n; j++) {
      for (let k0 = 0; k0 < k; k0 += group) {
        let c = 0;
        for (let kk = k0; kk < Math.min(k, k0 + group); kk++) if (at(kk, j) !== 0) c++;
        if (c > keep) fail('sparse', `weights are not ${keep}:${group} sparse: column ${j} has ${c} nonzeros in k ${k0}..${Math.min(k, k0 + group) - 1}`);
      }
    }
  };
  const act = (field: string, s: SampleShape): SampleShape => {
    const e = size(s);
    if (e > QWM_LIMITS.activationElems) fail(field, `output [${s.join('×')}] holds ${e} elements per sample (limit 2^24)`);
    return s;
  };
  const image = (s: SampleShape, kind: string): [number, number, number] => {
    if (s.length !== 3) fail('kind', `a ${kind} needs an image input [h, w, c], got [${s.join('×')}]`);
    return s as [number, number, number];
  };
  const shapes = new Map<GraphNode, SampleShape>(), inputs = new Map<GraphNode, SampleShape>();
  let count = 0;
  const seen = new Set<GraphNode>();

  const chain = (nodes: GraphNode[], x: SampleShape, depth: number): SampleShape => {
    if (!Array.isArray(nodes)) fail('nodes', 'node list must be an array');
    for (const node of nodes) {
      index = count++;
      current = node;
      if (count > QWM_LIMITS.nodes) fail('kind', `more than ${QWM_LIMITS.nodes} nodes`);
      if (!node || typeof node !== 'object') { current = null; fail('kind', `node ${index} is not an object`); }
      if (seen.has(node)) fail('kind', 'the same node object appears twice');
      seen.add(node);
      if (typeof node.name !== 'string') fail('name', 'name must be a string');
      if (new TextEncoder().encode(node.name).length > QWM_LIMITS.nameBytes) fail('name', `name is longer than ${QWM_LIMITS.nameBytes} UTF-8 bytes`);
      qp('out', node.out);
      inputs.set(node, x);
      let y: SampleShape;
      switch (node.kind) {
        case 'conv': {
          const [h, w, c] = image(x, 'conv');
          int('oc', node.oc, 1, 65535); int('kh', node.kh, 1, 65535); int('kw', node.kw, 1, 65535);
          int('cg', node.cg, 1, 65535); int('groups', node.groups, 1, 65535);
          if (!Array.isArray(node.stride) || !Array.isArray(node.dilation) || !Array.isArray(node.padding) || node.stride.length !== 2 || node.dilation.length !== 2 || node.padding.length !== 4) {
            fail('stride', 'stride / dilation must be pairs and padding [top, left, bottom, right]');
          }
          int('sh', node.stride[0], 1, 65535); int('sw', node.stride[1], 1, 65535);
          int('dh', node.dilation[0], 1, 65535); int('dw', node.dilation[1], 1, 65535);
          ['pt', 'pl', 'pb', 'pr'].forEach((f, i) => int(f, node.padding[i], 0, 65535));
          if (node.oc % node.groups !== 0) fail('groups', `groups ${node.groups} does not divide oc ${node.oc}`);
          if (node.cg * node.groups !== c) fail('cg', `cg · groups = ${node.cg} · ${node.groups} must equal the input channels ${c}`);
          int('inZp', node.inZp, -128, 127);
          requant(node.rq, node.oc, node.out);
          chan('wScale', node.wScale, Float32Array, node.oc, true);
          chan('bias', node.bias, Int32Array, node.oc, false);
          sparse(node.sparse, node.groups === 1);
          tensor('w', node.w, node.oc * node.kh * node.kw * node.cg);
          // the sparse kernels' K×N view of OHWI weights: W[k][o] = w[o][ky][kx][c], k = (ky·kw + kx)·cg + c
          const kk0 = node.kh * node.kw * node.cg;
          nmCheck(node.sparse, (kk, j) => node.w[j * kk0 + kk], kk0, node.oc);
          const geo = windowGeometry(h, w, node.kh, node.kw, node.stride, node.dilation, node.padding);
          if (!geo) fail('kh', `the (dilated) ${node.kh}×${node.kw} kernel does not fit the padded ${h}×${w} input`);
          y = act('oc', [geo!.oh, geo!.ow, node.oc]);
          macs += geo!.oh * geo!.ow * node.oc * node.kh * node.kw * node.cg;
          break;
        }
        case 'linear': {
          int('k', node.k, 1, QWM_LIMITS.u32Dim); int('n', node.n, 1, QWM_LIMITS.u32Dim);
          if (size(x) !== node.k) fail('k', `k = ${node.k} but the input [${x.join('×')}] holds ${size(x)} values per sample`);
          int('inZp', node.inZp, -128, 127);
          requant(node.rq, node.n, node.out);
          chan('wScale', node.wScale, Float32Array, node.n, true);
          chan('bias', node.bias, Int32Array, node.n, false);
          sparse(node.sparse, true);
          tensor('w', node.w, node.k * node.n);
          nmCheck(node.sparse, (kk, j) => node.w[kk * node.n + j], node.k, node.n);
          y = act('n', [node.n]);
          macs += node.k * node.n;
          break;
        }
        case 'lowrank': {
          int('k', node.k, 1, QWM_LIMITS.u32Dim); int('r', node.r, 1, QWM_LIMITS.u32Dim); int('n', node.n, 1, QWM_LIMITS.u32Dim);
          if (size(x) !== node.k) fail('k', `k = ${node.k} but the input [${x.join('×')}] holds ${size(x)} values per sample`);
          int('inZp', node.inZp, -128, 127);
          qp('mid', node.mid);
          if (!node.midRq || typeof node.midRq !== 'object') fail('midMult', 'midRq is missing');
          chan('midMult', node.midRq.mult, Float32Array, node.r, true);
          if (node.midRq.outZp !== node.mid.zeroPoint || node.midRq.qmin !== -128 || node.midRq.qmax !== 127) {
            fail('midMult', `midRq must be { outZp: mid.zeroPoint (${node.mid.zeroPoint}), qmin: -128, qmax: 127 }`);
          }
          chan('pScale', node.pScale, Float32Array, node.r, true);
          chan('qScale', node.qScale, Float32Array, node.n, true);
          requant(node.rq, node.n, node.out);
          chan('bias', node.bias, Int32Array, node.n, false);
          act('r', [node.r]);
          tensor('p', node.p, node.k * node.r);
          tensor('q', node.q, node.r * node.n);
          y = act('n', [node.n]);
          macs += node.k * node.r + node.r * node.n;
          break;
        }
        case 'maxpool': case 'avgpool': {
          // a pool on flat features [k] sees [1, 1, k] (a standalone activation after a linear)
          const [h, w, c] = x.length === 3 ? x : [1, 1, x[0]];
          int('kh', node.kh, 1, 65535); int('kw', node.kw, 1, 65535);
          if (!Array.isArray(node.stride) || node.stride.length !== 2 || !Array.isArray(node.padding) || node.padding.length !== 4) fail('sh', 'stride must be a pair and padding [top, left, bottom, right]');
          int('sh', node.stride[0], 1, 65535); int('sw', node.stride[1], 1, 65535);
          // every window must hold a pixel: each pad < the kernel size on its axis
          ['pt', 'pl', 'pb', 'pr'].forEach((f, i) => int(f, node.padding[i], 0, (i & 1 ? node.kw : node.kh) - 1));
          if (node.kind === 'avgpool') {
            int('inZp', node.inZp, -128, 127);
            pos('ratio', node.ratio);
            clamp('outZp', node.outZp, node.qmin, node.qmax);
            if (node.outZp !== node.out.zeroPoint) fail('outZp', `payload outZp ${node.outZp} differs from out.zeroPoint ${node.out.zeroPoint}`);
          }
          const geo = windowGeometry(h, w, node.kh, node.kw, node.stride, [1, 1], node.padding);
          if (!geo) fail('kh', `the ${node.kh}×${node.kw} window does not fit the padded ${h}×${w} input`);
          y = act('kh', x.length === 1 && geo!.oh === 1 && geo!.ow === 1 ? [c] : [geo!.oh, geo!.ow, c]);
          macs += geo!.oh * geo!.ow * c * node.kh * node.kw;
          break;
        }
        case 'gap': {
          const [h, w, c] = image(x, 'gap');
          int('inZp', node.inZp, -128, 127);
          pos('ratio', node.ratio);
          clamp('outZp', node.outZp, node.qmin, node.qmax);
          if (node.outZp !== node.out.zeroPoint) fail('outZp', `payload outZp ${node.outZp} differs from out.zeroPoint ${node.out.zeroPoint}`);
          y = [c];
          macs += h * w * c;
          break;
        }
        case 'flatten': y = [size(x)]; break;
        case 'lut':
          if (typeof node.op !== 'string' || !node.op || new TextEncoder().encode(node.op).length > QWM_LIMITS.nameBytes) fail('op', 'op must be a non-empty string (the function, e.g. HardSwish)');
          if (!(node.table instanceof Int8Array) || node.table.length !== 256) fail('table', 'table must be an Int8Array of 256 entries');
          y = x;
          macs += size(x);
          break;
        case 'residual': {
          if (depth + 1 > QWM_LIMITS.depth) fail('kind', `residual nesting deeper than ${QWM_LIMITS.depth}`);
          int('za', node.za, -128, 127); pos('ma', node.ma);
          int('zb', node.zb, -128, 127); pos('mb', node.mb);
          clamp('outZp', node.outZp, node.qmin, node.qmax);
          if (node.outZp !== node.out.zeroPoint) fail('outZp', `payload outZp ${node.outZp} differs from out.zeroPoint ${node.out.zeroPoint}`);
          if (node.shortcut !== null && !Array.isArray(node.shortcut)) fail('hasShortcut', 'shortcut must be null or a node list');
          const self = node, selfIndex = index;
          const a = chain(node.body, x, depth + 1);
          const b = node.shortcut ? chain(node.shortcut, x, depth + 1) : x;
          current = self; index = selfIndex;
          if (size(a) !== size(b)) fail('bodyCount', `body output [${a.join('×')}] and shortcut output [${b.join('×')}] differ in size`);
          y = a;
          macs += size(a);
          break;
        }
        case 'dag': y = dag(node, x, depth); break;
        default: fail('kind', `unknown node kind ${String((node as { kind: unknown }).kind)}`);
      }
      shapes.set(node, y!);
      x = y!;
      if (macs > QWM_LIMITS.macs) fail('kind', 'the graph needs more than 2^32 multiply-accumulates per sample');
    }
    return x;
  };

  /** A DAG node's steps (src/deploy/graph.ts DagStep): inputs index earlier steps, chains nest, merges check shapes. */
  const dag = (node: DagNode, x: SampleShape, depth: number): SampleShape => {
    if (depth + 1 > QWM_LIMITS.depth) fail('kind', `nesting deeper than ${QWM_LIMITS.depth}`);
    if (!Array.isArray(node.steps) || node.steps.length < 1 || node.steps.length > 65535) fail('stepCount', 'steps must be an array of 1..65535 steps');
    const self = node, selfIndex = index, outs: SampleShape[] = [];
    let last: QParams = node.out;
    node.steps.forEach((st, i) => {
      current = self; index = selfIndex;
      const f = `steps[${i}]`;
      if (!st || typeof st !== 'object' || !Array.isArray(st.inputs) || st.inputs.length < 1 || st.inputs.length > 65535) fail(`${f}.inputs`, `${f}.inputs must be a non-empty array`);
      st.inputs.forEach((j, k) => int(`${f}.inputs[${k}]`, j, -1, i - 1));
      const ins = st.inputs.map((j) => (j < 0 ? x : outs[j]));
      if (st.nodes !== undefined) {
        if (st.merge !== undefined) fail(`${f}.op`, `${f} is both a chain and a merge`);
        if (st.inputs.length !== 1) fail(`${f}.inputs`, `${f}: a chain step reads one input, got ${st.inputs.length}`);
        if (!Array.isArray(st.nodes) || st.nodes.length === 0) fail(`${f}.nodeCount`, `${f}: a chain step needs at least one node`);
        outs.push(chain(st.nodes, ins[0], depth + 1));
        current = self; index = selfIndex;
        last = st.nodes[st.nodes.length - 1].out;
        return;
      }
      if (st.merge !== 'add' && st.merge !== 'concat') fail(`${f}.op`, `${f}: merge must be 'add' or 'concat', got ${String(st.merge)}`);
      if (typeof st.name !== 'string' || new TextEncoder().encode(st.name).length > QWM_LIMITS.nameBytes) fail(`${f}.name`, `${f}.name must be a string of at most ${QWM_LIMITS.nameBytes} UTF-8 bytes`);
      qp(`${f}.out`, st.out);
      if (!Array.isArray(st.zp) || !Array.isArray(st.mult) || st.zp.length !== st.inputs.length || st.mult.length !== st.inputs.length) fail(`${f}.zp`, `${f}: zp and mult need one entry per input`);
      st.zp!.forEach((z, k) => int(`${f}.zp[${k}]`, z, -128, 127));
      st.mult!.forEach((m, k) => pos(`${f}.mult[${k}]`, m));
      clamp(`${f}.out.zeroPoint`, st.out!.zeroPoint, st.qmin!, st.qmax!);
      let y: SampleShape;
      if (st.merge === 'add') {
        if (st.inputs.length !== 2) fail(`${f}.inputs`, `${f}: add merges two inputs, got ${st.inputs.length}`);
        if (size(ins[0]) !== size(ins[1])) fail(`${f}.inputs`, `${f}: add of [${ins[0].join('×')}] and [${ins[1].join('×')}] (sizes differ)`);
        y = ins[0];
      } else {
        if (st.inputs.length < 2) fail(`${f}.inputs`, `${f}: concat merges two or more inputs`);
        if (st.qmin !== -128 || st.qmax !== 127) fail(`${f}.qmin`, `${f}: concat clamps to [-128, 127], got [${st.qmin}, ${st.qmax}]`);
        const r = ins[0].length;
        if (ins.some((s) => s.length !== r || (r === 3 && (s[0] !== ins[0][0] || s[1] !== ins[0][1])))) {
          fail(`${f}.inputs`, `${f}: concat needs inputs of the same height and width (or all flat), got ${ins.map((s) => `[${s.join('×')}]`).join(', ')}`);
        }
        const c = ins.reduce((a, s) => a + s[s.length - 1], 0);
        y = act(`${f}.inputs`, r === 3 ? [ins[0][0], ins[0][1]!, c] : [c]);
      }
      macs += size(y);
      outs.push(y);
      last = st.out!;
    });
    current = self; index = selfIndex;
    if (last.scale !== node.out.scale || last.zeroPoint !== node.out.zeroPoint) fail('out', `out (${node.out.scale}, ${node.out.zeroPoint}) differs from the last step's (${last.scale}, ${last.zeroPoint})`);
    return outs[outs.length - 1];
  };

  current = null;
  if (!g || typeof g !== 'object') fail('graph', 'graph must be an object');
  qp('input', g.input);
  qp('output', g.output);
  const s = g.inputShape;
  if (!Array.isArray(s) || s.length !== 3) fail('h', 'inputShape must be [h, w, c]');
  s.forEach((d, i) => int(['h', 'w', 'c'][i], d, 1, QWM_LIMITS.inputDim));
  if (size(s) > QWM_LIMITS.inputElems) fail('h', `input ${s.join('×')} holds more than 2^24 values`);
  if (opts.checkClasses !== false) int('classes', g.classes, 1, QWM_LIMITS.classes);
  if (!Array.isArray(g.nodes) || g.nodes.length === 0) fail('nodes', 'the graph needs at least one node');
  if (!g.meta || typeof g.meta !== 'object' || Array.isArray(g.meta)) fail('meta', 'meta must be a JSON object');
  const out = chain(g.nodes, [s[0], s[1], s[2]], 0);
  current = null;
  if (opts.checkClasses !== false && size(out) !== g.classes) fail('classes', `classes = ${g.classes} but the last node outputs ${size(out)} values per sample`);
  const last = g.nodes[g.nodes.length - 1];
  if (last.out.scale !== g.output.scale || last.out.zeroPoint !== g.output.zeroPoint) {
    fail('output', `output quantisation (${g.output.scale}, ${g.output.zeroPoint}) differs from the last node's (${last.out.scale}, ${last.out.zeroPoint})`);
  }
  return { shapes, inputs, output: out, nodeCount: count, weights, macs };
}
