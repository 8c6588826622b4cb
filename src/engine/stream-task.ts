// One stream of one run: the unit of work a worker executes. It needs only the pipeline config, the state stored in
// the destination and the control store, never anything else of the process that planned the run, so tasks can
// later be dispatched to workers on other machines.
//
//   source.read ─► (transforms) ─► schema + row checks ─┬─► destination write ─► commit(rows + state) every checkpoint
//                                                        └─► DLQ
import type { Destination, RunContext, Source, SourceSlice, StreamConfig, StreamLoad } from '../core/connector.js';
import { RowValueError, RunError, errorMessage } from '../core/errors.js';
import { rowJson } from '../core/record.js';
import { redact } from '../core/redact.js';
import { behind } from '../core/values/lookback.js';
import type { Batch, FileHandOff, Phase, Row, Status, StepCounts, StreamCounts, StreamState, WriteDisposition } from '../core/types.js';
import { batchLength, emptyCounts, rowAt } from '../core/types.js';
import type { ControlStore } from '../control/control-store.js';
import { TransformChain, type StepConfig } from '../transforms/chain.js';
import { ChildLoads, replacesChildGroups } from './child-loads.js';
import type { CheckConfig } from '../quality/check.js';
import type { StreamQuality, StreamQualityReport } from '../quality/stream-quality.js';
import { openStreamQuality } from './task-quality.js';
import { FILTERED, PASS, RowGate, type ValueRules } from './row-gate.js';
import { DlqWriter } from './dlq-writer.js';
import { PhaseClock } from './phase-clock.js';
import { SchemaTracker } from './schema-tracker.js';
import { SeenRows } from './seen-rows.js';
import type { SchemaChange } from './schema-tracker.js';
import { piiOf } from '../core/pii.js';
import { suppressionTest } from '../core/suppression.js';
import { screenBatch } from './suppressed-rows.js';
import { foldSlices, sliceKey, sliceStart } from './slices.js';

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
  /**
   * A backfill window: rows whose cursor is in [from, to), read again from `from` and merged on the key; the stream's
   * own state (watermark, file and connector progress) is left as it is.
   */
  window?: CursorWindow;
  /** The stream's transform steps (validated), run on every batch right after extraction. */
  transforms?: StepConfig[];
  /** The stream's checks (validated): row checks on coerced rows, dataset gates before the last commit. */
  checks?: CheckConfig[];
  /**
   * The task may have run before on another worker that stalled rather than died: claim the stream's state before
   * reading it (Destination.claimState), so that worker can commit nothing more.
   */
  claim?: boolean;
  /**
   * One slice of a stream split over workers (Source.slices): only its part is read, and its progress commits under
   * its own state key (./slices.ts).
   */
  slice?: SourceSlice;
}

export interface CursorWindow {
  from: string | number;
  to: string | number;
}

export interface TaskDeps {
  source: Source;
  destination: Destination;
  store: ControlStore;
  ctx: RunContext;
  onProgress?: (stream: string, counts: StreamCounts) => void;
  /** Rows of another stream of the pipeline, for lookups. */
  readStream?: (stream: string) => AsyncIterable<Row[]>;
  /** Why the stream must not run: a stream whose table it reads failed (./stream-order.ts). */
  blocked?: string;
}

export interface StreamResult {
  stream: string;
  status: Status;
  counts: StreamCounts;
  phases: { phase: Phase; status: Status; duration_ms: number }[];
  /** What each transform step did, in the stream's order; only when the stream has steps. */
  steps?: StepCounts[];
  error?: string;
  /** Check results, metrics and score, when the stream has checks. */
  quality?: StreamQualityReport;
}

export async function runStreamTask(task: StreamTask, deps: TaskDeps): Promise<StreamResult> {
  let run = new StreamRun(task, deps);
  deps.onProgress?.(task.stream.name, run.counts);
  if (!(await run.go()) && run.retriesRowByRow()) {
    // The destination refused a value nobody foresaw (a CHECK constraint, a domain, an enum): rather than fail the
    // stream, read again from its last commit, as the next run would, with every batch applied under a savepoint so
    // the refused rows are found and dead-lettered. Counts go on from that commit.
    deps.ctx.logger.warn({ stream: task.stream.name, err: run.errorText }, 'the destination refused a value; reading again from the last commit, row by row');
    run = new StreamRun(task, deps, run);
    await run.go();
  }
  return run.record();
}

