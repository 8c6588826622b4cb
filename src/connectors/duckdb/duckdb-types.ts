// Logical types ↔ DuckDB types, and the JS value → DuckDB vector value conversion used by the bulk appender.
import {
  BIGINT, BLOB, BOOLEAN, DECIMAL, DOUBLE, DuckDBBlobValue, DuckDBDecimalValue, INTEGER, LIST, VARCHAR, listValue,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { COLUMN_TYPES, type ColumnType, elementType, type ScalarType } from '../../core/types.js';
import { widen } from '../../core/values/infer.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH, duckType } from './duckdb-type-names.js';
import { INT_RANGES, type ColumnLimit } from '../sql/column-limits.js';

export { DECIMAL_SCALE, DECIMAL_WIDTH, duckType };

/** duckdb_columns() spells some types long-hand; compare in the short form we write in DDL. */
export function normalizeDuckType(dataType: string): string {
  const t = dataType.trim().toUpperCase();
  if (t.endsWith('[]')) return `${normalizeDuckType(t.slice(0, -2))}[]`;
  if (t === 'TIMESTAMP WITH TIME ZONE') return 'TIMESTAMPTZ';
  if (t === 'TEXT' || t === 'STRING') return 'VARCHAR';
  return t.replace(/\s+/g, '');
}

const LOGICAL_OF: Record<string, ColumnType> = Object.fromEntries(
  COLUMN_TYPES.map((logical) => [normalizeDuckType(duckType(logical)), logical]),
);

/**
 * Whether an existing column of `current` DuckDB type must be altered to hold `wanted`. Only widenings
 * (integer→bigint→decimal→double, date→timestamp, arrays by their elements, an array→JSON, anything→text) alter a
 * column: a narrower wanted type leaves the wider column alone, the appender casts on the way in.
 */
export function needsWidening(current: string, wanted: ColumnType): boolean {
  const cur = LOGICAL_OF[normalizeDuckType(current)];
  if (cur === wanted) return false;
  if (wanted === 'text') return normalizeDuckType(current) !== 'VARCHAR';
  // A DOUBLE column stays one: DECIMAL(38,9) would round what it holds (values arrive as decimals and are cast).
  if (cur === 'double' && wanted === 'decimal') return false;
  return cur !== undefined && widen(cur, wanted) === wanted;
}

export type Converter = (v: unknown) => DuckDBValue;

const textOf = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
};

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const DECIMAL_LIMIT = 10n ** BigInt(DECIMAL_WIDTH);

/**
 * Exact decimal text → the integer DuckDB stores (value × 10^scale), rounding half away from zero past `scale`
 * digits like DuckDB's own cast. Done in JS because DuckDB's per-value VARCHAR→DECIMAL(38,9) cast in the appender
 * runs at ~200k values/s, a bottleneck for the whole load.
 */
export function decimalToScaled(text: string, scale = DECIMAL_SCALE): bigint {
  const m = DECIMAL_TEXT.exec(text.trim());
  const intPart = m?.[2] ?? '';
  const fracPart = m?.[3] ?? '';
  if (!m || (intPart === '' && fracPart === '')) throw new Error(`"${text}" is not a decimal number`);
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, '');
  const exponent = Number(m[4] ?? 0);
  const fractionDigits = fracPart.length - exponent;
  const isZero = /^0*$/.test(digits);
  if (!isZero && digits.length - fractionDigits > DECIMAL_WIDTH - scale) {
    throw new Error(`"${text}" does not fit DECIMAL(${DECIMAL_WIDTH},${scale})`);
  }
  let scaled: bigint;
  if (isZero) {
    scaled = 0n;
  } else if (fractionDigits <= scale) {
    scaled = BigInt(digits + '0'.repeat(scale - fractionDigits));
  } else {
    const drop = fractionDigits - scale;
    const keep = digits.length - drop;
    scaled = keep > 0 ? BigInt(digits.slice(0, keep)) : 0n;
    const next = keep >= 0 ? digits[keep] : '0';
    if (next >= '5') scaled += 1n;
  }
  if (scaled >= DECIMAL_LIMIT) throw new Error(`"${text}" does not fit DECIMAL(${DECIMAL_WIDTH},${scale})`);
  return m[1] === '-' ? -scaled : scaled;
}

