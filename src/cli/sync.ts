// `sluice sync <sync file> [--once] [--table T] [--dry-run] [--resnapshot] [--json]`.
// mode: hash (`--once` only): brings the tables in step once by content hashes (src/sync/sync-table.ts) and exits —
// what a schedule runs. mode: cdc: streams each side's changes to the other (src/sync/cdc/), until SIGTERM/SIGINT (the
// source transaction being read is finished and committed first) or, with `--once`, until everything committed when it
// started is applied. Exit 0 when every table synced, 3 when conflicts are held for review (the rest synced), 1 when
// one failed, 2 for a bad file or a setting this version cannot run yet.
import type { Command } from 'commander';
import { loadSyncFile, type LoadedSync } from '../config/sync-spec.js';
import { settleYoungGeneration } from './heap.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { runSync } from '../sync/run-sync.js';
import type { TableSync } from '../sync/sync-table.js';
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
    const loaded = await loadSyncFile(file);
    // Rows and changes live a page or a transaction: 8 MB semi-spaces (src/cli/heap.ts).
    settleYoungGeneration(8);
    return loaded.config.mode === 'cdc' ? await streamSync(loaded, o) : await hashSync(loaded, file, o);
  } catch (e) {
    printError(e);
    return e instanceof ConfigError ? EXIT.usage : exitCodeFor(e);
  }
}

/** mode: hash — once; each table's line as it is done. */
async function hashSync(loaded: LoadedSync, file: string, o: SyncOptions): Promise<number> {
  const fmt = (x: TableSync['a_to_b']) => `${x.inserted} inserted, ${x.updated} updated, ${x.deleted} deleted`;
  const outcome = await runSync(loaded, {
    once: o.once, table: o.table, dryRun: o.dryRun, resnapshot: o.resnapshot,
    onTable: (r) => {
      if (o.json) return;
      process.stdout.write(`${r.table}: ${r.rows.a} rows in a, ${r.rows.b} in b; a → b: ${fmt(r.a_to_b)}; b → a: ${fmt(r.b_to_a)}; `
        + `${r.conflicts} conflicts${r.update_delete ? ` (${r.update_delete} update against delete: the update kept)` : ''}`
        + `${r.held ? `; ${r.held} held for review (sluice conflicts list ${file})` : ''}${o.dryRun ? ' (dry run: nothing written)' : ''}\n`);
    },
  });
  const results = outcome.mode === 'hash' ? outcome.tables : [];
  if (o.json) process.stdout.write(`${redact(JSON.stringify({ sync: loaded.config.sync, tables: results }))}\n`);
  // Everything else synced; keys held for a person make it a partial success.
  return results.some((r) => r.held > 0) ? EXIT.partial : EXIT.success;
}

/** mode: cdc — until caught up (`--once`) or until the first SIGTERM/SIGINT; a second one exits at once. */
async function streamSync(loaded: LoadedSync, o: SyncOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT.failed);
    process.stderr.write(`${signal}: finishing the transaction being applied (send it again to exit at once)\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const outcome = await runSync(loaded, {
      once: o.once, table: o.table, dryRun: o.dryRun, resnapshot: o.resnapshot, signal: stop.signal,
      onStart: (from, position, snapshot) => {
        if (!o.json) process.stdout.write(`${from} → ${from === 'a' ? 'b' : 'a'}: ${snapshot ? `tables copied from a snapshot; ` : ''}streaming from ${position}\n`);
      },
    });
    const { streams, held } = outcome.mode === 'cdc' ? outcome : { streams: [], held: 0 };
    if (o.json) process.stdout.write(`${redact(JSON.stringify({ sync: loaded.config.sync, mode: 'cdc', streams, held }))}\n`);
    else {
      for (const s of streams) {
        process.stdout.write(`${s.from} → ${s.to}: ${s.transactions} transactions, ${s.upserted} rows written, ${s.removed} deleted, `
          + `${s.commits} commits; position ${s.position}\n`);
      }
      if (held) process.stdout.write(`${held} keys held for review (sluice conflicts list ${loaded.file ?? ''})\n`);
    }
    // Keys held for a person make it a partial success, as in mode: hash.
    return held ? EXIT.partial : EXIT.success;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
