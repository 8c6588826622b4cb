// `sluice serve`'s moving parts in one object: the pipeline and sync files (re-read when they change), the scheduler
// (when leader), the executor, `after:` dependencies, triggers from the API, the observers told of each finished run,
// and — while this process schedules — the mode: cdc syncs streaming (./sync-streams.ts). A mode: hash sync with a
// schedule runs like a pipeline (./sync-run.ts).
import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ScheduleConfig } from '../config/schedule-spec.js';
import type { LoadedSync } from '../config/sync-spec.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { PausedSchedule, Trigger } from '../control/service-records.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { planTasks, runPipeline } from '../engine/runner.js';
import { backfillId, cutWindows, runBackfill, type BackfillOptions } from './backfill.js';
import { Executor, isSync, type RunFn, type Runnable, type RunOutcome, type RunRequest } from './executor.js';
import { PipelineSet, type PipelineChange } from './pipeline-set.js';
import { RunThreads } from './run-threads.js';
import type { WorkerQueue } from '../workers/queue.js';
import { Scheduler } from './scheduler.js';
import { runSyncOnce } from './sync-run.js';
import { SyncStreams, type SyncProgress, type SyncStreamsOptions } from './sync-streams.js';

export interface ServiceObserver {
  runFinished?(req: RunRequest, outcome: RunOutcome): void | Promise<void>;
  pipelinesChanged?(changes: PipelineChange[]): void | Promise<void>;
  /** A mode: cdc sync's stream applied changes. */
  syncProgress?(sync: string, stream: string, delta: SyncProgress): void;
  /** A mode: cdc sync failed (it starts again after a wait, unless its file must change). */
  syncFailed?(sync: string, error: string): void;
}

export interface ServiceOptions {
  paths: string[];
  store: ControlStore;
  logger: Logger;
  /** Runs going at once across all pipelines. */
  maxConcurrent?: number;
  /** How often due times are checked (ms); the schedule lag is at most about this. */
  tickMs?: number;
  /** How often pipeline files are polled for changes (ms; file-system events usually tell sooner). */
  watchMs?: number;
  leaseMs?: number;
  /** How a run is run (tests); default: in a worker thread (run-threads.ts). */
  run?: RunFn;
  /** Runs dispatch their streams to `sluice worker` processes on this queue rather than running them in-process. */
  workers?: WorkerQueue;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** mode: cdc syncs: restart waits and how often their lag is sampled. */
  syncStreams?: Pick<SyncStreamsOptions, 'restartMs' | 'restartMaxMs' | 'lagSampleMs' | 'home'>;
}

const NO_SYNCS: ReadonlyMap<string, LoadedSync> = new Map();
/** How often the paused schedules are read again (another serve process may pause one). */
const PAUSED_READ_MS = 2000;

