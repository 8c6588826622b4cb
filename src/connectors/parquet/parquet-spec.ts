// The `parquet` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceKeys, fileStreamKeys } from '../file-source/options.js';

const parquetConfig = z.object({
  ...fileSourceKeys,
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 64MB').default('64MB')
    .describe('Memory the embedded DuckDB reader may use (it streams one row group at a time; raise it for very wide row groups).'),
});
export type ParquetSourceConfig = z.output<typeof parquetConfig>;

const parquetStream = z.object({
  path: fileStreamKeys.path,
  hive_partitioning: z.boolean().default(false)
    .describe('Add the `column=value` directories of each file\'s path as text columns (Hive-style, as the files destination\'s `partition_by`, Spark and DuckDB write them; values unescaped, `__HIVE_DEFAULT_PARTITION__` as NULL); a column the file has itself wins. Declare their types with `columns:` (`{ event_date: date }`).'),
});
export type ParquetStreamOptions = z.output<typeof parquetStream>;

export const parquetSourceSpec: SourceSpec<ParquetSourceConfig> = {
  kind: 'source',
  type: 'parquet',
  status: 'beta',
  description: 'Parquet files (any compression codec DuckDB reads), streamed in batches through an embedded in-memory '
    + 'DuckDB, with column types taken from the Parquet schema: integers, decimals (exact), timestamps (microseconds), '
    + 'dates, blobs and UUIDs keep their types; lists, structs and maps arrive as json. Each file is tracked in state: '
    + 'an unchanged file is skipped by the next run, a partly loaded one resumes at its next row. Objects of an S3 bucket '
    + '(`s3://` paths) are downloaded to a temporary file under $SLUICE_HOME/tmp one at a time, read, and deleted.',
  config: parquetConfig.strict(),
  stream: parquetStream.strict(),
  create: async (config) => new (await import('./parquet-source.js')).ParquetSource(parquetStream, config.memory_limit ?? '64MB', config.s3),
};
