// Stream keys shared by every file format. Each format's spec spreads these beside its own keys.
import { z } from 'zod';
import { encodingSupported } from './decode.js';

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export const fileStreamKeys = {
  path: z.string().min(1)
    .describe('File path or glob (e.g. `data/orders-*.csv`), relative to the pipeline file. Matching files are read in sorted order; each one is tracked in state so an unchanged file is not read twice. No match fails the run.'),
  encoding: z.string()
    .refine(encodingSupported, { message: 'an encoding TextDecoder or iconv-lite supports (utf-8, latin1, windows-1252, utf-16le, …)' })
    .default('utf-8')
    .describe('Text encoding of the files: utf-8, or any encoding iconv-lite supports (latin1, windows-1252, utf-16le, shift_jis, …). A leading byte-order mark is dropped.'),
  compression: z.enum(['auto', 'gzip', 'none']).default('auto')
    .describe('`auto` decompresses files ending in `.gz` or starting with the gzip magic bytes; `gzip` always; `none` never.'),
  invalid_utf8: z.enum(['reject', 'replace']).default('reject')
    .describe('UTF-8 files only: a record containing bytes that are not valid UTF-8 goes to the dead-letter queue (`reject`, reason "invalid UTF-8"), or loads with each invalid sequence replaced by U+FFFD (`replace`). Valid files pay nothing for the check.'),
  max_record_bytes: z.number().int().positive().default(DEFAULT_MAX_RECORD_BYTES)
    .describe('Largest record accepted, in characters of decoded text (≈ bytes for ASCII). A longer record, or a quoted field still open after this many characters, is dead-lettered and reading resumes after it; this bounds memory whatever the input.'),
};

export const fileOptions = z.object(fileStreamKeys);
export type FileOptions = z.output<typeof fileOptions>;
