// The PostgreSQL source through the real engine into the PostgreSQL destination: a whole table with every type, a
// custom query, an incremental read interrupted and resumed across pages full of rows sharing one cursor value
// (every row exactly once), and a row updated after a run picked up by the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RunContext, Source, StreamConfig } from '../../src/core/connector.js';
import type { Batch, StreamState } from '../../src/core/types.js';
import { definePipeline } from '../../src/config/load.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import { postgresDestinationSpec, postgresSourceSpec } from '../../src/connectors/postgres/postgres-spec.js';
import { keysetPage } from '../../src/connectors/sql/keyset.js';
import { runPipeline } from '../../src/engine/runner.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { PostgresSource } from '../../src/connectors/postgres/postgres-source.js';
import { collect, runContext, tempDir } from '../helpers.js';

registerSource(postgresSourceSpec);
registerDestination(postgresDestinationSpec);

const SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

interface Env {
  db: pg.Client;
  src: string;
  out: string;
  home: string;
  pipeline: (streams: Record<string, unknown>[], extra?: Record<string, unknown>) => ReturnType<typeof definePipeline>;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const id = randomBytes(5).toString('hex');
  const src = `sluice_t_${id}_src`;
  const out = `sluice_t_${id}_out`;
  const db = new pg.Client(SERVER);
  await db.connect();
  const { dir, cleanup } = tempDir();
  try {
    await db.query(`CREATE SCHEMA "${src}"`);
    await fn({
      db, src, out, home: dir,
      pipeline: (streams, extra = {}) => definePipeline({
        pipeline: 'pg-source-test',
        sources: [{ name: 'db', type: 'postgres', ...SERVER, streams }],
        destination: { type: 'postgres', ...SERVER, schema: out },
        ...extra,
      }, { baseDir: dir }),
    });
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${src}" CASCADE; DROP SCHEMA IF EXISTS "${out}" CASCADE`);
    await db.end();
    cleanup();
  }
}

