// Keeps one alert per (rule, pipeline, stream) in the store: a condition that becomes true fires it (one outbox
// delivery per channel, an audit entry), a condition that stays true is sent again only after the rule's `repeat`,
// and a condition that clears resolves it. Delivery is the Outbox's (deliver.ts): evaluate() never waits on a channel.
import { createHash } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import { redact } from '../../core/redact.js';
import type { AlertState, ServiceStore } from '../../control/service-records.js';
import type { AlertsConfig, Severity } from '../../config/alerts-spec.js';
import { evaluateRule, type PipelineSnapshot, type RuleOutcome } from './rules.js';

/** What a channel receives (DESIGN.md: the webhook body). */
export interface AlertBody {
  event: 'alert.firing' | 'alert.resolved';
  rule: string;
  pipeline: string;
  stream?: string;
  dedup_key: string;
  summary: string;
  severity: Severity;
  run_id?: string;
  at: string;
}

/** Stable across runs and processes: the same (rule, pipeline, stream) always gives the same key. */
export const dedupKey = (rule: string, pipeline: string, stream: string): string =>
  createHash('sha256').update(JSON.stringify([rule, pipeline, stream])).digest('hex').slice(0, 32);

export interface AlertAction {
  rule: string;
  pipeline: string;
  stream: string;
  action: 'fired' | 'repeated' | 'resolved';
  /** Outbox ids, one per channel. */
  deliveries: number[];
}

export interface AlerterOptions {
  logger: Logger;
  now?: () => Date;
  /** Who the audit entries name (default `alerts`). */
  actor?: string;
}

export class Alerter {
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly actor: string;
  /** DLQ sizes at the last evaluation, by pipeline and stream ('' = whole pipeline), for dlq_growth. */
  private readonly lastDlq = new Map<string, number>();

  constructor(private readonly store: ServiceStore, private readonly config: AlertsConfig, opts: AlerterOptions) {
    this.logger = opts.logger;
    this.now = opts.now ?? (() => new Date());
    this.actor = opts.actor ?? 'alerts';
  }

  /**
   * Applies every rule to the pipeline's snapshot and records what changed. A rule whose store writes fail is
   * logged and skipped (the next evaluation tries again); evaluate() itself does not throw.
   */
  async evaluate(snapshot: PipelineSnapshot): Promise<AlertAction[]> {
    const now = this.now();
    const snap = this.withPreviousDlq(snapshot);
    const actions: AlertAction[] = [];
    for (const rule of this.config.rules) {
      try {
        const action = await this.apply(evaluateRule(rule, snap, now), snap.pipeline, now);
        if (action) actions.push(action);
      } catch (e) {
        this.logger.error({ rule: rule.id, pipeline: snap.pipeline, error: redact(String((e as Error)?.message ?? e)) }, 'alert rule not recorded');
      }
    }
    return actions;
  }

  private withPreviousDlq(s: PipelineSnapshot): PipelineSnapshot {
    const key = (stream: string) => JSON.stringify([s.pipeline, stream]);
    const byStream: Record<string, number> = {};
    for (const stream of Object.keys(s.dlqRowsByStream ?? {})) {
      const before = s.previousDlqRowsByStream?.[stream] ?? this.lastDlq.get(key(stream));
      if (before !== undefined) byStream[stream] = before;
    }
    const previous = s.previousDlqRows ?? this.lastDlq.get(key(''));
    this.lastDlq.set(key(''), s.dlqRows);
    for (const [stream, rows] of Object.entries(s.dlqRowsByStream ?? {})) this.lastDlq.set(key(stream), rows);
    return { ...s, ...(previous !== undefined ? { previousDlqRows: previous } : {}), previousDlqRowsByStream: byStream };
  }

  private async apply(o: RuleOutcome, pipeline: string, now: Date): Promise<AlertAction | undefined> {
    const rule = o.rule.id;
    const open = await this.store.getAlert(rule, pipeline, o.stream);
    const at = now.toISOString();
    const isFiring = open?.status === 'firing';
    if (o.firing) {
      const due = !isFiring || now.getTime() - Date.parse(open.lastSentAt) >= o.rule.repeatMs;
      const state: AlertState = {
        rule, pipeline, stream: o.stream, status: 'firing', dedupKey: dedupKey(rule, pipeline, o.stream),
        summary: o.summary, severity: o.severity, openedAt: isFiring ? open.openedAt : at,
        lastSentAt: due ? at : open!.lastSentAt, resolvedAt: null,
      };
      await this.store.saveAlert(state);
      if (!due) return undefined;
      return this.send(state, o, 'alert.firing', isFiring ? 'repeated' : 'fired', at);
    }
    if (!isFiring) return undefined;
    const state: AlertState = { ...open, status: 'resolved', summary: o.summary, lastSentAt: at, resolvedAt: at };
    await this.store.saveAlert(state);
    return this.send(state, o, 'alert.resolved', 'resolved', at);
  }

  private async send(a: AlertState, o: RuleOutcome, event: AlertBody['event'], action: AlertAction['action'], at: string): Promise<AlertAction> {
    const body: AlertBody = {
      event, rule: a.rule, pipeline: a.pipeline, ...(a.stream ? { stream: a.stream } : {}), dedup_key: a.dedupKey,
      summary: a.summary, severity: a.severity, ...(o.runId ? { run_id: o.runId } : {}), at,
    };
    const deliveries: number[] = [];
    for (const channel of o.rule.channels) deliveries.push(await this.store.enqueueDelivery(channel, { ...body }));
    await this.store.appendAudit({
      actor: this.actor, action: event === 'alert.firing' ? 'alert.sent' : 'alert.resolved', pipeline: a.pipeline,
      ...(o.runId ? { runId: o.runId } : {}), at: new Date(at),
      detail: {
        rule: a.rule, stream: a.stream, dedup_key: a.dedupKey, severity: a.severity, summary: a.summary,
        channels: o.rule.channels, deliveries, ...(action === 'repeated' ? { repeat: true } : {}),
      },
    });
    this.logger.info({ rule: a.rule, pipeline: a.pipeline, stream: a.stream || undefined, event, channels: o.rule.channels }, `alert ${action}: ${a.summary}`);
    return { rule: a.rule, pipeline: a.pipeline, stream: a.stream, action, deliveries };
  }
}
