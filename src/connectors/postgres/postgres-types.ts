// Logical types ↔ PostgreSQL types: DDL for the destination, the widenings evolve() may apply, the logical type of a
// catalog column (the source declares its streams' columns from it), and the per-connection value parsers that give
// the engine canonical-friendly JS values without losing precision.
import type pg from 'pg';
import { arrayOf, type ColumnType, elementType, type ScalarType, typeName } from '../../core/types.js';
import { parseArrayText } from '../../core/values/array-text.js';
import { coercerFor } from '../../core/values/coerce.js';
import { parseJson } from '../../core/values/json-parse.js';

const PG_SCALAR_TYPES: Record<ScalarType, string> = {
  text: 'text',
  integer: 'int4',
  bigint: 'int8',
  decimal: 'numeric',
  double: 'float8',
  boolean: 'bool',
  date: 'date',
  timestamp: 'timestamptz',
  json: 'jsonb',
  binary: 'bytea',
  uuid: 'uuid',
};

/** The PostgreSQL type of a logical type: arrays are native (`int4[]`). */
export const pgType = (type: ColumnType): string => typeName(PG_SCALAR_TYPES, type, (e) => `${e}[]`);


/** pg_type.typname → logical type; anything else reads as text. */
const LOGICAL_OF_TYPNAME: Record<string, ScalarType> = {
  int2: 'integer', int4: 'integer', int8: 'bigint', numeric: 'decimal', float4: 'double', float8: 'double',
  bool: 'boolean', text: 'text', varchar: 'text', bpchar: 'text', name: 'text', citext: 'text', date: 'date',
  timestamptz: 'timestamp', timestamp: 'timestamp', json: 'json', jsonb: 'json', bytea: 'binary', uuid: 'uuid',
  oid: 'bigint',
};

/**
 * Logical type of a pg_type.typname. Arrays (`_int4`) of a scalar an array type can hold keep their element type;
 * arrays of json or bytea read as json.
 */
export function logicalOfTypname(typname: string): ColumnType {
  if (!typname.startsWith('_')) return LOGICAL_OF_TYPNAME[typname] ?? 'text';
  return arrayOf(LOGICAL_OF_TYPNAME[typname.slice(1)] ?? 'text');
}

/** Type OIDs of the built-in types (pg_type.oid; stable across servers). */
const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, float4: 700, float8: 701,
  bpchar: 1042, varchar: 1043, date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950,
  jsonb: 3802, name: 19,
} as const;

const TYPNAME_OF_OID = new Map<number, string>(Object.entries(OID).map(([k, v]) => [v, k]));

/** Array type OID → its element's OID, for the built-in element types above (pg_type.typarray). */
const ELEMENT_OF_ARRAY = new Map<number, number>([
  [1000, OID.bool], [1001, OID.bytea], [1016, OID.int8], [1005, OID.int2], [1007, OID.int4], [1009, OID.text],
  [1028, OID.oid], [199, OID.json], [1021, OID.float4], [1022, OID.float8], [1014, OID.bpchar], [1015, OID.varchar],
  [1182, OID.date], [1115, OID.timestamp], [1185, OID.timestamptz], [1231, OID.numeric], [2951, OID.uuid],
  [3807, OID.jsonb], [1003, OID.name],
]);

/** Logical type of a result column by its type OID (custom query columns have no catalog row). */
export function logicalOfOid(oid: number): ColumnType {
  const element = ELEMENT_OF_ARRAY.get(oid);
  return logicalOfTypname(element === undefined ? TYPNAME_OF_OID.get(oid) ?? '' : `_${TYPNAME_OF_OID.get(element)}`);
}

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 1, bigint: 2, decimal: 3, double: 4 };

/**
 * The PostgreSQL type an existing column must be altered to so it can hold values of `wanted`, or undefined when
 * it already can. Only safe widenings: int4→int8→numeric (int8 and numeric take doubles as numeric, exactly, rather
 * than float8, which would round big integers), int4→float8, date→timestamptz, and the built-in types Sluice maps
 * →text. A type it does not map (an enum, a domain, inet, interval, …) is the table owner's choice and stays: rows
 * reach it as text for the server to convert, and a value the server refuses fails the load with its reason.
 */
