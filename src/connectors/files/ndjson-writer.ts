// NDJSON parts: one JSON object per line, keys are the column names. json columns are embedded as JSON values
// (re-serialised, so a pretty-printed document cannot break the one-line-per-record rule); bigint is written as
// a bare JSON number with every digit; decimal stays a string, the only exact form JSON readers keep; binary is
// base64; arrays are JSON arrays.
import type { ColumnType } from '../../core/types.js';
import { jsonText } from '../../core/values/array-text.js';
import { TextPartWriter } from './part-writer.js';
import type { PartColumn, PartWriter } from './part-writer.js';
import { parseJson } from '../../core/values/json-parse.js';

export function ndjsonValue(v: unknown, type: ColumnType): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (type === 'json') {
    if (typeof v !== 'string') return jsonText(v);
    try {
      return jsonText(parseJson(v));
    } catch {
      return JSON.stringify(v);
    }
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(String(v));
  return jsonText(v);
}

export function ndjsonPartWriter(path: string, columns: readonly PartColumn[], gzip = false): PartWriter {
  const keys = columns.map((c) => `${JSON.stringify(c.name)}:`);
  const types = columns.map((c) => c.type);
  const encode = (rows: unknown[][]): string => {
    let out = '';
    for (const row of rows) {
      out += '{';
      for (let i = 0; i < keys.length; i++) out += (i ? ',' : '') + keys[i] + ndjsonValue(row[i], types[i]);
      out += '}\n';
    }
    return out;
  };
  return new TextPartWriter(path, encode, '', gzip);
}
