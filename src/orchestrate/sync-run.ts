// A mode: hash sync run once by `sluice serve` (its schedule, or a trigger through the API), kept in the run ledger
// like a pipeline's run: under the sync's lock (one at a time, whoever runs it), with its start and end in the audit
// trail and a `--json`-shaped summary whose streams are the sync's tables. So `sluice runs`, `/api/runs`, `/metrics`
// (runs and rows by outcome) and the alert rules see a sync's runs as they see a pipeline's.
// A table's counts: the rows written into either side (inserted, updated, deleted) are its loaded rows; keys held for
// review make the run a partial success. The tables' full results stay in the summary, under `sync`.
import { hostname } from 'node:os';
import { tableOn, type LoadedSync } from '../config/sync-spec.js';
import { openControlStore } from '../control/open.js';
import { emptyCounts, type StreamCounts } from '../core/types.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import { newRunId } from '../engine/run-id.js';
import { osUser, type RunOptions, type RunSummary } from '../engine/runner.js';
import type { TableSync } from '../sync/sync-table.js';

/** A table's changes as a stream's counts: what was written, both ways. */
export function tableCounts(r: TableSync): StreamCounts {
  const c = emptyCounts();
  for (const way of [r.a_to_b, r.b_to_a]) {
    c.inserted += way.inserted;
    c.updated += way.updated;
    c.deleted += way.deleted;
  }
  c.loaded = c.inserted + c.updated + c.deleted;
  c.extracted = c.loaded;
  return c;
}

export type SyncRunSummary = RunSummary & { sync?: { mode: 'hash'; tables: TableSync[] } };

export async function runSyncOnce(loaded: LoadedSync, opts: Pick<RunOptions, 'runId' | 'actor' | 'trigger' | 'store' | 'logger' | 'drain' | 'home'> = {}): Promise<SyncRunSummary> {
  const name = loaded.config.sync;
  const runId = opts.runId ?? newRunId();
  const actor = opts.actor ?? osUser();
  const store = opts.store ?? openControlStore(opts.home);
  const logger = (opts.logger ?? silentLogger()).child({ run_id: runId });
  const startedAt = new Date();
  let tables: TableSync[] = [];
  let error: string | undefined;
  try {
    await store.acquireLock(name, { runId, pid: process.pid, host: hostname() });
  } catch (e) {
    if (!opts.store) await store.close();
    throw e;
  }
  try {
    await store.startRun({ runId, pipeline: name, startedAt, file: loaded.file, options: { sync: true, mode: loaded.config.mode } });
    await store.appendAudit({ actor, action: 'run.started', pipeline: name, runId, detail: { trigger: opts.trigger ?? 'cli', sync: true, tables: loaded.config.tables.map((t) => tableOn(t, 'a')) } });
    logger.info({ sync: name }, 'sync run started');
    const { runSync } = await import('../sync/run-sync.js');
    const outcome = await runSync(loaded, { once: true, ...(opts.drain ? { signal: opts.drain } : {}), ...(opts.home ? { home: opts.home } : {}) });
    tables = outcome.mode === 'hash' ? outcome.tables : [];
  } catch (e) {
    error = redact(errorMessage(e));
    logger.error({ err: error }, 'sync run failed');
  }
  const finishedAt = new Date();
  const status: RunSummary['status'] = error ? 'failed' : tables.some((t) => t.held > 0) ? 'partial_success' : 'success';
  const streams = Object.fromEntries(tables.map((t) => [t.table, tableCounts(t)]));
  const summary: SyncRunSummary = {
    run_id: runId, pipeline: name, status, started_at: startedAt.toISOString(), finished_at: finishedAt.toISOString(),
    duration_ms: finishedAt.getTime() - startedAt.getTime(), phases: [], streams, quality: { score: null },
    sync: { mode: 'hash', tables }, ...(error ? { error } : {}),
  };
  try {
    for (const t of tables) await store.recordStream({ runId, stream: t.table, status: t.held > 0 ? 'partial_success' : 'success', counts: streams[t.table] });
    await store.finishRun(runId, { status, finishedAt, error: summary.error, summary });
    await store.appendAudit({ actor, action: 'run.finished', pipeline: name, runId, detail: { status, duration_ms: summary.duration_ms, streams, ...(error ? { error } : {}) } });
    await store.releaseLock(name, runId);
  } finally {
    if (!opts.store) await store.close();
  }
  logger.info({ status, duration_ms: summary.duration_ms }, 'sync run finished');
  return summary;
}
