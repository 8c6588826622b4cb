// The scheduler's policies on a real control store: catch-up after downtime, overlap (skip, queue, cancel), timeouts,
// retries with backoff, `after:` dependencies and pipeline files that change or break. The engine is replaced by a
// run function the test controls, so a run lasts exactly as long as a policy needs; everything else is real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedPipeline } from '../../src/config/types.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RunOptions, RunSummary } from '../../src/engine/runner.js';
import { Service } from '../../src/orchestrate/service.js';
import { tempDir, until } from '../helpers.js';

const pipelineYaml = (name: string, schedule: string) => `pipeline: ${name}
sources:
  - name: files
    type: csv
    streams:
      - name: rows
        path: data.csv
schedule:
${schedule.split('\n').map((l) => `  ${l}`).join('\n')}
`;

interface Call { pipeline: string; opts: RunOptions; at: number }

/** A stand-in engine: each call waits `hold(pipeline)` ms (or until drained), then succeeds or throws. */
function engine(behaviour: { hold?: (p: string) => number; fail?: (p: string, n: number) => boolean } = {}) {
  const calls: Call[] = [];
  const run = async (loaded: LoadedPipeline, opts: RunOptions): Promise<RunSummary> => {
    const pipeline = loaded.config.pipeline;
    const n = calls.filter((c) => c.pipeline === pipeline).length;
    calls.push({ pipeline, opts, at: Date.now() });
    const started = new Date();
    const hold = behaviour.hold?.(pipeline) ?? 0;
    if (hold > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, hold);
        opts.drain?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
    if (behaviour.fail?.(pipeline, n)) throw new Error(`attempt ${n} failed`);
    const finished = new Date();
    return {
      run_id: opts.runId!, pipeline, status: 'success', started_at: started.toISOString(), finished_at: finished.toISOString(),
      duration_ms: finished.getTime() - started.getTime(), phases: [], streams: {}, quality: { score: null },
    };
  };
  return { calls, run };
}

async function withService(
  files: Record<string, string>,
  eng: ReturnType<typeof engine>,
  body: (s: { svc: Service; store: SqliteControlStore; dir: string }) => Promise<void>,
  opts: { now?: () => Date; before?: (store: SqliteControlStore) => Promise<void>; maxConcurrent?: number; watchMs?: number } = {},
) {
  const { dir, cleanup } = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const store = new SqliteControlStore(join(dir, '.sluice'));
  await opts.before?.(store);
  const svc = new Service({ paths: [dir], store, logger: silentLogger(), run: eng.run, tickMs: 50, watchMs: opts.watchMs ?? 100, leaseMs: 2000, now: opts.now, maxConcurrent: opts.maxConcurrent });
  try {
    await svc.start();
    await body({ svc, store, dir });
  } finally {
    await svc.stop();
    await store.close();
    cleanup();
  }
}

test('catch-up after downtime: latest runs the newest missed time, all runs up to the limit, none runs nothing', async () => {
  const now = new Date('2026-06-01T12:00:30Z');
  const lastRun = new Date('2026-06-01T06:00:00Z'); // six hours of hourly runs missed
  for (const [catchup, expected] of [['latest', ['2026-06-01T12:00:00.000Z']], ['all', ['2026-06-01T10:00:00.000Z', '2026-06-01T11:00:00.000Z', '2026-06-01T12:00:00.000Z']], ['none', []]] as const) {
    const eng = engine();
    await withService({ 'p.yaml': pipelineYaml('hourly', `cron: "0 * * * *"\ncatchup: ${catchup}\ncatchup_limit: 3`) }, eng, async ({ store }) => {
      await sleep(300);
      const ran = eng.calls.map((c) => c.opts.runId);
      assert.equal(ran.length, expected.length, `catchup: ${catchup}`);
      const rows = await store.listScheduledRuns({ pipeline: 'hourly', limit: 100 });
      const started = rows.filter((r) => r.status === 'success' && r.holder !== 'old').map((r) => r.scheduledFor.toISOString()).sort();
      assert.deepEqual(started, [...expected], `catchup: ${catchup}`);
      const audit = await store.listAudit({ pipeline: 'hourly' });
      const missed = audit.find((e) => e.action === 'schedule.missed');
      assert.equal(missed?.detail.missed, 6 - expected.length, `catchup: ${catchup} records what it skipped`);
      if (catchup === 'none') assert.deepEqual(rows.map((r) => [r.scheduledFor.toISOString(), r.status]), [['2026-06-01T12:00:00.000Z', 'skipped'], ['2026-06-01T06:00:00.000Z', 'success']]);
    }, {
      now: () => now,
      before: async (store) => {
        await store.claimScheduledRun({ pipeline: 'hourly', scheduledFor: lastRun, trigger: 'schedule', holder: 'old' });
        await store.updateScheduledRun('hourly', lastRun, { status: 'success' });
      },
    });
  }
});

