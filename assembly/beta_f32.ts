// β of the f32 backward passes (conv_f32.ts, pool_f32.ts): before a pass adds its gradient into a buffer,
// β = 0 clears the buffer (never reading it: stale NaNs do not survive), β = 1 keeps it (accumulation), any
// other β multiplies it. One fast twin (SIMD where available) and one plain-loop twin for the *_ref paths.

export function betaScale(p: usize, count: usize, beta: f32): void {
  if (beta == 1) return;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let vb = f32x4.splat(beta), z = f32x4.splat(0);
    if (beta == 0) for (; i + 4 <= count; i += 4) v128.store(p + (i << 2), z);
    else for (; i + 4 <= count; i += 4) v128.store(p + (i << 2), f32x4.mul(vb, v128.load(p + (i << 2))));
  }
  betaScaleFrom(p, i, count, beta);
}

export function betaScaleRef(p: usize, count: usize, beta: f32): void {
  if (beta == 1) return;
  betaScaleFrom(p, 0, count, beta);
}

// @ts-ignore: decorator
@inline function betaScaleFrom(p: usize, i: usize, count: usize, beta: f32): void {
  if (beta == 0) for (; i < count; i++) store<f32>(p + (i << 2), 0);
  else for (; i < count; i++) store<f32>(p + (i << 2), beta * load<f32>(p + (i << 2)));
}
