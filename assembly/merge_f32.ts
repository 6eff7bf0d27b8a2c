// f32 kernels of graph merges that are not plain elementwise ops (training, NHWC):
//   chanmul   y[b,p,j] = x[b,p,j] · s[b,j]      squeeze-excite: a per-sample, per-channel gate [N,1,1,C]
//                                               times a feature map [N,H,W,C] (p runs over the H·W pixels)
//   copy_rows dst[r·dstStride + k] (+)= src[r·srcStride + k], k < width: a channel Concat of NHWC maps is one
//             call per input (rows = N·H·W); its backward the same call the other way with accumulate.
// Backward kernels accumulate into the gradients (autograd's convention). Plain loops in every build (no SIMD
// path, so no reference twin).

export function chanmul_f32_fwd(x: usize, s: usize, y: usize, n: i32, hw: i32, c: i32): void {
  for (let b = 0; b < n; b++) {
    let sb = s + ((<usize>b * <usize>c) << 2);
    let base = <usize>b * <usize>hw * <usize>c;
    for (let p = 0; p < hw; p++) {
      let row = (base + <usize>p * <usize>c) << 2;
      for (let j = 0; j < c; j++) {
        let o = row + (<usize>j << 2);
        store<f32>(y + o, load<f32>(x + o) * load<f32>(sb + (<usize>j << 2)));
      }
    }
  }
}

/** dx += dy·s (skipped when dx = 0); ds[b,j] += Σ_p dy[b,p,j]·x[b,p,j] (skipped when ds = 0). */
export function chanmul_f32_bwd(x: usize, s: usize, dy: usize, dx: usize, ds: usize, n: i32, hw: i32, c: i32): void {
  for (let b = 0; b < n; b++) {
    let sb = s + ((<usize>b * <usize>c) << 2), db = ds + ((<usize>b * <usize>c) << 2);
    let base = <usize>b * <usize>hw * <usize>c;
    for (let p = 0; p < hw; p++) {
      let row = (base + <usize>p * <usize>c) << 2;
      for (let j = 0; j < c; j++) {
        let o = row + (<usize>j << 2), q = <usize>j << 2;
        let g = load<f32>(dy + o);
        if (dx) store<f32>(dx + o, load<f32>(dx + o) + g * load<f32>(sb + q));
        if (ds) store<f32>(db + q, load<f32>(db + q) + g * load<f32>(x + o));
      }
    }
  }
}

export function copy_rows_f32(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, width: i32, accumulate: i32): void {
  for (let r = 0; r < rows; r++) {
    let a = src + ((<usize>r * <usize>srcStride) << 2), d = dst + ((<usize>r * <usize>dstStride) << 2);
    if (accumulate) {
      for (let k = 0; k < width; k++) { let o = <usize>k << 2; store<f32>(d + o, load<f32>(d + o) + load<f32>(a + o)); }
    } else {
      // a plain loop: memory.copy would need bulk memory, which the builds do not all enable
      for (let k = 0; k < width; k++) { let o = <usize>k << 2; store<f32>(d + o, load<f32>(a + o)); }
    }
  }
}
