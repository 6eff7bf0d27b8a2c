// Requantising int8 elementwise add (residual connections), TFLite int8 ADD semantics with an exact f32 rule:
//   ma = f32(aScale / outScale), mb = f32(bScale / outScale)        (computed once by the host)
//   f  = f32(f32(a − za) · ma) + f32(f32(b − zb) · mb)              (two rounded products, then a rounded sum)
//   y  = clamp(rne(f), qmin − zo, qmax − zo) + zo                    (clamp first, as requant.ts; same result)
// rne = round half to even. Every step is one IEEE f32 operation in this fixed order (no fused multiply-add,
// no relaxed op), so the scalar, SIMD128 and relaxed builds agree bit for bit. (a − za) and (b − zb) lie in
// [−255, 255] and convert to f32 exactly. [qmin, qmax] is the fused activation clamp (relu: qmin = zo, …).

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

// @ts-ignore: decorator
@inline
function add4(a: v128, b: v128, za: v128, zb: v128, ma: v128, mb: v128, lo: v128, hi: v128, zo: v128): v128 {
  let fa = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(a, za)), ma);
  let fb = f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(b, zb)), mb);
  let f = f32x4.min(f32x4.max(f32x4.add(fa, fb), lo), hi);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f)), zo);
}

export function add_s8(len: i32, a: usize, za: i32, ma: f32, b: usize, zb: i32, mb: f32,
                       y: usize, zo: i32, qmin: i32, qmax: i32): void {
  let lo = <f32>(qmin - zo), hi = <f32>(qmax - zo);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vza = i32x4.splat(za), vzb = i32x4.splat(zb), vma = f32x4.splat(ma), vmb = f32x4.splat(mb);
    let vlo = f32x4.splat(lo), vhi = f32x4.splat(hi), vzo = i32x4.splat(zo);
    for (; i + 16 <= len; i += 16) {
      let va = v128.load(a + i), vb = v128.load(b + i);
      let a0 = i16x8.extend_low_i8x16_s(va), a1 = i16x8.extend_high_i8x16_s(va);
      let b0 = i16x8.extend_low_i8x16_s(vb), b1 = i16x8.extend_high_i8x16_s(vb);
      let r0 = add4(i32x4.extend_low_i16x8_s(a0), i32x4.extend_low_i16x8_s(b0), vza, vzb, vma, vmb, vlo, vhi, vzo);
      let r1 = add4(i32x4.extend_high_i16x8_s(a0), i32x4.extend_high_i16x8_s(b0), vza, vzb, vma, vmb, vlo, vhi, vzo);
      let r2 = add4(i32x4.extend_low_i16x8_s(a1), i32x4.extend_low_i16x8_s(b1), vza, vzb, vma, vmb, vlo, vhi, vzo);
      let r3 = add4(i32x4.extend_high_i16x8_s(a1), i32x4.extend_high_i16x8_s(b1), vza, vzb, vma, vmb, vlo, vhi, vzo);
      v128.store(y + i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3)));
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
