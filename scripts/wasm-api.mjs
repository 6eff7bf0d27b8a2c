// The WASM API in one place: the AssemblyScript sources. This script reads assembly/index.ts (the one entry of
// every build) and the files it re-exports, and
//   * writes src/exports.ts, the TypeScript type of a build's exports (run by scripts/build.mjs before tsc;
//     `node scripts/wasm-api.mjs --check` only says whether src/exports.ts is up to date);
//   * gives test/exports.test.js the expected list (name, kind, wasm parameter and result types), which it
//     compares with what each .wasm build really exports (read from the binary with wasmExports below).
// Export names follow the scheme of docs/KERNELS.md; exportNameProblem says why a name does not.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const EXPORTS_TS = join(root, 'src', 'exports.ts');

// AssemblyScript types of exported parameters / results → wasm value types (wasm32: usize is i32).
const WASM_TYPE = {
  i8: 'i32', u8: 'i32', i16: 'i32', u16: 'i32', i32: 'i32', u32: 'i32', bool: 'i32', usize: 'i32', isize: 'i32',
  i64: 'i64', u64: 'i64', f32: 'f32', f64: 'f64',
};
const TS_TYPE = { i32: 'number', f32: 'number', f64: 'number', i64: 'bigint' };

/** Splits `a: i32, b: usize` at top-level commas. */
function splitParams(s) {
  const out = [];
  let depth = 0, cur = '';
  for (const ch of s) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((p) => p.trim()).filter(Boolean);
}

function wasmType(asType, where) {
  const t = WASM_TYPE[asType.trim()];
  if (!t) throw new Error(`${where}: type ${asType} cannot cross the wasm boundary (use i32/u32/usize/f32/f64/i64)`);
  return t;
}

/** The comment block right above line index i (decorators and @ts-ignore lines skipped), as plain text lines. */
function docAbove(lines, i) {
  const doc = [];
  for (let j = i - 1; j >= 0; j--) {
    const l = lines[j].trim();
    if (l.startsWith('@') || l.includes('@ts-ignore')) continue;
    if (l.startsWith('//')) { doc.unshift(l.replace(/^\/\/\s?/, '')); continue; }
    if (l.startsWith('*') || l.startsWith('/**') || l.endsWith('*/')) {
      const t = l.replace(/^\/\*\*?\s?|\*\/$|^\*\s?/g, '').trim();
      if (t) doc.unshift(t);
      continue;
    }
    break;
  }
  return doc.filter((l) => !/^-+$/.test(l));
}

/** Every `export function` / `export const` of one AssemblyScript file, by name. */
function declarations(file) {
  const src = readFileSync(file, 'utf8');
  const lines = src.split('\n');
  const decls = new Map();
  const lineOf = (idx) => src.slice(0, idx).split('\n').length - 1;
  for (const m of src.matchAll(/^export function (\w+)\s*\(/gm)) {
    let depth = 1, i = m.index + m[0].length;
    const start = i;
    for (; depth > 0; i++) { if (src[i] === '(') depth++; else if (src[i] === ')') depth--; }
    const paramsText = src.slice(start, i - 1).replace(/\/\/[^\n]*/g, '');
    const ret = /^\s*:\s*([\w<>]+)/.exec(src.slice(i));
    const where = `${file}: ${m[1]}`;
    // internal helpers (v128 parameters, defaults) may be exported between assembly files: read the types
    // only when assembly/index.ts re-exports the function
    const read = () => {
    if (!ret) throw new Error(`${where}: no result type`);
    const params = splitParams(paramsText).map((p) => {
      const pm = /^(\w+)\s*:\s*([\w<>]+)\s*(=.*)?$/s.exec(p);
      if (!pm) throw new Error(`${where}: cannot read parameter "${p}"`);
      // an optional parameter makes asc export __setArgumentsLength: the runtime copes, but keep the API plain
      if (pm[3]) throw new Error(`${where}: parameter ${pm[1]} has a default; exported functions take every argument`);
      return { name: pm[1], type: wasmType(pm[2], where) };
    });
    const result = ret[1] === 'void' ? [] : [wasmType(ret[1], where)];
    return { name: m[1], kind: 'function', params, result, doc: docAbove(lines, lineOf(m.index)) };
    };
    decls.set(m[1], read);
  }
  for (const m of src.matchAll(/^export const (\w+)\s*:\s*(\w+)\s*=\s*([^;]+);/gm)) {
    decls.set(m[1], () => ({ name: m[1], kind: 'global', type: wasmType(m[2], `${file}: ${m[1]}`), value: Number(m[3]),
      doc: docAbove(lines, lineOf(m.index)) }));
  }
  return decls;
}

/**
 * The exports every build must have, in assembly/index.ts order: { name, kind, params?, result?, type?, value?,
 * doc, file } (params / result as wasm types), plus the memory.
 */
export function assemblyApi() {
  const index = readFileSync(join(root, 'assembly', 'index.ts'), 'utf8');
  const api = [{ name: 'memory', kind: 'memory', doc: ['The linear memory every pointer indexes (bytes).'], file: null }];
  for (const m of index.matchAll(/^export\s*\{([^}]*)\}\s*from\s*'\.\/([\w/]+)'/gm)) {
    const file = `assembly/${m[2]}.ts`;
    const decls = declarations(join(root, file));
    for (const name of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      const d = decls.get(name);
      if (!d) throw new Error(`assembly/index.ts re-exports ${name} from ${file}, which has no exported function or const ${name}`);
      api.push({ ...d(), file });
    }
  }
  if (/^export\s+(function|const|let)/m.test(index)) throw new Error('assembly/index.ts must only re-export (export { … } from …)');
  return api;
}