test('whole table: every type arrives exactly, declared from the catalog', async () => {
  await withEnv(async ({ db, src, out, home, pipeline }) => {
    await db.query(`CREATE TABLE "${src}".everything (
      id int4 PRIMARY KEY, big int8, num numeric, dbl float8, flag bool, t text, d date, ts timestamptz,
      tsn timestamp, j jsonb, bin bytea, u uuid, arr int4[], bigs int8[], nums numeric[], texts text[],
      stamps timestamptz[], flags bool[], days date[], uuids uuid[], jarr jsonb[])`);
    await db.query(`INSERT INTO "${src}".everything VALUES
      (1, 9223372036854775807, 12345678901234567890.123456789012345678, 0.1, true, E'tab\\there\\nü€', '2024-02-29',
       '2024-03-10 01:30:00.123456-08', '2024-01-01 00:00:00.5', '{"n": 12345678901234567890, "s": "x"}', '\\x00ff5c', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}',
       '{9223372036854775807,NULL}', '{12345678901234567890.123456789012345678,-0.5}', '{"a,b","say \\"hi\\"",NULL,"NULL","","{x}"}',
       '{"2024-03-10 01:30:00.123456-08"}', '{t,f,NULL}', '{2024-02-29}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', ARRAY['{"n": 1}'::jsonb]),
      (2, -1, -0.000000000000000000000000000000000001, -1e300, false, '', '0001-01-01', '1970-01-01 00:00:00+00', NULL, '[1, "two"]', '\\x', NULL, '{}',
       '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const summary = await runPipeline(pipeline([{ name: 'everything', table: `${src}.everything`, primary_key: ['id'] }], { batch_size: 2 }), { home });
    assert.equal(summary.status, 'success', summary.error);
    assert.equal(summary.streams.everything.loaded, 3);
    const types = await db.query(`SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute
      WHERE attrelid = '"${out}".everything'::regclass AND attnum > 0 ORDER BY attnum`);
    assert.deepEqual(types.rows.map((r) => `${r.attname}:${r.t}`), [
      'id:integer', 'big:bigint', 'num:numeric', 'dbl:double precision', 'flag:boolean', 't:text', 'd:date',
      'ts:timestamp with time zone', 'tsn:timestamp with time zone', 'j:jsonb', 'bin:bytea', 'u:uuid', 'arr:integer[]',
      'bigs:bigint[]', 'nums:numeric[]', 'texts:text[]', 'stamps:timestamp with time zone[]', 'flags:boolean[]', 'days:date[]',
      'uuids:uuid[]', 'jarr:jsonb',
    ]);
    // Every value equal, compared by the server (the timestamp without zone read as UTC; an array of jsonb as json).
    const arrays = 'arr, bigs, nums, texts, stamps, flags, days, uuids';
    const diff = await db.query(`
      SELECT id, big, num, dbl, flag, t, d, ts, tsn AT TIME ZONE 'UTC' AS tsn, j, bin, u, ${arrays}, to_jsonb(jarr) AS jarr FROM "${src}".everything
      EXCEPT SELECT id, big, num, dbl, flag, t, d, ts, tsn, j, bin, u, ${arrays}, jarr FROM "${out}".everything`);
    assert.deepEqual(diff.rows, []);
    const num = await db.query(`SELECT num::text, j::text FROM "${out}".everything WHERE id = 1`);
    assert.deepEqual(num.rows, [{ num: '12345678901234567890.123456789012345678', j: '{"n": 12345678901234567890, "s": "x"}' }]);
  });
});

test('rows arrive as canonical arrays; values a column holds and its logical type cannot go to the DLQ', async () => {
  await withEnv(async ({ db, src, out, home, pipeline }) => {
    await db.query(`CREATE TABLE "${src}".odd (id int4 PRIMARY KEY, n numeric, ts timestamptz, tsn timestamp(3));
      INSERT INTO "${src}".odd VALUES (1, 1.50, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00.5'), (2, 'NaN', '2024-01-01 00:00:00.000001+00', NULL),
        (3, 'Infinity', NULL, NULL), (4, '-0', 'infinity', NULL), (5, 2, '-infinity', '1999-12-31 23:59:59.999')`);
    // Straight from the source: arrays under one names array, values already canonical (six fraction digits).
    const source = new PostgresSource({ ...SERVER } as never);
    const ctx = runContext(home, { batchSize: 2 });
    await source.connect(ctx);
    try {
      for (const stream of [{ name: 'odd', table: `${src}.odd`, primary_key: ['id'] }, { name: 'odd', table: `${src}.odd`, primary_key: ['id'], cursor: 'id' }]) {
        const batches = await collect(source.read({ write: 'append', ...stream } as unknown as StreamConfig, undefined, ctx));
        assert.ok(batches.every((b) => b.canonical && b.columns === batches[0].columns), 'one names array, canonical batches');
        assert.deepEqual(batches[0].columns, ['id', 'n', 'ts', 'tsn']);
        assert.deepEqual(batches.flatMap((b) => b.values ?? []), [
          [1, '1.50', '2024-01-01T00:00:00.000000Z', '2024-01-01T00:00:00.500000Z'], [2, 'NaN', '2024-01-01T00:00:00.000001Z', null],
          [3, 'Infinity', null, null], [4, '0', 'infinity', null], [5, '2', '-infinity', '1999-12-31T23:59:59.999000Z'],
        ]);
      }
    } finally {
      await source.close();
    }
    const summary = await runPipeline(pipeline([{ name: 'odd', table: `${src}.odd`, primary_key: ['id'] }]), { home });
    assert.equal(summary.status, 'partial_success', summary.error);
    assert.deepEqual({ loaded: summary.streams.odd.loaded, dead: summary.streams.odd.dead_lettered }, { loaded: 1, dead: 4 });
    const loaded = await db.query(`SELECT id, n::text, ts::text, tsn::text FROM "${out}".odd`);
    assert.deepEqual(loaded.rows, [{ id: 1, n: '1.50', ts: '2024-01-01 00:00:00+00', tsn: '2024-01-01 00:00:00.5+00' }]);
    const store = new SqliteControlStore(home);
    try {
      const reasons = (await store.listDlq({ pipeline: 'pg-source-test' })).map((e) => e.reason).sort();
      assert.deepEqual(reasons, [
        'column "n": "Infinity" is not a valid decimal', 'column "n": "NaN" is not a valid decimal',
        'column "ts": "-infinity" is not a valid timestamp', 'column "ts": "infinity" is not a valid timestamp',
      ]);
    } finally {
      await store.close();
    }
  });
});

test('custom query: columns and types come from the query', async () => {
  await withEnv(async ({ db, src, out, home, pipeline }) => {
    await db.query(`CREATE TABLE "${src}".orders (id int4, amount numeric(12,2), customer text);
      INSERT INTO "${src}".orders SELECT g, g * 1.25, 'c' || (g % 3) FROM generate_series(1, 100) g`);
    const summary = await runPipeline(pipeline([{
      name: 'totals', query: `SELECT customer, sum(amount) AS total, count(*)::int8 AS n FROM "${src}".orders GROUP BY customer;`,
      write: 'replace',
    }]), { home });
    assert.equal(summary.status, 'success', summary.error);
    const r = await db.query(`SELECT customer, total::text, n::text FROM "${out}".totals ORDER BY customer`);
    const expected = await db.query(`SELECT customer, sum(amount)::text AS total, count(*)::text AS n FROM "${src}".orders GROUP BY customer ORDER BY customer`);
    assert.deepEqual(r.rows, expected.rows);
  });
});

/** A source that fails after `limit` batches, like a crash in the middle of a run. */
function interrupted(inner: Source, limit: number): Source {
  return {
    type: inner.type,
    connect: (ctx: RunContext) => inner.connect!(ctx),
    close: () => inner.close!(),
    async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
      let n = 0;
      for await (const batch of inner.read(stream, state, ctx)) {
        if (n++ === limit) throw new Error('simulated crash');
        yield batch;
      }
    },
  };
}

test('incremental: pages inside a run of equal cursor values resume exactly once; updated rows come in the next run', async () => {
  // With an index leading with the cursor, keyset pages; without one, one ordered read (pages would each sort the
  // table): the same positions, the same exactly-once resume.
  for (const indexed of [true, false]) {
    await withEnv(async ({ db, src, out, home, pipeline }) => {
      // 1,000 rows share one timestamp, between runs of distinct ones; pages of 70 split that run many times.
      await db.query(`CREATE TABLE "${src}".events (id int4 PRIMARY KEY, updated_at timestamptz NOT NULL, v text);
        INSERT INTO "${src}".events SELECT g,
          CASE WHEN g BETWEEN 300 AND 1299 THEN '2024-05-01 00:00:00+00'::timestamptz ELSE '2024-01-01'::timestamptz + g * interval '1 minute' END,
          'v' || g FROM generate_series(1, 2000) g;
        ${indexed ? `CREATE INDEX ON "${src}".events (updated_at, id)` : ''}`);
      const streams = [{ name: 'events', table: `${src}.events`, primary_key: ['id'], cursor: 'updated_at', write: 'merge' }];
      const extra = { batch_size: 70, checkpoint_rows: 70 };

      const first = pipeline(streams, extra);
      const inner = await postgresSourceSpec.create(first.config.sources[0] as never);
      const crashed = await runPipeline(first, { home, sources: { db: interrupted(inner, 10) } });
      assert.equal(crashed.status, 'failed');
      const partial = await db.query(`SELECT count(*)::int AS n FROM "${out}".events`);
      assert.equal(partial.rows[0].n, 700, 'ten committed pages');

      const resumed = await runPipeline(pipeline(streams, extra), { home });
      assert.equal(resumed.status, 'success', resumed.error);
      assert.equal(resumed.streams.events.loaded, 1300);
      const counts = await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id) AS lo, max(id) AS hi FROM "${out}".events`);
      assert.deepEqual(counts.rows, [{ n: 2000, d: 2000, lo: 1, hi: 2000 }]);

      // Nothing new: nothing read. Then one row updated and one added after the last run: both in the next run.
      const idle = await runPipeline(pipeline(streams, extra), { home });
      assert.equal(idle.streams.events.loaded, 0);
      await db.query(`UPDATE "${src}".events SET updated_at = now(), v = 'changed' WHERE id = 500;
        INSERT INTO "${src}".events VALUES (2001, now(), 'new')`);
      const next = await runPipeline(pipeline(streams, extra), { home });
      assert.equal(next.status, 'success', next.error);
      assert.equal(next.streams.events.loaded, 2);
      assert.deepEqual(next.streams.events.updated, 1);
      const changed = await db.query(`SELECT id, v FROM "${out}".events WHERE id IN (500, 2001) ORDER BY id`);
      assert.deepEqual(changed.rows, [{ id: 500, v: 'changed' }, { id: 2001, v: 'new' }], indexed ? 'indexed' : 'not indexed');
    });
  }
});