export class Service {
  readonly pipelines: PipelineSet;
  readonly scheduler: Scheduler;
  readonly executor: Executor;
  readonly syncStreams: SyncStreams;
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly observers: ServiceObserver[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly watchers: FSWatcher[] = [];
  /** Backfills started through the API, running in this process. */
  private readonly backfills = new Map<string, Promise<unknown>>();
  private readonly backfillDrain = new AbortController();
  private ticking = false;
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private scheduleCache?: { version: number; map: Map<string, ScheduleConfig> };
  private cdcCache?: { version: number; map: Map<string, LoadedSync> };
  private stopped = false;
  /** Paused schedules as last read from the store (shared by every serve process): a new map whenever they change. */
  private paused: ReadonlyMap<string, PausedSchedule> = new Map();
  private pausedReadAt = 0;
  private readonly threads?: RunThreads;
  /** What runs a pipeline: scheduled runs, triggers, reruns and the API's backfill windows alike. */
  private readonly run: RunFn;

  constructor(private readonly o: ServiceOptions) {
    this.pipelines = new PipelineSet(o.paths, o.env);
    if (!o.run) this.threads = new RunThreads({ store: o.store.address, logger: o.logger, ...(o.workers ? { workers: o.workers } : {}) });
    this.run = o.run ?? this.threads?.run ?? runPipeline;
    const run = this.run;
    this.executor = new Executor({
      store: o.store, logger: o.logger, maxConcurrent: o.maxConcurrent ?? 4,
      run: (target, opts) => (isSync(target) ? runSyncOnce(target, opts) : run(target, opts)),
      lookup: (name) => this.runnable(name),
      onFinished: (req, outcome) => this.finished(req, outcome),
    });
    this.syncStreams = new SyncStreams({
      ...o.syncStreams, logger: o.logger,
      onProgress: (sync, stream, delta) => { for (const ob of this.observers) ob.syncProgress?.(sync, stream, delta); },
      onFailure: (sync, error) => { for (const ob of this.observers) ob.syncFailed?.(sync, error); },
    });
    this.scheduler = new Scheduler({
      store: o.store, holder: this.holder, logger: o.logger, leaseMs: o.leaseMs, now: o.now,
      schedules: () => this.schedules(), submit: (req) => this.executor.submit(req), paused: () => this.paused,
    });
  }

  observe(observer: ServiceObserver): void {
    this.observers.push(observer);
  }

  /** Reads the pipeline files (failing on a path that does not exist) and starts the loops. */
  async start(): Promise<void> {
    await this.refresh();
    await this.readPaused();
    await this.scheduler.tick();
    this.reconcileStreams();
    this.timers.push(setInterval(() => void this.tick(), this.o.tickMs ?? 200));
    // Changes are noticed by the file system's events (inotify) within a moment; polling is the backstop for file
    // systems without them (network mounts).
    const refresh = () => void this.refresh().catch((e) => this.o.logger.error({ err: errorMessage(e) }, 'reading pipeline files failed'));
    let soon: NodeJS.Timeout | undefined;
    for (const path of this.o.paths) {
      try {
        this.watchers.push(watch(path, () => {
          clearTimeout(soon);
          soon = setTimeout(refresh, 100);
        }));
      } catch {
        // polling covers it
      }
    }
    this.timers.push(setInterval(refresh, this.o.watchMs ?? 30_000));
    for (const t of this.timers) t.unref();
  }

  /** SIGTERM: no new runs; running streams stop at their next checkpoint and commit; the lease is released. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) w.close();
    this.backfillDrain.abort(new Error('serve is stopping'));
    await Promise.all([this.executor.drain(), this.syncStreams.stop(), ...this.backfills.values()]);
    await this.threads?.close();
    await this.scheduler.stop();
  }

  loaded(pipeline: string): LoadedPipeline | undefined {
    return this.pipelines.pipelines().get(pipeline)?.loaded;
  }

  /** A served sync file's last valid version. */
  sync(name: string): LoadedSync | undefined {
    return this.pipelines.syncs().get(name)?.loaded;
  }

  /** What runs under a name: a pipeline, or a mode: hash sync (a cdc sync streams, it has no runs). */
  runnable(name: string): Runnable | undefined {
    const sync = this.sync(name);
    return this.loaded(name) ?? (sync?.config.mode === 'hash' ? sync : undefined);
  }

  /** Who paused the pipeline's schedule and when; undefined when it runs on schedule. */
  pausedBy(pipeline: string): PausedSchedule | undefined {
    return this.paused.get(pipeline);
  }

  /**
   * Pauses (or resumes) a pipeline's schedule and its `after:` runs; runs asked for explicitly still run. Due times
   * that pass while paused are not caught up: a resumed schedule goes on from its next due time.
   */
  async setPaused(pipeline: string, paused: boolean, actor: string): Promise<void> {
    if (!this.runnable(pipeline)) throw new Error(`no valid pipeline "${pipeline}" is served`);
    if (paused === this.paused.has(pipeline)) return;
    await this.o.store.setPaused(pipeline, paused ? actor : null);
    await this.o.store.appendAudit({ actor, action: paused ? 'schedule.paused' : 'schedule.resumed', pipeline, detail: {} });
    await this.readPaused();
  }

  /** Pauses made by any serve process on the store; read at every tick, at most every PAUSED_READ_MS. */
  private async readPaused(now = Date.now()): Promise<void> {
    this.pausedReadAt = now;
    const rows = await this.o.store.listPaused();
    const same = rows.length === this.paused.size && rows.every((r) => this.paused.get(r.pipeline)?.at === r.at);
    if (!same) this.paused = new Map(rows.map((r) => [r.pipeline, r]));
  }

  /** A run asked for by a person or a script (API, CLI): claimed under its own key and queued. */
  async trigger(pipeline: string, actor: string, trigger: Trigger = 'manual', streams?: string[], detail: Record<string, unknown> = {}): Promise<RunRequest> {
    if (this.sync(pipeline)?.config.mode === 'cdc') throw new Error(`sync "${pipeline}" streams continuously (mode: cdc): it has no runs to trigger`);
    if (!this.runnable(pipeline)) throw new Error(`no valid pipeline "${pipeline}" is served`);
    const scheduledFor = await this.claimFrom(pipeline, Date.now(), trigger, actor);
    const req: RunRequest = { pipeline, scheduledFor, trigger, actor, attempt: 0, ...(streams ? { streams } : {}) };
    await this.o.store.appendAudit({ actor, action: 'run.triggered', pipeline, detail: { trigger, scheduled_for: scheduledFor.toISOString(), ...(streams ? { streams } : {}), ...detail } });
    this.executor.submit(req);
    return req;
  }

  /** Claims a run of `pipeline` at `from` (ms), or the next free millisecond: two runs asked for in one share no key. */
  private async claimFrom(pipeline: string, from: number, trigger: Trigger, actor: string): Promise<Date> {
    for (let t = from; ; t++) {
      const scheduledFor = new Date(t);
      if (await this.o.store.claimScheduledRun({ pipeline, scheduledFor, trigger, holder: this.holder, actor })) return scheduledFor;
    }
  }

  /**
   * Starts a backfill in this process (the API's trigger) and returns its id at once; its record in the store shows
   * its progress. A backfill already running (same pipeline and range) is not started twice.
   */
  async backfill(pipeline: string, actor: string, o: Pick<BackfillOptions, 'from' | 'to' | 'by' | 'parallel' | 'streams'>): Promise<string> {
    const loaded = this.loaded(pipeline);
    if (!loaded) throw new Error(`no valid pipeline "${pipeline}" is served`);
    const id = backfillId(pipeline, o);
    if (this.backfills.has(id)) return id;
    cutWindows(o.from, o.to, o.by); // a bad range is the caller's error, thrown here
    planTasks(loaded, { window: { from: o.from, to: o.to }, ...(o.streams ? { streams: o.streams } : {}) }, 'plan');
    const running = runBackfill(loaded, {
      ...o, store: this.o.store, actor, logger: this.o.logger.child({ pipeline, backfill: id }), drain: this.backfillDrain.signal,
      run: this.run,
    }).catch((e) => this.o.logger.error({ pipeline, backfill: id, err: errorMessage(e) }, 'backfill failed'))
      .finally(() => this.backfills.delete(id));
    this.backfills.set(id, running);
    return id;
  }

  /** Schedules by pipeline, rebuilt only when the pipeline files changed (the scheduler asks five times a second). */
  private schedules(): Map<string, ScheduleConfig> {
    if (this.scheduleCache?.version === this.pipelines.version) return this.scheduleCache.map;
    const map = new Map<string, ScheduleConfig>();
    for (const [name, { loaded }] of this.pipelines.pipelines()) if (loaded.config.schedule) map.set(name, loaded.config.schedule);
    for (const [name, { loaded }] of this.pipelines.syncs()) if (loaded.config.schedule) map.set(name, loaded.config.schedule);
    this.scheduleCache = { version: this.pipelines.version, map };
    return map;
  }

  /** The mode: cdc syncs stream where runs are scheduled: in the process holding the lease, so only one reads a slot. */
  private reconcileStreams(): void {
    if (this.stopped) return;
    if (!this.scheduler.isLeader) {
      this.syncStreams.reconcile(NO_SYNCS);
      return;
    }
    if (this.cdcCache?.version !== this.pipelines.version) {
      const map = new Map<string, LoadedSync>();
      for (const [name, { loaded }] of this.pipelines.syncs()) if (loaded.config.mode === 'cdc') map.set(name, loaded);
      this.cdcCache = { version: this.pipelines.version, map };
    }
    this.syncStreams.reconcile(this.cdcCache.map);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return; // a slow store must not pile ticks up
    this.ticking = true;
    try {
      if (Date.now() - this.pausedReadAt >= PAUSED_READ_MS) await this.readPaused();
      await this.scheduler.tick();
      this.reconcileStreams();
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, 'scheduler tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** One pass at a time (an event and the poll may ask together); a request during a pass runs one more after it. */
  private refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.refreshOnce();
      } while (this.refreshAgain);
    })().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const changes = await this.pipelines.refresh();
    if (changes.length === 0) return;
    for (const c of changes) {
      const name = c.entry.loaded?.config.pipeline ?? c.entry.sync?.config.sync ?? null;
      const what = c.entry.sync ? 'sync' : 'pipeline';
      if (c.kind === 'invalid') this.o.logger.error({ file: c.entry.file, err: c.entry.error }, c.entry.loaded || c.entry.sync ? `${what} file invalid: keeping its last good version` : `${what} file invalid`);
      else this.o.logger.info({ file: c.entry.file, [what]: name }, `${what} ${c.kind}`);
      await this.o.store.appendAudit({
        actor: 'serve', action: `${what}.${c.kind}`, ...(name ? { pipeline: name } : {}),
        detail: { file: c.entry.file, sha256: c.entry.hash, ...(c.entry.error ? { error: c.entry.error } : {}) },
      });
    }
    for (const ob of this.observers) await ob.pipelinesChanged?.(changes);
  }

  private async finished(req: RunRequest, outcome: RunOutcome): Promise<void> {
    for (const ob of this.observers) {
      try {
        await ob.runFinished?.(req, outcome);
      } catch (e) {
        this.o.logger.error({ err: errorMessage(e) }, 'an observer of finished runs failed');
      }
    }
    if (outcome.status !== 'success' && outcome.status !== 'partial_success') return;
    // `after:` — each dependent runs once per upstream run, keyed by the upstream's finish time (or the next free
    // millisecond: two upstream runs may finish in the same one).
    for (const [name, schedule] of this.schedules()) {
      if (!schedule.after?.includes(req.pipeline) || this.paused.has(name)) continue;
      const actor = `after:${req.pipeline}`;
      const scheduledFor = await this.claimFrom(name, Date.parse(outcome.summary?.finished_at ?? new Date().toISOString()), 'after', actor);
      this.executor.submit({ pipeline: name, scheduledFor, trigger: 'after', actor, attempt: 0 });
    }
  }
}
