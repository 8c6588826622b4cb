// Soft deletes (`deletes: soft`, `deleted_column`): a delete is carried to the other side as a mark on its row — the
// column set to the time of the delete (or true/1) — and a row marked on either side counts as deleted there, so a
// marked row and a missing one agree, and a mark is never carried back as a change. The row is read (locked) in the
// writing transaction, marked and written back: every engine's writer does that already (./side.ts), nothing new per
// engine.
import { RunError } from '../core/errors.js';
import type { SyncTable } from '../config/sync-spec.js';
import type { PairedColumns } from './diff.js';
import { currentRows } from './guard.js';
import type { SideColumn, TableWriter } from './side.js';
import { writeValue, type Engine } from './write-values.js';

export interface SoftDeletes {
  /** The marking column's place in the paired columns (the same on both sides). */
  at: number;
  /** Whether a side's row is marked deleted. */
  marked(row: readonly unknown[]): boolean;
}

const UNMARKED = new Set<unknown>([null, undefined, false, 0, '0', 'f', 'false', 0n]);

/** A table's soft deletes, or undefined when its deletes are hard. */
export function softDeletes(t: SyncTable, p: PairedColumns): SoftDeletes | undefined {
  if (t.deletes !== 'soft' || !t.deleted_column) return undefined;
  const name = t.deleted_column.toLowerCase();
  const at = p.a.findIndex((c) => c.name.toLowerCase() === name);
  if (at < 0) throw new RunError(`table ${p.nameA}: the deleted_column "${t.deleted_column}" is not on both sides`);
  if (at < p.keyParts) throw new RunError(`table ${p.nameA}: the deleted_column "${t.deleted_column}" is part of the key`);
  return { at, marked: (row) => !UNMARKED.has(row[at]) };
}

/** The mark written into column `col` of an engine: true or 1 for booleans and integers, else the time, in UTC. */
function mark(col: SideColumn, engine: Engine): unknown {
  if (/bool|tinyint\(1\)|bit\(1\)/.test(col.type)) return engine === 'postgres' ? 'true' : 1;
  if (/int/.test(col.type)) return 1;
  return writeValue(new Date().toISOString(), { name: col.name, text: false, type: 'timestamptz' }, col, engine);
}

/**
 * Marks the rows of these keys deleted (`columns`: the target's, in the writer's order): those not there, or marked
 * already (their first mark kept), are left alone. Returns how many were marked.
 */
export async function markDeleted(w: TableWriter, keys: unknown[][], columns: SideColumn[], keyParts: number, soft: SoftDeletes, engine: Engine): Promise<number> {
  const rows = [...(await currentRows(w, keys, keyParts)).values()].filter((r) => !soft.marked(r));
  if (!rows.length) return 0;
  const value = mark(columns[soft.at], engine);
  // Written back as the sync writes a row of that engine into it (bytea's text made bytes again, and so on).
  await w.upsert(rows.map((r) => r.map((v, i) => (i === soft.at ? value : writeValue(v, columns[i], columns[i], engine)))));
  return rows.length;
}
