// `sluice serve` assembled: the service (pipelines, scheduler, executor), the status view and metrics fed by its
// finished runs, and the HTTP API on a port. `stop()` drains: no new runs, running streams stop at their next
// checkpoint and commit, the scheduler lease is released, the port closes.
import type { AddressInfo } from 'node:net';
import { serve as listen } from '@hono/node-server';
import type { ControlStore } from '../control/control-store.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../observe/metrics.js';
import { StatusView } from '../observe/status.js';
import { RetentionSweep } from '../orchestrate/retention-sweep.js';
import { Service, type ServiceOptions } from '../orchestrate/service.js';
import { sluiceHome } from '../control/open.js';
import { ProjectFileWatch, findProjectFile } from '../config/project-file.js';
import { Alerting } from './alerting.js';
import { createApi } from './api.js';
import type { Token } from './tokens.js';

export interface ServerOptions extends ServiceOptions {
  store: ControlStore;
  logger: Logger;
  tokens: Token[];
  /** Between two retention sweeps (ms; default an hour) and how often the lease is looked at for one (default 5 s). */
  retention?: { intervalMs?: number; checkMs?: number };
  /** How often alerts are evaluated and due deliveries sent (ms; default 15 s). */
  alertIntervalMs?: number;
  port?: number;
  host?: string;
}

export interface RunningServer {
  service: Service;
  metrics: Metrics;
  status: StatusView;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  // A broken project file stops serve before any work, like a broken pipeline file stops a run.
  const project = new ProjectFileWatch(o.paths, await findProjectFile(o.paths, o.env), o.env);
  // Read again when it changes (each alert evaluation asks); a broken edit keeps the last good version, and says so.
  let projectError: string | undefined;
  const projectAlerts = () => {
    const { config, changed } = project.current();
    if (changed) o.logger.info({ file: config.file }, 'the project file changed: its alerts are in force');
    if (project.error !== projectError) {
      projectError = project.error;
      if (projectError) o.logger.error({ err: projectError }, 'the project file is invalid: its last good version stays in force');
    }
    return config.alerts;
  };
  const service = new Service(o);
  const status = new StatusView(o.store, () => {
    const served = [...service.pipelines.pipelines(), ...service.pipelines.syncs()].map(([name, { entry, loaded }]) => ({
      name, schedule: loaded.config.schedule, ...(entry.error ? { invalid: entry.error } : {}),
    }));
    return served;
  });
  const metrics = new Metrics(status, { running: () => service.executor.running().length, leader: () => service.scheduler.isLeader, syncs: () => service.syncStreams.views() });
  const alerting = new Alerting({ store: o.store, service, logger: o.logger, project: projectAlerts, intervalMs: o.alertIntervalMs, now: o.now });
  service.observe({
    async runFinished(req, outcome) {
      status.invalidate();
      const lag = req.trigger === 'schedule' && req.attempt === 0 && outcome.startedAt
        ? (outcome.startedAt.getTime() - req.scheduledFor.getTime()) / 1000 : undefined;
      metrics.recordRun(req.pipeline, outcome.status, outcome.summary, lag);
      await alerting.runFinished(req.pipeline);
    },
    syncProgress(sync, stream, delta) {
      metrics.recordSync(sync, stream, delta);
    },
    syncFailed(sync) {
      metrics.recordSyncFailure(sync);
    },
    async pipelinesChanged() {
      status.invalidate(true);
      if (service.scheduler.isLeader) await alerting.evaluate();
    },
  });
  const retention = new RetentionSweep({
    service, store: o.store, logger: o.logger, home: o.syncStreams?.home ?? sluiceHome(o.env), ...o.retention, ...(o.now ? { now: o.now } : {}),
  });
  await service.start();
  alerting.start();
  retention.start();
  const app = createApi({ service, store: o.store, status, metrics, tokens: o.tokens, logger: o.logger });
  let server: ReturnType<typeof listen>;
  try {
    server = await new Promise<ReturnType<typeof listen>>((resolve, reject) => {
      const s = listen({ fetch: app.fetch, port: o.port ?? 8484, hostname: o.host ?? '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (e) {
    // The port is taken (or not ours to bind): nothing may go on scheduling behind a serve that failed to start.
    await service.stop();
    await alerting.stop();
    await retention.stop();
    throw e;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  o.logger.info({ url, pipelines: service.pipelines.pipelines().size, syncs: service.pipelines.syncs().size }, 'serving');
  return {
    service, metrics, status, url,
    async stop() {
      await service.stop();
      await alerting.stop();
      await retention.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
