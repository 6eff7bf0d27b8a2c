// The one requantisation rule of qwasm ("fp32", as XNNPACK's wasmsimd kernels use):
//   q = clamp(roundTiesToEven(f32(acc) * scale[c]), qmin - zp, qmax - zp) + zp
// acc is the int32 accumulator (bias already added), scale the per-channel real multiplier
// (in_scale * w_scale[c] / out_scale), zp the output zero point, [qmin, qmax] the fused activation clamp
// (ReLU: qmin = zp; ReLU6: qmax = zp + round(6 / out_scale)). Clamping before rounding gives the same
// result as after (the bounds are integers) and keeps the f32 -> i32 conversion in range.
// Every step is an exactly specified IEEE operation, so the scalar, SIMD128 and relaxed builds agree bit for
// bit (relaxed builds use no relaxed op here: relaxed madd is not exact).

// What an int8 GEMM-like kernel (gemm_s8, gemm_s8_ref, sparse_gemm_s8_*) writes, chosen by its `mode`
// argument. Exported as wasm globals so a host can read them; src/kernels/gemm_s8.ts has the same two names.

/** mode: C is exact int32 (ldc counted in int32 elements). */
export const OUT_I32: i32 = 0;
/** mode: C is int8, requantised with scale[N], zp, [qmin, qmax] (ldc counted in bytes). */
export const OUT_S8: i32 = 1;

// @ts-ignore: decorator
@inline
export function requant1(acc: i32, scale: f32, zp: i32, lo: f32, hi: f32): i8 {
  let f = <f32>acc * scale;
  f = min<f32>(max<f32>(f, lo), hi);
  return <i8>(<i32>nearest<f32>(f) + zp);
}

// The same rule on 4 lanes, in cheaper SIMD operations that give the same integers:
//  * pmax / pmin instead of max / min: they differ only on NaN (scales are checked finite and positive, so
//    f32(acc) · scale is never NaN) and on the sign of a zero (which no integer result can see);
//  * round to nearest even + convert as one f32 add of 1.5 · 2^23: after the clamp |f| ≤ 255, so f + 1.5 · 2^23
//    lies in [2^23, 2^24), where the f32 spacing is 1 — the (exactly specified, ties-to-even) rounding of the
//    add is the rounding of f, 1.5 · 2^23 being even — and the sum's bits are 0x4B400000 + round(f);
//  * minus 0x4B400000, plus zp as one i32 subtraction of zpm = requantZero(zp) = 0x4B400000 − zp (wrapping
//    int32 arithmetic: the same integer).
// (On x64, wasm min / max / nearest / trunc_sat are several instructions each; these are one each.)
// @ts-ignore: decorator
@inline
export function requant4(acc: v128, scale: v128, zpm: v128, lo: v128, hi: v128): v128 {
  let f = f32x4.mul(f32x4.convert_i32x4_s(acc), scale);
  f = f32x4.pmin(f32x4.pmax(f, lo), hi);
  f = f32x4.add(f, f32x4.splat(12582912.0));
  return i32x4.sub(f, zpm);
}

// requant4 without its f32 clamp, for a caller that knows |f32(acc) · scale| < 2^22 on every lane (see
// unclampedOk): the add of 1.5 · 2^23 then still rounds exactly, and the result round(f) + zp is an int32 that
// the caller narrows with saturation (int32 → int16 → int8) and clamps to [qmin, qmax] in int8 lanes
// (i8x16.max_s / min_s: two ops per 16 outputs instead of two per 4). clamp(round(f)) = round(clamp(f)) for
// integer bounds (rounding is monotone and fixes integers), and saturation keeps the order, so the bytes are
// requant4's.
// @ts-ignore: decorator
@inline
export function requant4Unclamped(acc: v128, scale: v128, zpm: v128): v128 {
  let f = f32x4.mul(f32x4.convert_i32x4_s(acc), scale);
  return i32x4.sub(f32x4.add(f, f32x4.splat(12582912.0)), zpm);
}

// Whether requant4Unclamped is exact for every accumulator of a kernel: accBound bounds |acc| (any int32 is
// below 2^31) and maxScale is the largest per-channel scale. 2^21 leaves room for the f32 rounding of the
// product (a relative 2^-23 or so).
export function unclampedOk(accBound: f64, maxScale: f32): bool {
  return min(accBound, 2147483648.0) * <f64>maxScale < 2097152.0;
}

// requant4's zpm operand for output zero point zp.
// @ts-ignore: decorator
@inline
export function requantZero(zp: i32): v128 { return i32x4.splat(0x4B400000 - zp); }

// Narrows 16 int32 lanes (already inside [-128, 127]) to 16 int8 lanes.
// @ts-ignore: decorator
@inline
export function narrow16(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

// Requantises n int32 values of one row: out[j] = requant(acc[j] with channel j's scale).
export function requant_i32(acc: usize, scale: usize, n: i32, zp: i32, qmin: i32, qmax: i32, out: usize): void {
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let vz = requantZero(zp), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
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

// Quantises n f32 values (a model's normalised input) to int8 codes with one per-tensor (scale, zp):
//   q = clamp(roundTiesToEven(f32(x / scale)), −128 − zp, 127 − zp) + zp,  NaN → 0
// exactly as src/deploy/runner.ts's quantizeInput does in JS (an f32 quotient is correctly rounded either way;
// JS stores NaN + zp into an Int8Array as 0). SIMD lanes use requant4's add-1.5·2^23 rounding after the clamp.
export function quantize_f32(x: usize, n: i32, scale: f32, zp: i32, out: usize): void {
  let lo = <f32>(-zp - 128), hi = <f32>(-zp + 127);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    let vs = f32x4.splat(scale), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    let vm = f32x4.splat(12582912.0), vzm = i32x4.splat(0x4B400000 - zp);
    for (; j + 16 <= n; j += 16) {
      let p = x + (<usize>j << 2);
      let v0 = f32x4.div(v128.load(p), vs), v1 = f32x4.div(v128.load(p, 16), vs);
      let v2 = f32x4.div(v128.load(p, 32), vs), v3 = f32x4.div(v128.load(p, 48), vs);
      // lanes holding NaN end as 0: and with the v == v mask after rounding
      let q0 = v128.and(i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(v0, vlo), vhi), vm), vzm), f32x4.eq(v0, v0));
      let q1 = v128.and(i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(v1, vlo), vhi), vm), vzm), f32x4.eq(v1, v1));
      let q2 = v128.and(i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(v2, vlo), vhi), vm), vzm), f32x4.eq(v2, v2));
      let q3 = v128.and(i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(v3, vlo), vhi), vm), vzm), f32x4.eq(v3, v3));
      v128.store(out + j, narrow16(q0, q1, q2, q3));
    }
  }
  // the lanes' rule one value at a time (selects and the 1.5·2^23 add: V8's scalar f32 min / max / nearest and
  // float → int conversions are several instructions each; the scalar build's whole loop)
  let zm = 0x4B400000 - zp;
  for (; j < n; j++) {
    let v = load<f32>(x + (<usize>j << 2)) / scale;
    let c = v < lo ? lo : v;
    c = hi < c ? hi : c;
    store<i8>(out + j, <i8>select<i32>(reinterpret<i32>(c + <f32>12582912.0) - zm, 0, v == v));
  }
}
