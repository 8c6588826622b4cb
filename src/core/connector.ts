// The lifecycle every connector implements. Sources: connect → read(stream) as async batches → close.
// Destinations declare capabilities; the engine asks them, it never special-cases a connector by name.
import type { z } from 'zod';
import type { Logger } from './logger.js';
import type { Refusal } from './values/refusals.js';
import type {
  Batch, ColumnType, DeclaredType, FileHandOff, Schema, SchemaContract, SchemaPolicy, StreamState, WriteDisposition,
} from './types.js';

/** Keys every stream has, whatever its source. Connector-specific keys (path, table, …) sit beside them. */
export interface StreamConfig {
  name: string;
  primary_key: string[];
  cursor?: string;
  write: WriteDisposition;
  /** Declared column types (`decimal(10,2)` too); columns not named here are inferred. */
  columns?: Record<string, DeclaredType>;
  on_schema_change: SchemaPolicy;
  /** Schema contract; when set it decides instead of `on_schema_change`. */
  contract?: SchemaContract;
  /** Destination table; defaults to the stream name. (`table` is left to sources: a database source's table.) */
  destination_table?: string;
  /** With `write: merge`, a column whose true value deletes the row's key instead of upserting it. */
  delete_column?: string;
  /** Files destination: columns whose values name the directory of a row's part (`col=value/…`, Hive-style). */
  partition_by?: string[];
  /** Remove NUL characters from text and JSON values (otherwise a destination that cannot store them refuses the row). */
  strip_nul?: boolean;
  /** How values of declared `decimal(p,s)` columns round to their scale; without it a longer value is refused. */
  rounding?: 'half_even' | 'half_up';
  /** Re-read this far behind the watermark (a number, or a duration such as `10m`): see src/core/values/lookback.ts. */
  lookback?: number | string;
  /** Source columns holding personal data: kept out of logs and messages, encrypted or masked in the DLQ (core/pii.ts). */
  pii?: string[];
  /** The pipeline's `privacy.dlq`, set on each stream with `pii` columns when it is `mask`: masked even with a key. */
  pii_dlq?: 'mask';
  [key: string]: unknown;
}

export interface RunContext {
  pipeline: string;
  runId: string;
  logger: Logger;
  /** Aborted when the run is cancelled (a second SIGINT/SIGTERM) or fails elsewhere: stop at once. */
  signal: AbortSignal;
  /**
   * Aborted on the first SIGINT/SIGTERM: wind down gracefully. An unbounded source (a followed log, a WebSocket)
   * ends its iteration after yielding the in-flight batch with its checkpoint, so it commits and the run succeeds.
   * Bounded sources may ignore it: the engine stops pulling at the next checkpoint boundary.
   */
  drain?: AbortSignal;
  /** Directory of the pipeline file: relative paths in the config resolve against it. */
  baseDir: string;
  /** $SLUICE_HOME, where the control store and the embedded warehouse live. */
  home: string;
  /** Rows per batch a source should aim for; memory is bounded by it. */
  batchSize: number;
  /**
   * The load can read whole files itself (StreamLoad.ingest): a file source offers each file of at least `minBytes`
   * it starts from the top as a FileHandOff before parsing it.
   */
  handOff?: { minBytes: number };
  /** Read only this part of the stream: a task of a stream split over workers (Source.slices). */
  slice?: SourceSlice;
  /** Rows of a table of the run's destination (the `tables` source); undefined when it cannot be read back. */
  readDestination?(table: string, columns: string[]): AsyncIterable<Record<string, unknown>[]>;
}

/**
 * A part of a stream a task reads alone (RunContext.slice), its progress committed under its own state key
 * (`<stream>#<id>`, src/engine/slices.ts) with its rows.
 */
export interface SourceSlice {
  /** Stable across runs for the same part: it names the slice's state. Letters, digits, `-` and `_`. */
  id: string;
  /** The files of a file source's slice, as keys of `StreamState.files`. */
  files?: string[];
  /** A range of a table's integer key, both ends included (as text: keys may pass 2^53). */
  keys?: { column: string; lo: string; hi: string };
  /** Share `index` of `of` of a child stream's parents, each parent in one share by a hash of its key. */
  part?: { index: number; of: number };
}

