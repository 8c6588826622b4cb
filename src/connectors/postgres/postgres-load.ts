// One stream's load into PostgreSQL on one pooled connection. A transaction is open from begin to finish; each
// commit() ends it with the state row and opens the next. Rows travel by one `COPY … FROM STDIN` kept open across
// write() calls, so the server ingests while the engine parses the next batch; it is ended before any other
// statement (evolve, commit) and destroyed (CopyFail) on abort.
//
//   append   rows → target, in the open transaction; with `replaceGroups` (child tables) rows → TEMP staging with a
//            sequence, commit = the target's rows of every staged group deleted, the staged rows inserted
//            (../sql/replace-groups.ts), state written, all in one transaction
//   merge    rows → TEMP staging with a sequence; commit = last row per key upserted (MERGE on PostgreSQL 15+ when
//            the keys do not repeat, ON CONFLICT otherwise), marked rows deleted, state written, all in one transaction
//   replace  rows → <table>__sluice_replace; finish = drop target + rename staging + state, atomically
//   scd2     rows → TEMP staging; commit = close the current version of changed (or delete-marked) keys, insert new
//            versions with valid_from = now(), unchanged rows untouched (a hash of the tracked columns decides)
//   staged   (dataset gates) rows → <table>__sluice_staged, a real table; only finish touches the target, so a
//            blocked load changes nothing and may leave its staging for inspection
//
// Checkpoints of append, merge and scd2 are pipelined (`pipelinesCommits`): commit() ends the COPY and hands the
// server the upsert (if any), the state row and COMMIT; the engine goes on writing without waiting for it, so while
// the server applies checkpoint N the engine parses checkpoint N+1, whose encoded rows wait in memory (queueBytes)
// until the connection is free. Each checkpoint still commits with its own state, in order, on the one connection,
// and its commit() resolves when it is durable. A crash while one is applied loses only that checkpoint, which the
// next run re-reads. Even an append's checkpoint waits for the server to take in the COPY it has been sent: 10–90
// ms per 100k rows, measured, which the engine had spent idle (pipelined, a 1M-row append ran about 5% faster).
//
// Rows go in COPY's binary format (postgres-binary.ts) whenever the table written (staging, or a straight append's
// target) has the logical types' PostgreSQL types, or narrower ones whose binary input reads the same send format
// (smallint, varchar(n), timestamp without zone: an existing table); else in text, which the server converts. Binary spares
// the server its parsing, which in a staging table without indexes is its whole work per row, and costs the engine
// no more than text does (~0.6 µs per row of the bench's 8 columns either way). On a machine whose cores the engine
// and the server share, what the server saves the load gains: a 1M-row append ran 7–20% faster than in text.
import type pg from 'pg';
import type { CommitCounts, LoadTarget, RefusedRow, StreamLoad } from '../../core/connector.js';
import { deleteMarkedSql } from '../../core/delete-marker.js';
import { RowValueError, RunError, errorMessage, refusedOr } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { type Schema, type StreamState, typedColumn } from '../../core/types.js';
import { quoteIdent } from '../sql/quote.js';
import { CopyWriter, encodeRows, encoderFor } from './postgres-copy.js';
import { type BinaryEncoder, binaryEncoderInto, binaryHeader, binaryTrailer, encodeBinaryRows } from './postgres-binary.js';
import type { Encoder } from './postgres-copy.js';
import { pgError, refusedValue } from './postgres-connection.js';
import { derivedName, describeTable, ensureTable, fitIdent, hasUniqueKey, pgColumnLimit, qualified } from './postgres-ddl.js';
import { limitRefusal } from '../sql/column-limits.js';
import type { EnsureOptions, TableColumn, TableRef, WantedColumn } from './postgres-ddl.js';
import { insertState, loadName, maxStateVersion } from './postgres-state.js';
import { KeyTracker } from '../sql/key-tracker.js';
import { ensurePartitions, partitionClause } from './postgres-partitions.js';
import type { PartitionSpec } from './postgres-partitions.js';
import { SEARCH_COLUMN, ensureSearch } from './postgres-search.js';
import type { SearchSpec } from './postgres-search.js';
import { SCD2_COLUMNS, applyScd2, scd2ColumnDefs } from '../sql/scd2.js';
import { applyGroupReplace } from '../sql/replace-groups.js';
import type { Refusal } from '../../core/values/refusals.js';

const SEQ_COLUMN = '_sluice_seq';
/**
 * Bytes of COPY data the engine may get ahead of a checkpoint being applied: a merge's upsert takes a while, and
 * 16 MB holds a whole 100k-row checkpoint of the bench's rows, so the engine never waits on one and the server finds
 * the next one ready (8 MB filled up at every checkpoint of a 1M-row merge, the engine waiting 2.1–3.3 s in all;
 * with 16 MB the merge ran faster in 6 of 6 alternated pairs, by 2.5–42%, median 4%; peak RSS 134 → 141 MB). An
 * append's checkpoint is only the COPY's end and a COMMIT, which 2 MB of rows (about 17k) covers.
 */
const QUEUE_BYTES = { append: 2 << 20, other: 16 << 20 };
/**
 * A checkpoint's upsert is costed past jit_above_cost (100k staged rows into a 1M-row table: ~113k), and compiling it
 * costs more than it saves on a statement run once: measured, MERGE of 100k rows into 1M took 172–178 ms with JIT and
 * 143–148 ms without, every checkpoint.
 */
const NO_JIT = 'SET LOCAL jit = off';
const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };
const plus = (a: CommitCounts, b: CommitCounts): CommitCounts =>
  ({ inserted: a.inserted + b.inserted, updated: a.updated + b.updated, deleted: a.deleted + b.deleted });

/**
 * The binary encoder of each column when rows can go into `table` in COPY's binary format: every column has its
 * logical type's PostgreSQL type, or one whose binary input reads that type's send format (postgres-binary.ts's
 * binaryEncoderInto); else undefined, and rows go as text (a widened column, an enum, a domain, an array).
 */
