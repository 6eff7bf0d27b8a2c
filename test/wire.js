// Lossless encoding of kernel arguments and results between Node and a browser page (used by
// test/relaxed-chromium.test.js and bench/relaxed-chromium.js, loaded on both sides). Typed arrays travel as
// { $ta: 'Int8Array', b64 } (raw bytes, so floats keep every bit, NaN payloads and -0 included); arrays and
// plain objects are walked; class instances (handles) become { $class: name } (they cannot leave their
// engine); numbers keep -0 / NaN / ±Infinity through { $num }.

const TYPES = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];

function toB64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromB64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function encode(v) {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const t = v.constructor.name;
    if (!TYPES.includes(t)) throw new TypeError(`cannot encode ${t}`);
    return { $ta: t, b64: toB64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v) || !Number.isFinite(v) || Object.is(v, -0)) return { $num: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  }
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { $class: v.constructor?.name ?? 'object' };
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = encode(x);
    return o;
  }
  return v; // string, boolean, null, undefined
}

export function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    if (typeof v.$ta === 'string') {
      const bytes = fromB64(v.b64);
      const T = globalThis[v.$ta];
      return new T(bytes.buffer, 0, bytes.byteLength / T.BYTES_PER_ELEMENT);
    }
    if (typeof v.$num === 'string') return v.$num === '-0' ? -0 : Number(v.$num);
    if (typeof v.$big === 'string') return BigInt(v.$big);
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decode(x);
    return o;
  }
  return v;
}

/** Calls `method` ('gemmS8', or a dotted path such as 'kernels.selftest_gemm_s8') on q with decoded args. */
export async function call(q, method, args) {
  const path = method.split('.');
  let self = q;
  for (const p of path.slice(0, -1)) self = self[p];
  const fn = self[path[path.length - 1]];
  if (typeof fn !== 'function') throw new TypeError(`${method} is not a function of this Qwasm`);
  return await fn.apply(self, args);
}

/**
 * Runs a battery (encoded) on q; every result encoded, errors as { error: message }. An entry is
 * { method, args } (the result of q.method(...args)) or { method, args, then: [{ method, args }, …] }: q.method
 * builds a handle (packed weights, sparse matrix, …), each `then` call runs on it, the result is the list of
 * their results, and the handle is disposed.
 */
export async function runBattery(q, encodedBattery) {
  const out = [];
  for (const { method, args, then } of encodedBattery) {
    try {
      const r = await call(q, method, decode(args));
      if (!then) { out.push({ value: encode(r) }); continue; }
      try {
        const vals = [];
        for (const t of then) vals.push(encode(await call(r, t.method, decode(t.args))));
        out.push({ value: vals });
      } finally {
        if (typeof r?.dispose === 'function') r.dispose();
      }
    } catch (e) {
      out.push({ error: `${e?.name}: ${e?.message}` });
    }
  }
  return out;
}
