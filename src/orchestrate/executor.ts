// Starts claimed runs, of pipelines and of mode: hash syncs alike: at most `maxConcurrent` at once across all of them,
// one at a time per pipeline with the pipeline's overlap policy deciding what a second one does, a timeout that stops
// a run at its next checkpoint, and retries with exponential backoff. It never runs a request it was not handed:
// claiming (the no-run-twice key) is the scheduler's and the API's job.
import type { ScheduleConfig } from '../config/schedule-spec.js';
import type { LoadedSync } from '../config/sync-spec.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { ScheduledStatus, Trigger } from '../control/service-records.js';
import { errorMessage, LockedError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StreamCounts } from '../core/types.js';
import { newRunId } from '../engine/run-id.js';
import type { RunOptions, RunSummary } from '../engine/runner.js';

export interface RunRequest {
  pipeline: string;
  scheduledFor: Date;
  trigger: Trigger;
  actor: string;
  /** 0 for the first attempt. */
  attempt: number;
  /** Only these streams (a rerun of a failed run's failed streams). */
  streams?: string[];
  /** One of several missed runs started together (`catchup: all`): they wait for each other, whatever the overlap policy. */
  catchup?: boolean;
}

export interface RunOutcome {
  status: ScheduledStatus;
  /** When the run started (absent when it never did): minus the due time, the schedule lag. */
  startedAt?: Date;
  runId?: string;
  summary?: RunSummary;
  error?: string;
}

export type RunFn = (loaded: LoadedPipeline, opts: RunOptions) => Promise<RunSummary>;

/** What the executor runs: a pipeline, or a sync file run once. Both say their schedule the same way. */
export type Runnable = LoadedPipeline | LoadedSync;

export const isSync = (r: Runnable): r is LoadedSync => 'sync' in r.config;

export interface ExecutorOptions {
  store: ControlStore;
  /** The pipeline's (or sync's) current valid version, or undefined when it was removed or never valid. */
  lookup: (pipeline: string) => Runnable | undefined;
  run: (target: Runnable, opts: RunOptions) => Promise<RunSummary>;
  maxConcurrent: number;
  logger: Logger;
  onFinished?: (req: RunRequest, outcome: RunOutcome) => void | Promise<void>;
  /** How long a stopped run (timeout, cancel, drain) gets to reach its checkpoint before it is aborted. */
  stopGraceMs?: number;
}

interface Active {
  req: RunRequest;
  runId: string;
  drain: AbortController;
  abort: AbortController;
  stopReason?: 'timed_out' | 'cancelled';
  done: Promise<void>;
  /** Each stream's counts so far (the dashboard's live run page). */
  live: Map<string, StreamCounts>;
}

/** Why a run was stopped (timeout, cancel), as the drain signal says it. */
const stopMessage = (a: Active): string =>
  (a.drain.signal.reason instanceof Error ? a.drain.signal.reason.message : String(a.stopReason));

const DEFAULT_POLICY = { overlap: 'skip', catchup_limit: 10 } as const;

export class Executor {
  private readonly ready: RunRequest[] = [];
  private readonly waiting = new Map<string, RunRequest[]>();
  private readonly active = new Map<string, Active>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private draining = false;

  constructor(private readonly o: ExecutorOptions) {}

  /** Pipelines with a run going now, with its run id and due time. */
  running(): { pipeline: string; runId: string; scheduledFor: Date; trigger: Trigger }[] {
    return [...this.active.values()].map((a) => ({ pipeline: a.req.pipeline, runId: a.runId, scheduledFor: a.req.scheduledFor, trigger: a.req.trigger }));
  }

  /** A running run's counts so far, by stream; undefined when it is not running here. */
  liveCounts(runId: string): Record<string, StreamCounts> | undefined {
    for (const a of this.active.values()) if (a.runId === runId) return Object.fromEntries(a.live);
    return undefined;
  }

