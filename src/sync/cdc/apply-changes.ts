// A stream of source changes applied to the other side. The rows of one or more source transactions go into one
// marked transaction of the target (../side.ts), committed with the position they reach; the source is told only after
// that commit. So a crash anywhere loses nothing (the source resends what it was not told) and applies nothing twice
// (the reader passes by what the target's position covers).
//
// Batching follows the load: a transaction is committed as soon as no further change is waiting (low latency when
// quiet), or once it holds MAX_CHANGES (throughput when busy) — always at a source transaction's end. Consecutive
// changes of one table and kind go as one statement, WRITE_BATCH at most, the last change of a key winning.
//
// Two-way tables: the other side is written too, by its own stream, so a change is applied only over the row it
// changed (the source logs the row before it). The target's rows are read again, locked, and per key:
// - the target already holds the new row (an echo, or the same change made on both sides): nothing to do;
// - the target holds the row before the change (or none, for an insert): written;
// - otherwise the key changed on both sides — a conflict, settled by the table's rule (../conflict-rules.ts) the way
//   the other stream settles it from its side, so both sides end the same: the preferred side's row stays or is
//   written; merge takes each field changed on one side only and the preferred row's for fields changed on both, the
//   row before the change as the base; an update against a delete keeps the update; manual-review writes nothing and
//   keeps both versions for a person (./review.ts).
//
// Every change read goes into the sync's change log (../change-log.ts) with what became of it, just before the target
// transaction that holds it commits.
import type { SyncTable } from '../../config/sync-spec.js';
import type { ChangeLog, ChangeOrigin, LoggedChange } from '../change-log.js';
import type { ConflictLog } from '../conflicts.js';
import { preferred, ruleFor } from '../conflict-rules.js';
import { fieldHashes, mergeFields } from '../field-merge.js';
import { currentRows, keyText, rowHash } from '../guard.js';
import { WRITE_BATCH, type Side, type SideColumn, type SideTransaction, type SyncMark, type TableWriter } from '../side.js';
import { markDeleted, type SoftDeletes } from '../soft-delete.js';
import { rawHash } from '../values.js';
import { writeValue } from '../write-values.js';
import type { CdcEvent, ChangeReader } from './change-queue.js';
import { review, type ReviewTable } from './review.js';
import { StreamLog, type LogEntry } from './stream-log.js';

/** A table as the applier writes it: its name on the target and both sides' columns, key first. */
export interface AppliedTable {
  target: string;
  from: SideColumn[];
  to: SideColumn[];
  keyParts: number;
  /**
   * A two-way table: which side the stream reads, the table's rule, its column's index (-1: none), and the conflict
   * log keys held for review go to.
   */
  twoWay?: { from: 'a' | 'b'; conflict: SyncTable['conflict']; column: number; review?: ConflictLog };
  /** How a conflict held for review names the table and its columns. */
  review?: ReviewTable;
  /** Soft deletes: a delete marks the target's row (../soft-delete.ts), and a marked row counts as none. */
  soft?: SoftDeletes;
  /**
   * How the change log names the table and the stream's sides, a row as it keeps it (side a's spelling), and a row's
   * key as the log and the base spell it (diff.ts keyReader: a hash sync meets the same key text).
   */
  log: {
    table: string; from: 'a' | 'b'; to: 'a' | 'b'; image(row: unknown[], spelledBy: 'from' | 'to'): Record<string, unknown>;
    key(row: unknown[]): (string | null)[];
  };
  /** A row (source spelling) of a data subject erased from the sync (../suppressed.ts): not applied, not logged. */
  suppressed?: (row: readonly unknown[]) => boolean;
}

export interface ApplyCounts {
  transactions: number;
  upserted: number;
  removed: number;
  /** Target transactions committed. */
  commits: number;
  /** Two-way: keys changed on both sides, settled by the rule; of them, an update against a delete; merged; held for review. */
  conflicts: number;
  update_delete: number;
  merged: number;
  held: number;
}

/** A change as it waits in a statement: the last row of its key, the row before the first, and their log entries. */
interface Pending { row: unknown[]; old?: unknown[]; logged: LogEntry[] }

