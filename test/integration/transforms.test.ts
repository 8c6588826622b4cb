// Transforms end to end: a YAML chain through the real `sluice` binary into DuckDB (values, counts, the DLQ, no
// secret in the output), and the TypeScript API with user functions and a blocking aggregate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { definePipeline, runPipeline } from '../../src/index.js';
import type { Row, Source } from '../../src/index.js';
import type { Batch } from '../../src/core/types.js';
import { duckQuery, sluice, tempDir } from '../helpers.js';

const SALT = 'sodium-chloride-8842';

const yaml = `pipeline: tx-orders
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: order_id
        write: merge
      - name: customers
        path: customers.csv
        primary_key: id
        write: merge
transforms:
  orders:
    - rename: { "Customer Name": customer_name, "Order Total": total }
    - trim: [customer_name]
    - case: { title: [customer_name], lower: [email] }
    - nullify: { values: ["N/A"] }
    - cast:
        total: { type: decimal, thousands: "," }
        ordered_at: { type: timestamp, format: "dd/MM/yyyy HH:mm", zone: Europe/Paris }
        paid: boolean
    - derive: { total_with_tax: "round(total * 1.2, 2)", segment: "if(total > 1000, 'gold', 'std')" }
    - filter: "status != 'cancelled'"
    - dedupe: { key: [order_id] }
    - lookup: { stream: customers, on: { customer_id: id }, columns: { tier: tier } }
    - hash: { columns: [email], salt: "\${PII_SALT}" }
    - drop: [status]
`;

const orders = [
  'order_id,Customer Name,Order Total,ordered_at,status,customer_id,email,paid',
  '1,  ann  ,"1,500.00",15/07/2024 14:30,paid,1,Ann@Example.com,yes',
  '2,bob,12,16/07/2024 09:00,cancelled,2,bob@example.com,no',
  '3,cy,oops,16/07/2024 10:00,paid,1,cy@example.com,t',
  '4,dee,N/A,17/01/2024 10:00,paid,3,ann@example.com,off',
  '5,eve,"2,000",not a date,paid,1,eve@example.com,1',
  '1,ann again,9,15/07/2024 14:30,paid,1,x@example.com,no',
].join('\n') + '\n';

const customers = 'id,name,tier\n1,Ann,gold\n2,Bob,std\n3,Dee,silver\n';

