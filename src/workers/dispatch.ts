// The run's side of the queue: each stream task becomes one job, and the run waits for its result as if the stream
// had run here (the same StreamResult: counts, phases, steps, quality). The run itself is planned, ordered, locked,
// recorded and its views published by the dispatching process (src/engine/runner.ts); a worker's progress reports
// reach the run's progress display. A job that fails outright (the worker could not even open the destination, or the
// task stalled more often than allowed) is the stream's failure, not the run's crash.
import { Queue, QueueEvents } from 'bullmq';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { PHASES, emptyCounts, type StreamCounts } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import type { RunOptions } from '../engine/runner.js';
import type { StreamResult, StreamTask } from '../engine/stream-task.js';
import { connectionOf, digestOf, jobIdOf, type TaskJob, type WorkerQueue } from './queue.js';
import { checkWorkerSetup } from './redis-policy.js';
import { runSplit } from './split.js';

type Progress = (counts: StreamCounts) => void;

const VANISHED_POLL_MS = 2000;

export class Dispatcher {
  private readonly listeners = new Map<string, Progress>();

  private constructor(private readonly queue: Queue, private readonly events: QueueEvents, private readonly logger: Logger) {
    events.on('progress', ({ jobId, data }) => this.listeners.get(jobId)?.(data as StreamCounts));
  }

  /** Checks the queue's Redis and the shared control store before any work. */
  static async open(q: WorkerQueue, logger: Logger): Promise<Dispatcher> {
    await checkWorkerSetup(q.redisUrl);
    const queue = new Queue(q.queue, { connection: connectionOf(q.redisUrl) });
    // Each task awaiting its result listens for the queue closing: a run's many tasks (and slices) at once are expected,
    // not a leak (Node warned past 10).
    queue.setMaxListeners(0);
    const events = new QueueEvents(q.queue, { connection: connectionOf(q.redisUrl) });
    await events.waitUntilReady();
    return new Dispatcher(queue, events, logger);
  }

  /** `RunOptions.dispatch` for a pipeline file: its path and digest go with each task. */
  async dispatchFor(loaded: LoadedPipeline): Promise<NonNullable<RunOptions['dispatch']>> {
    if (!loaded.file) throw new Error('a run dispatched to workers needs its pipeline file: workers read it by path');
    const file = resolve(loaded.file);
    const digest = digestOf(readFileSync(file, 'utf8'));
    if ((await this.queue.getWorkersCount()) === 0) this.logger.warn({ queue: this.queue.name }, 'no worker is connected yet: tasks wait in the queue for one (`sluice worker`)');
    return async (task, how) => {
      const one = (t: StreamTask, listen?: Progress) => this.dispatch({ task: t, file, digest, listen, ...(how.blocked ? { blocked: how.blocked } : {}) });
      if (!how.blocked && how.parts) {
        try {
          const split = await runSplit(task, loaded, how.parts, one, how.onProgress);
          if (split) return split;
        } catch (e) {
          return failedTask(task.stream.name, `splitting the stream into slices: ${errorMessage(e)}`);
        }
      }
      return one(task, how.onProgress && ((counts) => how.onProgress!(task.stream.name, counts)));
    };
  }

  private async dispatch(o: { task: StreamTask; file: string; digest: string; listen?: Progress; blocked?: string }): Promise<StreamResult> {
    const { task } = o;
    const data: TaskJob = {
      file: o.file, digest: o.digest, pipeline: task.pipeline, runId: task.runId, stream: task.stream.name,
      fullRefresh: task.fullRefresh, dryRun: task.dryRun,
      ...(task.window ? { window: task.window } : {}), ...(o.blocked ? { blocked: o.blocked } : {}),
      ...(task.slice ? { slice: task.slice } : {}),
    };
    const jobId = jobIdOf(task.runId, task.stream.name, task.slice);
    if (o.listen) this.listeners.set(jobId, o.listen);
    try {
      const job = await this.queue.add(task.slice ? `${task.stream.name}#${task.slice.id}` : task.stream.name, data, {
        jobId,
        // A failed attempt is retried by the run's next attempt, which reads only what is missing; finished jobs
        // stay a while for `sluice workers` and post-mortems, then go.
        attempts: 1,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 7 * 86400 },
      });
      this.logger.debug({ stream: task.stream.name, job: jobId }, 'task dispatched');
      const watch = { done: false };
      try {
        return await Promise.race([job.waitUntilFinished(this.events) as Promise<StreamResult>, this.vanished(jobId, watch)]);
      } finally {
        watch.done = true;
      }
    } catch (e) {
      return failedTask(task.stream.name, `on a worker: ${errorMessage(e)}`);
    } finally {
      this.listeners.delete(jobId);
    }
  }

  /**
   * Fails when the job is no longer in the queue: a Redis restarted without persistence (or flushed) forgets its jobs,
   * and no event would ever say the task ended. The stream then fails, and a re-run reads what is missing.
   */
  private async vanished(jobId: string, watch: { done: boolean }): Promise<never> {
    for (;;) {
      await new Promise((r) => setTimeout(r, VANISHED_POLL_MS).unref());
      if (watch.done) return new Promise<never>(() => undefined);
      const state = await this.queue.getJobState(jobId).catch(() => 'unreachable');
      if (state === 'unknown') throw new Error('the task is no longer in the queue (was its Redis restarted or flushed?); what it committed stays, and the next run reads on from there');
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

/** A stream whose task never produced a result of its own. */
function failedTask(stream: string, error: string): StreamResult {
  return {
    stream, status: 'failed', counts: emptyCounts(), error,
    phases: PHASES.map((phase, i) => ({ phase, status: i === 0 ? 'failed' : 'skipped', duration_ms: 0 })),
  };
}
