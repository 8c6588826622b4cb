// `sluice erase <pipeline.yaml> --key <column>=<value>`: a data subject erased from the pipeline's tables and its
// dead-letter queue, and suppressed in later runs (src/privacy/erase.ts). Given a sync file (a top-level `sync:` key,
// as `sluice gc` and `serve` tell them), from both sides of the sync, its base, change log and conflicts
// (src/sync/erase.ts). The value is never printed back.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadPipelineFile } from '../config/load.js';
import { loadSyncFile } from '../config/sync-spec.js';
import type { ControlStore } from '../control/control-store.js';
import { openControlStore } from '../control/open.js';
import { ConfigError } from '../core/errors.js';
import { osUser } from '../engine/runner.js';
import { eraseSubject, liftSuppression, parseSubjectKey, type EraseReport } from '../privacy/erase.js';
import type { SubjectKey } from '../privacy/erase-tables.js';
import { eraseFromSync, liftSyncSuppression, type SyncEraseReport } from '../sync/erase.js';
import { act, type CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';

interface EraseOptions { key: string; dryRun?: boolean; anonymise?: boolean; suppress: boolean; lift?: boolean; json?: boolean }

export const eraseCommand: CliCommand = {
  register(program: Command, setExit) {
    program.command('erase')
      .description('erase one data subject from everywhere the pipeline put it (its tables, SCD2 history and child tables, its dead-letter queue) and keep later runs from loading it again')
      .argument('<file>', 'pipeline or sync file')
      .requiredOption('--key <column=value>', 'the subject: a column of the loaded tables and its value')
      .option('--dry-run', 'count what would be erased; change nothing')
      .option('--anonymise', 'blank the streams\' pii columns instead of deleting the rows (default: the pipeline\'s `privacy.erasure`)')
      .option('--no-suppress', 'do not put the subject on the suppression list')
      .option('--lift', 'take the subject off the suppression list instead: later runs load its rows again')
      .option('--json', 'print the report as JSON')
      .action((file: string, o: EraseOptions) => act(setExit, async () => {
        const key = parseSubjectKey(o.key);
        const target = await isSyncFile(file) ? await syncTarget(file, key, o) : await pipelineTarget(file, key, o);
        const store = openControlStore();
        try {
          if (o.lift) {
            const lifted = await target.lift(store);
            process.stdout.write(o.json ? JSON.stringify({ ...target.name, column: key.column, lifted }) + '\n'
              : lifted ? `the subject (${key.column}) is no longer suppressed: ${target.lifted}\n` : `no suppressed subject with that ${key.column}\n`);
            return EXIT.success;
          }
          process.stdout.write(await target.erase(store));
          return EXIT.success;
        } finally {
          await store.close();
        }
      }));
  },
};

/** What is erased from: a pipeline or a sync; `erase` returns what to print. */
interface EraseTarget {
  name: { pipeline: string } | { sync: string };
  /** What lifting means there. */
  lifted: string;
  lift(store: ControlStore): Promise<boolean>;
  erase(store: ControlStore): Promise<string>;
}

async function pipelineTarget(file: string, key: SubjectKey, o: EraseOptions): Promise<EraseTarget> {
  const loaded = await loadPipelineFile(file);
  return {
    name: { pipeline: loaded.config.pipeline }, lifted: 'later runs load its rows',
    lift: (store) => liftSuppression(loaded, store, key, osUser()),
    erase: async (store) => {
      const report = await eraseSubject(loaded, store, { key, dryRun: o.dryRun, anonymise: o.anonymise, suppress: o.suppress, actor: osUser() });
      return o.json ? JSON.stringify(report) + '\n' : describe(report);
    },
  };
}

async function syncTarget(file: string, key: SubjectKey, o: EraseOptions): Promise<EraseTarget> {
  // Erasure from a sync deletes: a row kept with blanked columns would be carried back and forth as a change.
  if (o.anonymise) throw new ConfigError('--anonymise is for pipelines: a sync erases the subject\'s rows', { expected: 'sluice erase <sync.yaml> --key <column>=<value>' });
  const loaded = await loadSyncFile(file);
  return {
    name: { sync: loaded.config.sync }, lifted: 'later syncs carry its rows',
    lift: (store) => liftSyncSuppression(loaded, store, key, osUser()),
    erase: async (store) => {
      const report = await eraseFromSync(loaded, store, { key, dryRun: o.dryRun, suppress: o.suppress, actor: osUser() });
      return o.json ? JSON.stringify(report) + '\n' : describeSync(report);
    },
  };
}

/** A file is a sync file when its top-level keys say `sync:` and not `pipeline:` (as `sluice gc` and `serve` tell them). */
async function isSyncFile(file: string): Promise<boolean> {
  if (!/\.ya?ml$/i.test(file)) return false;
  try {
    const doc = parseYaml(await readFile(file, 'utf8')) as unknown;
    return doc !== null && typeof doc === 'object' && 'sync' in doc && !('pipeline' in doc);
  } catch {
    return false; // unreadable or broken: the pipeline loader says why
  }
}

function describeSync(r: SyncEraseReport): string {
  const lines = [`${r.dry_run ? 'dry run: would erase' : 'erased'} the subject (${r.column}) in sync ${r.sync}:`];
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  for (const t of r.tables) {
    lines.push(`  ${t.table}: ${plural(t.keys, 'key', 'keys')}; rows ${t.a} on a, ${t.b} on b; ${plural(t.base, 'base entry', 'base entries')}, `
      + `${plural(t.changes, 'change-log event', 'change-log events')}, ${plural(t.conflicts, 'conflict', 'conflicts')}`);
  }
  if (r.tables.length === 0) lines.push('  no table of the sync has that column');
  if (r.unreadable) lines.push(`  ${r.unreadable} logged rows or conflicts are encrypted with a key this process does not have: not checked (set SLUICE_ENCRYPTION_KEY or SLUICE_ENCRYPTION_OLD_KEYS and erase again)`);
  if (r.suppressed) lines.push('suppressed: later syncs leave this subject\'s keys and rows alone (`sluice erase --lift` to undo)');
  return lines.join('\n') + '\n';
}

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
