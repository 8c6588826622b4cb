// Alerts under `sluice serve`: each pipeline's rules (the project file's plus its own `alerts:`) evaluated on a
// snapshot of its recent record after each run and on a timer (freshness needs no run to go stale), and the outbox
// delivering them. Only the process holding the scheduler lease evaluates and delivers, so two serve processes
// never send the same alert twice.
import { parseAlerts, type AlertChannel, type AlertRule, type AlertsConfig } from '../config/alerts-spec.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RunSummary } from '../engine/runner.js';
import { Alerter } from '../observe/alerts/alerter.js';
import { Outbox } from '../observe/alerts/deliver.js';
import { recentWindow, type PipelineSnapshot } from '../observe/alerts/rules.js';
import { HEALTH_WINDOW } from '../observe/status.js';
import type { Service } from '../orchestrate/service.js';

export interface AlertingOptions {
  store: ControlStore;
  service: Service;
  logger: Logger;
  /** The project file's alerts as they are now (it is read again when it changes). */
  project?: () => AlertsConfig | undefined;
  /** How often every pipeline is evaluated and due deliveries are sent (ms). */
  intervalMs?: number;
  now?: () => Date;
}

interface PipelineAlerts {
  loaded: LoadedPipeline | undefined;
  project: AlertsConfig | undefined;
  rules: AlertRule[];
  alerter: Alerter;
}

export class Alerting {
  private readonly alerters = new Map<string, PipelineAlerts>();
  private outbox?: Outbox;
  private channelsKey = '';
  private channelCache?: { version: number; project: AlertsConfig | undefined; channels: Record<string, AlertChannel>; key: string };
  private timer?: NodeJS.Timeout;
  private evaluating = false;
  /** The project file's alerts, as evaluate() last read them. */
  private projectAlerts: AlertsConfig | undefined;
  /** Each pipeline's last run, so a timer tick reads a run's summary once, not every 15 s. */
  private readonly lastRuns = new Map<string, RunSummary>();