test('a new pipeline has missed nothing: it waits for its first due time', async () => {
  const eng = engine();
  await withService({ 'p.yaml': pipelineYaml('daily', 'cron: "0 2 * * *"') }, eng, async ({ store, svc }) => {
    await sleep(200);
    assert.equal(eng.calls.length, 0);
    assert.equal((await store.listScheduledRuns({})).length, 0);
    const next = svc.scheduler.nextDue('daily', svc.loaded('daily')!.config.schedule!);
    assert.ok(next && next > new Date());
  });
});

test('overlap: skip records the run as skipped; queue runs it after; cancel stops the running one at its checkpoint', async () => {
  for (const overlap of ['skip', 'queue', 'cancel'] as const) {
    const eng = engine({ hold: () => (overlap === 'cancel' ? 5000 : 1300) });
    await withService({ 'p.yaml': pipelineYaml('busy', `every: 1s\noverlap: ${overlap}`) }, eng, async ({ store }) => {
      await sleep(2600);
      const rows = await store.listScheduledRuns({ pipeline: 'busy', limit: 100 });
      if (overlap === 'skip') {
        assert.ok(rows.some((r) => r.status === 'skipped' && /overlap: skip — the previous run \(.+\) is still running/.test(r.error ?? '')), JSON.stringify(rows));
        assert.ok(eng.calls.length <= 2, `skip ran ${eng.calls.length}`);
      } else if (overlap === 'queue') {
        assert.ok(!rows.some((r) => r.status === 'skipped'), JSON.stringify(rows));
        // Runs never overlap: each starts after the previous one ended.
        for (let i = 1; i < eng.calls.length; i++) assert.ok(eng.calls[i].at - eng.calls[i - 1].at >= 1250, 'queued runs run one after another');
        assert.ok(eng.calls.length >= 2);
      } else {
        const cancelled = rows.filter((r) => r.status === 'cancelled');
        assert.ok(cancelled.length >= 1, JSON.stringify(rows));
        assert.match(cancelled[0].error ?? '', /cancelled: a newer run is due/);
        assert.equal(eng.calls[0].opts.drain?.aborted, true, 'the first run was drained, not killed');
        assert.equal(eng.calls[0].opts.signal?.aborted, false);
      }
    });
  }
});

test('a run past its timeout stops at its checkpoint and is recorded as timed out, then retried with backoff', async () => {
  const eng = engine({ hold: () => 60_000 });
  await withService({ 'p.yaml': pipelineYaml('slow', 'cron: "0 0 1 1 *"\ntimeout: 1s\nretries: { attempts: 1, initial: 1s, max: 1s }') }, eng, async ({ svc, store }) => {
    const req = await svc.trigger('slow', 'test');
    await sleep(1500);
    let [row] = await store.listScheduledRuns({ pipeline: 'slow' });
    assert.equal(eng.calls.length, 1);
    assert.ok(row.status === 'timed_out' || row.status === 'claimed', row.status);
    assert.equal(eng.calls[0].opts.drain?.aborted, true);
    await sleep(2000); // the retry after 1 s, itself timed out after 1 s
    [row] = await store.listScheduledRuns({ pipeline: 'slow' });
    assert.equal(eng.calls.length, 2, 'one retry');
    assert.equal(row.attempt, 1);
    assert.equal(row.status, 'timed_out');
    assert.match(row.error ?? '', /timed out after 1s/);
    assert.equal(row.scheduledFor.getTime(), req.scheduledFor.getTime(), 'a retry keeps its run key');
  });
});

test('a failed run is retried with exponential backoff up to its attempts', async () => {
  const eng = engine({ fail: (_p, n) => n < 2 });
  await withService({ 'p.yaml': pipelineYaml('flaky', 'cron: "0 0 1 1 *"\nretries: { attempts: 3, initial: 1s, max: 10s }') }, eng, async ({ svc, store }) => {
    await svc.trigger('flaky', 'test');
    await sleep(3600); // attempts at 0 s, 1 s and 1 + 2 = 3 s
    assert.equal(eng.calls.length, 3);
    const gaps = eng.calls.slice(1).map((c, i) => c.at - eng.calls[i].at);
    assert.ok(gaps[0] >= 950 && gaps[0] < 1600, `first wait ${gaps[0]}`);
    assert.ok(gaps[1] >= 1950 && gaps[1] < 2700, `second wait doubles: ${gaps[1]}`);
    const [row] = await store.listScheduledRuns({ pipeline: 'flaky' });
    assert.equal(row.status, 'success');
    assert.equal(row.attempt, 2);
  });
});

