// `sluice serve` runs pipelines in worker threads, so that the thread which schedules and answers HTTP is never the
// one parsing rows: a `/metrics` scrape or a health probe waited behind whatever runs were doing on the event loop
// (measured with ~17 runs a second: a 30 ms scrape answered in 160–180 ms). Each thread opens the same control store
// (by its address) and runs the pipeline with the same engine as `sluice run`; the pipeline it runs is the version
// the service holds (the last good one), handed over as data, never read again from its file.
//
// A thread runs one pipeline at a time; the executor already caps how many run at once, so the pool only grows to
// that cap. A thread left idle for `idleMs` ends, so an idle service holds no thread's heap.
import { Worker } from 'node:worker_threads';
import type { LoadedPipeline } from '../config/types.js';
import type { StoreAddress } from '../control/control-store.js';
import { LockedError, errorMessage } from '../core/errors.js';
import { writeLine, type Logger } from '../core/logger.js';
import { registeredSecrets } from '../core/redact.js';
import type { StreamCounts } from '../core/types.js';
import { runPipeline, type RunOptions, type RunSummary } from '../engine/runner.js';
import type { RunFn } from './executor.js';
import type { WorkerQueue } from '../workers/queue.js';

/** What a thread is told for a run: every option that is data (instances, callbacks and signals stay here). */
export type ThreadRunOptions = Pick<RunOptions, 'runId' | 'actor' | 'trigger' | 'streams' | 'fullRefresh' | 'dryRun' | 'window' | 'lockKey' | 'replay' | 'home'>;
const DATA_OPTIONS = ['runId', 'actor', 'trigger', 'streams', 'fullRefresh', 'dryRun', 'window', 'lockKey', 'replay', 'home'] as const;

export type ToThread =
  | { type: 'run'; id: number; loaded: LoadedPipeline; options: ThreadRunOptions; log: { level: string; bindings: Record<string, unknown> }; secrets: string[]; progress: boolean }
  | { type: 'stop'; id: number; how: 'drain' | 'abort'; reason: string }
  | { type: 'close' };

export type FromThread =
  | { type: 'log'; id: number; line: string }
  | { type: 'progress'; id: number; stream: string; counts: StreamCounts }
  | { type: 'done'; id: number; summary: RunSummary }
  | { type: 'failed'; id: number; error: { name: string; message: string; stream?: string } };

type Settled = Exclude<FromThread, { type: 'log' | 'progress' }> | Error;

/** The nice value of run threads (Linux): below the service's thread, which schedules and answers HTTP. */
export const RUN_NICE = 10;

export interface ThreadData {
  store: StoreAddress;
  /** Runs dispatch their streams to `sluice worker` processes on this queue (`sluice serve --workers`). */
  workers?: WorkerQueue;
}


interface Thread {
  worker: Worker;
  /** The run it is on, if any. */
  run?: { id: number; logger: Logger; onProgress?: RunOptions['onProgress']; settle: (m: Settled) => void };
  idle?: NodeJS.Timeout;
}

const reasonText = (signal: AbortSignal): string => (signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'stopped'));

/** The error a thread reported, as the executor tells them apart (a held lock means: wait and try again). */
function revive(e: { name: string; message: string; stream?: string }): Error {
  if (e.name === 'LockedError') return new LockedError(e.message, e.stream);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class RunThreads {
  private readonly threads = new Set<Thread>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: { store: StoreAddress; logger: Logger; idleMs?: number; workers?: WorkerQueue }) {}

  /** Threads alive now (running or idle). */
  get size(): number {
    return this.threads.size;
  }

  /** Threads started since the pool was made. */
  started = 0;

  /** The executor's RunFn. Runs handed instances (library use) or a pipeline that is not plain data run on this thread. */
  readonly run: RunFn = async (loaded, opts) => {
    if (this.closed || opts.sources || opts.destination) return runPipeline(loaded, opts);
    const options: ThreadRunOptions = {};
    for (const k of DATA_OPTIONS) if (opts[k] !== undefined) (options as Record<string, unknown>)[k] = opts[k];
    const logger = opts.logger ?? this.o.logger;
    const id = this.nextId++;
    const message: ToThread = { type: 'run', id, loaded, options, log: { level: logger.level, bindings: logger.bindings() }, secrets: registeredSecrets(), progress: !!opts.onProgress };
    const thread = this.take();
    const done = new Promise<Settled>((settle) => { thread.run = { id, logger, onProgress: opts.onProgress, settle }; });
    try {
      thread.worker.postMessage(message);
    } catch (e) {
      // Not plain data (a structured clone failed): nothing was sent.
      this.release(thread);
      this.o.logger.debug({ err: errorMessage(e) }, 'the pipeline cannot be handed to a thread: it runs on the service\'s thread');
      return runPipeline(loaded, opts);
    }
    const forward = (signal: AbortSignal | undefined, how: 'drain' | 'abort') => {
      if (!signal) return () => {};
      const send = () => thread.worker.postMessage({ type: 'stop', id, how, reason: reasonText(signal) } satisfies ToThread);
      if (signal.aborted) send();
      else signal.addEventListener('abort', send, { once: true });
      return () => signal.removeEventListener('abort', send);
    };
    const unforward = [forward(opts.drain, 'drain'), forward(opts.signal, 'abort')];
    const result = await done;
    for (const f of unforward) f();
    this.release(thread);
    if (result instanceof Error) throw result;
    if (result.type === 'failed') throw revive(result.error);
    return result.summary;
  };

  /** Ends every thread (each closes its store first); runs still going are the executor's to drain before this. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((t) => this.end(t)));
  }

  private take(): Thread {
    for (const t of this.threads) {
      if (t.run) continue;
      clearTimeout(t.idle);
      t.worker.ref();
      return t;
    }
    const worker = new Worker(new URL('./run-thread.js', import.meta.url), { workerData: { store: this.o.store, ...(this.o.workers ? { workers: this.o.workers } : {}) } satisfies ThreadData });
    const thread: Thread = { worker };
    this.started++;
    worker.on('message', (m: FromThread) => {
      if (thread.run?.id !== m.id) return;
      if (m.type === 'log') writeLine(thread.run.logger, m.line);
      else if (m.type === 'progress') thread.run.onProgress?.(m.stream, m.counts);
      else thread.run.settle(m);
    });
    // A thread that dies (an uncaught error, out of memory) fails its run and is replaced by the next run's.
    worker.on('error', (e) => {
      this.threads.delete(thread);
      thread.run?.settle(new Error(`the run's thread failed: ${errorMessage(e)}`));
    });
    worker.on('exit', (code) => {
      clearTimeout(thread.idle);
      this.threads.delete(thread);
      thread.run?.settle(new Error(`the run's thread exited (code ${code})`));
    });
    this.threads.add(thread);
    return thread;
  }

  private release(thread: Thread): void {
    thread.run = undefined;
    if (!this.threads.has(thread)) return;
    // An idle thread does not keep the process alive, and ends after a while.
    thread.worker.unref();
    thread.idle = setTimeout(() => void this.end(thread), this.o.idleMs ?? 60_000).unref();
  }

  private async end(thread: Thread): Promise<void> {
    clearTimeout(thread.idle);
    this.threads.delete(thread);
    const exited = new Promise((r) => thread.worker.once('exit', r));
    thread.worker.ref(); // an idle thread was unref'd: waiting for its exit must hold the process
    thread.worker.postMessage({ type: 'close' } satisfies ToThread);
    // A store that will not close (a server gone) does not hold the service's exit.
    const t = setTimeout(() => void thread.worker.terminate(), 5000).unref();
    await exited;
    clearTimeout(t);
  }
}
