// Requantising int8 elementwise add (residual connections), TFLite int8 ADD semantics with an exact f32 rule:
//   ma = f32(aScale / outScale), mb = f32(bScale / outScale)        (computed once by the host)
//   f  = f32(f32(a − za) · ma) + f32(f32(b − zb) · mb)              (two rounded products, then a rounded sum)
//   y  = clamp(rne(f), qmin − zo, qmax − zo) + zo                    (clamp first, as requant.ts; same result)
// rne = round half to even. Every step is one IEEE f32 operation in this fixed order (no fused multiply-add,
// no relaxed op), so the scalar, SIMD128 and relaxed builds agree bit for bit. (a − za) and (b − zb) lie in
// [−255, 255] and convert to f32 exactly. [qmin, qmax] is the fused activation clamp (relu: qmin = zo, …).
import { narrow16 } from './requant';

export function add_s8_ref(len: i32, a: usize, za: i32, ma: f32, b: usize, zb: i32, mb: f32,
                           y: usize, zo: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zo), hi = <f32>(qmax - zo);
  for (let i = 0; i < len; i++) {
    let fa = <f32>(<i32>load<i8>(a + i) - za) * ma;
    let fb = <f32>(<i32>load<i8>(b + i) - zb) * mb;
    let f = fa + fb;
    f = min<f32>(max<f32>(f, lo), hi);
    store<i8>(y + i, <i8>(<i32>nearest<f32>(f) + zo));
  }
}

// The SIMD lanes compute the same integers with cheaper operations (assembly/requant.ts's requant4 argues each):
//  * the zero points are subtracted on 16-bit lanes (8 at a time; a − za fits), then widened and converted;
//  * pmax / pmin for the clamp: they differ from max / min only on NaN and on the sign of a zero (no integer
//    result sees it). f is never NaN when f32(255·ma) and f32(255·mb) are finite (then fa, fb are finite and
//    their sum at worst ±∞, which the clamp handles): add_s8 checks that once, else runs the scalar loop;
//  * rne + conversion as one add of 1.5·2^23 (|f| ≤ 255 after the clamp) whose bits are 0x4B400000 + rne(f),
//    with zo folded into the constant subtracted.
// (On x64, wasm f32x4.min / max / nearest and i32x4.trunc_sat_f32x4_s are several instructions each.)
// @ts-ignore: decorator
@inline
function add4(a: v128, b: v128, ma: v128, mb: v128, lo: v128, hi: v128, zm: v128): v128 {
  let f = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), ma), f32x4.mul(f32x4.convert_i32x4_s(b), mb));
  f = f32x4.add(f32x4.pmin(f32x4.pmax(f, lo), hi), f32x4.splat(12582912.0));
  return i32x4.sub(f, zm);
}

export function add_s8(len: i32, a: usize, za: i32, ma: f32, b: usize, zb: i32, mb: f32,
                       y: usize, zo: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zo), hi = <f32>(qmax - zo);
  let i = 0;
  // f is never NaN below (see above): the cheaper rounding and clamp apply to every element
  let exact = isFinite<f32>(<f32>255 * ma) && isFinite<f32>(<f32>255 * mb);
  if (ASC_FEATURE_SIMD && exact) {
    let vza = i16x8.splat(<i16>za), vzb = i16x8.splat(<i16>zb), vma = f32x4.splat(ma), vmb = f32x4.splat(mb);
    let vlo = f32x4.splat(lo), vhi = f32x4.splat(hi), vzm = i32x4.splat(0x4B400000 - zo);
    for (; i + 16 <= len; i += 16) {
      let va = v128.load(a + i), vb = v128.load(b + i);
      let a0 = i16x8.sub(i16x8.extend_low_i8x16_s(va), vza), a1 = i16x8.sub(i16x8.extend_high_i8x16_s(va), vza);
      let b0 = i16x8.sub(i16x8.extend_low_i8x16_s(vb), vzb), b1 = i16x8.sub(i16x8.extend_high_i8x16_s(vb), vzb);
      let r0 = add4(i32x4.extend_low_i16x8_s(a0), i32x4.extend_low_i16x8_s(b0), vma, vmb, vlo, vhi, vzm);
      let r1 = add4(i32x4.extend_high_i16x8_s(a0), i32x4.extend_high_i16x8_s(b0), vma, vmb, vlo, vhi, vzm);
      let r2 = add4(i32x4.extend_low_i16x8_s(a1), i32x4.extend_low_i16x8_s(b1), vma, vmb, vlo, vhi, vzm);
      let r3 = add4(i32x4.extend_high_i16x8_s(a1), i32x4.extend_high_i16x8_s(b1), vma, vmb, vlo, vhi, vzm);
      v128.store(y + i, narrow16(r0, r1, r2, r3));
    }
  }
  if (exact) {
    // the SIMD lanes' rule one element at a time (the scalar build's whole loop): selects for the clamp, the
    // 1.5·2^23 add for rne + conversion (V8's scalar f32.min / max / nearest / trunc are several instructions)
    let zm = 0x4B400000 - zo;
    for (; i < len; i++) {
      let f = <f32>(<i32>load<i8>(a + i) - za) * ma + <f32>(<i32>load<i8>(b + i) - zb) * mb;
      f = f < lo ? lo : f;
      f = hi < f ? hi : f;
      store<i8>(y + i, <i8>(reinterpret<i32>(f + <f32>12582912.0) - zm));
    }
  }
  for (; i < len; i++) {
    let fa = <f32>(<i32>load<i8>(a + i) - za) * ma;
    let fb = <f32>(<i32>load<i8>(b + i) - zb) * mb;
    let f = fa + fb;
    f = min<f32>(max<f32>(f, lo), hi);
    store<i8>(y + i, <i8>(<i32>nearest<f32>(f) + zo));
  }
}
