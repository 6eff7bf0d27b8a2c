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
