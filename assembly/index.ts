// The one entry of every build: re-exports each kernel family's host-callable functions by name.
// (Helpers with v128 in their signature must not be exported: the scalar build cannot declare them.)
export { qw_alloc, qw_free, qw_memory_bytes } from './mem';
export { requant_row, quantize_f32_s8 } from './requant';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8_ref, gemm_s8 } from './gemm_s8';
// f32 GEMM (α·op(A)·op(B) + β·C + bias)
export { gemm_f32_ref, gemm_f32, gemm_f32_packed_size, gemm_f32_pack, gemm_f32_packed } from './gemm_f32';
export { selftest_gemm_s8, selftest_gemm_s8_suite, selftest_conv2d_s8, selftest_conv2d_s8_suite } from './selftest';
export { sparse_f32_ref, sparse_s8_ref, sparse_f32_csr, sparse_f32_rows, sparse_f32_steps, sparse_s8_steps, sparse_s8_rows, sparse_s8_pairs } from './sparse';
// f32 conv / pool / batch-norm with backward passes (training)
export { conv2d_f32_fwd_ref, conv2d_f32_fwd, conv2d_f32_bwd_data_ref, conv2d_f32_bwd_data, conv2d_f32_bwd_filter_ref, conv2d_f32_bwd_filter } from './conv_f32';
export { maxpool2d_f32_fwd_ref, maxpool2d_f32_fwd, maxpool2d_f32_bwd_ref, maxpool2d_f32_bwd, avgpool2d_f32_fwd_ref, avgpool2d_f32_fwd, avgpool2d_f32_bwd_ref, avgpool2d_f32_bwd, gavgpool_f32_fwd_ref, gavgpool_f32_fwd, gavgpool_f32_bwd_ref, gavgpool_f32_bwd } from './pool_f32';
export { bn_f32_fwd_train_ref, bn_f32_fwd_train, bn_f32_fwd_eval_ref, bn_f32_fwd_eval, bn_f32_bwd_ref, bn_f32_bwd } from './bn_f32';
// int8 CNN: conv2d, pooling, requantising add
export { conv_s8_packed_size, conv_s8_pack, conv2d_s8_ref, conv_s8, im2col_s8 } from './conv_s8';
export { max_pool_s8_ref, max_pool_s8, avg_pool_s8_ref, avg_pool_s8, global_avg_pool_s8_ref, global_avg_pool_s8 } from './pool_s8';
export { add_s8_ref, add_s8 } from './add_s8';
// f32 training elementwise / losses / optimisers (eltwise_f32.ts, loss_f32.ts, optim_f32.ts)
export { f32_add, f32_sub, f32_mul, f32_add_ref, f32_sub_ref, f32_mul_ref, f32_add_bcast, f32_mul_bcast, f32_add_bcast_ref, f32_mul_bcast_ref, f32_sum_bcast, f32_sum_bcast_ref, f32_axpy, f32_axpy_ref, f32_scale, f32_scale_ref, f32_fill, f32_fill_ref, f32_copy, f32_copy_ref, f32_act, f32_act_ref, f32_act_bwd, f32_act_bwd_ref, f32_mul_mask, f32_mul_mask_ref, f32_dropout, f32_dropout_ref, f32_sum, f32_sum_ref, f32_sumsq, f32_sumsq_ref, f32_max, f32_max_ref, f32_minmax, f32_minmax_ref, f32_minmax_channel, f32_minmax_channel_ref, f32_argmax_rows, f32_argmax_rows_ref, f32_fq, f32_fq_ref, f32_fq_bwd, f32_fq_bwd_ref, f32_fq_channel, f32_fq_channel_ref, f32_fq_channel_bwd, f32_fq_channel_bwd_ref } from './eltwise_f32';
export { f32_exp, f32_exp_ref, f32_log, f32_log_ref, f32_xent, f32_xent_ref, f32_softmax, f32_softmax_ref, f32_log_softmax, f32_log_softmax_ref, f32_log_softmax_bwd, f32_log_softmax_bwd_ref, f32_kl_distill, f32_kl_distill_ref, f32_mse, f32_mse_ref } from './loss_f32';
export { f32_sgd, f32_sgd_ref, f32_adam, f32_adam_ref } from './optim_f32';
// pure-WASM .qwm runner (docs/QWM.md; no JS host needed): load, run, queries, bundle entry points
export { qwm_load, qwm_error_offset, qwm_run, qwm_run_f32, qwm_input_size, qwm_output_size, qwm_input_scale, qwm_input_zp, qwm_output_scale, qwm_output_zp, qwm_free, qwm_work_bytes, qwm_model_bytes, qwm_decode_bytes, qwm_embed_init, qwm_main, qwm_out, qwm_out_count } from './qwm_run';
// element-wise activations with their own family (hardswish_f32.ts) and the int8 table lookup (lut_s8.ts)
export { hardswish_f32_fwd, hardswish_f32_fwd_ref, hardswish_f32_bwd, hardswish_f32_bwd_ref } from './hardswish_f32';
export { lut_s8, lut_s8_ref } from './lut_s8';
