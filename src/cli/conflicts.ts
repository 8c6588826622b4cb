// `sluice conflicts list|show|resolve <sync file>`: keys a two-way sync holds for a person (`manual-review`), with
// both sides' versions; `resolve <id> --take a|b` says which one the next `sluice sync` writes to the other side.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { ConflictLog, type ConflictRecord } from '../sync/conflicts.js';
import { act, type CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { withSyncDb } from './sync-db.js';

/** The sync's conflict log (empty when it never synced). */
const withLog = <T>(file: string, body: (log: ConflictLog) => T): Promise<T> => withSyncDb(file, (db) => body(new ConflictLog(db)));

const keyText = (key: ConflictRecord['key']) => Object.entries(key).map(([k, v]) => `${k}=${v ?? 'NULL'}`).join(',');
const state = (c: ConflictRecord) => (c.applied_at ? `closed ${c.applied_at}` : c.take ? `resolved: take ${c.take} (written by the next sync)` : 'open');

/** The columns whose values differ between the two versions. */
const differing = (c: ConflictRecord) => (c.undecryptable ? ['(versions undecryptable: encrypted with a key not configured)'] : Object.keys({ ...c.a, ...c.b }).filter((k) => c.a?.[k] !== c.b?.[k]));


export const conflictsCommand: CliCommand = {
  register(program: Command, setExit) {
    const c = program.command('conflicts').description('keys a two-way sync holds for review (conflict strategy manual-review): list, show, resolve');
    c.command('list').description('conflicts awaiting a decision (--all: closed ones too)').argument('<file>', 'sync file')
      .option('--all', 'include closed conflicts').option('--table <name>', 'only this table (its name on side a)').option('--json', 'print JSON')
      .action((file: string, o: { all?: boolean; table?: string; json?: boolean }) => act(setExit, async () => {
        const list = await withLog(file, (log) => log.list(o));
        if (o.json) process.stdout.write(`${redact(JSON.stringify(list))}\n`);
        else {
          process.stdout.write(list.map((x) => `#${x.id} ${x.table} ${keyText(x.key)}: ${differing(x).join(', ')} differ — ${state(x)}`).join('\n')
            + (list.length ? '\n' : 'no conflicts await review\n'));
        }
        return EXIT.success;
      }));
    c.command('show').description('one conflict: both versions, column by column').argument('<file>', 'sync file').argument('<id>')
      .option('--json', 'print JSON')
      .action((file: string, id: string, o: { json?: boolean }) => act(setExit, async () => {
        const x = await withLog(file, (log) => log.get(Number(id)));
        if (!x) throw new ConfigError(`no conflict #${id}`);
        if (o.json) process.stdout.write(`${redact(JSON.stringify(x))}\n`);
        else {
          const lines = [`#${x.id} ${x.table} ${keyText(x.key)} — ${state(x)}, seen ${x.detected_at}`];
          if (x.undecryptable) lines.push('  both versions are encrypted with a key this process does not have (set SLUICE_ENCRYPTION_KEY, or SLUICE_ENCRYPTION_OLD_KEYS)');
          for (const k of Object.keys({ ...x.a, ...x.b })) {
            lines.push(`  ${k.padEnd(24)} a: ${x.a ? x.a[k] ?? 'NULL' : '(deleted)'}${x.a?.[k] !== x.b?.[k] ? `   ≠   b: ${x.b ? x.b[k] ?? 'NULL' : '(deleted)'}` : ''}`);
          }
          process.stdout.write(`${redact(lines.join('\n'))}\n`);
        }
        return EXIT.success;
      }));
    c.command('resolve').description('take one side of a conflict; the next sync writes it to the other side').argument('<file>', 'sync file').argument('<id>')
      .requiredOption('--take <side>', 'a or b')
      .action((file: string, id: string, o: { take: string }) => act(setExit, async () => {
        if (o.take !== 'a' && o.take !== 'b') throw new ConfigError(`--take: expected a or b, got "${o.take}"`);
        const done = await withLog(file, (log) => log.resolve(Number(id), o.take as 'a' | 'b'));
        if (!done) throw new ConfigError(`no open conflict #${id}`);
        process.stdout.write(`conflict #${id}: side ${o.take} will be written by the next sync\n`);
        return EXIT.success;
      }));
  },
};
