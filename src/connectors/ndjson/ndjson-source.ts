// The `ndjson` source: the shared file read loop with the line-by-line JSON parser.
import type { z } from 'zod';
import { FileSource, type RecordSink } from '../file-source/file-source.js';
import type { S3Options } from '../s3/s3-spec.js';
import { NdjsonParser } from './ndjson-parser.js';
import type { NdjsonStreamOptions } from './ndjson-spec.js';

export const createNdjsonParser = (o: NdjsonStreamOptions, _file: string, sink: RecordSink): NdjsonParser =>
  new NdjsonParser({ maxRecordChars: o.max_record_bytes, rejectInvalid: o.invalid_utf8 === 'reject' }, sink);

export class NdjsonSource extends FileSource<NdjsonStreamOptions> {
  constructor(options: z.ZodType<NdjsonStreamOptions>, s3?: S3Options) {
    super('ndjson', options, createNdjsonParser, s3);
  }
}
