// Rule conditions: pure functions of a pipeline's snapshot and the time. The Alerter (alerter.ts) turns their
// changes into firing and resolved alerts.
import { showAge } from '../../core/duration.js';
import { redact } from '../../core/redact.js';
import type { RunSummary } from '../../engine/runner.js';
import type { AlertRule, Condition, Severity } from '../../config/alerts-spec.js';
import type { SyncStreamView } from '../sync-status.js';

/** What the rules look at for one pipeline; the caller gathers it (the control store, the pipeline file). */
export interface PipelineSnapshot {
  pipeline: string;
  /** The last finished run's `--json` object. */
  lastRun?: RunSummary;
  /** The pipeline's last runs (as many as `recentWindow` says): RunStats-like. */
  recent: { runs: number; success_rate: number; mean_duration_ms: number | null; outcomes?: string };
  lastSuccessAt?: Date;
  /** Rows in the pipeline's dead-letter queue now. */
  dlqRows: number;
  /** Rows there at the last evaluation; the Alerter remembers it when the caller does not say. */
  previousDlqRows?: number;
  /** Per stream, for rules with a `stream`. */
  dlqRowsByStream?: Record<string, number>;
  previousDlqRowsByStream?: Record<string, number>;
  /** The error of a pipeline file that does not validate. */
  invalid?: string;
  /** A mode: cdc sync's streams as the service runs them (sync_lag, sync_stopped). */
  syncStreams?: SyncStreamView[];
}

export interface RuleOutcome {
  rule: AlertRule;
  /** '' for the whole pipeline. */
  stream: string;
  /** The condition holds. */
  firing: boolean;
  /** What is wrong, or (not firing) how things stand: the text of the alert and of its resolve. */
  summary: string;
  severity: Severity;
  runId?: string;
}

const CRITICAL: ReadonlySet<Condition> = new Set(['run_failed', 'freshness', 'pipeline_invalid', 'sync_stopped']);
export const severityOf = (rule: AlertRule): Severity => rule.severity ?? (CRITICAL.has(rule.when) ? 'critical' : 'warning');

const pct = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

type Verdict = { firing: boolean; summary: string; runId?: string };

const bytesText = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);

/** The sync's streams a rule watches (its `stream`, or all). */
const watched = (r: AlertRule, s: PipelineSnapshot): SyncStreamView[] => (s.syncStreams ?? []).filter((v) => !r.stream || v.stream === r.stream);

/** What of a stream's lag is over the rule's limits (none: an empty list). */
function overLimits(r: AlertRule, v: SyncStreamView): string[] {
  const over: string[] = [];
  if (r.threshold !== undefined && v.lag && v.lag.lagBytes > r.threshold) over.push(`${bytesText(v.lag.lagBytes)} of the source's log not applied (limit ${bytesText(r.threshold)})`);
  if (r.maxAgeMs !== undefined && v.lagSeconds !== undefined && v.lagSeconds * 1000 > r.maxAgeMs) over.push(`${showAge(v.lagSeconds * 1000)} behind its source (limit ${showAge(r.maxAgeMs)})`);
  return over;
}