const toDecimal = (width: number, scale: number): Converter => (v) => {
  const text = typeof v === 'bigint' || typeof v === 'number' ? String(v) : textOf(v);
  return new DuckDBDecimalValue(decimalToScaled(text, scale), width, scale);
};

const toInteger: Converter = (v) => (typeof v === 'number' ? v : Number(v));
const toBigint: Converter = (v) => (typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? v : String(v)));
const toDouble: Converter = (v) => (typeof v === 'number' ? v : Number(v));
const toBoolean: Converter = (v) => (typeof v === 'boolean' ? v : v === 'true' || v === 1);
const toText: Converter = (v) => textOf(v);
const toDateText: Converter = (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : textOf(v));
const toBlob: Converter = (v) =>
  new DuckDBBlobValue(v instanceof Uint8Array ? v : Buffer.from(textOf(v), 'utf8'));

/**
 * How each logical type travels in a data chunk. Date, timestamp, json and uuid go as VARCHAR: the appender
 * casts a whole vector at once (measured at 3–5M values/s), which is faster than building their values in JS.
 */
interface ChunkType {
  type: DuckDBType;
  convert: Converter;
}

const SCALAR_CHUNK_TYPES: Record<ScalarType, ChunkType> = {
  text: { type: VARCHAR, convert: toText },
  integer: { type: INTEGER, convert: toInteger },
  bigint: { type: BIGINT, convert: toBigint },
  decimal: { type: DECIMAL(DECIMAL_WIDTH, DECIMAL_SCALE), convert: toDecimal(DECIMAL_WIDTH, DECIMAL_SCALE) },
  double: { type: DOUBLE, convert: toDouble },
  boolean: { type: BOOLEAN, convert: toBoolean },
  date: { type: VARCHAR, convert: toDateText },
  timestamp: { type: VARCHAR, convert: toText },
  json: { type: VARCHAR, convert: toText },
  binary: { type: BLOB, convert: toBlob },
  uuid: { type: VARCHAR, convert: toText },
};

/** An array travels as a LIST of its element's chunk type; the appender casts the elements like scalars. */
function listChunk(element: ChunkType): ChunkType {
  const convert = element.convert;
  return {
    type: LIST(element.type),
    convert: (v) => listValue((v as unknown[]).map((x) => (x === null || x === undefined ? null : convert(x)))),
  };
}

/** A decimal for a column of `dataType`: at its own DECIMAL(p,s), or Sluice's DECIMAL(38,9) for any other type. */
export function decimalChunk(dataType: string): ChunkType {
  const m = /^DECIMAL\((\d+),(\d+)\)$/i.exec(dataType);
  if (!m) return SCALAR_CHUNK_TYPES.decimal;
  const [width, scale] = [Number(m[1]), Number(m[2])];
  return { type: DECIMAL(width, scale), convert: toDecimal(width, scale) };
}

export function chunkType(type: ColumnType): ChunkType {
  const element = elementType(type);
  return element === undefined ? SCALAR_CHUNK_TYPES[type as ScalarType] : listChunk(SCALAR_CHUNK_TYPES[element]);
}

/** What a column of `dataType` refuses (../sql/column-limits.ts): a DECIMAL(p,s), a small integer type. */
export function duckColumnLimit(dataType: string): ColumnLimit {
  if (dataType.endsWith('[]')) return { ...duckColumnLimit(dataType.slice(0, -2)), elements: true };
  const t = dataType.toUpperCase();
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
  if (decimal) return { decimal: { precision: Number(decimal[1]), scale: Number(decimal[2]) } };
  const ranges: Record<string, ColumnLimit['range']> = {
    TINYINT: INT_RANGES.tinyint, UTINYINT: INT_RANGES.utinyint, SMALLINT: INT_RANGES.smallint, USMALLINT: INT_RANGES.usmallint,
    UINTEGER: INT_RANGES.uint, UBIGINT: INT_RANGES.ubigint,
  };
  return Object.hasOwn(ranges, t) ? { range: ranges[t] } : {};
}
