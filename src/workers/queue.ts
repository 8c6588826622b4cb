// The task queue shared by a run that dispatches its streams and the workers that run them: BullMQ on Redis. What a
// job carries (the pipeline file by path and digest, the stream, the run's options) and the checks made before any
// work: the Redis must not evict keys, and the control store must be the shared PostgreSQL one.
import { createHash } from 'node:crypto';
import type { StreamResult } from '../engine/stream-task.js';
import type { CursorWindow } from '../engine/stream-task.js';
import { ConfigError } from '../core/errors.js';
import type { PipelineConfig } from '../config/types.js';
import type { SourceSlice } from '../core/connector.js';

/** The queue runs and workers use unless told another (`--queue`, SLUICE_QUEUE): teams or tests sharing a Redis. */
export const DEFAULT_QUEUE = 'sluice-tasks';

export const queueOf = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string => flag ?? env.SLUICE_QUEUE ?? DEFAULT_QUEUE;

export interface TaskJob {
  /** The pipeline file, absolute: every worker reads it at this path (a shared checkout or volume). */
  file: string;
  /** sha256 of the file's text when the run was planned: a worker with another version refuses the task. */
  digest: string;
  pipeline: string;
  runId: string;
  stream: string;
  fullRefresh: boolean;
  dryRun: boolean;
  window?: CursorWindow;
  /** Why the stream must not run (a stream it reads failed): the worker records it as the local run would. */
  blocked?: string;
  /** One slice of a stream split into several tasks (./split.ts). */
  slice?: SourceSlice;
}

export type TaskResult = StreamResult;

/** A Redis URL for BullMQ's connections. `maxRetriesPerRequest: null` is what BullMQ's blocking commands need. */
export const connectionOf = (url: string) => ({ url, maxRetriesPerRequest: null });

export const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Job ids must not contain `:` (BullMQ's own key separator): run ids, stream names and slice ids never do. */
export const jobIdOf = (runId: string, stream: string, slice?: SourceSlice): string => `${runId}.${stream}${slice ? `.${slice.id}` : ''}`;

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** The queue a run dispatches to, or a worker takes from. */
export interface WorkerQueue {
  redisUrl: string;
  queue: string;
}

/**
 * The task queue of `--workers`, from the flags `sluice run` and `sluice serve` share (`--redis`, `--queue`); undefined
 * without `--workers`, where naming a queue is a mistake.
 */
export function queueFlags(o: { workers?: boolean; redis?: string; queue?: string }): WorkerQueue | undefined {
  if (!o.workers) {
    if (o.redis || o.queue) throw new ConfigError('--redis and --queue name the task queue of --workers; add --workers', { path: o.redis ? '--redis' : '--queue' });
    return undefined;
  }
  return { redisUrl: redisUrlOf(o.redis), queue: queueOf(o.queue) };
}

/** Where the queue is: `--redis`, else SLUICE_REDIS_URL, else the local server. */
export const redisUrlOf = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string =>
  flag ?? env.SLUICE_REDIS_URL ?? DEFAULT_REDIS;

/** A URL with its password hidden, for messages. */
export const shownUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/**
 * Tasks run on other machines write their records (stream results, dead letters, schema changes) to the control
 * store: it must be one every machine reaches, PostgreSQL's, not a process's own SQLite file.
 */
export function requireSharedStore(env: NodeJS.ProcessEnv = process.env): void {
  const url = env.SLUICE_CONTROL_URL?.trim() ?? '';
  if (!/^postgres(ql)?:/i.test(url)) {
    throw new ConfigError('workers share the control store: set SLUICE_CONTROL_URL to a postgres:// URL for the run and every worker', {
      expected: 'SLUICE_CONTROL_URL=postgres://…',
    });
  }
}

/**
 * Workers on other machines load into the destination at once: it must be a server every one of them reaches, not an
 * embedded file one process holds (DuckDB, SQLite) or a folder on one disk.
 */
export function checkWorkerDestination(config: PipelineConfig): void {
  const shared = ['postgres', 'mysql'];
  if (!shared.includes(config.destination.type)) {
    throw new ConfigError(`--workers needs a destination every worker reaches and writes at once (${shared.join(', ')}); this pipeline writes to ${config.destination.type}`, {
      path: 'destination.type', expected: shared.join(' or '),
    });
  }
}
