// What `sluice serve` keeps in the control store besides runs: scheduled runs (each claimed once, whatever the number
// of serve processes), the scheduler's lease, the audit chain, open alerts and the alert outbox. Both stores (SQLite,
// PostgreSQL) implement it; the scale-out workers build on the same records.

/** How a run came to be: its schedule, a pipeline it runs `after`, a person or script, a backfill window. */
export type Trigger = 'schedule' | 'after' | 'manual' | 'backfill' | 'retry' | 'rerun';

export type ScheduledStatus = 'claimed' | 'running' | 'success' | 'partial_success' | 'failed' | 'skipped' | 'cancelled' | 'timed_out';

export interface ScheduledRun {
  pipeline: string;
  /** The time the run was due (the unique key with the pipeline): a cron or interval tick, or when it was asked for. */
  scheduledFor: Date;
  trigger: Trigger;
  status: ScheduledStatus;
  holder: string;
  runId?: string;
  attempt: number;
  claimedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  error?: string;
  /** Who asked (a token's name, an OS user, `scheduler`). */
  actor?: string;
}

export interface ScheduledRunUpdate {
  status: ScheduledStatus;
  runId?: string;
  attempt?: number;
  startedAt?: Date;
  finishedAt?: Date;
  error?: string;
}

/** One entry of the audit trail; `hash` = SHA-256 of the previous entry's hash and this entry (audit-chain.ts). */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  pipeline: string | null;
  runId: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type AuditInput = Pick<AuditEntry, 'actor' | 'action'> & {
  pipeline?: string;
  runId?: string;
  detail?: Record<string, unknown>;
  at?: Date;
};

/** An alert's state: one per (rule, pipeline, stream), so repeats are suppressed and a resolve follows a firing. */
export interface AlertState {
  rule: string;
  pipeline: string;
  /** '' when the rule is about the whole pipeline. */
  stream: string;
  status: 'firing' | 'resolved';
  dedupKey: string;
  summary: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  openedAt: string;
  lastSentAt: string;
  resolvedAt: string | null;
}

/** A delivery waiting in the outbox: a channel that is down delays it, never loses it. */
export interface OutboxDelivery {
  id: number;
  channel: string;
  body: Record<string, unknown>;
  attempts: number;
  nextAttemptAt: number;
  createdAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** Each pipeline's recent record in one row: what health, `/metrics` and the pipelines API show. */
export interface PipelineOverview {
  pipeline: string;
  /** Finished runs among the last `window` (dry runs excluded). */
  runs: number;
  succeeded: number;
  /** Those runs newest first, `s` for a success (partial included), `f` for a failure: a rule's own window reads it. */
  outcomes: string;
  mean_duration_ms: number | null;
  last_status: string | null;
  last_run_id: string | null;
  last_finished_at: string | null;
  /** The last run's dead-lettered rows, all streams. */
  last_dead_lettered: number;
  last_success_at: string | null;
  /** The latest run's quality score (mean over its checked streams). */
  quality_score: number | null;
}

export type WindowStatus = 'pending' | 'running' | 'success' | 'partial_success' | 'failed';

/** One bounded window of the cursor a backfill loads, [from, to), with its run. */
export interface BackfillWindow {
  from: string | number;
  to: string | number;
  status: WindowStatus;
  runId?: string;
  error?: string;
}

/** A backfill: its windows and how far it got, kept whole so a backfill started again resumes where it stopped. */
export interface BackfillRecord {
  /** Derived from the pipeline and the range, so the same command finds the backfill it resumes. */
  id: string;
  pipeline: string;
  from: string | number;
  to: string | number;
  by: string | null;
  streams: string[] | null;
  status: 'running' | 'success' | 'partial_success' | 'failed';
  actor: string;
  createdAt: string;
  updatedAt: string;
  windows: BackfillWindow[];
}

/** A schedule paused from the API or the dashboard: its due times pass without runs until it is resumed. */
export interface PausedSchedule {
  pipeline: string;
  actor: string;
  at: string;
}

export interface ServiceStore {
  saveBackfill(b: BackfillRecord): Promise<void>;
  getBackfill(id: string): Promise<BackfillRecord | undefined>;
  listBackfills(opts: { pipeline?: string; limit?: number }): Promise<BackfillRecord[]>;

  /** Every pipeline with finished runs, over its last `window` of them. One query, whatever the number of pipelines. */
  /** Each pipeline's last `window` finished runs, summed up; only the pipelines named, when `only` is given. */
  pipelineOverview(window: number, only?: readonly string[]): Promise<PipelineOverview[]>;
  /** Rows waiting in the dead-letter queue (not replayed) per pipeline and stream. */
  dlqCounts(): Promise<{ pipeline: string; stream: string; rows: number }[]>;

  /**
   * Claims the run of `pipeline` due at `scheduledFor`. False when it was already claimed, by this process or another:
   * the (pipeline, scheduled time) key is unique in the store, which is what keeps a run from starting twice.
   */
  claimScheduledRun(run: Pick<ScheduledRun, 'pipeline' | 'scheduledFor' | 'trigger' | 'holder'> & { actor?: string }): Promise<boolean>;
  updateScheduledRun(pipeline: string, scheduledFor: Date, update: ScheduledRunUpdate): Promise<void>;
  /** The latest claimed due time of the pipeline's own schedule (trigger `schedule`): where catch-up starts. */
  lastScheduledFor(pipeline: string): Promise<Date | undefined>;
  listScheduledRuns(opts: { pipeline?: string; status?: ScheduledStatus[]; limit?: number }): Promise<ScheduledRun[]>;

  /** Takes or renews the named lease for `ttlMs`; true when `holder` holds it now (it was free, expired or its own). */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;

  /** Appends to the audit chain atomically (the previous hash is read and the entry written in one transaction). */
  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** Entries in chain order (or the newest first); `runId` selects one run's evidence. */
  listAudit(opts: { runId?: string; pipeline?: string; afterSeq?: number; limit?: number; newestFirst?: boolean }): Promise<AuditEntry[]>;
  /** The chain's head as last written (seq and hash), kept apart so a removed last entry is noticed. */
  auditHead(): Promise<{ seq: number; hash: string } | undefined>;

  /** Pauses a pipeline's schedule (`actor`), or resumes it (null). Shared by every serve process on the store. */
  setPaused(pipeline: string, actor: string | null): Promise<void>;
  listPaused(): Promise<PausedSchedule[]>;

  getAlert(rule: string, pipeline: string, stream: string): Promise<AlertState | undefined>;
  saveAlert(alert: AlertState): Promise<void>;
  listAlerts(opts: { status?: AlertState['status'] }): Promise<AlertState[]>;

  enqueueDelivery(channel: string, body: Record<string, unknown>): Promise<number>;
  /** Deliveries due by `nowMs`, oldest first. */
  dueDeliveries(nowMs: number, limit: number): Promise<OutboxDelivery[]>;
  markDelivered(id: number): Promise<void>;
  markDeliveryFailed(id: number, error: string, nextAttemptAt: number): Promise<void>;
  listDeliveries(opts: { pending?: boolean; limit?: number }): Promise<OutboxDelivery[]>;
}
