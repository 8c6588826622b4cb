// `sluice diff <sync file> [--table T] [--json] [--limit N] [--full]`: the keys whose rows differ between the two
// systems of a sync (src/sync/diff.ts), by key-range checksums unless `--full`. Exit 0 when the tables are the same,
// 1 when some keys differ (DESIGN.md CLI contract).
import type { Command } from 'commander';
import { loadSyncFile, tableOn } from '../config/sync-spec.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { type Difference, type DiffWork, type TableDiff, diffTable } from '../sync/diff.js';
import { openSide } from '../sync/open-side.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

interface DiffOptions {
  table?: string;
  json?: boolean;
  limit: string;
  full?: boolean;
}

const keyText = (key: Record<string, string | null>): string => Object.entries(key).map(([k, v]) => `${k}=${v ?? 'NULL'}`).join(',');

export const diffCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('diff')
      .description('compare the tables of a sync file across its two systems and print the keys that differ (exit 1 when some do)')
      .argument('<file>', 'sync file')
      .option('--table <name>', 'only this table (its name on side a)')
      .option('--json', 'print {tables, differences, work} as one JSON object on stdout')
      .option('--limit <n>', 'differences listed per table (all are counted)', '1000')
      .option('--full', 'read every row of both sides (no key-range checksums)')
      .action(async (file: string, o: DiffOptions) => {
        setExit(await diff(file, o));
      });
  },
};

async function diff(file: string, o: DiffOptions): Promise<number> {
  try {
    const { config, baseDir } = await loadSyncFile(file);
    const limit = Number(o.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new ConfigError(`--limit: expected a whole number, got ${o.limit}`);
    const tables = o.table === undefined ? config.tables : config.tables.filter((t) => tableOn(t, 'a') === o.table);
    if (!tables.length) throw new ConfigError(`no table ${o.table} in the sync file`, { expected: config.tables.map((t) => tableOn(t, 'a')).join(', ') });
    const a = openSide(config.systems.a, baseDir);
    const b = openSide(config.systems.b, baseDir);
    const results: TableDiff[] = [];
    const listed: Difference[] = [];
    const work: DiffWork[] = [];
    try {
      for (const t of tables) {
        let shown = 0;
        const r = await diffTable(a, b, t, (d) => {
          if (shown++ >= limit) return;
          if (o.json) listed.push(d);
          else process.stdout.write(`${d.table}  ${keyText(d.key)}  ${d.kind}${d.columns ? `  (${d.columns.join(', ')})` : ''}\n`);
        }, { full: o.full, work: (w) => work.push(w) });
        results.push(r);
        if (!o.json) {
          const found = r.only_in_a + r.only_in_b + r.differs;
          process.stdout.write(`${r.table}: ${r.rows.a} rows in a, ${r.rows.b} in b; ${found === 0 ? 'the same'
            : `${r.only_in_a} only in a, ${r.only_in_b} only in b, ${r.differs} differ`}`
            + `${r.columns_only_in.a.length || r.columns_only_in.b.length ? ` (not compared: ${[...r.columns_only_in.a.map((c) => `a.${c}`), ...r.columns_only_in.b.map((c) => `b.${c}`)].join(', ')})` : ''}\n`);
        }
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    if (o.json) process.stdout.write(redact(JSON.stringify({ tables: results, differences: listed, work })) + '\n');
    return results.some((r) => r.only_in_a + r.only_in_b + r.differs > 0) ? EXIT.failed : EXIT.success;
  } catch (e) {
    printError(e);
    return e instanceof ConfigError ? EXIT.usage : exitCodeFor(e);
  }
}
