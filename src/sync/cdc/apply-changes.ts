// A stream of source changes applied to the other side. The rows of one or more source transactions go into one
// marked transaction of the target (../side.ts), committed with the position they reach; the source is told only after
// that commit. So a crash anywhere loses nothing (the source resends what it was not told) and applies nothing twice
// (the reader passes by what the target's position covers).
//
// Batching follows the load: a transaction is committed as soon as no further change is waiting (low latency when
// quiet), or once it holds MAX_CHANGES (throughput when busy) — always at a source transaction's end. Consecutive
// changes of one table and kind go as one statement, WRITE_BATCH at most, the last change of a key winning.
import { WRITE_BATCH, type Side, type SideColumn, type SideTransaction, type SyncMark, type TableWriter } from '../side.js';
import { syncText } from '../values.js';
import { writeValue } from '../write-values.js';
import type { ChangeReader } from './change-queue.js';

/** A table as the applier writes it: its name on the target and both sides' columns, key first. */
export interface AppliedTable {
  target: string;
  from: SideColumn[];
  to: SideColumn[];
  keyParts: number;
}

export interface ApplyCounts {
  transactions: number;
  upserted: number;
  removed: number;
  /** Target transactions committed. */
  commits: number;
}

const MAX_CHANGES = 20_000;

export async function applyChanges(reader: ChangeReader, into: Side, mark: SyncMark, tables: Map<string, AppliedTable>,
  o: { untilCaughtUp?: boolean; onCommit?: (counts: ApplyCounts, position: string) => void } = {}): Promise<ApplyCounts> {
  const counts: ApplyCounts = { transactions: 0, upserted: 0, removed: 0, commits: 0 };
  let tx: SideTransaction | undefined;
  let writers = new Map<string, TableWriter>();
  let inTx = 0;
  /** The current statement's rows, by key text: one table, one kind. */
  let batch: { table: string; op: 'upsert' | 'remove'; rows: Map<string, unknown[]> } | undefined;
  /** The last source commit handed on and not yet kept on the target. */
  let pending: string | undefined;

  const flush = async () => {
    if (!batch || !tx) return;
    const t = tables.get(batch.table)!;
    let w = writers.get(batch.table);
    if (!w) writers.set(batch.table, (w = await tx.table(t.target, t.to, t.to.slice(0, t.keyParts))));
    const rows = [...batch.rows.values()];
    await (batch.op === 'upsert' ? w.upsert(rows) : w.remove(rows));
    batch = undefined;
  };
  const commit = async (position: string) => {
    await flush();
    const t = tx ?? await into.transaction(mark);
    tx = undefined;
    writers = new Map();
    inTx = 0;
    await t.commit(position);
    counts.commits++;
    pending = undefined;
    reader.ack(position);
    o.onCommit?.(counts, position);
  };

  try {
    for (let e = await reader.next(); e; e = await reader.next()) {
      if (e.kind === 'change') {
        const t = tables.get(e.table);
        if (!t) continue;
        if (batch && (batch.table !== e.table || batch.op !== e.op || batch.rows.size >= WRITE_BATCH)) await flush();
        tx ??= await into.transaction(mark);
        batch ??= { table: e.table, op: e.op, rows: new Map() };
        const row = e.row.map((v, i) => writeValue(v, t.from[i], t.to[i], into.type));
        batch.rows.set(JSON.stringify(e.row.slice(0, t.keyParts).map(syncText)), row);
        inTx++;
        if (e.op === 'upsert') counts.upserted++;
        else counts.removed++;
      } else if (e.kind === 'commit') {
        counts.transactions++;
        pending = e.position;
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
