// A pipeline's health from its recent runs, by the requirement documents' rules (success rate below 0.9: warning;
// mean duration above its threshold: warning; last run failed: critical) plus a missed freshness SLA (critical),
// dead-lettered rows in the last run (warning) and an invalid pipeline file (warning: the last good version runs).
// Each finding comes with the issue and what to do about it.
import type { PipelineOverview } from '../control/service-records.js';
import type { ScheduleConfig } from '../config/schedule-spec.js';
import { showAge } from '../core/duration.js';

export type HealthStatus = 'healthy' | 'warning' | 'critical';

export interface PipelineHealth {
  status: HealthStatus;
  /** 100 when healthy; each warning costs 15, each critical finding 40. */
  score: number;
  issues: string[];
  recommendations: string[];
}

const RANK: Record<HealthStatus, number> = { healthy: 0, warning: 1, critical: 2 };
const worst = (a: HealthStatus, b: HealthStatus): HealthStatus => (RANK[a] >= RANK[b] ? a : b);

export function pipelineHealth(
  o: PipelineOverview | undefined,
  schedule: ScheduleConfig | undefined,
  opts: { now: Date; invalid?: string },
): PipelineHealth {
  const h: PipelineHealth = { status: 'healthy', score: 100, issues: [], recommendations: [] };
  const find = (level: Exclude<HealthStatus, 'healthy'>, issue: string, recommendation: string) => {
    h.status = worst(h.status, level);
    h.score = Math.max(0, h.score - (level === 'critical' ? 40 : 15));
    h.issues.push(issue);
    h.recommendations.push(recommendation);
  };
  if (opts.invalid) find('warning', `pipeline file invalid: ${opts.invalid}`, 'fix the file (`sluice validate`); its last good version keeps running');
  if (o && o.runs > 0) {
    const rate = o.succeeded / o.runs;
    if (rate < 0.9) find('warning', `low success rate: ${(rate * 100).toFixed(1)}% of the last ${o.runs} runs`, 'investigate recent failures (`sluice runs`)');
    const limit = schedule?.max_mean_duration ?? { ms: 300_000, text: '5m' };
    if (o.mean_duration_ms !== null && o.mean_duration_ms > limit.ms) {
      find('warning', `high mean run duration: ${(o.mean_duration_ms / 1000).toFixed(1)} s (threshold ${limit.text})`, 'optimize the pipeline (batch size, incremental cursor, concurrency) or raise max_mean_duration');
    }
    if (o.last_status === 'failed' || o.last_status === 'timed_out') find('critical', `last run ${o.last_run_id} ${o.last_status}`, 'immediate investigation required (`sluice runs show <id>`)');
    if (o.last_dead_lettered > 0) find('warning', `last run dead-lettered ${o.last_dead_lettered} rows`, 'inspect them with `sluice dlq list` and replay once fixed');
  }
  if (schedule?.freshness) {
    const age = o?.last_success_at ? opts.now.getTime() - Date.parse(o.last_success_at) : undefined;
    if (age === undefined || age > schedule.freshness.ms) {
      find('critical', age === undefined ? `no successful run yet (freshness SLA ${schedule.freshness.text})` : `data is ${showAge(age)} old (freshness SLA ${schedule.freshness.text})`,
        'check that the pipeline is scheduled and its runs succeed');
    }
  }
  return h;
}

/** The whole service: its worst pipeline. */
export function overallHealth(pipelines: Record<string, PipelineHealth>): { status: HealthStatus; score: number } {
  const all = Object.values(pipelines);
  return {
    status: all.reduce<HealthStatus>((s, p) => worst(s, p.status), 'healthy'),
    score: all.length ? Math.round(all.reduce((s, p) => s + p.score, 0) / all.length) : 100,
  };
}
