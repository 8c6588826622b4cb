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
import { TransformChain, type StepConfig } from '../transforms/chain.js';
import { ChildLoads, replacesChildGroups } from '../transforms/child-loads.js';
import type { CheckConfig } from '../quality/check.js';
import { openStreamQuality, type StreamQualityReport } from '../quality/task-quality.js';
import { cursorOrder } from './coerce.js';
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
  /** The stream's transform steps (validated), run on every batch right after extraction. */
  transforms?: StepConfig[];
  /** The stream's checks (validated): row checks on coerced rows, dataset gates before the last commit. */
  checks?: CheckConfig[];
}

export interface TaskDeps {
  source: Source;
  destination: Destination;
  store: ControlStore;
  ctx: RunContext;
  onProgress?: (stream: string, counts: StreamCounts) => void;
  /** Rows of another stream of the pipeline, for lookups. */
  readStream?: (stream: string) => AsyncIterable<Row[]>;
}

export interface StreamResult {
  stream: string;
  status: Status;
  counts: StreamCounts;
  phases: { phase: Phase; status: Status; duration_ms: number }[];
  error?: string;
  /** Check results, metrics and score, when the stream has checks. */
  quality?: StreamQualityReport;
}

export async function runStreamTask(task: StreamTask, deps: TaskDeps): Promise<StreamResult> {
  const { stream } = task;
  const { destination, store, ctx } = deps;
  const counts = emptyCounts();
  const clock = new PhaseClock();
  const dlq = new DlqWriter(store, task.pipeline, stream.name, task.runId, task.dryRun);
  let iterator: AsyncIterator<Batch> | undefined;
  let load: StreamLoad | undefined;
  /** Child tables of `flatten` steps, loaded beside the stream. */
  let children: ChildLoads | undefined;
  let error: string | undefined;
  let failedPhase: Phase | undefined;
  let report: StreamQualityReport | undefined;
  /** The checkpoint a load that pipelines commits is still applying. */
  let committing: Promise<void> | undefined;

  deps.onProgress?.(stream.name, counts);
  try {
    const stored = task.fullRefresh ? undefined : await destination.readState(task.pipeline, stream.name);
    // Types the source knows (a catalog) count as declared, under what the user declared.
    const known = await deps.source.columns?.(stream, ctx);
    const disposition = task.replay
      ? (stream.primary_key.length ? 'merge' : 'append')
      // A full refresh reloads a table; an scd2 stream keeps its history and records only what changed.
      : task.fullRefresh && stream.write !== 'scd2' ? 'replace' : stream.write;
    const chain = task.transforms?.length ? new TransformChain(task.transforms, {
      stream: stream.name, primaryKey: stream.primary_key, readStream: deps.readStream, readTable: destination.readTable?.bind(destination),
      ...(replacesChildGroups(destination, disposition) ? { replaceChildren: { deleteColumn: stream.delete_column } } : {}),
    }) : undefined;
    // Catalog types followed through the transforms, and the types casts declare, are declared types too.
    const declared = chain ? chain.types(known) : known;
    const typed = declared ? { ...stream, columns: { ...declared, ...stream.columns } } : stream;
    // Columns the catalog typed and the user did not re-declare: a canonical batch's values need no coercion there.
    const trusted = new Set(Object.keys(known ?? {}).filter((c) => !stream.columns?.[c] || stream.columns[c] === known![c]));
    const tracker = new SchemaTracker(typed, stored?.schema, destination.capabilities.identifiers, trusted);
    const storedCursor = stored?.cursor?.column === stream.cursor ? stored?.cursor?.value ?? null : null;
    const startCursor = task.replay ? null : storedCursor;
    let maxCursor: unknown = storedCursor;
    let evolvedWidth = -1;
    let pending: StreamState | undefined;
    let sinceCommit = 0;
    let commits = 0;
    /**
     * Rows before the next commit. A load that pipelines commits ramps up to `checkpoint_rows` (1/8, 1/4, 1/2, then
     * all of it): the server starts applying a small first checkpoint while the engine reads the next, rather than
     * idling through a whole checkpoint's worth of parsing.
     */
    const checkpointAt = (): number =>
      load?.pipelinesCommits ? Math.ceil(task.checkpointRows / 2 ** Math.max(0, 3 - commits)) : task.checkpointRows;
    // Keys are unique in merge and replace targets (a full refresh of a merge stream keeps the last row per key);
    // an append stream keeps every row, also when a full refresh reloads it.
    const primaryKey = task.fullRefresh && stream.write === 'append' ? [] : stream.primary_key;
    const keyed = primaryKey.length > 0 && disposition !== 'append';
    const quality = await openStreamQuality(task, deps, tracker, disposition);

    if (!task.dryRun) {
      load = await destination.begin({
        pipeline: task.pipeline, stream: stream.name, table: stream.destination_table ?? stream.name, disposition,
        primaryKey: primaryKey.map((k) => tracker.target(k) ?? k), runId: task.runId, fullRefresh: task.fullRefresh,
        ...(quality?.gated ? { staged: true } : {}),
        ...(stream.delete_column ? { deleteColumn: tracker.target(stream.delete_column) ?? stream.delete_column } : {}),
      });
    }
    if (chain?.producesChildren) {
      children = new ChildLoads({
        pipeline: task.pipeline, runId: task.runId, disposition, fullRefresh: task.fullRefresh, destination, store, logger: ctx.logger, dryRun: task.dryRun,
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
      if (load && (changes.some((c) => c.change === 'add_column' || c.change === 'widen_column') || evolvedWidth !== tracker.columns.length) && tracker.columns.length) {
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
      if (next.done && !chain?.holding) break;
      const read: Batch | undefined = next.done ? undefined : next.value;
      if (read) counts.extracted += batchLength(read) + (read.rejected?.length ?? 0);
      if (read?.rejected?.length) counts.dead_lettered += await dlq.add(read.rejected);
      failedPhase = 'transform';
      // At the end of the stream (read undefined) the chain emits what blocking steps (aggregate) held back.
      const batch = chain ? await clock.time('transform', () => chain.apply(read, counts, dlq)) : read;
      if (!batch) break;

      failedPhase = 'validate';
      const t0 = performance.now();
      // Rows as arrays (a CSV with a header) are read by position; object rows by name.
      const { columns, values } = batch;
      // A source's canonical values are vouched for only as it made them: not after transforms rewrote them.
      const canonical = !chain && !!batch.canonical;
      const coerce = columns && values ? () => tracker.coerceValues(columns, values, canonical) : () => tracker.coerce(batch.rows);
      await evolve(columns && values ? tracker.addColumnsOf(columns, values) : tracker.addColumns(batch.rows));
      let result = coerce();
      while (result.changes.length) {
        // A widened column: evolve the destination, then coerce the whole batch again with the new types.
        await evolve(result.changes);
        result = coerce();
      }
      let keep: unknown[][] = [];
      // Where each kept row sits in the batch, for the DLQ entries of rows failing a check.
      const keptAt: number[] | undefined = quality ? [] : undefined;
      const cursorIndex = stream.cursor ? tracker.columns.findIndex((c) => c.name === stream.cursor) : -1;
      const compareCursor = cursorOrder(tracker.columns[cursorIndex]?.type);
      const keyIndexes = primaryKey.map((k) => tracker.columns.findIndex((c) => c.name === k));
      const rejects: { index: number; reason: string }[] = [...result.rejected];
      let failedChecks: { index: number; reason: string }[] = [];
      counts.filtered += result.dropped;
      quality?.bind(tracker.columns);
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
        keptAt?.push(result.accepted[i]);
      }
      if (quality && keep.length) {
        ({ rows: keep, failed: failedChecks } = quality.check(keep, keptAt!));
      }
      if (rejects.length) {
        counts.dead_lettered += await dlq.add(rejects.map((r) => ({
          stage: 'schema' as const, reason: r.reason, raw: rowJson(rowAt(batch, r.index)), position: batch.positionOf?.(r.index) ?? {},
        })));
      }
      if (failedChecks.length) {
        counts.dead_lettered += await dlq.add(failedChecks.map((r) => ({
          stage: 'check' as const, reason: r.reason, raw: rowJson(rowAt(batch, r.index)), position: batch.positionOf?.(r.index) ?? {},
        })));
      }
      clock.add('validate', performance.now() - t0);

      failedPhase = 'load';
      if (load && keep.length) await clock.time('load', () => load!.write(keep));
      if (children) await clock.time('load', () => children!.write(chain!.takeChildren()));
      counts.loaded += keep.length;
      sinceCommit += keep.length;
      deps.onProgress?.(stream.name, counts);

      atCheckpoint = !!batch.checkpoint;
      streaming ||= !!batch.flush;
      if (batch.checkpoint) {
        pending = batch.checkpoint;
        // A gated stream commits once, after its gates: nothing may become visible before they pass.
        if (load && !quality?.gated && (sinceCommit >= checkpointAt() || batch.flush)) {
          await children?.commit();
          // One checkpoint in flight at most: a load that pipelines commits applies them in order.
          await committing;
          const loaded = counts.loaded;
          const done = clock.time(commitPhase(disposition), () => load!.commit(stateFor(pending))).then((c) => {
            addCommit(counts, c);
            ctx.logger.debug({ stream: stream.name, loaded }, 'checkpoint committed');
          });
          if (load.pipelinesCommits) {
            // Awaited before the next commit (or the end); a failure meanwhile also surfaces in write().
            done.catch(() => undefined);
            committing = done;
          } else {
            await done;
          }
          sinceCommit = 0;
          commits++;
        }
      }
    }
    failedPhase = commitPhase(disposition);
    await committing;
    if (quality) {
      failedPhase = 'validate';
      report = await clock.time('validate', () => quality.finish(counts.loaded));
      if (report.blocked) {
        const kept = await load?.abort({ keepStaging: true });
        load = undefined;
        throw new RunError(`stream ${stream.name}: load blocked by ${report.blocked}; nothing of this run was made visible`
          + (kept?.kept ? `; staging kept in ${kept.kept}` : ''), stream.name);
      }
    }
    failedPhase = commitPhase(disposition);
    if (load) {
      await evolve([]);
      await children?.finish();
      addCommit(counts, await clock.time(commitPhase(disposition), () => load!.finish(stateFor(pending))));
      load = undefined;
    }
  } catch (e) {
    error = errorMessage(e);
    await children?.abort();
    if (load) await load.abort();
    // Let the source release what it holds (a pooled connection, an open file): a generator left suspended
    // would keep it forever, and closing the source would wait on it.
    await iterator?.return?.().catch(() => undefined);
    ctx.logger.error({ stream: stream.name, err: error }, 'stream failed');
  }

  const status: Status = error ? 'failed' : counts.dead_lettered > 0 || report?.warnings?.length ? 'partial_success' : 'success';
  const phases = clock.summary(error ? failedPhase : undefined);
  for (const p of phases) {
    await store.recordPhase({
      runId: task.runId, stream: stream.name, phase: p.phase, status: p.status, durationMs: p.duration_ms,
      error: p.status === 'failed' ? error : undefined,
    });
  }
  await store.recordStream({ runId: task.runId, stream: stream.name, status, counts, error });
  if (report) await store.recordQuality({ runId: task.runId, pipeline: task.pipeline, stream: stream.name, report });
  return { stream: stream.name, status, counts, phases, error, ...(report ? { quality: report } : {}) };
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
