// `sluice worker`: takes stream tasks from the queue and runs each with the same engine as `sluice run` — the same
// pipeline file (read at the path the run gave, refused if it is not the version the run was planned from), the same
// destination state, the shared control store. Every checkpoint of a task commits its rows with the stream's state in
// the destination, so a task taken over after its worker died (BullMQ moves a job whose lock was not renewed back to
// the queue) goes on from the last commit and loads each row once.
//
// Stopping: the first SIGTERM/SIGINT takes no new task and lets the running ones finish; a second aborts them (what
// they did not commit rolls back, and their jobs go back to the queue when their locks lapse).
import { Worker, type Job } from 'bullmq';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StreamCounts } from '../core/types.js';
import type { Destination, RunContext } from '../core/connector.js';
import { getDestinationSpec } from '../connectors/registry.js';
import { loadPipelineFile } from '../config/load.js';
import type { ControlStore } from '../control/control-store.js';
import { openControlStore } from '../control/open.js';
import type { LoadedPipeline } from '../config/types.js';
import { planTasks } from '../engine/runner.js';
import { openRunParts } from '../engine/run-parts.js';
import { runStreamTask, type StreamResult } from '../engine/stream-task.js';
import { connectionOf, digestOf, type TaskJob } from './queue.js';
import { checkWorkerSetup } from './redis-policy.js';
import { WorkerMetrics } from './worker-metrics.js';

export interface WorkerOptions {
  redisUrl: string;
  queue: string;
  /** Tasks run at once. */
  concurrency: number;
  /** $SLUICE_HOME of this process (its logs and files; the control store is SLUICE_CONTROL_URL's). */
  home: string;
  logger: Logger;
  /**
   * How long a task's lock lasts without renewal: a worker that dies, or stalls longer, loses its task to another
   * after this long (BullMQ's lockDuration; stalled jobs are looked for at the same interval).
   */
  lockMs?: number;
  /** Serve /metrics and /health on this port (0: any free one), on `metricsHost` (default 127.0.0.1). */
  metricsPort?: number;
  metricsHost?: string;
}

export interface RunningWorker {
  /** Its name in the queue (`sluice workers`): host and pid. */
  name: string;
  /** The port /metrics is served on, when asked for. */
  metricsPort?: number;
  /** Take no new task; with `force`, abort the running ones. Resolves when they are over. */
  close(force?: boolean): Promise<void>;
}

const PROGRESS_EVERY_MS = 500;

const lockMsOf = (o: WorkerOptions): number => o.lockMs ?? 30_000;

/**
 * Whether this worker still holds the job's lock: false when another worker took it, undefined when Redis does not
 * answer within a second (it may be restarting: commands wait for the reconnection, and the task must not).
 */
