// Child tables of `flatten` under a merged parent, through the real `sluice` binary into PostgreSQL (a fresh schema)
// and DuckDB (a temp dir): each parent loaded again replaces its child rows — changed, emptied, nulled and deleted
// parents keep no stale children, a parent seen twice keeps the children of its last row — and a re-run over parents
// whose children were already committed (state reset, or the parent's commit failing right after the children's)
// leaves every child row once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { duckQuery, sluice, tempDir } from '../helpers.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

type Rows = Record<string, unknown>[];

interface Kind {
  name: string;
  /** The `destination:` block of the pipeline file. */
  destination: string;
  /** Committed rows of a query (table names unqualified), read after the sluice process has exited. */
  query(sql: string): Promise<Rows>;
}

const { dir: root, cleanup: removeRoot } = tempDir('sluice-flatten-');
const schemas: string[] = [];
after(async () => {
  removeRoot();
  const c = new pg.Client(PG_URL);
  await c.connect();
  try {
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await c.end();
  }
});

let seq = 0;
const kinds: Record<string, (dir: string) => Kind> = {
  postgres: () => {
    const schema = `sluice_flat_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    return {
      name: 'postgres',
      destination: `destination:\n  type: postgres\n  url: ${PG_URL}\n  schema: ${schema}\n`,
      async query(sql) {
        const c = new pg.Client(PG_URL);
        await c.connect();
        try {
          await c.query(`SET search_path TO "${schema}"`);
          return (await c.query(sql)).rows;
        } finally {
          await c.end();
        }
      },
    };
  },
  duckdb: (dir) => {
    const file = join(dir, 'warehouse.duckdb');
    return {
      name: 'duckdb',
      destination: `destination:\n  type: duckdb\n  path: ${file}\n`,
      query: (sql) => duckQuery(file, sql),
    };
  },
};

/** A pipeline directory: the pipeline file, its input, and a `sluice run` of it. */
function setup(kind: string, streamKeys: string) {
  const dir = join(root, `${kind}-${++seq}`);
  const home = join(dir, '.sluice');
  const k = kinds[kind](dir);
  const file = join(dir, 'pipeline.yaml');
  mkdirSync(dir, { recursive: true });
  const write = (rows: Record<string, unknown>[]) => {
    writeFileSync(join(dir, 'orders.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  };
  return {
    k, home, file,
    init() {
      writeFileSync(file, `pipeline: flatten-${kind}-${seq}
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
${k.destination}`);
    },
    write,
    run: async () => {
      const r = await sluice(['run', file, '--json'], { home });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
  };
}

const children = (k: Kind): Promise<Rows> =>
  k.query('SELECT _parent_key AS p, CAST(_idx AS INTEGER) AS i, sku, CAST(qty AS INTEGER) AS qty FROM orders__items ORDER BY 1, 2');

const item = (sku: string, qty = 1) => ({ sku, qty });

for (const kind of Object.keys(kinds)) {
  test(`${kind}: a merged parent replaces its child rows; emptied, null and deleted parents keep none`, async () => {
    const s = setup(kind, '        delete_column: deleted');
    const { k } = s;
    s.init();
    s.write([
      { order_id: 1, items: [item('a', 1), item('b', 2), item('c', 3)] },
      { order_id: 2, items: [item('d'), item('e')] },
      { order_id: 3, items: [] },
      { order_id: 5, items: [item('x'), item('y')] },
    ]);
    const first = await s.run();
    assert.equal(first.streams.orders.loaded, 4);
    assert.deepEqual(await children(k), [
      { p: '1', i: 0, sku: 'a', qty: 1 }, { p: '1', i: 1, sku: 'b', qty: 2 }, { p: '1', i: 2, sku: 'c', qty: 3 },
      { p: '2', i: 0, sku: 'd', qty: 1 }, { p: '2', i: 1, sku: 'e', qty: 1 },
      { p: '5', i: 0, sku: 'x', qty: 1 }, { p: '5', i: 1, sku: 'y', qty: 1 },
    ]);
    // The marker that names parents, and the staging sequence, never become columns of the child table.
    const cols = (await k.query("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'orders__items' ORDER BY 1")).map((r) => r.c);
    assert.deepEqual(cols, ['_idx', '_parent_key', 'qty', 'sku']);

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
    await s.run();
    const expected = [
      { p: '1', i: 0, sku: 'b', qty: 9 },
      { p: '3', i: 0, sku: 'f', qty: 1 }, { p: '3', i: 1, sku: 'g', qty: 4 },
      { p: '4', i: 0, sku: 'h', qty: 1 },
    ];
    assert.deepEqual(await children(k), expected);

    // The same input again: parents are merged again, children replaced by the same rows, none duplicated.
    await s.run();
    assert.deepEqual(await children(k), expected);
    if (kind === 'postgres') {
      // PostgreSQL honours the delete marker on the parent too; an index serves the per-parent delete.
      assert.deepEqual((await k.query('SELECT CAST(order_id AS INTEGER) AS id FROM orders ORDER BY 1')).map((r) => r.id), [1, 2, 3, 4]);
      const idx = await k.query("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'orders__items'");
      assert.equal(idx.length, 1);
      assert.match(String(idx[0].indexdef), /\(_parent_key\)/);
    }
  });

  test(`${kind}: exactly once: a re-run over parents whose children were committed leaves each child row once`, async () => {
    const s = setup(kind, '        cursor: updated_at');
    const { k } = s;
    s.init();
    const rows = Array.from({ length: 50 }, (_, n) => ({
      order_id: n + 1, updated_at: `2024-01-01T00:00:${String(n).padStart(2, '0')}Z`,
      items: Array.from({ length: n % 4 }, (_e, j) => item(`s${n}-${j}`, j)),
    }));
    s.write(rows);
    await s.run();
    const once = await children(k);
    assert.equal(once.length, rows.reduce((n, r) => n + r.items.length, 0));

    // What a crash between the children's commit and the parent's leaves: the parent's state is behind its
    // children. The re-run reads every parent again.
    const reset = await sluice(['state', 'reset', s.file, '--stream', 'orders'], { home: s.home });
    assert.equal(reset.code, 0, reset.stderr);
    const again = await s.run();
    assert.equal(again.streams.orders.extracted, 50, 'the re-run read every parent again');
    assert.deepEqual(await children(k), once);
  });
}

test('postgres: the parent commit fails right after its children committed; the re-run duplicates no child', async () => {
  const s = setup('postgres', '        cursor: updated_at');
  const { k } = s;
  s.init();
  s.write([
    { order_id: 1, updated_at: '2024-01-01T00:00:00Z', items: [item('a'), item('b')] },
    { order_id: 2, updated_at: '2024-01-01T00:00:00Z', items: [item('c')] },
  ]);
  await s.run();
  // Every write to the parent fails from now on: its commit comes right after the children's.
  await k.query(`CREATE FUNCTION sluice_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'parent commit fails'; END $$;
    CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION sluice_boom()`);
  const changed = [
    { order_id: 2, updated_at: '2024-01-02T00:00:00Z', items: [item('c', 2), item('d', 2)] },
    { order_id: 3, updated_at: '2024-01-02T00:00:00Z', items: [item('e', 3)] },
  ];
  s.write(changed);
  const failed = await sluice(['run', s.file, '--json'], { home: s.home });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, /parent commit fails/);
  const committed = [
    { p: '1', i: 0, sku: 'a', qty: 1 }, { p: '1', i: 1, sku: 'b', qty: 1 },
    { p: '2', i: 0, sku: 'c', qty: 2 }, { p: '2', i: 1, sku: 'd', qty: 2 },
    { p: '3', i: 0, sku: 'e', qty: 3 },
  ];
  assert.deepEqual(await children(k), committed, 'the children of the failed run were committed before the parent failed');
  assert.deepEqual((await k.query('SELECT CAST(order_id AS INTEGER) AS id FROM orders ORDER BY 1')).map((r) => r.id), [1, 2]);

  await k.query('DROP TRIGGER boom ON orders');
  const rerun = await s.run();
  assert.equal(rerun.streams.orders.loaded, 2, 'the re-run loads the parents the failed run could not');
  assert.deepEqual(await children(k), committed);
  assert.deepEqual((await k.query('SELECT CAST(order_id AS INTEGER) AS id FROM orders ORDER BY 1')).map((r) => r.id), [1, 2, 3]);
});
