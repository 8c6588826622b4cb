// The change log (event sourcing): every change a sync makes to a table's agreed content is appended — the key, the
// operation, where it came from (side a, side b, both sides already holding it, a field-level merge), where it was
// written, the content hashes before and after, the run, and the row after it (side a's spelling, by column name).
// Replaying the log — the last event of each key, up to a point — gives the table as the sync left it then, so a
// lost or damaged target is rebuilt from the log alone (`sluice changes replay`).
//
// Kept in the sync's own file beside its base (./base.ts):
// - the hash sync (./sync-table.ts) appends in the base's transaction: a sync that fails logs nothing, and the next one
//   works the same changes out again — a change one side already committed is then found on both sides and logged so;
// - a stream (./cdc/stream-log.ts) appends a target transaction's events just before that transaction commits, each
//   named by the source commit it came with and its place in it: a stream that crashes after logging reads the same
//   changes again and logs them over the same entries, never twice.
//
// With a key (SLUICE_ENCRYPTION_KEY, ../core/at-rest.ts) the row images are stored sealed (AES-256-GCM), whatever the
// columns: a synced table's row is as personal as its least tagged column, and the log outlives the rows it copied.
// Keys, operations and hashes stay plain: they are what the log is searched and replayed by.
import { ConfigError } from '../core/errors.js';
import { seal, unseal, UnsealError } from '../core/at-rest.js';
import type { SqliteDatabase } from '../core/sqlite-driver.js';
import { fromJson, hexBytes, toJson } from './row-json.js';

export type ChangeOp = 'insert' | 'update' | 'delete';
/** a or b: that side changed the key; both: both sides already held the new content; merge: merged field by field. */
export type ChangeOrigin = 'a' | 'b' | 'both' | 'merge';
/** The sides the change was written into (none: nowhere — the other side's row was kept, or both held it). */
export type ChangeApplied = 'a' | 'b' | 'both' | 'none';

export interface LoggedChange {
  table: string;
  /** The key's values as both sides compare them. */
  key: (string | null)[];
  op: ChangeOp;
  origin: ChangeOrigin;
  applied: ChangeApplied;
  /** Content hashes (../values.ts) of the row before and after; null where there was none. */
  before: number | null;
  after: number | null;
  /** The row after the change, side a's columns and spelling; absent for a delete. */
  row?: Record<string, unknown>;
}

export interface ChangeRecord extends LoggedChange {
  seq: number;
  at: string;
  run: string;
  /** A stream's events: the stream and the source commit they came with. */
  stream?: string;
  position?: string;
  /** The row image is sealed with a key this process does not have: not shown (`row` absent). */
  undecryptable?: true;
}

interface Row {
  seq: number; at: string; run: string; tbl: string; key: string; op: ChangeOp; origin: ChangeOrigin; applied: ChangeApplied;
  before_hash: number | null; after_hash: number | null; row: string | null; stream: string | null; position: string | null;
}

/** Whether an event says what the table holds after it: a change written nowhere (the other side's row won) does not. */
const effective = (c: LoggedChange) => c.applied !== 'none' || c.origin === 'both' || c.origin === 'merge';

/** A stored row image, unsealed; listed as undecryptable (not shown) when its key is not configured. */
function shownImage(stored: string): { row: Record<string, unknown> } | { undecryptable: true } {
  try {
    return { row: fromJson<Record<string, unknown>>(unseal(stored)) };
  } catch (e) {
    if (e instanceof UnsealError) return { undecryptable: true };
    throw e;
  }
}

/**
 * A stored row image that something is rebuilt from (replay, a base folded): without its key nothing is, and the
 * message names the variable to set (ConfigError: exit 2, before anything is committed).
 */
export function openImage(stored: string, table: string): Record<string, unknown> {
  try {
    return fromJson<Record<string, unknown>>(unseal(stored));
  } catch (e) {
    if (e instanceof UnsealError) throw new ConfigError(`the change log of ${table}: ${e.message}`, { expected: 'SLUICE_ENCRYPTION_KEY (or SLUICE_ENCRYPTION_KEY_FILE) set to the key the log was written with' });
    throw e;
  }
}

/** A row of `columns` as the log keeps it: by name, bytes as hex. */
export function rowImage(columns: readonly { name: string }[], row: readonly unknown[]): Record<string, unknown> {
  const values = hexBytes(row);
  return Object.fromEntries(columns.map((c, i) => [c.name, values[i]]));
}