async function lockHeld(job: Job<TaskJob, StreamResult>, token: string, lockMs: number): Promise<boolean | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 1000);
  });
  try {
    return await Promise.race([job.extendLock(token, lockMs).then((n) => n === 1, () => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  await checkWorkerSetup(o.redisUrl);
  const name = `${hostname()}:${process.pid}`;
  const aborts = new Set<AbortController>();
  const lockMs = lockMsOf(o);
  const metrics = new WorkerMetrics(name);
  const served = o.metricsPort === undefined ? undefined : await metrics.listen(o.metricsHost ?? '127.0.0.1', o.metricsPort);
  // One control store (a connection pool) and the pipeline files read, for every task this worker runs: a task's
  // own setup is then its destination's and sources' connections.
  const shared: Shared = { store: openControlStore(o.home), pipelines: new Map(), destinations: new Map() };
  const worker = new Worker<TaskJob, StreamResult>(o.queue, (job, token) => measured(job, metrics, () => runJob(job, token, o, aborts, shared)), {
    connection: connectionOf(o.redisUrl), concurrency: o.concurrency, name,
    lockDuration: lockMs, stalledInterval: lockMs,
    // A task taken over once may be taken over again; past that it fails, and the run says why.
    maxStalledCount: 2,
  });
  worker.on('failed', (job, err) => o.logger.warn({ job: job?.id, err: errorMessage(err) }, 'task failed'));
  worker.on('error', (err) => o.logger.error({ err: errorMessage(err) }, 'queue error'));
  await worker.waitUntilReady();
  o.logger.info({ worker: name, concurrency: o.concurrency, queue: o.queue, ...(served ? { metrics_port: served.port } : {}) }, 'worker ready');
  return {
    name,
    ...(served ? { metricsPort: served.port } : {}),
    async close(force = false) {
      if (force) for (const a of aborts) a.abort(new Error('worker stopped'));
      await worker.close(force);
      await served?.close();
      await closeDestinations(shared);
      await shared.store.close();
    },
  };
}

async function measured(job: Job<TaskJob, StreamResult>, metrics: WorkerMetrics, run: () => Promise<StreamResult>): Promise<StreamResult> {
  const t0 = performance.now();
  metrics.started();
  let result: StreamResult | undefined;
  try {
    result = await run();
    return result;
  } finally {
    metrics.ended(job.data.pipeline, (performance.now() - t0) / 1000, result);
  }
}

interface Shared {
  store: ControlStore;
  /** Pipeline files validated, by path and digest (the few a worker serves; a new version is a new key). */
  pipelines: Map<string, LoadedPipeline>;
  /**
   * Each pipeline's destination, connected once and kept for its next tasks: a task's own setup is then its sources'
   * connections and a pooled connection for its load (a new pool, its schema and state table checked, was most of a
   * small task's cost). Keyed as `pipelines`.
   */
  destinations: Map<string, Promise<Destination>>;
}

const pipelineKey = (t: TaskJob): string => `${t.file}\u0000${t.digest}`;

/** The pipeline's destination for a task, connected (logging as the worker, not as the task that opened it). */
function destinationOf(t: TaskJob, loaded: LoadedPipeline, ctx: RunContext, o: WorkerOptions, shared: Shared): Promise<Destination> {
  const key = pipelineKey(t);
  let open = shared.destinations.get(key);
  if (!open) {
    open = (async () => {
      const destination = await getDestinationSpec(loaded.config.destination.type)!.create(loaded.config.destination);
      await destination.connect({ ...ctx, logger: o.logger });
      return destination;
    })();
    shared.destinations.set(key, open);
    // One that could not connect is not kept: the next task tries again.
    open.catch(() => shared.destinations.delete(key));
  }
  return open;
}

/** Close the destinations kept (the worker stops, or the pipelines it knows are forgotten). */
async function closeDestinations(shared: Shared): Promise<void> {
  const open = [...shared.destinations.values()];
  shared.destinations.clear();
  for (const d of open) await d.then((x) => x.close(), () => undefined).catch(() => undefined);
}

/** The pipeline file of a task, as the run planned it: read, checked against its digest, validated once per version. */
async function pipelineOf(t: TaskJob, shared: Shared): Promise<LoadedPipeline> {
  const key = pipelineKey(t);
  const known = shared.pipelines.get(key);
  if (known) return known;
  let text: string;
  try {
    text = readFileSync(t.file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the pipeline file ${t.file} on this worker: ${errorMessage(e)}`);
  }
  if (digestOf(text) !== t.digest) {
    throw new ConfigError(`${t.file} on this worker differs from the file run ${t.runId} was planned from: deploy the same version to every worker`);
  }
  const loaded = await loadPipelineFile(t.file);
  if (shared.pipelines.size >= 32) {
    shared.pipelines.clear();
    await closeDestinations(shared);
  }
  shared.pipelines.set(key, loaded);
  return loaded;
}

async function runJob(job: Job<TaskJob, StreamResult>, token: string | undefined, o: WorkerOptions, aborts: Set<AbortController>, shared: Shared): Promise<StreamResult> {
  const t = job.data;
  const log = o.logger.child({ run_id: t.runId, stream: t.stream, job: job.id, ...(t.slice ? { slice: t.slice.files ?? t.slice.id } : {}) });
  const loaded = await pipelineOf(t, shared);
  const [planned] = planTasks(loaded, {
    streams: [t.stream], fullRefresh: t.fullRefresh, dryRun: t.dryRun, ...(t.window ? { window: t.window } : {}),
  }, t.runId);
  // A task started before (its worker died, or stalled and may wake) claims the stream first: see StreamTask.claim.
  const task = { ...planned, claim: job.attemptsStarted > 1 || job.stalledCounter > 0, ...(t.slice ? { slice: t.slice } : {}) };
  const abort = new AbortController();
  aborts.add(abort);
  const { store } = shared;
  const ctx: RunContext = {
    pipeline: loaded.config.pipeline, runId: t.runId, logger: log, signal: abort.signal,
    baseDir: loaded.baseDir, home: o.home, batchSize: loaded.config.batch_size,
  };
  let last = 0;
  const onProgress = (_stream: string, counts: StreamCounts) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    void job.updateProgress({ ...counts }).catch(() => undefined);
  };
  log.info({ attempt: job.attemptsStarted }, 'task started');
  try {
    const parts = await openRunParts(loaded, [task], ctx, { destination: await destinationOf(t, loaded, ctx, o, shared), keepDestination: true });
    try {
      const result = await runStreamTask(task, {
        source: parts.sources.get(task.source)!, destination: parts.destination, store, ctx, readStream: parts.readStream, onProgress,
        ...(t.blocked ? { blocked: t.blocked } : {}),
      });
      // A task that failed after its lock was lost (this worker stalled past it) failed because another worker took
      // it over and ended this one's session or refused its commit — however the failure reads (a broken pipe in the
      // middle of a COPY says nothing of why): the log says so.
      if (result.status === 'failed' && token && (await lockHeld(job, token, lockMsOf(o))) === false) {
        result.error = `${result.error ?? 'failed'} — its task was taken over by another worker while this one was stalled past its lock; what it had not committed rolled back`;
      }
      log.info({ status: result.status, counts: result.counts, ...(result.error ? { error: result.error } : {}) }, 'task finished');
      return result;
    } finally {
      await parts.close();
    }
  } finally {
    aborts.delete(abort);
  }
}
