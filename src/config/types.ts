// The validated pipeline model: what a YAML file and `definePipeline()` both produce.
import type { StreamConfig, ViewDefinition } from '../core/connector.js';
import type { StepConfig } from '../transforms/chain.js';
import type { CheckConfig } from '../quality/check.js';
import type { PipelineRetention } from './retention-spec.js';
import type { ScheduleConfig } from './schedule-spec.js';

export interface SourceConfig {
  name: string;
  type: string;
  streams: StreamConfig[];
  [key: string]: unknown;
}

export interface DestinationConfig {
  type: string;
  [key: string]: unknown;
}

export interface PipelineConfig {
  pipeline: string;
  description?: string;
  sources: SourceConfig[];
  /** Defaults to the embedded DuckDB warehouse. */
  destination: DestinationConfig;
  /** Streams loaded at the same time. */
  concurrency: number;
  /** Rows per batch: memory is bounded by it. */
  batch_size: number;
  /** Rows between durable checkpoints (rows + state committed together). */
  checkpoint_rows: number;
  /** When `sluice serve` runs it (schedule-spec.ts). */
  schedule?: ScheduleConfig;
  /** How long its DLQ entries, runs and run logs are kept (retention-spec.ts); kept for ever when absent. */
  retention?: PipelineRetention;
  /** The `alerts:` block as written (validated; `serve` parses it with the project file's channels: alerts-spec.ts). */
  alerts?: unknown;
  /** Transform steps per stream name, validated against the step specs (src/transforms/). */
  transforms?: Record<string, StepConfig[]>;
  /** Data-quality checks per stream name, validated against the check specs (src/quality/). */
  checks?: Record<string, CheckConfig[]>;
  /** Views over the loaded tables, published at the end of a run whose streams all succeeded. */
  views?: ViewDefinition[];
  /** Personal data: what `sluice erase` does to a subject's rows, and how `pii` values are kept in the DLQ. */
  privacy?: { erasure: 'delete' | 'anonymise'; dlq: 'encrypt' | 'mask' };
}

export interface LoadedPipeline {
  config: PipelineConfig;
  /** Absolute path of the pipeline file, when it came from one. */
  file?: string;
  /** Relative paths in the config resolve against this directory. */
  baseDir: string;
}
