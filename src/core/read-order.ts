// Streams that read tables other streams of the pipeline load (the `tables` source) come after them. One function
// orders them for the runner and finds a cycle for validation, so the two can never disagree.

export interface TableReader<T> {
  item: T;
  name: string;
  /** The table the stream loads. */
  table: string;
  /** Tables it reads. */
  reads: string[];
}

export interface ReadOrder<T> {
  /** Every item after those it needs, otherwise in the order given. */
  order: T[];
  /** For each item, the items loading tables it reads. */
  needs: Map<T, T[]>;
  /** Stream names around a cycle (`a → b → a`), and the item it was found at; the order is then incomplete. */
  cycle?: { names: string[]; at: T };
}

export function readOrder<T>(readers: TableReader<T>[]): ReadOrder<T> {
  const loading = new Map<string, TableReader<T>[]>();
  for (const r of readers) loading.set(r.table, [...loading.get(r.table) ?? [], r]);
  const needs = new Map<TableReader<T>, TableReader<T>[]>();
  for (const r of readers) needs.set(r, r.reads.flatMap((table) => loading.get(table) ?? []).filter((d) => d !== r));
  const order: T[] = [];
  const state = new Map<TableReader<T>, 'visiting' | 'done'>();
  let cycle: ReadOrder<T>['cycle'];
  const visit = (r: TableReader<T>, path: TableReader<T>[]): void => {
    if (cycle || state.get(r) === 'done') return;
    if (state.get(r) === 'visiting') {
      cycle = { names: [...path.slice(path.indexOf(r)), r].map((x) => x.name), at: r.item };
      return;
    }
    state.set(r, 'visiting');
    for (const d of needs.get(r)!) visit(d, [...path, r]);
    state.set(r, 'done');
    order.push(r.item);
  };
  for (const r of readers) visit(r, []);
  return { order, needs: new Map([...needs].map(([r, ds]) => [r.item, ds.map((d) => d.item)])), ...(cycle ? { cycle } : {}) };
}