/**
 * One stream task as it runs, stage by stage: `open` (state, schema, checks, the load) → `pump` (per batch: extract →
 * transform → validate → write → checkpoint) → `finish` (gates, last commit) — or `fail` — then `record`.
 */
class StreamRun {
  readonly counts = emptyCounts();
  private readonly stream: StreamConfig;
  private readonly clock: PhaseClock = new PhaseClock();
  private readonly dlq: DlqWriter;
  private error: string | undefined;
  private failure: unknown;
  private failedPhase: Phase | undefined;
  private report: StreamQualityReport | undefined;

  // Set by open().
  private stored: StreamState | undefined;
  private disposition!: WriteDisposition;
  private chain: TransformChain | undefined;
  private tracker!: SchemaTracker;
  private gate!: RowGate;
  /** The pipeline has erased subjects: their rows leave each batch as read (no file then goes whole to the load). */
  private screen: ((batch: Batch) => { batch: Batch; dropped: number }) | undefined;
  private quality: StreamQuality | undefined;
  private load: StreamLoad | undefined;
  /** Child tables of `flatten` steps, loaded beside the stream. */
  private children: ChildLoads | undefined;
  private batches: AsyncIterator<Batch> | undefined;

  /** Columns the destination was last evolved to (-1: never). */
  private evolvedWidth = -1;
  /** The checkpoint the rows written so far are covered by. */
  private pending: StreamState | undefined;
  private sinceCommit = 0;
  private commits = 0;
  /** Rows of `counts.loaded` that committed checkpoints made visible. */
  private committed = 0;
  /** The checkpoint a load that pipelines commits is still applying. */
  private committing: Promise<void> | undefined;
  /** Where the cursor starts counting rows as new (set by open()): older ones are filtered. */
  private cursorFrom: string | number | null = null;

  /** Rows are applied batch by batch under a savepoint (LoadTarget.isolateRows): a retry after a refused value. */
  private readonly isolate: boolean;
  /** The counts as of the last commit: what a retry from that commit goes on from. */
  private atCommit = emptyCounts();
  /** The transform steps' counts as of the last commit, likewise. */
  private stepsAtCommit: StepCounts[] | undefined;
  /** A batch flushed: the source streams (a socket, a followed log) and cannot be read again from a commit. */
  private streaming = false;
  /** The load could run row by row (StreamLoad.isolates); it is gone once the load ended. */
  private loadIsolates = false;

  /** `failed`: a first attempt that failed on a refused value; this one goes on from its last commit, row by row. */
  constructor(private readonly task: StreamTask, private readonly deps: TaskDeps, failed?: StreamRun) {
    this.stream = task.stream;
    this.dlq = new DlqWriter(deps.store, task.pipeline, task.stream.name, task.runId, task.dryRun, piiOf(task.stream), task.stream.pii_dlq === 'mask');
    this.isolate = !!failed;
    if (failed) {
      Object.assign(this.counts, failed.atCommit);
      this.atCommit = { ...failed.atCommit };
      this.stepsAtCommit = failed.stepsAtCommit;
      this.committed = failed.atCommit.loaded;
      this.clock = failed.clock;
    }
  }

  private goOnFrom(at: NonNullable<StreamState['run']>): void {
    Object.assign(this.counts, at.counts);
    this.atCommit = { ...at.counts };
    this.stepsAtCommit = at.steps;
    this.committed = at.counts.loaded;
  }

  /** open → pump → finish; on failure, fail(). Whether the stream succeeded. */
  async go(): Promise<boolean> {
    try {
      await this.open();
      await this.pump();
      await this.finish();
      return true;
    } catch (e) {
      await this.fail(e);
      this.failure = e;
      return false;
    }
  }

  get errorText(): string | undefined {
    return this.error;
  }

  /**
   * The stream failed on a value the destination refused, and reading it again from the last commit row by row may
   * get past it: a first attempt, a load that can isolate rows, a source that can be read again (not a stream), and
   * no child tables (their loads would need the same).
   */
  retriesRowByRow(): boolean {
    return this.failure instanceof RowValueError && !this.isolate && this.loadIsolates && !this.streaming && !this.children
      && !this.task.dryRun && !this.deps.ctx.signal.aborted && !this.deps.ctx.drain?.aborted;
  }

