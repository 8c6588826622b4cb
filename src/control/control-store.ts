// The control store: runs, phases, per-stream counts, errors, DLQ, locks and schema changes.
// An interface with async methods, because the shared implementation (PostgreSQL, for teams whose processes or
// machines share work) is async; the default is a SQLite file in $SLUICE_HOME (sqlite-store.ts).
import type { ServiceStore } from './service-records.js';
import type { Phase, RejectedRow, SourcePosition, Status, StepCounts, StreamCounts } from '../core/types.js';

export interface LockOwner {
  runId: string;
  pid: number;
  host: string;
}

export interface RunStart {
  runId: string;
  pipeline: string;
  startedAt: Date;
  file?: string;
  options: Record<string, unknown>;
}

export interface RunFinish {
  status: Status;
  finishedAt: Date;
  error?: string;
  /** The `--json` object of the run, kept whole so `runs show` prints exactly what the run printed. */
  summary: unknown;
}

export interface PhaseRecord {
  runId: string;
  stream: string;
  phase: Phase;
  status: Status;
  /** Busy time: phases overlap (batches flow through them as a pipeline). */
  durationMs: number;
  /** Wall-clock first start and last end of the phase's work (the run page's timeline); unset when it never ran. */
  startedAt?: Date;
  endedAt?: Date;
  rowsIn?: number;
  rowsOut?: number;
  error?: string;
}

export interface StreamRecord {
  runId: string;
  stream: string;
  status: Status;
  counts: StreamCounts;
  error?: string;
}

/** One transform step of a stream in one run: its position and kind, rows in, out, failed and filtered, its time. */
export interface StepRecord extends StepCounts {
  runId: string;
  stream: string;
}

export interface DlqEntry extends RejectedRow {
  id?: number;
  pipeline: string;
  stream: string;
  runId: string;
  createdAt?: string;
  replayedAt?: string | null;
  /** Stored encrypted with a key this process does not have: `raw` and `reason` say so instead (core/at-rest.ts). */
  undecryptable?: boolean;
}

export interface DlqFilter {
  pipeline?: string;
  stream?: string;
  runId?: string;
  ids?: number[];
  /** Include entries already replayed successfully. */
  includeReplayed?: boolean;
  /** Only entries after this id (a caller reading the queue page by page). */
  afterId?: number;
  limit?: number;
}

/** A data subject erased from a pipeline (`sluice erase`): later runs filter its rows out (core/suppression.ts). */
export interface Suppression {
  pipeline: string;
  /** The column the subject was erased by. */
  column: string;
  /** subjectDigest(pipeline, column, value): the value itself is not kept. */
  digest: string;
}

/** A stream's check results, metrics and score in one run (src/quality/). */
export interface QualityRecord {
  runId: string;
  pipeline: string;
  stream: string;
  report: {
    score: number | null;
    completeness: number | null;
    validity: number | null;
    consistency: number | null;
    timeliness: number | null;
    rows: number;
    checks: unknown[];
    blocked?: string;
    warnings?: string[];
  };
}

export interface RunRow {
  run_id: string;
  pipeline: string;
  status: Status;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  error: string | null;
  file: string | null;
  /** The run's quality score (mean of its streams' scores), null when no stream had checks. */
  quality_score?: number | null;
  /** Rows over its streams (listRuns; null before any stream finished). */
  extracted?: number | null;
  loaded?: number | null;
  dead_lettered?: number | null;
}

export interface RunDetail extends RunRow {
  summary: unknown;
  phases: PhaseRecord[];
  /** The transform steps of the run's streams, by stream, in each stream's order. */
  steps: StepRecord[];
  streams: StreamRecord[];
  schema_changes: SchemaChangeRecord[];
  quality: QualityRecord[];
}

export interface RunStats {
  runs: number;
  succeeded: number;
  success_rate: number;
  mean_duration_ms: number | null;
}

export interface SchemaChangeRecord {
  runId: string;
  stream: string;
  change: string;
  column: string;
  from?: string;
  to?: string;
}

/** One line a run logged (`sluice serve` keeps each run's lines for the dashboard's run page). */
export interface RunLogLine {
  /** 1, 2, … within the run. */
  seq: number;
  at: string;
  level: string;
  msg: string;
  stream: string | null;
  /** The line's other fields (already redacted by the logger). */
  fields: Record<string, unknown>;
}

