// `sluice gc [paths…] [--dry-run] [--json]`: applies the `retention:` of each pipeline and sync file given (files, or
// directories of them; the current directory, the project, when none) — old dead-letter entries, runs, run log lines
// and change-log events deleted (src/orchestrate/retention.ts). `sluice serve` does the same every hour.
import type { Command } from 'commander';
import { openControlStore, sluiceHome } from '../control/open.js';
import { ConfigError } from '../core/errors.js';
import { osUser } from '../engine/runner.js';
import { PipelineSet } from '../orchestrate/pipeline-set.js';
import { applyPipelineRetention, applySyncRetention, type RetentionOutcome } from '../orchestrate/retention.js';
import { act, type CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';

interface GcOptions { dryRun?: boolean; json?: boolean }

const WORDS: [keyof RetentionOutcome['removed'], string][] = [
  ['dlq', 'dead-letter entries'], ['runs', 'runs'], ['log_lines', 'run log lines'], ['changes', 'change-log events'],
];

const line = (o: RetentionOutcome): string => {
  const counts = WORDS.filter(([k]) => o.removed[k] !== undefined).map(([k, w]) => `${o.removed[k]} ${w}`).join(', ');
  const horizons = Object.entries(o.horizons).map(([k, at]) => `${k} before ${at}`).join(', ');
  return `${o.kind} ${o.name}: ${counts} ${o.dry_run ? 'would be removed' : 'removed'} (${horizons})`;
};

export const gcCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('gc')
      .description('apply the retention: of pipeline and sync files: delete old dead-letter entries, runs, run logs and change-log events')
      .argument('[paths...]', 'pipeline and sync files, or directories of them (default: the current directory)')
      .option('--dry-run', 'count what would be deleted, delete nothing')
      .option('--json', 'print {dry_run, results: [{name, kind, file, horizons, removed}]} as one JSON object')
      .action((paths: string[], o: GcOptions) => act(setExit, () => gc(paths.length ? paths : ['.'], o)));
  },
};

async function gc(paths: string[], o: GcOptions): Promise<number> {
  const files = new PipelineSet(paths);
  await files.refresh();
  // One invalid file stops the whole pass before anything is deleted: its retention cannot be known.
  const invalid = files.all().filter((e) => e.error);
  if (invalid.length) throw new ConfigError(invalid.map((e) => e.error).join('\n'));
  const store = openControlStore();
  const results: RetentionOutcome[] = [];
  try {
    const opts = { store, home: sluiceHome(), actor: osUser(), dryRun: !!o.dryRun, now: new Date() };
    for (const { loaded } of files.pipelines().values()) {
      const r = await applyPipelineRetention(loaded, opts);
      if (r) results.push(r);
    }
    for (const { loaded } of files.syncs().values()) {
      const r = await applySyncRetention(loaded, opts);
      if (r) results.push(r);
    }
  } finally {
    await store.close();
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ dry_run: !!o.dryRun, results })}\n`);
  else process.stdout.write(results.length ? `${results.map(line).join('\n')}\n` : 'no pipeline or sync file here sets retention:\n');
  return EXIT.success;
}