  queued(): RunRequest[] {
    return [...this.ready, ...[...this.waiting.values()].flat()];
  }

  /** Hands over a claimed run; the overlap policy applies when its pipeline is busy. */
  submit(req: RunRequest): void {
    if (this.draining) {
      void this.settle(req, { status: 'skipped', error: 'serve was stopping' });
      return;
    }
    const policy = this.policy(req.pipeline);
    const busy = this.active.get(req.pipeline);
    const queuedForIt = this.ready.some((r) => r.pipeline === req.pipeline) || (this.waiting.get(req.pipeline)?.length ?? 0) > 0;
    if (!busy && !queuedForIt) {
      this.ready.push(req);
      this.pump();
      return;
    }
    // Triggered and retried runs wait their turn whatever the policy: someone asked for them explicitly.
    const overlap = (req.trigger === 'schedule' || req.trigger === 'after') && !req.catchup ? policy.overlap : 'queue';
    if (overlap === 'skip') {
      const why = busy ? `the previous run (${busy.runId}) is still running` : 'a run of this pipeline is already waiting';
      void this.settle(req, { status: 'skipped', error: `overlap: skip — ${why}` });
      return;
    }
    const queue = this.waiting.get(req.pipeline) ?? [];
    if (overlap === 'cancel' && busy) {
      busy.stopReason = 'cancelled';
      this.stop(busy, 'cancelled: a newer run is due (overlap: cancel)');
      // Newer replaces what was waiting: cancel means "only the latest matters".
      for (const old of queue.splice(0)) void this.settle(old, { status: 'skipped', error: 'overlap: cancel — a newer run replaced it' });
    }
    if (queue.length >= policy.catchup_limit) {
      void this.settle(req, { status: 'skipped', error: `overlap: queue — ${queue.length} runs already waiting (catchup_limit)` });
      return;
    }
    queue.push(req);
    this.waiting.set(req.pipeline, queue);
  }

  /** Stops starting runs, lets running ones stop at their next checkpoint and waits for them. */
  async drain(): Promise<void> {
    this.draining = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const req of this.ready.splice(0)) await this.settle(req, { status: 'skipped', error: 'serve was stopping' });
    for (const queue of this.waiting.values()) for (const req of queue.splice(0)) await this.settle(req, { status: 'skipped', error: 'serve was stopping' });
    for (const a of this.active.values()) this.stop(a, 'serve is stopping');
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private policy(pipeline: string): Pick<ScheduleConfig, 'overlap' | 'catchup_limit'> & Partial<ScheduleConfig> {
    return this.o.lookup(pipeline)?.config.schedule ?? DEFAULT_POLICY;
  }

  private pump(): void {
    while (this.active.size < this.o.maxConcurrent) {
      const i = this.ready.findIndex((r) => !this.active.has(r.pipeline));
      if (i < 0) return;
      const [req] = this.ready.splice(i, 1);
      this.start(req);
    }
  }

  private start(req: RunRequest): void {
    const loaded = this.o.lookup(req.pipeline);
    const runId = newRunId();
    const a: Active = { req, runId, drain: new AbortController(), abort: new AbortController(), done: Promise.resolve(), live: new Map() };
    this.active.set(req.pipeline, a);
    a.done = this.execute(a, loaded).finally(() => {
      this.active.delete(req.pipeline);
      const next = this.waiting.get(req.pipeline)?.shift();
      if (next) this.ready.unshift(next);
      this.pump();
    });
  }

