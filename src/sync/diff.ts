// `sluice diff`: a table compared across the two systems of a sync. A key on one side only, or a row whose values
// differ once both engines' spellings are made one (values.ts), is a difference. Tables whose key columns are integers
// or text on both sides are compared by key-range checksums (./range-checksum.ts): only ranges that differ are read,
// as (key, row hash), and only rows whose hashes differ whole. Others — and `--full` — are read whole in key order
// (side.ts) and walked together, like a merge join. Either way memory holds a page of each side, whatever the table's size.
import { RunError } from '../core/errors.js';
import { type SyncTable, tableOn } from '../config/sync-spec.js';
import { type DiffWork, plan, rangeDiff } from './range-checksum.js';
import { Rows } from './rows.js';
import { softDeletes, type SoftDeletes } from './soft-delete.js';
import type { Side, SideColumn } from './side.js';
import { compareKeys, exactText, integerText, isIntegerType, isNumericType, syncText } from './values.js';

export { Rows } from './rows.js';
export type { DiffWork } from './range-checksum.js';

export type DifferenceKind = 'only_in_a' | 'only_in_b' | 'differs';

export interface Difference {
  table: string;
  key: Record<string, string | null>;
  kind: DifferenceKind;
  /** `differs`: the columns whose values differ. */
  columns?: string[];
}

export interface TableDiff {
  table: string;
  rows: { a: number; b: number };
  only_in_a: number;
  only_in_b: number;
  differs: number;
  /** Columns one side has and the other does not (not compared). */
  columns_only_in: { a: string[]; b: string[] };
}

/** A table's columns on both sides, matched by name (case aside: MySQL folds them), key columns first. */
export interface PairedColumns {
  nameA: string;
  nameB: string;
  /** Side a's columns compared, key first. */
  a: SideColumn[];
  /** The same columns on side b, in the same order. */
  b: SideColumn[];
  /** How many of them are the key. */
  keyParts: number;
  only: { a: string[]; b: string[] };
}

export async function pairColumns(a: Side, b: Side, t: SyncTable): Promise<PairedColumns> {
  const [nameA, nameB] = [tableOn(t, 'a'), tableOn(t, 'b')];
  const [colsA, colsB] = await Promise.all([a.columns(nameA), b.columns(nameB)]);
  if (!colsA.length) throw new RunError(`table ${nameA} not found on side a (${a.type})`);
  if (!colsB.length) throw new RunError(`table ${nameB} not found on side b (${b.type})`);
  const byName = new Map(colsB.map((c) => [c.name.toLowerCase(), c]));
  const common = colsA.filter((c) => byName.has(c.name.toLowerCase()));
  const key = t.primary_key.map((k) => {
    const col = common.find((c) => c.name.toLowerCase() === k.toLowerCase());
    if (!col) throw new RunError(`table ${nameA}: primary key column "${k}" is not on both sides`);
    return col;
  });
  const ordered = [...key, ...common.filter((c) => !key.includes(c))];
  return {
    nameA, nameB, a: ordered, b: ordered.map((c) => byName.get(c.name.toLowerCase())!), keyParts: key.length,
    only: {
      a: colsA.filter((c) => !byName.has(c.name.toLowerCase())).map((c) => c.name),
      b: colsB.filter((c) => !common.some((x) => x.name.toLowerCase() === c.name.toLowerCase())).map((c) => c.name),
    },
  };
}

/** Which parts of the key are integers or decimals on both sides: compared by value (compareKeys), the rest by bytes. */
export function numericKeyParts(p: PairedColumns): boolean[] {
  return p.a.slice(0, p.keyParts).map((c, i) => isNumericType(c.type) && isNumericType(p.b[i].type));
}

/**
 * A row's key as the text both sides' keys are compared by. Integer keys (most keys) are spelled one way by every
 * engine: syncText's pattern tests on each cost a sync 5% of its time. Text keys are themselves: 't' and '1', '1.50'
 * and '1.5' are two keys (made one by syncText, as values, they were one).
 */
