// `sluice sync <sync file> [--once] [--table T] [--dry-run] [--resnapshot] [--json]`.
// mode: hash (`--once` only): brings the tables in step once by content hashes (src/sync/sync-table.ts) and exits —
// what a schedule runs. mode: cdc: streams each side's changes to the other (src/sync/cdc/), until SIGTERM/SIGINT (the
// source transaction being read is finished and committed first) or, with `--once`, until everything committed when it
// started is applied. Exit 0 when every table synced, 3 when conflicts are held for review (the rest synced), 1 when
// one failed, 2 for a bad file or a setting this version cannot run yet.
import type { Command } from 'commander';
import { loadSyncFile, tableOn, type SyncConfig, type SyncTable } from '../config/sync-spec.js';
import { sluiceHome } from '../control/open.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { SyncBase } from '../sync/base.js';
import { runCdc } from '../sync/cdc/run-cdc.js';
import { openSide } from '../sync/open-side.js';
import { syncTable, type TableSync } from '../sync/sync-table.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

interface SyncOptions { once?: boolean; table?: string; dryRun?: boolean; resnapshot?: boolean; json?: boolean }

export const syncCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('sync')
      .description('bring the tables of a sync file in step across its two systems (--once: the changes since the last sync, then exit)')
      .argument('<file>', 'sync file')
      .option('--once', 'sync the delta once and exit (mode: cdc streams until SIGTERM without it)')
      .option('--table <name>', 'only this table (its name on side a)')
      .option('--dry-run', 'work out and count the changes, write nothing (mode: hash)')
      .option('--resnapshot', 'mode: cdc: copy the tables again from a new snapshot and stream from there (after a lost slot)')
      .option('--json', 'print {sync, tables} as one JSON object on stdout')
      .action(async (file: string, o: SyncOptions) => {
        setExit(await sync(file, o));
      });
  },
};

async function sync(file: string, o: SyncOptions): Promise<number> {
  try {
    const { config, baseDir, file: path } = await loadSyncFile(file);
    const tables = o.table === undefined ? config.tables : config.tables.filter((t) => tableOn(t, 'a') === o.table);
    if (!tables.length) throw new ConfigError(`no table ${o.table} in the sync file`, { expected: config.tables.map((t) => tableOn(t, 'a')).join(', ') });
    if (config.mode === 'cdc') return await streamSync(config, baseDir, path ?? file, tables, o);
    if (!o.once) throw new ConfigError('a hash sync runs once: run `sluice sync <file> --once` (on a schedule for repeated syncs), or set mode: cdc to stream changes', { file: path ?? file, path: 'mode', expected: 'cdc' });
    if (o.resnapshot) throw new ConfigError('--resnapshot is for mode: cdc', { file: path ?? file, path: 'mode', expected: 'cdc' });
    const a = openSide(config.systems.a, baseDir);
    const b = openSide(config.systems.b, baseDir);
    const base = new SyncBase(sluiceHome(), config.sync, { changeLog: config.change_log });
    const results: TableSync[] = [];
    try {
      for (const t of tables) {
        const r = await syncTable(a, b, t, base, { dryRun: o.dryRun });
        results.push(r);
        if (!o.json) {
          const fmt = (x: TableSync['a_to_b']) => `${x.inserted} inserted, ${x.updated} updated, ${x.deleted} deleted`;
          process.stdout.write(`${r.table}: ${r.rows.a} rows in a, ${r.rows.b} in b; a → b: ${fmt(r.a_to_b)}; b → a: ${fmt(r.b_to_a)}; `
            + `${r.conflicts} conflicts${r.update_delete ? ` (${r.update_delete} update against delete: the update kept)` : ''}`
            + `${r.held ? `; ${r.held} held for review (sluice conflicts list ${file})` : ''}${o.dryRun ? ' (dry run: nothing written)' : ''}\n`);
        }
      }
    } finally {
      base.close();
      await Promise.all([a.close(), b.close()]);
    }
    if (o.json) process.stdout.write(`${redact(JSON.stringify({ sync: config.sync, tables: results }))}\n`);
    // Everything else synced; keys held for a person make it a partial success.
    return results.some((r) => r.held > 0) ? EXIT.partial : EXIT.success;
  } catch (e) {
    printError(e);
    return e instanceof ConfigError ? EXIT.usage : exitCodeFor(e);
  }
}

/** mode: cdc — until caught up (`--once`) or until the first SIGTERM/SIGINT; a second one exits at once. */
async function streamSync(config: SyncConfig, baseDir: string, file: string, tables: SyncTable[], o: SyncOptions): Promise<number> {
  if (o.dryRun) throw new ConfigError('--dry-run is for mode: hash (a stream cannot be read without being taken)', { file, path: 'mode', expected: 'hash' });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT.failed);
    process.stderr.write(`${signal}: finishing the transaction being applied (send it again to exit at once)\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const base = new SyncBase(sluiceHome(), config.sync, { changeLog: config.change_log });
  try {
    const streams = await runCdc(config, baseDir, file, tables, base, {
      once: !!o.once, resnapshot: o.resnapshot, signal: stop.signal,
      onStart: (from, position, snapshot) => {
        if (!o.json) process.stdout.write(`${from} → ${from === 'a' ? 'b' : 'a'}: ${snapshot ? `tables copied from a snapshot; ` : ''}streaming from ${position}\n`);
      },
    });
    if (o.json) process.stdout.write(`${redact(JSON.stringify({ sync: config.sync, mode: 'cdc', streams }))}\n`);
    else {
      for (const s of streams) {
        process.stdout.write(`${s.from} → ${s.to}: ${s.transactions} transactions, ${s.upserted} rows written, ${s.removed} deleted, `
          + `${s.commits} commits; position ${s.position}\n`);
      }
    }
    return EXIT.success;
  } finally {
    base.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