// ---------------------------------------------------------------------------------------------------------
// The naming scheme (docs/KERNELS.md): <op>_<dtype>[_<pass>][_<variant>][_ref], or a namespaced non-kernel export.
export const DTYPES = ['s8', 'f32', 'i32'];
export const PASSES = ['fwd', 'bwd', 'bwd_data', 'bwd_filter'];
export const VARIANTS = ['pack', 'packed_size', 'packed', 'csr', 'rows', 'steps', 'pairs', 'train', 'eval'];
export const NAMESPACES = ['qw_', 'qwm_', 'selftest_'];
const KERNEL_NAME = new RegExp(`^([a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*?)_(${DTYPES.join('|')})` +
  `(?:_(${PASSES.join('|')}))?(?:_(${VARIANTS.join('|')}))?(_ref)?$`);
export const CONSTANT_NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Parses a kernel export name: { op, dtype, pass, variant, ref } or null. */
export function parseKernelName(name) {
  const m = KERNEL_NAME.exec(name);
  return m ? { op: m[1], dtype: m[2], pass: m[3] ?? null, variant: m[4] ?? null, ref: !!m[5] } : null;
}

/** Why `name` (of kind `kind`) breaks the scheme, or null. `all` is every export name (for the twin rules). */
export function exportNameProblem(name, kind, all) {
  if (kind === 'memory') return name === 'memory' ? null : 'the one memory export is named memory';
  if (kind === 'global') return CONSTANT_NAME.test(name) ? null : 'a constant is UPPER_SNAKE_CASE';
  if (NAMESPACES.some((p) => name.startsWith(p))) return null;
  const k = parseKernelName(name);
  if (!k) return `not <op>_<dtype>[_<pass>][_<variant>][_ref] with dtype ${DTYPES.join('/')}, pass ${PASSES.join('/')}, variant ${VARIANTS.join('/')}`;
  if (k.ref) {
    const fast = name.slice(0, -4);
    // a reference twin serves its fast path of the same name, or (one reference for several storage formats)
    // every <name without _ref>_<format>
    if (!all.includes(fast) && !all.some((n) => n.startsWith(`${fast}_`) && !n.endsWith('_ref'))) return `reference twin of nothing (no ${fast})`;
  }
  if (k.pass === null && !k.ref && all.some((n) => { const o = parseKernelName(n); return o && o.op === k.op && o.dtype === k.dtype && o.pass?.startsWith('bwd'); })) {
    return `${k.op}_${k.dtype} has a backward pass, so its forward export is named ${k.op}_${k.dtype}_fwd`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// src/exports.ts

function jsdoc(doc, indent) {
  if (!doc.length) return '';
  if (doc.length === 1) return `${indent}/** ${doc[0].replace(/\*\//g, '* /')} */\n`;
  return `${indent}/**\n${doc.map((l) => `${indent} * ${l.replace(/\*\//g, '* /')}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

export function renderExportsTs(api) {
  let out = `// GENERATED by scripts/wasm-api.mjs from assembly/index.ts and the files it re-exports: do not edit.
// \`npm run build\` rewrites it; test/exports.test.js fails when it is stale or when a build's exports differ.
// Names follow docs/KERNELS.md. Pointers (p*) are byte offsets into \`memory\`; i32 and f32 arguments are numbers.

export interface KernelExports {
`;
  let file;
  for (const e of api) {
    if (e.file !== file) { file = e.file; if (file) out += `\n  // ${file}\n`; }
    out += jsdoc(e.doc, '  ');
    if (e.kind === 'memory') out += `  ${e.name}: WebAssembly.Memory;\n`;
    else if (e.kind === 'global') out += `  ${e.name}: WebAssembly.Global;\n`;
    else {
      const ps = e.params.map((p) => `${p.name}: ${TS_TYPE[p.type]}`).join(', ');
      out += `  ${e.name}(${ps}): ${e.result.length ? TS_TYPE[e.result[0]] : 'void'};\n`;
    }
  }
  return `${out}}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// What a .wasm binary exports, with function signatures (WebAssembly.Module.exports gives names and kinds only).

const VALTYPE = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const KIND = ['function', 'table', 'memory', 'global'];

/** [{ name, kind, params?, result?, type? }] in export order, read from the module's bytes. */
export function wasmExports(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let p = 8;
  const u32 = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  const name = () => { const n = u32(); const t = new TextDecoder().decode(b.subarray(p, p + n)); p += n; return t; };
  const valtype = () => { const t = VALTYPE[b[p++]]; if (!t) throw new Error(`unknown value type 0x${b[p - 1].toString(16)} at ${p - 1}`); return t; };
  const limits = () => { const f = u32(); u32(); if (f & 1) u32(); };
  const types = [], funcs = [], globals = [], exports = [];
  while (p < b.length) {
    const id = b[p++], size = u32(), end = p + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        if (b[p++] !== 0x60) throw new Error('type section: not a function type');
        const params = Array.from({ length: u32() }, valtype), result = Array.from({ length: u32() }, valtype);
        types.push({ params, result });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name(); name();
        const kind = b[p++];
        if (kind === 0) funcs.push(types[u32()]);
        else if (kind === 1) { p++; limits(); } else if (kind === 2) limits();
        else if (kind === 3) { globals.push(valtype()); p++; }
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(types[u32()]);
    } else if (id === 6) {
      for (let n = u32(); n > 0; n--) {
        globals.push(valtype()); p++;
        // init expression: one constant instruction, then end (0x0b)
        const op = b[p++];
        if (op === 0x41 || op === 0x42 || op === 0x23) { while (b[p++] & 0x80); } else if (op === 0x43) p += 4;
        else if (op === 0x44) p += 8; else if (op === 0xfd) { u32(); p += 16; }
        if (b[p++] !== 0x0b) throw new Error(`global initialiser with opcode 0x${op.toString(16)} not understood`);
      }
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const nm = name(), kind = KIND[b[p++]], idx = u32();
        const e = { name: nm, kind };
        if (kind === 'function') Object.assign(e, funcs[idx]);
        if (kind === 'global') e.type = globals[idx];
        exports.push(e);
      }
    }
    p = end;
  }
  return exports;
}

// ---------------------------------------------------------------------------------------------------------
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderExportsTs(assemblyApi());
  const current = (() => { try { return readFileSync(EXPORTS_TS, 'utf8'); } catch { return ''; } })();
  if (process.argv.includes('--check')) {
    if (current !== text) { console.error('src/exports.ts is stale: run node scripts/wasm-api.mjs'); process.exit(1); }
  } else if (current !== text) {
    writeFileSync(EXPORTS_TS, text);
    console.log('wrote src/exports.ts from assembly/');
  }
}