export function keyReader(p: PairedColumns): (row: readonly unknown[]) => (string | null)[] {
  const n = p.keyParts;
  const texts = p.a.slice(0, n).map((c, i) => (isIntegerType(c.type) && isIntegerType(p.b[i].type) ? integerText : c.text && p.b[i].text ? exactText : syncText));
  return (row) => {
    const k = new Array<string | null>(n);
    for (let i = 0; i < n; i++) k[i] = texts[i](row[i]);
    return k;
  };
}

/**
 * Compare one table; each difference goes to `found` as it is met, in key order. `full`: read every row whole (the
 * method before checksums); `work`: what was read.
 */
export async function diffTable(a: Side, b: Side, t: SyncTable, found: (d: Difference) => void,
  o: { full?: boolean; work?: (w: DiffWork) => void } = {}): Promise<TableDiff> {
  const p = await pairColumns(a, b, t);
  const { nameA } = p;
  const key = p.a.slice(0, p.keyParts);
  const summary: TableDiff = { table: nameA, rows: { a: 0, b: 0 }, only_in_a: 0, only_in_b: 0, differs: 0, columns_only_in: p.only };
  const keyOf = (row: (string | null)[]) => Object.fromEntries(key.map((k, i) => [k.name, row[i]]));
  const report = (kind: DifferenceKind, row: (string | null)[], cols?: string[]) => {
    summary[kind]++;
    found({ table: nameA, key: keyOf(row), kind, ...(cols ? { columns: cols } : {}) });
  };
  const keyText = keyReader(p);
  const numeric = numericKeyParts(p);
  // Soft deletes: a row marked deleted is as good as gone, and the sums on the servers would count it.
  const soft = softDeletes(t, p);
  const ranges = o.full || soft ? undefined : plan(a, b, p);
  if (ranges) {
    const work = await rangeDiff(a, b, p, ranges, keyText, numeric, summary.rows, report);
    o.work?.(work);
    return summary;
  }
  await fullDiff(a, b, p, keyText, numeric, summary.rows, report, soft);
  o.work?.({ table: nameA, method: 'full', ranges: 0, rows_hashed: 0, rows_fetched: summary.rows.a + summary.rows.b });
  return summary;
}

/** Both sides read whole in key order and walked together. */
async function fullDiff(a: Side, b: Side, p: PairedColumns, keyText: (row: unknown[]) => (string | null)[], numeric: boolean[], rows: { a: number; b: number },
  report: (kind: DifferenceKind, row: (string | null)[], cols?: string[]) => void, soft?: SoftDeletes): Promise<void> {
  const columns = p.a;
  const n = p.keyParts;
  const live = soft ? (pages: AsyncIterable<unknown[][]>) => unmarked(pages, soft) : (pages: AsyncIterable<unknown[][]>) => pages;
  const left = new Rows(live(a.scan(p.nameA, columns, columns.slice(0, n))));
  const right = new Rows(live(b.scan(p.nameB, p.b, p.b.slice(0, n))));
  let x = await left.next();
  let y = await right.next();
  while (x || y) {
    const order = !x ? 1 : !y ? -1 : compareKeys(keyText(x), keyText(y), numeric);
    if (order < 0) {
      rows.a++;
      report('only_in_a', keyText(x!));
      x = await left.next();
    } else if (order > 0) {
      rows.b++;
      report('only_in_b', keyText(y!));
      y = await right.next();
    } else {
      rows.a++;
      rows.b++;
      let changed: string[] | undefined;
      for (let i = n; i < columns.length; i++) {
        // The same spelling is the same value: only values spelled differently are made comparable.
        const u = x![i];
        const v = y![i];
        if (u !== v && syncText(u) !== syncText(v)) (changed ??= []).push(columns[i].name);
      }
      if (changed) report('differs', keyText(x!), changed);
      x = await left.next();
      y = await right.next();
    }
  }
}

/** Pages without the rows marked deleted. */
async function* unmarked(pages: AsyncIterable<unknown[][]>, soft: SoftDeletes): AsyncIterable<unknown[][]> {
  for await (const page of pages) yield page.filter((row) => !soft.marked(row));
}
