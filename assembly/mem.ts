// Linear-memory allocation exported to the host. Kernels never allocate behind the host's back except
// for scratch they free before returning; the host (src/runtime.ts) owns every buffer it passes in.
// Blocks come from AssemblyScript's TLSF allocator (--runtime minimal), 16-byte aligned, so a freed
// block is reused by the next allocation of the same size and memory stops growing.

export function qw_alloc(size: usize): usize {
  return heap.alloc(size);
}

export function qw_free(ptr: usize): void {
  heap.free(ptr);
}

// Size of linear memory in bytes (the host checks it does not creep up across repeated calls).
export function qw_memory_bytes(): usize {
  return (<usize>memory.size()) << 16;
}
