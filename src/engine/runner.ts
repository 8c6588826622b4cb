// Plans a run into stream tasks, executes them with bounded concurrency, and records the run in the ledger.
// The summary it returns is DESIGN.md's `--json` object.
import { hostname, userInfo } from 'node:os';
import type { Destination, RunContext, Source, StreamConfig } from '../core/connector.js';
import { ConfigError, RunError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import type { Phase, Status, StepCounts, StreamCounts } from '../core/types.js';
import { PHASES } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import { openControlStore, sluiceHome } from '../control/open.js';
import { newRunId } from './run-id.js';
import { openRunParts, type RunParts } from './run-parts.js';
import { runScore } from '../quality/metrics.js';
import type { StreamQualityReport } from '../quality/stream-quality.js';
import { type CursorWindow, type StreamResult, type StreamTask, runStreamTask } from './stream-task.js';
import { orderTasks } from './stream-order.js';

export interface RunOptions {
  fullRefresh?: boolean;
  /** Only these streams (names). */
  streams?: string[];
  dryRun?: boolean;
  logger?: Logger;
  home?: string;
  signal?: AbortSignal;
  /** Graceful stop (first SIGINT/SIGTERM): streams stop at their next checkpoint and commit it. */
  drain?: AbortSignal;
  onProgress?: (stream: string, counts: StreamCounts) => void;
  /** Library use: instances instead of the registry (keyed by source name). */
  sources?: Record<string, Source>;
  destination?: Destination;
  store?: ControlStore;
  /** Replaying the dead-letter queue (see replay.ts). */
  replay?: boolean;
  /** The run's id when the caller needs it before the run starts (`sluice serve` keys its scheduled runs by it). */
  runId?: string;
  /** Who started the run, for the audit trail: a token's name, `scheduler`; the OS user when omitted. */
  actor?: string;
  /** Why the run happened (schedule, after, manual, backfill, retry), for the audit trail. */
  trigger?: string;
  /** A backfill window: only streams with a cursor, rows in [from, to), merged; their state is left as it is. */
  window?: CursorWindow;
  /** The lock the run holds (default: the pipeline's); a backfill's parallel windows each hold their own. */
  lockKey?: string;
  /**
   * Run each stream task elsewhere (workers, src/workers/) rather than in this process: the run is planned, ordered,
   * recorded and its views published here; the sources are opened only where the tasks run.
   */
  dispatch?: (task: StreamTask, how: { onProgress?: RunOptions['onProgress']; blocked?: string; parts?: DispatchParts }) => Promise<StreamResult>;
}

/** What the run lends a dispatched stream: its destination (connected), control store and context. */
export interface DispatchParts {
  destination: Destination;
  store: ControlStore;
  ctx: RunContext;
}

export interface RunSummary {
  run_id: string;
  pipeline: string;
  status: Exclude<Status, 'running' | 'skipped'>;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  phases: { phase: Phase; status: Status; duration_ms: number }[];
  streams: Record<string, StreamCounts>;
  /** Each transform step's rows in, out, failed and filtered and its time, by stream; only streams with steps, absent when none has. */
  transformers?: Record<string, StepCounts[]>;
  /** The run's 0–100 score (mean of its streams'; see src/quality/metrics.ts) and each checked stream's report. */
  quality: { score: number | null; streams?: Record<string, StreamQualityReport> };
  dry_run?: boolean;
  error?: string;
}

export async function runPipeline(loaded: LoadedPipeline, opts: RunOptions = {}): Promise<RunSummary> {
  const { config } = loaded;
  const logger = opts.logger ?? silentLogger();
  const home = opts.home ?? sluiceHome();
  const runId = opts.runId ?? newRunId();
  const actor = opts.actor ?? osUser();
  const tasks = planTasks(loaded, opts, runId);
  const { ordered, needs } = orderTasks(loaded, tasks);
  const store = opts.store ?? openControlStore(home);
  const startedAt = new Date();
  const controller = new AbortController();
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal?.reason), { once: true });
  const ctx: RunContext = {
    pipeline: config.pipeline, runId, logger: logger.child({ run_id: runId }), signal: controller.signal,
    baseDir: loaded.baseDir, home, batchSize: config.batch_size, ...(opts.drain ? { drain: opts.drain } : {}),
  };

  let locked = false;
  let results: StreamResult[] = [];
  let runError: string | undefined;
  let parts: RunParts | undefined;
  try {
    await store.acquireLock(opts.lockKey ?? config.pipeline, { runId, pid: process.pid, host: hostname() });
    locked = true;
    await store.startRun({
      runId, pipeline: config.pipeline, startedAt, file: loaded.file,
      options: { fullRefresh: !!opts.fullRefresh, streams: opts.streams ?? null, dryRun: !!opts.dryRun, replay: !!opts.replay, ...(opts.window ? { window: opts.window } : {}) },
    });
    await store.appendAudit({
      actor, action: 'run.started', pipeline: config.pipeline, runId,
      detail: {
        trigger: opts.trigger ?? 'cli', streams: tasks.map((t) => t.stream.name), full_refresh: !!opts.fullRefresh, dry_run: !!opts.dryRun, replay: !!opts.replay,
        ...(opts.window ? { window: opts.window } : {}),
      },
    });
    ctx.logger.info({ pipeline: config.pipeline, streams: tasks.map((t) => t.stream.name) }, 'run started');

    const { destination: dest, sources, readStream } = parts = await openRunParts(loaded, opts.dispatch ? [] : tasks, ctx, opts);
    // A stream that reads tables others of the run load starts once they are done (they come first in `ordered`, so
    // they hold their lanes before it waits in one), and does not run when one of them failed.
    const running = new Map<StreamTask, Promise<StreamResult>>();
    // Dispatched tasks all go to the queue at once: the workers' own concurrency bounds how many run.
    const finished = await pool(ordered, opts.dispatch ? ordered.length : config.concurrency, (task) => {
      const result = (async () => {
        const failed: string[] = [];
        for (const d of needs.get(task)!) if ((await running.get(d)!).status === 'failed') failed.push(d.stream.name);
        const blocked = failed.length ? `not run: it reads what ${failed.join(', ')} load${failed.length > 1 ? '' : 's'}, which failed` : undefined;
        if (opts.dispatch) return opts.dispatch(task, { onProgress: opts.onProgress, parts: { destination: dest, store, ctx }, ...(blocked ? { blocked } : {}) });
        return runStreamTask(task, {
          source: sources.get(task.source)!, destination: dest, store, ctx, onProgress: opts.onProgress, readStream, ...(blocked ? { blocked } : {}),
        });
      })();
      running.set(task, result);
      return result;
    });
    results = tasks.map((t) => finished[ordered.indexOf(t)]);
    // Views read what the streams loaded: published only once every stream of the run succeeded.
    if (config.views?.length && !opts.dryRun) {
      if (results.some((r) => r.status === 'failed')) ctx.logger.warn({ views: config.views.map((v) => v.name) }, 'views not published: a stream failed');
      else {
        if (!dest.publishViews) throw new RunError(`the ${dest.type} destination cannot create views`);
        await dest.publishViews(config.views);
        ctx.logger.info({ views: config.views.map((v) => v.name) }, 'views published');
      }
    }
  } catch (e) {
    if (!locked) {
      if (!opts.store) await store.close();
      throw e;
    }
    runError = errorMessage(e);
    ctx.logger.error({ err: runError }, 'run failed');
  } finally {
    await parts?.close();
  }

  const finishedAt = new Date();
  const failed = results.filter((r) => r.status === 'failed');
  const status: RunSummary['status'] = runError || failed.length
    ? 'failed'
    : results.some((r) => r.status === 'partial_success') ? 'partial_success' : 'success';
  const error = runError ?? (failed.length ? failed.map((r) => `${r.stream}: ${r.error}`).join('; ') : undefined);
  const summary: RunSummary = {
    run_id: runId,
    pipeline: config.pipeline,
    status,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_ms: finishedAt.getTime() - startedAt.getTime(),
    phases: runPhases(results, !!runError),
    streams: Object.fromEntries(results.map((r) => [r.stream, r.counts])),
    ...transformersOf(results),
    quality: qualityOf(results),
    ...(opts.dryRun ? { dry_run: true } : {}),
    ...(error ? { error: redact(error) } : {}),
  };
  try {
    await store.finishRun(runId, { status, finishedAt, error: summary.error, summary });
    await store.appendAudit({
      actor, action: 'run.finished', pipeline: config.pipeline, runId,
      detail: { status, duration_ms: summary.duration_ms, streams: summary.streams, ...(summary.error ? { error: summary.error } : {}) },
    });
    await store.releaseLock(opts.lockKey ?? config.pipeline, runId);
  } finally {
    if (!opts.store) await store.close();
  }
  ctx.logger.info({ status, duration_ms: summary.duration_ms }, 'run finished');
  return summary;
}