  /** Where the task's progress commits: the stream's state, or its slice's. */
  private get stateKey(): string {
    return this.task.slice ? sliceKey(this.stream.name, this.task.slice) : this.stream.name;
  }

  /** Stored state, the schema the stream starts from, its transforms and checks, and the destination's load. */
  async open(): Promise<void> {
    const { task, stream, deps } = this;
    const { destination, ctx } = deps;
    if (deps.blocked) throw new RunError(deps.blocked, stream.name);
    const key = this.stateKey;
    if (task.claim && !task.dryRun && !task.window) await destination.claimState?.(task.pipeline, key, task.runId);
    // Slices a split left behind (its dispatching process died before folding them) are part of the stream's state
    // before anything reads the stream whole.
    if (!task.slice && !task.dryRun && !task.window) await foldSlices(destination, task.pipeline, stream.name, task.runId);
    const own = task.slice && !task.fullRefresh ? await destination.readState(task.pipeline, key) : undefined;
    const stored = task.fullRefresh ? undefined : task.slice
      // A slice already folded into the stream's state starts again from the stream's (folded: its marker).
      ? (own && !own.folded ? own : sliceStart(await destination.readState(task.pipeline, stream.name), task.slice))
      : await destination.readState(task.pipeline, stream.name);
    // A replace stream's table is what its run reads, so every run reads its source whole: a position kept from the
    // last run (files read, a cursor) would replace the table with only what is new since. The column mapping stays.
    this.stored = stream.write === 'replace' && stored ? { version: stored.version, ...(stored.schema ? { schema: stored.schema } : {}) } : stored;
    // This run committed part of the stream already (its task was taken over from a worker that died): go on from there.
    if (this.stored?.run?.id === task.runId && !this.isolate) this.goOnFrom(this.stored.run);
    // Types the source knows (a catalog) count as declared, under what the user declared.
    const known = await deps.source.columns?.(stream, ctx);
    const disposition: WriteDisposition = task.replay || task.window
      ? (stream.primary_key.length ? 'merge' : 'append')
      // A full refresh reloads a table; an scd2 stream keeps its history and records only what changed.
      : task.fullRefresh && stream.write !== 'scd2' ? 'replace' : stream.write;
    this.disposition = disposition;
    // Subjects erased from the pipeline (`sluice erase`) are not loaded again from a source that still has them.
    const suppressed = await deps.store.suppressions(task.pipeline);
    const held = suppressed.size ? suppressionTest(task.pipeline, suppressed) : undefined;
    this.screen = held && ((b: Batch) => screenBatch(b, [...suppressed.keys()], held));
    const chain = task.transforms?.length ? new TransformChain(task.transforms, {
      stream: stream.name, runId: task.runId, primaryKey: stream.primary_key, readStream: deps.readStream, readTable: destination.readTable?.bind(destination),
      targetTable: stream.destination_table ?? stream.name,
      ...(replacesChildGroups(destination, disposition) ? { replaceChildren: { deleteColumn: stream.delete_column } } : {}),
    }) : undefined;
    if (chain && this.stepsAtCommit) chain.resumeFrom(this.stepsAtCommit);
    this.chain = chain;
    // Catalog types followed through the transforms, and the types casts declare, are declared types too.
    const declared = chain ? chain.types(known) : known;
    const typed = declared ? { ...stream, columns: { ...declared, ...stream.columns } } : stream;
    // Columns the catalog typed and the user did not re-declare: a canonical batch's values need no coercion there.
    const trusted = new Set(Object.keys(known ?? {}).filter((c) => !stream.columns || !Object.hasOwn(stream.columns, c) || stream.columns[c] === known![c]));
    const tracker = new SchemaTracker(typed, this.stored?.schema, destination.capabilities.identifiers, trusted, destination.capabilities);
    this.tracker = tracker;
    // Keys are unique in merge and replace targets (a full refresh of a merge stream keeps the last row per key);
    // an append stream keeps every row, also when a full refresh reloads it (unless the destination stores rows by key).
    const keyed = !!destination.capabilities.keyed;
    const primaryKey = task.fullRefresh && stream.write === 'append' && !keyed ? [] : stream.primary_key;
    const storedCursor = this.stored?.cursor?.column === stream.cursor ? this.stored?.cursor?.value ?? null : null;
    const from = task.replay ? null : task.window ? task.window.from : this.lookback(storedCursor);
    this.cursorFrom = from;
    const rules: ValueRules = {
      refuses: destination.capabilities.refuses?.bind(destination.capabilities), stripNul: !!stream.strip_nul,
      ...(stream.rounding ? { rounding: stream.rounding } : {}),
      ...(held ? { suppressed: held } : {}),
      column: (target) => this.load?.refuses?.(target),
    };
    // An append stream re-reading behind its watermark knows the rows it loaded there (seen-rows.ts).
    const seen = disposition === 'append' && stream.lookback !== undefined && primaryKey.length > 0 && !task.replay && !task.window
      ? new SeenRows(this.stored?.seen, stream.lookback) : undefined;
    this.gate = new RowGate(primaryKey, primaryKey.length > 0 && (disposition !== 'append' || keyed), stream.cursor,
      from, storedCursor, !task.replay && !task.window, rules, task.window?.to, seen);
    this.quality = await openStreamQuality(task, deps, tracker, disposition);

    if (!task.dryRun) {
      this.load = await destination.begin({
        pipeline: task.pipeline, stream: this.stateKey, table: stream.destination_table ?? stream.name, disposition,
        primaryKey: primaryKey.map((k) => tracker.target(k) ?? k), runId: task.runId, fullRefresh: task.fullRefresh,
        ...(this.quality?.gated ? { staged: true } : {}),
        ...(this.isolate ? { isolateRows: true } : {}),
        ...(task.window ? { leavesState: true } : {}),
        ...(stream.partition_by?.length ? { partitionBy: stream.partition_by.map((c) => tracker.target(c) ?? c) } : {}),
        ...(stream.delete_column ? { deleteColumn: tracker.target(stream.delete_column) ?? stream.delete_column } : {}),
      });
      this.loadIsolates = !!this.load.isolates;
    }
    if (chain?.producesChildren) {
      this.children = new ChildLoads({
        pipeline: task.pipeline, runId: task.runId, disposition, fullRefresh: task.fullRefresh, destination, store: deps.store,
        logger: ctx.logger, dryRun: task.dryRun, rules, pii: piiOf(task.stream), piiMask: task.stream.pii_dlq === 'mask',
      });
    }
    // A lookback starts the source at the earlier watermark, its own position (a keyset tuple, a page) set aside; a
    // backfill window also sets aside the files read (they are read again, the gate keeping the window's rows).
    const readFrom = task.window
      ? { ...(this.stored ?? { version: 1 }), cursor: { column: stream.cursor!, value: task.window.from }, connector: undefined, files: undefined }
      : this.stored && from !== null && from !== storedCursor
        ? { ...this.stored, cursor: { column: stream.cursor!, value: from }, connector: undefined } : this.stored;
    const readCtx = task.slice ? { ...ctx, slice: task.slice } : ctx;
    this.batches = deps.source.read(stream, readFrom, this.handsOff() ? { ...readCtx, handOff: { minBytes: handOffMinBytes() } } : readCtx)[Symbol.asyncIterator]();
  }