/**
 * A two-way change's outcome on the target: a row to write (target spelling), the key removed, or nothing; and where
 * the table's content came from — this side, both (the target already held it), or a merge (`merged`: the row).
 */
interface Decision { write?: unknown[] | 'remove'; origin: ChangeOrigin; merged?: unknown[] }

function decide(t: AppliedTable, op: 'upsert' | 'remove', p: Pending, cur: unknown[] | undefined, engine: Side['type'], counts: ApplyCounts): Decision {
  const n = t.keyParts;
  const src = op === 'upsert' ? p.row : undefined;
  const convert = (v: unknown, i: number) => writeValue(v, t.from[i], t.to[i], engine);
  const self = t.log.from;
  if (rowHash(cur, n) === rowHash(src, n) && (cur === undefined) === (src === undefined)) return { origin: 'both' };
  const agreed = p.old ? cur !== undefined && rowHash(cur, n) === rowHash(p.old, n) : cur === undefined;
  if (agreed) return { write: src ? src.map(convert) : 'remove', origin: self };
  counts.conflicts++;
  if (!src || !cur) {
    // An update against a delete: the update is kept (here, or written back where it was deleted).
    counts.update_delete++;
    return src ? { write: src.map(convert), origin: self } : { origin: self };
  }
  const { from, conflict, column } = t.twoWay!;
  const [x, y] = from === 'a' ? [src, cur] : [cur, src];
  const strategy = ruleFor(conflict, column, x, y);
  if (strategy === 'manual-review') {
    // Held until a person takes a side; their choice, once made for these versions, is carried out here.
    const take = review(t.twoWay!.review!, t.review!, x, y);
    if (!take) counts.held++;
    return take === from ? { write: src.map(convert), origin: self } : { origin: self };
  }
  const prefer = preferred(strategy, column, x, y);
  if (strategy === 'merge' && p.old) {
    counts.merged++;
    const m = mergeFields(x, y, n, fieldHashes(p.old, n), prefer);
    const merged = cur.map((v, i) => (i >= n && m.take[i - n] === from ? convert(src[i], i) : v));
    return { ...(rowHash(merged, n) === rowHash(cur, n) ? {} : { write: merged }), origin: 'merge', merged };
  }
  return prefer === from ? { write: src.map(convert), origin: self } : { origin: self };
}

/** What the log says of a change once decided (`d`): one-way changes are always written. */
function settle(t: AppliedTable, p: Pending, d: Decision): void {
  for (const e of p.logged) {
    const c = e.change;
    c.origin = d.origin;
    c.applied = d.write ? t.log.to : 'none';
    if (d.merged && c.op !== 'delete') {
      c.after = rawHash(d.merged, t.keyParts);
      c.row = t.log.image(d.merged, 'to');
    } else if (c.op !== 'delete') c.row = t.log.image(e.source, 'from');
  }
}

const MAX_CHANGES = 20_000;
/** A stream's transactions hold at most MAX_CHANGES: their writes may wait for the commit, one round trip in all. */
const DEFER = { defer: true };

