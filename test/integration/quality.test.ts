// Checks, dataset gates, quality metrics and schema contracts, end to end through the real `sluice` binary on the
// embedded DuckDB warehouse and on the real PostgreSQL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { duckQuery, sluice, tempDir } from '../helpers.js';
import { ConfigError, definePipeline, runPipeline } from '../../src/index.js';
import { PipelineConfigError } from '../../src/config/load.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface Counts { extracted: number; loaded: number; dead_lettered: number; filtered: number; inserted: number }
const addsUp = (c: Counts) => c.extracted === c.loaded + c.dead_lettered + c.filtered;

function project(yaml: string, files: Record<string, string>) {
  const t = tempDir('sluice-quality-');
  const write = (name: string, content: string) => {
    mkdirSync(join(t.dir, name, '..'), { recursive: true });
    writeFileSync(join(t.dir, name), content);
  };
  for (const [name, content] of Object.entries(files)) write(name, content);
  writeFileSync(join(t.dir, 'pipeline.yaml'), yaml);
  const home = join(t.dir, '.sluice');
  return {
    ...t, write, home, warehouse: join(home, 'warehouse.duckdb'),
    async run(...args: string[]) {
      const r = await sluice(['run', join(t.dir, 'pipeline.yaml'), '--json', ...args], { home });
      let summary: any;
      try {
        summary = JSON.parse(r.stdout);
      } catch {
        assert.fail(`no JSON on stdout (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
      }
      for (const c of Object.values(summary.streams)) assert.ok(addsUp(c as Counts), `counts add up: ${JSON.stringify(c)}`);
      return { ...r, summary };
    },
    cli: (...args: string[]) => sluice(args, { home }),
  };
}

const csv = (header: string, rows: (string | number)[][]) => `${header}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
const now = new Date();
const recent = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();

describe('checks', { concurrency: true }, () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  test('each severity: error rows go to the DLQ with the check, column and position; warn and info load and are reported', async () => {
    const p = project(`pipeline: quality-rows
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: [order_id]
      - name: customers
        path: customers.csv
checks:
  orders:
    - not_null: [customer_id]
    - range: { column: total, min: 0 }
    - accepted_values: { column: status, values: [new, paid, shipped] }
      severity: warn
    - regex: { column: email, format: email }
      severity: info
    - relationships: { column: customer_id, to: { stream: customers, column: id } }
      severity: warn
    - expression: "total < 1000 or status = 'paid'"
    - type: { column: code, type: integer }
      severity: warn
`, {
      'orders.csv': csv('order_id,customer_id,total,status,email,code', [
        [1, 10, 5.5, 'new', 'a@b.co', 1], [2, 11, -1, 'paid', 'b@c.co', 2], [3, '', 7, 'shipped', 'c@d.co', 3],
        [4, 12, 8, 'lost', 'nope', 'x'], [5, 10, 5000, 'new', 'e@f.co', 5], [6, 11, 5000, 'paid', 'g@h.co', 6],
      ]),
      'customers.csv': csv('id,name', [[10, 'A'], [11, 'B']]),
    });
    cleanups.push(p.cleanup);
    const r = await p.run();
    assert.equal(r.code, 3, r.stderr);
    const s = r.summary;
    assert.equal(s.status, 'partial_success');
    assert.deepEqual([s.streams.orders.extracted, s.streams.orders.loaded, s.streams.orders.dead_lettered], [6, 3, 3]);
    const loaded = await duckQuery(p.warehouse, 'SELECT order_id::INT AS id FROM orders ORDER BY 1');
    assert.deepEqual(loaded.map((x) => x.id), [1, 4, 6], 'the warn/info failures (order 4) load');

    const dlq = await p.cli('dlq', 'list', '--json');
    assert.equal(dlq.code, 0, dlq.stderr);
    const entries = JSON.parse(dlq.stdout) as { stage: string; reason: string; position: { file: string; line: number } }[];
    const byLine = Object.fromEntries(entries.map((e) => [e.position.line, e]));
    assert.deepEqual(Object.keys(byLine).map(Number).sort(), [3, 4, 6]);
    for (const e of entries) assert.equal(e.stage, 'check');
    assert.match(byLine[3].reason, /check range\(total\) failed: column "total": -1 is not >= 0/);
    assert.match(byLine[4].reason, /check not_null\(customer_id\) failed: column "customer_id" is null/);
    assert.match(byLine[6].reason, /expression\(total < 1000 or status = 'paid'\)/);
    assert.match(byLine[3].position.file, /orders\.csv$/);

    const q = s.quality.streams.orders;
    const failed = Object.fromEntries(q.checks.map((c: { check: string; failed?: number }) => [c.check, c.failed]));
    assert.equal(failed['accepted_values(status)'], 1);
    assert.equal(failed['regex(email)'], 1);
    // Row 3's null customer_id passes relationships (nulls are not_null's business); 12 is no customer.
    assert.equal(failed['relationships(customer_id → customers.id)'], 1);
    assert.equal(failed['type(code)'], 1);
    assert.equal(typeof s.quality.score, 'number');
    assert.ok(s.quality.score > 0 && s.quality.score < 100, String(s.quality.score));
    assert.equal(s.quality.score, q.score);
    assert.equal(q.rows, 6);
    assert.equal(q.validity, 0.333333, 'two rows of six fail no check');

    // The ledger keeps it: runs show (text and JSON), runs --json per run, the quality trend.
    const show = await p.cli('runs', 'show', s.run_id);
    assert.match(show.stdout, new RegExp(`quality orders: score ${q.score}`));
    assert.match(show.stdout, /FAIL range\(total\) \[error\] 1 failing rows/);
    const showJson = JSON.parse((await p.cli('runs', 'show', s.run_id, '--json')).stdout);
    assert.equal(showJson.quality[0].report.score, q.score);
    const runs = JSON.parse((await p.cli('runs', '--json')).stdout);
    assert.equal(runs.runs[0].quality_score, s.quality.score);
    const trend = JSON.parse((await p.cli('quality', 'quality-rows', '--json')).stdout);
    assert.deepEqual(trend.trend.map((t: { stream: string; score: number }) => [t.stream, t.score]), [['orders', q.score]]);
  });

  test('a gate above its threshold blocks the load: exit 1, target unchanged, staging kept and named; then a clean run loads', async () => {
    const p = project(`pipeline: quality-gate
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: data/orders-*.csv
checks:
  orders:
    - unique: [order_id]
      threshold: 10%
    - not_null: [total]
`, { 'data/orders-1.csv': csv('order_id,total', [[1, 1], [2, 2], [3, 3]]) });
    cleanups.push(p.cleanup);
    const first = await p.run();
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.summary.streams.orders.loaded, 3);

    // 2 duplicates in 10 rows: 20% > 10%.
    p.write('data/orders-2.csv', csv('order_id,total', [[4, 4], [5, 5], [5, 5], [6, 6], [7, 7], [7, 7], [8, 8], [9, 9], [10, 10], [11, 11]]));
    const blocked = await p.run();
    assert.equal(blocked.code, 1, blocked.stderr);
    assert.equal(blocked.summary.status, 'failed');
    assert.match(blocked.summary.error, /load blocked by check unique\(order_id\): 2 of 10 rows \(20\.00%\), threshold 10%/);
    assert.match(blocked.summary.error, /staging kept in "warehouse"\."main"\."orders__sluice_staged"/);
    const target = await duckQuery(p.warehouse, 'SELECT order_id::INT AS id FROM orders ORDER BY 1');
    assert.deepEqual(target.map((x) => x.id), [1, 2, 3], 'the earlier run\'s rows, nothing new');
    const staged = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM orders__sluice_staged');
    assert.equal(staged[0].n, 8, 'the blocked rows (duplicates dead-lettered) are kept for inspection');
    assert.equal(blocked.summary.quality.streams.orders.blocked.includes('threshold 10%'), true);

    // Fixed at the source: the same file without the duplicates loads, over the kept staging.
    p.write('data/orders-2.csv', csv('order_id,total', [[4, 4], [5, 5], [6, 6], [7, 7], [8, 8], [9, 9], [10, 10], [11, 11]]));
    const fixed = await p.run();
    assert.equal(fixed.code, 0, fixed.stderr);
    const after = await duckQuery(p.warehouse, 'SELECT order_id::INT AS id FROM orders ORDER BY 1');
    assert.deepEqual(after.map((x) => x.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal((await duckQuery(p.warehouse, "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_name = 'orders__sluice_staged'"))[0].n, 0);
  });

  test('a gate at or below its threshold loads; the failing rows go to the DLQ (count threshold)', async () => {
    const p = project(`pipeline: quality-below
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
checks:
  orders:
    - range: { column: total, min: 0 }
      threshold: 2
`, { 'orders.csv': csv('order_id,total', [[1, 1], [2, -2], [3, -3], [4, 4]]) });
    cleanups.push(p.cleanup);
    const r = await p.run();
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual([r.summary.streams.orders.loaded, r.summary.streams.orders.dead_lettered], [2, 2]);
    assert.deepEqual((await duckQuery(p.warehouse, 'SELECT order_id::INT AS id FROM orders ORDER BY 1')).map((x) => x.id), [1, 4]);
    const check = r.summary.quality.streams.orders.checks[0];
    assert.deepEqual([check.ok, check.measured, check.limit], [true, '2 rows', 'threshold 2']);
  });

  test('a dead-letter replay runs the row checks again but no dataset gate', async () => {
    const yaml = (min: number) => `pipeline: quality-replay
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: [order_id]
checks:
  orders:
    - range: { column: total, min: ${min} }
    - row_count: { min: 3 }
`;
    const p = project(yaml(0), { 'orders.csv': csv('order_id,total', [[1, 1], [2, -2], [3, -3], [4, 4]]) });
    cleanups.push(p.cleanup);
    const first = await p.run();
    assert.equal(first.code, 1, 'two rows pass: row_count blocks');
    p.write('orders.csv', csv('order_id,total', [[1, 1], [2, -2], [3, -3], [4, 4], [5, 5]]));
    const second = await p.run();
    assert.equal(second.code, 3, second.summary.error);
    assert.equal(second.summary.streams.orders.loaded, 3);
    // The rule changes: -2 is now fine, -3 still is not. The replay of two rows is not held to row_count.
    p.write('pipeline.yaml', yaml(-2));
    const replay = await p.cli('dlq', 'replay', join(p.dir, 'pipeline.yaml'), '--json');
    assert.equal(replay.code, 3, replay.stdout + replay.stderr);
    const ids = (await duckQuery(p.warehouse, 'SELECT order_id::INT AS id FROM orders ORDER BY 1')).map((x) => x.id);
    assert.deepEqual(ids, [1, 2, 4, 5]);
    const left = JSON.parse((await p.cli('dlq', 'list', '--json')).stdout) as { reason: string }[];
    assert.equal(left.length, 1);
    assert.match(left[0].reason, /-3 is not >= -2/);
  });

  test('dataset gates: row_count, freshness and volume block; warn-level ones load and end in partial success', async () => {
    const p = project(`pipeline: quality-dataset
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events-*.csv
checks:
  events:
    - row_count: { min: 2 }
    - freshness: { column: at, max_age: 1h }
    - volume: { max_change: 50%, runs: 3 }
`, { 'events-1.csv': csv('id,at', [[1, recent(5)], [2, recent(3)], [3, recent(1)], [4, recent(1)]]) });
    cleanups.push(p.cleanup);
    assert.equal((await p.run()).code, 0);
    p.write('events-2.csv', csv('id,at', [[5, recent(2)], [6, recent(1)], [7, recent(1)], [8, recent(1)], [9, recent(1)]]));
    const second = await p.run();
    assert.equal(second.code, 0, second.summary.error);
    assert.match(second.summary.quality.streams.events.checks[2].measured, /\+25\.0% vs mean 4\.0 of 1 runs/);

    // Mean of 4 and 5 is 4.5; 9 rows is +100%.
    p.write('events-3.csv', csv('id,at', Array.from({ length: 9 }, (_, i) => [10 + i, recent(1)])));
    const spike = await p.run();
    assert.equal(spike.code, 1);
    assert.match(spike.summary.error, /check volume: 9 rows, \+100\.0% vs mean 4\.5 of 2 runs, max_change 50%/);

    p.write('events-3.csv', csv('id,at', [[10, recent(600)], [11, recent(600)], [12, recent(600)], [13, recent(600)]]));
    const stale = await p.run();
    assert.equal(stale.code, 1);
    assert.match(stale.summary.error, /check freshness\(at\): age 10h \(newest .*\), max_age 1h/);
    assert.equal(stale.summary.quality.streams.events.timeliness < 0.11, true);

    p.write('events-3.csv', csv('id,at', [[10, recent(1)]]));
    const tiny = await p.run();
    assert.equal(tiny.code, 1);
    assert.match(tiny.summary.error, /check row_count: 1 rows, min 2/);
    assert.deepEqual((await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM events'))[0].n, 9, 'no blocked run changed the target');

    p.write('pipeline.yaml', `pipeline: quality-dataset
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events-*.csv
checks:
  events:
    - row_count: { min: 2 }
      severity: warn
`);
    const warned = await p.run();
    assert.equal(warned.code, 3, warned.stderr);
    assert.equal(warned.summary.status, 'partial_success');
    assert.deepEqual(warned.summary.quality.streams.events.warnings, ['check row_count: 1 rows, min 2']);
    assert.equal((await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM events'))[0].n, 10);
  });

  test('unique against the target and relationships to a table, on PostgreSQL: a blocked load keeps its staging there', async () => {
    const schema = `sluice_quality_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`CREATE TABLE ${schema}.dim_customers (id integer primary key)`);
      await client.query(`INSERT INTO ${schema}.dim_customers VALUES (10), (11)`);
      const p = project(`pipeline: quality-pg
sources:
  - name: files
    type: csv
    streams:
      - name: payments
        path: payments-*.csv
checks:
  payments:
    - unique: { columns: [payment_id], target: true }
    - relationships: { column: customer_id, to: { table: dim_customers, column: id } }
destination:
  type: postgres
  url: ${PG_URL}
  schema: ${schema}
`, { 'payments-1.csv': csv('payment_id,customer_id', [[1, 10], [2, 11], [3, 12]]) });
      cleanups.push(p.cleanup);
      const first = await p.run();
      assert.equal(first.code, 3, first.stderr);
      assert.deepEqual([first.summary.streams.payments.loaded, first.summary.streams.payments.dead_lettered], [2, 1]);

      p.write('payments-2.csv', csv('payment_id,customer_id', [[2, 11], [4, 10]]));
      const blocked = await p.run();
      assert.equal(blocked.code, 1);
      assert.match(blocked.summary.error, /check unique\(payment_id\): 1 rows, threshold 0/);
      assert.match(blocked.summary.error, new RegExp(`staging kept in "${schema}"\\."payments__sluice_staged"`));
      const target = await client.query(`SELECT payment_id FROM ${schema}.payments ORDER BY 1`);
      assert.deepEqual(target.rows.map((x) => Number(x.payment_id)), [1, 2]);
      const staged = await client.query(`SELECT count(*)::int AS n FROM ${schema}.payments__sluice_staged`);
      assert.equal(staged.rows[0].n, 1, 'payment 4; payment 2 failed an error check and went to the DLQ');
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});

test('the TypeScript API: checks in definePipeline, the report and score in the summary', async () => {
  const { dir, cleanup } = tempDir('sluice-quality-api-');
  try {
    writeFileSync(join(dir, 'items.csv'), csv('id,qty', [[1, 1], [2, -1], [3, 3]]));
    const p = definePipeline({
      pipeline: 'quality-api',
      sources: [{ name: 'files', type: 'csv', streams: [{ name: 'items', path: 'items.csv' }] }],
      checks: { items: [{ range: { column: 'qty', min: 0 }, severity: 'warn' }, { not_null: ['id'] }] },
    }, { baseDir: dir });
    const s = await runPipeline(p, { home: join(dir, '.sluice') });
    assert.equal(s.status, 'success');
    assert.equal(s.streams.items.loaded, 3);
    const q = s.quality.streams!.items;
    assert.deepEqual(q.checks.map((c) => [c.check, c.failed]), [['range(qty)', 1], ['not_null(id)', 0]]);
    assert.equal(q.validity, 0.666667);
    assert.equal(s.quality.score, q.score);
    assert.throws(() => definePipeline({
      pipeline: 'x', sources: [{ name: 'files', type: 'csv', streams: [{ name: 'items', path: 'items.csv' }] }], checks: { items: [{ rnage: {} }] },
    }), (e: ConfigError) => (e instanceof PipelineConfigError ? e.errors[0] : e).details.suggestion === 'did you mean `range`?');
  } finally {
    cleanup();
  }
});

test('schema contracts: evolve, freeze, discard_value and discard_row, one stream each, over two runs', async () => {
  const contracts = ['evolve', 'freeze', 'discard_value', 'discard_row'] as const;
  const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const first = lines([{ id: 1, qty: 1 }, { id: 2, qty: 2 }]);
  const second = lines([{ id: 3, qty: 3 }, { id: 4, qty: 4, color: 'red' }, { id: 5, qty: 'many' }]);
  const p = project(`pipeline: contracts
concurrency: 4
sources:
  - name: files
    type: ndjson
    streams:
${contracts.map((c) => `      - name: ${c}\n        path: ${c}/items-*.ndjson\n        contract: ${c}\n`).join('')}`,
  Object.fromEntries(contracts.map((c) => [`${c}/items-1.ndjson`, first])));
  try {
    assert.equal((await p.run()).code, 0);
    for (const c of contracts) p.write(`${c}/items-2.ndjson`, second);
    const r = await p.run();
    assert.equal(r.code, 3, 'freeze dead-letters two rows');
    const expected = {
      evolve: { counts: [3, 0, 0], ids: [1, 2, 3, 4, 5], color: true, changes: ['add_column color', 'widen_column qty'] },
      freeze: { counts: [1, 2, 0], ids: [1, 2, 3], color: false, changes: ['reject_column color'] },
      discard_value: { counts: [3, 0, 0], ids: [1, 2, 3, 4, 5], color: false, changes: ['discard_column color'] },
      discard_row: { counts: [1, 0, 2], ids: [1, 2, 3], color: false, changes: ['discard_column color'] },
    };
    const show = JSON.parse((await p.cli('runs', 'show', r.summary.run_id, '--json')).stdout);
    for (const c of contracts) {
      const got = r.summary.streams[c];
      assert.deepEqual([got.loaded, got.dead_lettered, got.filtered], expected[c].counts, `${c}: ${JSON.stringify(got)}`);
      const cols = (await duckQuery(p.warehouse, `SELECT column_name FROM information_schema.columns WHERE table_name = '${c}'`)).map((x) => x.column_name);
      assert.equal(cols.includes('color'), expected[c].color, `${c}: ${cols.join()}`);
      const rows = await duckQuery(p.warehouse, `SELECT id::INT AS id, qty::VARCHAR AS qty FROM "${c}" ORDER BY id`);
      assert.deepEqual(rows.map((x) => x.id), expected[c].ids, c);
      if (c === 'discard_value') assert.equal(rows.find((x) => x.id === 5)!.qty, null);
      if (c === 'evolve') assert.equal(rows.find((x) => x.id === 5)!.qty, 'many');
      const changes = show.schema_changes.filter((x: { stream: string }) => x.stream === c).map((x: { change: string; column: string }) => `${x.change} ${x.column}`);
      assert.deepEqual(changes, expected[c].changes, c);
    }
    const dlq = JSON.parse((await p.cli('dlq', 'list', '--json')).stdout) as { stream: string; stage: string; reason: string }[];
    assert.deepEqual(dlq.map((e) => [e.stream, e.stage]), [['freeze', 'schema'], ['freeze', 'schema']]);
    assert.match(dlq.map((e) => e.reason).join('|'), /column "color" is not in the schema \(contract: freeze\).*"many" is not a valid integer \(contract: freeze\)/);
  } finally {
    p.cleanup();
  }
});
