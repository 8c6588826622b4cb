// One stream of one run: the unit of work a worker executes. It needs only the pipeline config, the state stored in
// the destination and the control store, never anything else of the process that planned the run, so tasks can
// later be dispatched to workers on other machines.
//
//   source.read ─► (transforms) ─► schema + row checks ─┬─► destination write ─► commit(rows + state) every checkpoint
//                                                        └─► DLQ
import type { Destination, RunContext, Source, StreamConfig, StreamLoad } from '../core/connector.js';
import { RunError, errorMessage } from '../core/errors.js';
import type { Batch, Phase, Row, Status, StreamCounts, StreamState } from '../core/types.js';
import { batchLength, emptyCounts, rowAt } from '../core/types.js';
import type { ControlStore } from '../control/control-store.js';
import { compareCursor } from './coerce.js';
import { DlqWriter } from './dlq-writer.js';
import { PhaseClock } from './phase-clock.js';
import { SchemaTracker } from './schema-tracker.js';
import type { SchemaChange } from './schema-tracker.js';

export interface StreamTask {
  pipeline: string;
  runId: string;
  source: string;
  stream: StreamConfig;
  fullRefresh: boolean;
  dryRun: boolean;
  checkpointRows: number;
  /** Replaying dead-lettered rows: no watermark filtering, state left as it is, never a replace. */
  replay?: boolean;
}

export interface TaskDeps {
  source: Source;
  destination: Destination;
  store: ControlStore;
  ctx: RunContext;
  onProgress?: (stream: string, counts: StreamCounts) => void;
}

export interface StreamResult {
  stream: string;
  status: Status;
  counts: StreamCounts;
  phases: { phase: Phase; status: Status; duration_ms: number }[];
  error?: string;
}