export interface Source {
  readonly type: string;
  connect?(ctx: RunContext): Promise<void>;
  /** Cheap reachability check for `sluice validate --check` and health. */
  check?(ctx: RunContext): Promise<void>;
  /**
   * Pull batches for one stream, starting from `state` (undefined on a first or full-refresh run).
   * Must throw RunError for a missing input (no file matches), never return silently.
   */
  read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncIterable<Batch>;
  /**
   * Column types the source knows before reading (a database catalog). The engine uses them as declared types
   * under what the user declared, so nothing needs inferring.
   */
  columns?(stream: StreamConfig, ctx: RunContext): Promise<Record<string, ColumnType>>;
  /**
   * What is left to read of a stream from `state`, cut into parts that load independently of each other (the files of
   * a glob): a run on workers gives each part its own task. Empty when nothing is left; undefined when this stream
   * is read whole (a followed log).
   */
  slices?(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): Promise<SourceSlice[] | undefined>;
  close?(): Promise<void>;
}

export interface DestinationCapabilities {
  dispositions: readonly WriteDisposition[];
  /** It creates a pipeline's `views:` (Destination.publishViews). */
  views?: boolean;
  /** It lays rows out by a stream's `partition_by` columns (LoadTarget.partitionBy). */
  partitions?: boolean;
  /** Rows and state commit atomically; checkpoints inside a run are durable. */
  transactional: boolean;
  identifiers: {
    /** False when `"Name"` and `"name"` are the same column (DuckDB, MySQL). */
    caseSensitive: boolean;
    maxLength: number;
  };
  /** Logical type → the destination's type, for docs. */
  types(type: ColumnType): string;
  /**
   * The DECIMAL(precision, scale) an undeclared `decimal` column gets, when it is bounded (DuckDB's and MySQL's 38,9):
   * an inferred column whose values need more widens to text instead of refusing them.
   */
  decimal?: { precision: number; scale: number };
  /**
   * The destination honours `LoadTarget.replaceGroups` (an append that replaces whole groups of rows per commit).
   * Child tables of `flatten` use it to stay in step with a merged parent; without it they only append.
   */
  replaceGroups?: boolean;
  /**
   * Rows are stored under their primary key (a key-value store): every stream needs a `primary_key` (validation says
   * so), a row without its key is dead-lettered whatever the disposition, and an append keeps one row per key.
   */
  keyed?: boolean;
  /**
   * Values of a logical type the destination cannot store (PostgreSQL text holds no NUL character): a check giving the
   * reason for such a value, or undefined when every value of the type is storable. The engine dead-letters rows with
   * such values before they reach the load, so one value never fails a whole load.
   */
  refuses?(type: ColumnType): Refusal | undefined;
}

/** What the engine asks a destination to load for one stream in one run. */
export interface LoadTarget {
  pipeline: string;
  stream: string;
  table: string;
  disposition: WriteDisposition;
  /** Target column names of the primary key. */
  primaryKey: string[];
  /** Target column whose true value deletes the row's key (merge); it is not stored in the target. */
  deleteColumn?: string;
  /**
   * With `disposition: 'append'` on a destination declaring `replaceGroups`: the target column whose value names a
   * group of rows (a child table's `_parent_key`). Each commit first deletes from the target every row whose
   * <column> value occurs among the rows written since the last commit, then inserts those rows — except rows
   * carrying the delete marker (`deleteColumn`), which only name a group to delete and are not inserted (nor is the
   * marker a column of the target). A marker also discards its group's rows written before it since the last
   * commit, so a group written twice in one commit keeps only its last rows. Rows whose group value is null are
   * only inserted. Re-applying the same rows gives the same target: a commit replayed after a crash duplicates
   * nothing.
   */
  replaceGroups?: string;
  /** Target columns whose values place each row (a files destination's Hive-style directories), in order. */
  partitionBy?: string[];
  runId: string;
  fullRefresh: boolean;
  /**
   * Write every row to staging and touch the target only in `finish` (dataset gates need the whole run before
   * anything becomes visible; a blocked load keeps its staging for inspection).
   */
  staged?: boolean;
  /**
   * Row by row, after a load failed on a value the destination refused (RowValueError): each write() applies its rows
   * at once under a savepoint and returns the rows refused instead of failing. Only loads that say `isolates`.
   */
  isolateRows?: boolean;
  /**
   * A backfill window: rows commit without a state row, the stream's state staying as it was. Windows may run side by
   * side on one table (`--parallel`); the backfill's own record says which are done.
   */
  leavesState?: boolean;
}