  private async execute(a: Active, loaded: Runnable | undefined): Promise<void> {
    const { req } = a;
    if (!loaded) {
      await this.settle(req, { status: 'failed', error: `pipeline "${req.pipeline}" has no valid version to run` });
      return;
    }
    const schedule = loaded.config.schedule;
    const timer = schedule?.timeout
      ? setTimeout(() => {
        a.stopReason = 'timed_out';
        this.stop(a, `timed out after ${schedule.timeout!.text}`);
      }, schedule.timeout.ms)
      : undefined;
    let outcome: RunOutcome;
    const startedAt = new Date();
    try {
      await this.o.store.updateScheduledRun(req.pipeline, req.scheduledFor, { status: 'running', runId: a.runId, attempt: req.attempt, startedAt });
      const summary = await this.runWhenFree(a, loaded);
      outcome = { status: a.stopReason ?? summary.status, startedAt, runId: a.runId, summary, ...(summary.error ? { error: summary.error } : {}) };
      if (a.stopReason && !outcome.error) outcome.error = stopMessage(a);
    } catch (e) {
      outcome = e instanceof LockedError
        ? { status: a.stopReason ?? 'skipped', error: `${a.stopReason ? stopMessage(a) : 'stopped'} while waiting: ${e.message}` }
        : { status: 'failed', startedAt, runId: a.runId, error: errorMessage(e) };
    } finally {
      if (timer) clearTimeout(timer);
    }
    await this.settle(req, outcome);
    const retries = schedule?.retries;
    if ((outcome.status === 'failed' || outcome.status === 'timed_out') && retries && req.attempt < retries.attempts && !this.draining) {
      const wait = Math.min(retries.max.ms, retries.initial.ms * 2 ** req.attempt);
      this.o.logger.warn({ pipeline: req.pipeline, attempt: req.attempt + 1, wait_ms: wait }, 'run failed: retrying');
      const t = setTimeout(() => {
        this.retryTimers.delete(t);
        void this.o.store.updateScheduledRun(req.pipeline, req.scheduledFor, { status: 'claimed', attempt: req.attempt + 1 })
          .then(() => this.submit({ ...req, trigger: req.trigger, attempt: req.attempt + 1 }));
      }, wait);
      this.retryTimers.add(t);
    }
  }

  /**
   * Runs the pipeline; while another process holds its lock (`sluice run`, a backfill window) it waits, checking every
   * 200 ms, and goes as soon as the lock is free: a run never runs beside another of its pipeline, and is not lost to it.
   */
  private async runWhenFree(a: Active, loaded: Runnable): Promise<RunSummary> {
    for (let waited = false; ; waited = true) {
      try {
        return await this.o.run(loaded, {
          runId: a.runId, actor: a.req.actor, trigger: a.req.trigger, store: this.o.store, logger: this.o.logger.child({ pipeline: a.req.pipeline }),
          signal: a.abort.signal, drain: a.drain.signal, ...(a.req.streams ? { streams: a.req.streams } : {}),
          onProgress: (stream, counts) => a.live.set(stream, counts),
        });
      } catch (e) {
        if (!(e instanceof LockedError) || a.drain.signal.aborted || this.draining) throw e;
        if (!waited) this.o.logger.info({ pipeline: a.req.pipeline, err: e.message }, 'waiting for the pipeline\'s lock');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Drain first (stop at the next checkpoint, keeping what committed); abort if that takes longer than the grace. */
  private stop(a: Active, why: string): void {
    if (a.drain.signal.aborted) return;
    a.drain.abort(new Error(why));
    const t = setTimeout(() => a.abort.abort(new Error(why)), this.o.stopGraceMs ?? 30_000);
    void a.done.finally(() => clearTimeout(t));
  }

  private async settle(req: RunRequest, outcome: RunOutcome): Promise<void> {
    try {
      await this.o.store.updateScheduledRun(req.pipeline, req.scheduledFor, {
        status: outcome.status, finishedAt: new Date(), ...(outcome.runId ? { runId: outcome.runId } : {}), ...(outcome.error ? { error: outcome.error } : {}),
      });
      await this.o.onFinished?.(req, outcome);
    } catch (e) {
      this.o.logger.error({ pipeline: req.pipeline, err: errorMessage(e) }, 'could not record the end of a scheduled run');
    }
  }
}
