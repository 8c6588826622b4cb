// Parquet column types (as DuckDB reads them) → Sluice's logical types, and the SELECT expression that hands each
// value over without loss: exact numbers and instants travel as text, nested values as JSON text.
import { arrayOf, type ColumnType, elementType } from '../../core/types.js';

export function logicalType(duckType: string): ColumnType {
  const t = duckType.toUpperCase();
  if (t.endsWith('[]')) {
    // A list of scalars an array type holds keeps its element type; lists of anything else are JSON.
    return arrayOf(logicalType(t.slice(0, -2)));
  }
  if (/^(STRUCT|MAP|UNION)\b/.test(t) || /\[\d+\]$/.test(t)) return 'json';
  if (t.startsWith('DECIMAL')) return 'decimal';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  switch (t) {
    case 'BOOLEAN':
      return 'boolean';
    case 'TINYINT': case 'SMALLINT': case 'INTEGER': case 'UTINYINT': case 'USMALLINT':
      return 'integer';
    case 'UINTEGER': case 'BIGINT':
      return 'bigint';
    case 'UBIGINT': case 'HUGEINT': case 'UHUGEINT':
      return 'decimal';
    case 'FLOAT': case 'DOUBLE':
      return 'double';
    case 'DATE':
      return 'date';
    case 'BLOB':
      return 'binary';
    case 'UUID':
      return 'uuid';
    case 'JSON':
      return 'json';
    default:
      return 'text';
  }
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** How column `name` of DuckDB type `duckType` is selected, so its JS value coerces exactly to its logical type. */
export function selectExpr(name: string, duckType: string): string {
  const c = quoteIdent(name);
  const type = logicalType(duckType);
  // An array as JSON text: the array coercer reads its elements exactly (numbers as their digits).
  if (elementType(type)) return `to_json(${c})::VARCHAR`;
  switch (type) {
    case 'json':
      return `to_json(${c})::VARCHAR`;
    case 'decimal': case 'uuid': case 'text':
      return `${c}::VARCHAR`;
    case 'date':
      return `strftime(${c}, '%Y-%m-%d')`;
    case 'timestamp':
      // TIMESTAMP WITH TIME ZONE is an instant; plain TIMESTAMP is taken as UTC. Microseconds are kept.
      return `strftime(${c}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')`;
    default:
      return c;
  }
}
