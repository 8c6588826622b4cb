// The `json` source: the shared file read loop with the streaming array scanner.
import type { z } from 'zod';
import { FileSource, type RecordSink } from '../file-source/file-source.js';
import type { S3Options } from '../s3/s3-spec.js';
import { JsonArrayParser } from './json-array-parser.js';
import type { JsonStreamOptions } from './json-spec.js';

export const createJsonParser = (o: JsonStreamOptions, file: string, sink: RecordSink): JsonArrayParser =>
  new JsonArrayParser({
    records: o.records ? o.records.split('.') : [],
    maxRecordChars: o.max_record_bytes,
    rejectInvalid: o.invalid_utf8 === 'reject',
  }, file, sink);

export class JsonSource extends FileSource<JsonStreamOptions> {
  constructor(options: z.ZodType<JsonStreamOptions>, s3?: S3Options) {
    super('json', options, createJsonParser, s3);
  }
}
