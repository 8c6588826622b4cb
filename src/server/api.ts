// The HTTP API of `sluice serve` (JSON), designed for the dashboard and for scripts: pipelines with their schedule,
// next and last run and health; syncs (a hash sync's schedule and runs, a cdc sync's streams and lag); runs (the `--json` objects) and one run with its phases per stream; scheduled runs;
// DLQ list, show, replay and purge; state per stream; quality trend; alerts; the audit trail; triggers. Every
// route but `GET /livez` needs a bearer token, and a role (./tokens.ts): any to look, operator to run, admin to destroy
// (refusals audited, ./roles.ts). Errors are `{error}` with a 4xx status, never a stack trace.
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { ScheduledStatus } from '../control/service-records.js';
import { ConfigError, LockedError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import { readState, streamNames, withDestination } from '../engine/pipeline-state.js';
import { replayDlq } from '../engine/replay.js';
import { planRerun } from '../engine/rerun.js';
import type { Metrics } from '../observe/metrics.js';
import type { StatusView } from '../observe/status.js';
import { parseStep } from '../orchestrate/backfill.js';
import type { Service } from '../orchestrate/service.js';
import { eraseSubject } from '../privacy/erase.js';
import { mountDashboard } from './dashboard.js';
import { previewTable } from './preview.js';
import { denier, neededFor, needsRole, type ApiEnv } from './roles.js';
import { refusal, sessionOf } from './session.js';
import type { Token } from './tokens.js';

export interface ApiDeps {
  service: Service;
  store: ControlStore;
  status: StatusView;
  metrics: Metrics;
  tokens: Token[];
  logger: Logger;
}

const bad = (status: 400 | 404 | 409, message: string): HTTPException =>
  new HTTPException(status, { res: new Response(JSON.stringify({ error: message }), { status, headers: { 'content-type': 'application/json' } }) });

function limitParam(c: Context, fallback: number, max = 1000): number {
  const raw = c.req.query('limit');
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw bad(400, `limit: expected an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through: the same error for broken JSON and for JSON that is no object
  }
  throw bad(400, 'expected a JSON object as the request body');
}

export function createApi(d: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const { service, store } = d;
  const deny = denier(store, d.logger);

  app.get('/livez', (c) => c.json({ status: 'ok' }));
  mountDashboard(app, d.tokens);

  app.use('*', async (c, next) => {
    const session = sessionOf(c, d.tokens);
    if (!session) return c.json({ error: 'unauthorized: send Authorization: Bearer <token>, or log in' }, 401, { 'www-authenticate': 'Bearer' });
    const refused = refusal(c, session, neededFor(c));
    if (refused) return deny(c, session, refused);
    c.set('actor', `token:${session.token.name}`);
    c.set('session', session);
    c.set('deny', deny);
    await next();
  });

  app.get('/api/session', (c) => {
    const s = c.get('session');
    return c.json({ actor: c.get('actor'), role: s.token.role, csrf: s.csrf });
  });

  app.get('/metrics', async (c) => {
    const parts = await d.metrics.parts();
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (const p of parts) ctl.enqueue(p);
        ctl.close();
      },
    });
    return c.body(body, 200, { 'content-type': d.metrics.contentType });
  });

  app.get('/api/health', async (c) => {
    const s = await d.status.snapshot();
    return c.json({ status: s.overall.status, score: s.overall.score, pipelines: s.health });
  });

  const pipelineView = async (name: string) => {
    const served = service.pipelines.pipelines().get(name);
    if (!served) return undefined;
    const { entry } = served;
    const s = await d.status.snapshot();
    const o = s.overview.get(name);
    const schedule = served.loaded.config.schedule;
    const running = service.executor.running().find((r) => r.pipeline === name);
    return {
      name, file: entry.file, description: served.loaded.config.description ?? null,
      schedule: schedule ? {
        cron: schedule.cron ?? null, every: schedule.every?.text ?? null, timezone: schedule.timezone, after: schedule.after ?? [],
        catchup: schedule.catchup, overlap: schedule.overlap, timeout: schedule.timeout?.text ?? null, enabled: schedule.enabled,
      } : null,
      next_run: schedule ? service.scheduler.nextDue(name, schedule)?.toISOString() ?? null : null,
      last_run: o ? { run_id: o.last_run_id, status: o.last_status, finished_at: o.last_finished_at } : null,
      last_success_at: o?.last_success_at ?? null,
      running: running ? { run_id: running.runId, scheduled_for: running.scheduledFor.toISOString(), trigger: running.trigger } : null,
      invalid: entry.error ?? null,
      health: s.health[name],
      paused: !!service.pausedBy(name),
      paused_by: service.pausedBy(name) ?? null,
      recent_runs: (await store.listRuns({ pipeline: name, limit: 20 })).map((r) => ({
        run_id: r.run_id, status: r.status, started_at: r.started_at, duration_ms: r.duration_ms,
        extracted: r.extracted ?? null, loaded: r.loaded ?? null, dead_lettered: r.dead_lettered ?? null, quality_score: r.quality_score ?? null,
      })),
    };
  };

  app.get('/api/pipelines', async (c) => {
    const names = [...service.pipelines.pipelines().keys()].sort();
    const invalid = service.pipelines.all().filter((e) => !e.loaded && !e.sync).map((e) => ({ file: e.file, error: e.error }));
    return c.json({ pipelines: await Promise.all(names.map(pipelineView)), invalid_files: invalid });
  });

  app.get('/api/pipelines/:name', async (c) => {
    const view = await pipelineView(c.req.param('name'));
    if (!view) throw bad(404, `no pipeline "${c.req.param('name')}" is served`);
    return c.json(view);
  });

  app.post('/api/pipelines/:name/runs', async (c) => {
    const name = c.req.param('name');
    if (!service.loaded(name)) throw bad(404, `no pipeline "${name}" is served`);
    const req = await service.trigger(name, c.get('actor'));
    return c.json({ pipeline: name, scheduled_for: req.scheduledFor.toISOString(), trigger: req.trigger, status: 'queued' }, 202);
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    app.post(`/api/pipelines/:name/${action}`, async (c) => {
      const name = c.req.param('name');
      if (!service.runnable(name)) throw bad(404, `no pipeline "${name}" is served`);
      await service.setPaused(name, paused, c.get('actor'));
      return c.json({ pipeline: name, paused, paused_by: service.pausedBy(name) ?? null });
    });
  }

  const syncView = async (name: string) => {
    const served = service.pipelines.syncs().get(name);
    if (!served) return undefined;
    const { entry, loaded } = served;
    const schedule = loaded.config.schedule;
    const o = (await d.status.snapshot()).overview.get(name);
    const running = service.executor.running().find((r) => r.pipeline === name);
    return {
      name, file: entry.file, mode: loaded.config.mode,
      schedule: schedule ? { cron: schedule.cron ?? null, every: schedule.every?.text ?? null, timezone: schedule.timezone, enabled: schedule.enabled } : null,
      next_run: schedule ? service.scheduler.nextDue(name, schedule)?.toISOString() ?? null : null,
      last_run: o ? { run_id: o.last_run_id, status: o.last_status, finished_at: o.last_finished_at } : null,
      running: running ? { run_id: running.runId, scheduled_for: running.scheduledFor.toISOString(), trigger: running.trigger } : null,
      // mode: cdc: each stream as this process runs it (none where another process holds the lease).
      streams: service.syncStreams.views(name).map((v) => ({
        stream: v.stream, state: v.state, error: v.error ?? null, last_commit_at: v.lastCommitAt?.toISOString() ?? null,
        lag_seconds: v.lagSeconds ?? null, lag_bytes: v.lag?.lagBytes ?? null, wal_retained_bytes: v.lag?.retainedBytes ?? null,
        wal_status: v.lag?.walStatus ?? null, safe_wal_size_bytes: v.lag?.safeWalSize ?? null, lag_sampled_at: v.lag?.at.toISOString() ?? null,
      })),
      invalid: entry.error ?? null,
    };
  };

  app.get('/api/syncs', async (c) => {
    const names = [...service.pipelines.syncs().keys()].sort();
    return c.json({ syncs: await Promise.all(names.map(syncView)) });
  });

  app.get('/api/syncs/:name', async (c) => {
    const view = await syncView(c.req.param('name'));
    if (!view) throw bad(404, `no sync "${c.req.param('name')}" is served`);
    return c.json(view);
  });

  app.post('/api/syncs/:name/runs', async (c) => {
    const name = c.req.param('name');
    const sync = service.sync(name);
    if (!sync) throw bad(404, `no sync "${name}" is served`);
    if (sync.config.mode === 'cdc') throw bad(409, `sync "${name}" streams continuously (mode: cdc): it has no runs to trigger`);
    const req = await service.trigger(name, c.get('actor'));
    return c.json({ sync: name, scheduled_for: req.scheduledFor.toISOString(), trigger: req.trigger, status: 'queued' }, 202);
  });

  app.post('/api/pipelines/:name/backfills', async (c) => {
    const name = c.req.param('name');
    if (!service.loaded(name)) throw bad(404, `no pipeline "${name}" is served`);
    const body = await jsonBody(c);
    const text = (k: string) => (typeof body[k] === 'string' || typeof body[k] === 'number' ? String(body[k]) : undefined);
    const from = text('from');
    const to = text('to');
    if (!from || !to) throw bad(400, 'from, to: expected the range to reload (dates, timestamps or numbers)');
    const streams = body.streams === undefined ? undefined : Array.isArray(body.streams) && body.streams.every((x) => typeof x === 'string') ? body.streams as string[] : null;
    if (streams === null) throw bad(400, 'streams: expected an array of stream names');
    const parallel = body.parallel === undefined ? 1 : Number(body.parallel);
    if (!Number.isInteger(parallel) || parallel < 1) throw bad(400, 'parallel: expected an integer ≥ 1');
    try {
      const by = parseStep(text('by'));
      const id = await service.backfill(name, c.get('actor'), { from, to, parallel, ...(by !== undefined ? { by } : {}), ...(streams ? { streams } : {}) });
      return c.json({ id, pipeline: name, status: 'started' }, 202);
    } catch (e) {
      if (e instanceof ConfigError) throw bad(400, e.message);
      throw e;
    }
  });

  app.get('/api/backfills', async (c) => c.json({ backfills: await store.listBackfills({ pipeline: c.req.query('pipeline'), limit: limitParam(c, 50) }) }));

  app.get('/api/backfills/:id', async (c) => {
    const b = await store.getBackfill(c.req.param('id'));
    if (!b) throw bad(404, `no backfill "${c.req.param('id')}"`);
    return c.json(b);
  });

  app.get('/api/runs', async (c) => {
    const rows = await store.listRuns({ pipeline: c.req.query('pipeline'), limit: limitParam(c, 50) });
    const runs = await Promise.all(rows.map(async (r) => (await store.getRun(r.run_id))?.summary ?? { ...r, status: r.status }));
    return c.json({ runs });
  });

  app.get('/api/runs/:id', async (c) => {
    const run = await store.getRun(c.req.param('id'));
    if (!run) {
      // Started here but not recorded yet (its thread is taking the pipeline's lock): running, with nothing to show.
      const starting = service.executor.running().find((r) => r.runId === c.req.param('id'));
      if (!starting) throw bad(404, `no run "${c.req.param('id')}"`);
      return c.json({
        run_id: starting.runId, pipeline: starting.pipeline, status: 'running', started_at: null, finished_at: null, duration_ms: null,
        error: null, summary: null, phases_by_stream: {}, steps_by_stream: {}, streams: [], schema_changes: [], quality: [], audit: [],
        live: service.executor.liveCounts(starting.runId) ?? null,
      });
    }
    const phasesByStream: Record<string, unknown[]> = {};
    for (const p of run.phases) {
      (phasesByStream[p.stream] ??= []).push({
        phase: p.phase, status: p.status, duration_ms: p.durationMs, started_at: p.startedAt?.toISOString() ?? null, ended_at: p.endedAt?.toISOString() ?? null,
        rows_in: p.rowsIn ?? null, rows_out: p.rowsOut ?? null, error: p.error ?? null,
      });
    }
    // Each stream's transform steps as the run summary has them (`transformers`), from the store's records.
    const stepsByStream: Record<string, unknown[]> = {};
    for (const { runId: _, stream, ...step } of run.steps) (stepsByStream[stream] ??= []).push(step);
    return c.json({
      run_id: run.run_id, pipeline: run.pipeline, status: run.status, started_at: run.started_at, finished_at: run.finished_at,
      duration_ms: run.duration_ms, error: run.error, summary: run.summary, phases_by_stream: phasesByStream, steps_by_stream: stepsByStream,
      streams: run.streams.map((s) => ({ stream: s.stream, status: s.status, counts: s.counts, error: s.error ?? null })),
      schema_changes: run.schema_changes, quality: run.quality,
      audit: await store.listAudit({ runId: run.run_id, limit: 1000 }),
      // While it runs here: each stream's counts so far (its record has them once the stream finished).
      live: run.status === 'running' ? service.executor.liveCounts(run.run_id) ?? null : null,
    });
  });

  app.get('/api/runs/:id/logs', async (c) => {
    const after = Number(c.req.query('after') ?? 0);
    if (!Number.isInteger(after) || after < 0) throw bad(400, 'after: expected a line number');
    return c.json({ lines: await store.listRunLogs(c.req.param('id'), { afterSeq: after, limit: limitParam(c, 1000, 5000) }) });
  });

  app.post('/api/runs/:id/rerun', async (c) => {
    let plan;
    try {
      plan = await planRerun(store, c.req.param('id'));
    } catch (e) {
      throw bad(e instanceof ConfigError && /^no run/.test(e.message) ? 404 : 409, errorMessage(e));
    }
    if (!service.loaded(plan.pipeline)) throw bad(404, `pipeline "${plan.pipeline}" of run ${plan.runId} is not served`);
    const req = await service.trigger(plan.pipeline, c.get('actor'), 'rerun', plan.streams, { rerun_of: plan.runId });
    return c.json({ pipeline: plan.pipeline, rerun_of: plan.runId, streams: plan.streams ?? null, scheduled_for: req.scheduledFor.toISOString(), status: 'queued' }, 202);
  });

  app.get('/api/scheduled-runs', async (c) => {
    const status = c.req.query('status')?.split(',') as ScheduledStatus[] | undefined;
    const rows = await store.listScheduledRuns({ pipeline: c.req.query('pipeline'), status, limit: limitParam(c, 100) });
    return c.json({ scheduled_runs: rows, queued: service.executor.queued(), running: service.executor.running() });
  });

  app.get('/api/dlq', async (c) => {
    const rows = await store.listDlq({
      pipeline: c.req.query('pipeline'), stream: c.req.query('stream'), runId: c.req.query('run_id'),
      includeReplayed: c.req.query('all') === 'true', limit: limitParam(c, 100),
    });
    return c.json({ rows });
  });

  app.get('/api/dlq/:id', async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isInteger(id)) throw bad(400, `expected a numeric DLQ id, got "${c.req.param('id')}"`);
    const [row] = await store.listDlq({ ids: [id], includeReplayed: true });
    if (!row) throw bad(404, `no dead-lettered row #${id}`);
    return c.json(row);
  });

  app.post('/api/dlq/replay', async (c) => {
    const body = await jsonBody(c);
    const loaded = typeof body.pipeline === 'string' ? service.loaded(body.pipeline) : undefined;
    if (!loaded) throw bad(typeof body.pipeline === 'string' ? 404 : 400, typeof body.pipeline === 'string' ? `no pipeline "${body.pipeline}" is served` : 'pipeline: expected the name of a served pipeline');
    const ids = body.ids === undefined ? undefined : Array.isArray(body.ids) && body.ids.every(Number.isInteger) ? body.ids as number[] : undefined;
    if (body.ids !== undefined && !ids) throw bad(400, 'ids: expected an array of integer DLQ ids');
    const streams = body.stream === undefined ? undefined : typeof body.stream === 'string' ? [body.stream] : undefined;
    if (body.stream !== undefined && !streams) throw bad(400, 'stream: expected a stream name');
    const r = await replayDlq(loaded, { store, ids, streams, actor: c.get('actor'), logger: d.logger });
    d.status.invalidate(true);
    return c.json(r);
  });

  app.delete('/api/dlq', async (c) => {
    const denied = await needsRole(c, c.get('session'), 'admin');
    if (denied) return denied;
    const pipeline = c.req.query('pipeline');
    if (!pipeline) throw bad(400, 'pipeline: a purge needs ?pipeline= (and may narrow it with &stream=)');
    const filter = { pipeline, stream: c.req.query('stream') };
    const purged = await store.purgeDlq(filter);
    await store.appendAudit({ actor: c.get('actor'), action: 'dlq.purge', pipeline, detail: { filter, purged } });
    d.status.invalidate(true);
    return c.json({ purged });
  });

  // One data subject erased from a served pipeline (src/privacy/erase.ts): admin only, audited there. The body carries
  // the value, so it is never logged; the answer holds counts only.
  app.post('/api/pipelines/:name/erase', async (c) => {
    const denied = await needsRole(c, c.get('session'), 'admin');
    if (denied) return denied;
    const loaded = service.loaded(c.req.param('name'));
    if (!loaded) throw bad(404, `no pipeline "${c.req.param('name')}" is served`);
    const body = await jsonBody(c);
    if (typeof body.column !== 'string' || !body.column || typeof body.value !== 'string') {
      throw bad(400, 'expected {"column": "<column>", "value": "<value>"} (and optionally "dry_run", "anonymise", "suppress": true or false)');
    }
    try {
      return c.json(await eraseSubject(loaded, store, {
        key: { column: body.column, value: body.value }, dryRun: body.dry_run === true, suppress: body.suppress !== false, actor: c.get('actor'),
        ...(typeof body.anonymise === 'boolean' ? { anonymise: body.anonymise } : {}),
      }));
    } catch (e) {
      if (e instanceof LockedError) throw bad(409, e.message);
      if (e instanceof ConfigError) throw bad(400, e.message);
      throw e;
    }
  });

  app.get('/api/pipelines/:name/state', async (c) => {
    const loaded = service.loaded(c.req.param('name'));
    if (!loaded) throw bad(404, `no pipeline "${c.req.param('name')}" is served`);
    return c.json({ pipeline: loaded.config.pipeline, streams: await readState(loaded, streamNames(loaded)) });
  });

  const tablesOf = (loaded: LoadedPipeline) =>
    loaded.config.sources.flatMap((src) => src.streams.map((st) => ({ stream: st.name, table: st.destination_table ?? st.name })));

  app.get('/api/pipelines/:name/tables', (c) => {
    const loaded = service.loaded(c.req.param('name'));
    if (!loaded) throw bad(404, `no pipeline "${c.req.param('name')}" is served`);
    return c.json({ destination: loaded.config.destination.type, tables: tablesOf(loaded) });
  });

  // A read-only look at what landed: the first rows of a stream's table, every column.
  app.get('/api/pipelines/:name/preview', async (c) => {
    const loaded = service.loaded(c.req.param('name'));
    if (!loaded) throw bad(404, `no pipeline "${c.req.param('name')}" is served`);
    const target = tablesOf(loaded).find((t) => t.stream === c.req.query('stream'));
    if (!target) throw bad(400, `stream: expected one of ${tablesOf(loaded).map((t) => t.stream).join(', ')}`);
    const limit = limitParam(c, 50, 500);
    try {
      return c.json({ stream: target.stream, table: target.table, ...await withDestination(loaded, (dest) => previewTable(dest, target.table, limit)) });
    } catch (e) {
      if (e instanceof HTTPException) throw e;
      throw bad(409, `cannot read ${target.table}: ${redact(errorMessage(e))}`);
    }
  });

  app.get('/api/pipelines/:name/quality', async (c) => c.json({ trend: await store.qualityTrend(c.req.param('name'), limitParam(c, 50)) }));

  app.get('/api/alerts', async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && status !== 'firing' && status !== 'resolved') throw bad(400, 'status: expected firing or resolved');
    return c.json({ alerts: await store.listAlerts({ status }) });
  });

  app.get('/api/audit', async (c) => {
    const after = Number(c.req.query('after') ?? 0);
    if (!Number.isInteger(after) || after < 0) throw bad(400, 'after: expected an entry number');
    const order = c.req.query('order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw bad(400, 'order: expected asc (chain order, the default) or desc (newest first)');
    return c.json({
      entries: await store.listAudit({ runId: c.req.query('run_id'), pipeline: c.req.query('pipeline'), afterSeq: after, limit: limitParam(c, 100), newestFirst: order === 'desc' }),
    });
  });

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => {
    if (e instanceof HTTPException) return e.getResponse();
    d.logger.error({ err: redact(errorMessage(e)), path: c.req.path }, 'API request failed');
    return c.json({ error: redact(errorMessage(e)) }, 500);
  });
  return app;
}
