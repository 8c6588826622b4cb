// The `json` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceConfig, fileStreamKeys, type FileSourceConfig } from '../file-source/options.js';

const jsonStream = z.object({
  ...fileStreamKeys,
  records: z.string().regex(/^[^.]+(\.[^.]+)*$/, 'a dot-separated key path such as data.items').optional()
    .describe('Dot-separated key path of the array when it sits inside a top-level object (e.g. `data.items` for `{"data": {"items": [...]}}`). Omit it for a file that is a top-level array. Keys before the array are skipped while streaming, never held in memory.'),
});
export type JsonStreamOptions = z.output<typeof jsonStream>;

export const jsonSourceSpec: SourceSpec<FileSourceConfig> = {
  kind: 'source',
  type: 'json',
  status: 'stable',
  description: 'JSON files holding an array of objects, streamed element by element (never the whole file in '
    + 'memory), plain, gzip- or Zstandard-compressed, local or in an S3 bucket. An element that is not valid JSON, or not an object, goes to the '
    + 'dead-letter queue with its file, line and character offset; the rest of the array loads.',
  config: fileSourceConfig.strict(),
  stream: jsonStream.strict(),
  create: async (config) => new (await import('./json-source.js')).JsonSource(jsonStream, config.s3),
};
