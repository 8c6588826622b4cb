// The position table a sync keeps on a side it writes into (side.ts POSITIONS): one row per sync and stream. A marked
// transaction writes the row first — the tag a CDC reader of that side recognises as the sync's own write, so a change
// Sluice applied is not read back and sent again — and, when it carries a stream's changes, sets its position (an LSN,
// a binlog file and offset) last, so the rows and the position they reach commit together or not at all.
import type { PositionSql } from './side.js';

export type PositionEngine = 'postgres' | 'mysql' | 'sqlite';

/** The statements for `table` (already quoted) on `engine`. */
export function positionSql(engine: PositionEngine, table: string): PositionSql {
  if (engine === 'postgres') {
    return {
      create: `CREATE TABLE IF NOT EXISTS ${table} (sync text NOT NULL, stream text NOT NULL, position text,
        written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (sync, stream))`,
      tag: `INSERT INTO ${table} (sync, stream) VALUES ($1, $2) ON CONFLICT (sync, stream) DO UPDATE SET written_at = clock_timestamp()`,
      keep: `UPDATE ${table} SET position = $1 WHERE sync = $2 AND stream = $3`,
      read: `SELECT position FROM ${table} WHERE sync = $1 AND stream = $2`,
    };
  }
  if (engine === 'mysql') {
    return {
      create: `CREATE TABLE IF NOT EXISTS ${table} (sync VARCHAR(190) NOT NULL, stream VARCHAR(190) NOT NULL, position TEXT,
        written_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (sync, stream))`,
      // A row updated to the values it has is not written to the binlog: the time moves at least a microsecond.
      tag: `INSERT INTO ${table} (sync, stream) VALUES (?, ?) ON DUPLICATE KEY UPDATE written_at = GREATEST(NOW(6), written_at + INTERVAL 1 MICROSECOND)`,
      keep: `UPDATE ${table} SET position = ? WHERE sync = ? AND stream = ?`,
      read: `SELECT position FROM ${table} WHERE sync = ? AND stream = ?`,
    };
  }
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (sync TEXT NOT NULL, stream TEXT NOT NULL, position TEXT, written_at TEXT, PRIMARY KEY (sync, stream))`,
    tag: `INSERT INTO ${table} (sync, stream, written_at) VALUES (?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))
      ON CONFLICT (sync, stream) DO UPDATE SET written_at = excluded.written_at`,
    keep: `UPDATE ${table} SET position = ? WHERE sync = ? AND stream = ?`,
    read: `SELECT position FROM ${table} WHERE sync = ? AND stream = ?`,
  };
}
