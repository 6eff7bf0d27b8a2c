// Channel concatenation of int8 NHWC maps (a DAG's concat merge; TFLite int8 CONCATENATION): one call per input
// writes its c channels of every pixel at channel offset `off` of the ctot-channel output, requantised onto the
// output's grid with add_s8's arithmetic for one operand:
//   y = clamp(rne(f32(x − zx) · m), −128 − zo, 127 − zo) + zo          m = f32(inScale / outScale)
// An input already on the output's grid (zx = zo, m = 1: what TFLite requires of every input, and what the
// converter arranges where it can) is copied exactly. One IEEE f32 multiply and a round-half-even per value, no
// SIMD: the scalar, SIMD and relaxed builds agree bit for bit (the copy is a plain loop: no bulk memory needed).

export function concat_s8(pixels: i32, x: usize, c: i32, zx: i32, m: f32, y: usize, ctot: i32, off: i32, zo: i32): void {
  let lo = <f32>(<i32>-128 - zo), hi = <f32>(<i32>127 - zo);
  let copy = zx == zo && m == 1;
  for (let p = 0; p < pixels; p++) {
    let src = x + <usize>p * c, dst = y + <usize>p * ctot + off;
    if (copy) {
      let j = 0;
      for (; j + 8 <= c; j += 8) store<u64>(dst + j, load<u64>(src + j));
      for (; j < c; j++) store<i8>(dst + j, load<i8>(src + j));
      continue;
    }
    for (let j = 0; j < c; j++) {
      let f = <f32>(<i32>load<i8>(src + j) - zx) * m;
      f = min<f32>(max<f32>(f, lo), hi);
      store<i8>(dst + j, <i8>(<i32>nearest<f32>(f) + zo));
    }
  }
}
