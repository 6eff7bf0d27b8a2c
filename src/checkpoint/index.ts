export { encodeCheckpoint, decodeCheckpoint, CheckpointError, CHECKPOINT_MAGIC, CHECKPOINT_VERSION,
  type Checkpoint, type CheckpointMeta, type CheckpointTensor, type LoadedCheckpoint, type LoadedTensor, type TensorDType, type TensorData } from './format.js';
export { saveCheckpoint, loadCheckpoint, type SaveOptions } from './io.js';
export { writeFileAtomic, removeStaleTemps } from './atomic.js';
export { crc32 } from '../util/crc32.js';
