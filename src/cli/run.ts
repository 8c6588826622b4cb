// `sluice run <pipeline.yaml> [--json] [--full-refresh] [--stream NAME…] [--dry-run]`
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import type { PipelineConfig } from '../config/types.js';
import { getSourceSpec } from '../connectors/registry.js';
import { checkWorkerDestination, queueFlags } from '../workers/queue.js';
import type { Dispatcher } from '../workers/dispatch.js';
import { createLogger } from '../core/logger.js';
import { type RunSummary, runPipeline } from '../engine/runner.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { STEPS_SEMI_SPACE_MB, settleYoungGeneration } from './heap.js';
import { printError } from './print-error.js';
import { Progress } from './progress.js';
import { printSummary } from './summary.js';

export const runCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('run')
      .description('run a pipeline')
      .argument('<pipeline>', 'pipeline file (YAML)')
      .option('--json', 'print one JSON object with the run summary on stdout')
      .option('--full-refresh', 'ignore saved state and reload every stream from scratch (replaces target tables)')
      .option('--stream <names...>', 'run only these streams')
      .option('--dry-run', 'extract, transform and validate, but load nothing and keep no state')
      .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
      .option('--workers', 'run each stream as a task of `sluice worker` processes (needs SLUICE_CONTROL_URL and a server destination)')
      .option('--redis <url>', 'with --workers: the task queue\'s Redis (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
      .option('--queue <name>', 'with --workers: the queue (default $SLUICE_QUEUE or sluice-tasks)')
      .action(async (file: string, o: RunFlags) => {
        setExit(await runFile(file, o));
      });
  },
};

interface RunFlags {
  json?: boolean;
  fullRefresh?: boolean;
  stream?: string[];
  dryRun?: boolean;
  logLevel?: string;
  workers?: boolean;
  redis?: string;
  queue?: string;
}

/** Runs a pipeline file as `sluice run` does (signals, progress, summary); `trigger` says why, for the audit trail. */
export async function runFile(file: string, o: RunFlags, trigger?: string): Promise<number> {
  // On a terminal the progress display replaces info logs; elsewhere structured logs go to stderr.
  const tty = process.stderr.isTTY && !o.json;
  const logger = createLogger(o.logLevel ?? process.env.SLUICE_LOG_LEVEL ?? (tty ? 'warn' : 'info'));
  // The first SIGINT/SIGTERM drains (streams commit the batch in flight and stop at a checkpoint); a second one
  // aborts at once, rolling back what is not committed.
  const drain = new AbortController();
  const controller = new AbortController();
  const stop = (signal: string) => () => {
    if (!drain.signal.aborted) {
      logger.warn({ signal }, 'stopping: committing the batch in flight (send the signal again to abort)');
      drain.abort(new Error(`received ${signal}`));
    } else {
      logger.warn({ signal }, 'aborting: rolling back what is not committed');
      controller.abort(new Error(`received ${signal}`));
    }
  };
  const onInt = stop('SIGINT');
  const onTerm = stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const progress = tty ? new Progress(process.stderr) : undefined;
  let summary: RunSummary;
  let dispatcher: Dispatcher | undefined;
  try {
    const loaded = await loadPipelineFile(file);
    settleYoungGeneration(youngGenerationMb(loaded.config));
    const workers = queueFlags(o);
    if (workers) {
      checkWorkerDestination(loaded.config);
      dispatcher = await (await import('../workers/dispatch.js')).Dispatcher.open(workers, logger);
    }
    summary = await runPipeline(loaded, {
      fullRefresh: o.fullRefresh, streams: o.stream, dryRun: o.dryRun, logger, signal: controller.signal, drain: drain.signal,
      ...(trigger ? { trigger } : {}),
      onProgress: progress ? (s, c) => progress.update(s, c) : undefined,
      ...(dispatcher ? { dispatch: await dispatcher.dispatchFor(loaded) } : {}),
    });
  } catch (e) {
    progress?.stop();
    printError(e);
    return exitCodeFor(e);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await dispatcher?.close();
  }
  progress?.stop();
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else printSummary(summary, process.stdout);
  return summary.status === 'success' ? EXIT.success : summary.status === 'partial_success' ? EXIT.partial : EXIT.failed;
}

/**
 * The young generation of the pipeline's run (src/cli/heap.ts): with transforms or checks, STEPS_SEMI_SPACE_MB;
 * otherwise the largest its sources ask for, if every one asks.
 */
export function youngGenerationMb(config: PipelineConfig): number | undefined {
  const steps = [...Object.values(config.transforms ?? {}), ...Object.values(config.checks ?? {})];
  if (steps.some((s) => s.length > 0)) return STEPS_SEMI_SPACE_MB;
  const sizes = config.sources.map((s) => getSourceSpec(s.type)?.youngGenerationMb);
  return sizes.length > 0 && sizes.every((mb) => mb !== undefined) ? Math.max(...(sizes as number[])) : undefined;
}
