// The thread side of run-threads.ts: opens the service's control store once, then runs each pipeline it is handed
// with the engine, forwarding drain and abort, and answers with the run's summary or its error.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openControlStoreAt } from '../control/open.js';
import { createLogger } from '../core/logger.js';
import { registerSecret } from '../core/redact.js';
import { runPipeline, type RunOptions } from '../engine/runner.js';
import type { Logger } from '../core/logger.js';
import type { LoadedPipeline } from '../config/types.js';
import { Dispatcher } from '../workers/dispatch.js';
import { checkWorkerDestination } from '../workers/queue.js';
import type { StreamCounts } from '../core/types.js';
import { RunLog } from './run-log.js';
import { RUN_NICE, type FromThread, type ThreadData, type ToThread } from './run-threads.js';

// Runs are the service's background work: the thread that schedules and answers `/metrics` comes first when cores
// are few (on 2 cores with 4 busy run threads a scrape took 260 ms at equal priority). On Linux a thread's nice value
// is its own (setpriority on "process" 0 means the calling thread) and the threads it starts inherit it; elsewhere it
// would lower the whole process, so it is left alone.
if (process.platform === 'linux') {
  try {
    setPriority(RUN_NICE);
  } catch {
    // not permitted: runs at the service's priority
  }
}

const port = parentPort!;
const data = workerData as ThreadData;
const store = openControlStoreAt(data.store);
/** With `serve --workers`: this thread's connection to the task queue, opened by its first run. */
let dispatcher: Promise<Dispatcher> | undefined;

/** How a run of this thread runs its streams: here, or as tasks of `sluice worker` processes. */
async function dispatchFor(loaded: LoadedPipeline, logger: Logger): Promise<Pick<RunOptions, 'dispatch'>> {
  if (!data.workers) return {};
  checkWorkerDestination(loaded.config);
  dispatcher ??= Dispatcher.open(data.workers, logger);
  return { dispatch: await (await dispatcher).dispatchFor(loaded) };
}
const running = new Map<number, { drain: AbortController; abort: AbortController }>();

const reply = (m: FromThread) => port.postMessage(m);

/** Live counts for the service, at most every PROGRESS_MS per stream (a run calls back after every batch). */
const PROGRESS_MS = 250;
function progressTo(id: number) {
  const last = new Map<string, number>();
  return (stream: string, counts: StreamCounts) => {
    const now = performance.now();
    if (now - (last.get(stream) ?? -Infinity) < PROGRESS_MS) return;
    last.set(stream, now);
    reply({ type: 'progress', id, stream, counts: { ...counts } });
  };
}

port.on('message', (m: ToThread) => {
  if (m.type === 'close') {
    void Promise.all([store.close(), dispatcher?.then((d) => d.close(), () => undefined)]).finally(() => process.exit(0));
    return;
  }
  if (m.type === 'stop') {
    running.get(m.id)?.[m.how].abort(new Error(m.reason));
    return;
  }
  // Secrets registered where the pipeline was parsed are masked here too (logs, run records, errors).
  for (const s of m.secrets) registerSecret(s);
  // Log lines go back to the service's own logger, which decides where they land (stderr, a library user's stream).
  // …and are kept with the run for the dashboard.
  const log = new RunLog(store, m.options.runId, (err) => reply({ type: 'log', id: m.id, line: `${JSON.stringify({ level: 40, time: Date.now(), msg: err })}\n` }));
  const logger = createLogger(m.log.level, {
    write: (line: string) => {
      reply({ type: 'log', id: m.id, line });
      log.add(line);
    },
  });
  const c = { drain: new AbortController(), abort: new AbortController() };
  running.set(m.id, c);
  const runLogger = logger.child(m.log.bindings);
  dispatchFor(m.loaded, runLogger).then((how) => runPipeline(m.loaded, {
    ...m.options, store, logger: runLogger, signal: c.abort.signal, drain: c.drain.signal,
    ...(m.progress ? { onProgress: progressTo(m.id) } : {}), ...how,
  }))
    .finally(() => log.flush(true))
    .then(
      (summary) => reply({ type: 'done', id: m.id, summary }),
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        const stream = (err as { stream?: unknown }).stream;
        reply({ type: 'failed', id: m.id, error: { name: err.name, message: err.message, ...(typeof stream === 'string' ? { stream } : {}) } });
      },
    )
    .finally(() => running.delete(m.id));
});
