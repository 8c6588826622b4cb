// Logical types ↔ MySQL/MariaDB types: DDL for the destination, the widenings evolve() may apply, the logical type
// of a catalog column (the source declares its streams' columns from it), and the encoding of canonical JS values
// (src/core/values/coerce.ts) into the text LOAD DATA reads, and the values read back in canonical form (canonicalRows).
import { type ColumnType, elementType, type ScalarType } from '../../core/types.js';
import { jsonText } from '../../core/values/array-text.js';
import { bigintText, normalizeTimestamp } from '../../core/values/coerce.js';
import { widen } from '../../core/values/infer.js';
import { parseJson } from '../../core/values/json-parse.js';

/** MySQL's type for `decimal`: its widest scale-9 decimal, as DuckDB's. */
export const MYSQL_DECIMAL = { width: 38, scale: 9 };

const MYSQL_SCALAR_TYPES: Record<ScalarType, string> = {
  text: 'LONGTEXT',
  integer: 'INT',
  bigint: 'BIGINT',
  decimal: `DECIMAL(${MYSQL_DECIMAL.width},${MYSQL_DECIMAL.scale})`,
  double: 'DOUBLE',
  boolean: 'TINYINT(1)',
  date: 'DATE',
  // DATETIME holds what it is given, with no zone: Sluice writes UTC and the source reads it back as UTC.
  timestamp: 'DATETIME(6)',
  json: 'JSON',
  binary: 'LONGBLOB',
  uuid: 'CHAR(36)',
};

/** MySQL has no arrays: an array column is a JSON column holding JSON arrays. */
const stored = (type: ColumnType): ScalarType => (elementType(type) ? 'json' : (type as ScalarType));

export const mysqlType = (type: ColumnType): string => MYSQL_SCALAR_TYPES[stored(type)];

/**
 * Primary key columns must be indexable: TEXT and BLOB columns cannot be, so keys of those types get bounded
 * types. 191 characters × 4 bytes (utf8mb4) stays under InnoDB's 767-byte index prefix of older row formats.
 */
const KEY_TYPES: Partial<Record<ScalarType, string>> = { text: 'VARCHAR(191)', binary: 'VARBINARY(255)', json: 'VARCHAR(191)' };

export const columnDdlType = (type: ColumnType, isKey: boolean): string =>
  (isKey ? KEY_TYPES[stored(type)] : undefined) ?? mysqlType(type);

/**
 * Logical type of a column from its catalog type (`COLUMN_TYPE` / SHOW COLUMNS `Type`, e.g. `int(11) unsigned`).
 * TINYINT(1) and BIT(1) are booleans by MySQL convention; unsigned BIGINT may pass 2^63, so it reads as decimal.
 */