test('parallel: a table read by key slices over 4 connections arrives whole; a crash resumes every slice', async () => {
  await withEnv(async ({ db, src, out, home, pipeline }) => {
    // Gaps in the key (every third id missing) and a skewed range: slices are cut by key, not by count.
    await db.query(`CREATE TABLE "${src}".big (id int8 PRIMARY KEY, v text);
      INSERT INTO "${src}".big SELECT g, 'v' || g FROM generate_series(1, 30000) g WHERE g % 3 <> 0;
      INSERT INTO "${src}".big VALUES (1000000, 'far')`);
    const streams = [{ name: 'big', table: `${src}.big`, primary_key: ['id'], write: 'merge', parallel: 4 }];
    const extra = { batch_size: 500, checkpoint_rows: 500 };
    const first = pipeline(streams, extra);
    const inner = await postgresSourceSpec.create(first.config.sources[0] as never);
    const crashed = await runPipeline(first, { home, sources: { db: interrupted(inner, 12) } });
    assert.equal(crashed.status, 'failed');
    const committed = (await db.query(`SELECT count(*)::int AS n FROM "${out}".big`)).rows[0].n as number;
    // Twelve committed batches of up to 500 (the far slice holds one row).
    assert.ok(committed > 5000 && committed <= 6000, `twelve committed batches (${committed})`);

    const resumed = await runPipeline(pipeline(streams, extra), { home });
    assert.equal(resumed.status, 'success', resumed.error);
    assert.equal(resumed.streams.big.extracted, 20001 - committed, 'each slice resumed after its last committed key');
    const counts = await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${out}".big`);
    assert.deepEqual(counts.rows, [{ n: 20001, d: 20001 }]);
    // Finished: the positions are cleared, so the next run reads the whole table again (merge keeps it exact).
    const again = await runPipeline(pipeline(streams, extra), { home });
    assert.equal(again.streams.big.extracted, 20001);
    assert.deepEqual([again.streams.big.inserted, again.streams.big.updated], [0, 20001]);
  });
});