export async function applyChanges(reader: ChangeReader, into: Side, mark: SyncMark, tables: Map<string, AppliedTable>,
  o: { untilCaughtUp?: boolean; onCommit?: (counts: ApplyCounts, position: string) => void; log?: ChangeLog } = {}): Promise<ApplyCounts> {
  const counts: ApplyCounts = { transactions: 0, upserted: 0, removed: 0, commits: 0, conflicts: 0, update_delete: 0, merged: 0, held: 0 };
  let tx: SideTransaction | undefined;
  let writers = new Map<string, TableWriter>();
  let inTx = 0;
  /** The current statement's changes, by key text: one table, one kind. */
  let batch: { table: string; op: 'upsert' | 'remove'; rows: Map<string, Pending> } | undefined;
  /** The last source commit handed on and not yet kept on the target. */
  let pending: string | undefined;
  const log = o.log && new StreamLog(o.log, mark.stream, o.log.run);

  const flush = async () => {
    if (!batch || !tx) return;
    const t = tables.get(batch.table)!;
    let w = writers.get(batch.table);
    if (!w) writers.set(batch.table, (w = await tx.table(t.target, t.to, t.to.slice(0, t.keyParts))));
    const convert = (row: unknown[]) => row.map((v, i) => writeValue(v, t.from[i], t.to[i], into.type));
    const changes = [...batch.rows.values()];
    const op = batch.op;
    let writes: unknown[][];
    if (!t.twoWay) {
      writes = changes.map((p) => convert(p.row));
      if (o.log) for (const p of changes) settle(t, p, { write: p.row, origin: t.log.from });
    } else {
      const now = await currentRows(w, changes.map((p) => convert(p.row.slice(0, t.keyParts))), t.keyParts);
      const seen = (row: unknown[] | undefined) => (row && t.soft?.marked(row) ? undefined : row);
      const decided = changes.map((p) => decide(t, op, p, seen(now.get(keyText(p.row, t.keyParts))), into.type, counts));
      if (o.log) changes.forEach((p, i) => settle(t, p, decided[i]));
      writes = op === 'upsert' ? decided.flatMap((d) => (Array.isArray(d.write) ? [d.write] : []))
        : changes.filter((_, i) => decided[i].write === 'remove').map((p) => convert(p.row));
    }
    if (writes.length) {
      await (op === 'upsert' ? w.upsert(writes) : t.soft ? markDeleted(w, writes, t.to, t.keyParts, t.soft, into.type) : w.remove(writes));
    }
    batch = undefined;
  };
  const commit = async (position: string) => {
    await flush();
    const t = tx ?? await into.transaction(mark, DEFER);
    tx = undefined;
    writers = new Map();
    inTx = 0;
    const written = log?.beforeCommit() ?? [];
    try {
      await t.commit(position);
    } catch (e) {
      log?.failed(written);
      throw e;
    }
    counts.commits++;
    pending = undefined;
    reader.ack(position);
    o.onCommit?.(counts, position);
  };

  try {
    for (let e = await reader.next(); e; e = await reader.next()) {
      if (e.kind === 'change') {
        const t = tables.get(e.table);
        if (!t || t.suppressed?.(e.row)) continue;
        if (batch && (batch.table !== e.table || batch.op !== e.op || batch.rows.size >= WRITE_BATCH)) {
          await flush();
          // Every entry is decided now: a large source transaction's are written as it goes.
          log?.relieve();
        }
        tx ??= await into.transaction(mark, DEFER);
        batch ??= { table: e.table, op: e.op, rows: new Map() };
        const k = keyText(e.row, t.keyParts);
        // A key changed twice in one statement: the last row, over the row before the first change.
        const earlier = batch.rows.get(k);
        const entry = log?.add(logChange(t, e), e.row);
        batch.rows.set(k, {
          row: e.row, ...(earlier ? (earlier.old ? { old: earlier.old } : {}) : e.old ? { old: e.old } : {}),
          logged: entry ? [...(earlier?.logged ?? []), entry] : [],
        });
        inTx++;
        if (e.op === 'upsert') counts.upserted++;
        else counts.removed++;
      } else if (e.kind === 'commit') {
        counts.transactions++;
        pending = e.position;
        log?.sourceCommit(e.position);
        if (tx && (!reader.ready() || inTx >= MAX_CHANGES)) await commit(e.position);
      } else if (e.kind === 'heartbeat') {
        // Nothing open: the source's position is kept (and the slot moves on) even when no change is ours.
        if (!tx) await commit(e.position);
      } else {
        if (pending) await commit(pending);
        if (o.untilCaughtUp) break;
      }
    }
    if (tx && pending) await commit(pending);
    return counts;
  } finally {
    await (tx as SideTransaction | undefined)?.rollback().catch(() => undefined);
  }
}

/** What the change log says of a change before it is decided: written where the stream goes unless its decision says otherwise. */
function logChange(t: AppliedTable, e: Extract<CdcEvent, { kind: 'change' }>): LoggedChange {
  const n = t.keyParts;
  return {
    table: t.log.table, key: t.log.key(e.row), op: e.op === 'remove' ? 'delete' : e.insert ? 'insert' : 'update',
    // Hashes of the rows as the source spells them: making every value comparable first halved a stream's throughput.
    origin: t.log.from, applied: t.log.to, before: e.old ? rawHash(e.old, n) : null, after: e.op === 'remove' ? null : rawHash(e.row, n),
  };
}
