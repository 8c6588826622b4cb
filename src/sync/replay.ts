// A table rebuilt from the change log (`sluice changes replay`): each key's last event up to a point, written into an
// empty table on one side in one transaction — the table as the sync left it then. The log keeps rows by side a's
// column names and spelling; they are written as the sync writes side a's rows into that side (../write-values.ts).
import { RunError } from '../core/errors.js';
import { tableOn, type SyncTable } from '../config/sync-spec.js';
import type { ChangeLog } from './change-log.js';
import { pairColumns } from './diff.js';
import { WRITE_BATCH, type Side } from './side.js';
import { writeValue } from './write-values.js';

export interface Replayed { table: string; side: 'a' | 'b'; into: string; rows: number; until: number }

/** Replays `t`'s log into table `into` (default: the table itself) of side `to`, which must be empty. */
export async function replayTable(log: ChangeLog, sides: Record<'a' | 'b', Side>, t: SyncTable, to: 'a' | 'b', o: { sync: string; into?: string; until?: number }): Promise<Replayed> {
  const p = await pairColumns(sides.a, sides.b, t);
  const side = sides[to];
  const into = o.into ?? tableOn(t, to);
  const columns = into === tableOn(t, to) ? p[to] : await side.columns(into);
  if (!columns.length) throw new RunError(`table ${into} not found on side ${to} (${side.type})`);
  // The log's columns (side a's) matched by name, as sync pairs them; key first, as the writer takes them.
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const written = p.a.filter((c) => byName.has(c.name.toLowerCase()));
  const missing = p.a.slice(0, p.keyParts).filter((c) => !byName.has(c.name.toLowerCase()));
  if (missing.length) throw new RunError(`table ${into} on side ${to} has no column ${missing.map((c) => c.name).join(', ')} (the key)`);
  const target = written.map((c) => byName.get(c.name.toLowerCase())!);
  const key = target.slice(0, p.keyParts);
  for await (const page of side.scan(into, key, key)) {
    if (page.length) throw new RunError(`replay rebuilds a table from nothing: ${into} on side ${to} holds rows; empty it, or name an empty one with --into`);
    break;
  }
  const until = o.until ?? Number.MAX_SAFE_INTEGER;
  // Marked as the sync's own write: a stream reading that side passes it by instead of sending it to the other.
  const tx = await side.transaction({ sync: o.sync, stream: 'replay' });
  let rows = 0;
  try {
    const w = await tx.table(into, target, key);
    let batch: unknown[][] = [];
    for (const image of log.replay(p.nameA, until)) {
      batch.push(written.map((c, i) => writeValue(image[c.name] ?? null, c, target[i], side.type)));
      if (batch.length >= WRITE_BATCH) {
        await w.upsert(batch);
        rows += batch.length;
        batch = [];
      }
    }
    if (batch.length) await w.upsert(batch);
    rows += batch.length;
    await tx.commit();
  } catch (e) {
    await tx.rollback().catch(() => undefined);
    throw e;
  }
  return { table: p.nameA, side: to, into, rows, until: Math.min(until, log.lastSeq()) };
}
