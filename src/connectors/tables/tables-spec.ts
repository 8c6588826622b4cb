// The `tables` source: tables of this pipeline's own destination, read back in the same run after the streams that
// load them have committed — a model over staging tables (load, then transform in the warehouse), or several
// providers' staging tables unioned into one stream for entity resolution (`resolve`, `golden`).
import { z } from 'zod';
import type { SourceSpec, StreamConfig } from '../../core/connector.js';

const tablesStream = z.object({
  tables: z.union([z.array(z.string().min(1)).min(1), z.record(z.string(), z.string().min(1))])
    .describe('Destination tables to read, in order: `[a_staging, b_staging]`, or `{ label: table }` to name each table\'s rows by a label of your own. A stream of this pipeline that loads one of them runs first.'),
  source_column: z.string().default('_source')
    .describe('Column set to the table\'s name (or label) on each row, so later steps know where a row came from.'),
});
export type TablesStreamOptions = z.output<typeof tablesStream>;

/** Label → table of a `tables` stream. */
export const tablesOf = (stream: StreamConfig): [string, string][] => {
  const t = (stream as unknown as TablesStreamOptions).tables;
  return Array.isArray(t) ? t.map((name) => [name, name]) : Object.entries(t);
};

export const tablesSourceSpec: SourceSpec<Record<string, never>> = {
  kind: 'source',
  type: 'tables',
  status: 'beta',
  description: 'Tables of this pipeline\'s own destination, read whole after the streams of the run that load them have '
    + 'committed (a stream waits for those it reads). For models over staging tables and for unioning several sources '
    + 'into one stream to resolve entities. Needs a destination that can be read back (not `files`).',
  config: z.object({}).strict(),
  stream: tablesStream.strict(),
  reads: (stream) => tablesOf(stream).map(([, table]) => table),
  create: async () => new (await import('./tables-source.js')).TablesSource(),
};
