export { fit, fitAsync, evaluate, type FitOptions, type FitResult, type StepInfo, type EpochInfo, type EvalResult, type LossHook } from './trainer.js';
