// `sluice changes list|replay <sync file>`: the sync's change log (src/sync/change-log.ts) — every change it made to a
// table's agreed content, in order — and a table rebuilt from it into an empty table on one side (src/sync/replay.ts).
import type { Command } from 'commander';
import { tableOn } from '../config/sync-spec.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { ChangeLog, type ChangeRecord } from '../sync/change-log.js';
import { openSide } from '../sync/open-side.js';
import { replayTable } from '../sync/replay.js';
import { syncText } from '../sync/values.js';
import { act, type CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { withSyncDb } from './sync-db.js';

interface ListOptions { table?: string; key?: string; after?: string; limit: string; json?: boolean }
interface ReplayOptions { table: string; to: string; into?: string; until?: string; json?: boolean }

const whole = (name: string, v: string): number => {
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name}: expected a whole number, got "${v}"`);
  return Number(v);
};

/** `id=5,region=eu` → the key's values in the table's key order, as the log keeps them. */
function keyValues(spec: string, primaryKey: string[]): (string | null)[] {
  const given = new Map(spec.split(',').map((part) => {
    const at = part.indexOf('=');
    if (at < 1) throw new ConfigError(`--key: expected column=value[,column=value], got "${spec}"`);
    return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1)] as const;
  }));
  return primaryKey.map((k) => {
    const v = given.get(k.toLowerCase());
    if (v === undefined) throw new ConfigError(`--key: the key column "${k}" has no value`, { expected: primaryKey.map((c) => `${c}=…`).join(',') });
    return syncText(v);
  });
}

const line = (c: ChangeRecord) => {
  const way = c.origin === 'both' ? 'found on both sides' : c.origin === 'merge' ? `merged${c.applied === 'none' ? '' : ` into ${c.applied}`}`
    : c.applied === 'none' ? `from ${c.origin}, not written (the other side's row kept)` : `${c.origin} → ${c.applied === 'both' ? 'a, b' : c.applied}`;
  return `#${c.seq} ${c.at} ${c.table} ${JSON.stringify(c.key)} ${c.op} ${way}${c.stream ? ` (stream ${c.stream} at ${c.position})` : ''}${c.undecryptable ? ' — row undecryptable (encrypted with a key not configured)' : ''}`;
};

export const changesCommand: CliCommand = {
  register(program: Command, setExit) {
    const c = program.command('changes').description('the change log of a sync: list the changes it made, or rebuild a table from them (replay)');
    c.command('list').description('changes in the order they were made').argument('<file>', 'sync file')
      .option('--table <name>', 'only this table (its name on side a)')
      .option('--key <column=value,…>', 'only this key (with --table)')
      .option('--after <seq>', 'only changes after this number')
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'print JSON')
      .action((file: string, o: ListOptions) => act(setExit, () => withSyncDb(file, (db, { config }) => {
        let key: (string | null)[] | undefined;
        if (o.key !== undefined) {
          const t = config.tables.find((x) => tableOn(x, 'a') === o.table);
          if (!t) throw new ConfigError('--key needs --table, one of the sync file\'s tables', { expected: config.tables.map((x) => tableOn(x, 'a')).join(', ') });
          key = keyValues(o.key, t.primary_key);
        }
        const list = new ChangeLog(db, '').list({
          ...(o.table !== undefined ? { table: o.table } : {}), ...(key ? { key } : {}),
          ...(o.after !== undefined ? { after: whole('--after', o.after) } : {}), limit: whole('--limit', o.limit),
        });
        if (o.json) process.stdout.write(`${redact(JSON.stringify(list))}\n`);
        else process.stdout.write(list.length ? `${redact(list.map(line).join('\n'))}\n` : 'no changes logged\n');
        return EXIT.success;
      })));
    c.command('replay').description('rebuild a table from the change log into an empty table on one side').argument('<file>', 'sync file')
      .requiredOption('--table <name>', 'the table (its name on side a)')
      .requiredOption('--to <side>', 'the side written into: a or b')
      .option('--into <name>', 'an empty table there to write into (default: the table itself, which must then be empty)')
      .option('--until <seq|time>', 'the table as it was after this change number, or at this ISO time')
      .option('--json', 'print JSON')
      .action((file: string, o: ReplayOptions) => act(setExit, () => withSyncDb(file, async (db, { config, baseDir }) => {
        if (o.to !== 'a' && o.to !== 'b') throw new ConfigError(`--to: expected a or b, got "${o.to}"`);
        const t = config.tables.find((x) => tableOn(x, 'a') === o.table);
        if (!t) throw new ConfigError(`no table ${o.table} in the sync file`, { expected: config.tables.map((x) => tableOn(x, 'a')).join(', ') });
        const log = new ChangeLog(db, '');
        const until = o.until === undefined ? undefined : /^\d+$/.test(o.until) ? Number(o.until)
          : Number.isNaN(Date.parse(o.until)) ? whole('--until', o.until) : log.seqAt(new Date(o.until).toISOString());
        const sides = { a: openSide(config.systems.a, baseDir), b: openSide(config.systems.b, baseDir) };
        try {
          const r = await replayTable(log, sides, t, o.to, { sync: config.sync, ...(o.into ? { into: o.into } : {}), ...(until !== undefined ? { until } : {}) });
          process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${r.rows} rows of ${r.table} written into ${r.into} on side ${r.side} (the log up to change #${r.until})\n`);
        } finally {
          await Promise.all([sides.a.close(), sides.b.close()]);
        }
        return EXIT.success;
      })));
  },
};
