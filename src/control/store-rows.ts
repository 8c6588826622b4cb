// What both control stores (SQLite, PostgreSQL) share: the rows they read, mapped to the records of the interface,
// the DLQ filter and the DLQ de-duplication key. Timestamps arrive as text or milliseconds from SQLite and as Dates
// from PostgreSQL; the mappers give callers the same shapes from either.
import { createHash } from 'node:crypto';
import { UnsealError, unseal } from '../core/at-rest.js';
import { LockedError } from '../core/errors.js';
import type { DlqEntry, DlqFilter, LockOwner, PhaseRecord, QualityRecord, RunLogLine, RunRow, SchemaChangeRecord, StepRecord, StreamRecord } from './control-store.js';
import { positionKey } from './control-store.js';
import type { StepCounts } from '../core/types.js';
import { isProcessAlive } from './process.js';
import type { AlertState, AuditEntry, OutboxDelivery, ScheduledRun, ScheduledStatus } from './service-records.js';

/** A time as the stores return it: ISO text. */
export const isoText = (v: string | Date): string => (v instanceof Date ? v.toISOString() : v);
const isoOrNull = (v: string | Date | null): string | null => (v === null ? null : isoText(v));
/** JSON columns are text in both stores (text keeps the summary's key order, which `runs show` prints). */
const json = <T>(v: string): T => JSON.parse(v) as T;

export interface LockRow { run_id: string; pid: number; host: string; acquired_at: string | Date }

/**
 * Throws LockedError when `held` belongs to a live run. A lock whose process died (SIGKILL, power loss) on this host is
 * stale and may be taken over; on another host we cannot tell.
 */
export function refuseLiveLock(pipeline: string, owner: LockOwner, held: LockRow | undefined): void {
  if (held && !(held.host === owner.host && !isProcessAlive(held.pid))) {
    throw new LockedError(
      `pipeline "${pipeline}" is already running (run ${held.run_id}, pid ${held.pid} on ${held.host}, since ${isoText(held.acquired_at)}); ` +
        'wait for it to finish',
    );
  }
}

/**
 * The DLQ's de-duplication key: the source position and a hash of the payload, the plain one (the stores encrypt after
 * computing it: a random IV would make every copy differ).
 */
export const dlqKey = (e: DlqEntry): string => positionKey(e.position) + '|' + createHash('sha1').update(e.raw).digest('hex');

/** The WHERE clause of a DLQ filter; `placeholder(n)` is the n-th parameter's marker (`?` or `$n`), from `first`. */
export function dlqWhere(f: DlqFilter, placeholder: (n: number) => string, first = 1): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown): string => {
    params.push(v);
    return placeholder(first + params.length - 1);
  };
  if (f.pipeline) clauses.push(`pipeline = ${param(f.pipeline)}`);
  if (f.stream) clauses.push(`stream = ${param(f.stream)}`);
  if (f.runId) clauses.push(`run_id = ${param(f.runId)}`);
  if (f.ids?.length) clauses.push(`id IN (${f.ids.map((id) => param(id)).join(', ')})`);
  if (f.afterId !== undefined) clauses.push(`id > ${param(f.afterId)}`);
  if (!f.includeReplayed) clauses.push('replayed_at IS NULL');
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export interface RunTableRow {
  run_id: string; pipeline: string; status: string; started_at: string | Date; finished_at: string | Date | null;
  duration_ms: number | null; error: string | null; file: string | null; quality_score?: number | null;
  extracted?: number | null; loaded?: number | null; dead_lettered?: number | null;
}
/** A run row with its times as ISO text; other columns (getRun's `options`) pass through. */
export const runRow = <R extends RunTableRow>(r: R): Omit<R, 'started_at' | 'finished_at'> & RunRow => ({
  ...r, status: r.status as RunRow['status'], started_at: isoText(r.started_at), finished_at: isoOrNull(r.finished_at),
});

export interface DlqRow {
  id: number; pipeline: string; stream: string; run_id: string; stage: string; reason: string; raw: string; position: string;
  created_at: string | Date; replayed_at: string | Date | null;
}
/**
 * A DLQ row as its entry: payload and reason decrypted (core/at-rest.ts). An entry this process has no key for is
 * still listed, its payload and reason saying why they cannot be read, and marked `undecryptable` (never replayed).
 */
export const dlqEntry = (r: DlqRow): DlqEntry => {
  let reason: string;
  let raw: string;
  let undecryptable = false;
  try {
    reason = unseal(r.reason);
    raw = unseal(r.raw);
  } catch (e) {
    if (!(e instanceof UnsealError)) throw e;
    reason = raw = `[${e.message}]`;
    undecryptable = true;
  }
  return {
    id: r.id, pipeline: r.pipeline, stream: r.stream, runId: r.run_id, stage: r.stage as DlqEntry['stage'],
    reason, raw, position: json(r.position), createdAt: isoText(r.created_at), replayedAt: isoOrNull(r.replayed_at),
    ...(undecryptable ? { undecryptable } : {}),
  };
};

export interface PhaseRow {
  run_id: string; stream: string; phase: string; status: string; duration_ms: number; rows_in: number | null; rows_out: number | null;
  error: string | null; started_at: string | Date | null; ended_at: string | Date | null;
}
export const phaseRecord = (p: PhaseRow): PhaseRecord => ({
  runId: p.run_id, stream: p.stream, phase: p.phase as PhaseRecord['phase'], status: p.status as PhaseRecord['status'],
  durationMs: Number(p.duration_ms), rowsIn: p.rows_in ?? undefined, rowsOut: p.rows_out ?? undefined, error: p.error ?? undefined,
  ...(p.started_at ? { startedAt: new Date(p.started_at) } : {}), ...(p.ended_at ? { endedAt: new Date(p.ended_at) } : {}),
});