test('a YAML transform chain runs between extract and load: values, counts, DLQ, secrets', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), yaml);
    writeFileSync(join(dir, 'orders.csv'), orders);
    writeFileSync(join(dir, 'customers.csv'), customers);
    const home = join(dir, '.sluice');
    const r = await sluice(['run', join(dir, 'pipeline.yaml'), '--json', '--stream', 'orders'], { home, env: { PII_SALT: SALT } });
    assert.equal(r.code, 3, `partial success: rows were dead-lettered\n${r.stderr}`);
    const s = JSON.parse(r.stdout);
    assert.deepEqual(
      { ...s.streams.orders, inserted: undefined },
      { extracted: 6, loaded: 2, dead_lettered: 2, filtered: 2, inserted: undefined, updated: 0, deleted: 0 },
    );
    const c = s.streams.orders;
    assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered);
    assert.ok(s.phases.find((p: { phase: string }) => p.phase === 'transform').duration_ms >= 0);
    assert.equal(r.stdout.includes(SALT) || r.stderr.includes(SALT), false, 'the salt is never printed');

    const rows = await duckQuery(join(home, 'warehouse.duckdb'), `SELECT order_id::INT AS id, customer_name, total::VARCHAR AS total,
      strftime(ordered_at, '%Y-%m-%d %H:%M') AS at, total_with_tax::DOUBLE AS tax, segment, tier, email, paid, typeof(total) AS total_type,
      typeof(ordered_at) AS at_type FROM orders ORDER BY order_id`);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].id, 1);
    assert.equal(rows[0].customer_name, 'Ann');
    assert.match(String(rows[0].total), /^1500(\.0+)?$/);
    assert.equal(rows[0].at, '2024-07-15 12:30', 'Paris summer time is UTC+2');
    assert.equal(rows[0].tax, 1800);
    assert.equal(rows[0].segment, 'gold');
    assert.equal(rows[0].tier, 'gold');
    assert.equal(rows[0].paid, true);
    assert.match(String(rows[0].total_type), /^DECIMAL/, 'a cast declares the column type');
    assert.match(String(rows[0].at_type), /^TIMESTAMP/);
    assert.match(String(rows[0].email), /^[0-9a-f]{64}$/);
    assert.equal(rows[1].email, rows[0].email, 'the same e-mail (after lower-casing) hashes the same');
    assert.deepEqual({ id: rows[1].id, total: rows[1].total, tax: rows[1].tax, segment: rows[1].segment, tier: rows[1].tier, at: rows[1].at },
      { id: 4, total: null, tax: null, segment: 'std', tier: 'silver', at: '2024-01-17 09:00' });
    const cols = await duckQuery(join(home, 'warehouse.duckdb'), "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'");
    assert.equal(cols.some((x) => x.column_name === 'status'), false, 'dropped columns are not loaded');

    const store = new SqliteControlStore(home);
    try {
      const dlq = await store.listDlq({ pipeline: 'tx-orders' });
      assert.deepEqual(dlq.map((e) => e.stage), ['transform', 'transform']);
      const bad3 = dlq.find((e) => e.reason.includes("'oops'"))!;
      assert.match(bad3.reason, /^cast total: 'oops' is not a valid decimal$/);
      assert.equal(JSON.parse(bad3.raw)['Order Total'], 'oops', 'the DLQ keeps the row as read');
      assert.equal(bad3.position.line, 4);
      assert.match(bad3.position.file ?? '', /orders\.csv$/);
      const bad5 = dlq.find((e) => e.reason.includes('not a date'))!;
      assert.match(bad5.reason, /cast ordered_at: 'not a date' is not a valid timestamp \(format "dd\/MM\/yyyy HH:mm"\)/);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

/** Rows 1..n in batches of 100 with a checkpoint each; resumes after the last id in state. */
const counter = (n: number): Source => ({
  type: 'counter',
  async *read(_stream, state): AsyncIterable<Batch> {
    let next = Number((state?.connector as { last?: number } | undefined)?.last ?? 0) + 1;
    while (next <= n) {
      const rows: Row[] = [];
      for (let i = 0; i < 100 && next <= n; i++, next++) rows.push({ id: next, group: `g${next % 3}`, amount: String(next) });
      yield { rows, checkpoint: { ...(state ?? {}), version: 1, connector: { last: next - 1 } } };
    }
  },
});

test('TypeScript API: user functions next to declarative steps, and a blocking aggregate', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const seen: number[] = [];
    const pipeline = () => definePipeline({
      pipeline: 'tx-api',
      sources: [{ name: 'gen', type: 'csv', streams: [{ name: 'numbers', path: 'unused.csv', primary_key: 'group', write: 'merge' }] }],
      transforms: {
        numbers: [
          { cast: { amount: 'integer' } },
          {
            fn: (row: Row) => {
              if ((row.id as number) % 10 === 0) return null;
              if (row.id === 7) throw new Error('seven is unlucky');
              return { ...row, big: (row.amount as number) > 500 };
            },
          },
          { batch: async (rows: Row[]) => { seen.push(rows.length); return rows; } },
          { aggregate: { group_by: ['group'], metrics: { n: 'count', total: { sum: 'amount' }, bigs: { count_distinct: 'big' }, top: { max: 'id' } } } },
        ],
      },
    });
    const summary = await runPipeline(pipeline(), { home: dir, sources: { gen: counter(1000) } });
    assert.equal(summary.status, 'partial_success', summary.error);
    const c = summary.streams.numbers;
    assert.equal(c.extracted, 1000);
    assert.equal(c.dead_lettered, 1);
    assert.equal(c.loaded, 3);
    assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered);
    assert.equal(seen.length, 10, 'the batch function sees every batch');
    const rows = await duckQuery(join(dir, 'warehouse.duckdb'), 'SELECT "group" AS g, n::INT AS n, total::BIGINT AS total, bigs::INT AS bigs, top::INT AS top FROM numbers ORDER BY 1');
    const expected = [0, 1, 2].map((g) => {
      const ids = Array.from({ length: 1000 }, (_, i) => i + 1).filter((i) => i % 3 === g && i % 10 !== 0 && i !== 7);
      return { g: `g${g}`, n: ids.length, total: ids.reduce((a, b) => a + b, 0), bigs: 2, top: Math.max(...ids) };
    });
    assert.deepEqual(rows.map((r) => ({ ...r, total: Number(r.total) })), expected);
    // The state moved to the end of the stream with the aggregate's rows: the next run reads nothing new.
    const again = await runPipeline(pipeline(), { home: dir, sources: { gen: counter(1000) } });
    assert.equal(again.streams.numbers.extracted, 0);

    // A lookup against a table of the destination: the aggregate's output enriches another stream.
    const enriched = definePipeline({
      pipeline: 'tx-api-lookup',
      sources: [{ name: 'gen', type: 'csv', streams: [{ name: 'picks', path: 'unused.csv' }] }],
      transforms: {
        picks: [
          { derive: { group: "'g' || (id % 4)" } },
          { lookup: { table: 'numbers', on: ['group'], columns: { group_total: 'total', group_rows: 'n' }, on_missing: 'drop' } },
        ],
      },
    });
    const looked = await runPipeline(enriched, { home: dir, sources: { gen: counter(8) } });
    assert.equal(looked.status, 'success', looked.error);
    assert.deepEqual(looked.streams.picks, { extracted: 8, loaded: 6, dead_lettered: 0, filtered: 2, inserted: 6, updated: 0, deleted: 0 });
    const picks = await duckQuery(join(dir, 'warehouse.duckdb'), 'SELECT id::INT AS id, "group" AS g, group_total::BIGINT AS t, group_rows::INT AS n FROM picks ORDER BY id');
    assert.deepEqual(picks.map((p) => ({ ...p, t: Number(p.t) })), [1, 2, 4, 5, 6, 8].map((id) => {
      const e = expected.find((x) => x.g === `g${id % 4}`)!;
      return { id, g: `g${id % 4}`, t: e.total, n: e.n };
    }));
  } finally {
    cleanup();
  }
});