  /**
   * Whether whole files go to the load's own reader (StreamLoad.ingest): only where no row needs the engine — no
   * transforms, checks or child tables, no contract holding columns out, no lookback, window, replay, erased subject or row-by-row
   * retry. A cursor's filter and watermark the load applies itself. `SLUICE_HANDOFF=off` keeps every file on the engine's path (the benches
   * measure both).
   */
  private handsOff(): boolean {
    const { task, stream } = this;
    return !!this.load?.ingests?.(this.deps.source.type) && !this.chain && !this.quality && !this.children && !this.isolate
      && !task.window && !task.replay && !stream.contract && stream.lookback === undefined && !this.screen
      && process.env.SLUICE_HANDOFF !== 'off';
  }

  /**
   * A file offered whole: the columns its head introduces are added and the destination evolved as for a first batch,
   * then the load reads the file itself. Declined, the source parses the file as usual.
   */
  private async takeFile(file: FileHandOff): Promise<void> {
    const { load, tracker, counts, gate, stream } = this;
    // A whole file is no unit to begin while stopping: declined, the loop stops at the checkpoint it is at.
    if (!load?.ingest || this.deps.ctx.drain?.aborted) return;
    // Declining rolls the load back to its last commit: what is written must be committed first.
    if (this.sinceCommit > 0 && this.pending) await this.checkpoint(this.pending, true);
    await this.committing;
    await this.evolve(tracker.addColumnsOf(file.columns, file.head));
    if (tracker.columns.length === 0) return;
    const cursor = stream.cursor === undefined ? undefined : { column: stream.cursor, from: this.cursorFrom };
    const took = await this.clock.time('load', () => load.ingest!(file, tracker.schema, cursor));
    if (took === undefined) return;
    file.taken = took.loaded + took.filtered;
    counts.extracted += took.loaded + took.filtered;
    counts.loaded += took.loaded;
    counts.filtered += took.filtered;
    this.sinceCommit += took.loaded;
    if (took.maxCursor !== undefined) {
      gate.bind(tracker.columns);
      gate.advance(took.maxCursor);
    }
    this.deps.onProgress?.(this.stream.name, counts);
  }