export function createChangeLogTable(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS change_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, run TEXT NOT NULL,
      tbl TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, origin TEXT NOT NULL, applied TEXT NOT NULL, effective INTEGER NOT NULL,
      before_hash INTEGER, after_hash INTEGER, row TEXT, stream TEXT, position TEXT, idx INTEGER);
    CREATE UNIQUE INDEX IF NOT EXISTS change_log_source ON change_log (stream, position, idx) WHERE stream IS NOT NULL;`);
}

export interface ChangeFilter { table?: string; key?: (string | null)[]; after?: number; limit?: number }

export class ChangeLog {
  private readonly insert;
  private readonly upsert;

  constructor(private readonly db: SqliteDatabase, readonly run: string, private readonly now: () => Date = () => new Date()) {
    const cols = 'at, run, tbl, key, op, origin, applied, effective, before_hash, after_hash, row, stream, position, idx';
    this.insert = db.prepare(`INSERT INTO change_log (${cols}) VALUES (${cols.split(', ').map(() => '?').join(', ')})`);
    // A stream's event read again after a crash takes its first entry's place (and number).
    this.upsert = db.prepare(`INSERT INTO change_log (${cols}) VALUES (${cols.split(', ').map(() => '?').join(', ')})
      ON CONFLICT (stream, position, idx) WHERE stream IS NOT NULL DO UPDATE SET at = excluded.at, run = excluded.run, op = excluded.op,
        origin = excluded.origin, applied = excluded.applied, effective = excluded.effective, before_hash = excluded.before_hash,
        after_hash = excluded.after_hash, row = excluded.row`);
  }

  private values(c: LoggedChange, at: string, source?: { stream: string; position: string; idx: number }): unknown[] {
    return [at, this.run, c.table, JSON.stringify(c.key), c.op, c.origin, c.applied, effective(c) ? 1 : 0, c.before, c.after,
      c.row ? seal(toJson(c.row)) : null, source?.stream ?? null, source?.position ?? null, source?.idx ?? null];
  }

  /** One event, in whatever transaction the file is in (the hash sync's base transaction). */
  append(c: LoggedChange): void {
    this.insert.run(...this.values(c, this.now().toISOString()));
  }

  /** A stream's events of source commits, in one transaction: `idx` numbers an event within its source commit. */
  appendFrom(stream: string, events: { change: LoggedChange; position: string; idx: number }[]): void {
    if (!events.length) return;
    const at = this.now().toISOString();
    this.db.transaction(() => {
      for (const e of events) this.upsert.run(...this.values(e.change, at, { stream, position: e.position, idx: e.idx }));
    })();
  }

  /** Events in order (`after`: those after that number). */
  list(f: ChangeFilter = {}): ChangeRecord[] {
    const where = ['seq > ?'];
    const args: unknown[] = [f.after ?? 0];
    if (f.table !== undefined) {
      where.push('tbl = ?');
      args.push(f.table);
    }
    if (f.key) {
      where.push('key = ?');
      args.push(JSON.stringify(f.key));
    }
    const rows = this.db.prepare(`SELECT * FROM change_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...args, f.limit ?? -1) as Row[];
    return rows.map((r) => ({
      seq: r.seq, at: r.at, run: r.run, table: r.tbl, key: JSON.parse(r.key) as (string | null)[], op: r.op, origin: r.origin,
      applied: r.applied, before: r.before_hash, after: r.after_hash, ...(r.row === null ? {} : shownImage(r.row)),
      ...(r.stream === null ? {} : { stream: r.stream, position: r.position! }),
    }));
  }

  /**
   * The table as the log has it after event `until` (all: the last): each key's last event that says what the table
   * holds, the keys whose last event is a delete left out. One key at a time, in no particular order.
   */
  *replay(table: string, until = Number.MAX_SAFE_INTEGER): Iterable<Record<string, unknown>> {
    for (const e of this.latest(table, { until })) if (e.row) yield e.row;
  }

  /**
   * Each key's last event that says what the table holds, among events `after` < seq <= `until`: its key and row
   * (none for a delete).
   */
  *latest(table: string, o: { after?: number; until?: number } = {}): Iterable<{ key: (string | null)[]; row?: Record<string, unknown> }> {
    // SQLite takes the other columns from the row holding max(seq) (its documented bare-column rule). A transaction
    // being read under a temporary name (./cdc/stream-log.ts) is not committed yet.
    const rows = this.db.prepare(`SELECT key, op, row, max(seq) FROM change_log WHERE tbl = ? AND effective = 1 AND seq > ? AND seq <= ?
      AND (position IS NULL OR position NOT LIKE '~%') GROUP BY key`).raw(true);
    for (const [key, op, row] of rows.iterate(table, o.after ?? 0, o.until ?? Number.MAX_SAFE_INTEGER) as Iterable<[string, ChangeOp, string | null]>) {
      const image = op !== 'delete' && row !== null ? { row: openImage(row, table) } : {};
      yield { key: JSON.parse(key) as (string | null)[], ...image };
    }
  }

  /** The number of the last event (0: none). */
  lastSeq(): number {
    return (this.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number | null) ?? 0;
  }

  /** The number of the last event at or before `at` (an ISO time), 0 when none. */
  seqAt(at: string): number {
    return (this.db.prepare('SELECT max(seq) FROM change_log WHERE at <= ?').pluck().get(at) as number | null) ?? 0;
  }

  /**
   * A source transaction written as it was read, under a temporary name (./cdc/stream-log.ts), now committed at
   * `position`: entries an earlier attempt left under that position make way.
   */
  rename(stream: string, token: string, position: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM change_log WHERE stream = ? AND position = ?').run(stream, position);
      this.db.prepare('UPDATE change_log SET position = ? WHERE stream = ? AND position = ?').run(position, stream, token);
    })();
  }

  /** Entries a stream wrote under temporary names and never committed (it stopped mid-transaction). */
  dropTemporary(stream: string): void {
    this.db.prepare("DELETE FROM change_log WHERE stream = ? AND position LIKE '~%'").run(stream);
  }

  /** Entries logged for source commits whose target transaction then failed (best effort: a re-read replaces them anyway). */
  forget(stream: string, positions: string[]): void {
    const del = this.db.prepare('DELETE FROM change_log WHERE stream = ? AND position = ?');
    this.db.transaction(() => {
      for (const p of new Set(positions)) del.run(stream, p);
    })();
  }
}
