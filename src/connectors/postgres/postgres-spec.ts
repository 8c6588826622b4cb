// The `postgres` source and destination: options, docs and construction in one place.
import { z } from 'zod';
import { sliceRowsKey } from '../sql/key-slices.js';
import type { DestinationCapabilities, DestinationSpec, SourceSpec } from '../../core/connector.js';
import { connectionKeys } from './postgres-options.js';
import { nulRefusal, yearZeroRefusal } from '../../core/values/refusals.js';
import { pgType } from './postgres-types.js';
import { partitionSpec } from './postgres-partitions.js';
import { searchSpec } from './postgres-search.js';

export const POSTGRES_CAPABILITIES: DestinationCapabilities = {
  views: true,
  dispositions: ['append', 'replace', 'merge', 'scd2'],
  transactional: true,
  // Quoted identifiers keep their case; names are cut at 63 bytes (NAMEDATALEN - 1).
  identifiers: { caseSensitive: true, maxLength: 63 },
  types: pgType,
  // Child tables of merged parents replace their rows per parent (postgres-load.ts, ../sql/replace-groups.ts).
  replaceGroups: true,
  // NaN and ±Infinity are float8 values; a NUL is no text; year 0000 is no date.
  refuses: (type) => nulRefusal('PostgreSQL')(type) ?? yearZeroRefusal('PostgreSQL')(type),
};

export const postgresDestinationConfig = z.strictObject({
  ...connectionKeys,
  schema: z.string().min(1).default('public')
    .describe('Schema the tables (and the `_sluice_state` table) are written to; created when missing.'),
  refresh_materialized_views: z.array(z.string().min(1)).optional()
    .describe('Materialized views (`name` or `schema.name`) refreshed after each stream\'s final commit, `CONCURRENTLY` when they have a unique index.'),
  partitions: z.record(z.string(), partitionSpec).optional()
    .describe('Tables (by destination table name) created declaratively partitioned: `{ events: { column: occurred_at, by: month } }` or `{ orders: { column: region, by: list } }`. Missing partitions are created before rows move in; a replace refills the table, keeping its partitions.'),
  search: z.record(z.string(), searchSpec).optional()
    .describe('Tables (by destination table name) made searchable: `{ prospects: { columns: [full_name, school], language: english, weights: { full_name: A, school: B } } }`. A run that loads the table gives it a generated `search_vector` column and a GIN index on it, in the transaction that commits its last rows (a replaced table is swapped in with them); a changed option replaces both. `sluice search` queries it.'),
  replace_strategy: z.enum(['swap', 'truncate']).default('swap')
    .describe('How `write: replace` publishes: `swap` loads a new table and renames it in (readers never wait); `truncate` empties and refills the existing table in one transaction (keeps its grants, indexes and dependent views; readers wait for the commit).'),
  post_load_sql: z.array(z.string().min(1)).optional()
    .describe('SQL statements run, in order, after each stream\'s final commit (and the view refreshes); unqualified names resolve in `schema` first.'),
});

export type PostgresDestinationConfig = z.output<typeof postgresDestinationConfig>;

export const postgresDestinationSpec: DestinationSpec<PostgresDestinationConfig> = {
  kind: 'destination',
  type: 'postgres',
  status: 'beta',
  description: 'PostgreSQL: rows streamed by COPY, append, merge (upsert on the primary key, delete markers) and atomic '
    + 'replace; rows and state committed in one transaction; tables created and evolved (new columns, safe widening).',
  config: postgresDestinationConfig,
  capabilities: () => POSTGRES_CAPABILITIES,
  create: async (config) => new (await import('./postgres-destination.js')).PostgresDestination(config),
};

export const postgresSourceConfig = z.strictObject({ ...connectionKeys });

export const postgresStreamKeys = {
  table: z.string().min(1).optional()
    .describe('Table or view to read, `schema.table` (default schema: `public`). One of `table` or `query`.'),
  query: z.string().min(1).optional()
    .describe('A SELECT to read instead of a table; incremental reads wrap it (`SELECT * FROM (query) q WHERE …`).'),
  parallel: z.int().min(1).max(32).optional()
    .describe('Read a whole table (no `cursor`) over this many connections at once, each a slice of the integer `primary_key` range; a crashed run resumes every slice where it stopped.'),
  ...sliceRowsKey,
};

const postgresStream = z.object(postgresStreamKeys);
export type PostgresStreamOptions = z.output<typeof postgresStream>;
export type PostgresSourceConfig = z.output<typeof postgresSourceConfig> & { streams?: unknown[] };

export const postgresSourceSpec: SourceSpec<PostgresSourceConfig> = {
  kind: 'source',
  type: 'postgres',
  status: 'beta',
  description: 'PostgreSQL tables or queries: streamed through a server-side cursor; with a `cursor` column, incremental '
    + 'by keyset pagination on (cursor, primary key), so rows sharing a cursor value are never missed or repeated. '
    + 'A date or timestamp cursor is read only below the start of the oldest open transaction that has written to the '
    + 'table (for a `query`, any open transaction): a row it stamps with `now()` and commits late is loaded by a later '
    + 'run, never skipped (seeing other roles\' transactions needs pg_read_all_stats). Integer cursors fed by a sequence '
    + 'can commit out of order too, and app-set timestamps can arrive late: give such streams a `lookback`. '
    + 'Column types come from the catalog (numeric stays exact, int8 stays 64-bit, timestamps keep microseconds).',
  config: postgresSourceConfig,
  stream: postgresStream.strict()
    .refine((s) => (s.table === undefined) !== (s.query === undefined), 'give exactly one of `table` or `query`')
    // Checked on the whole stream: the common keys sit beside these.
    .refine((s) => {
      const all = s as typeof s & { cursor?: string; primary_key?: string[] };
      return !s.parallel || s.parallel === 1 || (all.cursor === undefined && all.primary_key?.length === 1);
    }, '`parallel` reads a whole table by slices of its key: it needs a one-column integer `primary_key` and no `cursor`'),
  // The driver parses the next page while one loads: at 4 MB that cost 10% more CPU, at 8 MB nothing (16 MB off the peak).
  youngGenerationMb: 8,
  create: async (config) => new (await import('./postgres-source.js')).PostgresSource(config),
};