  /** Where rows start counting as new: the stored watermark, or `lookback` behind it. */
  private lookback(watermark: string | number | null): string | number | null {
    const { stream } = this;
    if (stream.lookback === undefined || watermark === null) return watermark;
    const from = behind(watermark, stream.lookback);
    if (from instanceof Error) throw new RunError(`stream ${stream.name}: ${from.message}`, stream.name);
    this.deps.ctx.logger.info({ stream: stream.name, watermark, from }, 'lookback: reading again from behind the watermark');
    return from;
  }

  /** Batches until the source ends or a drain stops the stream at a checkpoint. */
  async pump(): Promise<void> {
    const { ctx } = this.deps;
    const { stream, chain, counts, clock } = this;
    const batches = this.batches!;
    // True while everything written is covered by the checkpoint in `pending`: only there may a drain stop early.
    let atCheckpoint = true;
    // A streaming source (its batches flush) ends its own iteration on a drain, after the records in flight.
    let streaming = false;
    while (true) {
      if (ctx.signal.aborted) throw new RunError(`stream ${stream.name}: cancelled`, stream.name);
      if (ctx.drain?.aborted && !streaming) {
        // A replace publishes only whole tables; stopping it early can only mean leaving the target as it was.
        if (this.disposition === 'replace') throw new RunError(`stream ${stream.name}: stopped before the replace completed; the target is unchanged`, stream.name);
        if (atCheckpoint) {
          ctx.logger.info({ stream: stream.name, loaded: counts.loaded }, 'stopped at a checkpoint; the next run resumes from it');
          // Let the source release what it holds (its `finally` blocks run).
          await batches.return?.(undefined);
          return;
        }
      }
      this.failedPhase = 'extract';
      const next: IteratorResult<Batch> = await clock.time('extract', () => batches.next());
      if (next.done && !chain?.holding) return;
      let read: Batch | undefined = next.done ? undefined : next.value;
      if (read?.handOff) {
        this.failedPhase = 'load';
        await this.takeFile(read.handOff);
        // A taken file's rows are covered only by the checkpoint the source yields next.
        atCheckpoint = read.handOff.taken === undefined && atCheckpoint;
        continue;
      }
      if (read) counts.extracted += batchLength(read) + (read.rejected?.length ?? 0);
      if (read && this.screen) {
        const screened = this.screen(read);
        read = screened.batch;
        counts.filtered += screened.dropped;
      }
      if (read?.rejected?.length) counts.dead_lettered += await this.dlq.add(read.rejected);
      this.failedPhase = 'transform';
      // At the end of the stream (read undefined) the chain emits what blocking steps (aggregate) held back.
      const batch = chain ? await clock.time('transform', () => chain.apply(read, counts, this.dlq)) : read;
      if (!batch) return;
      this.failedPhase = 'validate';
      const { keep, at } = await this.validate(batch);
      this.failedPhase = 'load';
      await this.write(batch, keep, at);
      atCheckpoint = !!batch.checkpoint;
      streaming ||= !!batch.flush;
      this.streaming ||= streaming;
      if (batch.checkpoint) await this.checkpoint(batch.checkpoint, !!batch.flush);
    }
  }

