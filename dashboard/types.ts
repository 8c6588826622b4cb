// The JSON shapes of `sluice serve`'s API as the dashboard reads them (src/server/api.ts). Fields the server is still
// adding, and those a running run has not filled yet, are optional: every page reads them defensively.

export type HealthStatus = 'healthy' | 'warning' | 'critical';
export interface Health { status: HealthStatus; score: number; issues: string[]; recommendations: string[] }

/** Each role can do what the ones before it can (src/server/tokens.ts). */
export const ROLES = ['read-only', 'operator', 'admin'] as const;
export type Role = typeof ROLES[number];
export interface Session { actor: string; role: Role; csrf: string }

export interface Schedule {
  cron: string | null; every: string | null; timezone: string; after: string[];
  catchup?: string; overlap?: string; timeout?: string | null; enabled: boolean;
}

export interface RecentRun {
  run_id: string; status: string; started_at: string | null; duration_ms: number | null;
  extracted?: number | null; loaded?: number | null; dead_lettered?: number | null; quality_score?: number | null;
}

export interface Pipeline {
  name: string; file: string; description: string | null; schedule: Schedule | null; next_run: string | null;
  last_run: { run_id: string; status: string; finished_at: string | null } | null;
  last_success_at: string | null;
  running: { run_id: string; scheduled_for: string; trigger: string } | null;
  invalid: string | null; health?: Health; paused?: boolean; paused_by?: string | null; recent_runs?: RecentRun[];
}

export interface PipelineList { pipelines: Pipeline[]; invalid_files: { file: string; error: string }[] }

export interface Counts {
  extracted?: number; loaded?: number; dead_lettered?: number; filtered?: number;
  inserted?: number; updated?: number; deleted?: number;
}

export interface StreamQuality {
  score: number | null; completeness?: number | null; validity?: number | null; consistency?: number | null;
  timeliness?: number | null; rows?: number; checks?: { check: string; severity: string; failed: number; ok: boolean }[];
}
export interface Quality { score: number | null; streams?: Record<string, StreamQuality> }

export interface RunSummary {
  run_id: string; pipeline: string; status: string; started_at: string | null; finished_at?: string | null;
  duration_ms?: number | null; phases?: { phase: string; status: string; duration_ms: number }[];
  streams?: Record<string, Counts>; quality?: Quality | null; error?: string | null;
}

export interface PhaseRow {
  phase: string; status: string; duration_ms: number | null; rows_in: number | null; rows_out: number | null;
  error: string | null; started_at?: string | null; ended_at?: string | null;
}

export interface AuditEntry {
  seq: number; at: string; actor: string; action: string; pipeline: string | null; runId: string | null;
  detail: Record<string, unknown>;
}

export interface RunDetail {
  run_id: string; pipeline: string; status: string; started_at: string | null; finished_at: string | null;
  duration_ms: number | null; error: string | null; summary?: RunSummary | null;
  phases_by_stream?: Record<string, PhaseRow[]>;
  steps_by_stream?: Record<string, StepRow[]>;
  streams?: { stream: string; status: string; counts: Counts | null; error: string | null }[];
  schema_changes?: Record<string, unknown>[]; quality?: Quality | null; audit?: AuditEntry[];
  live?: Record<string, Counts> | null;
}

/** One transform step of a stream in a run: rows in = out + failed + filtered. */
export interface StepRow {
  step: number; name: string; records_in: number; records_out: number; failed: number; filtered: number; duration_ms: number;
}

export interface LogLine {
  seq: number; at: string; level: 'info' | 'warn' | 'error' | 'debug'; msg: string; stream: string | null;
  fields?: Record<string, unknown>;
}

export interface DlqEntry {
  id: number; pipeline: string; stream: string; runId: string; stage: string; reason: string; raw: string;
  position: Record<string, unknown> | null; createdAt?: string; replayedAt?: string | null;
}

export interface QualityPoint {
  run_id: string; started_at: string; status: string; stream: string; score: number | null;
  completeness: number | null; validity: number | null; consistency: number | null; timeliness: number | null;
}

export interface Alert {
  rule: string; pipeline: string; stream: string; status: 'firing' | 'resolved'; summary: string;
  severity: string; openedAt: string; lastSentAt?: string; resolvedAt: string | null;
}

export interface Preview { stream: string; table: string; columns: string[]; rows: unknown[][] }

export interface Sync {
  name: string; mode: string; schedule: Schedule | null; next_run: string | null;
  last_run: { run_id: string; status: string; finished_at: string | null } | null;
  running: unknown; invalid: string | null;
  streams?: { stream: string; state: string; error: string | null; lag_seconds: number | null }[];
}
