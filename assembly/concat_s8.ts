// Channel concatenation of int8 NHWC maps (a DAG's concat merge; TFLite int8 CONCATENATION): one call per input
// writes its c channels of every pixel at channel offset `off` of the ctot-channel output, requantised onto the
// output's grid with add_s8's arithmetic for one operand:
//   y = clamp(rne(f32(x − zx) · m), −128 − zo, 127 − zo) + zo          m = f32(inScale / outScale)
// An input already on the output's grid (zx = zo, m = 1: what TFLite requires of every input, and what the
// converter arranges where it can) is copied exactly. One IEEE f32 multiply and a round-half-even per value in
// this order (no fused or relaxed op): the scalar, SIMD and relaxed builds agree bit for bit with concat_s8_ref.
// The fast path computes the same integers as add_s8's SIMD lanes do (assembly/add_s8.ts, requant.ts): pmin /
// pmax clamp and the 1.5·2^23 add for rne + conversion. f32(x − zx) · m is never NaN (m is finite, x − zx an
// integer: at worst ±∞, which the clamp maps to a bound), so those give min / max / nearest's integers.
import { narrow16 } from './requant';

export function concat_s8(pixels: i32, x: usize, c: i32, zx: i32, m: f32, y: usize, ctot: i32, off: i32, zo: i32): void {
  let lo = <f32>(<i32>-128 - zo), hi = <f32>(<i32>127 - zo);
  let copy = zx == zo && m == 1;
  let zm = 0x4B400000 - zo;
  for (let p = 0; p < pixels; p++) {
    let src = x + <usize>p * c, dst = y + <usize>p * ctot + off;
    let j = 0;
    if (copy) {
      if (ASC_FEATURE_SIMD) for (; j + 16 <= c; j += 16) v128.store(dst + j, v128.load(src + j));
      for (; j + 8 <= c; j += 8) store<u64>(dst + j, load<u64>(src + j));
      for (; j < c; j++) store<i8>(dst + j, load<i8>(src + j));
      continue;
    }
    if (ASC_FEATURE_SIMD) {
      let vz = i16x8.splat(<i16>zx), vm = f32x4.splat(m), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
      let vmagic = f32x4.splat(12582912.0), vzm = i32x4.splat(zm);
      for (; j + 16 <= c; j += 16) {
        let v = v128.load(src + j);
        let a0 = i16x8.sub(i16x8.extend_low_i8x16_s(v), vz), a1 = i16x8.sub(i16x8.extend_high_i8x16_s(v), vz);
        let r0 = requantLane(i32x4.extend_low_i16x8_s(a0), vm, vlo, vhi, vmagic, vzm);
        let r1 = requantLane(i32x4.extend_high_i16x8_s(a0), vm, vlo, vhi, vmagic, vzm);
        let r2 = requantLane(i32x4.extend_low_i16x8_s(a1), vm, vlo, vhi, vmagic, vzm);
        let r3 = requantLane(i32x4.extend_high_i16x8_s(a1), vm, vlo, vhi, vmagic, vzm);
        v128.store(dst + j, narrow16(r0, r1, r2, r3));
      }
    }
    for (; j < c; j++) {
      let f = <f32>(<i32>load<i8>(src + j) - zx) * m;
      f = f < lo ? lo : f;
      f = hi < f ? hi : f;
      store<i8>(dst + j, <i8>(reinterpret<i32>(f + <f32>12582912.0) - zm));
    }
  }
}

// @ts-ignore: decorator
@inline
function requantLane(d: v128, m: v128, lo: v128, hi: v128, magic: v128, zm: v128): v128 {
  let f = f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(d), m), lo), hi);
  return i32x4.sub(f32x4.add(f, magic), zm);
}

/** The plain-loop reference twin of concat_s8 (min / max / nearest, byte copies). */
export function concat_s8_ref(pixels: i32, x: usize, c: i32, zx: i32, m: f32, y: usize, ctot: i32, off: i32, zo: i32): void {
  let lo = <f32>(<i32>-128 - zo), hi = <f32>(<i32>127 - zo);
  let copy = zx == zo && m == 1;
  for (let p = 0; p < pixels; p++) {
    let src = x + <usize>p * c, dst = y + <usize>p * ctot + off;
    for (let j = 0; j < c; j++) {
      if (copy) { store<i8>(dst + j, load<i8>(src + j)); continue; }
      let f = <f32>(<i32>load<i8>(src + j) - zx) * m;
      f = min<f32>(max<f32>(f, lo), hi);
      store<i8>(dst + j, <i8>(<i32>nearest<f32>(f) + zo));
    }
  }
}
