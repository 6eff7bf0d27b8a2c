// f32 buffer helpers shared by the f32 kernel families (conv_f32.ts, pool_f32.ts); inlined at every use.

// dst[i] += src[i], i < count: f32x4 (8 then 4 at a time) where available, then f32. Each element is one f32 add,
// so the result does not depend on the build.
// @ts-ignore: decorator
@inline export function addF(dst: usize, src: usize, count: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= count; i += 8) {
      let o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
      v128.store(dst + o, f32x4.add(v128.load(dst + o, 16), v128.load(src + o, 16)), 16);
    }
    for (; i + 4 <= count; i += 4) {
      let o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
  }
  for (; i < count; i++) {
    let o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}
