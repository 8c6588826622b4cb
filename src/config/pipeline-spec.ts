// The schema of a pipeline file, assembled from the connector specs: the same zod objects parse a file, reject
// unknown keys, apply defaults and generate the JSON Schema and the config reference (generate-docs.ts).
import { z } from 'zod';
import type { DestinationSpec, SourceSpec } from '../core/connector.js';
import {
  DEFAULT_DESTINATION, destinationSpecs, getDestinationSpec, sourceSpecs,
} from '../connectors/registry.js';
import { alertsSchema } from './alerts-spec.js';
import { scheduleSchema } from './schedule-spec.js';
import { pipelineRetentionSchema } from './retention-spec.js';
import { commonStreamKeys } from './stream-keys.js';
import { TRANSFORMS_DESCRIPTION, transformsSchema } from '../transforms/spec.js';
import { CHECKS_DESCRIPTION, checksSchema } from '../quality/spec.js';

export const PIPELINE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const SOURCE_NAME = /^[a-z][a-z0-9_-]*$/;

/** Top-level keys of a pipeline file. `sources` and `destination` are checked per connector type. */
export const topLevelKeys = {
  pipeline: z.string().regex(PIPELINE_NAME, 'a kebab-case pipeline name').describe('Pipeline name (kebab-case); runs, state and locks are keyed by it.'),
  description: z.string().optional().describe('What the pipeline is for; shown in `sluice runs` and the dashboard.'),
  sources: z.array(z.unknown()).min(1).describe('Where data comes from: one or more sources, each with its streams.'),
  destination: z.unknown().optional().describe(`Where data lands. Defaults to the embedded \`${DEFAULT_DESTINATION}\` warehouse.`),
  concurrency: z.int().min(1).default(2).describe('Streams loaded at the same time.'),
  batch_size: z.int().min(1).default(1000)
    .describe('Rows per batch; memory is bounded by it. Small batches die young in the garbage collector: 1,000 measured fastest and leanest.'),
  checkpoint_rows: z.int().min(1).default(100000).describe('Rows between durable checkpoints (rows and state committed together). Loads that apply a checkpoint while reading on (PostgreSQL append, merge and scd2) ramp up to it: 1/8, 1/4, 1/2, then all of it.'),
  schedule: scheduleSchema.optional(),
  retention: pipelineRetentionSchema.optional(),
  alerts: alertsSchema.optional().describe('Alert rules and channels for this pipeline under `sluice serve`, added to those of the project file `sluice.yaml`; rules may name either file\'s channels.'),
  transforms: z.record(z.string(), z.array(z.unknown())).optional().describe(TRANSFORMS_DESCRIPTION),
  checks: z.record(z.string(), z.array(z.unknown())).optional().describe(CHECKS_DESCRIPTION),
  views: z.array(z.strictObject({
    name: z.string().min(1).describe('View name (created in the destination\'s schema).'),
    sql: z.string().min(1).describe('A SELECT over the loaded tables; unqualified table names resolve in the destination\'s schema.'),
    materialized: z.boolean().default(false)
      .describe('PostgreSQL: a materialized view, refreshed at every run (`CONCURRENTLY` once it has a unique index); a plain view on the embedded DuckDB.'),
  })).optional()
    .describe('Views over the loaded tables, created or replaced in order at the end of every run whose streams all succeeded (a changed `sql` replaces the view). The embedded DuckDB and PostgreSQL have them.'),
  privacy: z.strictObject({
    erasure: z.enum(['delete', 'anonymise']).default('delete')
      .describe('What `sluice erase --key <column>=<value>` does to a data subject\'s rows in the destination tables: `delete` them (every version of an `scd2` stream\'s key, and the child tables of `flatten`), or `anonymise` them — their `pii` columns set to NULL, the rows and keys kept (the subject\'s child rows keep theirs, with the parent\'s `pii` names blanked). Either way the subject\'s dead-letter entries are deleted and the subject is suppressed: later runs filter its rows out (counted as filtered) until `sluice erase --lift`.'),
    dlq: z.enum(['encrypt', 'mask']).default('encrypt')
      .describe('How a rejected row\'s `pii` values are kept in the dead-letter queue: `encrypt` keeps them encrypted when `SLUICE_ENCRYPTION_KEY` is set (replayable) and masked when it is not; `mask` always masks them (`***`; such an entry cannot be replayed), key or not.'),
  }).optional().describe('How the pipeline treats personal data (the streams\' `pii` columns): erasure and the dead-letter queue.'),
};

