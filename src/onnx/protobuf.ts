// The protobuf wire format, just enough for onnx.proto: a reader that splits a message into its fields and a
// writer that builds one. No schema and no code generation: src/onnx/onnx-proto.ts maps field numbers to the
// ONNX messages. Integers: varints (int32 / int64 / enums / bool) are decoded exactly (int64 beyond 2^53 is an
// error, never a silently rounded number); negative int64 is the 10-byte two's complement form.
import { QwasmError, describe } from '../errors.js';

/** Wire types. */
export const Wire = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;
type VarintWire = typeof Wire.Varint;
type RawWire = typeof Wire.Fixed32 | typeof Wire.Fixed64 | typeof Wire.Bytes;
type WireType = VarintWire | RawWire;

/** One field occurrence: varints as a (safe-integer) number, fixed32/64 and length-delimited as raw bytes. */
export type FieldValue = { wire: VarintWire; v: number } | { wire: RawWire; b: Uint8Array };

export class ProtoError extends QwasmError {
  constructor(message: string) { super(message); this.name = 'ProtoError'; }
}

const TWO64 = 2n ** 64n;

/**
 * The bytes of a protobuf file as a plain Uint8Array view (no copy): a Node Buffer (often a slice of a shared
 * pool at an odd byteOffset), any Uint8Array view, or an ArrayBuffer. A Buffer is re-viewed because its
 * slice() shares memory (a later `.slice().buffer` would be the whole pool, not a copy).
 */
export function asBytes(name: string, b: unknown): Uint8Array {
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (b instanceof Uint8Array) return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new TypeError(`${name} must be a Uint8Array, a Node Buffer or an ArrayBuffer, got ${describe(b)}`);
}

/** A fresh, 8-byte-aligned copy of `b` as an ArrayBuffer of exactly b.length bytes (typed-array views over tensor data). */
export function ownBuffer(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}

/** Reads a varint at `pos`; returns [value as a signed 64-bit safe integer, next position]. */
export function readVarint(buf: Uint8Array, pos: number, what: string): [number, number] {
  let lo = 0, shift = 0, i = pos;
  // fast path: up to 4 bytes (28 bits) fit an unsigned int32
  for (; i < buf.length && shift < 28; shift += 7) {
    const b = buf[i++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return [lo >>> 0, i];
  }
  let big = BigInt(lo >>> 0);
  for (; i < buf.length; shift += 7) {
    if (shift > 63) throw new ProtoError(`${what}: varint longer than 10 bytes at byte ${pos}`);
    const b = buf[i++];
    big |= BigInt(b & 0x7f) << BigInt(shift);
    if (b < 0x80) {
      big &= TWO64 - 1n;
      const signed = big >= 2n ** 63n ? big - TWO64 : big;
      if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new ProtoError(`${what}: integer ${signed} at byte ${pos} is beyond ±2^53`);
      }
      return [Number(signed), i];
    }
  }
  throw new ProtoError(`${what}: truncated varint at byte ${pos}`);
}

/** Splits a message into field number → occurrences (in order). Throws a ProtoError on malformed bytes. */
export function readFields(buf: Uint8Array, what: string): Map<number, FieldValue[]> {
  const out = new Map<number, FieldValue[]>();
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos, what);
    const field = Math.floor(key / 8), wire = key & 7;
    if (field < 1) throw new ProtoError(`${what}: invalid field number ${field} at byte ${pos}`);
    let val: FieldValue;
    pos = p1;
    switch (wire) {
      case Wire.Varint: { const [v, p] = readVarint(buf, pos, what); val = { wire: Wire.Varint, v }; pos = p; break; }
      case Wire.Fixed64: case Wire.Fixed32: {
        const n = wire === Wire.Fixed64 ? 8 : 4;
        if (pos + n > buf.length) throw new ProtoError(`${what}: truncated fixed${n * 8} field ${field} at byte ${pos}`);
        val = { wire: wire === Wire.Fixed64 ? Wire.Fixed64 : Wire.Fixed32, b: buf.subarray(pos, pos + n) }; pos += n; break;
      }
      case Wire.Bytes: {
        const [len, p] = readVarint(buf, pos, what);
        if (len < 0 || p + len > buf.length) throw new ProtoError(`${what}: field ${field} claims ${len} bytes, ${buf.length - p} left`);
        val = { wire: Wire.Bytes, b: buf.subarray(p, p + len) }; pos = p + len; break;
      }
      default: throw new ProtoError(`${what}: unsupported wire type ${wire} (field ${field}) at byte ${pos - 1}: not a protobuf message or a corrupt file`);
    }
    let list = out.get(field);
    if (!list) out.set(field, (list = []));
    list.push(val);
  }
  return out;
}

/** Typed access to the fields of one decoded message. */
export class Message {
  readonly fields: Map<number, FieldValue[]>;
  constructor(readonly bytes: Uint8Array, readonly what: string) { this.fields = readFields(bytes, what); }

  has(f: number): boolean { return this.fields.has(f); }

  private last(f: number): FieldValue | undefined { const l = this.fields.get(f); return l ? l[l.length - 1] : undefined; }