  constructor(private readonly o: AlertingOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? 15_000);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.outbox?.stop();
  }

  /** After a run: evaluate its pipeline now rather than at the next tick. */
  async runFinished(pipeline: string): Promise<void> {
    if (!this.o.service.scheduler.isLeader) return;
    await this.evaluate([pipeline]);
    await this.outbox?.deliverDue();
  }

  /** Every pipeline (or those named): rules over a fresh snapshot. */
  async evaluate(only?: string[]): Promise<void> {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      // The project file as it is now, looked at once for the whole evaluation (its outbox, every pipeline's rules).
      this.projectAlerts = this.o.project?.();
      this.refreshOutbox();
      const byName = [...this.served()].filter(([name]) => !only || only.includes(name))
        .map(([name, { loaded, invalid }]) => ({ name, invalid, alerts: this.alerterFor(name, loaded) }))
        .filter((p) => p.alerts);
      // No rule to evaluate: the record is not read (a service without alerts stays idle).
      if (!byName.length) return;
      // The record as it is now, not the status view (which may be a moment old: evaluating an older record after a
      // newer one would resolve an alert and fire it again). Over the widest success_rate_below window.
      const window = Math.max(HEALTH_WINDOW, recentWindow(byName.flatMap((p) => p.alerts?.rules ?? [])));
      const overview = new Map((await this.o.store.pipelineOverview(window, only)).map((o) => [o.pipeline, o]));
      const dlqCounts = await this.o.store.dlqCounts();
      for (const { name, invalid, alerts } of byName) {
        if (!alerts) continue;
        const o = overview.get(name);
        const dlq = dlqCounts.filter((d) => d.pipeline === name);
        const syncStreams = this.o.service.syncStreams.views(name);
        const snapshot: PipelineSnapshot = {
          pipeline: name,
          ...(syncStreams.length ? { syncStreams } : {}),
          recent: { runs: o?.runs ?? 0, success_rate: o?.runs ? o.succeeded / o.runs : 1, mean_duration_ms: o?.mean_duration_ms ?? null, outcomes: o?.outcomes ?? '' },
          dlqRows: dlq.reduce((n, d) => n + d.rows, 0),
          dlqRowsByStream: Object.fromEntries(dlq.map((d) => [d.stream, d.rows])),
          ...(o?.last_success_at ? { lastSuccessAt: new Date(o.last_success_at) } : {}),
          ...(o?.last_run_id ? { lastRun: await this.lastRun(name, o.last_run_id) } : {}),
          ...(invalid ? { invalid } : {}),
        };
        await alerts.alerter.evaluate(snapshot);
      }
    } catch (e) {
      this.o.logger.error({ err: errorMessage(e) }, 'evaluating alerts failed');
    } finally {
      this.evaluating = false;
    }
  }

  private async tick(): Promise<void> {
    if (!this.o.service.scheduler.isLeader) {
      await this.outbox?.stop();
      return;
    }
    await this.evaluate();
    await this.outbox?.deliverDue();
  }

  /**
   * Pipelines and syncs by name with their valid version (a sync's has no alerts of its own: the project file's rules
   * apply) and, when the file is broken now, why; a never-valid file by its path.
   */
  private served(): Map<string, { loaded?: LoadedPipeline; invalid?: string }> {
    const out = new Map<string, { loaded?: LoadedPipeline; invalid?: string }>();
    for (const e of this.o.service.pipelines.all()) {
      const name = e.loaded?.config.pipeline ?? e.sync?.config.sync ?? e.file;
      out.set(name, { ...(e.loaded ? { loaded: e.loaded } : {}), ...(e.error ? { invalid: e.error } : {}) });
    }
    return out;
  }

  /** The project's rules plus the pipeline's own; rebuilt when the pipeline's file changes. */
  private alerterFor(name: string, loaded: LoadedPipeline | undefined): PipelineAlerts | undefined {
    const known = this.alerters.get(name);
    const project = this.projectAlerts;
    if (known && known.loaded === loaded && known.project === project) return known;
    const own = this.ownAlerts(loaded);
    const rules = [...(project?.rules ?? []), ...(own?.rules ?? [])];
    if (!rules.length) {
      this.alerters.delete(name);
      return undefined;
    }
    const alerter = new Alerter(this.o.store, { channels: this.channels(), rules }, { logger: this.o.logger, ...(this.o.now ? { now: this.o.now } : {}) });
    const entry = { loaded, project, rules, alerter };
    this.alerters.set(name, entry);
    return entry;
  }

  private ownAlerts(loaded: LoadedPipeline | undefined): AlertsConfig | undefined {
    if (loaded?.config.alerts === undefined) return undefined;
    const r = parseAlerts(loaded.config.alerts, { knownChannels: Object.keys(this.projectAlerts?.channels ?? {}) });
    if (r.ok) return r.config;
    this.o.logger.error({ pipeline: loaded.config.pipeline, issues: r.issues.map((i) => i.text) }, 'the pipeline\'s alerts name channels nobody defines: its own rules are ignored');
    return undefined;
  }

  /**
   * Every channel: the project's, then each pipeline's own (a name the project defines keeps the project's). Worked out
   * again only when a pipeline file or the project's alerts changed: it is asked after every run.
   */
  private channels(): Record<string, AlertChannel> {
    const version = this.o.service.pipelines.version;
    const c = this.channelCache;
    if (c && c.version === version && c.project === this.projectAlerts) return c.channels;
    const out: Record<string, AlertChannel> = {};
    for (const { loaded } of this.served().values()) Object.assign(out, this.ownAlerts(loaded)?.channels ?? {});
    const channels = Object.assign(out, this.projectAlerts?.channels ?? {});
    this.channelCache = { version, project: this.projectAlerts, channels, key: JSON.stringify(channels) };
    return channels;
  }

  private refreshOutbox(): void {
    const channels = this.channels();
    const key = this.channelCache!.key;
    if (this.outbox && key === this.channelsKey) return;
    void this.outbox?.stop();
    this.channelsKey = key;
    this.outbox = new Outbox(this.o.store, channels, { logger: this.o.logger, ...(this.o.now ? { now: this.o.now } : {}) });
  }

  private async lastRun(pipeline: string, runId: string): Promise<RunSummary | undefined> {
    const cached = this.lastRuns.get(pipeline);
    if (cached?.run_id === runId) return cached;
    const summary = (await this.o.store.getRun(runId))?.summary as RunSummary | undefined;
    if (summary) this.lastRuns.set(pipeline, summary);
    return summary;
  }
}