  /**
   * Schema and coercion, then the row gate and the row checks: the rows to load; the others go to the DLQ. Row by row,
   * also where each row to load sits in the batch (`at`), for the DLQ entries of rows the destination refuses.
   */
  private async validate(batch: Batch): Promise<{ keep: unknown[][]; at?: number[] }> {
    const { tracker, quality, counts, gate } = this;
    const t0 = performance.now();
    // Rows as arrays (a CSV with a header) are read by position; object rows by name.
    const { columns, values } = batch;
    // A source's canonical values are vouched for only as it made them: not after transforms rewrote them.
    const canonical = !this.chain && !!batch.canonical;
    const coerce = columns && values ? () => tracker.coerceValues(columns, values, canonical) : () => tracker.coerce(batch.rows);
    // A batch a blocking step emptied (it holds the rows to the end) brings no columns: the table waits for rows, or
    // for the end of the stream, rather than take the declared columns alone (a primary key may be among the rest).
    if ((values ?? batch.rows).length > 0) await this.evolve(columns && values ? tracker.addColumnsOf(columns, values) : tracker.addColumns(batch.rows));
    let result = coerce();
    while (result.changes.length) {
      // A widened column: evolve the destination, then coerce the whole batch again with the new types.
      await this.evolve(result.changes);
      result = coerce();
    }
    let keep: unknown[][] = [];
    // Where each kept row sits in the batch, for the DLQ entries of rows failing a check.
    const keptAt: number[] | undefined = quality || this.isolate ? [] : undefined;
    const rejects: { index: number; reason: string }[] = [...result.rejected];
    counts.filtered += result.dropped;
    gate.bind(tracker.columns);
    quality?.bind(tracker.columns);
    for (let i = 0; i < result.rows.length; i++) {
      const row = result.rows[i];
      const verdict = gate.check(row);
      if (verdict === PASS) {
        keep.push(row);
        keptAt?.push(result.accepted[i]);
      } else if (verdict === FILTERED) {
        counts.filtered++;
      } else {
        rejects.push({ index: result.accepted[i], reason: verdict });
      }
    }
    let failedChecks: { index: number; reason: string }[] = [];
    if (quality && keep.length) ({ rows: keep, failed: failedChecks } = quality.check(keep, keptAt!));
    if (rejects.length) counts.dead_lettered += await this.deadLetter(batch, 'schema', rejects);
    if (failedChecks.length) counts.dead_lettered += await this.deadLetter(batch, 'check', failedChecks);
    this.clock.add('validate', performance.now() - t0);
    if (!this.isolate) return { keep };
    const failed = new Set(failedChecks.map((f) => f.index));
    return { keep, at: failed.size ? keptAt!.filter((i) => !failed.has(i)) : keptAt };
  }

  private deadLetter(batch: Batch, stage: 'schema' | 'check' | 'load', rows: { index: number; reason: string }[]): Promise<number> {
    return this.dlq.add(rows.map((r) => ({
      stage, reason: r.reason, raw: rowJson(rowAt(batch, r.index)), position: batch.positionOf?.(r.index) ?? {},
    })));
  }

  private async write(batch: Batch, keep: unknown[][], at: number[] | undefined): Promise<void> {
    const { load, children, counts, clock } = this;
    const refused = load && keep.length ? await clock.time('load', () => load.write(keep)) : undefined;
    if (children) await clock.time('load', () => children.write(this.chain!.takeChildren()));
    const loaded = keep.length - (refused ? refused.length : 0);
    if (refused?.length) counts.dead_lettered += await this.deadLetter(batch, 'load', refused.map((r) => ({ index: at![r.index], reason: r.reason })));
    counts.loaded += loaded;
    this.sinceCommit += loaded;
    this.deps.onProgress?.(this.stream.name, counts);
  }

