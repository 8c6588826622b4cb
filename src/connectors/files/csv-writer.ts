// CSV parts: RFC 4180 (header row, CRLF line ends, fields quoted when they hold a comma, quote or line break,
// quotes doubled). NULL is an empty field and the empty string a quoted empty field, so the two stay distinct.
// Arrays are written as JSON arrays.
import { jsonText } from '../../core/values/array-text.js';
import { TextPartWriter } from './part-writer.js';
import type { PartColumn, PartWriter } from './part-writer.js';

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (typeof v === 'string') {
    if (v === '') return '""';
    s = v;
  } else if (v instanceof Uint8Array) {
    s = Buffer.from(v).toString('base64');
  } else if (v instanceof Date) {
    s = v.toISOString();
  } else if (typeof v === 'object') {
    s = jsonText(v);
  } else {
    s = String(v);
  }
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const line = (values: readonly unknown[]): string => {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i ? ',' : '') + csvField(values[i]);
  return `${out}\r\n`;
};

export function csvPartWriter(path: string, columns: readonly PartColumn[], gzip = false): PartWriter {
  const header = line(columns.map((c) => c.name));
  return new TextPartWriter(path, (rows) => rows.map(line).join(''), header, gzip);
}
