// The library API: the same model as the YAML file, run from TypeScript.
//
//   import { definePipeline, runPipeline } from 'sluice';
//   const p = definePipeline({ pipeline: 'orders', sources: [{ name: 'files', type: 'csv', streams: [...] }] });
//   const summary = await runPipeline(p);
export { definePipeline, loadPipelineFile, parsePipeline } from './config/load.js';
export type { LoadedPipeline, PipelineConfig, SourceConfig, DestinationConfig } from './config/types.js';
export { runPipeline } from './engine/runner.js';
export type { RunOptions, RunSummary } from './engine/runner.js';
export { replayDlq } from './engine/replay.js';
export {
  registerSource, registerDestination, sourceSpecs, destinationSpecs, getSourceSpec, getDestinationSpec,
} from './connectors/registry.js';
export type * from './core/connector.js';
export type * from './core/types.js';
export { ConfigError, RunError, TransientError, LockedError } from './core/errors.js';
// Transform steps: `transforms: { orders: [{ fn: (row) => row }, { batch: async (rows) => rows }] }` in definePipeline.
export { registerStep, stepSpecs, getStepSpec } from './transforms/registry.js';
export type { StepSpec, CompiledStep, StepEnv } from './transforms/step.js';
export type { StepConfig } from './transforms/chain.js';
export type { RowFunction, BatchFunction } from './transforms/steps/user.js';
// Checks: `checks: { orders: [{ not_null: ['id'] }, { unique: ['id'], threshold: '1%' }] }` in definePipeline.
export { checkSpecs, getCheckSpec } from './quality/registry.js';
export type { CheckSpec, CheckConfig, CompiledCheck, CheckEnv, Severity } from './quality/check.js';
export type { StreamQualityReport, CheckReport } from './quality/stream-quality.js';
export { openControlStore } from './control/open.js';
export type { ControlStore } from './control/control-store.js';
