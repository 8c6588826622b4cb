// `sluice backfill` as users run it: a corrected range reloaded in windows (a PostgreSQL source, so the window's
// lower bound is pushed into the query, and a CSV source, read whole and cut by the gate), the stream's watermark
// left as it is, a crashed backfill resumed at its first unfinished window, and ranges or streams it cannot reload
// refused before any work.
import mysql from 'mysql2/promise';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { startServer } from '../../src/server/serve.js';
import { loadTokens } from '../../src/server/tokens.js';
import { cutWindows } from '../../src/orchestrate/backfill.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';

const rowsOf = (file: string, sql: string) => {
  const db = openDatabase(file, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

test('windows: calendar steps in UTC, dates kept as dates, numbers by a number', () => {
  assert.deepEqual(cutWindows('2024-01-30', '2024-02-02', 'day').map((w) => `${w.from}..${w.to}`), ['2024-01-30..2024-01-31', '2024-01-31..2024-02-01', '2024-02-01..2024-02-02']);
  assert.deepEqual(cutWindows('2024-01-15', '2024-04-01', 'month').map((w) => w.from), ['2024-01-15', '2024-02-15', '2024-03-15']);
  assert.deepEqual(cutWindows('2024-01-01T06:00:00Z', '2024-01-15T00:00:00Z', 'week').map((w) => w.to), ['2024-01-08T06:00:00.000Z', '2024-01-15T00:00:00.000Z']);
  assert.deepEqual(cutWindows('0', '250', 100), [{ from: 0, to: 100 }, { from: 100, to: 200 }, { from: 200, to: 250 }]);
  assert.throws(() => cutWindows('2024-02-01', '2024-01-01', 'day'), /must be before/);
  assert.throws(() => cutWindows('0', '10', 'day'), /numeric range is cut by a number/);
  assert.throws(() => cutWindows('yesterday', '2024-01-01', undefined), /expected dates/);
});

/** `rows` events `step` apart from 2024-01-01 in a fresh schema's PostgreSQL table, every `v` 'old'; the schema's name. */
async function eventsTable(prefix: string, rows: number, step: string): Promise<string> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  await pgQuery(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v text NOT NULL);
    INSERT INTO ${schema}.events SELECT d, timestamptz '2024-01-01 00:00:00Z' + (d - 1) * interval '${step}', 'old' FROM generate_series(1, ${rows}) d;`);
  return schema;
}

/**
 * `p.yaml` in `dir`: pipeline `name` merging `schema`.events into `destination` by its cursor, run once; the state
 * that run left (`sluice state show --json`).
 */
async function copyEvents(dir: string, home: string, name: string, schema: string, destination: string): Promise<string> {
  writeFileSync(join(dir, 'p.yaml'), `pipeline: ${name}
sources:
  - name: pg
    type: postgres
    url: ${PG_URL}
    streams:
      - { name: events, table: ${schema}.events, primary_key: id, cursor: updated_at, write: merge }
destination: ${destination}
`);
  const first = await sluice(['run', join(dir, 'p.yaml'), '--json'], { home });
  assert.equal(first.code, 0, first.stderr);
  return (await sluice(['state', 'show', join(dir, 'p.yaml'), '--json'], { home })).stdout;
}

test('backfill reloads a corrected range from PostgreSQL in windows, leaves the watermark, and resumes after a crash', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  const schema = await eventsTable('bf', 10, '1 day');
  try {
    const stateBefore = await copyEvents(dir, home, 'events-copy', schema, '{ type: sqlite, path: out.db }');

    // A correction upstream that did not move the cursor: an incremental run cannot see it, a backfill can.
    await pgQuery(`UPDATE ${schema}.events SET v = 'fixed' WHERE id BETWEEN 3 AND 5`);
    const bf = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-01-03', '--to', '2024-01-05', '--by', 'day', '--json'], { home });
    assert.equal(bf.code, 0, bf.stderr);
    const record = JSON.parse(bf.stdout) as { id: string; status: string; windows: { from: string; to: string; status: string; runId: string }[] };
    assert.equal(record.status, 'success');
    assert.deepEqual(record.windows.map((w) => [w.from, w.to, w.status]), [['2024-01-03', '2024-01-04', 'success'], ['2024-01-04', '2024-01-05', 'success']]);
    const out = rowsOf(join(dir, 'out.db'), 'SELECT id, v FROM events ORDER BY id');
    assert.deepEqual(out.map((r) => r.v), ['old', 'old', 'fixed', 'fixed', 'old', 'old', 'old', 'old', 'old', 'old'], 'ids 3 and 4 are in the range; 5 is at its exclusive end');
    const windowRun = JSON.parse((await sluice(['runs', 'show', record.windows[0].runId, '--json'], { home })).stdout) as { summary: { streams: { events: { extracted: number; loaded: number; filtered: number } } } };
    const c = windowRun.summary.streams.events;
    assert.equal(c.loaded, 1, 'one day: one row');
    assert.equal(c.extracted, c.loaded + c.filtered, 'counts add up (the rest of the table read past the window is filtered)');
    assert.equal((await sluice(['state', 'show', join(dir, 'p.yaml'), '--json'], { home })).stdout, stateBefore, 'the watermark is untouched');

    // A crash in the second window: the same command runs only what is not done.
    const db = openDatabase(join(home, 'control.db'));
    const doc = JSON.parse((db.prepare('SELECT doc FROM backfills WHERE id = ?').get(record.id) as { doc: string }).doc);
    doc.status = 'running';
    doc.windows[1].status = 'running';
    db.prepare('UPDATE backfills SET doc = ?, status = ? WHERE id = ?').run(JSON.stringify(doc), 'running', record.id);
    db.close();
    await pgQuery(`UPDATE ${schema}.events SET v = 'fixed again' WHERE id = 4`);
    const resumed = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-01-03', '--to', '2024-01-05', '--by', 'day', '--json'], { home });
    assert.equal(resumed.code, 0, resumed.stderr);
    const again = JSON.parse(resumed.stdout) as typeof record;
    assert.equal(again.id, record.id);
    assert.equal(again.windows[0].runId, record.windows[0].runId, 'the finished window did not run again');
    assert.notEqual(again.windows[1].runId, record.windows[1].runId, 'the interrupted window ran again');
    assert.equal(rowsOf(join(dir, 'out.db'), 'SELECT v FROM events WHERE id = 4')[0].v, 'fixed again');
    const audit = (await sluice(['audit', 'list', '--json', '--limit', '100'], { home })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; detail: Record<string, unknown> });
    const started = audit.filter((e) => e.action === 'backfill.started');
    assert.deepEqual(started.map((e) => e.detail.resumed_after), [0, 1]);
    assert.equal(audit.filter((e) => e.action === 'run.started' && (e.detail.trigger === 'backfill')).length, 3);
  } finally {
    await pgQuery(`DROP SCHEMA ${schema} CASCADE`);
    cleanup();
  }
});

test('a CSV stream is backfilled by its cursor; streams it cannot reload are refused before any work', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  try {
    writeFileSync(join(dir, 'orders.csv'), 'id,updated_at,total\n1,2024-03-01T10:00:00+02:00,10\n2,2024-03-02T23:30:00Z,20\n3,2024-03-03T00:00:00Z,30\n4,,40\n');
    writeFileSync(join(dir, 'p.yaml'), `pipeline: csv-orders
sources:
  - name: files
    type: csv
    streams:
      - { name: orders, path: orders.csv, primary_key: id, cursor: updated_at, write: merge, columns: { updated_at: timestamp } }
      - { name: raw, path: orders.csv, write: append }
destination: { type: sqlite, path: out.db }
`);
    const bf = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-03-01T08:00:00Z', '--to', '2024-03-03', '--json'], { home });
    assert.equal(bf.code, 0, bf.stderr);
    assert.deepEqual(rowsOf(join(dir, 'out.db'), 'SELECT id FROM orders ORDER BY id').map((r) => r.id), [1, 2], '08:00Z includes 10:00+02:00; 2024-03-03 excludes midnight; no cursor, no window');
    const noCursor = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-03-01', '--to', '2024-03-02', '--stream', 'raw'], { home });
    assert.equal(noCursor.code, 2);
    assert.match(noCursor.stderr, /a backfill needs streams with a `cursor`: none of the streams chosen has one/);
    const badRange = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-03-05', '--to', '2024-03-01'], { home });
    assert.equal(badRange.code, 2);
    assert.match(badRange.stderr, /must be before --to/);
  } finally {
    cleanup();
  }
});

test('serve starts a backfill through the API and shows its progress', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(join(dir, '.sluice'));
  writeFileSync(join(dir, 'orders.csv'), 'id,updated_at\n1,2024-03-01T10:00:00Z\n2,2024-03-02T10:00:00Z\n3,2024-03-03T10:00:00Z\n');
  writeFileSync(join(dir, 'p.yaml'), `pipeline: api-backfill
sources:
  - name: files
    type: csv
    streams:
      - { name: orders, path: orders.csv, primary_key: id, cursor: updated_at, write: merge }
destination: { type: sqlite, path: out.db }
schedule: { cron: "0 0 1 1 *" }
`);
  const server = await startServer({ paths: [dir], store, logger: silentLogger(), tokens: loadTokens({ env: { SLUICE_TOKEN: 'api-backfill-token' } }), port: 0 });
  const call = (path: string, body?: unknown) => fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST', headers: { authorization: 'Bearer api-backfill-token' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  try {
    const started = await call('/api/pipelines/api-backfill/backfills', { from: '2024-03-01', to: '2024-03-03', by: 'day' });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    let record: { status: string; windows: { status: string }[] } | undefined;
    for (let i = 0; i < 100 && record?.status !== 'success'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      record = (await (await call(`/api/backfills/${id}`)).json()) as typeof record;
    }
    assert.equal(record?.status, 'success');
    assert.deepEqual(record?.windows.map((w) => w.status), ['success', 'success']);
    assert.deepEqual(rowsOf(join(dir, 'out.db'), 'SELECT id FROM orders ORDER BY id').map((r) => r.id), [1, 2]);
    const bad = await call('/api/pipelines/api-backfill/backfills', { from: '2024-03-05', to: '2024-03-01' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /must be before/);
    assert.equal((await call('/api/pipelines/nope/backfills', { from: '1', to: '2' })).status, 404);
    assert.equal(((await (await call('/api/backfills?pipeline=api-backfill')).json()) as { backfills: unknown[] }).backfills.length, 1);
  } finally {
    await server.stop();
    await store.close();
    cleanup();
  }
});

/** A destination for the parallel backfill: its YAML, a count of the loaded rows, and a cleanup. */
async function parallelTarget(kind: 'postgres' | 'mysql', name: string) {
  if (kind === 'postgres') {
    return {
      yaml: `{ type: postgres, url: ${PG_URL}, schema: ${name} }`,
      count: async () => (await pgQuery(`SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'fixed')::int AS fixed FROM ${name}.events`))[0],
      drop: () => pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`),
    };
  }
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    yaml: `{ type: mysql, host: 127.0.0.1, user: root, database: ${name} }`,
    count: async () => {
      const [rows] = await admin.query(`SELECT count(*) AS n, CAST(SUM(v = 'fixed') AS SIGNED) AS fixed FROM ${name}.events`);
      const r = (rows as { n: unknown; fixed: unknown }[])[0];
      return { n: Number(r.n), fixed: Number(r.fixed) };
    },
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

