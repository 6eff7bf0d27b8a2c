// The .qwm model file (docs/QWM.md, version 1): encodeQwm writes an Int8Graph, decodeQwm reads one back.
// The decoder trusts nothing: it checks the header, the length and the CRC, then parses every node with bounds
// checks (recording each field's byte offset for its messages), validates the whole graph and chains every
// activation shape (src/deploy/validate.ts) while the weight tensors are still unexpanded byte ranges, and only
// then materialises them. A file is either returned as a complete, valid graph or rejected with a QwasmError
// naming the node, the field and the byte offset.
// Lookup-table nodes (kind 9, element-wise activations such as HardSwish) were added without a version bump too:
// a reader that predates them rejects kind 9 as unknown. The pure-WASM runner (assembly/qwm_run.ts) does not run them yet.
// DAG nodes (kind 10, an imported Inception-style graph) need version 2: a file holding one says 2 in its header,
// so a reader that predates them rejects it as an unsupported version; files without one stay version 1, byte
// for byte what older writers produced.
// Sparse specs on k×k (non-pointwise) ungrouped convs were added without a version bump: readers written before
// rejected them at the spec byte (as a field out of range) and never misread them, and nothing else changed.
import { QwasmError, toBytes } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { walkGraph, type DagStep, type GraphMeta, type GraphNode, type Int8Graph, type QParams, type SparseSpec } from './graph.js';
import { QWM_LIMITS, validateGraph } from './validate.js';

export const QWM_MAGIC = Uint8Array.of(0x51, 0x57, 0x4d, 0x00);
/** The version a writer puts in a file: 1, or 2 when the graph holds a DAG node (kind 10, docs/QWM.md). */
export const QWM_VERSION = 1;
export const QWM_VERSION_DAG = 2;
const HEADER = 32;

const KIND_CODE: Record<GraphNode['kind'], number> = { conv: 1, linear: 2, lowrank: 3, maxpool: 4, avgpool: 5, gap: 6, flatten: 7, residual: 8, lut: 9, dag: 10 };
const CODE_KIND = ['', 'conv', 'linear', 'lowrank', 'maxpool', 'avgpool', 'gap', 'flatten', 'residual', 'lut', 'dag'] as const;
/** DAG step ops in the file. */
const STEP_OP = { chain: 0, add: 1, concat: 2 } as const;
const SPARSE_CODE = { csr: 1, block: 2, nm: 3 } as const;

/** Quick check: do these bytes start like a .qwm file? */
export function isQwm(input: Uint8Array | ArrayBuffer): boolean {
  const bytes = ArrayBuffer.isView(input) || input instanceof ArrayBuffer ? toBytes('bytes', input) : null;
  return !!bytes && bytes.length >= 4 && QWM_MAGIC.every((b, i) => bytes[i] === b);
}

// ------------------------------------------------------------------------------------------------- writing

class Writer {
  buf = new Uint8Array(1024);
  dv = new DataView(this.buf.buffer);
  p = 0;
  private room(n: number): void {
    if (this.p + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.p + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.p));
    this.buf = b; this.dv = new DataView(b.buffer);
  }
  u8(v: number): void { this.room(1); this.buf[this.p++] = v & 0xff; }
  i8(v: number): void { this.u8(v); }
  u16(v: number): void { this.room(2); this.dv.setUint16(this.p, v, true); this.p += 2; }
  u32(v: number): void { this.room(4); this.dv.setUint32(this.p, v, true); this.p += 4; }
  f32(v: number): void { this.room(4); this.dv.setFloat32(this.p, v, true); this.p += 4; }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.p); this.p += b.length; }
  str(s: string): void { const b = new TextEncoder().encode(s); this.u16(b.length); this.bytes(b); }
  f32s(a: Float32Array): void { for (let i = 0; i < a.length; i++) this.f32(a[i]); }
  i32s(a: Int32Array): void { this.room(4 * a.length); for (let i = 0; i < a.length; i++) { this.dv.setInt32(this.p, a[i], true); this.p += 4; } }
}