  int(f: number, dflt = 0): number {
    const v = this.last(f);
    if (!v) return dflt;
    if (v.wire !== Wire.Varint) throw new ProtoError(`${this.what}: field ${f} should be a varint`);
    return v.v;
  }

  bytesField(f: number): Uint8Array | undefined {
    const v = this.last(f);
    if (!v) return undefined;
    if (v.wire !== Wire.Bytes) throw new ProtoError(`${this.what}: field ${f} should be length-delimited`);
    return v.b;
  }

  string(f: number, dflt = ''): string {
    const b = this.bytesField(f);
    return b ? new TextDecoder('utf-8', { fatal: false }).decode(b) : dflt;
  }

  strings(f: number): string[] {
    return (this.fields.get(f) ?? []).map((v) => {
      if (v.wire !== Wire.Bytes) throw new ProtoError(`${this.what}: field ${f} should hold strings`);
      return new TextDecoder().decode(v.b);
    });
  }

  float(f: number, dflt = 0): number {
    const v = this.last(f);
    if (!v) return dflt;
    if (v.wire !== Wire.Fixed32) throw new ProtoError(`${this.what}: field ${f} should be a float`);
    return new DataView(v.b.buffer, v.b.byteOffset, 4).getFloat32(0, true);
  }

  /** A repeated varint field, packed or not (proto2 writers emit either). */
  ints(f: number): number[] {
    const out: number[] = [];
    for (const v of this.fields.get(f) ?? []) {
      if (v.wire === Wire.Varint) out.push(v.v);
      else if (v.wire === Wire.Bytes) {
        for (let p = 0; p < v.b.length;) { const [x, q] = readVarint(v.b, p, this.what); out.push(x); p = q; }
      } else throw new ProtoError(`${this.what}: field ${f} should hold varints`);
    }
    return out;
  }

  /** A repeated float field, packed or not. */
  floats(f: number): number[] { return this.fixedWidth(f, Wire.Fixed32, 'float'); }

  /** A repeated double field, packed or not. */
  doubles(f: number): number[] { return this.fixedWidth(f, Wire.Fixed64, 'double'); }

  /** A repeated little-endian float (Fixed32, 4 bytes) or double (Fixed64, 8 bytes) field, packed or not. */
  private fixedWidth(f: number, wire: typeof Wire.Fixed32 | typeof Wire.Fixed64, kind: 'float' | 'double'): number[] {
    const out: number[] = [], size = kind === 'float' ? 4 : 8;
    for (const v of this.fields.get(f) ?? []) {
      if (v.wire === Wire.Varint || (v.wire !== wire && v.wire !== Wire.Bytes)) throw new ProtoError(`${this.what}: field ${f} should hold ${kind}s`);
      if (v.b.length % size) throw new ProtoError(`${this.what}: packed ${kind} field ${f} has ${v.b.length} bytes`);
      const dv = new DataView(v.b.buffer, v.b.byteOffset, v.b.length);
      for (let p = 0; p < v.b.length; p += size) out.push(size === 4 ? dv.getFloat32(p, true) : dv.getFloat64(p, true));
    }
    return out;
  }

  message(f: number, what: string): Message | undefined {
    const b = this.bytesField(f);
    return b ? new Message(b, what) : undefined;
  }

  messages(f: number, what: string): Message[] {
    return (this.fields.get(f) ?? []).map((v, i) => {
      if (v.wire !== Wire.Bytes) throw new ProtoError(`${this.what}: field ${f} should hold messages`);
      return new Message(v.b, `${what}[${i}]`);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writer.

/** Builds one message; nested messages are separate Writers passed to message(). */
export class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): this { this.chunks.push(b); this.size += b.length; return this; }

  private static varintBytes(v: number | bigint): Uint8Array {
    let x = typeof v === 'bigint' ? v : BigInt(v);
    if (x < 0n) x += TWO64; // int64 two's complement: 10 bytes
    const out: number[] = [];
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      out.push(x ? b | 0x80 : b);
    } while (x);
    return Uint8Array.from(out);
  }

  private key(field: number, wire: WireType): this { return this.push(Writer.varintBytes(field * 8 + wire)); }

  /** int32 / int64 / enum / bool (negative values as 10-byte int64, as protobuf does for int32 too). */
  varint(field: number, v: number | bigint): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`protobuf field ${field}: ${v} is not an integer`);
    return this.key(field, Wire.Varint).push(Writer.varintBytes(v));
  }

  /** Repeated varints, one key each (proto2's unpacked default, which every reader accepts). */
  varints(field: number, vs: readonly number[]): this { for (const v of vs) this.varint(field, v); return this; }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.key(field, Wire.Fixed32).push(b);
  }

  floats(field: number, vs: readonly number[]): this { for (const v of vs) this.float(field, v); return this; }

  bytes(field: number, b: Uint8Array): this {
    return this.key(field, Wire.Bytes).push(Writer.varintBytes(b.length)).push(b);
  }

  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }

  message(field: number, m: Writer): this { return this.bytes(field, m.finish()); }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const c of this.chunks) { out.set(c, p); p += c.length; }
    return out;
  }
}
