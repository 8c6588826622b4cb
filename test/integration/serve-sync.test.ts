// `sluice serve` with sync files beside pipelines: a mode: hash sync runs on its schedule and on a trigger, recorded
// in the run ledger like a pipeline's run; a mode: cdc sync streams continuously, restarts with a changed file, stops
// with a removed one and drains on SIGTERM; each stream's lag (the slot's, for PostgreSQL; the binary log's, for
// MariaDB) is sampled into /metrics, and the lag and a failed stream alert through a webhook to a loopback receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { silentLogger } from '../../src/core/logger.js';
import { startServer } from '../../src/server/serve.js';
import { loadTokens } from '../../src/server/tokens.js';
import { binlogBytes, lagProbe } from '../../src/sync/cdc/lag.js';
import { PG_URL, pgQuery, sluice } from '../helpers.js';
import { exited, pgToPg, until, withSync } from '../support/pg-sync.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

const rows = async (schema: string) => Number((await pgQuery(`SELECT count(*)::int AS n FROM ${schema}.items`))[0].n);

test('serve runs a scheduled mode: hash sync: rows reach side b, each run is in the ledger with its counts, a trigger through the API runs it again', async () => {
  await withSync(async ({ name, dir, home, write }) => {
    const sync = name.replaceAll('_', '-');
    writeFileSync(join(dir, 'tokens.txt'), `ops: ${TOKEN}\n`);
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, v text); CREATE TABLE ${name}_b.items (id int PRIMARY KEY, v text);
      INSERT INTO ${name}_a.items SELECT i, 'v' || i FROM generate_series(1, 3) i`);
    write(pgToPg(name).replace(/mode: cdc\ncdc: .*\n/, 'mode: hash\nschedule: { every: 2s }\n'));
    const s = serve(dir, home, 'serve');
    try {
      const url = await s.url;
      await until('the scheduled run to copy the rows', async () => (await rows(`${name}_b`)) === 3);
      await until('the run in the ledger', async () => (await api(url, `/api/runs?pipeline=${sync}`)).body.runs.some((r: { status: string }) => r.status === 'success'));
      const [first] = ((await api(url, `/api/runs?pipeline=${sync}&limit=200`)).body.runs as { status: string; streams: Record<string, { loaded: number; inserted: number }> }[])
        .filter((r) => r.status === 'success').slice(-1);
      assert.deepEqual([first.streams.items.inserted, first.streams.items.loaded], [3, 3], 'the first run wrote the three rows');

      const view = await api(url, `/api/syncs/${sync}`);
      assert.equal(view.status, 200);
      assert.equal(view.body.mode, 'hash');
      assert.equal(view.body.schedule.every, '2s');
      assert.ok(Date.parse(view.body.next_run) > Date.now() - 2000);
      assert.equal((await api(url, '/api/pipelines')).body.invalid_files.length, 0, 'a sync file is no invalid pipeline');

      await pgQuery(`INSERT INTO ${name}_a.items VALUES (4, 'four')`);
      const trig = await api(url, `/api/syncs/${sync}/runs`, { method: 'POST' });
      assert.equal(trig.status, 202, trig.text);
      await until('the trigger\'s run', async () => (await api(url, '/api/audit?limit=1000')).body.entries
        .some((e: { action: string; actor: string; pipeline: string }) => e.action === 'run.finished' && e.actor === 'token:ops' && e.pipeline === sync));
      assert.equal(await rows(`${name}_b`), 4);

      const metrics = await api(url, '/metrics');
      assert.match(metrics.text, new RegExp(`sluice_runs_total\\{pipeline="${sync}",status="success"\\} [1-9]`));
      assert.match(metrics.text, new RegExp(`sluice_rows_total\\{pipeline="${sync}",stream="items",outcome="loaded"\\} [1-9]`));
      s.child.kill('SIGTERM');
      assert.equal(await exited(s.child), 0, s.log());
    } finally {
      s.child.kill('SIGKILL');
    }
    const runs = await sluice(['runs', '--json'], { home });
    assert.ok((JSON.parse(runs.stdout) as { runs: { pipeline: string }[] }).runs.some((r) => r.pipeline === sync), '`sluice runs` lists the sync\'s runs');
  }, 'hs');
});

test('serve streams a mode: cdc sync: a row on side a reaches side b within seconds; the slot\'s lag on /metrics; a changed file restarts the stream; SIGTERM drains and exits 0', async () => {
  await withSync(async ({ name, dir, home, write }) => {
    const sync = name.replaceAll('_', '-');
    const slot = `sluice_${name}_a`;
    writeFileSync(join(dir, 'tokens.txt'), `ops: ${TOKEN}\n`);
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, v text); CREATE TABLE ${name}_b.items (id int PRIMARY KEY, v text);
      INSERT INTO ${name}_a.items VALUES (1, 'one')`);
    write(pgToPg(name));
    const s = serve(dir, home, 'serve', ['--sync-sample', '0.2s']);
    try {
      const url = await s.url;
      await until('the snapshot', async () => (await rows(`${name}_b`)) === 1);
      await until('the stream', async () => s.log().includes('sync streaming'));
      const started = Date.now();
      await pgQuery(`INSERT INTO ${name}_a.items VALUES (2, 'two')`);
      await until('the row on side b', async () => (await rows(`${name}_b`)) === 2, 5000);
      assert.ok(Date.now() - started < 5000, 'applied within seconds');

      let metrics = '';
      await until('the lag sampled', async () => {
        metrics = (await api(url, '/metrics')).text;
        return metrics.includes(`sluice_sync_lag_bytes{sync="${sync}",stream="a_to_b"}`) && metrics.includes(`sluice_sync_changes_total{sync="${sync}",stream="a_to_b",op="upsert"} 1`);
      });
      for (const series of [`sluice_sync_wal_retained_bytes{sync="${sync}",stream="a_to_b"}`, `sluice_sync_streaming{sync="${sync}",stream="a_to_b"} 1`,
        `sluice_sync_transactions_total{sync="${sync}",stream="a_to_b"} 1`, `sluice_sync_wal_status{sync="${sync}",stream="a_to_b",wal_status="reserved"} 1`,
        `sluice_sync_last_commit_timestamp_seconds{sync="${sync}",stream="a_to_b"}`, `sluice_sync_lag_seconds{sync="${sync}",stream="a_to_b"}`]) {
        assert.ok(metrics.includes(series), series);
      }
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      assert.equal(promtool.error, undefined, 'promtool (Debian package prometheus) must be installed: .ci/run unpacks it');
      assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
      const view = (await api(url, `/api/syncs/${sync}`)).body;
      assert.equal(view.streams[0].state, 'streaming');
      assert.equal(typeof view.streams[0].lag_bytes, 'number');
      assert.equal((await api(url, `/api/syncs/${sync}/runs`, { method: 'POST' })).status, 409, 'a stream has no runs to trigger');

      // A changed file: the stream is drained and started again with it, from the position it kept.
      write(pgToPg(name).replace('heartbeat_seconds: 0.2', 'heartbeat_seconds: 0.3'));
      await until('the restart', async () => s.log().split('sync streaming').length === 3);
      assert.ok(s.log().includes('sync drained'));
      await pgQuery(`INSERT INTO ${name}_a.items VALUES (3, 'three')`);
      await until('the row after the restart', async () => (await rows(`${name}_b`)) === 3, 5000);

      // SIGTERM while a transaction streams in: it is applied whole, and serve exits 0.
      const writer = new pg.Client(PG_URL);
      await writer.connect();
      try {
        await writer.query(`INSERT INTO ${name}_a.items SELECT i, 'bulk' FROM generate_series(100, 20099) i`);
      } finally {
        await writer.end();
      }
      s.child.kill('SIGTERM');
      assert.equal(await exited(s.child), 0, s.log());
      const n = await rows(`${name}_b`);
      assert.ok(n === 3 || n === 20_003, `the bulk transaction applied whole or not at all (${n} rows)`);
      assert.equal((await pgQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = '${slot}'`))[0].active, false, 'the slot let go');
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 'sc');
});

test('serve alerts on sync lag and on a failed stream through a webhook; a removed sync file stops its stream', async () => {
  await withSync(async ({ name, dir, home, write }) => {
    const sync = name.replaceAll('_', '-');
    const got: Record<string, string>[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got.push(JSON.parse(body) as Record<string, string>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    writeFileSync(join(dir, 'sluice.yaml'), `alerts:
  channels:
    hook: { type: webhook, url: "http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook", secret: "hook-secret-for-tests" }
  rules:
    - { when: sync_lag, threshold: 33554432, channels: [hook] }
    - { when: sync_stopped, channels: [hook] }
`);
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, v text); CREATE TABLE ${name}_b.items (id int PRIMARY KEY, v text)`);
    write(pgToPg(name));
    const store = new SqliteControlStore(home);
    const server = await startServer({
      paths: [dir], store, logger: silentLogger(), tokens: loadTokens({ env: { SLUICE_TOKEN: TOKEN } }), port: 0, alertIntervalMs: 200, watchMs: 100,
      syncStreams: { home, lagSampleMs: 200, restartMs: 200, restartMaxMs: 400 },
    });
    const blocker = new pg.Client(PG_URL);
    await blocker.connect();
    const events = (rule: string, event: string) => got.filter((g) => g.rule.startsWith(rule) && g.event === event && g.pipeline === sync);
    try {
      const streaming = () => server.service.syncStreams.views(sync)[0]?.state === 'streaming';
      await until('the stream', async () => streaming());
      // Side b's table locked: the stream cannot apply a first row, and the slot falls behind by all side a writes after
      // it (~60 MB). (While no transaction waits, heartbeats keep the slot up with the log, even in the middle of a large
      // transaction being written: that one is still sent whole once it commits.)
      await blocker.query(`BEGIN; LOCK TABLE ${name}_b.items IN ACCESS EXCLUSIVE MODE`);
      await pgQuery(`INSERT INTO ${name}_a.items VALUES (0, 'first')`);
      await until('the stream waiting on the lock', async () => (await pgQuery(`SELECT 1 FROM pg_locks WHERE relation = '${name}_b.items'::regclass AND NOT granted`)).length > 0);
      await pgQuery(`INSERT INTO ${name}_a.items SELECT i, repeat('x', 200) FROM generate_series(1, 200000) i`);
      await until('the lag alert', async () => events('sync_lag', 'alert.firing').length > 0, 30_000);
      const firing = events('sync_lag', 'alert.firing')[0];
      assert.match(firing.summary, /stream a_to_b: .* of the source's log not applied \(limit 32\.0 MiB\)/);
      assert.equal(firing.severity, 'warning');
      await blocker.query('COMMIT');
      await until('the lag resolved', async () => events('sync_lag', 'alert.resolved').length > 0, 60_000);
      await until('every row on side b', async () => (await rows(`${name}_b`)) === 200_001, 60_000);

      // The target table gone: applying fails, the stream starts again and again, and the failure alerts.
      await pgQuery(`DROP TABLE ${name}_b.items`);
      await pgQuery(`INSERT INTO ${name}_a.items VALUES (-1, 'after the drop')`);
      await until('the failure alert', async () => events('sync_stopped', 'alert.firing').length > 0, 30_000);
      assert.equal(events('sync_stopped', 'alert.firing')[0].severity, 'critical');
      assert.match((await api(server.url, '/metrics')).text, new RegExp(`sluice_sync_failures_total\\{sync="${sync}"\\} [1-9]`));
      await pgQuery(`CREATE TABLE ${name}_b.items (id int PRIMARY KEY, v text)`);
      await until('the stream back', async () => streaming(), 30_000);
      await until('the failure resolved', async () => events('sync_stopped', 'alert.resolved').length > 0);

      // The file removed: its stream is drained and stops; its slot is let go.
      rmSync(join(dir, 'sync.yaml'));
      await until('the stream stopped', async () => server.service.syncStreams.views(sync).length === 0);
      await until('the slot let go', async () => (await pgQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_${name}_a'`))[0].active === false);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
      await server.stop();
      await store.close();
      await new Promise((r) => hook.close(r));
    }
  }, 'sa');
});

test('a MariaDB source\'s lag: the bytes of binary log between the stream\'s position and the server\'s', async () => {
  assert.equal(binlogBytes({ file: 'b.000001', offset: 100 }, { file: 'b.000001', offset: 350 }, new Map()), 250);
  assert.equal(binlogBytes({ file: 'b.000001', offset: 100 }, { file: 'b.000003', offset: 40 }, new Map([['b.000001', 1000], ['b.000002', 500], ['b.000003', 40]])), 900 + 500 + 40);
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const db = `lag_${Date.now().toString(36)}`;
  const probe = lagProbe('mysql', { host: '127.0.0.1', port: 3306, user: 'root' }, '.', 'lag-test', 'a')!;
  try {
    const [[at]] = await maria.query('SHOW MASTER STATUS') as unknown as [{ File: string; Position: number }[]];
    const position = `${at.File}:${at.Position}`;
    // Other tests write to the same server at once (the binary log is the server's): lag is 0 only if the server's
    // position did not move meanwhile, and never more than it moved.
    const idle = (await probe.sample(position))?.lagBytes;
    const [[again]] = await maria.query('SHOW MASTER STATUS') as unknown as [{ File: string; Position: number }[]];
    if (again.File === at.File && again.Position === at.Position) assert.equal(idle, 0, 'nothing written since');
    else assert.ok(idle !== undefined && idle >= 0 && (again.File !== at.File || idle <= again.Position - at.Position), `lag ${idle}`);
    await maria.query(`CREATE DATABASE ${db}`);
    await maria.query(`CREATE TABLE ${db}.t (id int PRIMARY KEY, v text)`);
    await maria.query(`INSERT INTO ${db}.t SELECT seq, repeat('x', 100) FROM ${db}.seq_1_to_1000`);
    const [[now]] = await maria.query('SHOW MASTER STATUS') as unknown as [{ File: string; Position: number }[]];
    const lag = (await probe.sample(position))!.lagBytes;
    assert.ok(lag >= 100_000, `the rows written are behind the position (${lag} bytes)`);
    if (now.File === at.File) assert.ok(lag >= Number(now.Position) - Number(at.Position));
    assert.equal(await probe.sample(undefined), undefined, 'no position yet: nothing to say');
  } finally {
    await maria.query(`DROP DATABASE IF EXISTS ${db}`);
    await maria.end();
    await probe.close();
  }
});
