// `sluice backfill <pipeline.yaml> --from A --to B [--by day|week|month|N] [--parallel N] [--stream S…] [--json]`:
// reload a cursor range in bounded windows, each recorded; the same command after a crash resumes.
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import { openControlStore } from '../control/open.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { osUser } from '../engine/runner.js';
import { parseStep, runBackfill } from '../orchestrate/backfill.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

interface BackfillCliOptions { from: string; to: string; by?: string; parallel: string; stream?: string[]; json?: boolean; logLevel?: string }

export const backfillCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('backfill')
      .description('reload a range of the cursor in bounded windows, each recorded and resumable; the stream\'s state is left as it is')
      .argument('<pipeline>', 'pipeline file (YAML)')
      .requiredOption('--from <value>', 'start of the range, inclusive: a date, a timestamp or a number')
      .requiredOption('--to <value>', 'end of the range, exclusive')
      .option('--by <step>', 'window size: day, week, month, or a number for numeric cursors (default: one window)')
      .option('--parallel <n>', 'windows at once (destinations with one writer, DuckDB and SQLite, take them one at a time)', '1')
      .option('--stream <names...>', 'only these streams (each needs a cursor and a primary key)')
      .option('--json', 'print the backfill record as one JSON object')
      .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
      .action(async (file: string, o: BackfillCliOptions) => {
        setExit(await backfill(file, o));
      });
  },
};

async function backfill(file: string, o: BackfillCliOptions): Promise<number> {
  const logger = createLogger(o.logLevel ?? process.env.SLUICE_LOG_LEVEL ?? 'warn');
  const store = openControlStore();
  const drain = new AbortController();
  const onSignal = () => drain.abort(new Error('signal'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const parallel = Number(o.parallel);
    if (!Number.isInteger(parallel) || parallel < 1) throw new ConfigError(`--parallel: expected an integer ≥ 1, got "${o.parallel}"`);
    const loaded = await loadPipelineFile(file);
    const oneWriter = ['duckdb', 'sqlite'].includes(loaded.config.destination.type);
    const record = await runBackfill(loaded, {
      store, from: o.from, to: o.to, by: parseStep(o.by), parallel: oneWriter ? 1 : parallel, actor: osUser(), logger, drain: drain.signal,
      ...(o.stream ? { streams: o.stream } : {}),
      onWindow: o.json ? undefined : (_b, w) => process.stderr.write(`  window [${w.from}, ${w.to}) ${w.status}${w.runId ? `  run ${w.runId}` : ''}${w.error ? `: ${w.error}` : ''}\n`),
    });
    if (o.json) process.stdout.write(JSON.stringify(record) + '\n');
    else {
      const done = record.windows.filter((w) => w.status === 'success' || w.status === 'partial_success').length;
      process.stdout.write(`backfill ${record.id} of ${record.pipeline}: ${record.status}, ${done}/${record.windows.length} windows done\n`);
    }
    return record.status === 'success' ? EXIT.success : record.status === 'partial_success' ? EXIT.partial : EXIT.failed;
  } catch (e) {
    printError(e);
    return exitCodeFor(e);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
}