/** Gap nibbles of the nonzeros of w (docs/QWM.md "Tensor"): null when the dense encoding is not larger. */
function sparseEncoding(w: Int8Array): { nnz: number; gaps: Uint8Array; values: Int8Array } | null {
  let nnz = 0, nibbles = 0, prev = -1;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    nibbles += Math.floor((i - prev - 1) / 15) + 1;
    prev = i; nnz++;
  }
  const gapBytes = (nibbles + 1) >> 1;
  if (8 + gapBytes + nnz >= w.length) return null;
  const gaps = new Uint8Array(gapBytes), values = new Int8Array(nnz);
  let nib = 0, j = 0;
  const put = (v: number) => { gaps[nib >> 1] |= (nib & 1) ? v << 4 : v; nib++; };
  prev = -1;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    let g = i - prev - 1;
    while (g >= 15) { put(15); g -= 15; }
    put(g);
    values[j++] = w[i];
    prev = i;
  }
  return { nnz, gaps, values };
}

function writeTensor(wr: Writer, w: Int8Array): void {
  const s = sparseEncoding(w);
  if (!s) { wr.u8(0); wr.bytes(new Uint8Array(w.buffer, w.byteOffset, w.length)); return; }
  wr.u8(1); wr.u32(s.nnz); wr.u32(s.gaps.length); wr.bytes(s.gaps);
  wr.bytes(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.length));
}

function writeSparse(wr: Writer, s: SparseSpec | null): void {
  if (!s) { wr.u8(0); wr.u8(0); wr.u8(0); return; }
  wr.u8(SPARSE_CODE[s.format]);
  const [a, b] = s.format === 'block' ? s.block! : s.format === 'nm' ? s.nm! : [0, 0];
  wr.u8(a); wr.u8(b);
}

const pad4 = (p: [number, number, number, number], wr: Writer) => p.forEach((v) => wr.u16(v));

/** What conv and linear records share after their dims: zero points, clamp, sparse spec, scales, bias, weights. */
function writeMatmulTail(wr: Writer, n: Extract<GraphNode, { kind: 'conv' | 'linear' }>): void {
  wr.i8(n.inZp); wr.i8(n.rq.outZp); wr.i8(n.rq.qmin); wr.i8(n.rq.qmax);
  writeSparse(wr, n.sparse);
  wr.f32s(n.wScale); wr.f32s(n.rq.mult); wr.i32s(n.bias);
  writeTensor(wr, n.w);
}