/** What a retention pass removed (or, dry, would remove) of a pipeline's runs: runs, and log lines of any run. */
export interface PrunedRuns {
  runs: number;
  logLines: number;
}

/** Where a store lives, so that another thread can open the same one (openControlStoreAt). */
export type StoreAddress = { kind: 'sqlite'; home: string } | { kind: 'postgres'; url: string };

export interface ControlStore extends ServiceStore {
  readonly address: StoreAddress;
  /** Throws LockedError when a live run of the pipeline holds the lock; takes over locks of dead processes. */
  acquireLock(pipeline: string, owner: LockOwner): Promise<void>;
  releaseLock(pipeline: string, runId: string): Promise<void>;

  startRun(run: RunStart): Promise<void>;
  finishRun(runId: string, finish: RunFinish): Promise<void>;
  recordPhase(phase: PhaseRecord): Promise<void>;
  recordStream(stream: StreamRecord): Promise<void>;
  /** A stream's transform steps, all at once (recorded again, they replace the earlier record). */
  recordSteps(runId: string, stream: string, steps: StepCounts[]): Promise<void>;
  recordSchemaChange(change: SchemaChangeRecord): Promise<void>;
  recordQuality(quality: QualityRecord): Promise<void>;
  /** Counts of the stream in earlier successful, non-dry runs of the pipeline, newest first (volume checks). */
  streamHistory(pipeline: string, stream: string, limit: number, excludeRunId?: string): Promise<StreamCounts[]>;
  /** Quality scores of a pipeline's runs, newest first: the trend. */
  qualityTrend(pipeline: string, limit: number): Promise<{ run_id: string; started_at: string; status: string; stream: string; score: number | null; completeness: number | null; validity: number | null; consistency: number | null; timeliness: number | null }[]>;

  /**
   * Adds rows to the dead-letter queue. An entry already there for the same pipeline, stream, position and payload
   * is not added again (a re-run after a crash re-reads rows whose batch never committed). Returns how many were new.
   */
  addDlq(entries: DlqEntry[]): Promise<number>;
  listDlq(filter: DlqFilter): Promise<DlqEntry[]>;
  markReplayed(ids: number[]): Promise<void>;
  purgeDlq(filter: DlqFilter): Promise<number>;

  /** Adds subjects to the suppression list (one already there stays as it was). Returns how many were new. */
  addSuppressions(entries: Suppression[]): Promise<number>;
  /** The pipeline's suppressed digests by column. */
  suppressions(pipeline: string): Promise<Map<string, Set<string>>>;
  /** Takes a subject off the list (`sluice erase --lift`): its rows load again. Returns how many were removed. */
  liftSuppressions(entries: Suppression[]): Promise<number>;

  appendRunLogs(runId: string, lines: RunLogLine[]): Promise<void>;
  /** A run's lines after `afterSeq`, in order. */
  listRunLogs(runId: string, opts?: { afterSeq?: number; limit?: number }): Promise<RunLogLine[]>;

  listRuns(opts: { pipeline?: string; limit?: number }): Promise<RunRow[]>;
  getRun(runId: string): Promise<RunDetail | undefined>;
  stats(pipeline?: string): Promise<RunStats>;

  /** Deletes the pipeline's dead-letter entries created before `before`, a chunk per transaction; `dryRun` only counts. */
  pruneDlq(pipeline: string, before: Date, opts?: { dryRun?: boolean }): Promise<number>;
  /**
   * Deletes the pipeline's runs finished before `before` with all that was recorded of them (phases, streams, steps,
   * quality, schema changes, log lines), or with `logsOnly` their log lines alone. Never a running run, the latest run,
   * nor the latest finished and the latest successful runs that were not dry runs: health, freshness alerts and the
   * dashboard read those, and an idle pipeline keeps its last record. A chunk of runs per transaction; `dryRun` counts.
   */
  pruneRuns(pipeline: string, before: Date, opts?: { logsOnly?: boolean; dryRun?: boolean }): Promise<PrunedRuns>;

  close(): Promise<void>;
}

/** Stable key of a source position, for DLQ de-duplication. */
export const positionKey = (p: SourcePosition): string =>
  [p.file ?? '', p.line ?? '', p.page ?? '', p.offset ?? '', p.url ?? ''].join('|');