test('keyset SQL: row values, or the expanded form for dialects without them', () => {
  const pgStyle = { quote: (n: string) => `"${n}"`, placeholder: (n: number) => `$${n}`, rowValues: true };
  assert.deepEqual(keysetPage(pgStyle, ['ts', 'id'], ['t0', 5], ['ts']), {
    where: '"ts" IS NOT NULL AND ("ts", "id") > ($1, $2)', orderBy: '"ts", "id"', params: ['t0', 5],
  });
  const mysqlStyle = { quote: (n: string) => `\`${n}\``, placeholder: () => '?', rowValues: false };
  assert.deepEqual(keysetPage(mysqlStyle, ['ts', 'id'], ['t0', 5]), {
    where: '((`ts` > ?) OR (`ts` = ? AND `id` > ?))', orderBy: '`ts`, `id`', params: ['t0', 't0', 5],
  });
  assert.equal(keysetPage(pgStyle, ['ts'], undefined).where, '');
});

test('a late commit is not missed: rows stamped by a transaction still open wait for it, then load once', async () => {
  await withEnv(async ({ db, src, out, home, pipeline }) => {
    await db.query(`CREATE TABLE "${src}".events (id int4 PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())`);
    await db.query(`CREATE INDEX ON "${src}".events (updated_at)`);
    const streams = [{ name: 'events', table: `${src}.events`, primary_key: ['id'], cursor: 'updated_at', write: 'merge' }];
    // Row 1 is written by a transaction that stays open: its updated_at is the transaction's start.
    const late = new pg.Client(SERVER);
    await late.connect();
    try {
      await late.query('BEGIN');
      await late.query(`INSERT INTO "${src}".events (id) VALUES (1)`);
      await new Promise((r) => setTimeout(r, 20));
      // Row 2 commits meanwhile, stamped later.
      await db.query(`INSERT INTO "${src}".events (id) VALUES (2)`);
      const first = await runPipeline(pipeline(streams), { home });
      assert.equal(first.status, 'success', first.error);
      assert.equal(first.streams.events.loaded, 0, 'row 2 is newer than the open transaction: it waits');
      await late.query('COMMIT');
    } finally {
      await late.end();
    }
    const second = await runPipeline(pipeline(streams), { home });
    assert.equal(second.streams.events.loaded, 2, 'row 1, committed late, and row 2');
    const third = await runPipeline(pipeline(streams), { home });
    assert.equal(third.streams.events.loaded, 0);
    const rows = await db.query(`SELECT id FROM "${out}".events ORDER BY id`);
    assert.deepEqual(rows.rows.map((r) => r.id), [1, 2]);
  });
});