/** Writes one node (not its children); returns its byte count. */
function writeNode(wr: Writer, n: GraphNode): number {
  const start = wr.p;
  wr.u8(KIND_CODE[n.kind]); wr.str(n.name); wr.f32(n.out.scale); wr.i8(n.out.zeroPoint);
  switch (n.kind) {
    case 'conv':
      [n.oc, n.kh, n.kw, n.cg, n.groups, n.stride[0], n.stride[1], n.dilation[0], n.dilation[1]].forEach((v) => wr.u16(v));
      pad4(n.padding, wr);
      writeMatmulTail(wr, n);
      break;
    case 'linear':
      wr.u32(n.k); wr.u32(n.n);
      writeMatmulTail(wr, n);
      break;
    case 'lowrank':
      wr.u32(n.k); wr.u32(n.r); wr.u32(n.n);
      wr.i8(n.inZp); wr.f32(n.mid.scale); wr.i8(n.mid.zeroPoint);
      wr.i8(n.rq.outZp); wr.i8(n.rq.qmin); wr.i8(n.rq.qmax);
      wr.f32s(n.pScale); wr.f32s(n.midRq.mult); wr.f32s(n.qScale); wr.f32s(n.rq.mult); wr.i32s(n.bias);
      writeTensor(wr, n.p); writeTensor(wr, n.q);
      break;
    case 'maxpool': case 'avgpool':
      [n.kh, n.kw, n.stride[0], n.stride[1]].forEach((v) => wr.u16(v));
      pad4(n.padding, wr);
      if (n.kind === 'avgpool') { wr.i8(n.inZp); wr.f32(n.ratio); wr.i8(n.outZp); wr.i8(n.qmin); wr.i8(n.qmax); }
      break;
    case 'gap': wr.i8(n.inZp); wr.f32(n.ratio); wr.i8(n.outZp); wr.i8(n.qmin); wr.i8(n.qmax); break;
    case 'flatten': break;
    case 'lut': wr.str(n.op); wr.bytes(new Uint8Array(n.table.buffer, n.table.byteOffset, 256)); break;
    case 'residual':
      wr.u8(n.shortcut ? 1 : 0); wr.u16(n.body.length); wr.u16(n.shortcut ? n.shortcut.length : 0);
      wr.i8(n.za); wr.f32(n.ma); wr.i8(n.zb); wr.f32(n.mb); wr.i8(n.outZp); wr.i8(n.qmin); wr.i8(n.qmax);
      break;
    case 'dag':
      wr.u16(n.steps.length);
      for (const st of n.steps) {
        wr.u8(st.nodes ? STEP_OP.chain : STEP_OP[st.merge!]);
        wr.u16(st.inputs.length);
        for (const j of st.inputs) wr.u16(j + 1);
        if (st.nodes) { wr.u16(st.nodes.length); continue; }
        wr.str(st.name!); wr.f32(st.out!.scale); wr.i8(st.out!.zeroPoint); wr.i8(st.qmin!); wr.i8(st.qmax!);
        st.zp!.forEach((z, k) => { wr.i8(z); wr.f32(st.mult![k]); });
      }
      break;
  }
  return wr.p - start;
}

/** Bytes each node takes in the file (its own record; a residual's children are counted separately). */
export function qwmNodeBytes(g: Int8Graph): Map<GraphNode, number> {
  const wr = new Writer(), m = new Map<GraphNode, number>();
  walkGraph(g.nodes, (n) => { wr.p = 0; m.set(n, writeNode(wr, n)); });
  return m;
}

/** Serialises a (validated) int8 graph to .qwm bytes. */
export function encodeQwm(g: Int8Graph): Uint8Array {
  const { nodeCount } = validateGraph(g, { what: 'encodeQwm' });
  const meta = new TextEncoder().encode(JSON.stringify(g.meta ?? {}));
  if (meta.length > QWM_LIMITS.fileBytes) throw new QwasmError('encodeQwm: meta is too large');
  const wr = new Writer();
  let dag = false;
  walkGraph(g.nodes, (n) => { if (n.kind === 'dag') dag = true; });
  wr.bytes(QWM_MAGIC); wr.u16(dag ? QWM_VERSION_DAG : QWM_VERSION); wr.u16(0);
  wr.u32(0); wr.u32(0); // length, CRC: patched below
  wr.u32(nodeCount); wr.u32(meta.length); wr.u32(0); wr.u32(0);
  const [h, w, c] = g.inputShape;
  wr.u16(h); wr.u16(w); wr.u16(c);
  wr.f32(g.input.scale); wr.i8(g.input.zeroPoint); wr.f32(g.output.scale); wr.i8(g.output.zeroPoint);
  wr.u32(g.classes);
  walkGraph(g.nodes, (n) => { writeNode(wr, n); });
  wr.bytes(meta);
  if (wr.p > QWM_LIMITS.fileBytes) throw new QwasmError(`encodeQwm: the file would be ${wr.p} bytes (limit 2^30)`);
  const out = wr.buf.slice(0, wr.p);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, out.length, true);
  dv.setUint32(12, crc32(out, 0, 16, out.length), true);
  return out;
}

// ------------------------------------------------------------------------------------------------- reading