/** A row write() could not apply with `isolateRows`: its index in the rows written, and the destination's reason. */
export interface RefusedRow {
  index: number;
  reason: string;
}

export interface CommitCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * One stream's load. Rows are arrays aligned with the columns of the last schema passed to `evolve`,
 * values already coerced to their logical type's JS form (see src/core/values/coerce.ts).
 */
export interface StreamLoad {
  /** Create the target (and staging), add new columns, widen changed ones. Called before the first write. */
  evolve(schema: Schema): Promise<void>;
  /** Hand rows to the load. With `LoadTarget.isolateRows` the rows are applied now, and those refused are returned. */
  write(rows: unknown[][]): Promise<void | RefusedRow[]>;
  /**
   * The load can run with `LoadTarget.isolateRows` (its RowValueError failures can be narrowed down to rows). Staged
   * loads (replace, gated) apply everything at the end and cannot.
   */
  readonly isolates?: boolean;
  /**
   * Make everything written since the last commit visible together with `state`, atomically.
   * For `replace` nothing becomes visible before `finish`.
   */
  commit(state: StreamState): Promise<CommitCounts>;
  /**
   * True when write() may be called while a commit() is still in flight (the load queues what is written and applies
   * checkpoints in order): the engine then reads on instead of waiting, with at most one commit in flight. commit()
   * still resolves only once its checkpoint is durable.
   */
  readonly pipelinesCommits?: boolean;
  /** Last commit of the run: swaps in a replaced table, drops staging. */
  finish(state: StreamState): Promise<CommitCounts>;
  /** Whether ingest() may take files of this format (`csv`, …) for this load at all. */
  ingests?(format: string): boolean;
  /**
   * Read a whole file with the destination's own reader (DuckDB's read_csv) into the table write() fills, typed as
   * `schema` says, without the rows `cursor` filters: what it loaded, or undefined when the load declines it — an option or a value it cannot take
   * exactly as the engine's own coercion would. Declining leaves the load as it was at its last commit (nothing is
   * written since: the engine commits before offering a file), and the engine reads the file itself.
   */
  ingest?(file: FileHandOff, schema: Schema, cursor?: IngestCursor): Promise<IngestResult | undefined>;
  /**
   * The limits of a target column as the table has it, known after evolve(): an existing numeric(10,2), varchar(20) or
   * utf8mb3 column refuses values a column Sluice made would take. The reason a value is refused, or undefined when the
   * column takes every value of its type.
   */
  refuses?(column: string): Refusal | undefined;
  /**
   * Roll back what is not committed and drop staging. Must not throw. With `keepStaging` a staged load leaves its
   * staging table in place (for inspection of a blocked load) and says where.
   */
  abort(opts?: { keepStaging?: boolean }): Promise<{ kept?: string } | void>;
}

/** A stream's cursor for StreamLoad.ingest: rows older than `from` (canonical; null: none) are filtered out. */
export interface IngestCursor {
  /** The source column. */
  column: string;
  from: unknown;
}

export interface IngestResult {
  /** Rows written. */
  loaded: number;
  /** Rows older than the cursor's `from`, left out. */
  filtered: number;
  /** The newest cursor value among the rows written, in its canonical form; undefined when none had one. */
  maxCursor?: unknown;
}

/** A view over loaded tables (a pipeline's `views:`), created or replaced once the run's streams all committed. */
export interface ViewDefinition {
  name: string;
  /** A SELECT over the destination's tables; unqualified names resolve in its schema. */
  sql: string;
  /** Stored and refreshed at each run where the destination has materialized views (PostgreSQL); a view elsewhere. */
  materialized: boolean;
}

/**
 * One data subject's rows in a table (privacy erasure, `sluice erase`): those whose `column` (a target column) equals
 * one of `values` — and, with `key`, every row sharing its key with one of them: an SCD2 table's earlier versions of
 * the subject, which may no longer carry the value erased by (an old email address).
 */
export interface SubjectRows {
  table: string;
  column: string;
  values: readonly unknown[];
  /** Target columns of the table's primary key; empty: only the matching rows. */
  key: readonly string[];
}

