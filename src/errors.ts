// Argument checks shared by every public entry point. Each failure is a JS error that names the argument,
// thrown before any pointer reaches a kernel, so bad input can never turn into an out-of-bounds access.

export class QwasmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QwasmError';
  }
}

export function checkInt(name: string, v: unknown, min: number, max = 0x7fffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

export function checkFinite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a finite number, got ${describe(v)}`);
  return v;
}

type TypedCtor = Int8ArrayConstructor | Uint8ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Int16ArrayConstructor;

export function checkArray<T extends TypedCtor>(name: string, v: unknown, ctor: T, length: number): InstanceType<T> {
  if (!(v instanceof ctor)) throw new TypeError(`${name} must be a ${ctor.name}, got ${describe(v)}`);
  if ((v as InstanceType<T>).length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${(v as InstanceType<T>).length}`);
  }
  return v as InstanceType<T>;
}

// Per-channel real multipliers: one number (broadcast) or a Float32Array of `length` positive finite values.
export function checkScales(name: string, v: unknown, length: number): Float32Array {
  const out = new Float32Array(length);
  if (typeof v === 'number') out.fill(v);
  else if (v instanceof Float32Array || v instanceof Float64Array) {
    if (v.length !== length) throw new RangeError(`${name} must have length ${length} (one per output channel), got ${v.length}`);
    out.set(v);
  } else throw new TypeError(`${name} must be a number or a Float32Array, got ${describe(v)}`);
  for (let i = 0; i < length; i++) {
    if (!(out[i] > 0) || !Number.isFinite(out[i])) throw new RangeError(`${name}[${i}] must be a finite positive number, got ${out[i]}`);
  }
  return out;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'number') return String(v);
  return typeof v;
}

/**
 * Bytes as every public API takes them: a Uint8Array (a Node Buffer included, at any byteOffset), any other
 * ArrayBuffer view, or an ArrayBuffer → a Uint8Array over the same bytes (no copy). Readers must not assume
 * the view is aligned: they read through DataView or copy before viewing as wider types.
 */
export function toBytes(name: string, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer)) return new Uint8Array(v);
  throw new TypeError(`${name} must be a Uint8Array, Buffer or ArrayBuffer, got ${describe(v)}`);
}
