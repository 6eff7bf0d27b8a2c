// TF.js layers-format artefacts: the model.json (a Keras model_config + a weightsManifest) and its weight
// bytes, read from a plain model folder or from the JavaScript files of the nsfwjs npm package — without
// running that JavaScript: the model object literal and the base64 weight strings are parsed out of the text
// (parseJsLiteral below reads the minified literal syntax: unquoted keys, !0 / !1, .5). Weights are decoded as
// tfjs-core's io.decodeWeights does: float32 as is, uint8 / uint16 as q·scale + min in float32, float16 widened.
import { QwasmError, describe } from '../errors.js';
import { exists, fs, packageDir, path } from '../util/node.js';

export class TfjsImportError extends QwasmError {
  constructor(message: string) { super(message); this.name = 'TfjsImportError'; }
}

/** One weightsManifest entry (tfjs-core WeightsManifestEntry). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

/** What a TF.js layers-model loader sees (the fields of tfjs-core's ModelArtifacts that qwasm uses). */
export interface TfjsArtifacts {
  /** The Keras JSON: { model_config | class_name + config, keras_version, … }. */
  modelTopology: Record<string, unknown>;
  weightSpecs: WeightSpec[];
  /** Every shard concatenated, in manifest order. */
  weightData: Uint8Array;
  /** Where they came from, for messages and the checkpoint record. */
  source: string;
  /** 'layers-model' or 'graph-model' when model.json says so. */
  format?: string;
}

export interface DecodedWeight { shape: number[]; data: Float32Array }

const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/** Weight bytes → float32 arrays by name (tfjs-core's decodeWeights arithmetic, so the values match TF.js). */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array, source = 'model'): Map<string, DecodedWeight> {
  const out = new Map<string, DecodedWeight>();
  let off = 0;
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const q = s.quantization;
    const stored = q ? q.dtype : s.dtype;
    const bytes = VALUE_BYTES[stored];
    if (!bytes) throw new TfjsImportError(`${source}: weight '${s.name}' is stored as ${stored}; float32, int32, uint8, uint16 and float16 are supported`);
    if (s.dtype !== 'float32' && s.dtype !== 'int32') throw new TfjsImportError(`${source}: weight '${s.name}' has dtype ${s.dtype}; float32 weights are supported`);
    const len = size * bytes;
    if (off + len > data.length) throw new TfjsImportError(`${source}: the weight files hold ${data.length} bytes, weight '${s.name}' needs bytes ${off}..${off + len}`);
    // a copy: typed-array views need aligned offsets, shard boundaries give none
    const raw = data.slice(off, off + len).buffer;
    off += len;
    let v: Float32Array;
    if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
      if (typeof q.min !== 'number' || typeof q.scale !== 'number') throw new TfjsImportError(`${source}: weight '${s.name}' is ${q.dtype}-quantised without min and scale`);
      const codes = q.dtype === 'uint8' ? new Uint8Array(raw) : new Uint16Array(raw);
      v = new Float32Array(size);
      for (let i = 0; i < size; i++) v[i] = codes[i] * q.scale + q.min;
    } else if (q && q.dtype === 'float16') {
      v = halfToFloat(new Uint16Array(raw));
    } else if (q) {
      throw new TfjsImportError(`${source}: weight '${s.name}' has quantization dtype ${q.dtype}; uint8, uint16 and float16 are supported`);
    } else v = s.dtype === 'int32' ? Float32Array.from(new Int32Array(raw)) : new Float32Array(raw);
    out.set(s.name, { shape: [...s.shape], data: v });
  }
  if (off !== data.length) throw new TfjsImportError(`${source}: the weight files hold ${data.length} bytes, the manifest describes ${off}`);
  return out;
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i], sign = x & 0x8000 ? -1 : 1, e = (x >> 10) & 31, m = x & 1023;
    out[i] = sign * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
  }
  return out;
}

/** Checks a parsed model.json and joins its shard bytes. */
export function artifactsFromModelJson(json: unknown, shards: (p: string) => Uint8Array, source: string): TfjsArtifacts {
  if (!json || typeof json !== 'object') throw new TfjsImportError(`${source}: model.json is not a JSON object`);
  const j = json as { modelTopology?: unknown; weightsManifest?: unknown; format?: unknown };
  if (j.format === 'graph-model') throw new TfjsImportError(`${source}: a TF.js graph model (a frozen TensorFlow graph); only layers models (Keras) are supported`);
  if (!j.modelTopology || typeof j.modelTopology !== 'object') throw new TfjsImportError(`${source}: model.json has no modelTopology`);
  const topo = j.modelTopology as Record<string, unknown>;
  if (Array.isArray(topo.node)) throw new TfjsImportError(`${source}: a TF.js graph model (a frozen TensorFlow graph); only layers models (Keras) are supported`);
  if (!Array.isArray(j.weightsManifest)) throw new TfjsImportError(`${source}: model.json has no weightsManifest`);
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const [g, group] of (j.weightsManifest as unknown[]).entries()) {
    const gr = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(gr?.paths) || !Array.isArray(gr.weights)) throw new TfjsImportError(`${source}: weightsManifest[${g}] needs paths and weights`);
    for (const p of gr.paths) parts.push(shards(String(p)));
    for (const w of gr.weights as WeightSpec[]) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') throw new TfjsImportError(`${source}: weightsManifest[${g}] has a malformed entry ${describe(w)}`);
      specs.push(w);
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { weightData.set(p, off); off += p.length; }
  return { modelTopology: topo, weightSpecs: specs, weightData, source, format: typeof j.format === 'string' ? j.format : undefined };
}

