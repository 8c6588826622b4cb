// One table of a sync, once (`sluice sync --once`): both sides and the last agreed base (./base.ts) are read in key
// order together, like `sluice diff`, and each key is decided:
// - the same content on both sides: nothing to do;
// - one way (`a_to_b`, `b_to_a`): the source's row (or its absence) is written into the other side;
// - two way: the side whose content differs from the base changed, and its row goes to the other; a key changed on
//   both sides is a conflict, settled by the table's strategy (a side's delete against the other's update: the update
//   is kept, whatever the strategy — nothing a person wrote is lost to a delete).
// Changes are kept on disk until both sides are read, then each side is written in one transaction, then the new base
// is kept. A failure anywhere keeps the last base: the next sync works out the same changes again, and a change one
// side already committed is then the same content on both sides.
import { RunError } from '../core/errors.js';
import type { SyncTable } from '../config/sync-spec.js';
import type { BaseEntry, SyncBase } from './base.js';
import { rowImage, type ChangeApplied, type ChangeOrigin } from './change-log.js';
import { ChangeSpill, type Change } from './change-spill.js';
import { numericKeyParts, keyReader, pairColumns, Rows } from './diff.js';
import { WRITE_BATCH, type Side, type SideColumn, type SyncMark } from './side.js';
import { fieldHashes, mergeFields, type FieldMerge } from './field-merge.js';
import { currentRows, keyText, rowHash } from './guard.js';
import { markDeleted, softDeletes, type SoftDeletes } from './soft-delete.js';
import { preferred, ruleFor, type Winner } from './conflict-rules.js';
import type { SyncSuppression } from './suppressed.js';
import { compareKeys, contentHash, rawHash, syncText } from './values.js';
import { writeValue } from './write-values.js';

export interface Applied { inserted: number; updated: number; deleted: number }

export interface TableSync {
  table: string;
  rows: { a: number; b: number };
  a_to_b: Applied;
  b_to_a: Applied;
  conflicts: number;
  /** Conflicts where one side deleted and the other updated: the update was kept. */
  update_delete: number;
  unchanged: number;
  /** Keys in conflict held for a person (manual-review): written nowhere until resolved. */
  held: number;
  /** Conflicts merged field by field (merge), the merged row written to both sides. */
  merged: number;
  /** Rows left as they were because they changed after the sync read them (the newer change flows next time). */
  changed_meanwhile: number;
  /** Keys of data subjects erased from the sync (./suppressed.ts) left alone: written nowhere, not logged. */
  suppressed?: number;
  dry_run?: boolean;
}

const applied = (): Applied => ({ inserted: 0, updated: 0, deleted: 0 });

