// `sluice serve` as users run it: real processes on one control store (one elects itself scheduler, the other takes
// over when it is killed, and no run starts twice), the HTTP API with its tokens and errors, `/metrics` checked by
// Debian's promtool, and the audit trail that `sluice audit verify` proves intact — or not, once tampered with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { sluice, tempDir, until } from '../helpers.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

test('two serve processes on one control store: one schedules, the other takes over when it dies, no run starts twice; the API, metrics and audit hold', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  writeFileSync(join(dir, 'tokens.txt'), `# name: token\nops: ${TOKEN}\n`);
  writeFileSync(join(dir, 'orders.csv'), 'id,amount\n1,10\n2,20\n3,not-a-number\n');
  writeFileSync(join(dir, 'ticker.yaml'), `pipeline: ticker
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: id
        write: merge
        columns: { id: integer, amount: integer }
destination: { type: sqlite, path: out.db }
schedule: { every: 1s, overlap: skip }
`);
  const a = serve(dir, home, 'a');
  let b: ReturnType<typeof serve> | undefined;
  try {
    const urlA = await a.url;
    await until('a to lead', () => a.log().includes('this process now schedules runs'), 15_000);
    b = serve(dir, home, 'b');
    const urlB = await b.url;
    await sleep(2500);
    assert.ok(!b.log().includes('this process now schedules runs'), 'b waits while a holds the lease');
    const before = await api(urlA, '/api/runs?pipeline=ticker');
    assert.ok(before.body.runs.length >= 2, `a ran the schedule: ${before.text}`);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until('b to take over', () => b!.log().includes('this process now schedules runs'), 10_000);
    assert.ok(Date.now() - killedAt < 6000, 'taken over within the lease and a tick');
    await sleep(2500);

    // --- the API, on b
    assert.equal((await api(urlB, '/livez', { token: null })).status, 200);
    for (const token of [null, 'wrong-token', TOKEN + 'x']) {
      const r = await api(urlB, '/api/health', { token });
      assert.equal(r.status, 401, `token ${token}`);
      assert.deepEqual(Object.keys(r.body), ['error']);
    }
    assert.equal((await api(urlB, '/metrics', { token: null })).status, 401);
    const pipelines = await api(urlB, '/api/pipelines');
    assert.equal(pipelines.status, 200);
    const ticker = pipelines.body.pipelines[0];
    assert.equal(ticker.name, 'ticker');
    assert.equal(ticker.schedule.every, '1s');
    assert.ok(Date.parse(ticker.next_run) > Date.now() - 1000);
    // The file is loaded once (later runs find it in state): the last run dead-lettered nothing, all runs succeeded.
    assert.deepEqual(ticker.health, { status: 'healthy', score: 100, issues: [], recommendations: [] });
    const health = await api(urlB, '/api/health');
    assert.equal(health.body.status, 'healthy');
    assert.deepEqual(Object.keys(health.body.pipelines), ['ticker']);

    const runs = (await api(urlB, '/api/runs?pipeline=ticker&limit=200')).body.runs as { run_id: string; status: string; streams: Record<string, { extracted: number; loaded: number; dead_lettered: number }> }[];
    // The newest may still be running (no phases yet): the newest finished one.
    const detail = await api(urlB, `/api/runs/${runs.find((r) => r.status !== 'running')!.run_id}`);
    assert.equal(detail.status, 200);
    assert.ok(detail.body.phases_by_stream.orders.some((p: { phase: string }) => p.phase === 'extract'));
    const finished = runs.filter((r) => r.status !== 'running');
    assert.ok(finished.every((r) => r.streams.orders.extracted === r.streams.orders.loaded + r.streams.orders.dead_lettered + 0 || r.streams.orders.extracted === 0));

    // No run twice: every run belongs to exactly one scheduled key, and each key ran at most once.
    const scheduled = (await api(urlB, '/api/scheduled-runs?pipeline=ticker&limit=1000')).body.scheduled_runs as { scheduledFor: string; runId?: string; status: string; holder: string }[];
    const keys = scheduled.map((s) => s.scheduledFor);
    assert.equal(new Set(keys).size, keys.length);
    const runIds = scheduled.filter((s) => s.runId).map((s) => s.runId!);
    assert.equal(new Set(runIds).size, runIds.length);
    for (const r of runs) assert.ok(runIds.includes(r.run_id), `run ${r.run_id} has its scheduled key`);
    assert.equal(new Set(scheduled.map((s) => s.holder)).size, 2, 'both processes scheduled, one after the other');
    const holders = scheduled.slice().reverse().map((s) => s.holder);
    const switchAt = holders.findIndex((h) => h !== holders[0]);
    assert.ok(holders.slice(switchAt).every((h) => h === holders[switchAt]), 'the schedule moved once, from a to b');

    // Errors are JSON with a 4xx, never a stack trace.
    const missing = await api(urlB, '/api/pipelines/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /no pipeline "nope"/);
    const badLimit = await api(urlB, '/api/runs?limit=lots');
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.error, /limit: expected an integer/);
    const badBody = await api(urlB, '/api/dlq/replay', { method: 'POST', body: '{not json' });
    assert.equal(badBody.status, 400);
    assert.doesNotMatch(badBody.text, /at .*\.js/);
    assert.equal((await api(urlB, '/api/nowhere')).status, 404);

    // A trigger runs now, under its own key, audited with the token's name.
    const trig = await api(urlB, '/api/pipelines/ticker/runs', { method: 'POST' });
    assert.equal(trig.status, 202);
    await until('the triggered run', async () => (await api(urlB, '/api/audit?limit=1000')).body.entries.some((e: { action: string; actor: string }) => e.action === 'run.finished' && e.actor === 'token:ops'), 15_000);

    // DLQ through the API: list, then purge (audited).
    const dlq = await api(urlB, '/api/dlq?pipeline=ticker');
    assert.equal(dlq.body.rows.length, 1, 'the same bad row, de-duplicated across runs');
    assert.match(dlq.body.rows[0].reason, /amount/);
    const purge = await api(urlB, '/api/dlq?pipeline=ticker', { method: 'DELETE' });
    assert.deepEqual(purge.body, { purged: 1 });
    assert.equal((await api(urlB, '/api/dlq?pipeline=ticker')).body.rows.length, 0);

    // /metrics: valid Prometheus exposition with the documented names, no unbounded labels.
    const metrics = await api(urlB, '/metrics');
    assert.equal(metrics.status, 200);
    for (const name of ['sluice_runs_total', 'sluice_rows_total', 'sluice_run_duration_seconds_bucket', 'sluice_phase_duration_seconds_bucket',
      'sluice_last_success_timestamp_seconds', 'sluice_dlq_rows', 'sluice_health_score', 'sluice_scheduler_leader 1', 'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
      assert.ok(metrics.text.includes(name), name);
    }
    assert.match(metrics.text, /sluice_runs_total\{pipeline="ticker",status="success"\} [1-9]/);
    assert.doesNotMatch(metrics.text, /run_id=/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
    assert.equal(promtool.error, undefined, 'promtool (Debian package prometheus) must be installed: .ci/run unpacks it');
    assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);

    // SIGTERM drains and exits 0.
    b.child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => b!.child.once('exit', resolve));
    assert.equal(code, 0, b.log());
    b = undefined;
  } finally {
    a.child.kill('SIGKILL');
    b?.child.kill('SIGKILL');
  }

  // The audit trail: intact, then tampered with.
  try {
    const ok = await sluice(['audit', 'verify'], { home });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit trail intact: \d+ entries/);
    const runId = (await sluice(['runs', '--json'], { home })).stdout;
    const firstRun = (JSON.parse(runId) as { runs: { run_id: string }[] }).runs.at(-1)!.run_id;
    const exported = await sluice(['audit', 'export', '--run', firstRun], { home });
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action?: string });
    assert.deepEqual(lines.map((l) => l.action ?? l.type), ['run.started', 'run.finished', 'run']);

    // Tampering as someone with write access to the store would: one connection, between the CLI's reads (WAL).
    const db = openDatabase(join(home, 'control.db'));
    try {
      const original = (db.prepare('SELECT actor FROM audit WHERE seq = 3').get() as { actor: string }).actor;
      db.prepare(`UPDATE audit SET actor = 'someone-else' WHERE seq = 3`).run();
      const altered = await sluice(['audit', 'verify'], { home });
      assert.equal(altered.code, 1);
      assert.match(altered.stdout, /broken at entry 3: its content does not match its hash/);

      db.prepare('UPDATE audit SET actor = ? WHERE seq = 3').run(original);
      const last = (db.prepare('SELECT MAX(seq) AS n FROM audit').get() as { n: number }).n;
      db.prepare('DELETE FROM audit WHERE seq = 5').run();
      const removed = await sluice(['audit', 'verify'], { home });
      assert.equal(removed.code, 1);
      assert.match(removed.stdout, /broken at entry 6: expected entry 5 here: entries were removed/);

      db.prepare('DELETE FROM audit WHERE seq >= 5').run();
      const truncated = await sluice(['audit', 'verify'], { home });
      assert.equal(truncated.code, 1);
      assert.match(truncated.stdout, new RegExp(`chain ends at entry 4 but its head says ${last}`));
    } finally {
      db.close();
    }
  } finally {
    cleanup();
  }
});