export function logicalOfMysql(columnType: string): ColumnType {
  const t = columnType.toLowerCase().trim();
  const base = t.replace(/\(.*$/, '').replace(/\s.*$/, '');
  const unsigned = t.includes('unsigned');
  switch (base) {
    case 'tinyint':
      return /^tinyint\(1\)/.test(t) ? 'boolean' : 'integer';
    case 'bit':
      return /^bit\(1\)/.test(t) ? 'boolean' : 'bigint';
    case 'smallint': case 'mediumint': case 'year':
      return 'integer';
    case 'int': case 'integer':
      return unsigned ? 'bigint' : 'integer';
    case 'bigint':
      return unsigned ? 'decimal' : 'bigint';
    case 'decimal': case 'numeric':
      return 'decimal';
    case 'float': case 'double': case 'real':
      return 'double';
    case 'date':
      return 'date';
    case 'datetime': case 'timestamp':
      return 'timestamp';
    case 'json':
      return 'json';
    case 'uuid':
      return 'uuid';
    case 'binary': case 'varbinary': case 'blob': case 'tinyblob': case 'mediumblob': case 'longblob':
      return 'binary';
    default:
      return 'text';
  }
}

const TEXT_LIKE = /^(longtext|mediumtext|text|tinytext|varchar|char)/i;

/**
 * The type an existing column must be altered to so it can hold `wanted`, or undefined when it already can. Only
 * widenings (INT→BIGINT→DECIMAL→DOUBLE, DATE→DATETIME, anything→text); a narrower wanted type leaves the column
 * alone and MySQL converts on the way in. ENUM and SET columns are the table owner's choice and stay: a value
 * outside them raises a warning, which fails the load (mysql-load.ts).
 */
export function mysqlWidening(columnType: string, type: ColumnType, isKey: boolean): string | undefined {
  if (/^(enum|set)\s*\(/i.test(columnType)) return undefined;
  const current = logicalOfMysql(columnType);
  const wanted = stored(type);
  if (wanted === 'text' || wanted === 'json') {
    // Any text column holds JSON text; CHAR(36) (a uuid column) and VARCHAR keys are narrower than free text.
    if (TEXT_LIKE.test(columnType) && !/^(char|varchar)/i.test(columnType)) return undefined;
    if (/^(char|varchar)/i.test(columnType) && isKey) return undefined;
    if (current === 'json' && wanted === 'json') return undefined;
    return columnDdlType('text', isKey);
  }
  if (current === wanted) return undefined;
  return widen(current, wanted) === wanted && current !== 'text' ? columnDdlType(wanted, isKey) : undefined;
}

/** Encodes one non-null canonical value as the text of a LOAD DATA field (before escaping). */
export type FieldEncoder = (v: unknown) => string;

const SPECIAL = /[\\\t\n\r\0]/;
const SPECIAL_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** LOAD DATA's default escaping (`ESCAPED BY '\\'`): backslash, tab, newline, CR and NUL are written as escapes. */
export const escapeField = (s: string): string => (SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : s);

const asText = (v: unknown): string => escapeField(typeof v === 'string' ? v : typeof v === 'object' ? jsonText(v) : String(v));

/** Canonical timestamps are `YYYY-MM-DDTHH:MM:SS.ffffffZ`; DATETIME(6) takes the same digits with a space. */
const asDatetime: FieldEncoder = (v) => {
  let s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
  if (s.length !== 27 || s.charCodeAt(26) !== 90) {
    const n = normalizeTimestamp(s);
    if (typeof n !== 'string') throw new Error(`${JSON.stringify(s)} is not a timestamp`);
    s = n;
  }
  return `${s.slice(0, 10)} ${s.slice(11, 26)}`;
};

const FIELD_ENCODERS: Record<ScalarType, FieldEncoder> = {
  text: asText,
  integer: (v) => String(v),
  bigint: (v) => bigintText(v as number | bigint),
  decimal: asText,
  double: (v) => String(v),
  boolean: (v) => (v === true || v === 1 || v === 'true' ? '1' : '0'),
  date: asText,
  timestamp: asDatetime,
  json: asText,
  // Bytes travel as hex and are decoded by `SET col = UNHEX(@var)`: the file stays valid utf8mb4 text.
  binary: (v) => Buffer.from(v instanceof Uint8Array ? v : Buffer.from(String(v))).toString('hex'),
  uuid: asText,
};

/** Arrays are written as JSON arrays (asText gives objects their JSON text). */
export const fieldEncoder = (type: ColumnType): FieldEncoder => FIELD_ENCODERS[stored(type)];

/** What a result column needs beyond what the pool options give (see createMysqlPool). */
interface ResultField {
  columnType?: number;
  columnLength?: number;
  extendedFormat?: string;
}

/** Wire type codes (mysql2's Types) of the columns whose values need fixing. */
const TINY = 1;
const TIMESTAMP = 7;
const DATETIME = 12;
const BIT = 16;
const JSON_TYPE = 245;

type Fix = (v: unknown) => unknown;

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (the session is UTC) → canonical ISO UTC; MySQL's zero date has no instant. */
const fixDatetime: Fix = (v) => {
  const s = v as string;
  return s.startsWith('0000-') ? null : `${s.slice(0, 10)}T${s.slice(11)}Z`;
};

/** JSON objects and arrays stay their text as stored (numbers beyond 2^53 survive); scalars become JS values. */
const fixJson: Fix = (v) => {
  const s = v as string;
  const c = s.trimStart().charCodeAt(0);
  return c === 123 || c === 91 ? s : parseJson(s);
};

function fixFor(f: ResultField): Fix | undefined {
  if (f.extendedFormat === 'json') return fixJson;
  switch (f.columnType) {
    case TIMESTAMP: case DATETIME: return fixDatetime;
    // TINYINT(1) and BIT(1) are booleans by MySQL convention.
    case TINY: return f.columnLength === 1 ? (v) => v !== 0 : undefined;
    case BIT: return f.columnLength === 1 ? (v) => (v as Buffer)[0] === 1 : undefined;
    case JSON_TYPE: return fixJson;
    default: return undefined;
  }
}

/**
 * Values of a result (rows as arrays) in canonical form, fixed in place. The pool already returns DECIMAL and BIGINT
 * as strings, dates as text and JSON as text; what is left is per column: DATETIME/TIMESTAMP → ISO UTC text with the
 * microseconds kept, TINYINT(1)/BIT(1) → boolean, JSON → objects as text, scalars parsed. No mysql2 typeCast: it
 * costs a call and a closure per value, which made it a third of the source's parse time.
 */
export function canonicalRows(fields: readonly ResultField[]): (rows: unknown[][]) => void {
  const at: number[] = [];
  const fixes: Fix[] = [];
  fields.forEach((f, i) => {
    const fix = fixFor(f);
    if (fix) {
      at.push(i);
      fixes.push(fix);
    }
  });
  return (rows) => {
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      for (let k = 0; k < at.length; k++) {
        const v = row[at[k]];
        if (v !== null) row[at[k]] = fixes[k](v);
      }
    }
  };
}
