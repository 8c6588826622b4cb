// The control store contract: the same tests against both stores, SQLite (a temp dir) and PostgreSQL (a fresh schema
// per test on the local server, all dropped at the end). PostgreSQL tests never skip: no server, they fail.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditHash, GENESIS } from '../../src/control/audit-chain.js';
import type { ControlStore } from '../../src/control/control-store.js';
import { openControlStore } from '../../src/control/open.js';
import { PgControlStore } from '../../src/control/pg-store.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { ConfigError, LockedError } from '../../src/core/errors.js';
import { definePipeline, runPipeline } from '../../src/index.js';
import { PG_URL, pgQuery, tempDir } from '../helpers.js';

interface Opened {
  store: ControlStore;
  /** Another store on the same file or schema, as another process would open it. */
  another: () => ControlStore;
}
type Open = () => Opened & { cleanup: () => Promise<void> };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// 2^22 + 1 is above Linux's default pid_max: certainly not a live process.
const DEAD_PID = 4194305;
const counts = (loaded: number) => ({ extracted: loaded, loaded, dead_lettered: 0, filtered: 0, inserted: loaded, updated: 0, deleted: 0 });

export function storeContract(name: string, open: Open): void {
  describe(`control store contract: ${name}`, () => {
    const use = (title: string, fn: (o: Opened) => Promise<void>) =>
      test(title, async () => {
        const o = open();
        try {
          await fn(o);
        } finally {
          await o.cleanup();
        }
      });

    use('the lock refuses a live holder, from any instance, and takes over from a dead one on the same host', async ({ store, another }) => {
      const other = another();
      await store.acquireLock('p', { runId: 'r1', pid: process.pid, host: 'h' });
      await assert.rejects(store.acquireLock('p', { runId: 'r2', pid: process.pid, host: 'h' }), /already running \(run r1, pid \d+ on h, since \d{4}-/);
      await assert.rejects(other.acquireLock('p', { runId: 'r2', pid: process.pid, host: 'h' }), LockedError);
      await other.releaseLock('p', 'not-r1'); // only the holder's run releases it
      await assert.rejects(other.acquireLock('p', { runId: 'r2', pid: process.pid, host: 'h' }), LockedError);
      await store.releaseLock('p', 'r1');
      await other.acquireLock('p', { runId: 'r2', pid: process.pid, host: 'h' });
      await assert.rejects(store.acquireLock('p', { runId: 'r3', pid: process.pid, host: 'h' }), /run r2/);

      await store.acquireLock('q', { runId: 'dead', pid: DEAD_PID, host: 'h' });
      // On another host a dead pid means nothing: refused.
      await assert.rejects(store.acquireLock('q', { runId: 'elsewhere', pid: process.pid, host: 'other-host' }), /run dead/);
      await store.acquireLock('q', { runId: 'r4', pid: process.pid, host: 'h' });
      await assert.rejects(other.acquireLock('q', { runId: 'r5', pid: process.pid, host: 'h' }), /run r4/);
    });

    use('the pipeline overview: recent runs, success, mean duration, last run and success, quality; DLQ counts', async ({ store }) => {
      const t = Date.parse('2026-02-01T00:00:00Z');
      const runs = [['a1', 'success', 1000, 0], ['a2', 'failed', 3000, 0], ['a3', 'partial_success', 2000, 2]] as const;
      for (const [i, [id, status, ms, dl]] of runs.entries()) {
        await store.startRun({ runId: id, pipeline: 'alpha', startedAt: new Date(t + i * 60_000), options: {} });
        await store.finishRun(id, { status, finishedAt: new Date(t + i * 60_000 + ms), summary: { run_id: id, streams: { s: { ...counts(5), dead_lettered: dl } } } });
      }
      await store.recordQuality({ runId: 'a3', pipeline: 'alpha', stream: 's', report: { score: 80, completeness: 1, validity: 1, consistency: 1, timeliness: null, rows: 5, checks: [] } });
      await store.startRun({ runId: 'dry', pipeline: 'alpha', startedAt: new Date(t + 600_000), options: { dryRun: true } });
      await store.finishRun('dry', { status: 'failed', finishedAt: new Date(t + 601_000), summary: {} });
      await store.startRun({ runId: 'b1', pipeline: 'beta', startedAt: new Date(t), options: {} });
      assert.deepEqual((await store.pipelineOverview(2, ['beta', 'gamma'])).length, 0, 'only the pipelines named');
      assert.deepEqual((await store.pipelineOverview(2, ['alpha'])).map((o) => o.runs), [2]);
      const [alpha, ...rest] = await store.pipelineOverview(2);
      assert.equal(rest.length, 0, 'a pipeline with only a running run has no overview');
      assert.deepEqual({ ...alpha }, {
        pipeline: 'alpha', runs: 2, succeeded: 1, outcomes: 'sf', mean_duration_ms: 2500, last_status: 'partial_success', last_run_id: 'a3',
        last_finished_at: new Date(t + 120_000 + 2000).toISOString(), last_dead_lettered: 2,
        last_success_at: new Date(t + 120_000 + 2000).toISOString(), quality_score: 80,
      });
      await store.addDlq([
        { pipeline: 'alpha', stream: 's', runId: 'a3', stage: 'check', reason: 'r', raw: '1', position: { line: 1 } },
        { pipeline: 'alpha', stream: 's', runId: 'a3', stage: 'check', reason: 'r', raw: '2', position: { line: 2 } },
      ]);
      assert.deepEqual((await store.dlqCounts()).map((r) => ({ ...r })), [{ pipeline: 'alpha', stream: 's', rows: 2 }]);
    });

    use('backfill records are saved whole, replaced on save, read back and listed newest first', async ({ store, another }) => {
      const base = {
        pipeline: 'p', from: '2024-01-01', to: '2024-01-03', by: 'day', streams: null, actor: 'os:me', status: 'running' as const,
        windows: [{ from: '2024-01-01', to: '2024-01-02', status: 'success' as const, runId: 'r1' }, { from: '2024-01-02', to: '2024-01-03', status: 'pending' as const }],
      };
      await store.saveBackfill({ ...base, id: 'bf-a', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' });
      await store.saveBackfill({ ...base, id: 'bf-b', pipeline: 'q', createdAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' });
      const b = await another().getBackfill('bf-a');
      assert.deepEqual(b?.windows, base.windows);
      await store.saveBackfill({ ...b!, status: 'success', windows: b!.windows.map((w) => ({ ...w, status: 'success' as const })), updatedAt: '2026-01-03T00:00:00.000Z' });
      assert.equal((await store.getBackfill('bf-a'))?.status, 'success');
      assert.deepEqual((await store.listBackfills({})).map((x) => x.id), ['bf-b', 'bf-a']);
      assert.deepEqual((await store.listBackfills({ pipeline: 'p' })).map((x) => x.id), ['bf-a']);
      assert.equal(await store.getBackfill('nope'), undefined);
    });

    use('DLQ entries are de-duplicated by position and payload; the upsert, filters, replay marks and purge work', async ({ store }) => {
      const entry = { pipeline: 'p', stream: 's', runId: 'r1', stage: 'parse' as const, reason: 'bad', raw: 'a,b', position: { file: 'f.csv', line: 3 } };
      assert.equal(await store.addDlq([]), 0);
      assert.equal(await store.addDlq([entry, { ...entry, position: { file: 'f.csv', line: 4 } }]), 2);
      assert.equal(await store.addDlq([{ ...entry, runId: 'r2', reason: 'worse' }]), 1); // an upsert: same row, newer run
      let rows = await store.listDlq({ pipeline: 'p' });
      assert.equal(rows.length, 2);
      assert.deepEqual(rows.map((r) => [r.runId, r.reason, r.position.line]), [['r2', 'worse', 3], ['r1', 'bad', 4]]);
      assert.deepEqual(rows[0].position, { file: 'f.csv', line: 3 });
      assert.match(rows[0].createdAt!, ISO);
      assert.equal(rows[0].replayedAt, null);
      assert.equal(typeof rows[0].id, 'number');
      assert.ok(rows[0].id! < rows[1].id!, 'the upsert keeps the entry where it was');

      // A different payload at the same position is another entry; the same key twice in one batch counts twice.
      assert.equal(await store.addDlq([{ ...entry, raw: 'a,c' }, { ...entry, stream: 't' }, { ...entry, stream: 't', runId: 'r3' }]), 3);
      assert.equal((await store.listDlq({ pipeline: 'p', stream: 't' })).length, 1);
      assert.equal((await store.listDlq({ pipeline: 'p', stream: 't' }))[0].runId, 'r3');
      assert.equal((await store.listDlq({ pipeline: 'p', runId: 'r2' })).length, 1);
      assert.equal((await store.listDlq({ pipeline: 'p', limit: 2 })).length, 2);
      assert.equal((await store.listDlq({ pipeline: 'other' })).length, 0);

      // Payloads come back exactly as written, NUL and all.
      const hostile = 'x\u0000y,"é",\u{1F600}\n';
      assert.equal(await store.addDlq([{ ...entry, raw: hostile, position: { offset: 7 } }]), 1);
      const [h] = await store.listDlq({ pipeline: 'p', runId: 'r1', ids: [(await store.listDlq({ pipeline: 'p' })).at(-1)!.id!] });
      assert.equal(h.raw, hostile);
      assert.deepEqual(h.position, { offset: 7 });

      rows = await store.listDlq({ pipeline: 'p' });
      assert.equal(rows.length, 5);
      await store.markReplayed([rows[0].id!, rows[1].id!]);
      assert.equal((await store.listDlq({ pipeline: 'p' })).length, 3);
      const replayed = await store.listDlq({ pipeline: 'p', includeReplayed: true, ids: [rows[0].id!] });
      assert.match(replayed[0].replayedAt!, ISO);
      // The same row dead-lettered again after a replay is pending again.
      assert.equal(await store.addDlq([{ ...entry, runId: 'r9', reason: 'again' }]), 1);
      assert.equal((await store.listDlq({ pipeline: 'p', ids: [rows[0].id!] }))[0].replayedAt, null);

      assert.equal(await store.purgeDlq({ pipeline: 'p', stream: 't' }), 1);
      assert.equal(await store.purgeDlq({ pipeline: 'p' }), 4);
      assert.equal((await store.listDlq({ includeReplayed: true })).length, 0);
    });

    use('runs are recorded and listed with success rate, mean duration and quality score', async ({ store }) => {
      const t = Date.parse('2026-01-01T00:00:00Z');
      for (const [id, status, ms, at] of [['a', 'success', 1000, 0], ['b', 'failed', 3000, 60_000], ['c', 'success', 2500, 120_000]] as const) {
        await store.startRun({ runId: id, pipeline: 'p', startedAt: new Date(t + at), file: '/x/p.yaml', options: { dryRun: false } });
        await store.finishRun(id, { status, finishedAt: new Date(t + at + ms), summary: { run_id: id, z: 1, a: [2] }, ...(status === 'failed' ? { error: 'boom' } : {}) });
      }
      await store.startRun({ runId: 'other', pipeline: 'q', startedAt: new Date(t), options: {} });
      await store.startRun({ runId: 'running', pipeline: 'p', startedAt: new Date(t + 180_000), options: {} });

      assert.deepEqual(await store.stats('p'), { runs: 3, succeeded: 2, success_rate: 2 / 3, mean_duration_ms: 2167 });
      assert.deepEqual(await store.stats('q'), { runs: 0, succeeded: 0, success_rate: 0, mean_duration_ms: null });
      assert.equal((await store.stats()).runs, 3);

      await store.recordQuality({ runId: 'a', pipeline: 'p', stream: 'x', report: { score: 90, completeness: 1, validity: 0.9, consistency: null, timeliness: null, rows: 10, checks: [] } });
      await store.recordQuality({ runId: 'a', pipeline: 'p', stream: 'y', report: { score: 85.25, completeness: 1, validity: 0.8, consistency: null, timeliness: null, rows: 4, checks: [{ check: 'c' }] } });
      const list = await store.listRuns({ pipeline: 'p' });
      assert.deepEqual(list.map((r) => r.run_id), ['running', 'c', 'b', 'a']);
      const a = list.find((r) => r.run_id === 'a')!;
      assert.deepEqual(a, {
        run_id: 'a', pipeline: 'p', status: 'success', started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:01.000Z',
        duration_ms: 1000, error: null, file: '/x/p.yaml', quality_score: 87.6, extracted: null, loaded: null, dead_lettered: null,
      });
      assert.equal(list[0].finished_at, null);
      assert.equal(list[0].duration_ms, null);
      assert.equal(list[1].quality_score, null);
      assert.equal(list.find((r) => r.run_id === 'b')!.error, 'boom');
      assert.deepEqual((await store.listRuns({ limit: 2 })).map((r) => r.run_id), ['running', 'c']);
      assert.equal((await store.listRuns({})).length, 5);
      // Rows over the run's streams, as they finish.
      await store.recordStream({ runId: 'c', stream: 'x', status: 'success', counts: { ...counts(7), extracted: 9, dead_lettered: 2 } });
      await store.recordStream({ runId: 'c', stream: 'y', status: 'success', counts: counts(3) });
      const c = (await store.listRuns({ pipeline: 'p' })).find((r) => r.run_id === 'c')!;
      assert.deepEqual([c.extracted, c.loaded, c.dead_lettered], [12, 10, 2]);
    });

    use('the dashboard\'s records: phase spans, a run\'s log lines in order after a given line, paused schedules', async ({ store, another }) => {
      await store.startRun({ runId: 'r', pipeline: 'p', startedAt: new Date('2026-03-01T00:00:00Z'), options: {} });
      const startedAt = new Date('2026-03-01T00:00:00.125Z');
      const endedAt = new Date('2026-03-01T00:00:01.500Z');
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'extract', status: 'success', durationMs: 900, startedAt, endedAt });
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'publish', status: 'skipped', durationMs: 0 });
      const phases = (await store.getRun('r'))!.phases;
      assert.deepEqual([phases[0].startedAt, phases[0].endedAt, phases[0].durationMs], [startedAt, endedAt, 900]);
      assert.equal(phases[1].startedAt, undefined);

      const line = (seq: number, msg: string, stream: string | null = null) =>
        ({ seq, at: new Date(Date.parse('2026-03-01T00:00:00Z') + seq).toISOString(), level: seq === 3 ? 'warn' : 'info', msg, stream, fields: { n: seq, nested: { a: [1, '<b>'] } } });
      await store.appendRunLogs('r', [line(1, 'run started'), line(2, 'schema changed', 's')]);
      await store.appendRunLogs('r', [line(3, 'slow "batch"\u0000', 's')]);
      await another().appendRunLogs('other', [line(1, 'elsewhere')]);
      const all = await store.listRunLogs('r');
      assert.deepEqual(all.map((l) => l.seq), [1, 2, 3]);
      assert.deepEqual(all[1], line(2, 'schema changed', 's'));
      assert.equal(all[2].level, 'warn');
      assert.deepEqual((await store.listRunLogs('r', { afterSeq: 1, limit: 1 })).map((l) => l.msg), ['schema changed']);
      assert.deepEqual(await store.listRunLogs('nope'), []);

      assert.deepEqual(await store.listPaused(), []);
      await store.setPaused('p', 'token:ops');
      await store.setPaused('p', 'token:someone-else'); // already paused: the first pause stands
      await store.setPaused('a', 'token:ops');
      const paused = await another().listPaused();
      assert.deepEqual(paused.map((p) => [p.pipeline, p.actor]), [['a', 'token:ops'], ['p', 'token:ops']]);
      assert.match(paused[0].at, ISO);
      await store.setPaused('p', null);
      assert.deepEqual((await store.listPaused()).map((p) => p.pipeline), ['a']);
    });

    use('getRun returns the summary, phases, transform steps, streams, schema changes and quality of a run', async ({ store }) => {
      assert.equal(await store.getRun('nope'), undefined);
      await store.startRun({ runId: 'r', pipeline: 'p', startedAt: new Date('2026-02-01T10:00:00.250Z'), options: { dryRun: true } });
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'extract', status: 'success', durationMs: 12.4, rowsIn: 5, rowsOut: 5 });
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'load', status: 'running', durationMs: 1 });
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'transform', status: 'success', durationMs: 3 });
      // Recorded again, a phase replaces its earlier record and comes last, as written.
      await store.recordPhase({ runId: 'r', stream: 's', phase: 'load', status: 'failed', durationMs: 7, error: 'disk full' });
      await store.recordStream({ runId: 'r', stream: 's', status: 'running', counts: counts(0) });
      await store.recordStream({ runId: 'r', stream: 's', status: 'failed', counts: counts(5), error: 'disk full' });
      await store.recordStream({ runId: 'r', stream: 'T', status: 'success', counts: counts(1) });
      await store.recordSchemaChange({ runId: 'r', stream: 's', change: 'widen', column: 'n', from: 'integer', to: 'bigint' });
      await store.recordSchemaChange({ runId: 'r', stream: 's', change: 'add', column: 'm', to: 'text' });
      const report = { score: 50, completeness: 0.5, validity: null, consistency: null, timeliness: null, rows: 2, checks: [{ check: 'not_null(x)', ok: false }], blocked: 'too many' };
      await store.recordQuality({ runId: 'r', pipeline: 'p', stream: 's', report });
      const step = (i: number, name: string, n: number, ms: number) =>
        ({ step: i, name, records_in: n, records_out: n - 2, failed: 1, filtered: 1, duration_ms: ms });
      await store.recordSteps('r', 's', [step(0, 'cast', 9, 1.25), step(1, 'filter', 7, 0)]);
      // Recorded again, a stream's steps replace the earlier record; counts past 2^31 keep their value.
      await store.recordSteps('r', 's', [step(0, 'cast', 3_000_000_000, 1234.56), step(1, 'filter', 7, 0.01)]);
      await store.recordSteps('r', 'T', [step(0, 'derive', 5, 2)]);
      await store.recordSteps('r', 'T', []);
      await store.recordSteps('other', 's', [step(0, 'cast', 1, 1)]);
      const summary = { run_id: 'r', status: 'failed', zeta: 1, alpha: { b: 2, a: 1 } };
      await store.finishRun('r', { status: 'failed', finishedAt: new Date('2026-02-01T10:00:02.000Z'), error: 'disk full', summary });

      const d = (await store.getRun('r'))!;
      assert.equal(d.status, 'failed');
      assert.equal(d.started_at, '2026-02-01T10:00:00.250Z');
      assert.equal(d.finished_at, '2026-02-01T10:00:02.000Z');
      assert.equal(d.duration_ms, 1750);
      assert.equal(d.error, 'disk full');
      assert.equal(d.file, null);
      assert.equal(JSON.stringify(d.summary), JSON.stringify(summary), 'the summary keeps its key order');
      assert.deepEqual(d.phases, [
        { runId: 'r', stream: 's', phase: 'extract', status: 'success', durationMs: 12, rowsIn: 5, rowsOut: 5, error: undefined },
        { runId: 'r', stream: 's', phase: 'transform', status: 'success', durationMs: 3, rowsIn: undefined, rowsOut: undefined, error: undefined },
        { runId: 'r', stream: 's', phase: 'load', status: 'failed', durationMs: 7, rowsIn: undefined, rowsOut: undefined, error: 'disk full' },
      ]);
      assert.deepEqual(d.steps, [
        { runId: 'r', stream: 'T', ...step(0, 'derive', 5, 2) },
        { runId: 'r', stream: 's', ...step(0, 'cast', 3_000_000_000, 1234.56) },
        { runId: 'r', stream: 's', ...step(1, 'filter', 7, 0.01) },
      ]);
      assert.deepEqual(d.streams, [
        { runId: 'r', stream: 'T', status: 'success', counts: counts(1), error: undefined },
        { runId: 'r', stream: 's', status: 'failed', counts: counts(5), error: 'disk full' },
      ]);
      assert.deepEqual(d.schema_changes, [
        { runId: 'r', stream: 's', change: 'widen', column: 'n', from: 'integer', to: 'bigint' },
        { runId: 'r', stream: 's', change: 'add', column: 'm', from: undefined, to: 'text' },
      ]);
      assert.deepEqual(d.quality, [{ runId: 'r', pipeline: 'p', stream: 's', report }]);
    });

    use('streamHistory: counts of earlier successful, non-dry runs, newest first', async ({ store }) => {
      const t = Date.parse('2026-03-01T00:00:00Z');
      const runs = [
        ['r1', 'success', {}, 1], ['r2', 'partial_success', { dryRun: false }, 2], ['r3', 'failed', {}, 3],
        ['r4', 'success', { dryRun: true }, 4], ['r5', 'success', {}, 5], ['r6', 'success', {}, 6],
      ] as const;
      for (const [id, status, options, n] of runs) {
        await store.startRun({ runId: id, pipeline: 'p', startedAt: new Date(t + n * 1000), options });
        await store.recordStream({ runId: id, stream: 's', status, counts: counts(n) });
        await store.recordStream({ runId: id, stream: 'other', status: 'success', counts: counts(100 + n) });
      }
      await store.startRun({ runId: 'q1', pipeline: 'q', startedAt: new Date(t), options: {} });
      await store.recordStream({ runId: 'q1', stream: 's', status: 'success', counts: counts(99) });
      const loaded = (c: { loaded: number }[]) => c.map((x) => x.loaded);
      assert.deepEqual(loaded(await store.streamHistory('p', 's', 10)), [6, 5, 2, 1]);
      assert.deepEqual(loaded(await store.streamHistory('p', 's', 10, 'r6')), [5, 2, 1]);
      assert.deepEqual(loaded(await store.streamHistory('p', 's', 2)), [6, 5]);
      assert.deepEqual(await store.streamHistory('p', 's', 1), [counts(6)]);
      assert.deepEqual(loaded(await store.streamHistory('q', 's', 10)), [99]);
    });

    use('qualityTrend: scores of the pipeline\'s runs, newest first', async ({ store }) => {
      const t = Date.parse('2026-04-01T00:00:00Z');
      for (const [id, n] of [['a', 1], ['b', 2]] as const) {
        await store.startRun({ runId: id, pipeline: 'p', startedAt: new Date(t + n * 1000), options: {} });
        await store.finishRun(id, { status: 'success', finishedAt: new Date(t + n * 1000 + 10), summary: {} });
        for (const s of ['y', 'x']) {
          await store.recordQuality({ runId: id, pipeline: 'p', stream: s, report: { score: n * 10 + (s === 'x' ? 1 : 2), completeness: 1, validity: 0.5, consistency: null, timeliness: null, rows: 3, checks: [] } });
        }
      }
      const trend = await store.qualityTrend('p', 10);
      assert.deepEqual(trend.map((r) => [r.run_id, r.stream, r.score]), [['b', 'x', 21], ['b', 'y', 22], ['a', 'x', 11], ['a', 'y', 12]]);
      assert.deepEqual({ ...trend[0] }, {
        run_id: 'b', started_at: '2026-04-01T00:00:02.000Z', status: 'success', stream: 'x', score: 21, completeness: 1, validity: 0.5,
        consistency: null, timeliness: null,
      });
      assert.equal((await store.qualityTrend('p', 3)).length, 3);
      assert.deepEqual(await store.qualityTrend('q', 3), []);
    });

    use('scheduled runs: each (pipeline, due time) is claimed once, whichever instance asks', async ({ store, another }) => {
      const due = new Date('2026-05-01T02:00:00.000Z');
      assert.equal(await store.claimScheduledRun({ pipeline: 'p', scheduledFor: due, trigger: 'schedule', holder: 'h1' }), true);
      assert.equal(await store.claimScheduledRun({ pipeline: 'p', scheduledFor: due, trigger: 'schedule', holder: 'h1' }), false);
      assert.equal(await store.claimScheduledRun({ pipeline: 'p', scheduledFor: new Date(due), trigger: 'manual', holder: 'h2' }), false);
      assert.equal(await store.claimScheduledRun({ pipeline: 'q', scheduledFor: due, trigger: 'schedule', holder: 'h1' }), true);

      const other = another();
      const base = Date.parse('2026-06-01T00:00:00Z');
      const outcomes = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const run = { pipeline: 'race', scheduledFor: new Date(base + i * 60_000), trigger: 'schedule' as const };
        const [a, b] = await Promise.all([store.claimScheduledRun({ ...run, holder: 'A' }), other.claimScheduledRun({ ...run, holder: 'B' })]);
        return Number(a) + Number(b);
      }));
      assert.deepEqual(outcomes, Array(20).fill(1), 'exactly one of two concurrent claims wins');
      assert.equal((await store.listScheduledRuns({ pipeline: 'race' })).length, 20);
    });

    use('scheduled runs: update, list and lastScheduledFor (only the schedule trigger counts)', async ({ store }) => {
      const t = (iso: string) => new Date(`2026-05-01T${iso}Z`);
      assert.equal(await store.lastScheduledFor('p'), undefined);
      await store.claimScheduledRun({ pipeline: 'p', scheduledFor: t('01:00:00.000'), trigger: 'schedule', holder: 'h' });
      await store.claimScheduledRun({ pipeline: 'p', scheduledFor: t('02:00:00.000'), trigger: 'schedule', holder: 'h', actor: 'scheduler' });
      await store.claimScheduledRun({ pipeline: 'p', scheduledFor: t('03:00:00.000'), trigger: 'manual', holder: 'h', actor: 'alice' });
      await store.claimScheduledRun({ pipeline: 'p', scheduledFor: t('04:00:00.000'), trigger: 'after', holder: 'h' });
      await store.claimScheduledRun({ pipeline: 'q', scheduledFor: t('05:00:00.000'), trigger: 'schedule', holder: 'h' });
      assert.deepEqual(await store.lastScheduledFor('p'), t('02:00:00.000'));
      assert.deepEqual(await store.lastScheduledFor('q'), t('05:00:00.000'));

      const started = t('02:00:01.500');
      await store.updateScheduledRun('p', t('02:00:00.000'), { status: 'running', runId: 'run-2', attempt: 1, startedAt: started });
      await store.updateScheduledRun('p', t('02:00:00.000'), { status: 'failed', finishedAt: t('02:00:09.000'), error: 'boom' });
      await store.updateScheduledRun('p', t('01:00:00.000'), { status: 'success', runId: 'run-1', attempt: 2 });

      const all = await store.listScheduledRuns({ pipeline: 'p' });
      assert.deepEqual(all.map((r) => r.scheduledFor.toISOString()), ['04', '03', '02', '01'].map((h) => `2026-05-01T${h}:00:00.000Z`));
      const two = all[2];
      assert.ok(two.claimedAt instanceof Date && Math.abs(two.claimedAt.getTime() - Date.now()) < 60_000, String(two.claimedAt));
      assert.deepEqual({ ...two, claimedAt: undefined }, {
        pipeline: 'p', scheduledFor: t('02:00:00.000'), trigger: 'schedule', status: 'failed', holder: 'h', attempt: 1,
        claimedAt: undefined, runId: 'run-2', startedAt: started, finishedAt: t('02:00:09.000'), error: 'boom', actor: 'scheduler',
      });
      assert.deepEqual({ ...all[1], claimedAt: undefined }, {
        pipeline: 'p', scheduledFor: t('03:00:00.000'), trigger: 'manual', status: 'claimed', holder: 'h', attempt: 0,
        claimedAt: undefined, actor: 'alice',
      });
      assert.deepEqual(all[3].runId, 'run-1');
      assert.deepEqual(all[3].attempt, 2);
      assert.deepEqual((await store.listScheduledRuns({ status: ['failed', 'success'] })).map((r) => r.runId), ['run-2', 'run-1']);
      assert.deepEqual((await store.listScheduledRuns({ status: ['claimed'], pipeline: 'q' })).map((r) => r.pipeline), ['q']);
      assert.equal((await store.listScheduledRuns({ limit: 2 })).length, 2);
      assert.equal((await store.listScheduledRuns({})).length, 5);
    });

    use('the lease: a second holder is refused until it expires, then takes over; renew; release', async ({ store, another }) => {
      const other = another();
      assert.equal(await store.acquireLease('scheduler', 'A', 400), true);
      assert.equal(await other.acquireLease('scheduler', 'B', 400), false);
      assert.equal(await store.acquireLease('scheduler', 'A', 400), true, 'the holder renews');
      assert.equal(await other.acquireLease('other-lease', 'B', 400), true, 'leases are by name');
      await sleep(200);
      assert.equal(await store.acquireLease('scheduler', 'A', 400), true, 'renewed before it expires');
      await sleep(250);
      assert.equal(await other.acquireLease('scheduler', 'B', 400), false, 'the renewal moved the expiry');
      await sleep(300);
      assert.equal(await other.acquireLease('scheduler', 'B', 60_000), true, 'expired: taken over');
      assert.equal(await store.acquireLease('scheduler', 'A', 400), false);
      await store.releaseLease('scheduler', 'A'); // not the holder: nothing happens
      assert.equal(await store.acquireLease('scheduler', 'A', 400), false);
      await other.releaseLease('scheduler', 'B');
      assert.equal(await store.acquireLease('scheduler', 'A', 400), true, 'released: free');
    });

    use('the audit chain: appends from two instances at once never fork it; head and listAudit', async ({ store, another }) => {
      const other = another();
      assert.equal(await store.auditHead(), undefined);
      const first = await store.appendAudit({ actor: 'alice', action: 'run.start', pipeline: 'p', runId: 'r1', detail: { b: 1, a: [1, { y: 2, x: 1 }] }, at: new Date('2026-01-01T00:00:00.000Z') });
      assert.deepEqual(first, {
        seq: 1, at: '2026-01-01T00:00:00.000Z', actor: 'alice', action: 'run.start', pipeline: 'p', runId: 'r1',
        detail: { b: 1, a: [1, { y: 2, x: 1 }] }, prevHash: GENESIS, hash: first.hash,
      });
      assert.match(first.hash, /^[0-9a-f]{64}$/);
      await Promise.all(Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? store : other).appendAudit({ actor: i % 2 ? 'a' : 'b', action: 'x', runId: i % 3 === 0 ? 'r2' : undefined, detail: { i } })));
      await other.appendAudit({ actor: 'bob', action: 'run.finish', pipeline: 'p', runId: 'r1' });

      const chain = await store.listAudit({});
      assert.deepEqual(chain.map((e) => e.seq), Array.from({ length: 26 }, (_, i) => i + 1));
      assert.deepEqual(chain.map((e) => (e.detail as { i?: number }).i).filter((i) => i !== undefined).sort((x, y) => x! - y!),
        Array.from({ length: 24 }, (_, i) => i), 'every append is there once');
      chain.forEach((e, k) => {
        assert.equal(e.prevHash, k === 0 ? GENESIS : chain[k - 1].hash, `entry ${e.seq} links to the one before`);
        const { hash, ...rest } = e;
        assert.equal(hash, auditHash(rest), `entry ${e.seq} hashes what is stored`);
        assert.match(e.at, ISO);
      });
      assert.deepEqual(chain[0], first);
      assert.deepEqual(await store.auditHead(), { seq: 26, hash: chain[25].hash });
      assert.deepEqual(await other.auditHead(), { seq: 26, hash: chain[25].hash });

      assert.deepEqual((await store.listAudit({ runId: 'r1' })).map((e) => [e.seq, e.action]), [[1, 'run.start'], [26, 'run.finish']]);
      assert.equal((await store.listAudit({ runId: 'r2' })).length, 8);
      assert.deepEqual((await store.listAudit({ pipeline: 'p' })).map((e) => e.seq), [1, 26]);
      assert.deepEqual((await store.listAudit({ afterSeq: 23 })).map((e) => e.seq), [24, 25, 26]);
      assert.deepEqual((await store.listAudit({ afterSeq: 3, limit: 2 })).map((e) => e.seq), [4, 5]);
      assert.equal(chain[25].pipeline, 'p');
      assert.equal(chain[2].pipeline, null);
    });

    use('alerts: saved once per (rule, pipeline, stream), read back and listed by status', async ({ store }) => {
      assert.equal(await store.getAlert('failed', 'p', ''), undefined);
      const firing = {
        rule: 'failed', pipeline: 'p', stream: '', status: 'firing' as const, dedupKey: 'k1', summary: 'p failed', severity: 'error' as const,
        openedAt: '2026-01-01T00:00:00.000Z', lastSentAt: '2026-01-01T00:00:00.000Z', resolvedAt: null,
      };
      await store.saveAlert(firing);
      await store.saveAlert({ ...firing, rule: 'quality', stream: 'orders', dedupKey: 'k2', severity: 'warning', openedAt: '2026-01-02T00:00:00.000Z' });
      assert.deepEqual(await store.getAlert('failed', 'p', ''), firing);
      assert.equal(await store.getAlert('failed', 'p', 'orders'), undefined);
      const resolved = { ...firing, status: 'resolved' as const, summary: 'p recovered', lastSentAt: '2026-01-03T00:00:00.000Z', resolvedAt: '2026-01-03T00:00:00.000Z' };
      await store.saveAlert(resolved);
      assert.deepEqual(await store.getAlert('failed', 'p', ''), resolved);
      assert.deepEqual((await store.listAlerts({})).map((a) => a.dedupKey), ['k1', 'k2']);
      assert.deepEqual((await store.listAlerts({ status: 'firing' })).map((a) => [a.rule, a.stream, a.severity]), [['quality', 'orders', 'warning']]);
      assert.deepEqual(await store.listAlerts({ status: 'resolved' }), [resolved]);
    });

    use('the outbox: due deliveries, failures wait for their next attempt, delivered ones leave the pending list', async ({ store }) => {
      const before = Date.now();
      const id1 = await store.enqueueDelivery('team', { event: 'alert.firing', n: 1 });
      const id2 = await store.enqueueDelivery('oncall', { event: 'alert.firing', n: 2 });
      assert.equal(typeof id1, 'number');
      assert.ok(id2 > id1);
      assert.deepEqual(await store.dueDeliveries(before - 1, 10), [], 'not due before it was enqueued');
      const due = await store.dueDeliveries(Date.now(), 10);
      assert.deepEqual(due.map((d) => d.id), [id1, id2]);
      assert.deepEqual(due[0].body, { event: 'alert.firing', n: 1 });
      assert.equal(due[0].channel, 'team');
      assert.equal(due[0].attempts, 0);
      assert.equal(typeof due[0].nextAttemptAt, 'number');
      assert.ok(due[0].nextAttemptAt >= before && due[0].nextAttemptAt <= Date.now());
      assert.match(due[0].createdAt, ISO);
      assert.equal(due[0].deliveredAt, null);
      assert.equal((await store.dueDeliveries(Date.now(), 1)).length, 1);

      const retryAt = Date.now() + 60_000;
      await store.markDeliveryFailed(id1, 'HTTP 503', retryAt);
      assert.deepEqual((await store.dueDeliveries(Date.now(), 10)).map((d) => d.id), [id2], 'not due until its next attempt');
      const later = await store.dueDeliveries(retryAt, 10);
      assert.deepEqual(later.map((d) => d.id), [id1, id2]);
      assert.deepEqual([later[0].attempts, later[0].lastError, later[0].nextAttemptAt], [1, 'HTTP 503', retryAt]);

      await store.markDelivered(id2);
      assert.deepEqual((await store.dueDeliveries(retryAt, 10)).map((d) => d.id), [id1]);
      assert.deepEqual((await store.listDeliveries({ pending: true })).map((d) => d.id), [id1]);
      const all = await store.listDeliveries({});
      assert.deepEqual(all.map((d) => d.id), [id2, id1]);
      assert.match(all[0].deliveredAt!, ISO);
      assert.deepEqual([all[0].attempts, all[0].lastError], [1, null]);
      assert.equal((await store.listDeliveries({ limit: 1 })).length, 1);
    });
  });
}