export function widening(typname: string, wanted: ColumnType): string | undefined {
  const wantedElement = elementType(wanted);
  if (wantedElement !== undefined || typname.startsWith('_')) {
    if (typname.startsWith('_') && LOGICAL_OF_TYPNAME[typname.slice(1)] === undefined) return undefined;
    if (wanted === 'text') return 'text';
    // jsonb holds any array (ensureTable converts with to_jsonb); an array widens by its elements.
    if (wanted === 'json') return elementType(logicalOfTypname(typname)) ? 'jsonb' : undefined;
    if (wantedElement === undefined || !typname.startsWith('_')) return undefined;
    const element = widening(typname.slice(1), wantedElement);
    return element === undefined ? undefined : `${element}[]`;
  }
  const current = LOGICAL_OF_TYPNAME[typname];
  if (current === undefined || current === wanted) return undefined;
  if (wanted === 'text') return 'text';
  const rc = NUMERIC_RANK[current];
  const rw = NUMERIC_RANK[wanted];
  if (rc !== undefined && rw !== undefined) {
    if (rw <= rc) return undefined;
    if (wanted === 'bigint') return typname === 'int2' || typname === 'int4' ? 'int8' : undefined;
    if (wanted === 'double' && (typname === 'int2' || typname === 'int4')) return 'float8';
    return current === 'decimal' ? undefined : 'numeric';
  }
  if (current === 'date' && wanted === 'timestamp') return 'timestamptz';
  return undefined;
}

/**
 * `2024-01-02 03:04:05.678+00` (session in UTC) → `2024-01-02T03:04:05.678000Z`, the canonical form (six fraction
 * digits, src/core/values/coerce.ts). Other offsets (a session whose time zone was changed), infinities, BC and five-digit
 * years keep a form the coercer normalises or rejects.
 */
function isoTimestamp(s: string, zoned: boolean): string {
  if (s.length < 19 || s.charCodeAt(4) !== 45) return s;
  const utc = !zoned || s.endsWith('+00');
  const end = zoned && utc ? s.length - 3 : s.length;
  const digits = end > 20 && s.charCodeAt(19) === 46 ? end - 20 : 0;
  if (utc && digits <= 6 && end === (digits ? 20 + digits : 19)) {
    return `${s.slice(0, 10)}T${s.slice(11, end)}${digits ? '000000'.slice(digits) : '.000000'}Z`;
  }
  return `${s.slice(0, 10)}T${s.slice(11, end)}${utc ? 'Z' : ''}`;
}

/** A JSON text exactly as stored; scalars parsed, since the engine would otherwise quote them once more. */
function jsonValue(s: string): unknown {
  const c = s.charCodeAt(0);
  return c === 123 || c === 91 ? s : parseJson(s);
}

const identity = (s: string): string => s;
const int8Value = coercerFor('bigint');

/**
 * Value parsers a source installs on its own connections: int8 → its canonical form (a number while safe, else a
 * bigint), numeric → string (exact), timestamps → ISO UTC strings (microseconds kept, where Date would cut to
 * milliseconds), date → `YYYY-MM-DD`, json/jsonb → the text as stored (objects and arrays) so numbers beyond 2^53
 * survive, bytea → Buffer; arrays of the scalars an array type holds → JS arrays of those elements, each parsed as
 * above.
 */
export const sourceTypes = (defaults: typeof pg.types): pg.CustomTypesConfig => {
  const getTypeParser = (oid: number, format?: string): (s: string) => unknown => {
    const element = ELEMENT_OF_ARRAY.get(oid);
    if (element !== undefined && elementType(logicalOfOid(oid))) {
      const parse = getTypeParser(element);
      return (s) => parseArrayText(s)?.map((x) => (x === null ? null : parse(x))) ?? s;
    }
    switch (oid) {
      case OID.int8: return int8Value;
      case OID.numeric: return identity;
      case OID.timestamptz: return (s: string) => isoTimestamp(s, true);
      case OID.timestamp: return (s: string) => isoTimestamp(s, false);
      case OID.date: return identity;
      case OID.json:
      case OID.jsonb: return jsonValue;
      default: return defaults.getTypeParser(oid, (format ?? 'text') as 'text');
    }
  };
  return { getTypeParser: getTypeParser as pg.CustomTypesConfig['getTypeParser'] };
};