test('flatten loads a child table with _parent_key and _idx beside its parent, and map/lookup read nested JSON', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), `pipeline: tx-flatten
sources:
  - name: api
    type: ndjson
    streams:
      - name: orders
        path: orders.ndjson
        primary_key: order_id
        write: merge
transforms:
  orders:
    - map: { city: shipping.address.city, first_sku: items.0.sku }
    - flatten: { column: items }
    - drop: [shipping]
`);
    writeFileSync(join(dir, 'orders.ndjson'), [
      { order_id: 1, shipping: { address: { city: 'Lyon' } }, items: [{ sku: 'a', qty: 2 }, { sku: 'b', qty: 1, gift: true }] },
      { order_id: 2, shipping: null, items: [] },
      { order_id: 3, shipping: { address: { city: 'Nice' } }, items: [{ sku: 'c', qty: 5 }] },
      { order_id: 4, shipping: null, items: 'not a list' },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const home = join(dir, '.sluice');
    const r = await sluice(['run', join(dir, 'pipeline.yaml'), '--json'], { home });
    assert.equal(r.code, 3, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual([s.streams.orders.extracted, s.streams.orders.loaded, s.streams.orders.dead_lettered], [4, 3, 1]);
    const wh = join(home, 'warehouse.duckdb');
    const parents = await duckQuery(wh, 'SELECT order_id::INT AS id, city, first_sku FROM orders ORDER BY 1');
    assert.deepEqual(parents, [{ id: 1, city: 'Lyon', first_sku: 'a' }, { id: 2, city: null, first_sku: null }, { id: 3, city: 'Nice', first_sku: 'c' }]);
    const cols = await duckQuery(wh, "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1");
    assert.equal(cols.some((c) => c.column_name === 'items' || c.column_name === 'shipping'), false, 'the flattened column leaves the parent');
    const kids = await duckQuery(wh, 'SELECT _parent_key, _idx::INT AS idx, sku, qty::INT AS qty, gift FROM orders__items ORDER BY 1, 2');
    assert.deepEqual(kids, [
      { _parent_key: '1', idx: 0, sku: 'a', qty: 2, gift: null },
      { _parent_key: '1', idx: 1, sku: 'b', qty: 1, gift: true },
      { _parent_key: '3', idx: 0, sku: 'c', qty: 5, gift: null },
    ]);
  } finally {
    cleanup();
  }
});
