// HardSwish (MobileNetV3): y = x · relu6(x + 3) / 6, and its backward as PyTorch computes it:
//   dx = dy · (x < −3 ? 0 : x ≤ 3 ? x/3 + 1/2 : 1).
// Each fast kernel (SIMD128 when the build has it) has a scalar reference twin with the same signature.

// @ts-ignore: decorator
@inline function hs1(x: f32): f32 { return x * min<f32>(max<f32>(x + 3, 0), 6) * (<f32>1 / 6); }
// @ts-ignore: decorator
@inline function dhs1(x: f32, dy: f32): f32 { return x < -3 ? 0 : x <= 3 ? dy * (x * (<f32>1 / 3) + 0.5) : dy; }

/** y = hardswish(x), n floats (y may alias x). */
export function hardswish_f32_fwd(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let three = f32x4.splat(3), six = f32x4.splat(6), z = f32x4.splat(0), sixth = f32x4.splat(<f32>1 / 6);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let v = v128.load(x + o);
      v128.store(y + o, f32x4.mul(f32x4.mul(v, f32x4.min(f32x4.max(f32x4.add(v, three), z), six)), sixth));
    }
  }
  for (; i < n; i++) { let o = <usize>i << 2; store<f32>(y + o, hs1(load<f32>(x + o))); }
}

export function hardswish_f32_fwd_ref(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) { let o = <usize>i << 2; store<f32>(y + o, hs1(load<f32>(x + o))); }
}

/** dx (+)= dy · hardswish'(x) (x = the forward input; dx may alias dy). */
export function hardswish_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let m3 = f32x4.splat(-3), p3 = f32x4.splat(3), third = f32x4.splat(<f32>1 / 3), half = f32x4.splat(0.5), z = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let v = v128.load(x + o), g = v128.load(dy + o);
      let mid = f32x4.mul(g, f32x4.add(f32x4.mul(v, third), half));
      let r = v128.bitselect(z, v128.bitselect(mid, g, f32x4.le(v, p3)), f32x4.lt(v, m3));
      v128.store(dx + o, accumulate ? f32x4.add(v128.load(dx + o), r) : r);
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let g = dhs1(load<f32>(x + o), load<f32>(dy + o));
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

export function hardswish_f32_bwd_ref(x: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let g = dhs1(load<f32>(x + o), load<f32>(dy + o));
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}