test('after: a pipeline runs when the one it follows has loaded, once per upstream run', async () => {
  const eng = engine();
  await withService({
    'a.yaml': pipelineYaml('upstream', 'cron: "0 0 1 1 *"'),
    'b.yaml': pipelineYaml('downstream', 'after: [upstream]'),
  }, eng, async ({ svc, store }) => {
    await svc.trigger('upstream', 'test');
    await svc.trigger('upstream', 'test');
    // Waited for, not slept on: on a busy machine the second downstream run may take longer than a fixed pause.
    const finished = async () => (await store.listScheduledRuns({ pipeline: 'downstream' })).filter((r) => r.status === 'success').length === 2;
    await until('both downstream runs', finished, 5000);
    assert.deepEqual(eng.calls.map((c) => c.pipeline).sort(), ['downstream', 'downstream', 'upstream', 'upstream']);
    const down = await store.listScheduledRuns({ pipeline: 'downstream' });
    assert.deepEqual(down.map((r) => [r.trigger, r.actor, r.status]), [['after', 'after:upstream', 'success'], ['after', 'after:upstream', 'success']]);
  });
});

test('a pipeline file that breaks keeps its last good version; a fixed one is reloaded; each change is audited', async () => {
  const eng = engine();
  await withService({ 'p.yaml': pipelineYaml('edited', 'cron: "0 0 1 1 *"') }, eng, async ({ svc, store, dir }) => {
    writeFileSync(join(dir, 'p.yaml'), pipelineYaml('edited', 'cron: "not a cron"'));
    await sleep(400);
    const entry = svc.pipelines.all()[0];
    assert.match(entry.error ?? '', /cron expression/);
    assert.equal(svc.loaded('edited')?.config.schedule?.cron, '0 0 1 1 *', 'the last good version still runs');
    writeFileSync(join(dir, 'p.yaml'), pipelineYaml('edited', 'cron: "0 3 * * *"'));
    await sleep(400);
    assert.equal(svc.loaded('edited')?.config.schedule?.cron, '0 3 * * *');
    assert.equal(svc.pipelines.all()[0].error, undefined);
    const actions = (await store.listAudit({})).map((e) => e.action);
    assert.deepEqual(actions.filter((a) => a.startsWith('pipeline.')), ['pipeline.added', 'pipeline.invalid', 'pipeline.changed']);
    const hashes = (await store.listAudit({})).filter((e) => e.action.startsWith('pipeline.')).map((e) => e.detail.sha256);
    assert.equal(new Set(hashes).size, 3, 'each version is recorded by its content hash');
  });
});

test('the global cap holds: never more runs at once than max_concurrent', async () => {
  let active = 0;
  let peak = 0;
  const base = engine({ hold: () => 300 });
  const eng = {
    calls: base.calls,
    run: async (l: LoadedPipeline, o: RunOptions) => {
      peak = Math.max(peak, ++active);
      try { return await base.run(l, o); } finally { active--; }
    },
  };
  const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}.yaml`, pipelineYaml(`p${i}`, 'cron: "0 0 1 1 *"')]));
  await withService(files, eng, async ({ svc }) => {
    for (let i = 0; i < 6; i++) await svc.trigger(`p${i}`, 'test');
    await sleep(1200);
    assert.equal(base.calls.length, 6);
    assert.equal(peak, 2);
  }, { maxConcurrent: 2 });
});

test('a changed file is noticed by the file system\'s events, long before the next poll', async () => {
  const eng = engine();
  await withService({ 'p.yaml': pipelineYaml('watched', 'cron: "0 0 1 1 *"') }, eng, async ({ svc, dir }) => {
    writeFileSync(join(dir, 'p.yaml'), pipelineYaml('watched', 'cron: "0 4 * * *"'));
    writeFileSync(join(dir, 'q.yaml'), pipelineYaml('added', 'cron: "0 5 * * *"'));
    for (let i = 0; i < 40 && (svc.loaded('watched')?.config.schedule?.cron !== '0 4 * * *' || !svc.loaded('added')); i++) await sleep(50);
    assert.equal(svc.loaded('watched')?.config.schedule?.cron, '0 4 * * *');
    assert.ok(svc.loaded('added'), 'a new file in the directory is served');
  }, { watchMs: 600_000 });
});
