// f32 smooth and "hard" activations of mobile networks, forward and backward (training); hard swish is its
// own family (hardswish_f32.ts):
//   sigmoid        y = 1 / (1 + e^−x)                                   (EfficientNet squeeze-excite gate)
//   hard sigmoid   y = max(0, min(1, α·x + β))                          (ONNX HardSigmoid; PyTorch: α = 1/6, β = 1/2)
//   SiLU (swish)   y = x · sigmoid(x)                                   (EfficientNet)
//   tanh           y = tanh(x)                                          (Keras / ONNX Tanh; RNN-style heads)
// Backward kernels write dx = dy · f'(x) (or add it to dx when accumulate ≠ 0); sigmoid's and tanh's read the
// forward output y (f' = y·(1 − y), 1 − y²), the others the forward input x. Hard sigmoid's derivative is α where
// 0 < α·x + β < 1 and 0 elsewhere (PyTorch: α strictly inside (−3, 3) for its α, β).
// The hard sigmoid kernels have a SIMD path with a plain-loop `*_ref` twin doing the same IEEE operations per element
// (bit-identical). Sigmoid, SiLU and tanh call Mathf.exp / Mathf.tanh per element in every build (no SIMD
// exp), so they have no twin.
// y may alias x (in place) in forward; dx may alias dy in backward.

// ---------------------------------------------------------------------------------------------------------
// Sigmoid.

// @ts-ignore: decorator
@inline function sigm(x: f32): f32 { return <f32>1 / (<f32>1 + Mathf.exp(-x)); }

export function sigmoid_f32_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, sigm(load<f32>(x + o)));
  }
}

export function sigmoid_f32_bwd(y: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let s = load<f32>(y + o);
    let g = load<f32>(dy + o) * (s * (<f32>1 - s));
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// ---------------------------------------------------------------------------------------------------------
// SiLU.

export function silu_f32_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let v = load<f32>(x + o);
    store<f32>(y + o, v * sigm(v));
  }
}

export function silu_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let v = load<f32>(x + o), s = sigm(v);
    let g = load<f32>(dy + o) * (s * (<f32>1 + v * (<f32>1 - s)));
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tanh.

export function tanh_f32_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, Mathf.tanh(load<f32>(x + o)));
  }
}

export function tanh_f32_bwd(y: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let t = load<f32>(y + o);
    let g = load<f32>(dy + o) * (<f32>1 - t * t);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hard sigmoid: y = max(0, min(1, α·x + β)); dx = dy·α where 0 < α·x + β < 1.

// @ts-ignore: decorator
@inline function hsig1(x: f32, a: f32, b: f32): f32 { return max<f32>(<f32>0, min<f32>(<f32>1, a * x + b)); }
// @ts-ignore: decorator
@inline function hsig4(x: v128, a: v128, b: v128): v128 {
  return f32x4.max(f32x4.splat(0), f32x4.min(f32x4.splat(1), f32x4.add(f32x4.mul(a, x), b)));
}
// @ts-ignore: decorator
@inline function dhsig1(x: f32, dy: f32, a: f32, b: f32): f32 { let t = a * x + b; return t > 0 && t < 1 ? dy * a : 0; }
// @ts-ignore: decorator
@inline function dhsig4(x: v128, dy: v128, a: v128, b: v128): v128 {
  let t = f32x4.add(f32x4.mul(a, x), b);
  return v128.and(f32x4.mul(dy, a), v128.and(f32x4.gt(t, f32x4.splat(0)), f32x4.lt(t, f32x4.splat(1))));
}

export function hardsigmoid_f32_fwd(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(alpha), b = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      v128.store(y + o, hsig4(v128.load(x + o), a, b));
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, hsig1(load<f32>(x + o), alpha, beta));
  }
}

export function hardsigmoid_f32_fwd_ref(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, hsig1(load<f32>(x + o), alpha, beta));
  }
}

export function hardsigmoid_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, alpha: f32, beta: f32, accumulate: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(alpha), b = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let g = dhsig4(v128.load(x + o), v128.load(dy + o), a, b);
      v128.store(dx + o, accumulate ? f32x4.add(v128.load(dx + o), g) : g);
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let g = dhsig1(load<f32>(x + o), load<f32>(dy + o), alpha, beta);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

export function hardsigmoid_f32_bwd_ref(x: usize, dy: usize, dx: usize, n: i32, alpha: f32, beta: f32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let g = dhsig1(load<f32>(x + o), load<f32>(dy + o), alpha, beta);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Clip: y = min(max(x, lo), hi) (ONNX Clip with any bounds; ±Infinity for a missing one); dx = dy where
// lo < x < hi (PyTorch's clamp passes the gradient at the bounds too: x == lo or x == hi count as inside).

// @ts-ignore: decorator
@inline function clip1(x: f32, lo: f32, hi: f32): f32 { return min<f32>(max<f32>(x, lo), hi); }
// @ts-ignore: decorator
@inline function dclip1(x: f32, dy: f32, lo: f32, hi: f32): f32 { return x >= lo && x <= hi ? dy : 0; }

export function clip_f32_fwd(x: usize, y: usize, n: i32, lo: f32, hi: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let l = f32x4.splat(lo), h = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      v128.store(y + o, f32x4.min(f32x4.max(v128.load(x + o), l), h));
    }
  }
  for (; i < n; i++) { let o = <usize>i << 2; store<f32>(y + o, clip1(load<f32>(x + o), lo, hi)); }
}

export function clip_f32_fwd_ref(x: usize, y: usize, n: i32, lo: f32, hi: f32): void {
  for (let i = 0; i < n; i++) { let o = <usize>i << 2; store<f32>(y + o, clip1(load<f32>(x + o), lo, hi)); }
}

export function clip_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, lo: f32, hi: f32, accumulate: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let l = f32x4.splat(lo), h = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let v = v128.load(x + o);
      let g = v128.and(v128.load(dy + o), v128.and(f32x4.ge(v, l), f32x4.le(v, h)));
      v128.store(dx + o, accumulate ? f32x4.add(v128.load(dx + o), g) : g);
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let g = dclip1(load<f32>(x + o), load<f32>(dy + o), lo, hi);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

export function clip_f32_bwd_ref(x: usize, dy: usize, dx: usize, n: i32, lo: f32, hi: f32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let g = dclip1(load<f32>(x + o), load<f32>(dy + o), lo, hi);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}