/** An unexpanded weight tensor: where its bytes are (phase 1), expanded after the graph validated (phase 2). */
interface LazyTensor { node: GraphNode; field: 'w' | 'p' | 'q'; at: number; count: number; enc: number; nnz: number; gapAt: number; gapBytes: number; valAt: number }

/**
 * Parses and fully validates .qwm bytes; throws a QwasmError naming the first problem (node, field, byte offset).
 * Nothing larger than the file is allocated before every dimension and activation shape has been checked.
 */
// Long (~225 lines, readNodes ~105): one parser whose field readers close over the cursor and the per-field
// byte offsets that every error message reports; split into functions, each would need that whole state.
export function decodeQwm(src: Uint8Array | ArrayBuffer, what = 'qwm'): Int8Graph {
  const bytes = toBytes(`${what}: bytes`, src);
  const len = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets = new Map<GraphNode | null, Record<string, number>>();
  const nodeStart = new Map<GraphNode, number>();
  let cur: { node: GraphNode | null; index: number; fields: Record<string, number> } = { node: null, index: -1, fields: {} };
  offsets.set(null, cur.fields);
  const who = () => (cur.node ? `node ${cur.index} (${cur.node.kind} '${cur.node.name}')` : cur.index >= 0 ? `node ${cur.index}` : 'header');
  const fail = (msg: string, at: number): never => { throw new QwasmError(`${what}: ${who()}: ${msg} at byte ${at}`); };
  if (len < HEADER + 20) throw new QwasmError(`${what}: truncated or not a .qwm file (${len} bytes; header and graph header take 52)`);
  if (!isQwm(bytes)) throw new QwasmError(`${what}: not a .qwm file (bad magic) at byte 0`);
  const version = dv.getUint16(4, true);
  if (version !== QWM_VERSION && version !== QWM_VERSION_DAG) fail(`unsupported format version ${version} (this reader reads ${QWM_VERSION} and ${QWM_VERSION_DAG})`, 4);
  if (dv.getUint16(6, true) !== 0) fail(`flags = ${dv.getUint16(6, true)} must be 0`, 6);
  const total = dv.getUint32(8, true);
  if (total !== len) fail(total > len ? `truncated: the header says ${total} bytes, ${len} present` : `the header says ${total} bytes but there are ${len} (trailing data or a corrupt header)`, 8);
  if (len > QWM_LIMITS.fileBytes) fail(`file of ${len} bytes exceeds 2^30`, 8);
  const crc = dv.getUint32(12, true);
  if (crc32(bytes, 0, 16, len) !== crc) fail('CRC-32 mismatch (the file is corrupt)', 12);
  const nodeCount = dv.getUint32(16, true), metaLen = dv.getUint32(20, true);
  if (nodeCount < 1 || nodeCount > QWM_LIMITS.nodes) fail(`node count ${nodeCount} outside [1, ${QWM_LIMITS.nodes}]`, 16);
  if (metaLen > len - HEADER - 20) fail(`meta length ${metaLen} exceeds the file`, 20);
  for (let i = 24; i < 32; i++) if (bytes[i] !== 0) fail('reserved bytes must be 0', i);
  const end = len - metaLen; // nodes end here
  let p = HEADER;
  const need = (n: number, field: string) => { if (p + n > end) fail(`truncated: ${field} needs ${n} bytes, ${Math.max(0, end - p)} left before the meta block`, p); };
  const mark = (field: string) => { cur.fields[field] = p; };
  const u8 = (f: string) => { need(1, f); mark(f); return bytes[p++]; };
  const i8 = (f: string) => { need(1, f); mark(f); return dv.getInt8(p++); };
  const u16 = (f: string) => { need(2, f); mark(f); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = (f: string) => { need(4, f); mark(f); const v = dv.getUint32(p, true); p += 4; return v; };
  // dimensions are checked as they are read: a zero would otherwise shift the tensor that follows
  const dim = (f: string) => { const at = p, v = u16(f); if (v < 1) fail(`${f} = ${v} outside [1, 65535]`, at); return v; };
  const dim32 = (f: string) => { const at = p, v = u32(f); if (v < 1 || v > QWM_LIMITS.u32Dim) fail(`${f} = ${v} outside [1, ${QWM_LIMITS.u32Dim}]`, at); return v; };
  const f32 = (f: string) => { need(4, f); mark(f); const v = dv.getFloat32(p, true); p += 4; return v; };
  const f32s = (f: string, n: number) => {
    need(4 * n, f); mark(f);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++, p += 4) a[i] = dv.getFloat32(p, true);
    return a;
  };
  const i32s = (f: string, n: number) => {
    need(4 * n, f); mark(f);
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++, p += 4) a[i] = dv.getInt32(p, true);
    return a;
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const str = (f: string, max: number) => {
    const n = u16(`${f} length`);
    if (n > max) fail(`${f} is ${n} bytes (limit ${max})`, p - 2);
    need(n, f);
    try { const s = utf8.decode(bytes.subarray(p, p + n)); p += n; return s; } catch { return fail(`${f} is not valid UTF-8`, p); }
  };
  const qp = (f: string): QParams => { const scale = f32(`${f}.scale`); const zeroPoint = i8(`${f}.zeroPoint`); return { scale, zeroPoint }; };
  const pair = (a: string, b: string): [number, number] => [dim(a), dim(b)];
  const pad = (): [number, number, number, number] => [u16('pt'), u16('pl'), u16('pb'), u16('pr')];
  const lazy: LazyTensor[] = [];
  const tensor = (node: GraphNode, field: 'w' | 'p' | 'q', count: number): Int8Array => {
    const at = p;
    const enc = u8(`${field} encoding`);
    mark(field);
    if (count > QWM_LIMITS.tensorElems) fail(`tensor ${field} would hold ${count} elements (limit 2^26)`, at);
    if (enc === 0) { need(count, field); lazy.push({ node, field, at, count, enc, nnz: 0, gapAt: 0, gapBytes: 0, valAt: p }); p += count; }
    else if (enc === 1) {
      const nnz = u32(`${field} nnz`), gapBytes = u32(`${field} gapBytes`);
      if (nnz > count) fail(`tensor ${field}: nnz ${nnz} exceeds its ${count} elements`, at + 1);
      if (gapBytes > end - p) fail(`truncated: tensor ${field} gap block of ${gapBytes} bytes`, at + 5);
      const gapAt = p; p += gapBytes;
      need(nnz, `${field} values`);
      lazy.push({ node, field, at, count, enc, nnz, gapAt, gapBytes, valAt: p });
      p += nnz;
    } else fail(`tensor ${field}: unknown encoding ${enc} (0 dense, 1 sparse)`, at);
    return new Int8Array(0); // placeholder until phase 2
  };
  const sparseSpec = (): SparseSpec | null => {
    const at = p, f = u8('sparse'), a = u8('sparse.a'), b = u8('sparse.b');
    cur.fields['sparse.bk'] = cur.fields['sparse.keep'] = at + 1;
    cur.fields['sparse.bn'] = cur.fields['sparse.group'] = at + 2;
    if (f === 0 || f === 1) { if (a !== 0 || b !== 0) fail(`sparse spec ${f === 0 ? 'dense' : 'csr'} must have a = b = 0, got ${a}, ${b}`, at + 1); return f === 0 ? null : { format: 'csr' }; }
    if (f === 2) return { format: 'block', block: [a, b] };
    if (f === 3) return { format: 'nm', nm: [a, b] };
    return fail(`unknown sparse format ${f} (0 dense, 1 csr, 2 block, 3 nm)`, at);
  };

  let count = 0;
  const readNodes = (n: number, depth: number): GraphNode[] => {
    const list: GraphNode[] = [];
    for (let i = 0; i < n; i++) {
      if (count >= nodeCount) fail(`more nodes than the header's node count ${nodeCount}`, p);
      const start = p;
      cur = { node: null, index: count++, fields: {} };
      const code = u8('kind');
      if (code < 1 || code >= CODE_KIND.length) fail(`unknown node kind ${code}`, start);
      if (code === KIND_CODE.dag && version < QWM_VERSION_DAG) fail(`node kind ${code} (dag) needs format version ${QWM_VERSION_DAG}, the file says ${version}`, start);
      const kind = CODE_KIND[code];
      const name = str('name', QWM_LIMITS.nameBytes);
      const out = qp('out');
      const base = { name, out };
      let node: GraphNode;
      const fields = cur.fields;
      // the record is named as soon as its kind and name are known
      const named = (nd: GraphNode) => { cur.node = nd; offsets.set(nd, fields); nodeStart.set(nd, start); return nd; };
      switch (kind) {
        case 'conv': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'conv' }>;
          nd.oc = dim('oc'); nd.kh = dim('kh'); nd.kw = dim('kw'); nd.cg = dim('cg'); nd.groups = dim('groups');
          nd.stride = pair('sh', 'sw'); nd.dilation = pair('dh', 'dw'); nd.padding = pad();
          nd.inZp = i8('inZp');
          const outZp = i8('outZp'), qmin = i8('qmin'), qmax = i8('qmax');
          nd.sparse = sparseSpec();
          nd.wScale = f32s('wScale', nd.oc);
          const mult = f32s('mult', nd.oc);
          nd.rq = { mult, outZp, qmin, qmax };
          nd.bias = i32s('bias', nd.oc);
          nd.w = tensor(nd, 'w', nd.oc * nd.kh * nd.kw * nd.cg);
          node = nd;
          break;
        }
        case 'linear': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'linear' }>;
          nd.k = dim32('k'); nd.n = dim32('n');
          nd.inZp = i8('inZp');
          const outZp = i8('outZp'), qmin = i8('qmin'), qmax = i8('qmax');
          nd.sparse = sparseSpec();
          nd.wScale = f32s('wScale', nd.n);
          nd.rq = { mult: f32s('mult', nd.n), outZp, qmin, qmax };
          nd.bias = i32s('bias', nd.n);
          nd.w = tensor(nd, 'w', nd.k * nd.n);
          node = nd;
          break;
        }
        case 'lowrank': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'lowrank' }>;
          nd.k = dim32('k'); nd.r = dim32('r'); nd.n = dim32('n');
          nd.inZp = i8('inZp');
          nd.mid = qp('mid');
          const outZp = i8('outZp'), qmin = i8('qmin'), qmax = i8('qmax');
          nd.pScale = f32s('pScale', nd.r);
          nd.midRq = { mult: f32s('midMult', nd.r), outZp: nd.mid.zeroPoint, qmin: -128, qmax: 127 };
          nd.qScale = f32s('qScale', nd.n);
          nd.rq = { mult: f32s('mult', nd.n), outZp, qmin, qmax };
          nd.bias = i32s('bias', nd.n);
          nd.p = tensor(nd, 'p', nd.k * nd.r);
          nd.q = tensor(nd, 'q', nd.r * nd.n);
          node = nd;
          break;
        }
        case 'maxpool': case 'avgpool': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'maxpool' | 'avgpool' }>;
          nd.kh = dim('kh'); nd.kw = dim('kw'); nd.stride = pair('sh', 'sw'); nd.padding = pad();
          if (nd.kind === 'avgpool') { nd.inZp = i8('inZp'); nd.ratio = f32('ratio'); nd.outZp = i8('outZp'); nd.qmin = i8('qmin'); nd.qmax = i8('qmax'); }
          node = nd;
          break;
        }
        case 'gap': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'gap' }>;
          nd.inZp = i8('inZp'); nd.ratio = f32('ratio'); nd.outZp = i8('outZp'); nd.qmin = i8('qmin'); nd.qmax = i8('qmax');
          node = nd;
          break;
        }
        case 'flatten': node = named({ kind, ...base }); break;
        case 'lut': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'lut' }>;
          nd.op = str('op', QWM_LIMITS.nameBytes);
          need(256, 'table'); mark('table');
          nd.table = Int8Array.from(bytes.subarray(p, p + 256), (b) => (b << 24) >> 24);
          p += 256;
          node = nd;
          break;
        }
        case 'residual': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'residual' }>;
          const has = u8('hasShortcut');
          if (has > 1) fail(`hasShortcut = ${has} must be 0 or 1`, fields.hasShortcut);
          const bodyCount = u16('bodyCount'), shortcutCount = u16('shortcutCount');
          if (!has && shortcutCount !== 0) fail(`shortcutCount = ${shortcutCount} without a shortcut`, fields.shortcutCount);
          if (bodyCount + shortcutCount > nodeCount - count) fail(`${bodyCount} + ${shortcutCount} children exceed the ${nodeCount - count} nodes left`, fields.bodyCount);
          nd.za = i8('za'); nd.ma = f32('ma'); nd.zb = i8('zb'); nd.mb = f32('mb');
          nd.outZp = i8('outZp'); nd.qmin = i8('qmin'); nd.qmax = i8('qmax');
          if (depth + 1 > QWM_LIMITS.depth) fail(`residual nesting deeper than ${QWM_LIMITS.depth}`, start);
          const self = cur;
          nd.body = readNodes(bodyCount, depth + 1);
          nd.shortcut = has ? readNodes(shortcutCount, depth + 1) : null;
          cur = self;
          node = nd;
          break;
        }
        case 'dag': {
          const nd = named({ kind, ...base } as GraphNode) as Extract<GraphNode, { kind: 'dag' }>;
          const stepCount = dim('stepCount');
          if (depth + 1 > QWM_LIMITS.depth) fail(`nesting deeper than ${QWM_LIMITS.depth}`, start);
          nd.steps = [];
          const counts: number[] = [];
          let children = 0;
          for (let i = 0; i < stepCount; i++) {
            const f = `steps[${i}]`, opAt = p, op = u8(`${f}.op`);
            if (op > 2) fail(`${f}: unknown step op ${op} (0 chain, 1 add, 2 concat)`, opAt);
            const inputs: number[] = [];
            const ni = dim(`${f}.inputs`);
            for (let k = 0; k < ni; k++) {
              const at = p, j = u16(`${f}.inputs[${k}]`) - 1;
              if (j >= i) fail(`${f}.inputs[${k}] = ${j + 1} does not name the DAG input (0) or an earlier step`, at);
              inputs.push(j);
            }
            const st: DagStep = { inputs };
            if (op === STEP_OP.chain) {
              const c = dim(`${f}.nodeCount`);
              if (children + c > nodeCount - count) fail(`${f}: ${children + c} children exceed the ${nodeCount - count} nodes left`, fields[`${f}.nodeCount`]);
              children += c;
              counts.push(c);
              st.nodes = [];
            } else {
              st.merge = op === STEP_OP.add ? 'add' : 'concat';
              st.name = str(`${f}.name`, QWM_LIMITS.nameBytes);
              st.out = qp(`${f}.out`);
              st.qmin = i8(`${f}.qmin`); st.qmax = i8(`${f}.qmax`);
              st.zp = []; st.mult = [];
              for (let k = 0; k < ni; k++) { st.zp.push(i8(`${f}.zp[${k}]`)); st.mult.push(f32(`${f}.mult[${k}]`)); }
            }
            nd.steps.push(st);
          }
          const self = cur;
          let c = 0;
          for (const st of nd.steps) if (st.nodes) st.nodes = readNodes(counts[c++], depth + 1);
          cur = self;
          node = nd;
          break;
        }
      }
      list.push(node!);
    }
    return list;
  };

  cur = { node: null, index: -1, fields: offsets.get(null)! };
  p = HEADER;
  const h = u16('h'), w = u16('w'), c = u16('c');
  const input = qp('input'), output = qp('output');
  const classes = u32('classes');
  const header = cur;
  const nodes: GraphNode[] = [];
  while (count < nodeCount) nodes.push(...readNodes(1, 0));
  cur = header;
  if (p !== end) fail(`${end - p} unexplained bytes between the last node and the meta block`, p);
  let meta: unknown;
  try { meta = JSON.parse(utf8.decode(bytes.subarray(end, len))); } catch (e) { fail(`meta is not UTF-8 JSON (${(e as Error).message})`, end); }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) fail('meta is not a JSON object', end);
  const graph: Int8Graph = { input, inputShape: [h, w, c], output, classes, nodes, meta: meta as GraphMeta };
  const locate = (node: GraphNode | null, field: string) => {
    const at = offsets.get(node)?.[field] ?? (node ? nodeStart.get(node) : undefined);
    return at === undefined ? '' : ` at byte ${at}`;
  };
  // phase 1: every field, dimension and activation shape, with the tensors still unexpanded
  validateGraph(graph, { tensors: false, locate, what });
  // phase 2: expand the tensors (their sizes are now known to be sane)
  const index = new Map<GraphNode, number>();
  let k = 0;
  walkGraph(nodes, (n) => { index.set(n, k++); });
  for (const t of lazy) {
    cur = { node: t.node, index: index.get(t.node)!, fields: offsets.get(t.node)! };
    (t.node as unknown as Record<string, Int8Array>)[t.field] = expandTensor(bytes, t, fail);
  }
  // the N:M structure needs the values
  validateGraph(graph, { tensors: true, locate, what });
  return graph;
}