export const topLevelSchema = z.strictObject(topLevelKeys);

/** Keys every source has besides its connector's own. */
export const sourceBaseKeys = (spec: SourceSpec) => ({
  name: z.string().regex(SOURCE_NAME, 'a source name: lowercase letters, digits, _ and -').describe('Source name, unique in the pipeline.'),
  type: z.literal(spec.type).describe('Connector type.'),
  streams: z.array(streamSchema(spec)).min(1).describe('The streams this source reads.'),
});

/**
 * A strict object of `base` keys followed by the connector's keys. Base keys come first (docs and "valid keys"
 * lists read better) and win on a clash, because they are the contract; the connector's object-level
 * refinements are kept.
 */
function strictWith(base: z.ZodRawShape, own: z.ZodObject<any>): z.ZodObject<any> {
  const obj = z.strictObject({ ...base, ...own.shape, ...base });
  const checks = (own as unknown as { _zod: { def: { checks?: z.core.$ZodCheck<any>[] } } })._zod.def.checks ?? [];
  return checks.length > 0 ? obj.check(...checks) : obj;
}

/** One stream of a source: the common stream keys plus the connector's stream keys, unknown keys rejected. */
export function streamSchema(spec: SourceSpec): z.ZodObject<any> {
  return strictWith(commonStreamKeys, spec.stream).meta({ title: `${spec.type} stream` });
}

export function sourceSchema(spec: SourceSpec): z.ZodObject<any> {
  return strictWith(sourceBaseKeys(spec), spec.config).meta({ title: `${spec.type} source`, description: spec.description });
}

export function destinationSchema(spec: DestinationSpec): z.ZodObject<any> {
  return strictWith({ type: z.literal(spec.type).describe('Connector type.') }, spec.config)
    .meta({ title: `${spec.type} destination`, description: spec.description });
}

const byType = <T extends { type: string }>(specs: T[]): T[] => [...specs].sort((a, b) => a.type.localeCompare(b.type));

/** Registered specs in a stable order (by type), so generated docs do not depend on registration order. */
export const sortedSourceSpecs = (): SourceSpec[] => byType(sourceSpecs());
export const sortedDestinationSpecs = (): DestinationSpec[] => byType(destinationSpecs());

const oneOfType = (options: z.ZodObject<any>[]) =>
  options.length === 1 ? options[0] : z.discriminatedUnion('type', options as [z.ZodObject<any>, ...z.ZodObject<any>[]]);

/**
 * The whole pipeline file as one zod schema, for documentation only: validation goes connector by connector
 * (validate-pipeline.ts) so errors name the right type's keys.
 */
export function pipelineFileSchema() {
  const sources = sortedSourceSpecs().map(sourceSchema);
  const destinations = sortedDestinationSpecs().map(destinationSchema);
  return z.strictObject({
    ...topLevelKeys,
    sources: z.array(oneOfType(sources)).min(1).describe(topLevelKeys.sources.description ?? ''),
    destination: oneOfType(destinations).optional().describe(topLevelKeys.destination.description ?? ''),
    transforms: transformsSchema(),
    checks: checksSchema(),
  }).meta({
    title: 'Sluice pipeline',
    description: 'A Sluice pipeline file: sources and their streams, and one destination.',
  });
}

export const defaultDestinationSpec = (): DestinationSpec | undefined => getDestinationSpec(DEFAULT_DESTINATION);
