// Datasets: compact uint8 storage, loaders (MNIST, Fashion-MNIST, QuickDraw, UCI digits, IDX, image folders),
// subsets and splits, seeded float32 batching with augmentation.
export { createDataset, computeNorm, classCounts, subset, indicesByClass, stratifiedSubset, stratifiedSplit, selectClasses,
  type Dataset, type DatasetSplits, type DatasetInit, type Labels, type Normalization, type StratifiedOptions } from './dataset.js';
export { BatchIterator, batches, type BatchOptions } from './batch.js';
export { Rng, hash32 } from '../util/rng.js';
export { parseIdx, encodeIdx, loadIdxDataset, findIdxSplits, type IdxArray, type IdxDType, type IdxDatasetOptions } from './idx.js';
export { decodePng, isPng, PNG_MAX_PIXELS } from './png.js';
export { decodePnm, isPnm } from './pnm.js';
export { resize, toChannels, invert, centreLikeMnist, type Image } from './image.js';
export { decodeImage, loadImageFolder, loadUnlabelledFolder, loadImageFiles, listImageFiles, listClassFolders, UNLABELLED, IMAGE_EXTENSIONS, type ImageFolderOptions } from './folder.js';
export { loadMnist, loadFashionMnist, loadFashionMnistJson, loadQuickDraw, quickdrawCategories, loadDigits, findDigitsCsv,
  MNIST_NORM, FASHION_MNIST_NORM, FASHION_MNIST_CLASSES, type DirOptions, type QuickDrawOptions, type DigitsOptions } from './sources.js';
export { loadDataset, DATASET_NAMES, type LoadDatasetOptions } from './registry.js';
export { loadPhotoFolder, decodePhoto, loadSharp, PHOTO_EXTENSIONS, IMAGENET_NORM, type PhotoFolderOptions, type PhotoDataset, type PhotoPreprocess, type DecodePhotoOptions } from './photos.js';
