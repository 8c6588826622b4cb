// Logical types ↔ SQLite declared types. SQLite stores each value with its own type and a column only has an
// "affinity", derived from the declared type's spelling: `…INT…` integer, `…CHAR…/…TEXT…` text, `…REAL…` real,
// `BLOB` none, anything else NUMERIC, which would turn the text `1.50` into the number 1.5. So exact kinds are declared
// as `<KIND> TEXT`: the affinity is TEXT (decimals, JSON and timestamps stay exactly as written) and the first word
// still tells a reader, and the SQLite source, what the column holds.
import { arrayOf, type ColumnType, elementType, type Row, type ScalarType } from '../../core/types.js';
import { jsonText } from '../../core/values/array-text.js';
import { narrowBigint } from '../../core/values/coerce.js';
import { widen } from '../../core/values/infer.js';

const SQLITE_SCALAR_TYPES: Record<ScalarType, string> = {
  text: 'TEXT',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  decimal: 'DECIMAL TEXT',
  double: 'REAL',
  boolean: 'BOOLEAN',
  date: 'DATE TEXT',
  timestamp: 'TIMESTAMP TEXT',
  json: 'JSON TEXT',
  binary: 'BLOB',
  uuid: 'UUID TEXT',
};

/**
 * SQLite has no arrays: an array column holds JSON arrays, declared `<ELEMENT>[] JSON` so the SQLite source reads
 * the element type back. Whatever affinity the element's name gives, JSON text never looks like a number, so it
 * stays text.
 */
export const sqliteType = (type: ColumnType): string => {
  const element = elementType(type);
  return element === undefined ? SQLITE_SCALAR_TYPES[type as ScalarType] : `${element.toUpperCase()}[] JSON`;
};

/**
 * Logical type of a declared column type. Any `…INT…` column may hold 64-bit values whatever its name says, so it reads
 * as bigint; `DATETIME`, `NUMERIC(10,2)` and friends of other tools are understood; no declared type: undefined (the
 * engine infers from values).
 */
export function logicalOfSqlite(declared: string): ColumnType | undefined {
  const t = declared.toUpperCase().trim();
  if (t === '') return undefined;
  const array = /^(\w+)\[\]/.exec(t);
  if (array) return arrayOf(array[1].toLowerCase() as ColumnType);
  if (t.startsWith('BOOL')) return 'boolean';
  if (t.includes('INT')) return 'bigint';
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return 'decimal';
  if (t.startsWith('TIMESTAMP') || t.startsWith('DATETIME')) return 'timestamp';
  if (t.startsWith('DATE')) return 'date';
  if (t.startsWith('JSON')) return 'json';
  if (t.startsWith('UUID')) return 'uuid';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'double';
  if (t.includes('BLOB')) return 'binary';
  return 'text';
}

/** The declared type a column must be rebuilt with to hold `wanted`, or undefined when it already can. */
export function sqliteWidening(declared: string, wanted: ColumnType): string | undefined {
  const t = declared.toUpperCase().trim();
  // The destination's own INTEGER columns hold int32 values; read them as such for widening purposes.
  const current = t === 'INTEGER' ? 'integer' : logicalOfSqlite(declared) ?? 'text';
  if (current === wanted || (current === 'bigint' && wanted === 'integer')) return undefined;
  // INTEGER → BIGINT changes nothing SQLite stores: both are 64-bit integers.
  if (current === 'integer' && wanted === 'bigint') return undefined;
  return widen(current, wanted) === wanted ? sqliteType(wanted) : undefined;
}

/** A canonical JS value as better-sqlite3 binds it: booleans as 1/0, bytes as a Buffer; the rest as they are. */
export type Binder = (v: unknown) => unknown;

const same: Binder = (v) => v;
const BINDERS: Record<ScalarType, Binder> = {
  text: same,
  integer: same,
  bigint: same,
  decimal: same,
  double: same,
  boolean: (v) => (v === null || v === undefined ? null : v === true || v === 1 ? 1 : 0),
  date: same,
  timestamp: same,
  json: same,
  binary: (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v),
  uuid: same,
};

const asJson: Binder = (v) => (v === null || v === undefined ? null : jsonText(v));

export const binderFor = (type: ColumnType): Binder => (elementType(type) ? asJson : BINDERS[type as ScalarType]);

/** bigint (safeIntegers) → number while exact, so ordinary ids stay numbers. */
const exact = (v: unknown): unknown => (typeof v === 'bigint' ? narrowBigint(v) : v);

export function normalizeRow(row: Row): Row {
  for (const k in row) row[k] = exact(row[k]);
  return row;
}

/** normalizeRow for rows as arrays, in place. */
export function normalizeValues(rows: unknown[][]): void {
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) row[i] = exact(row[i]);
  }
}
