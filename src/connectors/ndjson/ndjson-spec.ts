// The `ndjson` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceConfig, fileStreamKeys, type FileSourceConfig } from '../file-source/options.js';

const ndjsonStream = z.object({ ...fileStreamKeys });
export type NdjsonStreamOptions = z.output<typeof ndjsonStream>;

export const ndjsonSourceSpec: SourceSpec<FileSourceConfig> = {
  kind: 'source',
  type: 'ndjson',
  status: 'stable',
  description: 'Newline-delimited JSON (JSON Lines): one object per line, plain, gzip- or Zstandard-compressed, local or in an S3 bucket. Blank lines are '
    + 'skipped; a line that is not valid JSON, or not an object, goes to the dead-letter queue with its file and line.',
  config: fileSourceConfig.strict(),
  stream: ndjsonStream.strict(),
  create: async (config) => new (await import('./ndjson-source.js')).NdjsonSource(ndjsonStream, config.s3),
};