  /**
   * A batch reached a checkpoint: commit rows and state once enough rows are written (or the source flushes). A gated
   * stream commits once, after its gates: nothing may become visible before they pass.
   */
  private async checkpoint(checkpoint: StreamState, flush: boolean): Promise<void> {
    this.pending = checkpoint;
    const { load, counts } = this;
    if (!load || this.quality?.gated || (this.sinceCommit < this.checkpointAt() && !flush)) return;
    await this.children?.commit();
    // One checkpoint in flight at most: a load that pipelines commits applies them in order.
    await this.committing;
    const loaded = counts.loaded;
    const snapshot = { ...counts };
    const steps = this.chain?.stepCounts();
    const done = this.clock.time(commitPhase(this.disposition), () => load.commit(this.stateFor(this.pending))).then((c) => {
      addCommit(counts, c);
      // A replace publishes nothing before finish().
      if (this.disposition !== 'replace') {
        this.committed = loaded;
        // Commits apply in order: inserted, updated and deleted are now this commit's and those before.
        this.atCommit = { ...snapshot, inserted: counts.inserted, updated: counts.updated, deleted: counts.deleted };
        this.stepsAtCommit = steps;
      }
      this.deps.ctx.logger.debug({ stream: this.stream.name, loaded }, 'checkpoint committed');
    });
    if (load.pipelinesCommits) {
      // Awaited before the next commit (or the end); a failure meanwhile also surfaces in write().
      done.catch(() => undefined);
      this.committing = done;
    } else {
      await done;
    }
    this.sinceCommit = 0;
    this.commits++;
  }

  /**
   * Rows before the next commit. A load that pipelines commits ramps up to `checkpoint_rows` (1/8, 1/4, 1/2, then
   * all of it): the server starts applying a small first checkpoint while the engine reads the next, rather than
   * idling through a whole checkpoint's worth of parsing.
   */
  private checkpointAt(): number {
    const rows = this.task.checkpointRows;
    return this.load?.pipelinesCommits ? Math.ceil(rows / 2 ** Math.max(0, 3 - this.commits)) : rows;
  }

  /** The last commit in flight, the dataset gates, then the last commit (a replace swaps its table in here). */
  async finish(): Promise<void> {
    const commit = commitPhase(this.disposition);
    this.failedPhase = commit;
    await this.committing;
    if (this.quality) {
      this.failedPhase = 'validate';
      this.report = await this.clock.time('validate', () => this.quality!.finish(this.counts.loaded));
      if (this.report.blocked) {
        const kept = await this.load?.abort({ keepStaging: true });
        this.load = undefined;
        // A blocked stream reports what passed its row checks as loaded (staged, kept for inspection where the
        // destination can), so its counts add up; the error says nothing was made visible.
        this.committed = this.counts.loaded;
        throw new RunError(`stream ${this.stream.name}: load blocked by ${this.report.blocked}; nothing of this run was made visible`
          + (kept?.kept ? `; staging kept in ${kept.kept}` : ''), this.stream.name);
      }
    }
    this.failedPhase = commit;
    const load = this.load;
    if (load) {
      await this.evolve([]);
      await this.children?.finish();
      addCommit(this.counts, await this.clock.time(commit, () => load.finish(this.stateFor(this.pending))));
      this.load = undefined;
    }
  }

  /** Roll back what is not committed and let the source go. */
  async fail(e: unknown): Promise<void> {
    // Masked once here: the phase and stream records, the summary and the log line all carry this text.
    this.error = redact(errorMessage(e));
    await this.children?.abort();
    if (this.load) await this.load.abort();
    // Counts never claim rows that did not land: what was written since the last commit rolled back (a failed replace
    // made nothing visible). A failed stream's `extracted` still counts what was read.
    if (!this.task.dryRun) this.counts.loaded = this.committed;
    // Let the source release what it holds (a pooled connection, an open file): a generator left suspended
    // would keep it forever, and closing the source would wait on it.
    await this.batches?.return?.().catch(() => undefined);
    this.deps.ctx.logger.error({ stream: this.stream.name, err: this.error }, 'stream failed');
  }