function expandTensor(bytes: Uint8Array, t: LazyTensor, fail: (msg: string, at: number) => never): Int8Array {
  const a = new Int8Array(t.count);
  const src = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (t.enc === 0) {
    a.set(src.subarray(t.valAt, t.valAt + t.count));
    const bad = a.indexOf(-128);
    if (bad >= 0) fail(`tensor ${t.field}[${bad}] = -128 (weights lie in [-127, 127])`, t.valAt + bad);
    return a;
  }
  // gap nibbles, low half first: 15 = "15 more zeros, continue", 0..14 = that many zeros then a kept entry
  let idx = -1, acc = 0, j = 0, nib = 0;
  const total = 2 * t.gapBytes;
  for (; nib < total && j < t.nnz; nib++) {
    const byte = bytes[t.gapAt + (nib >> 1)], v = nib & 1 ? byte >> 4 : byte & 15;
    if (v === 15) { acc += 15; if (idx + acc >= t.count) fail(`tensor ${t.field}: gap runs past its ${t.count} elements`, t.gapAt + (nib >> 1)); continue; }
    idx += acc + v + 1; acc = 0;
    if (idx >= t.count) fail(`tensor ${t.field}: kept index ${idx} ≥ its ${t.count} elements`, t.gapAt + (nib >> 1));
    const val = src[t.valAt + j];
    if (val === 0 || val === -128) fail(`tensor ${t.field}: kept value ${j} is ${val} (nonzero, in [-127, 127])`, t.valAt + j);
    a[idx] = val;
    j++;
  }
  if (j < t.nnz) fail(`tensor ${t.field}: the gap block codes ${j} indices, nnz is ${t.nnz}`, t.gapAt);
  if (acc !== 0) fail(`tensor ${t.field}: gap block ends inside a run of 15s`, t.gapAt);
  if ((nib + 1) >> 1 !== t.gapBytes) fail(`tensor ${t.field}: gapBytes = ${t.gapBytes}, the ${t.nnz} indices take ${(nib + 1) >> 1}`, t.gapAt - 4);
  if (nib & 1 && bytes[t.gapAt + (nib >> 1)] >> 4 !== 0) fail(`tensor ${t.field}: the padding nibble is not 0`, t.gapAt + (nib >> 1));
  return a;
}

