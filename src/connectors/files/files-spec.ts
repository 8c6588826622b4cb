// Files destination: each table is a directory of part files plus a manifest that is the commit point.
import { z } from 'zod';
import type { DestinationSpec } from '../../core/connector.js';
import { FilesDestination } from './files-destination.js';

export const FILE_FORMATS = ['parquet', 'csv', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export const filesConfig = z.strictObject({
  path: z.string().min(1).optional()
    .describe('Directory holding one sub-directory per table; relative to the pipeline file. Default: `$SLUICE_HOME/files`.'),
  format: z.enum(FILE_FORMATS).default('parquet')
    .describe('File format of the parts: parquet (typed columns, zstd-compressed; the default because every type survives the trip), csv (RFC 4180 with a header row) or ndjson (one JSON object per line).'),
});

export type FilesConfig = z.infer<typeof filesConfig>;

export const filesDestinationSpec: DestinationSpec<FilesConfig> = {
  kind: 'destination',
  type: 'files',
  status: 'beta',
  description: 'Part files (Parquet, CSV or NDJSON) per table, published by atomic rename and a `_manifest.json` that also holds the stream state.',
  config: filesConfig,
  create: (config) => new FilesDestination(config),
};