export interface EraseOptions {
  /** Set these target columns to NULL instead of deleting the rows (anonymisation; the rows and their keys stay). */
  anonymise?: readonly string[];
  /** Count only: nothing changes. */
  dryRun?: boolean;
}

export interface ErasedRows {
  /** Rows deleted (or anonymised; with a dry run, that would be). */
  rows: number;
  /** The key values of those rows, one array per key (the child tables of a flatten name their parent by it). */
  keys: unknown[][];
}

export interface Destination {
  readonly type: string;
  readonly capabilities: DestinationCapabilities;
  connect(ctx: RunContext): Promise<void>;
  /** The state committed with the data; undefined when the stream never loaded. */
  readState(pipeline: string, stream: string): Promise<StreamState | undefined>;
  /** Forget state (and, for full refresh, nothing else: the disposition decides what happens to data). */
  resetState(pipeline: string, stream?: string): Promise<void>;
  begin(target: LoadTarget): Promise<StreamLoad>;
  /**
   * Stream a target table's columns back in batches (lookups, uniqueness against the target, referential checks;
   * the dashboard's preview reads every column — `columns` empty — of its first `limit` rows). A table that does not
   * exist (yet) yields no rows. Undefined for destinations that cannot be read (files).
   */
  readTable?(table: string, columns: string[], limit?: number): AsyncIterable<Record<string, unknown>[]>;
  /**
   * Commit the stream's newest state again as the next version, at once: a worker taking over a task whose worker
   * stalled fences it off, since a load begun before can then commit nothing more (its next version is taken).
   * Destinations without it do not fence.
   */
  claimState?(pipeline: string, stream: string, runId: string): Promise<void>;
  /** The newest state of each slice of a split stream (keys `<stream>#<id>`), by key. */
  sliceStates?(pipeline: string, stream: string): Promise<Map<string, StreamState>>;
  /**
   * In one transaction: commit `state` as the stream's next version and forget the slices' states (`keys`), once
   * their progress is part of it (src/engine/slices.ts). Destinations without it take no split streams.
   */
  foldSlices?(pipeline: string, stream: string, runId: string, state: StreamState, keys: string[]): Promise<void>;
  /**
   * Delete (or anonymise) one data subject's rows of a table in one transaction, and say how many and which keys. A
   * table that does not exist holds none. Undefined where rows cannot be erased in place.
   */
  eraseSubject?(subject: SubjectRows, options: EraseOptions): Promise<ErasedRows>;
  /** Create or replace the pipeline's views, in order (a view may read the one before). Undefined: it has none. */
  publishViews?(views: ViewDefinition[]): Promise<void>;
  close(): Promise<void>;
}

export type ComponentStatus = 'stable' | 'beta' | 'experimental';

/**
 * One spec per component: it parses and validates the config (unknown keys rejected), documents it
 * (JSON Schema and the config reference are generated from it), and builds the instance.
 */
export interface SourceSpec<C = any> {
  kind: 'source';
  type: string;
  status: ComponentStatus;
  description: string;
  /** Source-level keys besides `name`, `type`, `streams` (strict zod object). */
  config: z.ZodObject<any>;
  /** Stream-level keys besides the common ones of StreamConfig (strict zod object). */
  stream: z.ZodObject<any>;
  /**
   * For a source that hands over one page at a time, nothing of which outlives the page's load: the V8
   * semi-space, in MB, its copies run as fast in (src/cli/heap.ts caps the young generation at it, for a run whose
   * every source has one). Unset: V8's default (16).
   */
  youngGenerationMb?: number;
  /**
   * Tables of the pipeline's own destination a stream reads (the `tables` source): a stream of the run that loads one
   * of them runs, and commits, first.
   */
  reads?(stream: StreamConfig, source: Record<string, unknown>): string[];
  /** Builds the source. The implementation is imported here, so a run loads only the connectors it uses. */
  create(config: C): Promise<Source>;
}

export interface DestinationSpec<C = any> {
  kind: 'destination';
  type: string;
  status: ComponentStatus;
  description: string;
  /** Destination keys besides `type` (strict zod object). */
  config: z.ZodObject<any>;
  /** What the destination supports, known without loading it (validation and the docs read it). */
  capabilities(config: C): DestinationCapabilities;
  /** Builds the destination. The implementation is imported here, so a run loads only the connectors it uses. */
  create(config: C): Promise<Destination>;
}