/** Stores opened by `open`, as many as a test asks for, all closed by the cleanup (then `done`). */
function instances(open: () => ControlStore, done = () => {}): ReturnType<Open> {
  const opened: ControlStore[] = [];
  const another = () => {
    const s = open();
    opened.push(s);
    return s;
  };
  return {
    store: another(),
    another,
    cleanup: async () => {
      for (const s of opened) await s.close();
      done();
    },
  };
}

storeContract('SQLite', () => {
  const { dir, cleanup } = tempDir();
  return instances(() => new SqliteControlStore(dir), cleanup);
});

// One schema per test, named for this run of the file; all dropped at the end.
const run = `sluice_test_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
const pgUrl = (schema: string) => `${PG_URL}?schema=${encodeURIComponent(schema)}`;
const quoted = (s: string) => `"${s.split('"').join('""')}"`;
after(async () => {
  for (const s of schemas) await pgQuery(`DROP SCHEMA IF EXISTS ${quoted(s)} CASCADE`);
});

function pgSchema(): string {
  const schema = `${run}_${schemas.length}`;
  schemas.push(schema);
  return schema;
}

storeContract('PostgreSQL', () => {
  const url = pgUrl(pgSchema());
  return instances(() => new PgControlStore(url));
});

describe('the PostgreSQL control store', () => {
  test('SLUICE_CONTROL_URL selects it; unset, SQLite; another scheme is a configuration error that shows no credentials', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const pg = openControlStore(dir, { SLUICE_CONTROL_URL: pgUrl('sluice_never_connected') });
      assert.ok(pg instanceof PgControlStore);
      assert.equal((pg as PgControlStore).schema, 'sluice_never_connected');
      await pg.close();
      const pg2 = openControlStore(dir, { SLUICE_CONTROL_URL: 'postgresql://u@127.0.0.1/test' });
      assert.ok(pg2 instanceof PgControlStore);
      assert.equal((pg2 as PgControlStore).schema, 'sluice');
      await pg2.close();
      const lite = openControlStore(dir, {});
      assert.ok(lite instanceof SqliteControlStore);
      await lite.close();
      const blank = openControlStore(dir, { SLUICE_CONTROL_URL: '' });
      assert.ok(blank instanceof SqliteControlStore);
      await blank.close();
      for (const value of ['mysql://app:Hidden-Pw-77@db/x', 'app:Hidden-Pw-77@db/x', 'postgres://app:Hidden-Pw-77@[db/x']) {
        assert.throws(() => openControlStore(dir, { SLUICE_CONTROL_URL: value }), (e: Error) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /^SLUICE_CONTROL_URL\b.*expected postgres:\/\//);
          assert.doesNotMatch(e.message, /Hidden-Pw-77/);
          return true;
        });
      }
      assert.throws(() => openControlStore(dir, { SLUICE_CONTROL_URL: 'mysql://app:Hidden-Pw-77@db/x' }), /unsupported scheme "mysql:"/);
    } finally {
      cleanup();
    }
  });

  test('errors never show the password: connection refused, a failing statement', async () => {
    const down = new PgControlStore('postgres://app:Hidden-Pw-77@127.0.0.1:1/test');
    try {
      await assert.rejects(down.listRuns({}), (e: Error) => {
        assert.match(e.message, /^control store postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
        assert.doesNotMatch(e.message + String(e.stack), /Hidden-Pw-77/);
        return true;
      });
    } finally {
      await down.close();
    }
    // Trust authentication ignores the password; the statement fails on its own (a duplicate run id).
    const schema = pgSchema();
    const store = new PgControlStore(`postgres://postgres:Hidden-Pw-77@127.0.0.1:5432/test?schema=${schema}`);
    try {
      await store.startRun({ runId: 'r', pipeline: 'p', startedAt: new Date(), options: {} });
      await assert.rejects(store.startRun({ runId: 'r', pipeline: 'p', startedAt: new Date(), options: {} }), (e: Error & { code?: string }) => {
        assert.match(e.message, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test: duplicate key/);
        assert.doesNotMatch(e.message, /Hidden-Pw-77/);
        assert.equal(e.code, '23505');
        return true;
      });
    } finally {
      await store.close();
    }
  });

  test('tables live in the ?schema= given (quoted), created once by instances starting together', async () => {
    const schema = `${run}_Odd "name"`;
    schemas.push(schema);
    const stores = Array.from({ length: 4 }, () => new PgControlStore(pgUrl(schema)));
    try {
      assert.equal(stores[0].schema, schema);
      const lists = await Promise.all(stores.map((s) => s.listRuns({})));
      assert.deepEqual(lists, [[], [], [], []]);
      const tables = await pgQuery(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema.split("'").join("''")}' ORDER BY table_name`);
      assert.deepEqual(tables.map((r) => r.table_name), [
        'alerts', 'audit', 'audit_head', 'backfills', 'dlq', 'leases', 'locks', 'outbox', 'paused', 'phases', 'quality', 'run_logs', 'runs', 'scheduled_runs', 'schema_changes',
        'schema_version', 'streams', 'suppressions', 'transformer_runs',
      ]);
      assert.deepEqual(await pgQuery(`SELECT version FROM ${quoted(schema)}.schema_version`), [{ version: 6 }]);
      // A store opened later finds the tables and migrates nothing again.
      const late = new PgControlStore(pgUrl(schema));
      await late.startRun({ runId: 'r', pipeline: 'p', startedAt: new Date(), options: {} });
      assert.equal((await stores[1].listRuns({}))[0].run_id, 'r');
      await late.close();
      assert.deepEqual(await pgQuery(`SELECT version FROM ${quoted(schema)}.schema_version`), [{ version: 6 }]);
    } finally {
      for (const s of stores) await s.close();
    }
  });

  test('a pipeline run records its run, phases, transform steps, streams, quality and DLQ in the PostgreSQL store', async () => {
    const { dir, cleanup } = tempDir();
    const store = new PgControlStore(pgUrl(pgSchema()));
    try {
      writeFileSync(join(dir, 'people.csv'), 'id,name,email\n1,Ada,ada@example.org\n2,Grace,\n3,Linus,linus@example.org\n');
      const pipeline = definePipeline({
        pipeline: 'pg-ledger',
        sources: [{ name: 'files', type: 'csv', streams: [{ name: 'people', path: 'people.csv', primary_key: ['id'], write: 'merge' }] }],
        transforms: { people: [{ trim: ['name'] }] },
        checks: { people: [{ not_null: ['email'] }] },
        destination: { type: 'sqlite', path: 'out.sqlite' },
      }, { baseDir: dir });
      const summary = await runPipeline(pipeline, { home: join(dir, 'home'), store });
      assert.equal(summary.status, 'partial_success', summary.error);
      assert.equal(summary.streams.people.loaded, 2);
      assert.equal(summary.streams.people.dead_lettered, 1);

      const detail = (await store.getRun(summary.run_id))!;
      assert.equal(detail.pipeline, 'pg-ledger');
      assert.equal(detail.status, 'partial_success');
      assert.equal(detail.started_at, summary.started_at);
      assert.equal(detail.finished_at, summary.finished_at);
      assert.equal(detail.duration_ms, summary.duration_ms);
      assert.deepEqual(detail.summary, JSON.parse(JSON.stringify(summary)));
      assert.deepEqual(detail.streams.map((s) => [s.stream, s.status, s.counts.loaded, s.counts.dead_lettered]), [['people', 'partial_success', 2, 1]]);
      assert.deepEqual([...new Set(detail.phases.map((p) => p.phase))], ['extract', 'transform', 'validate', 'merge', 'load', 'publish']);
      assert.deepEqual(detail.steps.map(({ duration_ms: _, ...s }) => s), [
        { runId: summary.run_id, stream: 'people', step: 0, name: 'trim', records_in: 3, records_out: 3, failed: 0, filtered: 0 },
      ]);
      assert.deepEqual(detail.steps.map((s) => s.duration_ms), summary.transformers!.people.map((s) => s.duration_ms));
      assert.equal(detail.quality.length, 1);
      assert.equal(detail.quality[0].report.rows, 3);

      const [listed] = await store.listRuns({ pipeline: 'pg-ledger' });
      assert.equal(listed.run_id, summary.run_id);
      assert.equal(listed.quality_score, detail.quality[0].report.score);
      assert.deepEqual(await store.stats('pg-ledger'), { runs: 1, succeeded: 1, success_rate: 1, mean_duration_ms: summary.duration_ms });
      const dlq = await store.listDlq({ pipeline: 'pg-ledger' });
      assert.deepEqual(dlq.map((e) => [e.stream, e.runId, e.position.line]), [['people', summary.run_id, 3]]);
      assert.match(dlq[0].reason, /not_null/);
      // The lock was released: a second run (re-reading the file) starts, and finds the first in the stream's history.
      const second = await runPipeline(pipeline, { home: join(dir, 'home'), store, fullRefresh: true });
      assert.equal(second.status, 'partial_success');
      assert.deepEqual((await store.streamHistory('pg-ledger', 'people', 5, second.run_id)).map((c) => c.loaded), [2]);
      assert.equal((await store.listDlq({ pipeline: 'pg-ledger' })).length, 1, 'the same bad row is not dead-lettered twice');
    } finally {
      await store.close();
      cleanup();
    }
  });
});
