// Files DuckDB reads itself (StreamLoad.ingest): one INSERT … SELECT over read_csv or read_parquet, several times faster than
// parsing in JS and appending. It must load exactly the rows the engine's own path would: every value is checked
// against a pattern its coercion (core/values/coerce.ts) turns into the same stored value, and a value outside it —
// however legal for DuckDB — raises error(), which rolls the file back to the engine's path (the load declines).
// The patterns are deliberately narrower than the coercions (no `+5`, `.5`, trimmed booleans or date-only
// timestamps): the common spellings go fast and the rest stays exact. test/integration/duckdb-ingest.test.ts loads
// random and hostile values both ways and compares the tables.
import type { Column, FileHandOff } from '../../core/types.js';
import { quoteIdent, sqlString } from '../sql/quote.js';
import { logicalType } from '../parquet/parquet-types.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH } from './duckdb-type-names.js';

/** A file column and the table column it lands in. */
export interface IngestColumn {
  /** Position in the file. */
  at: number;
  column: Column;
  /** The table column's name. */
  target: string;
}

const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]';
const DAY = '[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
// Offsets up to ±14:59; no zone is UTC (the connection's TimeZone is set to UTC for the read, as coercion reads it).
const TIMESTAMP = `${DAY}[T ]${TIME}(\\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?`;
const HEX = (n: number): string => `[0-9a-fA-F]{${n}}`;
const UUID = `${HEX(8)}-${HEX(4)}-${HEX(4)}-${HEX(4)}-${HEX(12)}`;
// DuckDB's JSON reader also takes NaN, Infinity, trailing commas and a leading +, which JSON.parse does not; text
// where they could be (or any control character) goes the engine's way. Inside a string they only cost speed.
const LENIENT_JSON = '[\\x00-\\x1f]|[:\\[,]\\s*[-+]?([nN][aA][nN]|[iI][nN][fF])|,\\s*[\\]}]|[:\\[,]\\s*\\+';
const TRUE = "('true', 't', 'yes', 'y', '1')";
const FALSE = "('false', 'f', 'no', 'n', '0')";

// read_csv's buffer per thread (its default is 32 MB, as much as the whole pool a load gets); a record longer than
// its max_line_size (2 MB) fails the read, which the engine's path then takes.
const BUFFER_BYTES = 4 * 1024 * 1024;

const full = (v: string, pattern: string): string => `regexp_full_match(${v}, ${sqlString(pattern)})`;

/** The check that `v` (VARCHAR, not NULL) is read as the engine reads it, and the value it is stored as. */
function valueSql(c: Column, v: string): { valid: string; value: string } | undefined {
  switch (c.type) {
    case 'text':
      return { valid: `NOT contains(${v}, chr(0))`, value: v };
    case 'integer':
      // Coercion refuses -2147483648 (it bounds by the absolute value).
      return { valid: `${full(v, '-?[0-9]{1,10}')} AND abs(TRY_CAST(${v} AS BIGINT)) <= 2147483647`, value: `CAST(${v} AS INTEGER)` };
    case 'bigint':
      return { valid: `${full(v, '-?[0-9]{1,19}')} AND TRY_CAST(${v} AS BIGINT) IS NOT NULL`, value: `CAST(${v} AS BIGINT)` };
    case 'decimal': {
      const p = c.precision ?? DECIMAL_WIDTH;
      const s = c.precision === undefined ? DECIMAL_SCALE : c.scale ?? 0;
      if (p - s < 1) return undefined;
      // DuckDB casts text to a DECIMAL wider than 18 digits (a 128-bit integer) a hundred times slower than to one
      // that fits 64 bits: values that fit DECIMAL(18,s) go that way and widen, exactly (the pattern bounds the scale).
      const cast = p > 18 && s <= 18 ? `COALESCE(TRY_CAST(${v} AS DECIMAL(18,${s})), CAST(${v} AS DECIMAL(${p},${s})))` : `CAST(${v} AS DECIMAL(${p},${s}))`;
      return { valid: full(v, `-?[0-9]{1,${p - s}}${s > 0 ? `(\\.[0-9]{1,${s}})?` : ''}`), value: cast };
    }
    case 'double':
      // Past a double's range DuckDB gives NULL where JS gives Infinity; -0 is left to JS, which keeps its sign.
      return {
        valid: `${full(v, '-?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?')} AND isfinite(TRY_CAST(${v} AS DOUBLE)) AND (TRY_CAST(${v} AS DOUBLE) <> 0 OR NOT starts_with(${v}, '-'))`,
        value: `CAST(${v} AS DOUBLE)`,
      };
    case 'boolean':
      return { valid: `lower(${v}) IN ${TRUE} OR lower(${v}) IN ${FALSE}`, value: `lower(${v}) IN ${TRUE}` };
    case 'date':
      return { valid: full(v, DAY), value: `CAST(${v} AS DATE)` };
    case 'timestamp':
      return { valid: full(v, TIMESTAMP), value: `CAST(${v} AS TIMESTAMPTZ)` };
    case 'json':
      // Text that is not an object or array becomes a JSON string in the engine: left to it.
      return { valid: `(starts_with(${v}, '{') OR starts_with(${v}, '[')) AND json_valid(${v}) AND NOT regexp_matches(${v}, ${sqlString(LENIENT_JSON)})`, value: v };
    case 'uuid':
      return { valid: full(v, UUID), value: `CAST(${v} AS UUID)` };
    default:
      // binary (base64 as Node reads it) and arrays: the engine's.
      return undefined;
  }
}