function binaryEncoders(columns: readonly WantedColumn[], table: readonly TableColumn[]): BinaryEncoder[] | undefined {
  const typeOf = new Map(table.map((c) => [c.name, c.typname]));
  const encoders = columns.map((c) => binaryEncoderInto(c.type, typeOf.get(c.name)));
  return encoders.every((e) => e !== undefined) ? encoders as BinaryEncoder[] : undefined;
}

interface Staged {
  rows: number;
  mayRepeat: boolean;
}

export interface PostgresLoadOptions {
  client: pg.PoolClient;
  schema: string;
  target: LoadTarget;
  logger: Logger;
  /** Runs after the final commit: refreshes materialized views, post-load SQL. */
  publish: (client: pg.PoolClient) => Promise<void>;
  /** The target is partitioned: rows are staged, and the partitions they need are created before they move in. */
  partition?: PartitionSpec;
  /** The target gets a search column and index (postgres-search.ts) in the transaction of its last rows. */
  search?: SearchSpec;
  /** How a replace publishes: `swap` renames a new table in; `truncate` empties and refills the existing one. */
  replaceStrategy?: 'swap' | 'truncate';
  onDone: () => void;
}

export class PostgresStreamLoad implements StreamLoad {
  private readonly client: pg.PoolClient;
  private readonly target: LoadTarget;
  private readonly targetRef: TableRef;
  /** Where write() puts rows: the target (append) or a staging table. */
  private readonly writeRef: TableRef;
  private readonly primaryKey: string[];
  private readonly deleteColumn: string | undefined;
  /** Append by replacing groups (`LoadTarget.replaceGroups`): the column naming a row's group. */
  private readonly groupColumn: string | undefined;
  private columns: WantedColumn[] = [];
  private encoders: Encoder[] = [];
  private binaryEncoders: BinaryEncoder[] = [];
  /** Merge through MERGE (see mergeStaged): PostgreSQL 15 or later, and a target that is not partitioned. */
  private mergeStatement = false;
  /**
   * Rows travel in COPY's binary format (postgres-binary.ts): they go into staging whose columns have exactly their
   * logical types' PostgreSQL types, all with a binary encoder, so every value's send format is known and the server
   * parses nothing (see evolve).
   */
  private binary = false;
  /** What each target column refuses, as the table declares it (column-limits.ts). */
  private limits = new Map<string, Refusal | undefined>();
  /** Target columns (quoted) of an enum or domain type, and that type: staged values are cast to it (see staged()). */
  private castTo = new Map<string, string>();
  private copySql: string | undefined;
  /** Merge only: whether this checkpoint's staged rows repeat a key (then the upsert must pick the last one). */
  private keys: KeyTracker | undefined;
  private copy: CopyWriter | undefined;
  /** A checkpoint the server is applying (pipelined merge/scd2); settle() waits for it. */
  private applying: Promise<CommitCounts> | undefined;
  /** `applying` is done: the connection is free for the queued rows. */
  private applied = false;
  /**
   * COPY text written while a checkpoint is applied, sent once the connection is free. A buffer handed to the COPY
   * is never written again (the socket may still hold it): the next queue is a new one.
   */
  private queue: Buffer | undefined;
  /** Queue buffers handed to the open COPY, and one whose COPY has ended, free for the next queue. */
  private sentQueues: Buffer[] = [];
  private freeQueue: Buffer | undefined;
  private queued = 0;
  /** Row by row, what write() applied since the last commit (the commit reports it). */
  private early: CommitCounts = ZERO;
  private inTransaction = false;
  /** The newest state version this load knows: its commits insert the next ones (insertState's fence). */
  private stateVersion = 0;
  private sinceCommit = 0;
  private totalRows = 0;
  private seq = 0;
  private broken = false;
  private done = false;

  constructor(private readonly opts: PostgresLoadOptions) {
    this.client = opts.client;
    this.target = opts.target;
    const table = fitIdent(opts.target.table);
    this.targetRef = { schema: opts.schema, table };
    this.primaryKey = opts.target.primaryKey.map(fitIdent);
    this.deleteColumn = opts.target.deleteColumn === undefined ? undefined : fitIdent(opts.target.deleteColumn);
    this.groupColumn = opts.target.replaceGroups === undefined ? undefined : fitIdent(opts.target.replaceGroups);
    const d = opts.target.disposition;
    this.writeRef = d === 'replace' ? { schema: opts.schema, table: derivedName(table, '__sluice_replace') }
      : opts.target.staged ? { schema: opts.schema, table: derivedName(table, '__sluice_staged') }
        : d === 'append' && !opts.partition && this.groupColumn === undefined ? this.targetRef
          : { schema: 'pg_temp', table: derivedName(table, '__sluice_stage') };
  }

  /** A partitioned target keeps its table (and partitions): a replace refills it instead of swapping. */
  private get truncates(): boolean {
    return this.opts.replaceStrategy === 'truncate' || !!this.opts.partition;
  }

  /** Rows reach the target only in finish(): a replace, or a load whose dataset gates must pass first. */
  private get stagedOnly(): boolean {
    return this.target.disposition === 'replace' || !!this.target.staged;
  }

