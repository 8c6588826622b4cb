// Logical types ↔ PostgreSQL types: DDL for the destination, the widenings evolve() may apply, the logical type of a
// catalog column (the source declares its streams' columns from it), and the per-connection value parsers that give
// the engine canonical-friendly JS values without losing precision.
import type pg from 'pg';
import type { ColumnType } from '../../core/types.js';

export const PG_TYPES: Record<ColumnType, string> = {
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

/** pg_type.typname → logical type; anything else reads as text. */
const LOGICAL_OF_TYPNAME: Record<string, ColumnType> = {
  int2: 'integer', int4: 'integer', int8: 'bigint', numeric: 'decimal', float4: 'double', float8: 'double',
  bool: 'boolean', text: 'text', varchar: 'text', bpchar: 'text', name: 'text', citext: 'text', date: 'date',
  timestamptz: 'timestamp', timestamp: 'timestamp', json: 'json', jsonb: 'json', bytea: 'binary', uuid: 'uuid',
  oid: 'bigint',
};

export const logicalOfTypname = (typname: string): ColumnType => LOGICAL_OF_TYPNAME[typname] ?? 'text';

/** Type OIDs of the built-in types (pg_type.oid; stable across servers). */
const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, oid: 26, json: 114, float4: 700, float8: 701,
  bpchar: 1042, varchar: 1043, date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950,
  jsonb: 3802, name: 19,
} as const;

const TYPNAME_OF_OID = new Map<number, string>(Object.entries(OID).map(([k, v]) => [v, k]));

/** Arrays of built-in types (bool, int2, int4, text, varchar, int8, float4, float8, numeric, date, timestamptz, uuid). */
const ARRAY_OIDS = new Set([1000, 1005, 1007, 1009, 1015, 1016, 1021, 1022, 1231, 1182, 1185, 2951]);

/**
 * Logical type of a result column by its type OID (custom query columns have no catalog row). Arrays, which pg
 * parses to JS arrays, travel as json.
 */
export const logicalOfOid = (oid: number): ColumnType =>
  ARRAY_OIDS.has(oid) ? 'json' : logicalOfTypname(TYPNAME_OF_OID.get(oid) ?? '');

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 1, bigint: 2, decimal: 3, double: 4 };

/**
 * The PostgreSQL type an existing column must be altered to so it can hold values of `wanted`, or undefined when
 * it already can. Only safe widenings: int4→int8→numeric (int8 and numeric take doubles as numeric, exactly, rather
 * than float8, which would round big integers), int4→float8, date→timestamptz, and anything→text.
 */
export function widening(typname: string, wanted: ColumnType): string | undefined {
  const current = LOGICAL_OF_TYPNAME[typname];
  if (wanted === 'text') return current === 'text' ? undefined : 'text';
  if (current === undefined || current === wanted) return undefined;
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

/** `2024-01-02 03:04:05.678+00` (session in UTC) → `2024-01-02T03:04:05.678Z`; infinities stay as they are. */
function isoTimestamp(s: string, zoned: boolean): string {
  if (s.length < 19 || s.charCodeAt(4) !== 45) return s;
  let out = s.slice(0, 10) + 'T' + s.slice(11);
  if (zoned) {
    // UTC sessions print "+00"; other offsets (a session whose time zone was changed) are left for the coercer.
    if (out.endsWith('+00')) out = out.slice(0, -3) + 'Z';
  } else {
    out += 'Z';
  }
  return out;
}

/** A JSON text exactly as stored; scalars parsed, since the engine would otherwise quote them once more. */
function jsonValue(s: string): unknown {
  const c = s.charCodeAt(0);
  return c === 123 || c === 91 ? s : JSON.parse(s);
}

const identity = (s: string): string => s;

/**
 * Value parsers a source installs on its own connections: int8 → bigint, numeric → string (exact), timestamps →
 * ISO UTC strings (microseconds kept, where Date would cut to milliseconds), date → `YYYY-MM-DD`, json/jsonb →
 * the text as stored (objects and arrays) so numbers beyond 2^53 survive, bytea → Buffer.
 */
export const sourceTypes = (defaults: typeof pg.types): pg.CustomTypesConfig => ({
  getTypeParser: ((oid: number, format?: string) => {
    switch (oid) {
      case OID.int8: return (s: string) => BigInt(s);
      case OID.numeric: return identity;
      case OID.timestamptz: return (s: string) => isoTimestamp(s, true);
      case OID.timestamp: return (s: string) => isoTimestamp(s, false);
      case OID.date: return identity;
      case OID.json:
      case OID.jsonb: return jsonValue;
      default: return defaults.getTypeParser(oid, (format ?? 'text') as 'text');
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
});