/** The stream tasks of a run. Unknown `--stream` names are a usage error, found before any work. */
export function planTasks(loaded: LoadedPipeline, opts: RunOptions, runId: string): StreamTask[] {
  const { config } = loaded;
  const all = config.sources.flatMap((s) => s.streams.map((stream) => ({ source: s.name, stream })));
  const wanted = opts.streams?.length ? new Set(opts.streams) : undefined;
  for (const name of wanted ?? []) {
    if (!all.some((t) => t.stream.name === name)) {
      throw new ConfigError(`unknown stream "${name}"; the pipeline has: ${all.map((t) => t.stream.name).join(', ')}`, {
        file: loaded.file, path: '--stream',
      });
    }
  }
  const picked = all.filter((t) => !wanted || wanted.has(t.stream.name));
  if (opts.window) checkWindowStreams(loaded, picked.map((t) => t.stream), !!wanted);
  return picked
    .filter((t) => !opts.window || t.stream.cursor)
    .map((t) => ({
      pipeline: config.pipeline, runId, source: t.source, stream: t.stream,
      fullRefresh: !!opts.fullRefresh, dryRun: !!opts.dryRun, checkpointRows: config.checkpoint_rows, replay: opts.replay,
      ...(opts.window ? { window: opts.window } : {}),
      ...(config.transforms?.[t.stream.name] ? { transforms: config.transforms[t.stream.name] } : {}),
      ...(config.checks?.[t.stream.name]?.length ? { checks: config.checks[t.stream.name] } : {}),
    }));
}