export async function syncTable(a: Side, b: Side, t: SyncTable, base: SyncBase, o: { dryRun?: boolean; mark?: SyncMark; suppressed?: SyncSuppression } = {}): Promise<TableSync> {
  const p = await pairColumns(a, b, t);
  const n = p.keyParts;
  // The column saying which write is later: last-write-wins's, and merge's for fields changed on both sides.
  const lww = t.conflict?.column ? p.a.findIndex((c) => c.name.toLowerCase() === t.conflict!.column!.toLowerCase()) : -1;
  if (t.conflict?.column && lww < 0) {
    throw new RunError(`table ${p.nameA}: the conflict column "${t.conflict.column}" is not on both sides`);
  }
  const result: TableSync = { table: p.nameA, rows: { a: 0, b: 0 }, a_to_b: applied(), b_to_a: applied(), conflicts: 0, update_delete: 0, unchanged: 0, held: 0, merged: 0, changed_meanwhile: 0, ...(o.dryRun ? { dry_run: true } : {}) };
  const into = { a: new ChangeSpill(), b: new ChangeSpill() };
  const merging = t.conflict?.strategy === 'merge';
  const soft = softDeletes(t, p);
  const keyText = keyReader(p);
  const hidden = o.suppressed?.rows(p.nameA, p.a, keyText);
  const numeric = numericKeyParts(p);
  const baseTable = base.table(p.nameA, numeric);
  const old = baseTable.rows();
  try {
    const left = new Rows(a.scan(p.nameA, p.a, p.a.slice(0, n)));
    const right = new Rows(b.scan(p.nameB, p.b, p.b.slice(0, n)));
    let h = old.next();
    /** Writes the winner's row (or its absence) into the other side; returns the row in side a's spelling. */
    const write = async (winner: Winner, x: unknown[] | undefined, y: unknown[] | undefined): Promise<unknown[] | undefined> => {
      const [row, other, target, count, from, to, engine] = winner === 'a'
        ? [x, y, into.b, result.a_to_b, p.a, p.b, b.type] : [y, x, into.a, result.b_to_a, p.b, p.a, a.type];
      const expect = rowHash(other, n);
      if (row) {
        const written = row.map((v, i) => writeValue(v, from[i], to[i], engine));
        await target.add({ op: 'upsert', row: written, expect });
        if (other) count.updated++;
        else count.inserted++;
        return winner === 'a' ? row : written;
      }
      if (other) {
        await target.add({ op: 'remove', key: other.slice(0, n), expect });
        count.deleted++;
      }
      return undefined;
    };
    // The change log: what each key's agreed content became, and from where (./change-log.ts).
    const log = o.dryRun ? undefined : base.changes;
    const logChange = (key: (string | null)[], e: BaseEntry | undefined, next: BaseEntry | undefined, origin: ChangeOrigin, applied: ChangeApplied, rowA: unknown[] | undefined) => {
      if (!log || (e?.hn ?? null) === (next?.hn ?? null)) return;
      log.append({
        table: p.nameA, key, op: !e ? 'insert' : !next ? 'delete' : 'update', origin, applied, before: e?.hn ?? null, after: next?.hn ?? null,
        ...(next && rowA ? { row: rowImage(p.a, rowA) } : {}),
      });
    };
    const gone = (e: BaseEntry) => {
      baseTable.remove(e.key);
      logChange(e.key, e, undefined, 'both', 'none', undefined);
    };
    // Keys with an open conflict record (few): one that comes to agree by itself has its record closed.
    const openConflicts = new Set(base.conflicts.list({ table: p.nameA }).map((c) => JSON.stringify(c.key)));
    const keyObject = (key: (string | null)[]) => Object.fromEntries(p.a.slice(0, n).map((c, i) => [c.name, key[i]]));
    const printable = (row: unknown[] | undefined, cols: SideColumn[]) =>
      (row ? Object.fromEntries(cols.slice(n).map((c, i) => [c.name, syncText(row[n + i])])) : null);
    const conflict = (key: (string | null)[], sa: SideRow, sb: SideRow, e: BaseEntry | undefined): Winner | 'hold' | FieldMerge => {
      const [x, y] = [sa.row, sb.row];
      result.conflicts++;
      if (!x || !y) {
        result.update_delete++;
        return x ? 'a' : 'b';
      }
      const strategy = ruleFor(t.conflict, lww, x, y);
      if (strategy === 'manual-review') {
        const decided = base.conflicts.meet(p.nameA, keyObject(key), { row: printable(x, p.a), hash: sa.content! }, { row: printable(y, p.a), hash: sb.content! });
        if (!decided) {
          result.held++;
          return 'hold';
        }
        base.conflicts.applied(decided.id);
        return decided.take;
      }
      const prefer = preferred(strategy, lww, x, y);
      if (strategy === 'merge' && e?.hf) {
        const m = mergeFields(x, y, n, e.hf, prefer);
        result.merged++;
        return m;
      }
      return prefer;
    };
    /**
     * A merged row written into both sides: each side's own values where it is taken, the other's converted. Returns
     * it as read (what its hash is of) and in side a's spelling.
     */
    const writeMerged = async (m: FieldMerge, x: unknown[], y: unknown[]): Promise<{ merged: unknown[]; forA: unknown[] }> => {
      const merged = x.map((v, i) => (i < n || m.take[i - n] === 'a' ? v : y[i]));
      const forA = x.map((v, i) => (i < n || m.take[i - n] === 'a' ? v : writeValue(y[i], p.b[i], p.a[i], a.type)));
      const forB = y.map((v, i) => (i >= n && m.take[i - n] === 'a' ? writeValue(x[i], p.a[i], p.b[i], b.type) : v));
      if (m.changesA) {
        await into.a.add({ op: 'upsert', row: forA, expect: rowHash(x, n) });
        result.b_to_a.updated++;
      }
      if (m.changesB) {
        await into.b.add({ op: 'upsert', row: forB, expect: rowHash(y, n) });
        result.a_to_b.updated++;
      }
      return { merged, forA };
    };
    const fields = (row: unknown[] | undefined) => (merging && row ? fieldHashes(row, n) : null);

    let x = await left.next();
    let y = await right.next();
    while (x || y) {
      const kx = x ? keyText(x) : undefined;
      const ky = y ? keyText(y) : undefined;
      const order = !kx ? 1 : !ky ? -1 : compareKeys(kx, ky, numeric);
      const key = order <= 0 ? kx! : ky!;
      const rowA = order <= 0 ? x : undefined;
      const rowB = order >= 0 ? y : undefined;
      // The base's entries for keys no side has any more go (both deleted it).
      while (!h.done && compareKeys(h.value.key, key, numeric) < 0) {
        gone(h.value);
        h = old.next();
      }
      const e = !h.done && compareKeys(h.value.key, key, numeric) === 0 ? h.value : undefined;
      if (e) h = old.next();
      if (rowA) result.rows.a++;
      if (rowB) result.rows.b++;
      if (hidden && ((rowA && hidden(rowA)) || (rowB && hidden(rowB)))) {
        // An erased subject's key (or value): left as it is on both sides, its base entry (none, once erased) kept.
        result.suppressed = (result.suppressed ?? 0) + 1;
        if (order <= 0) x = await left.next();
        if (order >= 0) y = await right.next();
        continue;
      }
      // A row marked deleted (soft deletes) is as good as gone.
      const side = (row: unknown[] | undefined) => new SideRow(row && soft?.marked(row) ? undefined : row, n);
      const [sa, sb] = [side(rowA), side(rowB)];
      // Each side: does it still hold the agreed content? Its own spelling unchanged says so without normalising.
      const aSame = sa.agrees(e, e?.ha ?? null);
      const bSame = sb.agrees(e, e?.hb ?? null);
      let next: BaseEntry | undefined;
      if (aSame && bSame) {
        result.unchanged++;
        // Learnt spellings (of a side written into last time) are kept; the usual row allocates nothing.
        const [ha, hb] = [sa.raw ?? null, sb.raw ?? null];
        // A merge table's base made before its fields were kept learns them from the agreeing row.
        const hf = e?.hf ?? fields(sa.row);
        next = e && (e.ha === ha && e.hb === hb && e.hf === hf ? e : { ...e, ha, hb, hf });
      } else if (sa.sameContent(sb)) {
        // Both sides hold the same content (changed alike, or a first sync): they agree now.
        result.unchanged++;
        next = sa.row && { key, hn: sa.content!, ha: sa.raw!, hb: sb.raw!, hf: fields(sa.row) };
        logChange(key, e, next, 'both', 'none', sa.row);
        if (openConflicts.has(JSON.stringify(keyObject(key)))) base.conflicts.settled(p.nameA, keyObject(key));
      } else {
        const winner: Winner | 'hold' | FieldMerge = t.direction === 'a_to_b' ? 'a' : t.direction === 'b_to_a' ? 'b'
          : !aSame && bSame ? 'a' : aSame && !bSame ? 'b' : conflict(key, sa, sb, e);
        if (winner === 'hold') {
          // Held: nothing written, the base as it was, so the next sync meets the same conflict.
          next = e;
        } else if (typeof winner === 'object') {
          const { merged, forA } = await writeMerged(winner, rowA!, rowB!);
          // Both sides were written: their spellings are unknown until read back.
          next = { key, hn: contentHash(merged, n), ha: null, hb: null, hf: fieldHashes(merged, n) };
          logChange(key, e, next, 'merge', winner.changesA && winner.changesB ? 'both' : winner.changesA ? 'a' : winner.changesB ? 'b' : 'none', forA);
        } else {
          const image = await write(winner, sa.row, sb.row);
          const w = winner === 'a' ? sa : sb;
          // The side written into spells it as its engine will: unknown until read back.
          next = w.row && { key, hn: w.content!, ha: winner === 'a' ? w.raw! : null, hb: winner === 'b' ? w.raw! : null, hf: fields(w.row) };
          logChange(key, e, next, winner, winner === 'a' ? 'b' : 'a', image);
        }
      }
      if (!next) {
        if (e) baseTable.remove(key);
      } else if (!e || e.hn !== next.hn || e.ha !== next.ha || e.hb !== next.hb || e.hf !== next.hf) baseTable.set(next);
      if (order <= 0) x = await left.next();
      if (order >= 0) y = await right.next();
    }
    for (; !h.done; h = old.next()) gone(h.value);
    // The old base's reading ends before it is replaced.
    old.return?.();
    if (o.dryRun) {
      baseTable.discard();
      return result;
    }
    result.changed_meanwhile = await apply(a, p.nameA, p.a, n, into.a, o.mark, soft) + await apply(b, p.nameB, p.b, n, into.b, o.mark, soft);
    baseTable.keep();
    return result;
  } catch (e) {
    old.return?.();
    baseTable.discard();
    throw e;
  } finally {
    await Promise.all([into.a.close(), into.b.close()]);
  }
}