for (const kind of ['postgres', 'mysql'] as const) {
  test(`a parallel backfill into ${kind}: windows run side by side on one table, each once, the state untouched`, async () => {
    const { dir, cleanup } = tempDir();
    const home = join(dir, '.sluice');
    const schema = await eventsTable('bfp', 120, '6 hours');
    const target = await parallelTarget(kind, `${schema}_out`);
    try {
      const stateBefore = await copyEvents(dir, home, 'events-parallel', schema, target.yaml);
      await pgQuery(`UPDATE ${schema}.events SET v = 'fixed' WHERE updated_at >= '2024-01-05' AND updated_at < '2024-01-25'`);
      const bf = await sluice(['backfill', join(dir, 'p.yaml'), '--from', '2024-01-05', '--to', '2024-01-25', '--by', 'day', '--parallel', '4', '--json'], { home });
      assert.equal(bf.code, 0, bf.stderr);
      const record = JSON.parse(bf.stdout) as { status: string; windows: { status: string }[] };
      assert.deepEqual([record.status, record.windows.length, record.windows.filter((w) => w.status === 'success').length], ['success', 20, 20]);
      assert.deepEqual({ ...(await target.count()) }, { n: 120, fixed: 80 }, 'four rows a day for 20 days, every row once');
      assert.equal((await sluice(['state', 'show', join(dir, 'p.yaml'), '--json'], { home })).stdout, stateBefore, 'the watermark is untouched');
    } finally {
      await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await target.drop();
      cleanup();
    }
  });
}
