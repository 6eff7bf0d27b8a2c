// The one entry of every build: re-exports each kernel family's host-callable functions by name.
// (Helpers with v128 in their signature must not be exported: the scalar build cannot declare them.)
export { qw_alloc, qw_free, qw_memory_bytes } from './mem';
export { OUT_I32, OUT_S8, requant_i32, quantize_f32 } from './requant';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8_ref, gemm_s8 } from './gemm_s8';
// f32 GEMM (α·op(A)·op(B) + β·C + bias)
export { gemm_f32_ref, gemm_f32, gemm_f32_packed_size, gemm_f32_pack, gemm_f32_packed } from './gemm_f32';
export { selftest_gemm_s8, selftest_gemm_s8_suite, selftest_conv2d_s8, selftest_conv2d_s8_suite } from './selftest';
export { sparse_gemm_f32_ref, sparse_gemm_s8_ref, sparse_gemm_f32_csr, sparse_gemm_f32_rows, sparse_gemm_f32_steps, sparse_gemm_s8_steps, sparse_gemm_s8_rows, sparse_gemm_s8_pairs } from './sparse';
// f32 conv / pool / batch-norm with backward passes (training)
export { conv2d_f32_fwd_ref, conv2d_f32_fwd, conv2d_f32_bwd_data_ref, conv2d_f32_bwd_data, conv2d_f32_bwd_filter_ref, conv2d_f32_bwd_filter } from './conv_f32';
export { maxpool2d_f32_fwd_ref, maxpool2d_f32_fwd, maxpool2d_f32_bwd_ref, maxpool2d_f32_bwd, avgpool2d_f32_fwd_ref, avgpool2d_f32_fwd, avgpool2d_f32_bwd_ref, avgpool2d_f32_bwd, global_avgpool_f32_fwd_ref, global_avgpool_f32_fwd, global_avgpool_f32_bwd_ref, global_avgpool_f32_bwd } from './pool_f32';
export { batchnorm_f32_fwd_train_ref, batchnorm_f32_fwd_train, batchnorm_f32_fwd_eval_ref, batchnorm_f32_fwd_eval, batchnorm_f32_bwd_ref, batchnorm_f32_bwd } from './bn_f32';
// int8 CNN: conv2d, pooling, requantising add
export { conv2d_s8_packed_size, conv2d_s8_pack, conv2d_s8_ref, conv2d_s8, im2col_s8 } from './conv_s8';
export { maxpool2d_s8_ref, maxpool2d_s8, avgpool2d_s8_ref, avgpool2d_s8, global_avgpool_s8_ref, global_avgpool_s8 } from './pool_s8';
export { add_s8_ref, add_s8 } from './add_s8';
export { concat_s8, concat_s8_ref } from './concat_s8';
// f32 training elementwise / losses / optimisers (eltwise_f32.ts, loss_f32.ts, optim_f32.ts)
export { add_f32, sub_f32, mul_f32, add_f32_ref, sub_f32_ref, mul_f32_ref, add_bcast_f32, mul_bcast_f32, add_bcast_f32_ref, mul_bcast_f32_ref, sum_bcast_f32, sum_bcast_f32_ref, axpy_f32, axpy_f32_ref, scale_f32, scale_f32_ref, fill_f32, fill_f32_ref, copy_f32, copy_f32_ref, act_f32_fwd, act_f32_fwd_ref, act_f32_bwd, act_f32_bwd_ref, mul_mask_f32, mul_mask_f32_ref, dropout_f32, dropout_f32_ref, sum_f32, sum_f32_ref, sumsq_f32, sumsq_f32_ref, max_f32, max_f32_ref, minmax_f32, minmax_f32_ref, minmax_channel_f32, minmax_channel_f32_ref, argmax_rows_f32, argmax_rows_f32_ref, fake_quant_f32_fwd, fake_quant_f32_fwd_ref, fake_quant_f32_bwd, fake_quant_f32_bwd_ref, fake_quant_channel_f32_fwd, fake_quant_channel_f32_fwd_ref, fake_quant_channel_f32_bwd, fake_quant_channel_f32_bwd_ref } from './eltwise_f32';
export { exp_f32, exp_f32_ref, log_f32, log_f32_ref, xent_f32, xent_f32_ref, softmax_f32, softmax_f32_ref, log_softmax_f32_fwd, log_softmax_f32_fwd_ref, log_softmax_f32_bwd, log_softmax_f32_bwd_ref, kl_distill_f32, kl_distill_f32_ref, mse_f32, mse_f32_ref } from './loss_f32';
export { sgd_f32, sgd_f32_ref, adam_f32, adam_f32_ref } from './optim_f32';
// mobile-net activations (sigmoid, hard sigmoid, SiLU, tanh, clip) and graph merges (squeeze-excite gate, concat rows)
export { sigmoid_f32_fwd, sigmoid_f32_bwd, silu_f32_fwd, silu_f32_bwd, tanh_f32_fwd, tanh_f32_bwd, hardsigmoid_f32_fwd, hardsigmoid_f32_fwd_ref, hardsigmoid_f32_bwd, hardsigmoid_f32_bwd_ref, clip_f32_fwd, clip_f32_fwd_ref, clip_f32_bwd, clip_f32_bwd_ref } from './act_f32';
export { chanmul_f32_fwd, chanmul_f32_bwd, copy_rows_f32 } from './merge_f32';
// pure-WASM .qwm runner (docs/QWM.md; no JS host needed): load, run, queries, bundle entry points
export { qwm_load, qwm_error_offset, qwm_run, qwm_run_f32, qwm_input_size, qwm_output_size, qwm_input_scale, qwm_input_zp, qwm_output_scale, qwm_output_zp, qwm_free, qwm_work_bytes, qwm_model_bytes, qwm_decode_bytes } from './qwm_run';
export { qwm_embed_init, qwm_main, qwm_out, qwm_out_count } from './qwm/bundle';
// element-wise activations with their own family (hardswish_f32.ts) and the int8 table lookup (lut_s8.ts)
export { hardswish_f32_fwd, hardswish_f32_fwd_ref, hardswish_f32_bwd, hardswish_f32_bwd_ref } from './hardswish_f32';
export { lut_s8, lut_s8_ref } from './lut_s8';
