// The `tables` source: tables of this pipeline's own destination, read back in the same run after the streams that
// load them have committed — a model over staging tables (load, then transform in the warehouse), or several
// providers' staging tables unioned into one stream for entity resolution (`resolve`, `golden`). With `from`, the
// tables of another destination instead (what another pipeline loaded): golden records in the warehouse published to
// Redis by a second pipeline, reverse ETL.
import { z } from 'zod';
import type { SourceSpec, StreamConfig } from '../../core/connector.js';
import { destinationIssues } from './from-destination.js';

const tablesStream = z.object({
  tables: z.union([z.array(z.string().min(1)).min(1), z.record(z.string(), z.string().min(1))])
    .describe('Destination tables to read, in order: `[a_staging, b_staging]`, or `{ label: table }` to name each table\'s rows by a label of your own. A stream of this pipeline that loads one of them runs first.'),
  source_column: z.string().nullable().default('_source')
    .describe('Column set to the table\'s name (or label) on each row, so later steps know where a row came from; null: none (rows as stored).'),
});
export type TablesStreamOptions = z.output<typeof tablesStream>;

const tablesConfig = z.object({
  from: z.looseObject({ type: z.string().min(1) }).superRefine(destinationIssues).optional()
    .describe('Read the tables of this destination instead of the pipeline\'s own: a destination block (`{ type: duckdb, path: warehouse.duckdb }`, `{ type: postgres, url: …, schema: … }`) naming where another pipeline loaded them. Its streams then wait for no stream of this run.'),
});
export type TablesConfig = z.output<typeof tablesConfig>;

/** Label → table of a `tables` stream. */
export const tablesOf = (stream: StreamConfig): [string, string][] => {
  const t = (stream as unknown as TablesStreamOptions).tables;
  return Array.isArray(t) ? t.map((name) => [name, name]) : Object.entries(t);
};

export const tablesSourceSpec: SourceSpec<TablesConfig> = {
  kind: 'source',
  type: 'tables',
  status: 'beta',
  description: 'Tables of this pipeline\'s own destination, read whole after the streams of the run that load them have '
    + 'committed (a stream waits for those it reads), or of another destination (`from`). For models over staging '
    + 'tables, for unioning several sources into one stream to resolve entities, and for publishing what one pipeline '
    + 'built (to Redis, say) from another. Needs a destination that can be read back (not `files`).',
  config: tablesConfig.strict(),
  stream: tablesStream.strict(),
  // Tables of another destination are not this run's to wait for.
  reads: (stream, source) => (source.from ? [] : tablesOf(stream).map(([, table]) => table)),
  create: async (config) => new (await import('./tables-source.js')).TablesSource(config),
};
