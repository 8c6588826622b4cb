// Retention of a sync's change log (./change-log.ts): events older than a horizon go, but replay of the table as it
// is now must still work, so each key keeps its last event that says what the table holds (ChangeLog.latest reads
// exactly those). A key whose last such event is an old delete goes entirely: replay leaves it out either way.
// Entries of a transaction still being read under a temporary name (`~…`, ./cdc/stream-log.ts) are never touched.
import type { SqliteDatabase } from '../core/sqlite-driver.js';

/** Events deleted per transaction: a sync appending to the same file waits on one chunk, not on the whole pass. */
const CHUNK = 5000;

const COMMITTED = (alias: string) => `(${alias}.position IS NULL OR ${alias}.position NOT LIKE '~%')`;

/**
 * An event `c` the horizon removes: old and committed, and either superseded (it says nothing of the table, or a later
 * committed event of its key does) or its key's last word, a delete, with nothing of the key left after the pass.
 */
const PRUNABLE = `c.at < :before AND ${COMMITTED('c')} AND (
  c.effective = 0
  OR EXISTS (SELECT 1 FROM change_log l WHERE l.tbl = c.tbl AND l.key = c.key AND l.seq > c.seq AND l.effective = 1 AND ${COMMITTED('l')})
  OR (c.op = 'delete' AND NOT EXISTS (SELECT 1 FROM change_log s WHERE s.tbl = c.tbl AND s.key = c.key AND s.seq <> c.seq
    AND (s.at >= :before OR NOT ${COMMITTED('s')}))))`;

/** Deletes (or, dry, counts) the change-log events older than `before` that replay of the latest state does not need. */
export async function pruneChangeLog(db: SqliteDatabase, before: Date, opts: { dryRun?: boolean } = {}): Promise<number> {
  // Each event asks about the other events of its key: without this index a pass would read the log once per event.
  db.exec('CREATE INDEX IF NOT EXISTS change_log_key ON change_log (tbl, key, seq)');
  const at = before.toISOString();
  if (opts.dryRun) return db.prepare(`SELECT COUNT(*) FROM change_log c WHERE ${PRUNABLE}`).pluck().get({ before: at }) as number;
  // Ascending windows of numbers: a key's earlier events go before (or with) its old delete, so none of them is ever
  // left as the key's last word once that delete is gone.
  const { first, last } = db.prepare('SELECT min(seq) AS first, max(seq) AS last FROM change_log WHERE at < ?').get(at) as { first: number | null; last: number | null };
  const remove = db.prepare(`DELETE FROM change_log WHERE seq IN (SELECT c.seq FROM change_log c WHERE c.seq > :from AND c.seq <= :to AND ${PRUNABLE})`);
  let removed = 0;
  for (let from = (first ?? 1) - 1; last !== null && from < last; from += CHUNK) {
    removed += remove.run({ before: at, from, to: Math.min(from + CHUNK, last) }).changes;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return removed;
}
