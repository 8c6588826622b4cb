// Values real sources send every day that must land exactly or be dead-lettered with their reason, never lost or
// corrupted silently, with the rest of the load landing and the counts adding up (issue 22).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePipeline } from '../../src/config/load.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { runPipeline } from '../../src/engine/runner.js';
import { definePipeline } from '../../src/index.js';
import type { Source } from '../../src/core/connector.js';
import mysql from 'mysql2/promise';
import { duckQuery, pgQuery, tempDir } from '../helpers.js';

test('keys named __proto__, constructor and toString are ordinary columns: records lacking them load NULL there', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'r.ndjson'), [
      '{"id": 1, "__proto__": "p", "constructor": "c", "toString": "t"}',
      '{"id": 2}',
      '{"id": 3, "constructor": null}',
    ].join('\n') + '\n');
    const loaded = parsePipeline(`pipeline: protos
sources:
  - name: f
    type: ndjson
    streams: [{ name: r, path: r.ndjson, primary_key: [id], write: merge }]
`, { baseDir: dir });
    const summary = await runPipeline(loaded, { home: join(dir, 'home') });
    assert.equal(summary.status, 'success', summary.error);
    assert.equal(summary.streams.r.loaded, 3);
    const rows = await duckQuery(join(dir, 'home', 'warehouse.duckdb'),
      'SELECT id::INT AS id, "__proto__" AS p, "constructor" AS c, "toString" AS t FROM r ORDER BY id');
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { id: 1, p: 'p', c: 'c', t: 't' },
      { id: 2, p: null, c: null, t: null },
      { id: 3, p: null, c: null, t: null },
    ]);
  } finally {
    cleanup();
  }
});

test('PostgreSQL: a NUL in text or JSON dead-letters its row with the reason and the rest loads; strip_nul removes it', async () => {
  const { dir, cleanup } = tempDir();
  const schema = `sluice_nul_${randomBytes(5).toString('hex')}`;
  try {
    // Row 2 has a NUL in a text field, row 4 a \u0000 escape in JSON; row 5's `\\u0000` is an escaped backslash.
    writeFileSync(join(dir, 'n.csv'), [
      'id,note,doc,tags',
      '1,plain,"{""a"":1}",x',
      '2,"bad\0byte","{""a"":2}",x',
      '3,fine,"{""a"":3}",x',
      '4,ok,"{""a"":""\\u0000""}",x',
      '5,ok,"{""a"":""\\\\u0000""}",x',
    ].join('\n') + '\n');
    const pipeline = (name: string, strip: boolean) => parsePipeline(`pipeline: ${name}
sources:
  - name: f
    type: csv
    streams:
      - name: n
        path: n.csv
        primary_key: [id]
        write: merge
        destination_table: ${name.replace(/-/g, '_')}
        columns: { id: integer, note: text, doc: json }
${strip ? '        strip_nul: true\n' : ''}destination: { type: postgres, host: 127.0.0.1, user: postgres, database: test, schema: ${schema} }
`, { baseDir: dir });
    const home = join(dir, 'home');
    const refused = await runPipeline(pipeline('nul-refused', false), { home });
    assert.equal(refused.status, 'partial_success', refused.error);
    assert.deepEqual(refused.streams.n, { extracted: 5, loaded: 3, dead_lettered: 2, filtered: 0, inserted: 3, updated: 0, deleted: 0 });
    const ids = await pgQuery(`SELECT id FROM "${schema}".nul_refused ORDER BY id`);
    assert.deepEqual(ids.map((r) => r.id), [1, 3, 5]);
    const [five] = await pgQuery(`SELECT doc->>'a' AS a FROM "${schema}".nul_refused WHERE id = 5`);
    assert.equal(five.a, '\\u0000', 'an escaped backslash before u0000 is no NUL');
    const store = new SqliteControlStore(home);
    try {
      const dlq = await store.listDlq({ pipeline: 'nul-refused' });
      assert.equal(dlq.length, 2);
      for (const e of dlq) assert.match(e.reason, /^column "(note|doc)": PostgreSQL text cannot hold the NUL character \(U\+0000\); `strip_nul: true`/);
    } finally {
      await store.close();
    }

    const stripped = await runPipeline(pipeline('nul-stripped', true), { home });
    assert.equal(stripped.status, 'success', stripped.error);
    assert.equal(stripped.streams.n.loaded, 5);
    const rows = await pgQuery(`SELECT id, note, doc->>'a' AS a FROM "${schema}".nul_stripped ORDER BY id`);
    assert.deepEqual(rows.map((r) => [r.id, r.note, r.a]), [[1, 'plain', '1'], [2, 'badbyte', '2'], [3, 'fine', '3'], [4, 'ok', ''], [5, 'ok', '\\u0000']]);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    cleanup();
  }
});

