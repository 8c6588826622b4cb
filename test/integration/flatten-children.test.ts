// Child tables of `flatten` under a merged parent, through the real `sluice` binary into every destination that
// replaces groups — PostgreSQL, DuckDB, MariaDB/MySQL, SQLite, each created fresh as the conformance suite does
// (../conformance/targets.ts): each parent loaded again replaces its child rows — changed, emptied, nulled and
// deleted parents keep no stale children, a parent seen twice keeps the children of its last row — and a re-run
// over parents whose children were already committed (state reset, or the parent's commit failing right after the
// children's) leaves every child row once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sluice, tempDir } from '../helpers.js';
import { TARGETS, type Target, type TargetKind } from '../conformance/targets.js';

const { dir: root, cleanup: removeRoot } = tempDir('sluice-flatten-');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
  removeRoot();
});

let seq = 0;

/** A pipeline directory: the pipeline file, its input, a fresh target, and a `sluice run` of it. */
async function setup(kind: TargetKind, streamKeys: string) {
  const dir = join(root, `${kind.name}-${++seq}`);
  const home = join(dir, '.sluice');
  const t = await kind.create();
  cleanups.push(() => t.cleanup());
  const file = join(dir, 'pipeline.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `pipeline: flatten-${kind.name}-${seq}
sources:
  - name: api
    type: ndjson
    streams:
      - name: orders
        path: orders.ndjson
        primary_key: order_id
        write: merge
${streamKeys}
transforms:
  orders:
    - flatten: { column: items }
${t.destination}`);
  return {
    t, home, file,
    write(rows: Record<string, unknown>[]) {
      writeFileSync(join(dir, 'orders.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    },
    run: async () => {
      const r = await sluice(['run', file, '--json'], { home });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
  };
}

/** Child rows, read as text (drivers differ in number types) and sorted here (collations differ). */
const children = async (t: Target) =>
  (await t.query(`SELECT ${['_parent_key', '_idx', 'sku', 'qty'].map((c) => `${t.text(c)} AS ${c === '_parent_key' ? 'p' : c === '_idx' ? 'i' : c}`).join(', ')}
    FROM ${t.table('orders__items')}`))
    .map((r) => ({ p: String(r.p), i: Number(r.i), sku: String(r.sku), qty: Number(r.qty) }))
    .sort((a, b) => a.p.localeCompare(b.p) || a.i - b.i);

const parents = async (t: Target) =>
  (await t.query(`SELECT ${t.text('order_id')} AS id FROM ${t.table('orders')}`)).map((r) => Number(r.id)).sort((a, b) => a - b);

/** Columns the index on the child table's group column covers; DuckDB indexes none (see duckdb-load.ts). */
const groupIndex: Record<string, (t: Target) => Promise<string[]>> = {
  postgres: async (t) => (await t.query(`SELECT a.attname AS c FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = '${t.table('orders__items')}'::regclass`)).map((r) => String(r.c)),
  mysql: async (t) => (await t.query(`SHOW INDEX FROM ${t.table('orders__items')}`)).map((r) => String(r.Column_name)),
  sqlite: async (t) => (await t.query("SELECT ii.name AS c FROM pragma_index_list('orders__items') AS il, pragma_index_info(il.name) AS ii"))
    .map((r) => String(r.c)),
};

const item = (sku: string, qty = 1) => ({ sku, qty });

for (const kind of TARGETS) {
  test(`${kind.name}: a merged parent replaces its child rows; emptied, null and deleted parents keep none`, async () => {
    const s = await setup(kind, '        delete_column: deleted');
    const { t } = s;
    s.write([
      { order_id: 1, items: [item('a', 1), item('b', 2), item('c', 3)] },
      { order_id: 2, items: [item('d'), item('e')] },
      { order_id: 3, items: [] },
      { order_id: 5, items: [item('x'), item('y')] },
    ]);
    const first = await s.run();
    assert.equal(first.streams.orders.loaded, 4);
    assert.deepEqual(await children(t), [
      { p: '1', i: 0, sku: 'a', qty: 1 }, { p: '1', i: 1, sku: 'b', qty: 2 }, { p: '1', i: 2, sku: 'c', qty: 3 },
      { p: '2', i: 0, sku: 'd', qty: 1 }, { p: '2', i: 1, sku: 'e', qty: 1 },
      { p: '5', i: 0, sku: 'x', qty: 1 }, { p: '5', i: 1, sku: 'y', qty: 1 },
    ]);
    // The marker that names parents, and the staging sequence, never become columns of the child table.
    const [row] = await t.query(`SELECT * FROM ${t.table('orders__items')} LIMIT 1`);
    assert.deepEqual(Object.keys(row).sort(), ['_idx', '_parent_key', 'qty', 'sku']);
    // Every commit deletes by parent: the destinations that index it index the group column.
    if (groupIndex[kind.name]) assert.deepEqual(await groupIndex[kind.name](t), ['_parent_key']);

    s.write([
      // Parent 1 twice in one commit: the merge keeps its last row, and so do its children.
      { order_id: 1, items: [item('a', 7), item('z', 7)] },
      { order_id: 1, items: [item('b', 9)] },
      { order_id: 2, items: null },
      { order_id: 3, items: [item('f'), item('g', 4)] },
      { order_id: 4, items: [item('h')] },
      // Deleted by the marker, its array still present: no children stay.
      { order_id: 5, deleted: true, items: [item('x')] },
    ]);
    const second = await s.run();
    assert.deepEqual([second.streams.orders.inserted, second.streams.orders.updated, second.streams.orders.deleted], [1, 3, 1]);
    const expected = [
      { p: '1', i: 0, sku: 'b', qty: 9 },
      { p: '3', i: 0, sku: 'f', qty: 1 }, { p: '3', i: 1, sku: 'g', qty: 4 },
      { p: '4', i: 0, sku: 'h', qty: 1 },
    ];
    assert.deepEqual(await children(t), expected);
    // The parent honours the delete marker too, and does not store it.
    assert.deepEqual(await parents(t), [1, 2, 3, 4]);
    const [parent] = await t.query(`SELECT * FROM ${t.table('orders')} LIMIT 1`);
    assert.ok(!('deleted' in parent), 'the delete marker is no column of the parent');

    // The same input again: parents are merged again, children replaced by the same rows, none duplicated.
    await s.run();
    assert.deepEqual(await children(t), expected);
    assert.deepEqual(await parents(t), [1, 2, 3, 4]);
  });

  test(`${kind.name}: exactly once: a re-run over parents whose children were committed leaves each child row once`, async () => {
    const s = await setup(kind, '        cursor: updated_at');
    const { t } = s;
    const rows = Array.from({ length: 50 }, (_, n) => ({
      order_id: n + 1, updated_at: `2024-01-01T00:00:${String(n).padStart(2, '0')}Z`,
      items: Array.from({ length: n % 4 }, (_e, j) => item(`s${n}-${j}`, j)),
    }));
    s.write(rows);
    await s.run();
    const once = await children(t);
    assert.equal(once.length, rows.reduce((n, r) => n + r.items.length, 0));

    // What a crash between the children's commit and the parent's leaves: the parent's state is behind its
    // children. The re-run reads every parent again.
    const reset = await sluice(['state', 'reset', s.file, '--stream', 'orders'], { home: s.home });
    assert.equal(reset.code, 0, reset.stderr);
    const again = await s.run();
    assert.equal(again.streams.orders.extracted, 50, 'the re-run read every parent again');
    assert.deepEqual(await children(t), once);
  });
}

/** Make every write to the parent table fail, and undo it (the destinations whose test queries may write). */
const parentFails: Record<string, { arm(t: Target): Promise<unknown>; disarm(t: Target): Promise<unknown> }> = {
  postgres: {
    // The function lives in the target's schema, dropped with it.
    arm: (t) => t.query(`CREATE FUNCTION ${t.table('sluice_boom')}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'parent commit fails'; END $$;
      CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON ${t.table('orders')} FOR EACH ROW EXECUTE FUNCTION ${t.table('sluice_boom')}()`),
    disarm: (t) => t.query(`DROP TRIGGER boom ON ${t.table('orders')}`),
  },
  mysql: {
    // The trigger lives in the target's database, dropped with it.
    arm: (t) => t.query(`CREATE TRIGGER ${t.table('sluice_boom')} BEFORE INSERT ON ${t.table('orders')} FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'parent commit fails'`),
    disarm: (t) => t.query(`DROP TRIGGER ${t.table('sluice_boom')}`),
  },
};

for (const kind of TARGETS.filter((k) => parentFails[k.name])) {
  test(`${kind.name}: the parent commit fails right after its children committed; the re-run duplicates no child`, async () => {
    const s = await setup(kind, '        cursor: updated_at');
    const { t } = s;
    s.write([
      { order_id: 1, updated_at: '2024-01-01T00:00:00Z', items: [item('a'), item('b')] },
      { order_id: 2, updated_at: '2024-01-01T00:00:00Z', items: [item('c')] },
    ]);
    await s.run();
    // Every write to the parent fails from now on: its commit comes right after the children's.
    await parentFails[kind.name].arm(t);
    s.write([
      { order_id: 2, updated_at: '2024-01-02T00:00:00Z', items: [item('c', 2), item('d', 2)] },
      { order_id: 3, updated_at: '2024-01-02T00:00:00Z', items: [item('e', 3)] },
    ]);
    const failed = await sluice(['run', s.file, '--json'], { home: s.home });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /parent commit fails/);
    const committed = [
      { p: '1', i: 0, sku: 'a', qty: 1 }, { p: '1', i: 1, sku: 'b', qty: 1 },
      { p: '2', i: 0, sku: 'c', qty: 2 }, { p: '2', i: 1, sku: 'd', qty: 2 },
      { p: '3', i: 0, sku: 'e', qty: 3 },
    ];
    assert.deepEqual(await children(t), committed, 'the children of the failed run were committed before the parent failed');
    assert.deepEqual(await parents(t), [1, 2]);

    await parentFails[kind.name].disarm(t);
    const rerun = await s.run();
    assert.equal(rerun.streams.orders.loaded, 2, 'the re-run loads the parents the failed run could not');
    assert.deepEqual(await children(t), committed);
    assert.deepEqual(await parents(t), [1, 2, 3]);
  });
}
