// Newline-delimited JSON: one value per line, each parsed on its own, so one bad line costs one record. Splitting,
// length limits and invalid UTF-8 are the shared line splitter's (../file-source/lines.ts); this file is the JSON.
import { LineSplitter, type LineHandler } from '../file-source/lines.js';
import type { RecordSink } from '../file-source/file-source.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../file-source/options.js';
import { isPlainObject } from '../json/json-array-parser.js';
import { parseJson } from '../../core/values/json-parse.js';

export interface NdjsonOptions {
  maxRecordChars: number;
  rejectInvalid: boolean;
}

export const defaultNdjsonOptions: NdjsonOptions = { maxRecordChars: DEFAULT_MAX_RECORD_BYTES, rejectInvalid: true };

const ndjsonLine: LineHandler = (text, line, sink) => {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (e) {
    sink.reject(`invalid JSON: ${(e as Error).message}`, text, line);
    return;
  }
  if (!isPlainObject(value)) {
    sink.reject(`expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, text, line);
    return;
  }
  sink.row(value, line);
};

export class NdjsonParser extends LineSplitter {
  constructor(opts: NdjsonOptions, sink: RecordSink) {
    super(opts, sink, ndjsonLine);
  }
}