/** A `transformer_runs` row: counts are BIGINT in PostgreSQL, which `pg` returns as text. */
export interface StepRow {
  run_id: string; stream: string; step: number | string; name: string; records_in: number | string; records_out: number | string;
  failed: number | string; filtered: number | string; duration_ms: number;
}
export const stepRecord = (r: StepRow): StepRecord => ({
  runId: r.run_id, stream: r.stream, step: Number(r.step), name: r.name, records_in: Number(r.records_in),
  records_out: Number(r.records_out), failed: Number(r.failed), filtered: Number(r.filtered), duration_ms: Number(r.duration_ms),
});

/** The columns of a `transformer_runs` row after its run and stream, in order, from a step's counts. */
export const STEP_COLUMNS = ['step', 'name', 'records_in', 'records_out', 'failed', 'filtered', 'duration_ms'] as const;
export const stepValues = (s: StepCounts): unknown[] => STEP_COLUMNS.map((c) => s[c]);

export interface RunLogRow { seq: number | string; at: string | Date; level: string; msg: string; stream: string | null; fields: string }
export const runLogLine = (r: RunLogRow): RunLogLine => ({
  seq: Number(r.seq), at: isoText(r.at), level: r.level, msg: r.msg, stream: r.stream, fields: json(r.fields),
});

export interface StreamRow { run_id: string; stream: string; status: string; counts: string; error: string | null }
export const streamRecord = (s: StreamRow): StreamRecord => ({
  runId: s.run_id, stream: s.stream, status: s.status as StreamRecord['status'], counts: json(s.counts), error: s.error ?? undefined,
});

export interface ChangeRow { run_id: string; stream: string; change: string; col: string; from_type: string | null; to_type: string | null }
export const schemaChange = (c: ChangeRow): SchemaChangeRecord => ({
  runId: c.run_id, stream: c.stream, change: c.change, column: c.col, from: c.from_type ?? undefined, to: c.to_type ?? undefined,
});

export interface QualityRow { run_id: string; pipeline: string; stream: string; report: string }
export const qualityRecord = (q: QualityRow): QualityRecord => ({
  runId: q.run_id, pipeline: q.pipeline, stream: q.stream, report: json(q.report),
});

/** A quality-trend row: the run's start as ISO text. */
export const trendRow = <R extends { started_at: string | Date }>(r: R): Omit<R, 'started_at'> & { started_at: string } => ({
  ...r, started_at: isoText(r.started_at),
});

/** `sluice runs` statistics from the count of finished runs, the successful ones and the mean duration. */
export const runStats = (runs: number, succeeded: number | null, mean: number | null) => ({
  runs,
  succeeded: succeeded ?? 0,
  success_rate: runs ? (succeeded ?? 0) / runs : 0,
  mean_duration_ms: mean === null ? null : Math.round(mean),
});

type Instant = number | Date;
export interface ScheduledRow {
  pipeline: string; scheduled_for: Instant; trigger_kind: string; status: string; holder: string; run_id: string | null;
  attempt: number; claimed_at: Instant; started_at: Instant | null; finished_at: Instant | null; error: string | null; actor: string | null;
}
export const scheduledRun = (r: ScheduledRow): ScheduledRun => ({
  pipeline: r.pipeline, scheduledFor: new Date(r.scheduled_for), trigger: r.trigger_kind as ScheduledRun['trigger'],
  status: r.status as ScheduledStatus, holder: r.holder, attempt: r.attempt, claimedAt: new Date(r.claimed_at),
  ...(r.run_id ? { runId: r.run_id } : {}), ...(r.started_at !== null ? { startedAt: new Date(r.started_at) } : {}),
  ...(r.finished_at !== null ? { finishedAt: new Date(r.finished_at) } : {}), ...(r.error ? { error: r.error } : {}),
  ...(r.actor ? { actor: r.actor } : {}),
});

export interface AuditRow { seq: number; at: string; actor: string; action: string; pipeline: string | null; run_id: string | null; detail: string; prev_hash: string; hash: string }
export const auditEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq, at: r.at, actor: r.actor, action: r.action, pipeline: r.pipeline, runId: r.run_id,
  detail: json(r.detail), prevHash: r.prev_hash, hash: r.hash,
});

export interface AlertRow {
  rule: string; pipeline: string; stream: string; status: string; dedup_key: string; summary: string; severity: string;
  opened_at: string; last_sent_at: string; resolved_at: string | null;
}
export const alertState = (r: AlertRow): AlertState => ({
  rule: r.rule, pipeline: r.pipeline, stream: r.stream, status: r.status as AlertState['status'], dedupKey: r.dedup_key,
  summary: r.summary, severity: r.severity as AlertState['severity'], openedAt: r.opened_at, lastSentAt: r.last_sent_at,
  resolvedAt: r.resolved_at,
});

export interface OutboxRow {
  id: number; channel: string; body: string; attempts: number; next_attempt_at: number; created_at: string | Date;
  delivered_at: string | Date | null; last_error: string | null;
}
export const delivery = (r: OutboxRow): OutboxDelivery => ({
  id: r.id, channel: r.channel, body: json(r.body), attempts: r.attempts, nextAttemptAt: r.next_attempt_at,
  createdAt: isoText(r.created_at), deliveredAt: isoOrNull(r.delivered_at), lastError: r.last_error,
});

/** Suppressed digests grouped by column, from (column, digest) rows. */
export function suppressionMap(rows: readonly { col: string; digest: string }[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    let set = out.get(r.col);
    if (!set) out.set(r.col, (set = new Set()));
    set.add(r.digest);
  }
  return out;
}