/** A model.json (or the folder holding it) and its shard files beside it. */
export function readModelFolder(where: string): TfjsArtifacts {
  const file = exists(where) && fs().statSync(where).isDirectory() ? path().join(where, 'model.json') : where;
  if (!exists(file)) throw new TfjsImportError(`${where}: no model.json there (a TF.js layers model is a model.json and its weight shards)`);
  let json: unknown;
  try { json = JSON.parse(fs().readFileSync(file, 'utf8')); } catch (e) { throw new TfjsImportError(`${file}: not JSON (${(e as Error).message})`); }
  const dir = path().dirname(file);
  return artifactsFromModelJson(json, (p) => {
    const shard = path().join(dir, p);
    if (!exists(shard)) throw new TfjsImportError(`${file}: weight shard ${p} is missing (expected ${shard})`);
    return new Uint8Array(fs().readFileSync(shard));
  }, file);
}

/** The nsfwjs models this reader knows (folders of node_modules/nsfwjs/dist/models). */
export const NSFWJS_MODELS = ['mobilenet_v2', 'inception_v3'] as const;

/**
 * A model bundled in the installed nsfwjs package (`name`: mobilenet_v2, inception_v3, mobilenet_v2_mid), read
 * from its minified JS files without executing them.
 */
export function readNsfwjs(name: string): TfjsArtifacts {
  const pkg = packageDir('nsfwjs');
  if (!pkg) throw new TfjsImportError('nsfwjs is not installed: npm install nsfwjs (MIT; it bundles a Keras MobileNetV2 and InceptionV3)');
  const dir = path().join(pkg, 'dist', 'models', name);
  if (!exists(dir)) {
    const have = exists(path().join(pkg, 'dist', 'models')) ? fs().readdirSync(path().join(pkg, 'dist', 'models')).filter((f) => !f.includes('.')) : [];
    throw new TfjsImportError(`nsfwjs has no model '${name}' (models: ${have.join(', ') || 'none found'})`);
  }
  const modelFile = path().join(dir, 'model.min.js');
  if (!exists(modelFile)) throw new TfjsImportError(`${dir}: no model.min.js (nsfwjs layout changed?)`);
  const text = fs().readFileSync(modelFile, 'utf8');
  const at = text.search(/exports\s*=\s*\{\s*(modelTopology|format|generatedBy|convertedBy|weightsManifest)\s*:/);
  if (at < 0) throw new TfjsImportError(`${modelFile}: no model object (exports={modelTopology:…}) found`);
  const json = parseJsLiteral(text, text.indexOf('{', at), modelFile).value;
  return artifactsFromModelJson(json, (p) => {
    const shard = path().join(dir, `${p}.min.js`);
    if (!exists(shard)) throw new TfjsImportError(`${modelFile}: weight shard ${p}.min.js is missing`);
    const s = fs().readFileSync(shard, 'utf8');
    const m = /exports\s*=\s*"([A-Za-z0-9+/=]*)"/.exec(s);
    if (!m) throw new TfjsImportError(`${shard}: no base64 weight string (exports="…") found`);
    return new Uint8Array(Buffer.from(m[1], 'base64'));
  }, `nsfwjs:${name}`);
}

/**
 * Parses the JS object/array literal starting at text[start] — the JSON subset plus what minifiers write
 * (unquoted keys, single quotes, !0 / !1, void 0, numbers like .5 or 1e-3) — and returns it with the index
 * after it. Nothing is evaluated.
 */
export function parseJsLiteral(text: string, start: number, where = 'input'): { value: unknown; end: number } {
  let i = start;
  const err = (msg: string): never => { throw new TfjsImportError(`${where}: ${msg} at offset ${i} (near ${JSON.stringify(text.slice(i, i + 30))})`); };
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const str = (): string => {
    const q = text[i++];
    let s = '';
    for (;;) {
      if (i >= text.length) err('unterminated string');
      const ch = text[i++];
      if (ch === q) return s;
      if (ch !== '\\') { s += ch; continue; }
      const e = text[i++];
      if (e === 'u') { s += String.fromCharCode(parseInt(text.slice(i, i + 4), 16)); i += 4; } else if (e === 'x') { s += String.fromCharCode(parseInt(text.slice(i, i + 2), 16)); i += 2; } else s += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', 0: '\0' } as Record<string, string>)[e] ?? e;
    }
  };
  const value = (): unknown => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const o: Record<string, unknown> = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return o; }
        let key: string;
        if (text[i] === '"' || text[i] === "'") key = str();
        else { const m = /^[A-Za-z_$][\w$]*|^\d+/.exec(text.slice(i, i + 256)); if (!m) err('expected a key'); key = m![0]; i += key.length; }
        ws();
        if (text[i++] !== ':') err('expected ":"');
        o[key] = value();
        ws();
        if (text[i] === ',') i++; else if (text[i] !== '}') err('expected "," or "}"');
      }
    }
    if (ch === '[') {
      i++;
      const a: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === ']') { i++; return a; }
        a.push(value());
        ws();
        if (text[i] === ',') i++; else if (text[i] !== ']') err('expected "," or "]"');
      }
    }
    if (ch === '"' || ch === "'") return str();
    if (text.startsWith('!0', i)) { i += 2; return true; }
    if (text.startsWith('!1', i)) { i += 2; return false; }
    for (const [w, v] of [['true', true], ['false', false], ['null', null], ['void 0', undefined]] as [string, unknown][]) {
      if (text.startsWith(w, i)) { i += w.length; return v; }
    }
    const m = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) err('unexpected token');
    i += m![0].length;
    if (text.startsWith('/0', i)) { i += 2; return Number(m![0]) >= 0 ? Infinity : -Infinity; } // 1/0, -1/0
    return Number(m![0]);
  };
  const v = value();
  return { value: v, end: i };
}
