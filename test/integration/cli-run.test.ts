// End to end through the real `sluice` binary: the quickstart, bad input, the ledger, the DLQ and state commands.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { duckQuery, repoRoot, sluice, tempDir } from '../helpers.js';

const quickstart = join(repoRoot, 'examples', 'quickstart', 'pipeline.yaml');
const addsUp = (c: { extracted: number; loaded: number; dead_lettered: number; filtered: number }) =>
  c.extracted === c.loaded + c.dead_lettered + c.filtered;

/** A pipeline in its own temp dir, with the given data files. */
function project(yaml: string, files: Record<string, string | Buffer>) {
  const t = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(t.dir, name, '..'), { recursive: true });
    writeFileSync(join(t.dir, name), content);
  }
  writeFileSync(join(t.dir, 'pipeline.yaml'), yaml);
  return { ...t, file: join(t.dir, 'pipeline.yaml'), home: join(t.dir, '.sluice'), warehouse: join(t.dir, '.sluice', 'warehouse.duckdb') };
}

describe('sluice run', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  test('the quickstart loads, then an incremental run loads 0 new rows', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const first = await sluice(['run', quickstart, '--json'], { home: dir });
    assert.equal(first.code, 0, first.stderr);
    const s = JSON.parse(first.stdout);
    assert.equal(s.status, 'success');
    assert.equal(s.pipeline, 'quickstart');
    assert.deepEqual(s.phases.map((p: { phase: string }) => p.phase), ['extract', 'transform', 'validate', 'merge', 'load', 'publish']);
    assert.equal(s.streams.orders.loaded, 5000);
    assert.equal(s.streams.customers.loaded, 500);
    assert.equal(s.streams.events.loaded, 1000);
    for (const c of Object.values(s.streams)) assert.ok(addsUp(c as never), JSON.stringify(c));
    assert.equal(s.streams.orders.inserted, 5000);
    for (const key of ['run_id', 'started_at', 'finished_at', 'duration_ms', 'quality']) assert.ok(key in s, key);
    // The quickstart's checks all pass on its data: a perfect score, every check reported.
    assert.equal(s.quality.score, 100);
    assert.equal(s.quality.streams.orders.checks.length, 4);

    const second = await sluice(['run', quickstart, '--json'], { home: dir });
    assert.equal(second.code, 0, second.stderr);
    const s2 = JSON.parse(second.stdout);
    for (const c of Object.values(s2.streams)) assert.equal((c as { loaded: number }).loaded, 0);

    const rows = await duckQuery(join(dir, 'warehouse.duckdb'),
      'SELECT count(*)::INT AS n, count(DISTINCT order_id)::INT AS k, min(total)::VARCHAR AS t FROM orders');
    assert.deepEqual(rows[0].n, 5000);
    assert.deepEqual(rows[0].k, 5000);
    const zip = await duckQuery(join(dir, 'warehouse.duckdb'), "SELECT postal_code FROM customers WHERE postal_code LIKE '0%' LIMIT 1");
    assert.match(String(zip[0].postal_code), /^0\d{4}$/, 'postal codes keep leading zeros');

    const runs = await sluice(['runs', '--json'], { home: dir });
    const list = JSON.parse(runs.stdout);
    assert.equal(list.runs.length, 2);
    assert.equal(list.stats.success_rate, 1);
    const show = await sluice(['runs', 'show', s.run_id, '--json'], { home: dir });
    const detail = JSON.parse(show.stdout);
    assert.equal(detail.streams.length, 3);
    assert.ok(detail.phases.some((p: { stream: string; phase: string }) => p.stream === 'orders' && p.phase === 'load'));
    assert.ok(detail.schema_changes.some((c: { column: string }) => c.column === 'order_id'));
  });

  test('malformed CSV rows go to the DLQ with their line; the rest loads; exit 3', async () => {
    const p = project(`pipeline: bad-rows
sources:
  - name: f
    type: csv
    streams:
      - name: items
        path: items.csv
`, { 'items.csv': 'id,name\n1,a\n2,b,extra\n3,"unbalanced\n4,d\n5,e\n' });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 3, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.status, 'partial_success');
    const c = s.streams.items;
    assert.ok(addsUp(c));
    assert.ok(c.dead_lettered >= 2, JSON.stringify(c));
    const ids = (await duckQuery(p.warehouse, 'SELECT id FROM items ORDER BY id')).map((x) => Number(x.id));
    assert.ok(ids.includes(1) && ids.includes(5), `rows after the bad ones load: ${ids}`);
    const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout);
    const lines = dlq.map((e: { position: { line: number } }) => e.position.line);
    assert.ok(lines.includes(3), `wrong column count on line 3: ${JSON.stringify(dlq)}`);
    assert.ok(lines.includes(4), `unbalanced quote starting on line 4: ${JSON.stringify(dlq)}`);
    // A re-run reads nothing new and adds nothing to the DLQ.
    const again = JSON.parse((await sluice(['run', p.file, '--json'], { home: p.home })).stdout);
    assert.equal(again.streams.items.extracted, 0);
    assert.equal(JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout).length, dlq.length);
  });

  test('a missing file fails the run with exit 1 and the failed run is recorded', async () => {
    const p = project(`pipeline: missing
sources:
  - name: f
    type: csv
    streams:
      - name: items
        path: nowhere/*.csv
`, {});
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 1);
    const s = JSON.parse(r.stdout);
    assert.equal(s.status, 'failed');
    assert.match(s.error, /nowhere\/\*\.csv/);
    const runs = JSON.parse((await sluice(['runs', '--json'], { home: p.home })).stdout);
    assert.equal(runs.runs[0].status, 'failed');
  });

  test('bad configuration exits 2 before any work, naming key and line', async () => {
    const p = project(`pipeline: typo
sources:
  - name: f
    type: csv
    streams:
      - name: items
        path: items.csv
        wirte: merge
`, { 'items.csv': 'id\n1\n' });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file], { home: p.home });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /:8/);
    assert.match(r.stderr, /wirte/);
    assert.match(r.stderr, /write/);
    const missingVar = project('pipeline: env\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: s\n        path: ${NO_SUCH_VAR_X}\n', {});
    cleanups.push(missingVar.cleanup);
    const r2 = await sluice(['run', missingVar.file], { home: missingVar.home });
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /NO_SUCH_VAR_X/);
    assert.match(r2.stderr, /:7/);
  });

  test('an empty file succeeds with 0 rows', async () => {
    const p = project('pipeline: empty\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: nothing\n        path: empty.csv\n', { 'empty.csv': '' });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).streams.nothing.extracted, 0);
  });

  test('hostile and case-colliding column names each load into their own column', async () => {
    const header = ['id', '"""; DROP TABLE x; --"', 'select', 'Name With Spaces', 'émoji 🎉', 'name', 'Name'].join(',');
    const p = project('pipeline: hostile\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: weird\n        path: w.csv\n', {
      'w.csv': `${header}\n1,a,b,c,d,lower,Upper\n`,
    });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 0, r.stderr);
    const [row] = await duckQuery(p.warehouse, 'SELECT * FROM weird');
    assert.equal(row['"; DROP TABLE x; --'], 'a');
    assert.equal(row.select, 'b');
    assert.equal(row['Name With Spaces'], 'c');
    assert.equal(row['émoji 🎉'], 'd');
    const values = Object.values(row);
    assert.ok(values.includes('lower') && values.includes('Upper'), JSON.stringify(row));
  });

  test('invalid UTF-8 is dead-lettered', async () => {
    const bytes = Buffer.concat([Buffer.from('id,name\n1,ok\n2,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n3,fine\n')]);
    const p = project('pipeline: utf\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: t\n        path: t.csv\n', { 't.csv': bytes });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 3, r.stderr);
    const c = JSON.parse(r.stdout).streams.t;
    assert.deepEqual([c.extracted, c.loaded, c.dead_lettered], [3, 2, 1]);
  });

  test('a second run of a running pipeline is refused with exit 1', async () => {
    const p = project('pipeline: locked\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: t\n        path: t.csv\n', { 't.csv': 'a\n1\n' });
    cleanups.push(p.cleanup);
    const store = new SqliteControlStore(p.home);
    await store.acquireLock('locked', { runId: 'holder', pid: process.pid, host: hostname() });
    try {
      const r = await sluice(['run', p.file], { home: p.home });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /already running \(run holder/);
    } finally {
      await store.releaseLock('locked', 'holder');
      await store.close();
    }
    assert.equal((await sluice(['run', p.file], { home: p.home })).code, 0);
  });

  test('DLQ replay loads rows that today\'s pipeline accepts; state show and reset', async () => {
    const yaml = (type: string) => `pipeline: replay\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: t\n        path: t.csv\n        primary_key: id\n        write: merge\n        columns: { id: integer, qty: ${type} }\n`;
    const p = project(yaml('integer'), { 't.csv': 'id,qty\n1,5\n2,many\n3,7\n' });
    cleanups.push(p.cleanup);
    const r = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(r.code, 3, r.stderr);
    const [entry] = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout);
    assert.match(entry.reason, /"many" is not a valid integer/);
    assert.deepEqual(entry.position, { file: 't.csv', line: 3 });
    // Replaying with the same contract fails again; after the contract changes, the row loads.
    const still = JSON.parse((await sluice(['dlq', 'replay', p.file, '--json'], { home: p.home })).stdout);
    assert.equal(still.still_failing, 1);
    writeFileSync(p.file, yaml('text'));
    const ok = JSON.parse((await sluice(['dlq', 'replay', p.file, '--json'], { home: p.home })).stdout);
    assert.equal(ok.replayed, 1, JSON.stringify(ok));
    const rows = await duckQuery(p.warehouse, 'SELECT id::INT AS id, qty FROM t ORDER BY id');
    assert.deepEqual(rows.map((x) => x.qty), ['5', 'many', '7']);
    assert.equal(JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout).length, 0);

    const state = JSON.parse((await sluice(['state', 'show', p.file, '--json'], { home: p.home })).stdout);
    assert.equal(state.t.files['t.csv'].done, true);
    assert.equal((await sluice(['state', 'reset', p.file], { home: p.home })).code, 0);
    const cleared = JSON.parse((await sluice(['state', 'show', p.file, '--json'], { home: p.home })).stdout);
    assert.equal(cleared.t, null);
  });
});