/**
 * A backfill reloads windows of the cursor and merges them on the key, so a window run again after a crash
 * duplicates nothing: streams it names need a cursor and a primary key, and scd2 history is not rewritten.
 */
function checkWindowStreams(loaded: LoadedPipeline, streams: StreamConfig[], named: boolean): void {
  const fail = (message: string) => { throw new ConfigError(message, { file: loaded.file, path: '--stream' }); };
  const usable = streams.filter((s) => s.cursor);
  if (!usable.length) fail('a backfill needs streams with a `cursor`: none of the streams chosen has one');
  for (const s of named ? streams : usable) {
    if (!s.cursor) fail(`stream ${s.name} has no \`cursor\`: a backfill selects rows by their cursor`);
    if (!s.primary_key.length) fail(`stream ${s.name} has no \`primary_key\`: a backfill merges its windows on the key so a window run twice duplicates nothing`);
    if (s.write === 'scd2') fail(`stream ${s.name} is scd2: a backfill would rewrite its history out of order; reload it with --full-refresh instead`);
  }
}

function transformersOf(results: StreamResult[]): Pick<RunSummary, 'transformers'> {
  const stepped = results.filter((r) => r.steps);
  return stepped.length ? { transformers: Object.fromEntries(stepped.map((r) => [r.stream, r.steps!])) } : {};
}

function qualityOf(results: StreamResult[]): RunSummary['quality'] {
  const checked = results.filter((r) => r.quality);
  if (!checked.length) return { score: null };
  return { score: runScore(checked.map((r) => r.quality!.score)), streams: Object.fromEntries(checked.map((r) => [r.stream, r.quality!])) };
}

/** A run's phases: each phase's time summed over streams; the worst status of any stream wins. */
function runPhases(results: StreamResult[], runFailed: boolean): RunSummary['phases'] {
  const rank: Record<Status, number> = { success: 0, skipped: 1, partial_success: 2, running: 3, failed: 4 };
  return PHASES.map((phase) => {
    const of = results.map((r) => r.phases.find((p) => p.phase === phase)!);
    const status = of.reduce<Status>((s, p) => (rank[p.status] > rank[s] ? p.status : s), runFailed && !of.length ? 'failed' : 'success');
    return { phase, status, duration_ms: of.reduce((n, p) => n + p.duration_ms, 0) };
  });
}

/** Run `work` over items, at most `limit` at a time; results keep the input order. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** The OS user running this process, for the audit trail (a container may have no passwd entry for its uid). */
export function osUser(): string {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return `os:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
