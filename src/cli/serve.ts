// `sluice serve <dir|file…> [--port 8484] [--host 127.0.0.1] [--token-file F] [--max-concurrent N]`: runs every
// pipeline given on its schedule, mode: hash sync files on theirs and mode: cdc sync files continuously, and serves the
// HTTP API and `/metrics` until SIGTERM/SIGINT, which drains.
import type { Command } from 'commander';
import { openControlStore } from '../control/open.js';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { startServer } from '../server/serve.js';
import { loadTokens } from '../server/tokens.js';
import { queueFlags } from '../workers/queue.js';
import { checkWorkerSetup } from '../workers/redis-policy.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { settleYoungGeneration } from './heap.js';
import { printError } from './print-error.js';
import { intOption } from './int-option.js';

interface ServeOptions {
  port: string; host: string; tokenFile?: string; maxConcurrent: string; lease: string; syncSample: string; logLevel?: string;
  workers?: boolean; redis?: string; queue?: string;
}

function durationMs(option: string, raw: string, min: { ms: number; text: string }): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms < min.ms) throw new ConfigError(`${option}: expected a duration of at least ${min.text} such as 15s or 1m, got "${raw}"`);
  return ms;
}

export const serveCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('serve')
      .description('run pipelines and syncs on their schedules (cdc syncs continuously) and serve the HTTP API and /metrics (SIGTERM drains)')
      .argument('<paths...>', 'pipeline and sync files, or directories of them (*.yaml)')
      .option('--port <port>', 'HTTP port (0: any free port)', '8484')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--token-file <file>', 'API tokens, one `name: token [read-only|operator|admin]` per line, admin when no role is given (else SLUICE_TOKEN, SLUICE_OPERATOR_TOKEN, SLUICE_READ_TOKEN)')
      .option('--max-concurrent <n>', 'runs going at once across all pipelines', '4')
      .option('--lease <duration>', 'scheduler lease: how long after a leader stops renewing another serve process on the same control store takes over', '15s')
      .option('--sync-sample <duration>', 'how often the lag of each mode: cdc sync stream is read from its source (for /metrics and alerts)', '15s')
      .option('--workers', 'runs dispatch their streams to `sluice worker` processes (needs SLUICE_CONTROL_URL and server destinations)')
      .option('--redis <url>', 'with --workers: the task queue\'s Redis (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
      .option('--queue <name>', 'with --workers: the queue (default $SLUICE_QUEUE or sluice-tasks)')
      .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
      .action(async (paths: string[], o: ServeOptions) => {
        setExit(await serve(paths, o));
      });
  },
};

async function serve(paths: string[], o: ServeOptions): Promise<number> {
  const logger = createLogger(o.logLevel ?? process.env.SLUICE_LOG_LEVEL ?? 'info');
  const store = openControlStore();
  try {
    const tokens = loadTokens({ file: o.tokenFile });
    const workers = queueFlags(o);
    // Checked before serving, so a misconfiguration is not first met by a scheduled run at night.
    if (workers) await checkWorkerSetup(workers.redisUrl);
    const server = await startServer({
      ...(workers ? { workers } : {}),
      paths, store, logger, tokens, port: intOption('--port', o.port, 0), host: o.host, maxConcurrent: intOption('--max-concurrent', o.maxConcurrent, 1),
      leaseMs: durationMs('--lease', o.lease, { ms: 1000, text: '1s' }), syncStreams: { lagSampleMs: durationMs('--sync-sample', o.syncSample, { ms: 100, text: '0.1s' }) },
    });
    // 8 MB semi-spaces, as the SQL sources ask for (src/cli/heap.ts): idle RSS with 1,000 pipelines measured 160 MB
    // with V8's default young generation.
    settleYoungGeneration(8);
    process.stderr.write(`sluice serve: ${server.service.pipelines.pipelines().size} pipelines, ${server.service.pipelines.syncs().size} syncs, API on ${server.url}\n`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => () => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting without waiting for runs');
          process.exit(EXIT.failed);
        }
        stopping = true;
        logger.warn({ signal }, 'draining: running streams stop at their next checkpoint (send the signal again to exit at once)');
        void server.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', stop('SIGTERM'));
      process.once('SIGINT', stop('SIGINT'));
    });
    return EXIT.success;
  } catch (e) {
    printError(e);
    return exitCodeFor(e);
  } finally {
    await store.close();
  }
}
