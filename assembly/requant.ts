// The one requantisation rule of qwasm ("fp32", as XNNPACK's wasmsimd kernels use):
//   q = clamp(roundTiesToEven(f32(acc) * scale[c]), qmin - zp, qmax - zp) + zp
// acc is the int32 accumulator (bias already added), scale the per-channel real multiplier
// (in_scale * w_scale[c] / out_scale), zp the output zero point, [qmin, qmax] the fused activation clamp
// (ReLU: qmin = zp; ReLU6: qmax = zp + round(6 / out_scale)). Clamping before rounding gives the same
// result as after (the bounds are integers) and keeps the f32 -> i32 conversion in range.
// Every step is an exactly specified IEEE operation, so the scalar, SIMD128 and relaxed builds agree bit for
// bit (relaxed builds use no relaxed op here: relaxed madd is not exact).

// @ts-ignore: decorator
@inline
export function requant1(acc: i32, scale: f32, zp: i32, lo: f32, hi: f32): i8 {
  let f = <f32>acc * scale;
  f = min<f32>(max<f32>(f, lo), hi);
  return <i8>(<i32>nearest<f32>(f) + zp);
}

// @ts-ignore: decorator
@inline
export function requant4(acc: v128, scale: v128, zp: v128, lo: v128, hi: v128): v128 {
  let f = f32x4.mul(f32x4.convert_i32x4_s(acc), scale);
  f = f32x4.min(f32x4.max(f, lo), hi);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f)), zp);
}

// Narrows 16 int32 lanes (already inside [-128, 127]) to 16 int8 lanes.
// @ts-ignore: decorator
@inline
export function narrow16(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

// Requantises n int32 values of one row: out[j] = requant(acc[j] with channel j's scale).
export function requant_row(acc: usize, scale: usize, n: i32, zp: i32, qmin: i32, qmax: i32, out: usize): void {
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let vz = i32x4.splat(zp), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    for (; j + 16 <= n; j += 16) {
      let o = <usize>j << 2;
      let r0 = requant4(v128.load(acc + o), v128.load(scale + o), vz, vlo, vhi);
      let r1 = requant4(v128.load(acc + o + 16), v128.load(scale + o + 16), vz, vlo, vhi);
      let r2 = requant4(v128.load(acc + o + 32), v128.load(scale + o + 32), vz, vlo, vhi);
      let r3 = requant4(v128.load(acc + o + 48), v128.load(scale + o + 48), vz, vlo, vhi);
      v128.store(out + j, narrow16(r0, r1, r2, r3));
    }
  }
  for (; j < n; j++) {
    let o = <usize>j << 2;
    store<i8>(out + j, requant1(load<i32>(acc + o), load<f32>(scale + o), zp, lo, hi));
  }
}