const CONDITION: Record<Condition, (rule: AlertRule, s: PipelineSnapshot, now: Date) => Verdict> = {
  run_failed: (_r, s) => {
    const run = s.lastRun;
    if (!run) return { firing: false, summary: 'no run yet' };
    return run.status === 'failed'
      ? { firing: true, summary: `run ${run.run_id} failed${run.error ? `: ${run.error}` : ''}`, runId: run.run_id }
      : { firing: false, summary: `run ${run.run_id} ended ${run.status}`, runId: run.run_id };
  },
  partial_success: (_r, s) => {
    const run = s.lastRun;
    if (!run) return { firing: false, summary: 'no run yet' };
    if (run.status !== 'partial_success') return { firing: false, summary: `run ${run.run_id} ended ${run.status}`, runId: run.run_id };
    return { firing: true, summary: `run ${run.run_id} succeeded only in part${run.error ? `: ${run.error}` : ''}`, runId: run.run_id };
  },
  quality_below: (r, s) => {
    const run = s.lastRun;
    const score = r.stream ? run?.quality.streams?.[r.stream]?.score : run?.quality.score;
    const what = r.stream ? `stream ${r.stream}'s quality score` : 'quality score';
    if (!run || score === null || score === undefined) return { firing: false, summary: `no ${what} yet`, ...(run ? { runId: run.run_id } : {}) };
    return score < r.threshold!
      ? { firing: true, summary: `${what} ${score} is below ${r.threshold} (run ${run.run_id})`, runId: run.run_id }
      : { firing: false, summary: `${what} ${score} (at least ${r.threshold})`, runId: run.run_id };
  },
  duration_above: (r, s) => {
    const run = s.lastRun;
    if (!run) return { firing: false, summary: 'no run yet' };
    const took = showAge(run.duration_ms);
    return run.duration_ms > r.threshold!
      ? { firing: true, summary: `run ${run.run_id} took ${took}, longer than ${showAge(r.threshold!)}`, runId: run.run_id }
      : { firing: false, summary: `run ${run.run_id} took ${took}`, runId: run.run_id };
  },
  success_rate_below: (r, s) => {
    // Over the rule's own `runs` when the snapshot has each run's outcome, else over the snapshot's window.
    const own = s.recent.outcomes?.slice(0, r.runs);
    const runs = own === undefined ? s.recent.runs : own.length;
    const rate = own === undefined ? s.recent.success_rate : own.length ? (own.split('s').length - 1) / own.length : 1;
    if (runs === 0) return { firing: false, summary: 'no run yet' };
    return rate < r.threshold!
      ? { firing: true, summary: `${pct(rate)} of the last ${plural(runs, 'run')} succeeded, below ${pct(r.threshold!)}` }
      : { firing: false, summary: `${pct(rate)} of the last ${plural(runs, 'run')} succeeded` };
  },
  freshness: (r, s, now) => {
    if (!s.lastSuccessAt) {
      // A pipeline that never ran is not stale yet; one that ran and never succeeded is.
      return s.lastRun || s.recent.runs > 0
        ? { firing: true, summary: `no successful run yet (allowed age ${showAge(r.maxAgeMs!)})` }
        : { firing: false, summary: 'no run yet' };
    }
    const age = now.getTime() - s.lastSuccessAt.getTime();
    return age > r.maxAgeMs!
      ? { firing: true, summary: `last successful run ${showAge(age)} ago (at ${s.lastSuccessAt.toISOString()}), older than ${showAge(r.maxAgeMs!)}` }
      : { firing: false, summary: `last successful run ${showAge(age)} ago` };
  },
  dlq_growth: (r, s) => {
    const now = r.stream ? s.dlqRowsByStream?.[r.stream] ?? 0 : s.dlqRows;
    const before = r.stream ? s.previousDlqRowsByStream?.[r.stream] : s.previousDlqRows;
    const where = r.stream ? `stream ${r.stream}'s dead-letter queue` : 'the dead-letter queue';
    if (before === undefined) return { firing: false, summary: `${plural(now, 'row')} in ${where}` };
    const added = now - before;
    return added >= r.threshold!
      ? { firing: true, summary: `${plural(added, 'row')} added to ${where} (now ${now})` }
      : { firing: false, summary: `no rows added to ${where} (now ${now})` };
  },
  pipeline_invalid: (_r, s) => (s.invalid
    ? { firing: true, summary: `the pipeline file is invalid: ${s.invalid}` }
    : { firing: false, summary: 'the pipeline file is valid' }),
  sync_lag: (r, s) => {
    const streams = watched(r, s);
    if (!streams.length) return { firing: false, summary: 'no sync stream running here' };
    const over = streams.map((v) => ({ v, over: overLimits(r, v) })).filter((x) => x.over.length);
    if (over.length) return { firing: true, summary: over.map((x) => `stream ${x.v.stream}: ${x.over.join(', ')}`).join('; ') };
    return { firing: false, summary: streams.map((v) => `stream ${v.stream}: ${v.lag ? `${bytesText(v.lag.lagBytes)} not applied` : 'lag not sampled yet'}`).join('; ') };
  },
  sync_stopped: (r, s) => {
    // A stream that failed is down until it streams again (its error is cleared then), whether it waits or retries.
    const down = watched(r, s).filter((v) => v.state !== 'streaming' && v.error);
    if (down.length) {
      return { firing: true, summary: down.map((v) => `stream ${v.stream} ${v.state === 'stopped' ? 'stopped' : 'failed and is starting again'}: ${v.error}`).join('; ') };
    }
    return { firing: false, summary: s.syncStreams?.length ? 'every stream is running' : 'no sync stream running here' };
  },
};

/** One rule over one pipeline: whether it holds, with the text to send. Summaries pass through redact(). */
export function evaluateRule(rule: AlertRule, snapshot: PipelineSnapshot, now: Date): RuleOutcome {
  const v = CONDITION[rule.when](rule, snapshot, now);
  return {
    rule, stream: rule.stream ?? '', firing: v.firing, summary: redact(`${snapshot.pipeline}: ${v.summary}`),
    severity: severityOf(rule), ...(v.runId ? { runId: v.runId } : {}),
  };
}

export const evaluateRules = (rules: readonly AlertRule[], snapshot: PipelineSnapshot, now: Date): RuleOutcome[] =>
  rules.map((r) => evaluateRule(r, snapshot, now));

/** How many recent runs `snapshot.recent` should cover: the widest success_rate_below window (20 without one). */
export const recentWindow = (rules: readonly AlertRule[]): number =>
  Math.max(0, ...rules.filter((r) => r.when === 'success_rate_below').map((r) => r.runs)) || 20;
