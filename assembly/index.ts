// The one entry of every build: re-exports each kernel family's host-callable functions by name.
// (Helpers with v128 in their signature must not be exported: the scalar build cannot declare them.)
export { qw_alloc, qw_free, qw_memory_bytes } from './mem';
export { requant_row } from './requant';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8_ref, gemm_s8 } from './gemm_s8';