  /** Phases, transform steps, counts and the quality report to the ledger; the task's result. */
  async record(): Promise<StreamResult> {
    const { task, stream, counts, error, report, chain } = this;
    const { store } = this.deps;
    const status: Status = error ? 'failed' : counts.dead_lettered > 0 || report?.warnings?.length ? 'partial_success' : 'success';
    const timed = this.clock.summary(error ? this.failedPhase : undefined);
    for (const p of timed) {
      await store.recordPhase({
        runId: task.runId, stream: stream.name, phase: p.phase, status: p.status, durationMs: p.duration_ms,
        ...(p.started_at ? { startedAt: p.started_at, endedAt: p.ended_at } : {}), error: p.status === 'failed' ? error : undefined,
      });
    }
    const phases = timed.map(({ phase, status, duration_ms }) => ({ phase, status, duration_ms }));
    const steps = chain?.stepCounts();
    if (steps) await store.recordSteps(task.runId, stream.name, steps);
    await store.recordStream({ runId: task.runId, stream: stream.name, status, counts, error });
    if (report) await store.recordQuality({ runId: task.runId, pipeline: task.pipeline, stream: stream.name, report });
    return { stream: stream.name, status, counts, phases, ...(steps ? { steps } : {}), error, ...(report ? { quality: report } : {}) };
  }

  /** Record schema changes, and evolve the destination when its columns changed. */
  private async evolve(changes: SchemaChange[]): Promise<void> {
    const { task, stream, tracker, load } = this;
    const { store, ctx } = this.deps;
    for (const c of changes) {
      await store.recordSchemaChange({ runId: task.runId, stream: stream.name, change: c.change, column: c.column, from: c.from, to: c.to });
    }
    if (changes.length) {
      ctx.logger.info({ stream: stream.name, changes: changes.map((c) => `${c.change} ${c.column}${c.from ? ` ${c.from}→` : ' '}${c.to}`) }, 'schema changed');
    }
    const grew = changes.some((c) => c.change === 'add_column' || c.change === 'widen_column') || this.evolvedWidth !== tracker.columns.length;
    if (load && grew && tracker.columns.length) {
      await this.clock.time('load', () => load.evolve(tracker.schema));
      this.evolvedWidth = tracker.columns.length;
      this.gate.rebind();
    }
  }

  /** The state committed with the rows: the source's checkpoint, the schema, and the cursor watermark. */
  private stateFor(checkpoint: StreamState | undefined): StreamState {
    const { stream } = this;
    // A backfill window commits its rows with the stream's state as it was (the schema may have grown).
    if (this.task.window) return { ...(this.stored ?? {}), version: 1, schema: this.tracker.schema };
    const seen = this.gate.seenRows();
    return {
      ...(checkpoint ?? this.stored ?? { version: 1 }),
      version: 1,
      schema: this.tracker.schema,
      ...(stream.cursor ? { cursor: { column: stream.cursor, value: cursorForState(this.gate.maxCursor) } } : {}),
      ...(seen ? { seen } : {}),
      run: this.runAtCommit(),
    };
  }

  /**
   * The run's counts as of the commit being made. How it splits into inserted and updated is known only once it is
   * made, so those are carried as of the commit before (an append inserts what it loads: there they are exact).
   */
  private runAtCommit(): NonNullable<StreamState['run']> {
    const { counts, atCommit } = this;
    const carried = this.disposition === 'append'
      ? { ...counts, inserted: atCommit.inserted + counts.loaded - atCommit.loaded }
      : { ...counts, inserted: atCommit.inserted, updated: atCommit.updated, deleted: atCommit.deleted };
    const steps = this.chain?.stepCounts();
    return { id: this.task.runId, counts: carried, ...(steps ? { steps } : {}) };
  }
}

/**
 * The smallest file offered to the load's own reader. Each one read that way commits on its own (a value it declines
 * aborts the transaction), where the engine's path commits many small files together; below about a megabyte the
 * commit costs more than the faster read saves. SLUICE_HANDOFF_MIN_BYTES sets it (tests offer every file).
 */
const handOffMinBytes = (): number => {
  const set = Number(process.env.SLUICE_HANDOFF_MIN_BYTES);
  return Number.isFinite(set) && set >= 0 && process.env.SLUICE_HANDOFF_MIN_BYTES !== '' ? set : 1024 * 1024;
};

const commitPhase = (disposition: string): Phase => (disposition === 'append' ? 'load' : 'merge');

function addCommit(counts: StreamCounts, c: { inserted: number; updated: number; deleted: number }): void {
  counts.inserted += c.inserted;
  counts.updated += c.updated;
  counts.deleted += c.deleted;
}

const cursorForState = (v: unknown): string | number | null =>
  v === null || v === undefined ? null : typeof v === 'number' ? v : String(v);

