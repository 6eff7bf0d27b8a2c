// int8 table lookup: y[i] = table[x[i] + 128] for a 256-entry int8 table — how any element-wise activation
// (HardSwish, sigmoid, …) runs exactly in int8 (TFLite's LUT kernels: the table is the real function
// evaluated at every input code, requantised to the output scale / zero point, so it is exact per code).
// Fast path (SIMD128): XNNPACK's x8-lut scheme — 16 swizzles over the table's 16-byte slices per 16 inputs;
// swizzle yields 0 for an index ≥ 16, and subtracting 16 per slice moves each input into range exactly once.

/** y[i] = table[x[i] + 128], n bytes (y may alias x). */
export function lut_s8(x: usize, table: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let t0 = v128.load(table), t1 = v128.load(table, 16), t2 = v128.load(table, 32), t3 = v128.load(table, 48);
    let t4 = v128.load(table, 64), t5 = v128.load(table, 80), t6 = v128.load(table, 96), t7 = v128.load(table, 112);
    let t8 = v128.load(table, 128), t9 = v128.load(table, 144), t10 = v128.load(table, 160), t11 = v128.load(table, 176);
    let t12 = v128.load(table, 192), t13 = v128.load(table, 208), t14 = v128.load(table, 224), t15 = v128.load(table, 240);
    let bias = i8x16.splat(-128), step = i8x16.splat(16);
    for (; i + 16 <= n; i += 16) {
      let v = v128.xor(v128.load(x + <usize>i), bias); // the unsigned index x + 128
      let r = i8x16.swizzle(t0, v);
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t1, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t2, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t3, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t4, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t5, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t6, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t7, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t8, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t9, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t10, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t11, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t12, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t13, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t14, v));
      v = i8x16.sub(v, step); r = v128.or(r, i8x16.swizzle(t15, v));
      v128.store(y + <usize>i, r);
    }
  }
  for (; i < n; i++) store<i8>(y + <usize>i, load<i8>(table + <usize>(load<i8>(x + <usize>i) + 128)));
}

export function lut_s8_ref(x: usize, table: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i8>(y + <usize>i, load<i8>(table + <usize>(load<i8>(x + <usize>i) + 128)));
}