/**
 * read_csv with the stream's CSV options, every column read as text under a positional name (`c0`, `c1`, …), or
 * undefined for an option DuckDB reads differently: another encoding, an escape other than the quote, a file of one
 * column (DuckDB reads a blank line there as a NULL record).
 */
function csvReader(file: FileHandOff): string | undefined {
  const o = file.options;
  const encoding = String(o.encoding ?? 'utf-8').toLowerCase().replace('_', '-');
  const quote = String(o.quote ?? '"');
  if ((encoding !== 'utf-8' && encoding !== 'utf8') || (o.escape !== undefined && o.escape !== quote) || file.columns.length < 2) return undefined;
  const columns = file.columns.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  return `read_csv(${sqlString(file.path)}, auto_detect = false, header = ${o.header === false ? 'false' : 'true'}, skip = ${Number(o.skip_lines ?? 0)},
    delim = ${sqlString(String(o.delimiter ?? ','))}, quote = ${sqlString(quote)}, escape = ${sqlString(quote)}, columns = {${columns}},
    compression = '${file.gzip ? 'gzip' : 'none'}', buffer_size = ${BUFFER_BYTES}, allow_quoted_nulls = false, strict_mode = true, null_padding = false)`;
}

/**
 * A Parquet column (`v`, of DuckDB type `source`) into a column of Sluice type `c`: the value the engine's path stores
 * (parquet-types.ts hands it over as text or a JS value, coercion and the appender cast it), or undefined where only
 * the engine reads it so (nested values, decimals past DECIMAL(38,9)'s digits, a column declared another type).
 */
function parquetValueSql(c: Column, source: string, v: string): { valid: string; value: string } | undefined {
  const t = source.toUpperCase();
  if (logicalType(t) !== c.type) return undefined;
  // Years outside 1000–9999 print with other than four digits in the engine's text: left to it. Compared with bounds,
  // not by year(), which DuckDB computes through a calendar for every value (it cost more than the whole read).
  const years = (x: string, type: string, last: string): string => `${x} BETWEEN ${type} '1000-01-01${type === 'TIMESTAMPTZ' ? ' 00:00:00+00' : ''}' AND ${type} '9999-12-31${last}'`;
  switch (c.type) {
    case 'integer':
      // Coercion refuses -2147483648 (it bounds by the absolute value).
      return { valid: `${v} > -2147483648`, value: `CAST(${v} AS INTEGER)` };
    case 'bigint': case 'double': case 'boolean': case 'binary': case 'uuid':
      return { valid: 'true', value: v };
    case 'text':
      return t === 'VARCHAR' ? { valid: `NOT contains(${v}, chr(0))`, value: v } : undefined;
    case 'date':
      return { valid: years(v, 'DATE', ''), value: v };
    case 'timestamp': {
      // An instant stays one; a plain TIMESTAMP (any unit) is read as UTC at microseconds, as the engine reads it.
      if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return { valid: years(v, 'TIMESTAMPTZ', ' 23:59:59.999999+00'), value: v };
      const ts = `CAST(${v} AS TIMESTAMP)`;
      return { valid: years(ts, 'TIMESTAMP', ' 23:59:59.999999'), value: `CAST(${ts} AS TIMESTAMPTZ)` };
    }
    case 'decimal': {
      const m = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
      if (c.precision !== undefined || !m || Number(m[2]) > DECIMAL_SCALE || Number(m[1]) - Number(m[2]) > DECIMAL_WIDTH - DECIMAL_SCALE) return undefined;
      return { valid: 'true', value: `CAST(${v} AS DECIMAL(${DECIMAL_WIDTH},${DECIMAL_SCALE}))` };
    }
    default:
      return undefined;
  }
}

