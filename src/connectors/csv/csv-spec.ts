// The `csv` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceConfig, fileStreamKeys, type FileSourceConfig } from '../file-source/options.js';

const oneChar = (what: string) => z.string().length(1, `${what} must be exactly one character`);

export const csvStreamKeys = {
  ...fileStreamKeys,
  delimiter: oneChar('delimiter').default(',')
    .describe('Field separator, one character (`,`, `;`, `\\t`, `|`, …).'),
  quote: oneChar('quote').default('"')
    .describe('Quote character. Quoted fields may hold delimiters, quotes and line breaks; an empty unquoted field is NULL, an empty quoted field (`""`) is the empty string.'),
  escape: oneChar('escape').optional()
    .describe('Escapes a quote inside a quoted field. Defaults to the quote character itself (RFC 4180 doubled quotes: `""`). With another character (e.g. `\\`), it escapes a quote or itself; before any other character it is kept as is.'),
  header: z.boolean().default(true)
    .describe('The first line (after `skip_lines`) names the columns. Duplicate names get a suffix (the second `a` becomes `a_2`); names that differ only by case stay distinct; empty names become `column_N`. When false, columns are `column_1..N` unless `column_names` is given.'),
  column_names: z.array(z.string()).min(1).optional()
    .describe('Column names, in file order. With `header: true` they replace the names of the header line.'),
  skip_lines: z.number().int().min(0).default(0)
    .describe('Lines to skip at the start of each file, before the header (titles, comments).'),
};

const csvStream = z.object(csvStreamKeys);
export type CsvStreamOptions = z.output<typeof csvStream>;

export const csvSourceSpec: SourceSpec<FileSourceConfig> = {
  kind: 'source',
  type: 'csv',
  status: 'stable',
  description: 'Delimited text files (RFC 4180 CSV, TSV, …), plain, gzip- or Zstandard-compressed, local or in an S3 bucket, in any encoding. Rows that '
    + 'cannot be parsed (wrong column count, unbalanced quote, invalid UTF-8) go to the dead-letter queue with their '
    + 'file and line; the rest of the file loads. Values arrive as text; declare `columns` or let types be inferred.',
  config: fileSourceConfig.strict(),
  stream: csvStream.strict(),
  create: async (config) => new (await import('./csv-source.js')).CsvSource(csvStream, config.s3),
};
