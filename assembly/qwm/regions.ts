// Memory regions of the pure-WASM runner: the model, the work area, the bundle payload and qwm_main's output live
// in pages taken with memory.grow, outside AssemblyScript's TLSF heap (see assembly/qwm_run.ts, "Memory").

// ---------------------------------------------------------------------------------------------- memory regions
// A region = [base, base + size) of pages taken with memory.grow. Slots: 0 model, 1 work (activations and the
// load-time sparse decode buffer), 2 embedded payload copy, 3 qwm_main's output codes.
export const R_MODEL = 0, R_WORK = 1, R_ROM = 2, R_RESULT = 3;
export const regions = memory.data(32);
export let tlsfReady = false;

// AssemblyScript's TLSF takes as its pool everything up to the memory size at its first allocation: make that
// happen before any region is grown, so no region ever ends up inside the pool.
export function ensureTlsf(): void {
  if (!tlsfReady) { heap.free(heap.alloc(16)); tlsfReady = true; }
}

// Start of region `r` with at least `bytes` bytes, or 0 when the host refuses to grow memory.
export function region(r: i32, bytes: u64): usize {
  let slot = regions + (<usize>r << 3);
  let base = load<u32>(slot), size = load<u32>(slot, 4);
  if (<u64>size >= bytes && base != 0) return base;
  ensureTlsf();
  let top = <u64>memory.size() << 16;
  let extend = base != 0 && <u64>base + size == top;   // the region is the last thing in memory: grow it in place
  let want = extend ? bytes - size : bytes;
  let pages = (want + 0xffff) >> 16;
  if (pages == 0) pages = 1;
  if (<u64>top + (pages << 16) > 0xffff0000) return 0;
  let before = memory.grow(<i32>pages);
  if (before < 0) return 0;
  if (extend) {
    store<u32>(slot, size + <u32>(pages << 16), 4);
    return base;
  }
  base = <u32>before << 16;
  store<u32>(slot, base);
  store<u32>(slot, <u32>(pages << 16), 4);
  return base;
}

export function memoryEnd(): u64 { return <u64>memory.size() << 16; }