export async function runStreamTask(task: StreamTask, deps: TaskDeps): Promise<StreamResult> {
  const { stream } = task;
  const { destination, store, ctx } = deps;
  const counts = emptyCounts();
  const clock = new PhaseClock();
  const dlq = new DlqWriter(store, task.pipeline, stream.name, task.runId, task.dryRun);
  let iterator: AsyncIterator<Batch> | undefined;
  let load: StreamLoad | undefined;
  let error: string | undefined;
  let failedPhase: Phase | undefined;

  deps.onProgress?.(stream.name, counts);
  try {
    const stored = task.fullRefresh ? undefined : await destination.readState(task.pipeline, stream.name);
    // Types the source knows (a catalog) count as declared, under what the user declared.
    const known = await deps.source.columns?.(stream, ctx);
    const typed = known ? { ...stream, columns: { ...known, ...stream.columns } } : stream;
    const tracker = new SchemaTracker(typed, stored?.schema, destination.capabilities.identifiers);
    const disposition = task.replay
      ? (stream.primary_key.length ? 'merge' : 'append')
      // A full refresh reloads a table; an scd2 stream keeps its history and records only what changed.
      : task.fullRefresh && stream.write !== 'scd2' ? 'replace' : stream.write;
    const storedCursor = stored?.cursor?.column === stream.cursor ? stored?.cursor?.value ?? null : null;
    const startCursor = task.replay ? null : storedCursor;
    let maxCursor: unknown = storedCursor;
    let evolvedWidth = -1;
    let pending: StreamState | undefined;
    let sinceCommit = 0;
    // Keys are unique in merge and replace targets (a full refresh of a merge stream keeps the last row per key);
    // an append stream keeps every row, also when a full refresh reloads it.
    const primaryKey = task.fullRefresh && stream.write === 'append' ? [] : stream.primary_key;
    const keyed = primaryKey.length > 0 && disposition !== 'append';

    if (!task.dryRun) {
      load = await destination.begin({
        pipeline: task.pipeline, stream: stream.name, table: stream.destination_table ?? stream.name, disposition,
        primaryKey: primaryKey.map((k) => tracker.target(k) ?? k), runId: task.runId, fullRefresh: task.fullRefresh,
        ...(stream.delete_column ? { deleteColumn: tracker.target(stream.delete_column) ?? stream.delete_column } : {}),
      });
    }

    const stateFor = (checkpoint: StreamState | undefined): StreamState => ({
      ...(checkpoint ?? stored ?? { version: 1 }),
      version: 1,
      schema: tracker.schema,
      ...(stream.cursor ? { cursor: { column: stream.cursor, value: cursorForState(maxCursor) } } : {}),
    });

    const evolve = async (changes: SchemaChange[]): Promise<void> => {
      for (const c of changes) {
        await store.recordSchemaChange({ runId: task.runId, stream: stream.name, change: c.change, column: c.column, from: c.from, to: c.to });
      }
      if (changes.length) {
        ctx.logger.info({ stream: stream.name, changes: changes.map((c) => `${c.change} ${c.column}${c.from ? ` ${c.from}→` : ' '}${c.to}`) }, 'schema changed');
      }
      if (load && (changes.length || evolvedWidth !== tracker.columns.length) && tracker.columns.length) {
        await clock.time('load', () => load!.evolve(tracker.schema));
        evolvedWidth = tracker.columns.length;
      }
    };

    const batches = deps.source.read(stream, stored, ctx)[Symbol.asyncIterator]();
    iterator = batches;
    // True while everything written is covered by the checkpoint in `pending`: only there may a drain stop early.
    let atCheckpoint = true;
    // A streaming source (its batches flush) ends its own iteration on a drain, after the records in flight.
    let streaming = false;
    while (true) {
      if (ctx.signal.aborted) throw new RunError(`stream ${stream.name}: cancelled`, stream.name);
      if (ctx.drain?.aborted && !streaming) {
        // A replace publishes only whole tables; stopping it early can only mean leaving the target as it was.
        if (disposition === 'replace') throw new RunError(`stream ${stream.name}: stopped before the replace completed; the target is unchanged`, stream.name);
        if (atCheckpoint) {
          ctx.logger.info({ stream: stream.name, loaded: counts.loaded }, 'stopped at a checkpoint; the next run resumes from it');
          // Let the source release what it holds (its `finally` blocks run).
          await batches.return?.(undefined);
          break;
        }
      }
      failedPhase = 'extract';
      const next: IteratorResult<Batch> = await clock.time('extract', () => batches.next());
      if (next.done) break;
      const batch = next.value;
      counts.extracted += batchLength(batch) + (batch.rejected?.length ?? 0);
      if (batch.rejected?.length) counts.dead_lettered += await dlq.add(batch.rejected);

      failedPhase = 'validate';
      const t0 = performance.now();
      // Rows as arrays (a CSV with a header) are read by position; object rows by name.
      const { columns, values } = batch;
      const coerce = columns && values ? () => tracker.coerceValues(columns, values) : () => tracker.coerce(batch.rows);
      await evolve(columns && values ? tracker.addColumnsOf(columns, values) : tracker.addColumns(batch.rows));
      let result = coerce();
      while (result.changes.length) {
        // A widened column: evolve the destination, then coerce the whole batch again with the new types.
        await evolve(result.changes);
        result = coerce();
      }
      const keep: unknown[][] = [];
      const cursorIndex = stream.cursor ? tracker.columns.findIndex((c) => c.name === stream.cursor) : -1;
      const keyIndexes = primaryKey.map((k) => tracker.columns.findIndex((c) => c.name === k));
      const rejects: { index: number; reason: string }[] = [...result.rejected];
      for (let i = 0; i < result.rows.length; i++) {
        const values = result.rows[i];
        if (keyed) {
          const missing = keyIndexes.findIndex((k) => k < 0 || values[k] === null);
          if (missing >= 0) {
            rejects.push({ index: result.accepted[i], reason: `primary key column "${primaryKey[missing]}" is null` });
            continue;
          }
        }
        if (cursorIndex >= 0) {
          const v = values[cursorIndex];
          if (v !== null && v !== undefined) {
            // Rows older than the watermark this run started from were loaded by an earlier run.
            if (startCursor !== null && compareCursor(v, startCursor) < 0) {
              counts.filtered++;
              continue;
            }
            if (!task.replay && (maxCursor === null || maxCursor === undefined || compareCursor(v, maxCursor) > 0)) maxCursor = v;
          }
        }
        keep.push(values);
      }
      if (rejects.length) {
        counts.dead_lettered += await dlq.add(rejects.map((r) => ({
          stage: 'schema' as const, reason: r.reason, raw: rowJson(rowAt(batch, r.index)), position: batch.positionOf?.(r.index) ?? {},
        })));
      }
      clock.add('validate', performance.now() - t0);

      failedPhase = 'load';
      if (load && keep.length) await clock.time('load', () => load!.write(keep));
      counts.loaded += keep.length;
      sinceCommit += keep.length;
      deps.onProgress?.(stream.name, counts);

      atCheckpoint = !!batch.checkpoint;
      streaming ||= !!batch.flush;
      if (batch.checkpoint) {
        pending = batch.checkpoint;
        if (load && (sinceCommit >= task.checkpointRows || batch.flush)) {
          addCommit(counts, await clock.time(commitPhase(disposition), () => load!.commit(stateFor(pending))));
          sinceCommit = 0;
          ctx.logger.debug({ stream: stream.name, loaded: counts.loaded }, 'checkpoint committed');
        }
      }
    }
    failedPhase = commitPhase(disposition);
    if (load) {
      await evolve([]);
      addCommit(counts, await clock.time(commitPhase(disposition), () => load!.finish(stateFor(pending))));
      load = undefined;
    }
  } catch (e) {
    error = errorMessage(e);
    if (load) await load.abort();
    // Let the source release what it holds (a pooled connection, an open file): a generator left suspended
    // would keep it forever, and closing the source would wait on it.
    await iterator?.return?.().catch(() => undefined);
    ctx.logger.error({ stream: stream.name, err: error }, 'stream failed');
  }

  const status: Status = error ? 'failed' : counts.dead_lettered > 0 ? 'partial_success' : 'success';
  const phases = clock.summary(error ? failedPhase : undefined);
  for (const p of phases) {
    await store.recordPhase({
      runId: task.runId, stream: stream.name, phase: p.phase, status: p.status, durationMs: p.duration_ms,
      error: p.status === 'failed' ? error : undefined,
    });
  }
  await store.recordStream({ runId: task.runId, stream: stream.name, status, counts, error });
  return { stream: stream.name, status, counts, phases, error };
}

const commitPhase = (disposition: string): Phase => (disposition === 'append' ? 'load' : 'merge');

function addCommit(counts: StreamCounts, c: { inserted: number; updated: number; deleted: number }): void {
  counts.inserted += c.inserted;
  counts.updated += c.updated;
  counts.deleted += c.deleted;
}

const cursorForState = (v: unknown): string | number | null =>
  v === null || v === undefined ? null : typeof v === 'number' ? v : String(v);

export const rowJson = (row: Row): string =>
  JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
