// Retention in the control store (pruneDlq, pruneRuns), against both stores: SQLite in a temp $SLUICE_HOME and
// PostgreSQL in a fresh schema on the local server (no server: the tests fail, they never skip). Old records go in
// chunks, young ones stay, the runs health reads stay whatever their age, a dry run counts without deleting.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ControlStore } from '../../src/control/control-store.js';
import { PgControlStore } from '../../src/control/pg-store.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import type { RunLogLine } from '../../src/control/control-store.js';
import { PG_URL, pgQuery, tempDir } from '../helpers.js';

interface Harness {
  store: ControlStore;
  /** Rows of `table` recorded for these runs, read straight from the store's tables. */
  rowsOf: (table: string, runIds: string[]) => Promise<number>;
  cleanup: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const day = (d: number, h = 0) => new Date(Date.UTC(2026, 0, d, h));
const counts = { extracted: 1, loaded: 1, dead_lettered: 0, filtered: 0, inserted: 1, updated: 0, deleted: 0 };
const lines = (n: number): RunLogLine[] => Array.from({ length: n }, (_, i) => ({
  seq: i + 1, at: day(1).toISOString(), level: 'info', msg: `line ${i + 1}`, stream: 's', fields: {},
}));

/** A finished run with a record in every table that holds one, and `logLines` log lines. */
async function finishedRun(store: ControlStore, pipeline: string, runId: string, o: { started: Date; status?: 'success' | 'failed'; logLines?: number; dryRun?: boolean }) {
  await store.startRun({ runId, pipeline, startedAt: o.started, options: o.dryRun ? { dryRun: true } : {} });
  await store.recordPhase({ runId, stream: 's', phase: 'extract', status: 'success', durationMs: 5 });
  await store.recordStream({ runId, stream: 's', status: 'success', counts });
  await store.recordSteps(runId, 's', [{ step: 0, name: 'trim', records_in: 1, records_out: 1, failed: 0, filtered: 0, duration_ms: 1 }]);
  await store.recordSchemaChange({ runId, stream: 's', change: 'add', column: 'c', to: 'text' });
  await store.recordQuality({ runId, pipeline, stream: 's', report: { score: 90, completeness: 1, validity: 1, consistency: 1, timeliness: null, rows: 1, checks: [] } });
  if (o.logLines) await store.appendRunLogs(runId, lines(o.logLines));
  await store.finishRun(runId, { status: o.status ?? 'success', finishedAt: new Date(o.started.getTime() + 60_000), summary: { run_id: runId } });
}

const RECORD_TABLES = ['phases', 'streams', 'transformer_runs', 'quality', 'schema_changes', 'run_logs', 'runs'];

function retentionContract(name: string, open: () => Harness): void {
  describe(`retention in the control store: ${name}`, () => {
    const use = (title: string, fn: (h: Harness) => Promise<void>) => test(title, async () => {
      const h = open();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });

    use('pruneDlq: entries added before the horizon go, in chunks; later ones and other pipelines\' stay; a dry run counts only', async ({ store }) => {
      const entry = (pipeline: string, i: number) => ({ pipeline, stream: 's', runId: 'r', stage: 'check' as const, reason: 'bad', raw: `{"id":${i}}`, position: { line: i } });
      // More than a chunk, so the walk by id goes round more than once.
      assert.equal(await store.addDlq(Array.from({ length: 4500 }, (_, i) => entry('p', i))), 4500);
      await store.addDlq([entry('q', 1)]);
      await sleep(20);
      const horizon = new Date();
      await sleep(20);
      await store.addDlq([entry('p', 10_000), entry('p', 10_001)]);

      assert.equal(await store.pruneDlq('p', horizon, { dryRun: true }), 4500);
      assert.equal((await store.listDlq({ pipeline: 'p' })).length, 4502, 'the dry run deleted nothing');
      assert.equal(await store.pruneDlq('p', horizon), 4500);
      assert.deepEqual((await store.listDlq({ pipeline: 'p' })).map((e) => e.position.line), [10_000, 10_001]);
      assert.equal((await store.listDlq({ pipeline: 'q' })).length, 1);
      assert.equal(await store.pruneDlq('p', horizon), 0, 'nothing left before the horizon');
    });

    use('pruneRuns: old runs go with every record of them; running, latest, latest finished and latest success stay; young ones and other pipelines\' stay', async ({ store, rowsOf }) => {
      await finishedRun(store, 'p', 'old-1', { started: day(1), logLines: 12_000 }); // more log lines than a chunk
      await finishedRun(store, 'p', 'old-2', { started: day(2), status: 'failed', logLines: 3 });
      await finishedRun(store, 'p', 'latest-success', { started: day(3) });
      await finishedRun(store, 'p', 'latest-finished', { started: day(4), status: 'failed', logLines: 2 });
      await finishedRun(store, 'p', 'dry', { started: day(4, 12), dryRun: true, logLines: 1 });
      await store.startRun({ runId: 'running', pipeline: 'p', startedAt: day(1, 6), options: {} });
      await store.startRun({ runId: 'latest', pipeline: 'p', startedAt: day(5), options: {} });
      await finishedRun(store, 'q', 'other', { started: day(1), logLines: 4 });
      const removed = ['old-1', 'old-2', 'dry'];

      // Only old-1 finished before the 2nd.
      assert.deepEqual(await store.pruneRuns('p', day(2), { dryRun: true }), { runs: 1, logLines: 12_000 });
      assert.deepEqual(await store.pruneRuns('p', day(30), { dryRun: true }), { runs: 3, logLines: 12_004 });
      assert.deepEqual(await store.pruneRuns('p', day(30), { logsOnly: true, dryRun: true }), { runs: 3, logLines: 12_004 });
      for (const t of RECORD_TABLES) assert.ok(await rowsOf(t, removed) > 0, `the dry runs kept ${t}`);

      // Log lines alone first: the runs stay, their lines go.
      assert.deepEqual(await store.pruneRuns('p', day(2), { logsOnly: true }), { runs: 1, logLines: 12_000 });
      assert.ok(await store.getRun('old-1'));
      assert.deepEqual(await store.listRunLogs('old-1'), []);
      assert.equal((await store.listRunLogs('old-2')).length, 3, 'a run finished after the horizon keeps its lines');

      assert.deepEqual(await store.pruneRuns('p', day(30)), { runs: 3, logLines: 4 });
      for (const t of RECORD_TABLES) assert.equal(await rowsOf(t, removed), 0, `nothing of the removed runs is left in ${t}`);
      for (const id of removed) assert.equal(await store.getRun(id), undefined);
      const kept = (await store.listRuns({ pipeline: 'p', limit: 50 })).map((r) => r.run_id).sort();
      assert.deepEqual(kept, ['latest', 'latest-finished', 'latest-success', 'running']);
      assert.equal((await store.getRun('latest-finished'))!.phases.length, 1, 'a kept run keeps its records');
      assert.equal((await store.listRunLogs('latest-finished')).length, 2);
      assert.ok(await store.getRun('other'), 'another pipeline\'s run is not touched');
      assert.equal((await store.listRunLogs('other')).length, 4);
      assert.deepEqual(await store.pruneRuns('p', day(30)), { runs: 0, logLines: 0 });
    });

    use('pruneRuns walks more runs than a chunk holds, and keeps the latest', async ({ store }) => {
      const t = day(1).getTime();
      for (let i = 0; i < 230; i++) {
        await store.startRun({ runId: `m${String(i).padStart(3, '0')}`, pipeline: 'many', startedAt: new Date(t + i * 60_000), options: {} });
        await store.finishRun(`m${String(i).padStart(3, '0')}`, { status: 'success', finishedAt: new Date(t + i * 60_000 + 1000), summary: {} });
      }
      assert.deepEqual(await store.pruneRuns('many', day(30)), { runs: 229, logLines: 0 });
      assert.deepEqual((await store.listRuns({ pipeline: 'many' })).map((r) => r.run_id), ['m229']);
    });
  });
}

retentionContract('SQLite', () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(dir);
  return {
    store,
    async rowsOf(table, runIds) {
      const db = openDatabase(join(dir, 'control.db'), { readonly: true });
      try {
        return db.prepare(`SELECT COUNT(*) FROM ${table} WHERE run_id IN (SELECT value FROM json_each(?))`).pluck().get(JSON.stringify(runIds)) as number;
      } finally {
        db.close();
      }
    },
    async cleanup() {
      await store.close();
      cleanup();
    },
  };
});

const run = `sluice_ret_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
after(async () => {
  for (const s of schemas) await pgQuery(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
});

retentionContract('PostgreSQL', () => {
  const schema = `${run}_${schemas.length}`;
  schemas.push(schema);
  const store = new PgControlStore(`${PG_URL}?schema=${schema}`);
  return {
    store,
    async rowsOf(table, runIds) {
      const ids = runIds.map((id) => `'${id}'`).join(', ');
      const [r] = await pgQuery(`SELECT COUNT(*)::int AS n FROM "${schema}"."${table}" WHERE run_id IN (${ids})`);
      return r.n as number;
    },
    async cleanup() {
      await store.close();
    },
  };
});