export interface IngestKeys {
  /** Key columns (table names): a NULL there is a row the engine dead-letters, so the file is its. */
  keys: ReadonlySet<string>;
  /** A sequence column and the number every row gets. */
  seq?: { column: string; value: bigint };
}

/** The rows of a file as the table takes them: its columns (quoted) and `SELECT … FROM read_csv(…)` (or read_parquet). */
export interface IngestSelect {
  names: string[];
  select: string;
}

/** The file's rows typed as the engine types them, or undefined when the engine is to read it. */
export function ingestSelect(file: FileHandOff, columns: readonly IngestColumn[], keyed: IngestKeys = { keys: new Set() }): IngestSelect | undefined {
  const parquet = file.format === 'parquet';
  const reader = parquet ? `read_parquet(${sqlString(file.path)})` : file.format === 'csv' ? csvReader(file) : undefined;
  if (!reader) return undefined;
  const values: string[] = [];
  for (const { at, column, target } of columns) {
    const v = parquet ? quoteIdent(file.columns[at]) : `c${at}`;
    const sql = parquet ? file.types && parquetValueSql(column, file.types[at], v) : valueSql(column, v);
    if (!sql) return undefined;
    const why = sqlString(`column ${column.name}: a value the engine reads otherwise`);
    const nul = keyed.keys.has(target) ? `error(${sqlString(`key column ${column.name} is null`)})` : 'NULL';
    values.push(`CASE WHEN ${v} IS NULL THEN ${nul} WHEN ${sql.valid} THEN ${sql.value} ELSE error(${why}) END`);
  }
  const names = columns.map((c) => quoteIdent(c.target));
  if (keyed.seq) {
    names.push(quoteIdent(keyed.seq.column));
    values.push(`${keyed.seq.value}::BIGINT`);
  }
  return { names, select: `SELECT ${values.map((v, i) => `${v} AS ${names[i]}`).join(', ')} FROM ${reader}` };
}

/**
 * A cursor column's bound and its newest value in SQL, in the engine's canonical forms (core/values/coerce.ts), for
 * the types whose order DuckDB and the engine agree on and whose newest value DuckDB spells as the engine would:
 * integers, doubles, dates and instants (not text, whose collations differ, nor decimals, whose text the engine keeps
 * as written: `1.50` stays `1.50`). Undefined for any other type or a bound it cannot spell exactly.
 */
/** A cursor's bound (null: none) and its newest value (`max` over rows `where` holds), read back as the engine keeps it. */
export interface CursorSql {
  from: string | null;
  max: (x: string, where: string) => string;
  read: (v: unknown) => unknown;
}

export function cursorSql(c: Column, from: unknown): CursorSql | undefined {
  const literal = (v: unknown, type: string, pattern: RegExp): string | null | undefined =>
    (v === null || v === undefined ? null : pattern.test(String(v)) ? `CAST(${sqlString(String(v))} AS ${type})` : undefined);
  const number = (read: (v: unknown) => unknown) => (type: string, pattern: RegExp) => {
    const bound = literal(from, type, pattern);
    return bound === undefined ? undefined : { from: bound, max: (x: string, where: string) => `(max(${x}) FILTER (WHERE ${where}))::VARCHAR`, read };
  };
  switch (c.type) {
    case 'integer':
      return number((v) => Number(v))('BIGINT', /^-?\d{1,18}$/);
    case 'bigint':
      // A number while it is a safe integer, as coercion makes it.
      return number((v) => { const n = BigInt(String(v)); return n <= 9007199254740991n && n >= -9007199254740991n ? Number(n) : n; })('BIGINT', /^-?\d{1,19}$/);
    case 'double':
      return number((v) => Number(v))('DOUBLE', /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i);
    case 'date': {
      const bound = literal(from, 'DATE', /^\d{4}-\d{2}-\d{2}$/);
      return bound === undefined ? undefined : { from: bound, max: (x, where) => `strftime(max(${x}) FILTER (WHERE ${where}), '%Y-%m-%d')`, read: String };
    }
    case 'timestamp': {
      const bound = literal(from, 'TIMESTAMPTZ', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      return bound === undefined ? undefined : { from: bound, max: (x, where) => `strftime(max(${x}) FILTER (WHERE ${where}), '%Y-%m-%dT%H:%M:%S.%fZ')`, read: String };
    }
    default:
      return undefined;
  }
}
