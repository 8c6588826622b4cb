// `sluice serve` runs each pipeline in a worker thread (src/orchestrate/run-threads.ts). These tests run real
// pipelines (CSV → SQLite) through the threads and check what must cross between them: the summary and the run's
// record in the service's store, log lines to the service's logger, a held lock as a LockedError, a drain, the
// secrets the service registered, and threads that end when idle or closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePipeline } from '../../src/config/load.js';
import { randomBytes } from 'node:crypto';
import { PgControlStore } from '../../src/control/pg-store.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { LockedError } from '../../src/core/errors.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { RunThreads } from '../../src/orchestrate/run-threads.js';
import { PG_URL, capturingLogger, pgQuery, tempDir } from '../helpers.js';

const pipeline = (name: string, path: string, extra = '', db = 'out.db') => `pipeline: ${name}
sources:
  - name: files
    type: csv
    streams:
      - name: rows
        path: ${path}
        primary_key: id
        write: merge
destination: { type: sqlite, path: ${db} }
${extra}`;

function writeRows(file: string, n: number): void {
  const lines = ['id,name,amount'];
  for (let i = 1; i <= n; i++) lines.push(`${i},name-${i},${i}.5`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

async function withThreads(body: (s: { dir: string; store: SqliteControlStore; threads: RunThreads; lines: string[] }) => Promise<void>, idleMs?: number) {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(join(dir, 'home'));
  const { logger, lines } = capturingLogger('info');
  const threads = new RunThreads({ store: store.address, logger, ...(idleMs ? { idleMs } : {}) });
  try {
    await body({ dir, store, threads, lines });
  } finally {
    await threads.close();
    await store.close();
    cleanup();
  }
}

test('a pipeline run in a thread: its summary, its record in the service\'s store, its log lines in the service\'s logger', async () => {
  await withThreads(async ({ dir, store, threads, lines }) => {
    writeRows(join(dir, 'rows.csv'), 500);
    const loaded = parsePipeline(pipeline('threaded', 'rows.csv'), { baseDir: dir });
    const { logger } = capturingLogger('info');
    const summary = await threads.run(loaded, { runId: 'run-threaded-1', actor: 'tester', trigger: 'manual', logger });
    assert.equal(summary.status, 'success');
    assert.equal(summary.run_id, 'run-threaded-1');
    assert.deepEqual([summary.streams.rows.extracted, summary.streams.rows.loaded], [500, 500]);
    assert.equal(threads.size, 1, 'one thread was started for the run');
    const record = await store.getRun('run-threaded-1');
    assert.equal(record?.status, 'success');
    assert.equal(record?.streams[0].counts.loaded, 500);
    const db = openDatabase(join(dir, 'out.db'), { readonly: true });
    assert.deepEqual(db.prepare('SELECT count(*) AS n, sum(amount) AS s FROM rows').get(), { n: 500, s: 500 * 501 / 2 + 250 });
    db.close();
    // The run's own logger was a different one: lines go to the logger the run was given, none to the pool's.
    assert.equal(lines.length, 0);
    // A second run reuses the idle thread.
    await threads.run(loaded, { runId: 'run-threaded-2', logger });
    assert.equal(threads.started, 1, 'the idle thread was reused');
  });
});

test('log lines of a threaded run reach the service\'s logger with the run\'s bindings', async () => {
  await withThreads(async ({ dir, threads, lines }) => {
    writeRows(join(dir, 'rows.csv'), 10);
    const loaded = parsePipeline(pipeline('logged', 'rows.csv'), { baseDir: dir });
    const { logger, lines: runLines } = capturingLogger('info');
    await threads.run(loaded, { runId: 'run-logged', logger: logger.child({ pipeline: 'logged', from: 'serve' }) });
    assert.equal(lines.length, 0);
    assert.ok(runLines.length > 0, 'the run logged something');
    for (const l of runLines) {
      const o = JSON.parse(l) as Record<string, unknown>;
      assert.equal(o.pipeline, 'logged');
      assert.equal(o.from, 'serve');
    }
  });
});

test('a lock held by another run comes back as a LockedError (the executor waits on it); a drain stops the run at a checkpoint', async () => {
  await withThreads(async ({ dir, store, threads }) => {
    writeRows(join(dir, 'rows.csv'), 50_000);
    const loaded = parsePipeline(pipeline('locked', 'rows.csv', 'batch_size: 1000\n'), { baseDir: dir });
    await store.acquireLock('locked', { runId: 'someone-else', pid: process.pid, host: hostname() });
    await assert.rejects(threads.run(loaded, { runId: 'run-locked' }), (e: unknown) => e instanceof LockedError && /lock|running/i.test(e.message));
    await store.releaseLock('locked', 'someone-else');

    const drain = new AbortController();
    drain.abort(new Error('serve is stopping'));
    const summary = await threads.run(loaded, { runId: 'run-drained', drain: drain.signal });
    const rows = summary.streams.rows;
    assert.ok(rows.extracted < 50_000, `drained early: ${rows.extracted} rows read`);
    assert.equal(rows.extracted, rows.loaded + rows.dead_lettered + rows.filtered);
    // What the drained run committed is its checkpoint: the next run reads on from there, and all rows land once.
    const next = await threads.run(loaded, { runId: 'run-after-drain' });
    assert.equal(next.status, 'success');
    const db = openDatabase(join(dir, 'out.db'), { readonly: true });
    assert.deepEqual(db.prepare('SELECT count(*) AS n, count(DISTINCT id) AS d FROM rows').get(), { n: 50_000, d: 50_000 });
    db.close();
  });
});

test('a secret registered where the pipeline was parsed is masked in the thread\'s errors and records', async () => {
  await withThreads(async ({ dir, store, threads }) => {
    const secret = 'hunter2-very-secret-dir';
    const loaded = parsePipeline(pipeline('secretive', '${SECRET_DIR}/missing.csv'), { baseDir: dir, env: { SECRET_DIR: secret } });
    const outcome = await threads.run(loaded, { runId: 'run-secret' }).then((s) => s.error ?? '', (e: Error) => e.message);
    assert.ok(outcome.length > 0, 'the missing file is an error');
    assert.ok(!outcome.includes(secret), outcome);
    const record = await store.getRun('run-secret');
    assert.ok(!JSON.stringify(record ?? {}).includes(secret));
  });
});

test('an idle thread ends after idleMs; close() ends the rest', async () => {
  await withThreads(async ({ dir, threads }) => {
    writeRows(join(dir, 'rows.csv'), 5);
    const one = parsePipeline(pipeline('idle-1', 'rows.csv'), { baseDir: dir });
    const two = parsePipeline(pipeline('idle-2', 'rows.csv', '', 'two.db'), { baseDir: dir });
    await Promise.all([threads.run(one, { runId: 'run-idle-1' }), threads.run(two, { runId: 'run-idle-2' })]);
    // Counted as started, not as alive: the first to finish may already have ended idle while the other ran on.
    assert.equal(threads.started, 2, 'two runs at once: two threads');
    for (let i = 0; i < 100 && threads.size > 0; i++) await sleep(50);
    assert.equal(threads.size, 0);
  }, 200);
});

test('on the PostgreSQL control store, a thread opens the same store by its address: the run, its lock and its record are there', async () => {
  const schema = `sluice_threads_${randomBytes(4).toString('hex')}`;
  const { dir, cleanup } = tempDir();
  const store = new PgControlStore(`${PG_URL}?schema=${schema}`);
  const threads = new RunThreads({ store: store.address, logger: capturingLogger().logger });
  try {
    writeRows(join(dir, 'rows.csv'), 300);
    const loaded = parsePipeline(pipeline('threaded-pg', 'rows.csv'), { baseDir: dir });
    // A lock taken through the service's store is seen by the thread's connection.
    await store.acquireLock('threaded-pg', { runId: 'holder', pid: process.pid, host: hostname() });
    await assert.rejects(threads.run(loaded, { runId: 'run-pg-locked' }), (e: unknown) => e instanceof LockedError);
    await store.releaseLock('threaded-pg', 'holder');
    const summary = await threads.run(loaded, { runId: 'run-pg-1', trigger: 'manual' });
    assert.equal(summary.status, 'success');
    const record = await store.getRun('run-pg-1');
    assert.equal(record?.status, 'success');
    assert.equal(record?.streams[0].counts.loaded, 300);
    assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n FROM "${schema}".runs WHERE run_id = 'run-pg-1'`), [{ n: 1 }]);
  } finally {
    await threads.close();
    await store.close();
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    cleanup();
  }
});
