// What one worker did, for Prometheus: its tasks by outcome, the rows they moved, the time they took, what runs now.
// Served by `sluice worker --metrics-port N` at /metrics (with the process metrics) and /health. Labels are pipeline,
// stream, status and outcome only: never a run id.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { StreamResult } from '../engine/stream-task.js';
import { CounterFamily, GaugeFamily, HistogramFamily, type Chunk } from '../observe/exposition.js';

const OUTCOMES = ['extracted', 'loaded', 'dead_lettered', 'filtered'] as const;
const TASK_BUCKETS = [0.5, 5, 30, 120, 600, 1800, 7200];

export class WorkerMetrics {
  private readonly process = new Registry();
  private readonly tasks = new CounterFamily('sluice_worker_tasks_total', 'Tasks this worker ended, by status (failed: the stream failed, or the task could not start).', ['pipeline', 'status']);
  private readonly rows = new CounterFamily('sluice_worker_rows_total', 'Rows of the tasks this worker ended, by outcome: extracted = loaded + dead_lettered + filtered.', ['pipeline', 'stream', 'outcome']);
  private readonly duration = new HistogramFamily('sluice_worker_task_duration_seconds', 'How long this worker\'s tasks ran.', ['pipeline'], TASK_BUCKETS);
  private readonly running: GaugeFamily;
  private active = 0;

  constructor(readonly name: string) {
    collectDefaultMetrics({ register: this.process, eventLoopMonitoringPrecision: 100 });
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.process.removeSingleMetric(n);
    this.running = new GaugeFamily('sluice_worker_tasks_running', 'Tasks this worker runs now.', [], (set) => set([], this.active));
  }

  started(): void {
    this.active++;
  }

  /** A task ended: with its stream's result, or without one (it could not start). */
  ended(pipeline: string, seconds: number, result?: StreamResult): void {
    this.active--;
    this.tasks.inc([pipeline, result?.status ?? 'failed']);
    this.duration.observe([pipeline], seconds);
    if (result) for (const o of OUTCOMES) this.rows.inc([pipeline, result.stream, o], result.counts[o]);
  }

  async text(): Promise<string> {
    const out: Chunk[] = [await this.process.metrics()];
    for (const f of [this.tasks, this.rows, this.duration, this.running]) f.render(out);
    return out.map((c) => (typeof c === 'string' ? c : c.toString())).join('');
  }

  /** /metrics and /health on `host:port` (port 0: any free one). */
  async listen(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void this.text().then((t) => res.writeHead(200, { 'content-type': this.process.contentType }).end(t), () => res.writeHead(500).end());
      } else if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ worker: this.name, tasks_running: this.active }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, () => ok()));
    return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
  }
}
