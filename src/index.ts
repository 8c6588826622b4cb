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
export { openControlStore } from './control/open.js';
export type { ControlStore } from './control/control-store.js';
