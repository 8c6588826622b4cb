import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { tempDir } from '../helpers.js';

test('the lock refuses a live holder and takes over from a dead one', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(dir);
  try {
    await store.acquireLock('p', { runId: 'r1', pid: process.pid, host: 'h' });
    await assert.rejects(store.acquireLock('p', { runId: 'r2', pid: process.pid, host: 'h' }), /already running \(run r1/);
    await store.releaseLock('p', 'r1');
    // 2^22 + 1 is above Linux's default pid_max: certainly not a live process.
    await store.acquireLock('q', { runId: 'dead', pid: 4194305, host: 'h' });
    await store.acquireLock('q', { runId: 'r3', pid: process.pid, host: 'h' });
  } finally {
    await store.close();
    cleanup();
  }
});

test('DLQ entries are de-duplicated by position and payload; purge and replay marks work', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(dir);
  try {
    const entry = { pipeline: 'p', stream: 's', runId: 'r1', stage: 'parse' as const, reason: 'bad', raw: 'a,b', position: { file: 'f.csv', line: 3 } };
    assert.equal(await store.addDlq([entry, { ...entry, position: { file: 'f.csv', line: 4 } }]), 2);
    assert.equal(await store.addDlq([{ ...entry, runId: 'r2' }]), 1); // an upsert: same row, newer run
    const rows = await store.listDlq({ pipeline: 'p' });
    assert.equal(rows.length, 2);
    assert.equal(rows[0].runId, 'r2');
    assert.deepEqual(rows[0].position, { file: 'f.csv', line: 3 });
    await store.markReplayed([rows[0].id!]);
    assert.equal((await store.listDlq({ pipeline: 'p' })).length, 1);
    assert.equal((await store.listDlq({ pipeline: 'p', includeReplayed: true })).length, 2);
    assert.equal(await store.purgeDlq({ pipeline: 'p' }), 2);
  } finally {
    await store.close();
    cleanup();
  }
});

test('runs are listed with success rate and mean duration', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(dir);
  try {
    const t = Date.parse('2026-01-01T00:00:00Z');
    for (const [id, status, ms] of [['a', 'success', 1000], ['b', 'failed', 3000]] as const) {
      await store.startRun({ runId: id, pipeline: 'p', startedAt: new Date(t), options: {} });
      await store.finishRun(id, { status, finishedAt: new Date(t + ms), summary: { run_id: id } });
    }
    const stats = await store.stats('p');
    assert.deepEqual(stats, { runs: 2, succeeded: 1, success_rate: 0.5, mean_duration_ms: 2000 });
    const detail = await store.getRun('a');
    assert.deepEqual(detail?.summary, { run_id: 'a' });
    assert.equal((await store.listRuns({ pipeline: 'p' })).length, 2);
  } finally {
    await store.close();
    cleanup();
  }
});