/** One side's row of a key, its hashes worked out when first asked. */
class SideRow {
  private rawHash?: number;
  private contentHash?: number;

  constructor(readonly row: unknown[] | undefined, private readonly keyParts: number) {}

  get raw(): number | undefined {
    if (!this.row) return undefined;
    return (this.rawHash ??= rawHash(this.row, this.keyParts));
  }

  get content(): number | undefined {
    if (!this.row) return undefined;
    return (this.contentHash ??= contentHash(this.row, this.keyParts));
  }

  /** Whether it holds the base's agreed content (`spelled`: this side's spelling of it, when known). */
  agrees(e: BaseEntry | undefined, spelled: number | null): boolean {
    if (!e || !this.row) return !e && !this.row;
    return (spelled !== null && this.raw === spelled) || this.content === e.hn;
  }

  sameContent(other: SideRow): boolean {
    if (!this.row || !other.row) return !this.row && !other.row;
    return this.content === other.content;
  }
}

/**
 * A side's changes in one transaction (marked, when a CDC reader reads that side), a batch of the same kind per
 * statement, each guarded (./guard.ts): a row changed since it was read is left as it is. Returns how many were.
 */
async function apply(side: Side, table: string, columns: SideColumn[], keyParts: number, changes: ChangeSpill, mark?: SyncMark, soft?: SoftDeletes): Promise<number> {
  if (!changes.count) return 0;
  const tx = await side.transaction(mark);
  let moved = 0;
  try {
    const w = await tx.table(table, columns, columns.slice(0, keyParts));
    let batch: Change[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const now = await currentRows(w, batch.map((c) => (c.op === 'upsert' ? c.row.slice(0, keyParts) : c.key)), keyParts);
      const seen = (row: unknown[] | undefined) => (row && soft?.marked(row) ? undefined : row);
      const still = batch.filter((c) => c.expect === undefined || rowHash(seen(now.get(keyText(c.op === 'upsert' ? c.row : c.key, keyParts))), keyParts) === c.expect);
      moved += batch.length - still.length;
      const keys = () => still.map((c) => (c as { key: unknown[] }).key);
      if (still[0]?.op === 'upsert') await w.upsert(still.map((c) => (c as { row: unknown[] }).row));
      else if (still.length) await (soft ? markDeleted(w, keys(), columns, keyParts, soft, side.type) : w.remove(keys()));
      batch = [];
    };
    for await (const c of changes.changes()) {
      if ((batch.length && c.op !== batch[0].op) || batch.length >= WRITE_BATCH) await flush();
      batch.push(c);
    }
    await flush();
    await tx.commit();
    return moved;
  } catch (e) {
    await tx.rollback().catch(() => undefined);
    throw e;
  }
}
