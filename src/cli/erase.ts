// `sluice erase <pipeline.yaml> --key <column>=<value>`: a data subject erased from the pipeline's tables and its
// dead-letter queue, and suppressed in later runs (src/privacy/erase.ts). The value is never printed back.
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import { openControlStore } from '../control/open.js';
import { osUser } from '../engine/runner.js';
import { eraseSubject, liftSuppression, parseSubjectKey, type EraseReport } from '../privacy/erase.js';
import { act, type CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';

interface EraseOptions { key: string; dryRun?: boolean; anonymise?: boolean; suppress: boolean; lift?: boolean; json?: boolean }

export const eraseCommand: CliCommand = {
  register(program: Command, setExit) {
    program.command('erase')
      .description('erase one data subject from everywhere the pipeline put it (its tables, SCD2 history and child tables, its dead-letter queue) and keep later runs from loading it again')
      .argument('<pipeline>', 'pipeline file')
      .requiredOption('--key <column=value>', 'the subject: a column of the loaded tables and its value')
      .option('--dry-run', 'count what would be erased; change nothing')
      .option('--anonymise', 'blank the streams\' pii columns instead of deleting the rows (default: the pipeline\'s `privacy.erasure`)')
      .option('--no-suppress', 'do not put the subject on the suppression list')
      .option('--lift', 'take the subject off the suppression list instead: later runs load its rows again')
      .option('--json', 'print the report as JSON')
      .action((file: string, o: EraseOptions) => act(setExit, async () => {
        const key = parseSubjectKey(o.key);
        const loaded = await loadPipelineFile(file);
        const store = openControlStore();
        try {
          if (o.lift) {
            const lifted = await liftSuppression(loaded, store, key, osUser());
            process.stdout.write(o.json ? JSON.stringify({ pipeline: loaded.config.pipeline, column: key.column, lifted }) + '\n'
              : lifted ? `the subject (${key.column}) is no longer suppressed: later runs load its rows\n` : `no suppressed subject with that ${key.column}\n`);
            return EXIT.success;
          }
          const report = await eraseSubject(loaded, store, { key, dryRun: o.dryRun, anonymise: o.anonymise, suppress: o.suppress, actor: osUser() });
          process.stdout.write(o.json ? JSON.stringify(report) + '\n' : describe(report));
          return EXIT.success;
        } finally {
          await store.close();
        }
      }));
  },
};

function describe(r: EraseReport): string {
  const verb = r.dry_run ? 'would erase' : r.mode === 'anonymise' ? 'anonymised' : 'erased';
  const lines = [`${r.dry_run ? 'dry run: ' : ''}${verb} the subject (${r.column}) in pipeline ${r.pipeline}:`];
  const width = Math.max(20, ...r.tables.map((t) => t.table.length));
  for (const t of r.tables) lines.push(`  ${t.table.padEnd(width)}  ${t.rows} row${t.rows === 1 ? '' : 's'}${t.kind === 'child' ? ' (child table)' : ''}`);
  if (r.tables.length === 0) lines.push('  no loaded table has that column');
  lines.push(`  ${'dead-letter queue'.padEnd(width)}  ${r.dlq.entries} entr${r.dlq.entries === 1 ? 'y' : 'ies'}`);
  if (r.dlq.unreadable) lines.push(`  ${r.dlq.unreadable} dead-letter entries are encrypted with a key this process does not have: not checked (set SLUICE_ENCRYPTION_KEY or SLUICE_ENCRYPTION_OLD_KEYS and erase again)`);
  if (r.suppressed) lines.push('suppressed: later runs filter this subject\'s rows out (`sluice erase --lift` to undo)');
  return lines.join('\n') + '\n';
}
