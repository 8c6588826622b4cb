// `sluice gc` (issue 23, retention), the built CLI on a project directory: a pipeline file whose old dead-letter
// entries, runs and run log lines go, and a real SQLite-to-SQLite sync whose old change-log events go — each key's last
// event kept, so `sluice changes replay` still rebuilds the table. A dry run counts and deletes nothing; a real pass
// leaves one audit entry per file with counts and horizons, never a value; an invalid file stops the pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { sluice, tempDir } from '../helpers.js';

const DAY = 86_400_000;
const OLD = '2020-01-01T00:00:00.000Z';

interface GcJson {
  dry_run: boolean;
  results: { name: string; kind: string; dry_run: boolean; horizons: Record<string, string>; removed: Record<string, number> }[];
}

test('sluice gc: a pipeline\'s old DLQ entries, runs and log lines and a sync\'s old change-log events go; replay still rebuilds; audited', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  const opts = { home };
  const project = join(dir, 'project');
  mkdirSync(project);
  try {
    writeFileSync(join(project, 'orders.yaml'), `pipeline: orders
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: id
destination: { type: sqlite, path: out.db }
retention: { dlq: 30d, runs: 30d, logs: 7d }
`);
    writeFileSync(join(project, 'items.yaml'), `sync: items-out
systems:
  a: { type: sqlite, path: a.db }
  b: { type: sqlite, path: b.db }
retention: { changes: 30d }
tables:
  - { name: items, primary_key: id, direction: a_to_b }
`);
    writeFileSync(join(project, 'notes.yaml'), 'just: notes\n');

    // The pipeline's record: runs finished 60, 40 and 10 days ago and an hour ago (the latest), three DLQ entries.
    const store = new SqliteControlStore(home);
    const now = Date.now();
    for (const [id, daysAgo, lines] of [['o1', 60, 5], ['o2', 40, 3], ['mid', 10, 2], ['new', 1 / 24, 4]] as const) {
      const finished = new Date(now - daysAgo * DAY);
      await store.startRun({ runId: id, pipeline: 'orders', startedAt: new Date(finished.getTime() - 1000), options: {} });
      await store.appendRunLogs(id, Array.from({ length: lines }, (_, i) => ({ seq: i + 1, at: finished.toISOString(), level: 'info', msg: `m${i}`, stream: null, fields: {} })));
      await store.finishRun(id, { status: 'success', finishedAt: finished, summary: {} });
    }
    await store.addDlq([1, 2, 3].map((i) => ({ pipeline: 'orders', stream: 'orders', runId: 'o1', stage: 'check' as const, reason: 'bad', raw: `secret-${i}`, position: { line: i } })));
    await store.close();
    const control = openDatabase(join(home, 'control.db'));
    control.prepare('UPDATE dlq SET created_at = ? WHERE raw LIKE ? OR raw LIKE ?').run(OLD, '%secret-1%', '%secret-2%');
    control.close();

    // The sync: three inserts, then an update and a delete — all made old — then a young insert.
    const a = openDatabase(join(project, 'a.db'));
    a.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');");
    const b = openDatabase(join(project, 'b.db'));
    b.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE rebuilt (id INTEGER PRIMARY KEY, v TEXT);');
    const syncOnce = async () => {
      const r = await sluice(['sync', join(project, 'items.yaml'), '--once'], opts);
      assert.equal(r.code, 0, r.stderr);
    };
    await syncOnce();
    a.exec("UPDATE items SET v = 'uno' WHERE id = 1; DELETE FROM items WHERE id = 2;");
    await syncOnce();
    const log = openDatabase(join(home, 'sync', 'items-out.db'));
    log.prepare('UPDATE change_log SET at = ?').run(OLD);
    log.close();
    a.exec("INSERT INTO items VALUES (4, 'four');");
    await syncOnce();
    a.close();
    const changes = async () => {
      const r = await sluice(['changes', 'list', join(project, 'items.yaml'), '--json'], opts);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { key: string[]; op: string }[]).map((e) => `${e.op} ${e.key.join(',')}`);
    };
    assert.deepEqual(await changes(), ['insert 1', 'insert 2', 'insert 3', 'update 1', 'delete 2', 'insert 4']);

    const gc = async (...args: string[]) => {
      const r = await sluice(['gc', project, '--json', ...args], opts);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as GcJson;
    };
    const removed = (j: GcJson) => Object.fromEntries(j.results.map((r) => [`${r.kind} ${r.name}`, r.removed]));
    const expected = { 'pipeline orders': { dlq: 2, runs: 2, log_lines: 10 }, 'sync items-out': { changes: 3 } };
    const audits = async () => {
      const s = new SqliteControlStore(home);
      try {
        return (await s.listAudit({})).filter((e) => e.action === 'gc');
      } finally {
        await s.close();
      }
    };

    const dry = await gc('--dry-run');
    assert.equal(dry.dry_run, true);
    assert.deepEqual(removed(dry), expected);
    assert.equal((await changes()).length, 6, 'the dry run deleted no event');
    assert.deepEqual(await audits(), [], 'a dry run is not audited');

    const real = await gc();
    assert.deepEqual(removed(real), expected);
    const horizons = real.results.find((r) => r.kind === 'pipeline')!.horizons;
    assert.deepEqual(Object.keys(horizons).sort(), ['dlq', 'logs', 'runs']);
    assert.ok(Math.abs(Date.parse(horizons.runs) - (Date.now() - 30 * DAY)) < 60_000, horizons.runs);

    // Each key's last event stays; key 2, deleted long ago, is gone from the log; the young insert stays.
    assert.deepEqual(await changes(), ['insert 3', 'update 1', 'insert 4']);
    const replay = await sluice(['changes', 'replay', join(project, 'items.yaml'), '--table', 'items', '--to', 'b', '--into', 'rebuilt'], opts);
    assert.equal(replay.code, 0, replay.stderr);
    assert.deepEqual(b.prepare('SELECT id, v FROM rebuilt ORDER BY id').all(), b.prepare('SELECT id, v FROM items ORDER BY id').all());
    assert.deepEqual(b.prepare('SELECT id, v FROM rebuilt ORDER BY id').all(), [{ id: 1, v: 'uno' }, { id: 3, v: 'three' }, { id: 4, v: 'four' }]);
    b.close();

    const after = new SqliteControlStore(home);
    try {
      assert.deepEqual((await after.listRuns({ pipeline: 'orders' })).map((r) => r.run_id), ['new', 'mid']);
      assert.deepEqual(await after.listRunLogs('mid'), [], 'log lines older than 7 days go, their run stays');
      assert.equal((await after.listRunLogs('new')).length, 4);
      assert.deepEqual((await after.listDlq({ pipeline: 'orders' })).map((e) => e.raw), ['secret-3']);
    } finally {
      await after.close();
    }

    const trail = await audits();
    assert.deepEqual(trail.map((e) => [e.pipeline, e.detail.removed]), [['orders', expected['pipeline orders']], ['items-out', expected['sync items-out']]]);
    for (const e of trail) {
      assert.match(e.actor, /^os:/);
      assert.doesNotMatch(JSON.stringify(e.detail), /secret|uno|three|four/, 'counts and horizons, never a value');
    }
    assert.deepEqual(trail[0].detail.horizons, horizons);
    assert.equal((await sluice(['audit', 'verify'], opts)).code, 0);

    // Nothing left to remove: zeros, and no audit entry. Without paths, the current directory is the project.
    const again = await sluice(['gc', '--json'], { ...opts, cwd: project });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(removed(JSON.parse(again.stdout) as GcJson), {
      'pipeline orders': { dlq: 0, runs: 0, log_lines: 0 }, 'sync items-out': { changes: 0 },
    });
    assert.equal((await audits()).length, 2);
    const text = await sluice(['gc', project, '--dry-run'], opts);
    assert.match(text.stdout, /^pipeline orders: 0 dead-letter entries, 0 runs, 0 run log lines would be removed \(dlq before \d{4}-/m);

    // An invalid file stops the whole pass before anything is deleted.
    writeFileSync(join(project, 'broken.yaml'), `pipeline: broken
sources:
  - { name: files, type: csv, streams: [{ name: orders, path: orders.csv }] }
retention: { dlq: soon }
`);
    const refused = await sluice(['gc', project], opts);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /broken\.yaml/);
    assert.match(refused.stderr, /retention\.dlq/);
  } finally {
    cleanup();
  }
});
