// `sluice worker [--redis URL] [--concurrency N]`: run stream tasks that `sluice run --workers` dispatches, until
// stopped. `sluice workers [--redis URL] [--json]`: the workers connected to the queue and the tasks they are running.
import type { Command } from 'commander';
import { Queue } from 'bullmq';
import type { SourceSlice } from '../core/connector.js';
import { createLogger } from '../core/logger.js';
import { sluiceHome } from '../control/open.js';
import { connectionOf, queueOf, redisUrlOf, type TaskJob } from '../workers/queue.js';
import { startWorker } from '../workers/worker.js';
import { act, type CliCommand } from './command.js';
import { intOption } from './int-option.js';
import { EXIT } from './exit-codes.js';

export const workerCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('worker')
      .description('run stream tasks dispatched by `sluice run --workers` (needs SLUICE_CONTROL_URL), until stopped')
      .option('--redis <url>', 'the task queue\'s Redis (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
      .option('--queue <name>', 'the queue to take tasks from (default $SLUICE_QUEUE or sluice-tasks)')
      .option('--concurrency <n>', 'tasks run at once', '1')
      .option('--lock-ms <ms>', 'a task whose worker stops renewing its lock this long is given to another worker', '30000')
      .option('--metrics-port <port>', 'serve Prometheus /metrics and /health on this port (0: any free one)')
      .option('--metrics-host <host>', 'the address /metrics listens on', '127.0.0.1')
      .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info')
      .action((o: WorkFlags) => act(setExit, () => work(o)));
    program
      .command('workers')
      .description('the workers connected to the task queue and the tasks they run')
      .option('--redis <url>', 'the task queue\'s Redis (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
      .option('--queue <name>', 'the queue (default $SLUICE_QUEUE or sluice-tasks)')
      .option('--json', 'print {workers, tasks} as one JSON object')
      .action((o: { redis?: string; queue?: string; json?: boolean }) => act(setExit, () => listWorkers(o)));
  },
};

interface WorkFlags {
  redis?: string;
  queue?: string;
  concurrency: string;
  lockMs: string;
  metricsPort?: string;
  metricsHost: string;
  logLevel: string;
}

async function work(o: WorkFlags): Promise<number> {
  const logger = createLogger(o.logLevel);
  const metricsPort = o.metricsPort === undefined ? undefined : intOption('--metrics-port', o.metricsPort, 0, 65535);
  const worker = await startWorker({
    redisUrl: redisUrlOf(o.redis), queue: queueOf(o.queue), concurrency: intOption('--concurrency', o.concurrency, 1), lockMs: intOption('--lock-ms', o.lockMs, 1),
    home: sluiceHome(), logger, ...(metricsPort === undefined ? {} : { metricsPort, metricsHost: o.metricsHost }),
  });
  await new Promise<void>((done) => {
    let stopping = false;
    const stop = (signal: string) => {
      logger.warn({ signal, worker: worker.name }, stopping ? 'aborting the running tasks' : 'stopping: finishing the running tasks, taking no new one (send it again to abort)');
      const force = stopping;
      stopping = true;
      void worker.close(force).then(done, done);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  logger.info({ worker: worker.name }, 'worker stopped');
  return EXIT.success;
}

async function listWorkers(o: { redis?: string; queue?: string; json?: boolean }): Promise<number> {
  const queue = new Queue<TaskJob>(queueOf(o.queue), { connection: connectionOf(redisUrlOf(o.redis)) });
  try {
    // A worker holds more than one named connection: one entry per worker name (the part after `:w:`).
    const byName = new Map<string, { name: string; addr: string; age_s: number; idle_s: number }>();
    for (const w of await queue.getWorkers()) {
      const name = (w.rawname ?? '').split(':w:')[1] ?? w.rawname ?? w.name;
      const seen = byName.get(name);
      const entry = { name, addr: w.addr, age_s: Number(w.age), idle_s: Number(w.idle) };
      if (!seen || entry.idle_s < seen.idle_s) byName.set(name, entry);
    }
    const workers = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    const tasks = (await queue.getJobs(['active', 'waiting', 'prioritized', 'delayed'])).filter(Boolean).map((j) => ({
      pipeline: j.data.pipeline, run_id: j.data.runId, stream: j.data.stream,
      // A slice of a split stream: its files, its key range or its share of parents, else its id.
      ...(j.data.slice ? { slice: sliceText(j.data.slice) } : {}),
      state: j.processedBy ? 'running' : 'waiting', worker: j.processedBy ?? null,
      ...(j.processedOn ? { started_at: new Date(j.processedOn).toISOString() } : {}),
      ...(j.progress && typeof j.progress === 'object' ? { counts: j.progress } : {}),
    }));
    if (o.json) {
      process.stdout.write(JSON.stringify({ workers, tasks }) + '\n');
    } else {
      process.stdout.write(`${workers.length} worker${workers.length === 1 ? '' : 's'}\n`);
      for (const w of workers) process.stdout.write(`  ${w.name}  ${w.addr}  up ${w.age_s}s  idle ${w.idle_s}s\n`);
      process.stdout.write(`${tasks.length} task${tasks.length === 1 ? '' : 's'}\n`);
      for (const t of tasks) process.stdout.write(`  ${t.pipeline} ${t.run_id} ${t.stream}${t.slice ? ` [${t.slice}]` : ''}  ${t.state}${t.worker ? ` on ${t.worker}` : ''}\n`);
    }
    return EXIT.success;
  } finally {
    await queue.close();
  }
}

/** A slice as `sluice workers` shows it. */
function sliceText(s: SourceSlice): string {
  if (s.files) return s.files.join(', ');
  if (s.keys) return `${s.keys.column} ${s.keys.lo}..${s.keys.hi}`;
  if (s.part) return `parents ${s.part.index + 1}/${s.part.of}`;
  return s.id;
}