test('a stream that fails mid-load counts as loaded only what its commits made visible', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // 2,500 rows in batches of 500 with a checkpoint each, then the source breaks; commits every 1,000 rows.
    const breaking: Source = {
      type: 'breaking',
      async *read(_stream, state) {
        const from = Number((state?.connector as { next?: number } | undefined)?.next ?? 0);
        for (let b = from; b < 5; b++) {
          yield { rows: Array.from({ length: 500 }, (_, i) => ({ id: b * 500 + i })), checkpoint: { version: 1, connector: { next: b + 1 } } };
        }
        throw new Error('the source broke');
      },
    };
    const config = definePipeline({
      pipeline: 'breaks', checkpoint_rows: 1000,
      sources: [{ name: 'b', type: 'csv', streams: [{ name: 'items', path: 'unused.csv' }] }],
    }, { baseDir: dir });
    const s = await runPipeline(config, { home: join(dir, 'home'), sources: { b: breaking } });
    assert.equal(s.status, 'failed');
    assert.equal(s.streams.items.extracted, 2500);
    assert.equal(s.streams.items.loaded, 2000, 'the last 500 rows were written but rolled back');
    const [n] = await duckQuery(join(dir, 'home', 'warehouse.duckdb'), 'SELECT count(*)::INT AS n FROM items');
    assert.equal(n.n, s.streams.items.loaded);
  } finally {
    cleanup();
  }
});

