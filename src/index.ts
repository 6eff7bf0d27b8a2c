// Public entry: `const q = await init({ build: 'auto' })`.
import { loadRuntime, type InitOptions } from './runtime.js';
import { Qwasm } from './qwasm.js';
import { startThreads } from './threads/transport-browser.js';

export async function init(opts: InitOptions = {}): Promise<Qwasm> {
  // a browser Worker's Web Workers start now (they cannot start later, inside a blocking call)
  return new Qwasm(await startThreads(await loadRuntime(opts)));
}

export { Qwasm } from './qwasm.js';
export { Runtime, Scope, detect, chooseBuild, BUILDS, type BuildName, type InitOptions, type EngineSupport } from './runtime.js';
export { QwasmError } from './errors.js';
export { resolveRequant, activationRange, requantize, type RequantParams, type Activation } from './kernels/requant.js';
export { PackedGemmS8, type GemmS8Options } from './kernels/gemm_s8.js';
export { gemmF32Ptr, PackedGemmF32, type GemmF32Options, type GemmF32PtrOptions, type PackGemmF32Options } from './kernels/gemm_f32.js';
export { SparseMatrixF32, SparseMatrixS8, nmMask, blockMask, magnitudeMask, type SparseFormat, type SparseOptions, type SparseF32Options, type SparseS8Options } from './kernels/sparse.js';
export { LowRankF32, LowRankS8, type LowRankF32Options, type LowRankS8Options } from './kernels/lowrank.js';
export { PackedConv2dS8, SparseConv2dS8, im2colS8, type Conv2dS8Options, type Pair, type Padding, type Shape4, type Tensor4S8, type Geometry } from './kernels/conv_s8.js';
export { type MaxPool2dS8Options, type AvgPool2dS8Options, type AvgQuantOptions } from './kernels/pool_s8.js';
export { type AddS8Options } from './kernels/add_s8.js';
export type { KernelExports } from './exports.js';
// f32 conv / pool / batch-norm (training kernels with backward passes)
export { conv2dF32Shape, conv2dF32Forward, conv2dF32BackwardData, conv2dF32BackwardFilter, conv2dF32, conv2dF32Backward, type Conv2dF32Params, type Conv2dF32Shape, type Conv2dF32Grads, type ConvF32RunOptions, type ConvF32GradOptions } from './kernels/conv_f32.js';
export { pool2dF32Shape, globalPoolF32Shape, maxPool2dF32Forward, maxPool2dF32Backward, avgPool2dF32Forward, avgPool2dF32Backward, globalAvgPoolF32Forward, globalAvgPoolF32Backward, maxPool2dF32, maxPool2dF32Grad, avgPool2dF32, avgPool2dF32Grad, globalAvgPoolF32, globalAvgPoolF32Grad, type Pool2dF32Params, type Pool2dF32Shape, type GlobalPoolF32Shape } from './kernels/pool_f32.js';
export { batchNormF32ForwardTrain, batchNormF32ForwardEval, batchNormF32Backward, batchNormF32Train, batchNormF32Eval, batchNormF32Grad, type BatchNormF32Params, type BatchNormF32TrainPtrs, type BatchNormF32EvalPtrs, type BatchNormF32BackwardPtrs, type BatchNormF32GradOptions, type BatchNormF32TrainOptions } from './kernels/bn_f32.js';
// f32 training elementwise / losses / optimisers: pointer-level namespaces + typed-array classes
export * as eltwiseF32 from './kernels/eltwise_f32.js';
export * as lossF32 from './kernels/loss_f32.js';
export * as optimF32 from './kernels/optim_f32.js';
export { EltwiseF32, type Activation as ActivationF32 } from './kernels/eltwise_f32.js';
export { LossF32, type LossResult } from './kernels/loss_f32.js';
export { OptimF32, type SgdOptions, type AdamOptions, type GradBuffer } from './kernels/optim_f32.js';
// datasets (loaders, splits, seeded float32 batching) and checkpoints (src/data/, src/checkpoint/)
export { loadDataset, DATASET_NAMES, loadMnist, loadFashionMnist, loadFashionMnistJson, loadQuickDraw, quickdrawCategories, loadDigits, findDigitsCsv, MNIST_NORM, FASHION_MNIST_NORM, FASHION_MNIST_CLASSES, loadIdxDataset, parseIdx, encodeIdx, findIdxSplits, loadImageFolder, loadUnlabelledFolder, loadImageFiles, listImageFiles, UNLABELLED, listClassFolders, decodeImage, decodePng, isPng, decodePnm, isPnm, resize as resizeImage, toChannels, invert as invertImage, centreLikeMnist, createDataset, computeNorm, classCounts, subset, indicesByClass, stratifiedSubset, stratifiedSplit, selectClasses, BatchIterator, batches, Rng, hash32, type Dataset, type DatasetSplits, type DatasetInit, type Labels, type Normalization, type StratifiedOptions, type BatchOptions, type Image, type ImageFolderOptions, type IdxArray, type IdxDType, type LoadDatasetOptions, type QuickDrawOptions, type DigitsOptions, type DirOptions } from './data/index.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, CheckpointError, CHECKPOINT_MAGIC, CHECKPOINT_VERSION, crc32, type Checkpoint, type CheckpointMeta, type CheckpointTensor, type LoadedCheckpoint, type LoadedTensor, type TensorDType, type TensorData, type SaveOptions } from './checkpoint/index.js';
// --- training engine ---
export { Engine, Tensor, sizeOf, type Shape } from './autograd/tensor.js';
export * as ops from './autograd/ops.js';
export { Module, type ParamInfo } from './nn/module.js';
export * as layers from './nn/layers.js';
export { Graph, GRAPH_INPUT, GRAPH_MERGES, type GraphMerge, type GraphNode as ModelGraphNode, type GraphNodeSpec } from './nn/graph.js';
// graph ops (imported MobileNetV3 / EfficientNet / SqueezeNet): sigmoid, hard sigmoid, SiLU, clip, mul, SE gate, concat
export * as opsGraph from './autograd/ops-graph.js';
export * from './nn/activations.js'; // Sigmoid, HardSigmoid, SiLU, Tanh (+ its op tanh), Clip: every activation kind
export { buildModel, MODEL_NAMES, type ModelOptions, type ModelName } from './nn/models.js';
export { InitRng, RandomSource } from './util/rng.js';
export { Optimizer, type OptimizerSpec } from './optim/optimizer.js';
export { makeSchedule, type Schedule, type ScheduleSpec } from './optim/schedule.js';
export { balancedAccuracy, mostPredicted, sumConfusions } from './train/confusion.js';
export { fit, fitAsync, evaluate, type FitOptions, type FitResult, type StepInfo, type EpochInfo, type EvalResult, type LossHook } from './train/index.js';
// --- end training engine ---
export { saveModel, loadModelCheckpoint, loadModel, loadModelBytes, checkpointOf, type ModelRecord, type LoadedModel } from './train/model-file.js';
// --- quantisation: fake quant, QAT, PTQ, int8 deployment (src/quant/, src/deploy/) ---
export { fakeQuant, fakeQuantChannel, expScale, MinMaxObserver, PerChannelMinMaxObserver, affineQParams, symmetricScales, weightLayout, lsqGrad, lsqGradScale, quantizeArray, dequantizeArray, quantizeChannels, rne, type QParams, type ChannelLayout, type ObserverMode, type ObserverOptions } from './quant/fakequant.js';
export { prepareQAT, QATModel, QATSchedule, ActQuant, WeightQuant, foldBatchNorm, bnFactor, type QATOptions, type QATScheduleOptions, type QuantState, type Unit as QuantUnit, type FusedActivation } from './quant/qat.js';
export { quantizeStatic, quantizeDynamic, calibrate, weightOnlyBytes, type CalibrationOptions } from './quant/ptq.js';
// PyTorch vocabulary (torch.ao.quantization.prepare_qat / convert): the same functions under those names
export { prepareQAT as prepareQat, prepareQAT as prepare_qat } from './quant/qat.js';
export { convertToInt8 as convert } from './deploy/int8-model.js';
export { convertToInt8, buildInt8Graph, Int8Model, type ConvertOptions, type MatmulBackend, type LayerInfo, type Int8LayerSummary, type PrunedInfo } from './deploy/int8-model.js';
export { Int8Runner, quantizeInput, type TraceEntry } from './deploy/runner.js';
export { encodeQwm, decodeQwm, isQwm, qwmNodeBytes, QWM_MAGIC, QWM_VERSION } from './deploy/qwm.js';
export { validateGraph, windowGeometry, QWM_LIMITS, type GraphShapes, type SampleShape, type ValidateOptions } from './deploy/validate.js';
export { walkGraph, childLists, type Int8Graph, type GraphNode, type GraphMeta, type SparseSpec, type Requant, type ConvNode, type LinearNode, type LowRankNode, type MaxPoolNode, type AvgPoolNode, type GapNode, type FlattenNode, type ResidualNode, type DagNode, type DagStep } from './deploy/graph.js';
// --- end quantisation ---
// --- distillation (src/compress/distill.ts) ---
export { Distiller, HintAdapter, distillationLoss, evaluateDistillation, type DistillOptions, type DistillLossOptions, type DistillHook, type HintSpec, type DistillStats, type DistillEval } from './compress/distill.js';
export { tapModules, type ModuleTaps } from './nn/layers.js';
// --- end distillation ---
// --- pruning / low-rank (src/compress/prune.ts, lowrank.ts, svd.ts) ---
export { Pruner, PolynomialDecay, ConstantSparsity, prunedWeights, weightSparsity, removePrunedChannels, type PruneMode, type PruneScope, type PruneOptions, type PolynomialDecaySpec, type PruningSchedule, type LayerSparsity, type SparsityReport, type PrunedWeight, type PrunedFormat } from './compress/prune.js';
export { LowRankLinear } from './nn/lowrank-linear.js';
export { HardSwish, hardswish } from './nn/hardswish.js';
export { copyModel } from './nn/copy.js';
export { factorize, factorizeLinear, factorizeConv, type RankOptions, type FactorizeOptions, type FactorReport, type ConvFactorMode } from './compress/lowrank.js';
export { svd, svdReconstruct, rankForEnergy, type SVDResult, type SVDOptions } from './compress/svd.js';
// --- end pruning / low-rank ---
// --- compression entry point, joint objective, report rows (src/pipeline/compress-model.ts, src/deploy/report.ts) ---
export { compressModel, COMPRESS_METHODS, type CompressMethod, type CompressOptions, type WeightOnlyCompressOptions, type CompressResult, type CompressProgress, type CompressHistory, type StepRecord, type StepTerms, type DistillTerm, type QatTerm, type PruneTerm, type LowRankTerm } from './pipeline/compress-model.js';
export { reportRow, formatReport, floatLatencyMs, layerLatencyUs, type ReportRow, type ReportOptions, type LayerTiming } from './deploy/report.js';
// --- end compression entry point ---
// --- transfer learning (src/transfer/finetune.ts, features.ts) ---
export { replaceHead, headIndex, transferRecord, transferModel, loadPretrained, layerGroups, setFrozen, freeze, unfreeze, isFrozen, freezeBackbone, trainableParameters, GradualUnfreezer, discriminativeGroups, transferOptimizer, fineTune, type ReplaceHeadOptions, type LayerGroup, type FreezeOptions, type UnfreezeScheduleOptions, type FineTuneStrategy, type FineTuneOptions } from './transfer/finetune.js';
export { extractFeatures, cacheFeatures, saveFeatures, loadFeatures, trainLinearHead, headPredict, headAccuracy, l2Normalize, NearestClassMean, type Features, type ExtractOptions, type FeatureCache, type LinearHeadOptions, type LinearHeadResult } from './transfer/features.js';
export type { ParamGroup } from './optim/optimizer.js';
// --- end transfer learning ---
// --- domain adaptation (src/transfer/adapt.ts, src/autograd/ops-extra.ts) ---
export * as opsExtra from './autograd/ops-extra.js';
export { gradReverse, matmul, meanRows, covariance, coralLoss, type MatmulOptions } from './autograd/ops-extra.js';
export { adapt, dannLambda, dannLr, splitSequential, domainClassifier, ADAPT_METHODS, type AdaptMethod, type AdaptOptions, type AdaptResult, type AdaptStepInfo, type SplitModel } from './transfer/adapt.js';
export { runAdaptation, resolveRecipe, summarise, withoutLabels, score, ADAPT_RECIPE, type AdaptRecipe, type AdaptRunOptions, type AdaptRunResult, type AdaptRunRow, type AdaptMethodSummary, type Scored } from './transfer/adapt-run.js';
export { NATURAL_SUPERCLASSES, QUICKDRAW_NATURAL, TUXPAINT_NATURAL, TUXPAINT_STAMPS_DIR, loadQuickDrawNatural, loadTuxPaintNatural, tuxPaintNaturalFiles } from './data/sketch-photo.js';
export { wilson, spread, tQuantile975, type Interval, type Spread } from './train/intervals.js';
// --- end domain adaptation ---
// --- ONNX import / export (src/onnx/) and generic layer descriptions (src/nn/layer-spec.ts) ---
export { importOnnx, OnnxImportError, type ImportOptions as OnnxImportOptions, type ImportedModel as OnnxImportedModel } from './onnx/import.js';
export { int8GraphToOnnx, type OnnxExportOptions } from './onnx/export.js';
export { decodeModel as decodeOnnx, encodeModel as encodeOnnx, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx/onnx-proto.js';
export { describeLayers, buildLayers, type LayerSpec } from './nn/layer-spec.js';
export { registerLayer, layerKind, layerTypes, kindOf, LayerAspect, describeModule, buildModule, cloneModule, type LayerKind, type PointwiseInfo, type BuildContext } from './nn/registry.js';
export { lutTable, lutS8, lutS8Array } from './kernels/lut_s8.js';
export { hardswishForward, hardswishBackward } from './kernels/hardswish_f32.js';
// --- end ONNX ---
// --- TF.js layers-model import (src/tfjs/) and RGB photo folders (src/data/photos.ts) ---
export { importTfjs, readTfjsSource, NORMALIZATIONS, type TfjsImportOptions, type TfjsImportedModel } from './tfjs/import.js';
export { TfjsImportError, readNsfwjs, readModelFolder, decodeWeights as decodeTfjsWeights, parseJsLiteral, type TfjsArtifacts, type WeightSpec as TfjsWeightSpec } from './tfjs/artifacts.js';
export { loadPhotoFolder, decodePhoto, loadSharp, PHOTO_EXTENSIONS, IMAGENET_NORM, type PhotoFolderOptions, type PhotoDataset, type PhotoPreprocess } from './data/photos.js';
export { centreCropBox, rgbaToRgb } from './deploy/preprocess.js';
// --- end TF.js / photos ---
// --- pure-WASM deployment: standalone .wasm bundles (src/deploy/wasm-bundle.ts, assembly/qwm_run.ts) ---
export { bundleWasm, bundleChecksum, qwmWasmError, QWM_WASM_ERRORS, type BundleOptions, type WasmBundle } from './deploy/wasm-bundle.js';
// --- end pure-WASM deployment ---