  async start(): Promise<void> {
    if ((this.target.disposition === 'merge' || this.target.disposition === 'scd2') && this.primaryKey.length === 0) {
      throw new RunError(`stream ${this.target.stream}: write: ${this.target.disposition} needs a primary_key`, this.target.stream);
    }
    if (this.groupColumn !== undefined && this.target.disposition !== 'append') {
      throw new RunError(`stream ${this.target.stream}: replacing groups is an append; got write: ${this.target.disposition}`, this.target.stream);
    }
    if (this.target.disposition === 'merge' && !this.opts.partition) {
      const r = await this.client.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
      this.mergeStatement = r.rows[0].v >= 150000;
    }
    // A staging table left by a crashed run holds rows nobody committed.
    if (this.writeRef !== this.targetRef) await this.sql(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`, 'dropping a stale staging table');
    if (!this.target.leavesState) {
      this.stateVersion = await this.step('reading the state version', () => maxStateVersion(this.client, this.opts.schema, this.target.pipeline, this.target.stream));
    }
    await this.beginTx();
  }

  async evolve(schema: Schema): Promise<void> {
    await this.settle();
    await this.endCopy();
    this.columns = schema.columns.map((c) => typedColumn(c, fitIdent(c.target ?? c.name)));
    const d = this.target.disposition;
    const missingKey = this.primaryKey.find((k) => !this.columns.some((c) => c.name === k));
    if (missingKey !== undefined) {
      throw new RunError(`stream ${this.target.stream}: primary key column "${missingKey}" is not in the schema`, this.target.stream);
    }
    if (this.groupColumn !== undefined && !this.columns.some((c) => c.name === this.groupColumn)) {
      throw new RunError(`stream ${this.target.stream}: group column "${this.groupColumn}" is not in the schema`, this.target.stream);
    }
    const clash = d === 'scd2' ? this.columns.find((c) => (SCD2_COLUMNS as readonly string[]).includes(c.name)) : undefined;
    if (clash) throw new RunError(`stream ${this.target.stream}: column "${clash.name}" is reserved by write: scd2 (${SCD2_COLUMNS.join(', ')}); rename it`, this.target.stream);
    await this.step('evolving the tables', async () => {
      const target = this.target.staged ? undefined : await this.ensureTarget();
      // Rows end in the existing table (not in a new one swapped in): its declared types are limits.
      const fills = this.target.disposition !== 'replace' || this.truncates;
      this.limits = new Map((fills ? target ?? [] : []).map((c) => [c.name, limitRefusal(`PostgreSQL's ${c.declared}`, pgColumnLimit(c.declared))]));
      // Staged text does not convert to an enum (nor compare with one) without a cast; a domain's checks run on the cast.
      this.castTo = new Map((target ?? []).filter((c) => c.typtype === 'e' || c.typtype === 'd').map((c) => [quoteIdent(c.name), c.declared]));
      // Rows go straight into the target (append), or wait in a staging table until they move in: the merge's or
      // scd2's (TEMP, with the sequence the upsert dedupes by), a replace's new table, a gated load's, or an append's
      // that is partitioned or replaces groups.
      if (this.writeRef === this.targetRef) {
        this.binary = this.useBinary(binaryEncoders(this.columns, target!));
        return;
      }
      // A replace builds its primary key after the load, in one pass, rather than maintaining it row by row; the
      // sequence lets the swap keep the last row written per key, as it lets a merge upsert the last one.
      const staging = await ensureTable(this.client, this.writeRef, this.columns, {
        temp: this.writeRef.schema === 'pg_temp', ...(this.sequenced ? { extra: [`${quoteIdent(SEQ_COLUMN)} bigint`] } : {}),
      });
      // Staging has no index: parsing is all the server does per row, and binary spares it that. It needs each column
      // to be exactly its logical type's (a widened one may not be: int8 takes doubles as numeric); else text.
      this.binary = this.useBinary(binaryEncoders(this.columns, staging));
    });
    const names = this.columns.map((c) => quoteIdent(c.name));
    if (this.sequenced) names.push(quoteIdent(SEQ_COLUMN));
    this.copySql = `COPY ${qualified(this.writeRef)} (${names.join(', ')}) FROM STDIN${this.binary ? ' (FORMAT binary)' : ''}`;
    this.encoders = this.columns.map((c) => encoderFor(c.type));
    if (d === 'merge') this.keys = new KeyTracker(this.primaryKey.map((k) => this.columns.findIndex((c) => c.name === k)));
  }

  /** Rows go in binary with these encoders, if any. */
  private useBinary(encoders: BinaryEncoder[] | undefined): boolean {
    this.binaryEncoders = encoders ?? [];
    return encoders !== undefined;
  }

  /** Create or evolve the target itself (a staged load does this only in finish, so a blocked one changes nothing). */
  private async ensureTarget(): Promise<TableColumn[]> {
    const d = this.target.disposition;
    // The delete marker steers the merge; it is not a column of the target.
    const targetColumns = this.columns.filter((c) => c.name !== this.deleteColumn);
    const part = this.opts.partition;
    const partitionBy = part ? partitionClause(part) : undefined;
    if (part && !this.columns.some((c) => c.name === part.column)) {
      throw new RunError(`stream ${this.target.stream}: partition column "${part.column}" is not in the schema`, this.target.stream);
    }
    if (part && this.primaryKey.length && d !== 'append' && !this.primaryKey.includes(part.column)) {
      throw new RunError(`stream ${this.target.stream}: a partitioned table's primary key must include its partition column "${part.column}" `
        + '(PostgreSQL enforces keys per partition); add it to primary_key', this.target.stream);
    }
    const ensure = (columns: readonly WantedColumn[], opts: EnsureOptions = {}) => ensureTable(this.client, this.targetRef, columns, {
      ...opts, partitionBy, regenerated: this.opts.search ? SEARCH_COLUMN : undefined,
    });
    if (d === 'append') {
      // No key constraint: append adds rows as they come (duplicates in the source are the source's), like
      // Airbyte's and dlt's append; merge and replace are where keys are unique.
      const table = await ensure(this.groupColumn === undefined ? this.columns : targetColumns);
      if (this.groupColumn !== undefined) {
        // Every commit deletes by group: without an index that is a scan of the whole (child) table each time.
        await this.client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(derivedName(this.targetRef.table, '_sluice_group_idx'))}
          ON ${qualified(this.targetRef)} (${quoteIdent(this.groupColumn)})`);
      }
      return table;
    }
    if (d === 'replace') return ensure(targetColumns, { primaryKey: this.primaryKey });
    if (d === 'merge') {
      const table = await ensure(targetColumns, { primaryKey: this.primaryKey });
      if (!(await hasUniqueKey(this.client, this.targetRef, this.primaryKey))) {
        throw new RunError(`stream ${this.target.stream}: write: merge needs a primary key or unique index on `
          + `(${this.primaryKey.join(', ')}) in ${qualified(this.targetRef)}; add one, or load with --full-refresh to recreate the table`,
        this.target.stream);
      }
      return table;
    }
    // scd2.
    const table = await ensure(targetColumns, { extra: scd2ColumnDefs('timestamptz') });
    // One current version per key, enforced, and the index the change detection joins on.
    await this.client.query(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(derivedName(this.targetRef.table, '_current'))}
      ON ${qualified(this.targetRef)} (${this.primaryKey.map((k) => quoteIdent(k)).join(', ')}) WHERE is_current`);
    return table;
  }

  refuses(column: string): Refusal | undefined {
    return this.limits.get(column);
  }

  async write(rows: unknown[][]): Promise<void | RefusedRow[]> {
    if (!this.copySql) throw new RunError(`stream ${this.target.stream}: write() before evolve()`, this.target.stream);
    if (rows.length === 0) return;
    if (this.target.isolateRows) return this.writeIsolated(rows);
    await this.writeRows(rows);
  }

  /** Staged loads (replace, gated) apply everything in finish(): their rows cannot be tried one batch at a time. */
  get isolates(): boolean {
    return !this.stagedOnly;
  }

  /**
   * Row by row (LoadTarget.isolateRows): the rows go in and are applied to the target at once, under a savepoint.
   * When the server refuses a value, the savepoint is rolled back and the rows are tried again in halves, down to the
   * rows it refuses, which are returned. A batch without a bad row costs one COPY and one apply; a bad row about
   * 2·log2(rows) more.
   */
  private async writeIsolated(rows: unknown[][]): Promise<RefusedRow[]> {
    const refused: RefusedRow[] = [];
    const attempt = async (from: number, to: number): Promise<void> => {
      await this.sql('SAVEPOINT sluice_rows', 'setting a savepoint');
      try {
        await this.writeRows(from === 0 && to === rows.length ? rows : rows.slice(from, to));
        await this.endCopy();
        this.early = plus(this.early, await this.apply(this.takeStaged()));
        await this.sql('RELEASE SAVEPOINT sluice_rows', 'releasing a savepoint');
      } catch (e) {
        if (!(e instanceof RowValueError)) throw e;
        await this.copy?.destroy();
        this.copy = undefined;
        this.takeStaged();
        await this.sql('ROLLBACK TO SAVEPOINT sluice_rows', 'rolling back to a savepoint');
        if (to - from === 1) {
          refused.push({ index: from, reason: e.reason });
          return;
        }
        const mid = (from + to) >>> 1;
        await attempt(from, mid);
        await attempt(mid, to);
      }
    };
    await attempt(0, rows.length);
    return refused;
  }

  /** Encode rows and send them on the COPY (or queue them behind a checkpoint being applied). */
  private async writeRows(rows: unknown[][]): Promise<void> {
    // While the connection applies the last checkpoint the engine parses ahead, as far as the queue holds; once it
    // is applied, what was queued goes out and rows stream again. Chunks that do not fit wait behind the queue.
    const queueing = this.applying !== undefined && !this.applied;
    const chunks: (string | Buffer)[] = [];
    const take = (c: string | Buffer, view: boolean): void => {
      if (queueing && chunks.length === 0 && this.enqueue(c)) return;
      // A binary chunk is a view of the encoder's scratch buffer, valid only now.
      chunks.push(view ? Buffer.from(c as Buffer) : c);
    };
    try {
      this.seq = this.binary
        ? encodeBinaryRows(rows, this.binaryEncoders, (c) => take(c, true), this.sequenced ? this.seq : undefined)
        : encodeRows(rows, this.encoders, (c) => take(c, false), this.sequenced ? this.seq : undefined);
    } catch (e) {
      throw new RunError(`stream ${this.target.stream}: a row for ${qualified(this.writeRef)} cannot be encoded: ${errorMessage(e)}`, this.target.stream, { cause: e });
    }
    if (chunks.length > 0) {
      await this.settle();
      await this.send(chunks);
    }
    this.keys?.add(rows);
    this.sinceCommit += rows.length;
    this.totalRows += rows.length;
  }

  commit(state: StreamState): Promise<CommitCounts> {
    if (!this.pipelinesCommits) return this.commitNow(state);
    // Taken now, before any await: what was written until this call is this checkpoint (its rows still queued
    // behind the previous one included); every write() from here on queues for the next.
    const previous = this.applying;
    const staged = this.takeStaged();
    const carried = this.queued ? this.takeQueue() : undefined;
    this.applied = false;
    const applying = (async () => {
      await previous;
      if (carried) await this.send([carried]);
      const counts = await this.checkpoint(state, staged);
      await this.beginTx();
      this.applied = true;
      return counts;
    })();
    // The caller also sees its failure; a write() meanwhile sees it through settle().
    applying.catch(() => undefined);
    this.applying = applying;
    return applying;
  }

  private async commitNow(state: StreamState): Promise<CommitCounts> {
    const counts = await this.checkpoint(state);
    await this.beginTx();
    return counts;
  }

  /** Append, merge and scd2 checkpoints are applied while the engine writes on (see the header); not row by row. */
  get pipelinesCommits(): boolean {
    return !this.stagedOnly && !this.target.isolateRows;
  }

  private get queueBytes(): number {
    return this.target.disposition === 'append' ? QUEUE_BYTES.append : QUEUE_BYTES.other;
  }

  /** Wait for the checkpoint being applied (rethrowing its failure), then send the COPY text queued meanwhile. */
  private async settle(): Promise<void> {
    const applying = this.applying;
    if (!applying) return;
    this.applying = undefined;
    await applying;
    if (!this.queued) return;
    await this.send([this.takeQueue()]);
  }

  /**
   * The queued bytes, to be sent; the queue buffer goes with them, and serves again once the COPY that sent it has
   * ended (endCopy). A new queue buffer (16 MB for a merge) per checkpoint instead would pile up until a full garbage
   * collection.
   */
  private takeQueue(): Buffer {
    const queue = this.queue!;
    this.queue = undefined;
    this.sentQueues.push(queue);
    const carried = queue.subarray(0, this.queued);
    this.queued = 0;
    return carried;
  }

  /**
   * Copy encoded chunks into the queue, as bytes (a chunk is a rope of small strings, many of them slices that would
   * keep whole input buffers alive). False, with nothing queued, when they do not all fit.
   */
  private enqueue(c: string | Buffer): boolean {
    if (!this.queue) {
      this.queue = this.freeQueue ?? Buffer.allocUnsafe(this.queueBytes);
      this.freeQueue = undefined;
    }
    const queue = this.queue;
    const free = this.queueBytes - this.queued;
    if (typeof c !== 'string') {
      if (c.length > free) return false;
      this.queued += c.copy(queue, this.queued);
      return true;
    }
    if (c.length * 3 > free && Buffer.byteLength(c) > free) return false;
    this.queued += queue.write(c, this.queued);
    return true;
  }

  /** COPY text into the write table, on the open COPY (started on first use). */
  private async send(chunks: (string | Buffer)[]): Promise<void> {
    if (!chunks.length) return;
    try {
      if (!this.copy) {
        this.copy = new CopyWriter(this.client, this.copySql!);
        if (this.binary) await this.copy.write(binaryHeader());
      }
      for (const c of chunks) await this.copy.write(c);
    } catch (e) {
      throw this.failure(e, `COPY into ${qualified(this.writeRef)} failed`);
    }
  }

  /** On failure the load stays open: the engine's abort() rolls back and drops staging. */
  async finish(state: StreamState): Promise<CommitCounts> {
    await this.settle();
    let counts: CommitCounts;
    if (this.target.disposition === 'replace') {
      await this.endCopy();
      await this.swap(state);
      counts = { ...ZERO, inserted: this.totalRows };
    } else {
      await this.endCopy();
      if (this.target.staged) {
        this.sinceCommit = this.totalRows;
        await this.step('evolving the target', () => this.ensureTarget());
      }
      counts = this.takeEarly(await this.apply(this.takeStaged()));
      if (this.writeRef !== this.targetRef) await this.sql(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`, 'dropping staging');
      await this.step('saving state', () => this.saveState(state));
      await this.searchable();
      await this.commitTx();
    }
    await this.step('publishing', () => this.opts.publish(this.client));
    this.release();
    return counts;
  }

  async abort(opts: { keepStaging?: boolean } = {}): Promise<{ kept?: string } | void> {
    if (this.done) return;
    // A checkpoint being applied finishes (or fails) first: the connection is not free before.
    await this.applying?.catch(() => undefined);
    this.applying = undefined;
    this.queued = 0;
    let kept: string | undefined;
    try {
      if (opts.keepStaging && this.stagedOnly && !this.broken) {
        // Only staging was written in this transaction: committing it keeps the blocked rows for inspection.
        await this.endCopy();
        await this.commitTx();
        kept = qualified(this.writeRef);
      }
    } catch (e) {
      this.opts.logger.warn({ stream: this.target.stream, err: errorMessage(e) }, 'could not keep the staging table');
    }
    try {
      await this.copy?.destroy();
      this.copy = undefined;
      if (this.inTransaction) await this.client.query('ROLLBACK');
      this.inTransaction = false;
      if (this.writeRef !== this.targetRef && !kept) await this.client.query(`DROP TABLE IF EXISTS ${qualified(this.writeRef)}`);
    } catch (e) {
      // The connection may be gone; it is discarded rather than returned to the pool.
      this.broken = true;
      this.opts.logger.warn({ stream: this.target.stream, err: errorMessage(e) }, 'postgres rollback or staging cleanup failed');
    }
    this.release();
    return kept ? { kept } : undefined;
  }

  /** End the open COPY (if any): its rows are then in the transaction, and the connection is free for SQL. */
  private async endCopy(): Promise<void> {
    const copy = this.copy;
    if (!copy) return;
    this.copy = undefined;
    try {
      if (this.binary) await copy.write(binaryTrailer());
      await copy.end();
      // Everything this COPY sent has reached the server: a queue buffer it carried may be filled again.
      this.freeQueue ??= this.sentQueues.pop();
      this.sentQueues = [];
    } catch (e) {
      throw this.failure(e, `COPY into ${qualified(this.writeRef)} failed`);
    }
  }

  /** `counts` and what write() applied row by row since the last commit. */
  private takeEarly(counts: CommitCounts): CommitCounts {
    const all = plus(this.early, counts);
    this.early = ZERO;
    return all;
  }

  /** What a commit applies: the rows written since the last one, and whether their keys may repeat. */
  private takeStaged(): Staged {
    const staged = { rows: this.sinceCommit, mayRepeat: this.keys?.mayRepeat ?? true };
    this.sinceCommit = 0;
    this.keys?.reset();
    return staged;
  }

  /** Rows since the last commit and `state`, committed together; leaves no transaction open. */
  private async checkpoint(state: StreamState, taken?: Staged): Promise<CommitCounts> {
    // A staged load (replace, or gated) commits staged rows — durable, so one huge transaction never builds up —
    // but no state: nothing is visible before finish, and a crash restarts the load.
    if (this.stagedOnly) {
      await this.endCopy();
      await this.commitTx();
      return ZERO;
    }
    const staged = taken ?? this.takeStaged();
    await this.endCopy();
    const counts = this.takeEarly(await this.apply(staged));
    await this.step('saving state', () => this.saveState(state));
    await this.commitTx();
    return counts;
  }

  /** Move what is staged since the last commit into the target (append writes the target directly). */
  private async apply(staged: Staged): Promise<CommitCounts> {
    const n = staged.rows;
    if (n > 0) await this.partitionsFor(this.writeRef);
    switch (this.target.disposition) {
      case 'append':
        if (this.groupColumn !== undefined) return n > 0 ? this.step('replacing groups', () => this.replaceGroups()) : ZERO;
        if (this.writeRef !== this.targetRef && n > 0) {
          const cols = this.columns.map((c) => quoteIdent(c.name));
          await this.sql(`INSERT INTO ${qualified(this.targetRef)} (${cols.join(', ')}) SELECT ${cols.map((c) => this.staged('s', c)).join(', ')}
            FROM ${qualified(this.writeRef)} s`, 'appending staged rows');
          await this.sql(`TRUNCATE ${qualified(this.writeRef)}`, 'emptying staging');
        }
        return { ...ZERO, inserted: n };
      case 'merge':
        return n > 0 ? this.step('merging', () => this.mergeStaged(staged)) : ZERO;
      case 'scd2':
        return n > 0 ? this.step('recording history', () => this.mergeScd2()) : ZERO;
      default:
        return ZERO;
    }
  }

  /**
   * Upsert the staged rows, the last staged row per key winning, and delete keys whose last row carries the delete
   * marker. Unchanged rows are not rewritten (no dead tuples, no WAL). Counts: `inserted`, `updated` = keys that
   * matched (changed or not), `deleted` = rows removed.
   *
   * Staged keys that do not repeat go through MERGE where the server has it (PostgreSQL 15) and the target is not
   * partitioned: it walks the key index once per staged row and touches only rows that change, where ON CONFLICT
   * locks every row it matches, unchanged or not (measured: 140 against 185 ms per 100k staged rows into 1M, 85%
   * unchanged). Otherwise, and when MERGE finds keys repeat after all, ON CONFLICT over the last row per key.
   */
  private async mergeStaged(staged: Staged): Promise<CommitCounts> {
    if (!staged.mayRepeat && this.mergeStatement) {
      await this.client.query('SAVEPOINT sluice_merge');
      try {
        const counts = await this.mergeStatementRun(staged.rows);
        await this.client.query('RELEASE SAVEPOINT sluice_merge');
        await this.client.query(`TRUNCATE ${qualified(this.writeRef)}`);
        return counts;
      } catch (e) {
        // Keys the tracker saw as distinct may still be equal to the database (numeric 1.0 and 1.00): one target row
        // matched twice (21000), or one new key inserted twice (23505).
        const code = (e as { code?: string }).code;
        if (code !== '21000' && code !== '23505') throw e;
        await this.client.query('ROLLBACK TO SAVEPOINT sluice_merge');
      }
    }
    return this.upsertStaged(staged.mayRepeat || this.mergeStatement);
  }

  /**
   * MERGE of the staged rows (each key once). MERGE returns no rows before PostgreSQL 17, so the counts come from the
   * transaction's own tuple statistics, read just before and after.
   */
  private async mergeStatementRun(rows: number): Promise<CommitCounts> {
    const target = qualified(this.targetRef);
    const keys = this.primaryKey.map((k) => quoteIdent(k));
    const cols = this.columns.filter((c) => c.name !== this.deleteColumn).map((c) => quoteIdent(c.name));
    const rest = cols.filter((c) => !keys.includes(c));
    const del = this.marker === undefined ? undefined : deleteMarkedSql(`s.${quoteIdent(this.marker)}::text`);
    const changed = `ROW(${rest.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM ROW(${rest.map((c) => this.staged('s', c)).join(', ')})`;
    const tuples = async () => {
      const r = await this.client.query<{ ins: string; del: string }>(
        'SELECT pg_stat_get_xact_tuples_inserted($1::regclass) AS ins, pg_stat_get_xact_tuples_deleted($1::regclass) AS del', [target]);
      return { inserted: Number(r.rows[0].ins), deleted: Number(r.rows[0].del) };
    };
    const marked = del
      ? Number((await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(this.writeRef)} s WHERE ${del}`)).rows[0].n)
      : 0;
    // An index lookup per staged row: the planner, costing random reads of a table that is in memory, would rather
    // hash the whole target every checkpoint. No JIT (see NO_JIT).
    await this.client.query(`SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; ${NO_JIT}`);
    const before = await tuples();
    await this.client.query(`MERGE INTO ${target} t USING ${qualified(this.writeRef)} s ON ${keys.map((k) => `t.${k} = ${this.staged('s', k)}`).join(' AND ')}
      ${del ? `WHEN MATCHED AND ${del} THEN DELETE` : ''}
      ${rest.length ? `WHEN MATCHED AND ${changed} THEN UPDATE SET ${rest.map((c) => `${c} = ${this.staged('s', c)}`).join(', ')}` : ''}
      WHEN NOT MATCHED ${del ? `AND NOT ${del}` : ''} THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => this.staged('s', c)).join(', ')})`);
    const after = await tuples();
    const inserted = after.inserted - before.inserted;
    return { inserted, updated: rows - marked - inserted, deleted: after.deleted - before.deleted };
  }

  /**
   * ON CONFLICT over the staged rows, or (`mayRepeat`) over the last staged row per key. Counts: `inserted` from
   * RETURNING (xmax = 0 marks a fresh tuple).
   */
  private async upsertStaged(mayRepeat: boolean): Promise<CommitCounts> {
    const target = qualified(this.targetRef);
    const stage = qualified(this.writeRef);
    const keys = this.primaryKey.map((k) => quoteIdent(k));
    const cols = this.columns.filter((c) => c.name !== this.deleteColumn).map((c) => quoteIdent(c.name));
    const rest = cols.filter((c) => !keys.includes(c));
    const del = this.marker === undefined ? undefined : deleteMarkedSql(`src.${quoteIdent(this.marker)}::text`);
    const keep = del ? `WHERE NOT ${del}` : '';
    const onConflict = rest.length === 0 ? 'DO NOTHING'
      : `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
         WHERE ROW(${rest.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM ROW(${rest.map((c) => `EXCLUDED.${c}`).join(', ')})`;
    const deleted = del
      ? `, gone AS (DELETE FROM ${target} t USING src WHERE ${del} AND ${keys.map((k) => `t.${k} = src.${k}`).join(' AND ')} RETURNING 1)`
      : '';
    // A partitioned table cannot return xmax: count the keys it lacks instead (same snapshot as the upsert).
    const partitioned = !!this.opts.partition;
    const insertedSql = partitioned
      ? `(SELECT count(*) FROM src WHERE ${del ? `NOT ${del} AND ` : ''}NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${keys.map((k) => `t.${k} = src.${k}`).join(' AND ')}))`
      : '(SELECT count(*) FROM up WHERE fresh)';
    const lastPerKey = `SELECT DISTINCT ON (${keys.join(', ')}) * FROM ${stage} ORDER BY ${keys.join(', ')}, ${quoteIdent(SEQ_COLUMN)} DESC`;
    // The staged rows as they are are read where they are used (a materialised CTE would copy every row once more,
    // some 5% of the upsert); the sorted last row per key is computed once.
    const upsert = (src: string) => this.client.query<{ upserts: string; inserted: string; deleted: string }>(
      `WITH src AS ${src === lastPerKey ? '' : 'NOT '}MATERIALIZED (
         ${src}
       ), up AS (
         INSERT INTO ${target} AS t (${cols.join(', ')}) SELECT ${cols.map((c) => this.staged('src', c)).join(', ')} FROM src ${keep}
         ON CONFLICT (${keys.join(', ')}) ${onConflict}
         RETURNING ${partitioned ? '1 AS one' : '(t.xmax = 0) AS fresh'}
       )${deleted}
       SELECT (SELECT count(*) FROM src ${keep}) AS upserts, ${insertedSql} AS inserted,
              ${del ? '(SELECT count(*) FROM gone)' : '0'} AS deleted`,
    );
    // Sorting a staged checkpoint for DISTINCT ON in memory rather than on disk; no JIT (see NO_JIT).
    await this.client.query(`SET LOCAL work_mem = '64MB'; ${NO_JIT}`);
    let r;
    if (!mayRepeat) {
      // Keys the tracker saw as distinct may still be equal to the database (numeric 1.0 and 1.00): then the upsert
      // fails with a cardinality violation, and the sorted form runs instead.
      await this.client.query('SAVEPOINT sluice_merge');
      try {
        r = await upsert(`SELECT * FROM ${stage}`);
        await this.client.query('RELEASE SAVEPOINT sluice_merge');
      } catch (e) {
        if ((e as { code?: string }).code !== '21000') throw e;
        await this.client.query('ROLLBACK TO SAVEPOINT sluice_merge');
      }
    }
    r ??= await upsert(lastPerKey);
    await this.client.query(`TRUNCATE ${stage}`);
    const upserts = Number(r.rows[0].upserts);
    const inserted = Number(r.rows[0].inserted);
    return { inserted, updated: upserts - inserted, deleted: Number(r.rows[0].deleted) };
  }

  /** Record history for the staged rows (see postgres-scd2.ts), then empty staging for the next checkpoint. */
  private async mergeScd2(): Promise<CommitCounts> {
    const marker = this.marker;
    const counts = await applyScd2({
      target: qualified(this.targetRef), stage: qualified(this.writeRef), seq: SEQ_COLUMN, keys: this.primaryKey,
      columns: this.columns.map((c) => c.name).filter((c) => c !== marker),
      ...(marker === undefined ? {} : { deleteWhere: (a: string) => deleteMarkedSql(`${a}.${quoteIdent(marker)}::text`) }),
    }, async (sql) => (await this.client.query(sql)).rows);
    await this.client.query(`TRUNCATE ${qualified(this.writeRef)}`);
    return counts;
  }

  /** A staged column (quoted) as the target takes it: cast to the target's enum or domain type where it has one. */
  private staged(alias: string, column: string): string {
    const type = this.castTo.get(column);
    return type === undefined ? `${alias}.${column}` : `${alias}.${column}::${type}`;
  }

  /** The delete marker once the schema has it: a stream need not have seen its column yet (no row deleted so far). */
  private get marker(): string | undefined {
    return this.columns.some((c) => c.name === this.deleteColumn) ? this.deleteColumn : undefined;
  }

  /** Replace the target's rows of every staged group (see ../sql/replace-groups.ts), then empty staging. */
  private async replaceGroups(): Promise<CommitCounts> {
    const counts = await applyGroupReplace({
      target: qualified(this.targetRef), stage: qualified(this.writeRef), group: this.groupColumn!, seq: SEQ_COLUMN,
      marker: this.marker, columns: this.columns.map((c) => c.name).filter((c) => c !== this.deleteColumn),
    }, async (sql) => (await this.client.query(sql)).rowCount ?? 0);
    await this.client.query(`TRUNCATE ${qualified(this.writeRef)}`);
    return counts;
  }

  /**
   * Rows carry a write sequence: merge upserts the last row per key, and so does a replace with a primary key;
   * replacing groups keeps only the rows written after their group's last marker.
   */
  private get sequenced(): boolean {
    const d = this.target.disposition;
    return d === 'merge' || d === 'scd2' || (d === 'replace' && this.primaryKey.length > 0) || (d === 'append' && this.groupColumn !== undefined);
  }

  /**
   * Swap the staged table in: drop the target, rename staging, write state, commit — readers see the old table
   * until the COMMIT and the new one after. When views depend on the target (a DROP would need CASCADE), when the
   * target is partitioned, or with `replace_strategy: truncate`, the target is emptied and refilled in the same
   * transaction instead, which keeps it (and what depends on it).
   */
  private async swap(state: StreamState): Promise<void> {
    const target = qualified(this.targetRef);
    const staged = await this.step('swapping', () => describeTable(this.client, this.writeRef));
    await this.step('swapping in the replaced table', async () => {
      if (staged.length > 0) {
        const pkName = derivedName(this.writeRef.table, '_pkey');
        const addKey = `ALTER TABLE ${qualified(this.writeRef)} ADD CONSTRAINT ${quoteIdent(pkName)} PRIMARY KEY (${this.primaryKey.map((k) => quoteIdent(k)).join(', ')})`;
        // The key is built once, after the load, with room to sort in memory.
        await this.client.query("SET LOCAL maintenance_work_mem = '256MB'");
        if (this.sequenced) {
          // A full refresh of a merge stream reads every version of a key: the last one written wins, as in a merge.
          // Keys are usually distinct already (a table read whole): try the key first, and pay for finding the
          // last version of each key only when it fails.
          const stage = qualified(this.writeRef);
          const keys = this.primaryKey.map((k) => quoteIdent(k));
          const seq = quoteIdent(SEQ_COLUMN);
          await this.client.query('SAVEPOINT sluice_key');
          try {
            await this.client.query(addKey);
          } catch (e) {
            if ((e as { code?: string }).code !== '23505') throw e;
            await this.client.query('ROLLBACK TO SAVEPOINT sluice_key');
            await this.client.query(`DELETE FROM ${stage} s USING (SELECT ${keys.join(', ')}, max(${seq}) AS last FROM ${stage}
              GROUP BY ${keys.join(', ')} HAVING count(*) > 1) d WHERE ${keys.map((k) => `s.${k} = d.${k}`).join(' AND ')} AND s.${seq} < d.last`);
            await this.client.query(addKey);
          }
          await this.client.query(`ALTER TABLE ${stage} DROP COLUMN ${seq}`);
        }
        if (this.deleteColumn !== undefined && staged.some((c) => c.name === this.deleteColumn)) {
          // A full refresh leaves out the rows the source marks deleted, and the marker itself.
          const marker = quoteIdent(this.deleteColumn);
          await this.client.query(`DELETE FROM ${qualified(this.writeRef)} src WHERE ${deleteMarkedSql(`src.${marker}::text`)}`);
          await this.client.query(`ALTER TABLE ${qualified(this.writeRef)} DROP COLUMN ${marker}`);
        }
        if (this.primaryKey.length && !this.sequenced) await this.client.query(addKey);
        // Refill the existing table in the same transaction: it keeps its partitions, grants and dependent views.
        const refill = async () => {
          await this.ensureTarget();
          await this.partitionsFor(this.writeRef);
          const cols = this.columns.filter((c) => c.name !== this.deleteColumn).map((c) => quoteIdent(c.name)).join(', ');
          await this.client.query(`TRUNCATE ${target}`);
          await this.client.query(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${qualified(this.writeRef)}`);
          await this.client.query(`DROP TABLE ${qualified(this.writeRef)}`);
        };
        if (this.truncates) {
          await refill();
        } else {
          await this.client.query('SAVEPOINT sluice_swap');
          try {
            await this.client.query(`DROP TABLE IF EXISTS ${target}`);
            await this.client.query(`ALTER TABLE ${qualified(this.writeRef)} RENAME TO ${quoteIdent(this.targetRef.table)}`);
            if (this.primaryKey.length) {
              await this.client.query(`ALTER INDEX ${qualified({ schema: this.targetRef.schema, table: pkName })} RENAME TO ${quoteIdent(derivedName(this.targetRef.table, '_pkey'))}`);
            }
          } catch (e) {
            // Views depend on the target (a DROP would need CASCADE): refill it instead.
            if ((e as { code?: string }).code !== '2BP01') throw e;
            await this.client.query('ROLLBACK TO SAVEPOINT sluice_swap');
            await refill();
          }
        }
      } else if ((await describeTable(this.client, this.targetRef)).length > 0) {
        // Never evolved: the stream had no schema at all, so replacing means emptying what is there.
        await this.client.query(`TRUNCATE ${target}`);
      }
      await this.saveState(state);
    });
    await this.searchable();
    await this.commitTx();
  }

  /** The search column and index, where the destination asks for them and the table exists (a stream with no schema has none). */
  private async searchable(): Promise<void> {
    const search = this.opts.search;
    if (!search) return;
    const columns = (await this.step('making the table searchable', () => describeTable(this.client, this.targetRef))).map((c) => c.name);
    if (columns.length === 0) return;
    const outcome = await this.step('making the table searchable', () => ensureSearch(this.client, this.targetRef, columns, search));
    if (outcome !== 'unchanged') this.opts.logger.info({ stream: this.target.stream, table: this.targetRef.table, outcome }, 'search column ensured');
  }

  /** Create the partitions the rows staged in `stage` need (a partitioned target only). */
  private async partitionsFor(stage: TableRef): Promise<void> {
    const part = this.opts.partition;
    if (!part) return;
    const type = this.columns.find((c) => c.name === part.column)?.type ?? 'text';
    const created = await this.step('creating partitions', () => ensurePartitions(this.client, this.targetRef, stage, part, type));
    this.opts.logger.debug({ stream: this.target.stream, partitions: created }, 'partitions ensured');
  }

  /** The state row, in the open transaction. Its errors are never a row's refused value: wrapped here, as they are. */
  private async saveState(state: StreamState): Promise<void> {
    const t = this.target;
    if (t.leavesState) return;
    await insertState(this.client, this.opts.schema, t.pipeline, t.stream, t.runId, state, this.stateVersion + 1).catch((e: unknown) => {
      throw pgError(e, `stream ${t.stream}: saving state (${qualified(this.targetRef)}) failed`, t.stream);
    });
    this.stateVersion++;
  }

  private async beginTx(): Promise<void> {
    // Named for the transaction only (a pooled connection goes back unnamed): see loadName.
    const t = this.target;
    await this.sql(`BEGIN; SET LOCAL application_name = '${loadName(t.pipeline, t.stream, t.runId)}'`, 'opening a transaction');
    this.inTransaction = true;
  }

  private async commitTx(): Promise<void> {
    if (!this.inTransaction) return;
    // Whether COMMIT succeeds or fails, the transaction is over.
    this.inTransaction = false;
    await this.sql('COMMIT', 'committing');
  }

  private async sql(text: string, what: string): Promise<void> {
    await this.step(what, () => this.client.query(text));
  }

  /** Run a step; a server error becomes a RunError naming the stream and the step, with PG's fields. */
  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.failure(e, `${what} (${qualified(this.targetRef)}) failed`);
    }
  }

  /** A server error as a RunError naming the stream and the step; a refused value as a RowValueError (see write()). */
  private failure(e: unknown, what: string): Error {
    return refusedOr(pgError(e, `stream ${this.target.stream}: ${what}`, this.target.stream), refusedValue(e), this.target.stream, e);
  }

  private release(): void {
    if (this.done) return;
    this.done = true;
    this.client.release(this.broken);
    this.opts.onDone();
  }
}

