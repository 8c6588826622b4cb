// Files destination: each table is a directory of part files plus a manifest that is the commit point.
import { z } from 'zod';
import type { DestinationCapabilities, DestinationSpec } from '../../core/connector.js';
import { type ColumnType, type ScalarType, typeName } from '../../core/types.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH, duckType } from '../duckdb/duckdb-type-names.js';

export const FILE_FORMATS = ['parquet', 'csv', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const filesConfig = z.strictObject({
  path: z.string().min(1).optional()
    .describe('Directory holding one sub-directory per table; relative to the pipeline file. Default: `$SLUICE_HOME/files`.'),
  format: z.enum(FILE_FORMATS).default('parquet')
    .describe('File format of the parts: parquet (typed columns, zstd-compressed; the default because every type survives the trip), csv (RFC 4180 with a header row) or ndjson (one JSON object per line).'),
});

export type FilesConfig = z.infer<typeof filesConfig>;

/** Values as text (CSV fields, Redis hash fields): the form each logical type is written in. */
export const CSV_TYPES: Record<ScalarType, string> = {
  text: 'string', integer: 'integer', bigint: 'integer (all digits)', decimal: 'decimal text', double: 'number',
  boolean: 'true/false', date: 'YYYY-MM-DD', timestamp: 'ISO-8601 UTC', json: 'JSON text', binary: 'base64',
  uuid: 'uuid text',
};
export const NDJSON_TYPES: Record<ScalarType, string> = {
  ...CSV_TYPES, integer: 'number', bigint: 'number (all digits)', decimal: 'string (exact)', boolean: 'boolean',
  json: 'embedded JSON value', binary: 'base64 string',
};

export function filesCapabilities(format: FileFormat): DestinationCapabilities {
  return {
    dispositions: ['append', 'replace'],
    transactional: false,
    identifiers: {
      // Parquet parts are written by DuckDB, which folds case: "Name" and "name" cannot both be columns.
      caseSensitive: format !== 'parquet',
      // A table is a directory name: most file systems stop at 255 bytes.
      maxLength: 255,
    },
    ...(format === 'parquet' ? { decimal: { precision: DECIMAL_WIDTH, scale: DECIMAL_SCALE } } : {}),
    types: format === 'parquet' ? duckType
      : (type: ColumnType) => typeName(format === 'csv' ? CSV_TYPES : NDJSON_TYPES, type, (e) => `JSON array of ${e}`),
  };
}

export const filesDestinationSpec: DestinationSpec<FilesConfig> = {
  kind: 'destination',
  type: 'files',
  status: 'beta',
  description: 'Part files (Parquet, CSV or NDJSON) per table, published by atomic rename and a `_manifest.json` that also holds the stream state.',
  config: filesConfig,
  capabilities: (config) => filesCapabilities(config.format ?? 'parquet'),
  create: async (config) => new (await import('./files-destination.js')).FilesDestination(config),
};
