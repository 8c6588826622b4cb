// Logical types → DuckDB type names. Kept apart from the value converters (duckdb-types.ts) so that declaring a
// destination's capabilities does not load DuckDB's native library: pipelines that never touch DuckDB stay lean.
import { type ColumnType, type ScalarType, typeName } from '../../core/types.js';

export const DECIMAL_WIDTH = 38;
export const DECIMAL_SCALE = 9;

const DUCKDB_SCALAR_TYPES: Record<ScalarType, string> = {
  text: 'VARCHAR',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  decimal: `DECIMAL(${DECIMAL_WIDTH},${DECIMAL_SCALE})`,
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSON',
  binary: 'BLOB',
  uuid: 'UUID',
};

/** The DuckDB type of a logical type: arrays are LISTs (`INTEGER[]`). */
export const duckType = (type: ColumnType): string => typeName(DUCKDB_SCALAR_TYPES, type, (e) => `${e}[]`);
