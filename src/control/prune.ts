// What both control stores share when retention deletes old records (pruneDlq, pruneRuns): the chunk sizes, which keep
// each transaction short enough that runs writing to the same store wait on it for milliseconds, not minutes, and
// the tables that hold a run's records besides `runs` itself.

/** Dead-letter entries per transaction. */
export const DLQ_CHUNK = 2000;
/** Runs per transaction (their phases, streams, steps, quality and schema changes go with them). */
export const RUN_CHUNK = 200;
/** Log lines per transaction: one run may have logged many thousands. */
export const LOG_CHUNK = 5000;

/** The tables keyed by a run's id that go with the run (its log lines are deleted apart, in chunks of their own). */
export const RUN_RECORD_TABLES = ['phases', 'streams', 'transformer_runs', 'quality', 'schema_changes'] as const;

/** Lets other work on the event loop (the API of `serve`) go between two chunks of a synchronous store. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
