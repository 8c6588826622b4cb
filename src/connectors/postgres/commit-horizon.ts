// The commit horizon of an incremental read: the start of the oldest open transaction that has written to the table.
// A row stamped by its transaction's clock (`DEFAULT now()`, `current_timestamp`) carries that transaction's start
// time but becomes visible only when it commits, possibly after later-stamped rows were read and the watermark moved
// past it: the next run, continuing after the watermark, would never see it (Airbyte answers with an xmin mode, dlt
// with a `lag` window). Reading a date or timestamp cursor only below the horizon leaves such rows for a later run.
//
// A transaction that has written to the table holds a write lock on it until it ends, so the writers are found in
// pg_locks; for a `query` stream, whose tables are not known, every open transaction of the database counts, as do
// prepared transactions. Not covered: a transaction that writes its first row to the table later still, stamped with
// its earlier start (a `lookback` window covers that). The start of another role's transaction is visible only to a
// role with pg_read_all_stats (or a superuser); a hidden one cannot hold the horizon, and the read says so.
import type pg from 'pg';
import type { Logger } from '../../core/logger.js';
import { quoteIdent } from '../sql/quote.js';

const DATE_OR_TIME = new Set([1082 /* date */, 1114 /* timestamp */, 1184 /* timestamptz */]);

/** Open transactions a horizon older than this is worth a log line about (they hold back what a run loads). */
const LONG_OPEN_MS = 60_000;

/**
 * The horizon for a read of `cursor` from `from` (a quoted relation or subquery), as timestamptz text for a query
 * parameter; undefined when the cursor is not a date or timestamp, or no other transaction is open.
 */
export async function commitHorizon(
  client: pg.ClientBase, from: string, table: string | undefined, cursor: string, log: Logger,
): Promise<string | undefined> {
  const described = await client.query(`SELECT ${quoteIdent(cursor)} FROM ${from} LIMIT 0`);
  if (!DATE_OR_TIME.has(described.fields[0]?.dataTypeID)) return undefined;
  // The sessions that count: those holding a write lock on the table, or any client session for a query.
  const sessions = table === undefined
    ? `SELECT a.xact_start, a.query FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' AND a.state <> 'idle'`
    : `SELECT a.xact_start, a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.relation = $1::regclass AND a.pid <> pg_backend_pid()
          AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')`;
  const r = await client.query<{ horizon: string | null; hidden: number }>(`
    WITH s AS (${sessions})
    SELECT least((SELECT min(xact_start) FROM s), (SELECT min(prepared) FROM pg_prepared_xacts WHERE database = current_database()))::text AS horizon,
      (SELECT count(*)::int FROM s WHERE query = '<insufficient privilege>') AS hidden`, table === undefined ? [] : [table]);
  const { horizon, hidden } = r.rows[0];
  if (hidden > 0) {
    log.warn({ sessions: hidden }, 'cannot see the transactions of other roles\' sessions (grant pg_read_all_stats): a row they '
      + 'commit late, stamped before rows read now, may be missed');
  }
  if (horizon === null) return undefined;
  const age = Date.now() - Date.parse(horizon.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  if (age > LONG_OPEN_MS) {
    log.info({ open_since: horizon }, 'a transaction open since then holds back newer rows: they load once it ends');
  }
  return horizon;
}
