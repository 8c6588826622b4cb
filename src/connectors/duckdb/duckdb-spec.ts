// The embedded DuckDB warehouse: the destination of every pipeline without a `destination:` key.
import { z } from 'zod';
import type { DestinationCapabilities, DestinationSpec } from '../../core/connector.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH, duckType } from './duckdb-type-names.js';

/**
 * DuckDB's buffer pool. At 32 MB a 5M-row load peaks at 228–231 MB of RSS with no measurable loss of speed; at
 * 48 MB it measured 235–255 MB and at 64 MB 249–279 MB. DuckDB's own default is 80% of RAM.
 */
export const DEFAULT_MEMORY_LIMIT = '32MB';

export const DUCKDB_CAPABILITIES: DestinationCapabilities = {
  views: true,
  dispositions: ['append', 'replace', 'merge', 'scd2'],
  transactional: true,
  // DuckDB matches names case-insensitively even when quoted: "Name" and "name" are one column.
  identifiers: { caseSensitive: false, maxLength: 255 },
  types: duckType,
  decimal: { precision: DECIMAL_WIDTH, scale: DECIMAL_SCALE },
  // Child tables of merged parents replace their rows per parent (duckdb-load.ts, ../sql/replace-groups.ts).
  replaceGroups: true,
};

export const duckdbConfig = z.strictObject({
  path: z.string().min(1).optional()
    .describe('Warehouse file; relative to the pipeline file. Default: `$SLUICE_HOME/warehouse.duckdb`. `:memory:` keeps it in memory (tests).'),
  schema: z.string().min(1).default('main')
    .describe('Schema the tables (and the `_sluice_state` table) are written to; created when missing.'),
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 256MB').optional()
    .describe(`Memory DuckDB may use for its buffer pool; beyond it, it spills to disk. Keeps a load's memory bounded whatever the input size (DuckDB's own default is 80% of RAM). Default: ${DEFAULT_MEMORY_LIMIT} for each load running at the same time (streams loading concurrently each hold blocks of their own).`),
  threads: z.number().int().min(1).optional()
    .describe('Threads DuckDB may use; default: one per core.'),
});

export type DuckDBConfig = z.infer<typeof duckdbConfig>;

export const duckdbDestinationSpec: DestinationSpec<DuckDBConfig> = {
  kind: 'destination',
  type: 'duckdb',
  status: 'stable',
  description: 'Embedded DuckDB warehouse file: append, merge (upsert) and atomic replace, rows and state committed in one transaction.',
  config: duckdbConfig,
  capabilities: () => DUCKDB_CAPABILITIES,
  create: async (config) => new (await import('./duckdb-destination.js')).DuckDBDestination(config),
};
