// Files destination: each table is a directory of part files plus a manifest that is the commit point.
import { z } from 'zod';
import type { DestinationCapabilities, DestinationSpec } from '../../core/connector.js';
import { type ColumnType, type ScalarType, typeName } from '../../core/types.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH, duckType } from '../duckdb/duckdb-type-names.js';
import { s3Options } from '../s3/s3-spec.js';

export const FILE_FORMATS = ['parquet', 'csv', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const PARQUET_COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'uncompressed'] as const;
export const TEXT_COMPRESSIONS = ['none', 'gzip'] as const;

/** `128MB`, `1GB`, `500KB` or a number of bytes. */
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i;
const UNIT: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
export const parseSize = (s: string | number): number => {
  if (typeof s === 'number') return s;
  const m = SIZE.exec(s.trim())!;
  return Math.round(Number(m[1]) * UNIT[(m[2] ?? 'B').toUpperCase()]);
};

export const filesConfig = z.strictObject({
  path: z.string().min(1).optional()
    .describe('Directory holding one sub-directory per table, relative to the pipeline file, or `s3://bucket/prefix` for an S3-compatible store (see `s3`). Default: `$SLUICE_HOME/files`.'),
  format: z.enum(FILE_FORMATS).default('parquet')
    .describe('File format of the parts: parquet (typed columns, zstd-compressed; the default because every type survives the trip), csv (RFC 4180 with a header row) or ndjson (one JSON object per line).'),
  compression: z.enum([...PARQUET_COMPRESSIONS, ...TEXT_COMPRESSIONS]).optional()
    .describe('Parquet: zstd (default), snappy, gzip or uncompressed. CSV and NDJSON: none (default) or gzip (parts end in `.csv.gz` / `.ndjson.gz`).'),
  target_file_size: z.union([z.number().int().positive(), z.string().regex(SIZE, 'a size such as `128MB`')]).default('128MB')
    .describe('A part is closed and a new one started once it reaches about this size (`128MB`, `1GB`, or bytes). Parts never span a checkpoint: raise `checkpoint_rows` for fewer, larger files.'),
  s3: s3Options.optional(),
}).superRefine((c, ctx) => {
  const allowed: readonly string[] = c.format === 'parquet' ? PARQUET_COMPRESSIONS : TEXT_COMPRESSIONS;
  if (c.compression !== undefined && !allowed.includes(c.compression)) {
    ctx.addIssue({ code: 'custom', path: ['compression'], message: `${c.format} parts take compression ${allowed.join(', ')}` });
  }
  if (c.s3 && !(c.path ?? '').startsWith('s3://')) {
    ctx.addIssue({ code: 'custom', path: ['s3'], message: '`s3` configures an `s3://bucket/prefix` path, and `path` is not one' });
  }
  if (c.path?.startsWith('s3://') && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(c.path)) {
    ctx.addIssue({ code: 'custom', path: ['path'], message: 'an S3 path is `s3://bucket/prefix` with a valid bucket name (3–63 lowercase letters, digits, dots and hyphens)' });
  }
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
    partitions: true,
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
  description: 'Part files (Parquet, CSV or NDJSON) per table, on local disk or an S3-compatible store, optionally partitioned Hive-style, made visible by a `_manifest.json` committed last that also holds the stream state.',
  config: filesConfig,
  capabilities: (config) => filesCapabilities(config.format ?? 'parquet'),
  create: async (config) => new (await import('./files-destination.js')).FilesDestination(config),
};
