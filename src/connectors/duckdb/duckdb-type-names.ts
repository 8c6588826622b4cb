// Logical types → DuckDB type names. Kept apart from the value converters (duckdb-types.ts) so that declaring a
// destination's capabilities does not load DuckDB's native library: pipelines that never touch DuckDB stay lean.
import type { ColumnType } from '../../core/types.js';

export const DECIMAL_WIDTH = 38;
export const DECIMAL_SCALE = 9;

export const DUCKDB_TYPES: Record<ColumnType, string> = {
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
