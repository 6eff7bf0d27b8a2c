// Tiny WASM modules that tell what the engine can run. Bytes are hand-assembled from the WAT beside each.
// (module (func (export "p") (result i32)
//   (i32x4.extract_lane 1 (i32x4.dot_i16x8_s (v128.const i16x8 1 2 3 4 5 6 7 8)
//                                            (v128.const i16x8 -1 1 2 2 -3 300 0 0)))))   ;; = 3*2 + 4*2 = 14
export const SIMD_PROBE = new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,127,3,2,1,0,7,5,1,1,112,0,0,10,46,1,44,0,253,12,1,0,2,0,3,0,4,0,5,0,6,0,7,0,8,0,253,12,255,255,1,0,2,0,2,0,253,255,44,1,0,0,0,0,253,186,1,253,27,1,11]);

// (module (func (export "p") (param i32) (result i32)
//   (i32x4.extract_lane 0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (i8x16.splat (local.get 0))
//     (v128.const i8x16 127 1 2 3 127 1 2 3 127 1 2 3 127 1 2 3) (v128.const i32x4 1000 0 0 0)))))
// The second operand stays inside 7 bits, where the result is defined: p(x) = 1000 + 133·x. An engine that
// returns anything else (Node 20.20 with the flag returns twice the dot product) must not get the relaxed build.
export const RELAXED_PROBE = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,7,5,1,1,112,0,0,10,50,1,48,0,32,0,253,15,253,12,127,1,2,3,127,1,2,3,127,1,2,3,127,1,2,3,253,12,232,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,253,147,2,253,27,0,11]);

function run(bytes: Uint8Array<ArrayBuffer>): ((...a: number[]) => number) | null {
  try {
    if (!WebAssembly.validate(bytes)) return null;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    return inst.exports.p as (...a: number[]) => number;
  } catch {
    return null;
  }
}

export function simdWorks(): boolean {
  const p = run(SIMD_PROBE);
  return p !== null && p() === 14;
}

export function relaxedWorks(): boolean {
  const p = run(RELAXED_PROBE);
  if (p === null) return false;
  for (const x of [-128, -1, 0, 1, 127, 77]) if (p(x) !== 1000 + 133 * x) return false;
  return true;
}
