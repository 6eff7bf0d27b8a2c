// `qwasm info`: what a .qwm file holds — layers, kinds, shapes, bytes, quantisation, sparsity — without running it.
import { decodeQwm, qwmNodeBytes } from '../deploy/qwm.js';
import { validateGraph } from '../deploy/validate.js';
import { childLists, type GraphNode, type Int8Graph } from '../deploy/graph.js';
import { FLAGS, UsageError, type Args, type CommandSpec } from './args.js';
import { expectKind, readInput } from './files.js';
import type { Command } from './main.js';

const spec: CommandSpec = {
  name: 'info',
  summary: 'show the layers, sizes, quantisation and sparsity of a .qwm model',
  synopsis: ['qwasm info MODEL.qwm [flags]'],
  about: `Prints the layers of an int8 .qwm model: kind, kernel (dense / sparse format / low-rank), output shape,
weights and their density, bytes in the file, output scale and zero point, and the file's metadata.`,
  positionals: true,
  // --build / --threads: accepted like everywhere (info reads the file without running a kernel)
  sections: [['', { build: FLAGS.build, threads: FLAGS.threads, json: FLAGS.json }]],
};

export interface LayerReport {
  name: string; kind: string; depth: number;
  /** Kernel: conv, dense, csr, block bk×bn, nm keep:group, lowrank. */
  kernel?: string;
  /** Output shape per sample. */
  shape: number[];
  weights?: number; nonzeros?: number; density?: number;
  bytes: number; scale: number; zeroPoint: number;
  /** Output clamp (fused activation). */
  clamp?: [number, number];
  /** Extra geometry (kernel, stride, padding, groups; linear k×n; low-rank k×r×n). */
  detail?: string;
}

export function describeGraph(g: Int8Graph, fileBytes: number) {
  const v = validateGraph(g), shapes = v.shapes, bytes = qwmNodeBytes(g), layers: LayerReport[] = [];
  const walk = (nodes: GraphNode[], depth: number) => {
    for (const n of nodes) {
      const r: LayerReport = { name: n.name, kind: n.kind, depth, shape: [...shapes.get(n)!], bytes: bytes.get(n)!, scale: n.out.scale, zeroPoint: n.out.zeroPoint };
      const ws = n.kind === 'conv' || n.kind === 'linear' ? [n.w] : n.kind === 'lowrank' ? [n.p, n.q] : [];
      if (ws.length) {
        let nz = 0, all = 0;
        for (const w of ws) { all += w.length; for (let i = 0; i < w.length; i++) if (w[i] !== 0) nz++; }
        r.weights = all; r.nonzeros = nz; r.density = nz / all;
      }
      if (n.kind === 'conv' || n.kind === 'linear') {
        const s = n.sparse;
        r.kernel = s ? (s.format === 'block' ? `block ${s.block!.join('×')}` : s.format === 'nm' ? `nm ${s.nm!.join(':')}` : 'csr') : n.kind === 'conv' ? 'conv' : 'dense';
        r.clamp = [n.rq.qmin, n.rq.qmax];
      }
      if (n.kind === 'lowrank') { r.kernel = 'lowrank'; r.clamp = [n.rq.qmin, n.rq.qmax]; r.detail = `${n.k}×${n.r}×${n.n}`; }
      if (n.kind === 'conv') r.detail = `${n.kh}×${n.kw} s${n.stride.join(',')} d${n.dilation.join(',')} p${n.padding.join(',')}${n.groups > 1 ? ` g${n.groups}` : ''}`;
      if (n.kind === 'linear') r.detail = `${n.k}×${n.n}`;
      if (n.kind === 'maxpool' || n.kind === 'avgpool') r.detail = `${n.kh}×${n.kw} s${n.stride.join(',')} p${n.padding.join(',')}`;
      if (n.kind === 'avgpool' || n.kind === 'gap' || n.kind === 'residual') r.clamp = [n.qmin, n.qmax];
      if (n.kind === 'residual') r.detail = n.shortcut ? 'projection shortcut' : 'identity shortcut';
      if (n.kind === 'dag') {
        const merges = n.steps.filter((s) => s.merge), copies = merges.flatMap((s) => (s.merge === 'concat' ? s.mult! : [])).filter((m) => m === 1).length;
        r.detail = `${n.steps.length} steps: ${merges.filter((s) => s.merge === 'concat').length} concat (${copies} inputs copied), ${merges.filter((s) => s.merge === 'add').length} add`;
      }
      layers.push(r);
      for (const l of childLists(n)) walk(l, depth + 1);
    }
  };
  walk(g.nodes, 0);
  const weights = layers.reduce((a, l) => a + (l.weights ?? 0), 0), nonzeros = layers.reduce((a, l) => a + (l.nonzeros ?? 0), 0);
  return {
    bytes: fileBytes, inputShape: g.inputShape, classes: g.classes, input: g.input, output: g.output,
    nodes: layers.length, weights, nonzeros, sparsity: weights ? 1 - nonzeros / weights : 0, macs: v.macs, layers, meta: g.meta,
  };
}

async function run(args: Args): Promise<number> {
  if (args.positional.length !== 1) throw new UsageError('give one MODEL.qwm file');
  const file = args.positional[0];
  const bytes = readInput('MODEL', file);
  expectKind('info', file, bytes, ['qwm', 'other']);
  const d = describeGraph(decodeQwm(bytes, file), bytes.length);
  if (args.bool('json')) { console.log(JSON.stringify({ file, ...d })); return 0; }
  const meta = d.meta as Record<string, unknown>;
  console.log(`${file}: .qwm v${new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true)}, ${d.bytes} bytes, ${d.nodes} nodes, ${d.weights} int8 weights (${(d.sparsity * 100).toFixed(1)} % zero), ${d.macs} MACs per sample`);
  console.log(`input ${d.inputShape.join('×')} (scale ${d.input.scale.toPrecision(6)}, zero point ${d.input.zeroPoint}) → ${d.classes} classes (scale ${d.output.scale.toPrecision(6)}, zero point ${d.output.zeroPoint})`);
  if (Array.isArray(meta.labels)) console.log(`labels: ${(meta.labels as string[]).join(', ')}`);
  if (meta.mean !== undefined) console.log(`normalisation: mean ${JSON.stringify(meta.mean)}, std ${JSON.stringify(meta.std)}`);
  const rows = d.layers.map((l) => [
    `${'  '.repeat(l.depth)}${l.name}`, l.kind, l.kernel ?? '', l.detail ?? '', l.shape.join('×'), l.weights !== undefined ? String(l.weights) : '',
    l.density !== undefined ? `${(l.density * 100).toFixed(1)}%` : '', String(l.bytes), l.scale.toPrecision(4), String(l.zeroPoint), l.clamp ? `[${l.clamp.join(', ')}]` : '',
  ]);
  const head = ['layer', 'kind', 'kernel', 'geometry', 'output', 'weights', 'density', 'bytes', 'scale', 'zp', 'clamp'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd());
  return 0;
}

export const command: Command = { spec, run };