test('big numbers from JSON land exactly: 64-bit ids as bigint, long decimals, nested numbers in json (DuckDB, PostgreSQL)', async () => {
  const { dir, cleanup } = tempDir();
  const schema = `sluice_big_${randomBytes(5).toString('hex')}`;
  try {
    writeFileSync(join(dir, 'b.ndjson'), [
      '{"id": 1, "big": 9223372036854775807, "neg": -9007199254740993, "wide": 12345678901234567890, "amount": 123456789012345678.123456789, "doc": {"x": 12345678901234567890, "y": [0.10000000000000000001]}, "auto_int": 9007199254740993, "auto_dec": 12345678901234567.123456789}',
      '{"id": 2, "big": 1, "neg": -1, "wide": 2, "amount": 0.5, "doc": {"x": 1}, "auto_int": 2, "auto_dec": 2.5}',
      // More digits after the point than DuckDB's DECIMAL(38,9) keeps: refused there, exact in PostgreSQL.
      '{"id": 3, "amount": 0.1000000000000000055511151231257827}',
    ].join('\n') + '\n');
    const yaml = (destination: string) => `pipeline: big-numbers
sources:
  - name: f
    type: ndjson
    streams:
      - name: b
        path: b.ndjson
        primary_key: [id]
        write: merge
        columns: { id: integer, big: bigint, neg: bigint, wide: decimal, amount: decimal, doc: json }
${destination}`;
    const want = {
      big: '9223372036854775807', neg: '-9007199254740993', wide: '12345678901234567890', amount: '123456789012345678.123456789',
      auto_int: '9007199254740993', auto_dec: '12345678901234567.123456789',
    };
    const trim = (v: unknown) => String(v).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');

    const home = join(dir, 'home');
    const duck = await runPipeline(parsePipeline(yaml(''), { baseDir: dir }), { home });
    assert.equal(duck.status, 'partial_success', duck.error);
    assert.deepEqual([duck.streams.b.loaded, duck.streams.b.dead_lettered], [2, 1]);
    const [d] = await duckQuery(join(home, 'warehouse.duckdb'),
      'SELECT big::VARCHAR AS big, neg::VARCHAR AS neg, wide::VARCHAR AS wide, amount::VARCHAR AS amount, doc::VARCHAR AS doc, auto_int::VARCHAR AS auto_int, auto_dec::VARCHAR AS auto_dec FROM b WHERE id = 1');
    assert.deepEqual(Object.fromEntries(Object.entries(want).map(([k]) => [k, trim(d[k])])), want);
    assert.equal(d.doc, '{"x":12345678901234567890,"y":[0.10000000000000000001]}');
    const store = new SqliteControlStore(home);
    try {
      const [refused] = await store.listDlq({ pipeline: 'big-numbers' });
      assert.match(refused.reason, /^column "amount": DuckDB's DECIMAL\(38,9\) cannot hold 0\.1000000000000000055511151231257827 exactly \(34 digits after the point/);
    } finally {
      await store.close();
    }

    const pg = await runPipeline(parsePipeline(yaml(`destination: { type: postgres, host: 127.0.0.1, user: postgres, database: test, schema: ${schema} }\n`), { baseDir: dir }), { home: join(dir, 'home-pg') });
    assert.equal(pg.status, 'success', pg.error);
    assert.equal(pg.streams.b.loaded, 3);
    const [p] = await pgQuery(`SELECT big::text AS big, neg::text AS neg, wide::text AS wide, amount::text AS amount, doc::text AS doc,
      auto_int::text AS auto_int, auto_dec::text AS auto_dec FROM "${schema}".b WHERE id = 1`);
    assert.deepEqual({ ...p, doc: undefined }, { ...want, doc: undefined });
    assert.equal(p.doc, '{"x": 12345678901234567890, "y": [0.10000000000000000001]}');
    const [three] = await pgQuery(`SELECT amount::text AS amount FROM "${schema}".b WHERE id = 3`);
    assert.equal(three.amount, '0.1000000000000000055511151231257827');
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    cleanup();
  }
});

test('lookback: rows that commit behind the watermark are read again and loaded once (SQLite ids, PostgreSQL timestamps)', async () => {
  const { dir, cleanup } = tempDir();
  const schema = `sluice_lb_${randomBytes(5).toString('hex')}`;
  try {
    // SQLite, an integer cursor: ids 3 and 4 commit after 5 was loaded (a sequence handed out before the commits).
    const db = openDatabase(join(dir, 'src.sqlite'));
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (5, 'e')");
    const sqlite = (lookback: string) => parsePipeline(`pipeline: lookback-${lookback ? 'on' : 'off'}
sources:
  - name: s
    type: sqlite
    path: src.sqlite
    streams: [{ name: t, table: t, primary_key: [id], cursor: id, write: merge${lookback} }]
destination: { type: sqlite, path: out-${lookback ? 'on' : 'off'}.sqlite }
`, { baseDir: dir });
    const home = join(dir, 'home');
    for (const lookback of ['', ', lookback: 3']) assert.equal((await runPipeline(sqlite(lookback), { home })).streams.t.loaded, 3);
    db.exec("INSERT INTO t VALUES (3, 'c'), (4, 'd')");
    const without = await runPipeline(sqlite(''), { home });
    assert.deepEqual([without.streams.t.extracted, without.streams.t.loaded], [0, 0], 'without lookback, ids 3 and 4 are behind the watermark');
    const withLookback = await runPipeline(sqlite(', lookback: 3'), { home });
    assert.equal(withLookback.status, 'success', withLookback.error);
    assert.deepEqual([withLookback.streams.t.extracted, withLookback.streams.t.inserted], [4, 2], 'ids 2 to 5 read again; 3 and 4 are new');
    const out = openDatabase(join(dir, 'out-on.sqlite'), { readonly: true });
    assert.deepEqual((out.prepare('SELECT id FROM t ORDER BY id').all() as { id: number }[]).map((r) => r.id), [1, 2, 3, 4, 5]);
    out.close();

    // The same with write: append: the rows read again that a run loaded are filtered, the late ones load once.
    db.exec('DELETE FROM t WHERE id IN (3, 4)');
    const append = parsePipeline(`pipeline: lookback-append
sources:
  - name: s
    type: sqlite
    path: src.sqlite
    streams: [{ name: t, table: t, primary_key: [id], cursor: id, lookback: 3 }]
destination: { type: sqlite, path: out-append.sqlite }
`, { baseDir: dir });
    assert.equal((await runPipeline(append, { home })).streams.t.loaded, 3);
    db.exec("INSERT INTO t VALUES (3, 'c'), (4, 'd')");
    const appended = await runPipeline(append, { home });
    assert.deepEqual([appended.streams.t.extracted, appended.streams.t.loaded, appended.streams.t.filtered], [4, 2, 2], 'ids 2 and 5 were loaded before');
    const quiet = await runPipeline(append, { home });
    assert.deepEqual([quiet.streams.t.extracted, quiet.streams.t.loaded, quiet.streams.t.filtered], [4, 0, 4], 'ids 2 to 5 read again, none twice');
    const outAppend = openDatabase(join(dir, 'out-append.sqlite'), { readonly: true });
    assert.deepEqual((outAppend.prepare('SELECT id FROM t ORDER BY id').all() as { id: number }[]).map((r) => r.id), [1, 2, 3, 4, 5]);
    outAppend.close();
    db.close();

    // PostgreSQL, a timestamp cursor: a row stamped 5 minutes in the past arrives after a run (an event time).
    await pgQuery(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".ev (id int PRIMARY KEY, at timestamptz NOT NULL);
      INSERT INTO "${schema}".ev VALUES (1, now() - interval '1 hour'), (2, now())`);
    const pg = parsePipeline(`pipeline: lookback-pg
sources:
  - name: p
    type: postgres
    host: 127.0.0.1
    user: postgres
    database: test
    streams: [{ name: ev, table: ${schema}.ev, primary_key: [id], cursor: at, write: merge, lookback: 10m }]
`, { baseDir: dir });
    assert.equal((await runPipeline(pg, { home })).streams.ev.loaded, 2);
    await pgQuery(`INSERT INTO "${schema}".ev VALUES (3, now() - interval '5 minutes')`);
    const late = await runPipeline(pg, { home });
    assert.equal(late.status, 'success', late.error);
    assert.equal(late.streams.ev.inserted, 1, 'the row 5 minutes behind the watermark is within the 10m lookback');
    const ids = await duckQuery(join(home, 'warehouse.duckdb'), 'SELECT id::INT AS id FROM ev ORDER BY id');
    assert.deepEqual(ids.map((r) => r.id), [1, 2, 3]);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    cleanup();
  }
});

test('an inferred decimal with more digits than DuckDB\'s DECIMAL(38,9) widens its column to text; with on_schema_change: reject, the row goes to the DLQ', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'w.ndjson'), '{"id": 1, "x": 2.5}\n{"id": 2, "x": 0.1000000000000000055511151231257827}\n{"id": 3, "x": 12345678901234567890123}\n');
    const pipeline = (name: string, policy: string) => parsePipeline(`pipeline: ${name}
sources:
  - name: f
    type: ndjson
    streams: [{ name: ${name.replace(/-/g, '_')}, path: w.ndjson, columns: { id: integer }${policy} }]
`, { baseDir: dir });
    const home = join(dir, 'home');
    const widened = await runPipeline(pipeline('widens', ''), { home });
    assert.equal(widened.status, 'success', widened.error);
    assert.equal(widened.streams.widens.loaded, 3);
    const rows = await duckQuery(join(home, 'warehouse.duckdb'), 'SELECT id::INT AS id, x, typeof(x) AS t FROM widens ORDER BY id');
    assert.deepEqual(rows.map((r) => [r.id, r.x, r.t]), [
      [1, '2.5', 'VARCHAR'], [2, '0.1000000000000000055511151231257827', 'VARCHAR'], [3, '12345678901234567890123', 'VARCHAR'],
    ]);
    const refused = await runPipeline(pipeline('refuses', ', on_schema_change: reject'), { home });
    assert.deepEqual([refused.streams.refuses.loaded, refused.streams.refuses.dead_lettered], [2, 1]);
    const store = new SqliteControlStore(home);
    try {
      const [e] = await store.listDlq({ pipeline: 'refuses' });
      assert.match(e.reason, /^column "x": "0\.1000000000000000055511151231257827" has more digits than the destination's DECIMAL\(38,9\) holds/);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

/** A server whose table, made by its owner, refuses values no check of Sluice's foresees. */
interface RefusingServer {
  name: string;
  /** Create the tables (ENUM, CHECK, NOT NULL) in a fresh schema/database; returns the destination's YAML. */
  setup(tables: string[]): Promise<string>;
  count(table: string): Promise<{ n: number; d: number }>;
  drop(): Promise<void>;
}

function refusingPostgres(): RefusingServer {
  const schema = `sluice_refuse_${randomBytes(5).toString('hex')}`;
  return {
    name: 'PostgreSQL',
    async setup(tables) {
      await pgQuery(`CREATE SCHEMA "${schema}"`);
      await pgQuery(`CREATE TYPE "${schema}".status AS ENUM ('new', 'paid')`);
      for (const t of tables) {
        await pgQuery(`CREATE TABLE "${schema}".${t} (id int ${t === 'merged' ? 'PRIMARY KEY' : ''}, amount numeric CHECK (amount >= 0),
          status "${schema}".status, note text NOT NULL)`);
      }
      return `{ type: postgres, host: 127.0.0.1, user: postgres, database: test, schema: ${schema} }`;
    },
    async count(t) {
      const [n] = await pgQuery(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${schema}".${t}`);
      return { n: Number(n.n), d: Number(n.d) };
    },
    async drop() {
      await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

function refusingMariadb(): RefusingServer {
  const db = `sluice_refuse_${randomBytes(5).toString('hex')}`;
  const query = async (sql: string) => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    try {
      return (await c.query(sql))[0] as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };
  return {
    name: 'MariaDB',
    async setup(tables) {
      await query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
      for (const t of tables) {
        await query(`CREATE TABLE \`${db}\`.${t} (id int ${t === 'merged' ? 'PRIMARY KEY' : ''}, amount decimal(10,2) CHECK (amount >= 0),
          status ENUM('new', 'paid'), note text NOT NULL)`);
      }
      return `{ type: mysql, host: 127.0.0.1, user: root, database: ${db} }`;
    },
    async count(t) {
      const [n] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM \`${db}\`.${t}`);
      return { n: Number(n.n), d: Number(n.d) };
    },
    async drop() {
      await query(`DROP DATABASE IF EXISTS \`${db}\``);
    },
  };
}

for (const server of [refusingPostgres, refusingMariadb]) {
  test(`${server().name}: a value the table refuses that no check foresaw (CHECK, NOT NULL, enum) dead-letters its row; the rest loads once`, async () => {
    const { dir, cleanup } = tempDir();
    const s = server();
    try {
      // 3,000 rows; the table refuses three of them, the first one after several commits.
      const bad = new Map([[1500, '-1,paid,x'], [2001, '5,lost,x'], [2999, '5,paid,']]);
      const lines = ['id,amount,status,note'];
      for (let i = 1; i <= 3000; i++) lines.push(`${i},${bad.get(i) ?? `${i % 97},${i % 2 ? 'new' : 'paid'},x`}`);
      writeFileSync(join(dir, 'o.csv'), lines.join('\n') + '\n');
      const destination = await s.setup(['appended', 'merged']);
      const config = parsePipeline(`pipeline: refusals
checkpoint_rows: 1000
batch_size: 400
sources:
  - name: f
    type: csv
    streams:
      - { name: appended, path: o.csv, columns: { id: integer, amount: decimal } }
      - { name: merged, path: o.csv, primary_key: [id], write: merge, columns: { id: integer, amount: decimal } }
transforms:
  appended: [{ trim: [note] }]
  merged: [{ trim: [note] }]
destination: ${destination}
`, { baseDir: dir });
      const home = join(dir, 'home');
      const run = await runPipeline(config, { home });
      assert.equal(run.status, 'partial_success', run.error);
      for (const t of ['appended', 'merged'] as const) {
        assert.deepEqual(run.streams[t], { extracted: 3000, loaded: 2997, dead_lettered: 3, filtered: 0, inserted: 2997, updated: 0, deleted: 0 }, t);
        assert.deepEqual(await s.count(t), { n: 2997, d: 2997 }, `${t}: every accepted row once`);
        // Read again from its last commit, the stream's step counts each row once, as the stream's own counts do.
        assert.deepEqual(run.transformers![t].map(({ duration_ms: _, ...c }) => c), [
          { step: 0, name: 'trim', records_in: 3000, records_out: 3000, failed: 0, filtered: 0 },
        ], t);
      }
      const store = new SqliteControlStore(home);
      try {
        for (const stream of ['appended', 'merged']) {
          const dlq = await store.listDlq({ pipeline: 'refusals', stream });
          assert.deepEqual(dlq.map((e) => [e.stage, JSON.parse(e.raw).id]), [['load', '1500'], ['load', '2001'], ['load', '2999']]);
          assert.match(dlq[0].reason, /check constraint|CONSTRAINT/i);
          assert.match(dlq[1].reason, /enum|status/i);
          assert.match(dlq[2].reason, /null/i);
        }
      } finally {
        store.close();
      }
      const again = await runPipeline(config, { home });
      assert.deepEqual([again.streams.appended.extracted, again.streams.merged.loaded], [0, 0], 'the file was read to its end once');
    } finally {
      await s.drop();
      cleanup();
    }
  });
}
