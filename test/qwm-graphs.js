// Shared by test/qwm.test.js and test/fuzz.test.js: random valid Int8Graphs (every node kind, sparse specs,
// nested residuals), small converted models, and a structural comparison of graphs.
import { Engine, buildModel, createDataset, quantizeStatic, convertToInt8 } from '../dist/index.js';

const f32 = Math.fround;

/**
 * Random valid graph (see src/deploy/graph.ts) from an rng of test/helpers.js, of every node kind.
 * opts.inputShape overrides the 3–9 px input; opts.spatial = k makes the first k steps spatial (conv, pools,
 * residual blocks) before the usual random tail (test/intra-op.test.js).
 */
export function randomGraph(r, opts = {}) {
  const inputShape = opts.inputShape ?? [r.int(3, 9), r.int(3, 9), r.int(1, 4)];
  const qp = () => ({ scale: f32(0.005 + r.float() * 0.1), zeroPoint: r.int(-128, 127) });
  const clampAround = (zp) => { const lo = r.int(-128, zp), hi = r.int(zp, 127); return r.int(0, 2) ? [-128, 127] : [lo, hi]; };
  const f32s = (n, lo, hi) => Float32Array.from({ length: n }, () => f32(lo + r.float() * (hi - lo)));
  const i32s = (n) => Int32Array.from({ length: n }, () => r.int(-5000, 5000));
  const weights = (n, density) => Int8Array.from({ length: n }, () => (r.float() < density ? r.int(-127, 127) || 1 : 0));
  const requant = (len) => {
    const out = qp(), [qmin, qmax] = clampAround(out.zeroPoint);
    return { out, rq: { mult: f32s(len, 0.0005, 0.05), outZp: out.zeroPoint, qmin, qmax } };
  };
  const size = (s) => s.reduce((a, b) => a * b, 1);
  const sparseSpec = () => {
    const v = r.int(0, 3);
    return v === 0 ? null : v === 1 ? { format: 'csr' } : v === 2 ? { format: 'block', block: [r.int(1, 4), r.int(0, 1) ? 4 : 8] } : { format: 'nm', nm: [1, 4] };
  };
  /** Zeroes a K×N view so each column keeps ≤ keep nonzeros per group. */
  const enforceNm = (spec, at, set, k, n) => {
    if (!spec || spec.format !== 'nm') return;
    const [keep, group] = spec.nm;
    for (let j = 0; j < n; j++) for (let k0 = 0; k0 < k; k0 += group) {
      let c = 0;
      for (let kk = k0; kk < Math.min(k, k0 + group); kk++) if (at(kk, j) !== 0 && ++c > keep) set(kk, j, 0);
    }
  };
  let counter = 0;
  const name = (k) => `${k}${counter++}`;

  const conv = (s, opts = {}) => {
    const [h, w, c] = s;
    for (let tries = 0; tries < 20; tries++) {
      const depthwise = !opts.pointwise && !opts.oc && r.int(0, 4) === 0;
      const groups = depthwise ? c : 1, cg = c / groups;
      const oc = opts.oc ?? (depthwise ? c * r.int(1, 2) : r.int(1, 8));
      const pw = opts.pointwise ?? r.int(0, 3) === 0;
      const kh = opts.k ?? (pw ? 1 : r.int(1, 3)), kw = opts.k ?? (pw ? 1 : r.int(1, 3));
      const stride = opts.stride ? [opts.stride, opts.stride] : pw ? [1, 1] : [r.int(1, 2), r.int(1, 2)];
      const dilation = pw || opts.k ? [1, 1] : [r.int(1, 2), r.int(1, 2)];
      const padding = opts.pad !== undefined ? [opts.pad, opts.pad, opts.pad, opts.pad] : pw ? [0, 0, 0, 0] : [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
      const ekh = (kh - 1) * dilation[0] + 1, ekw = (kw - 1) * dilation[1] + 1;
      if (h + padding[0] + padding[2] < ekh || w + padding[1] + padding[3] < ekw) continue;
      const oh = Math.floor((h + padding[0] + padding[2] - ekh) / stride[0]) + 1, ow = Math.floor((w + padding[1] + padding[3] - ekw) / stride[1]) + 1;
      // any ungrouped conv may run sparse (pointwise ones straight on the GEMM, others through im2col)
      const sparse = groups === 1 ? sparseSpec() : null;
      const wt = weights(oc * kh * kw * cg, sparse ? 0.2 : r.int(0, 3) ? 0.9 : 0.1);
      const kc = kh * kw * cg; // the K×N view: W[k][o] = w[o][k]
      enforceNm(sparse, (kk, j) => wt[j * kc + kk], (kk, j, v) => { wt[j * kc + kk] = v; }, kc, oc);
      const { out, rq } = requant(oc);
      const node = { kind: 'conv', name: name('conv'), out, w: wt, oc, kh, kw, cg, groups, stride, dilation, padding, inZp: r.int(-128, 127), bias: i32s(oc), wScale: f32s(oc, 0.001, 0.1), rq, sparse };
      return { node, shape: [oh, ow, oc] };
    }
    return null;
  };
  const linear = (s, n = r.int(1, 12)) => {
    const k = size(s), sparse = sparseSpec(), wt = weights(k * n, sparse ? 0.15 : 0.9);
    enforceNm(sparse, (kk, j) => wt[kk * n + j], (kk, j, v) => { wt[kk * n + j] = v; }, k, n);
    const { out, rq } = requant(n);
    return { node: { kind: 'linear', name: name('fc'), out, w: wt, k, n, inZp: r.int(-128, 127), bias: i32s(n), wScale: f32s(n, 0.001, 0.1), rq, sparse }, shape: [n] };
  };
  const lowrank = (s) => {
    const k = size(s), rk = r.int(1, 4), n = r.int(1, 10), mid = qp(), { out, rq } = requant(n);
    return { node: { kind: 'lowrank', name: name('lr'), out, p: weights(k * rk, 0.8), q: weights(rk * n, 0.8), k, r: rk, n, inZp: r.int(-128, 127),
      pScale: f32s(rk, 0.001, 0.1), qScale: f32s(n, 0.001, 0.1), midRq: { mult: f32s(rk, 0.001, 0.05), outZp: mid.zeroPoint, qmin: -128, qmax: 127 }, mid, bias: i32s(n), rq }, shape: [n] };
  };
  const pool = (s, kind) => {
    const [h, w, c] = s.length === 3 ? s : [1, 1, s[0]];
    const kh = Math.min(h, r.int(1, 3)), kw = Math.min(w, r.int(1, 3));
    const stride = [r.int(1, 2), r.int(1, 2)], padding = [r.int(0, kh - 1), r.int(0, kw - 1), r.int(0, kh - 1), r.int(0, kw - 1)];
    const oh = Math.floor((h + padding[0] + padding[2] - kh) / stride[0]) + 1, ow = Math.floor((w + padding[1] + padding[3] - kw) / stride[1]) + 1;
    const shape = s.length === 1 && oh === 1 && ow === 1 ? [c] : [oh, ow, c];
    if (kind === 'maxpool') return { node: { kind, name: name('mp'), out: qp(), kh, kw, stride, padding }, shape };
    const out = qp(), [qmin, qmax] = clampAround(out.zeroPoint);
    return { node: { kind, name: name('ap'), out, kh, kw, stride, padding, inZp: r.int(-128, 127), ratio: f32(0.2 + r.float() * 2), outZp: out.zeroPoint, qmin, qmax }, shape };
  };
  const gap = (s) => {
    const out = qp(), [qmin, qmax] = clampAround(out.zeroPoint);
    return { node: { kind: 'gap', name: name('gap'), out, inZp: r.int(-128, 127), ratio: f32(0.2 + r.float() * 2), outZp: out.zeroPoint, qmin, qmax }, shape: [s[2]] };
  };
  const residual = (s, depth, keep = false) => {
    const st = keep ? 1 : r.int(1, 2), oc = keep || r.int(0, 1) ? s[2] : r.int(1, 6);
    const a = conv(s, { k: 3, pad: 1, stride: st, oc });
    const body = [a.node];
    let shape = a.shape;
    if (depth < 2 && r.int(0, 2) === 0) { const inner = residual(shape, depth + 1, true); body.push(inner.node); shape = inner.shape; }
    else { const b = conv(shape, { k: 3, pad: 1, stride: 1, oc }); body.push(b.node); }
    const shortcut = st === 1 && oc === s[2] && r.int(0, 1) ? null : [conv(s, { k: 1, pad: 0, stride: st, oc, pointwise: st === 1 }).node];
    const out = qp(), [qmin, qmax] = clampAround(out.zeroPoint);
    return { node: { kind: 'residual', name: name('res'), out, body, shortcut, za: r.int(-128, 127), ma: f32(0.3 + r.float()), zb: r.int(-128, 127), mb: f32(0.3 + r.float()), outZp: out.zeroPoint, qmin, qmax }, shape };
  };

  const nodes = [];
  let s = inputShape;
  const spatialSteps = opts.spatial ?? 0, steps = spatialSteps + r.int(1, 5);
  for (let i = 0; i < steps; i++) {
    let made = null;
    const pick = i < spatialSteps ? r.int(0, 6) : r.int(0, 9);
    if (s.length === 3) {
      if (pick <= 2) made = conv(s);
      else if (pick === 3) made = pool(s, 'maxpool');
      else if (pick === 4) made = pool(s, 'avgpool');
      else if (pick <= 6) made = residual(s, 0);
      else if (pick === 7) made = gap(s);
      else made = { node: { kind: 'flatten', name: name('flat'), out: qp() }, shape: [size(s)] };
    } else {
      made = pick <= 3 ? linear(s) : pick <= 5 ? lowrank(s) : pool(s, pick === 6 ? 'maxpool' : 'avgpool');
    }
    if (!made) continue;
    nodes.push(made.node);
    s = made.shape;
  }
  const classes = r.int(1, 10);
  const last = linear(s, classes);
  nodes.push(last.node);
  return { input: qp(), inputShape, output: { ...last.node.out }, classes, nodes, meta: { labels: Array.from({ length: classes }, (_, i) => `c${i}`), seed: counter } };
}

/** Inserts lut nodes (HardSwish tables) after random nodes, at the top level and in residual branches. */
export function withLuts(r, g) {
  const insert = (nodes, q0) => {
    const out = [];
    let q = q0;
    for (const nd of nodes) {
      if (nd.kind === 'residual') { insert(nd.body, q); if (nd.shortcut) insert(nd.shortcut, q); }
      out.push(nd);
      q = nd.out;
      if (r.float() < 0.4) out.push({ kind: 'lut', name: `lut${out.length}`, out: { ...q }, op: 'HardSwish', table: r.i8(256) });
    }
    nodes.splice(0, nodes.length, ...out);
  };
  insert(g.nodes, g.input);
  const last = g.nodes[g.nodes.length - 1];
  g.output = { ...last.out };
  return g;
}

/** Graph → plain JSON-comparable value (typed arrays become tagged arrays). */
export function plain(g) {
  return JSON.parse(JSON.stringify(g, (_, v) => (ArrayBuffer.isView(v) ? { [v.constructor.name]: Array.from(v) } : v)));
}

/** Random uint8 dataset of n images h×w×c. */
export function randomData(seed, h, w, c, n = 48) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return createDataset({ name: 'random', images: Uint8Array.from({ length: n * h * w * c }, () => next() & 255), labels: Uint8Array.from({ length: n }, () => next() % 10), height: h, width: w, channels: c, classes: Array.from({ length: 10 }, (_, i) => `k${i}`) });
}

/** A small converted built-in model (random init, PTQ on random images): { i8, model, data }. */
export function smallConverted(q, name, opts = {}) {
  const e = new Engine(q.rt);
  const [h, w, c] = opts.input ?? [12, 12, 1];
  const model = buildModel(e, name, { input: [h, w, c], seed: 3, width: 4, ...(opts.model ?? {}) });
  if (opts.prepare) opts.prepare(model);
  const data = randomData(11, h, w, c);
  const qat = quantizeStatic(model, data, { batches: 2, batchSize: 16 });
  const i8 = convertToInt8(qat, undefined, { meta: { labels: data.classes, mean: data.norm.mean[0], std: data.norm.std[0] }, ...(opts.convert ?? {}) });
  return { i8, model, data, engine: e };
}
