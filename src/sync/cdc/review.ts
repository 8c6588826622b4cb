// manual-review in a stream: a key changed on both sides is written nowhere; both versions go to the sync's conflict
// log (../conflicts.ts), as the hash sync keeps them, and each side keeps its own until a person takes one (`sluice
// conflicts resolve <file> <id> --take a|b`). Both streams meet the same conflict from their sides and record it once
// (the same pair of versions has the same hashes); a key changed again meanwhile is a new version of the conflict.
//
// A stream meets a key again only when it changes again, so a decision is carried out by `applyResolved`, at a
// stream's start and then with every heartbeat: the side taken is read, and written into the other side in a
// transaction marked as the sync's own (no echo) — if both are still the versions the person saw; otherwise the
// stream meets the newer version and shows it again.
import { tableOn, type SyncTable } from '../../config/sync-spec.js';
import type { ConflictLog } from '../conflicts.js';
import type { PairedColumns } from '../diff.js';
import { rowHash } from '../guard.js';
import type { Side, SyncMark } from '../side.js';
import { syncText } from '../values.js';
import { writeValue } from '../write-values.js';

/**
 * What a stream tells the log of a conflict: side a's and side b's rows, named by side a's columns, under the key as
 * `key` spells it (diff.ts keyReader: as a hash sync records its conflicts, and the text the key is looked up by).
 */
export interface ReviewTable { table: string; names: string[]; keyParts: number; key(row: readonly unknown[]): (string | null)[] }

const printable = (t: ReviewTable, row: readonly unknown[]) => Object.fromEntries(t.names.slice(t.keyParts).map((c, i) => [c, syncText(row[t.keyParts + i])]));

/**
 * A conflict under manual-review met by a stream (`x`: side a's row, `y`: side b's): the side a person took for these
 * very versions (the conflict is then closed), or undefined — recorded, and held.
 */
export function review(log: ConflictLog, t: ReviewTable, x: readonly unknown[], y: readonly unknown[]): 'a' | 'b' | undefined {
  const spelled = t.key(x);
  const key = Object.fromEntries(t.names.slice(0, t.keyParts).map((c, i) => [c, spelled[i]]));
  const decided = log.meet(t.table, key, { row: printable(t, x), hash: rowHash(x, t.keyParts) }, { row: printable(t, y), hash: rowHash(y, t.keyParts) });
  if (!decided) return undefined;
  log.applied(decided.id);
  return decided.take;
}

/**
 * Carries out the decisions taken on conflicts of these tables: the side taken written into the other, where both
 * still hold the versions shown. Returns how many were written.
 */
export async function applyResolved(log: ConflictLog, sides: Record<'a' | 'b', Side>, tables: { t: SyncTable; p: PairedColumns }[], mark: SyncMark): Promise<number> {
  let written = 0;
  for (const c of log.list()) {
    // Versions sealed with a key not configured cannot be compared with the sides: left for a process that has it.
    if (!c.take || c.undecryptable) continue;
    const found = tables.find((x) => x.p.nameA === c.table);
    if (!found) continue;
    const { t, p } = found;
    const n = p.keyParts;
    const from = c.take;
    const to = from === 'a' ? 'b' : 'a';
    const keyValues = p.a.slice(0, n).map((col) => c.key[col.name]);
    const source = await sides[from].transaction();
    try {
      const [row] = await (await source.table(tableOn(t, from), p[from], p[from].slice(0, n))).read([keyValues]);
      const target = await sides[to].transaction(mark);
      try {
        const w = await target.table(tableOn(t, to), p[to], p[to].slice(0, n));
        const [cur] = await w.read([keyValues]);
        const [shown, other] = from === 'a' ? [c.a, c.b] : [c.b, c.a];
        // Still the versions the person saw (by content: their hashes are kept with the record's texts).
        const same = (r: unknown[] | undefined, text: Record<string, string | null> | null) =>
          (r === undefined ? text === null : text !== null && p.a.slice(n).every((col, i) => syncText(r[n + i]) === text[col.name]));
        if (same(row, shown) && same(cur, other)) {
          if (row) await w.upsert([row.map((v, i) => writeValue(v, p[from][i], p[to][i], sides[to].type))]);
          else await w.remove([keyValues]);
          await target.commit();
          log.applied(c.id);
          written++;
        } else await target.rollback();
      } catch (e) {
        await target.rollback().catch(() => undefined);
        throw e;
      }
    } finally {
      await source.rollback().catch(() => undefined);
    }
  }
  return written;
}
