// The `csv` source: the shared file read loop with the CSV parser.
import type { z } from 'zod';
import { FileSource, type RecordSink } from '../file-source/file-source.js';
import type { S3Options } from '../s3/s3-spec.js';
import { CsvParser } from './csv-parser.js';
import type { CsvStreamOptions } from './csv-spec.js';

export const createCsvParser = (o: CsvStreamOptions, _file: string, sink: RecordSink): CsvParser => new CsvParser({
  delimiter: o.delimiter,
  quote: o.quote,
  escape: o.escape ?? o.quote,
  header: o.header,
  columnNames: o.column_names,
  skipLines: o.skip_lines,
  maxRecordChars: o.max_record_bytes,
  rejectInvalid: o.invalid_utf8 === 'reject',
}, sink);

export class CsvSource extends FileSource<CsvStreamOptions> {
  constructor(options: z.ZodType<CsvStreamOptions>, s3?: S3Options) {
    super('csv', options, createCsvParser, s3);
  }
}
