// Keys shared by every file format. Each format's spec spreads `fileSourceKeys` into its source config and
// `fileStreamKeys` beside its own stream keys.
//
// S3 sources: a stream's `path` may be `s3://bucket/prefix/*.csv`; the source's `s3:` block (the one the files
// destination takes too) says which store and how to address it, and credentials come from the standard AWS chain.
import { z } from 'zod';
import { s3Options } from '../s3/s3-spec.js';
import { encodingSupported } from './decode.js';

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Source-level keys of every file format. */
export const fileSourceKeys = {
  // The block's own description lists its keys and where credentials come from.
  s3: s3Options.optional(),
};

export const fileSourceConfig = z.object(fileSourceKeys);
export type FileSourceConfig = z.output<typeof fileSourceConfig>;

export const fileStreamKeys = {
  path: z.string().min(1)
    .describe('File path or glob (e.g. `data/orders-*.csv`), relative to the pipeline file, or objects of a bucket: `s3://bucket/orders/*.csv.gz` (the bucket is listed under the glob\'s fixed prefix, see the source\'s `s3`). Matching files are read in sorted order; each one is tracked in state (a local file by size and modification time, an object by size and ETag) so an unchanged file is not read twice, and a changed one is read again from the start. No match fails the run.'),
  encoding: z.string()
    .refine(encodingSupported, { message: 'an encoding TextDecoder or iconv-lite supports (utf-8, latin1, windows-1252, utf-16le, …)' })
    .default('utf-8')
    .describe('Text encoding of the files: utf-8, or any encoding iconv-lite supports (latin1, windows-1252, utf-16le, shift_jis, …). A leading byte-order mark is dropped.'),
  compression: z.enum(['auto', 'gzip', 'zstd', 'none']).default('auto')
    .describe('`auto` decompresses files starting with the gzip or Zstandard magic bytes, or named `*.gz` or `*.zst` (for S3 objects, the magic bytes are read from the start of the object\'s own stream); `gzip` or `zstd` always; `none` never.'),
  invalid_utf8: z.enum(['reject', 'replace']).default('reject')
    .describe('UTF-8 files only: a record containing bytes that are not valid UTF-8 goes to the dead-letter queue (`reject`, reason "invalid UTF-8"), or loads with each invalid sequence replaced by U+FFFD (`replace`). Valid files pay nothing for the check.'),
  max_record_bytes: z.number().int().positive().default(DEFAULT_MAX_RECORD_BYTES)
    .describe('Largest record accepted, in characters of decoded text (≈ bytes for ASCII). A longer record, or a quoted field still open after this many characters, is dead-lettered and reading resumes after it; this bounds memory whatever the input.'),
};

export const fileOptions = z.object(fileStreamKeys);
export type FileOptions = z.output<typeof fileOptions>;
