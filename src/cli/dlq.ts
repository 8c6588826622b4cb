// `sluice dlq list|show|replay|purge`: rows that failed parsing, transforming or a row-level check.
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import { createLogger } from '../core/logger.js';
import type { DlqFilter } from '../control/control-store.js';
import { openControlStore } from '../control/open.js';
import { osUser } from '../engine/runner.js';
import { replayDlq } from '../engine/replay.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

interface FilterOptions { pipeline?: string; stream?: string; run?: string; all?: boolean; limit?: string; json?: boolean }

const toFilter = (o: FilterOptions): DlqFilter => ({
  pipeline: o.pipeline, stream: o.stream, runId: o.run, includeReplayed: !!o.all, limit: o.limit ? Number(o.limit) : undefined,
});

export const dlqCommand: CliCommand = {
  register(program: Command, setExit) {
    const dlq = program.command('dlq').description('the dead-letter queue: rows that failed, with the reason and where they came from');
    const filters = (c: Command) => c
      .option('--pipeline <name>', 'only this pipeline')
      .option('--stream <name>', 'only this stream')
      .option('--run <id>', 'only rows dead-lettered by this run')
      .option('--all', 'include rows already replayed');

    filters(dlq.command('list').description('list dead-lettered rows'))
      .option('--limit <n>', 'at most this many', '100')
      .option('--json', 'print JSON')
      .action(async (o: FilterOptions) => {
        const store = openControlStore();
        try {
          const rows = await store.listDlq(toFilter(o));
          if (o.json) process.stdout.write(JSON.stringify(rows) + '\n');
          else {
            const where = (p: object) => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');
            process.stdout.write(rows.map((r) => `#${r.id} ${r.pipeline}/${r.stream} [${r.stage}] ${where(r.position)}: ${r.reason}`).join('\n') +
              (rows.length ? '\n' : 'the dead-letter queue is empty\n'));
          }
        } finally {
          await store.close();
        }
      });

    dlq.command('show').description('one dead-lettered row with its raw payload').argument('<id>')
      .option('--json', 'print JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const store = openControlStore();
        try {
          const [row] = await store.listDlq({ ids: [Number(id)], includeReplayed: true });
          if (!row) {
            process.stderr.write(`error: no dead-lettered row #${id}\n`);
            setExit(EXIT.failed);
            return;
          }
          process.stdout.write(o.json ? JSON.stringify(row) + '\n' : JSON.stringify(row, null, 2) + '\n');
        } finally {
          await store.close();
        }
      });

    dlq.command('replay').description("send rows through today's pipeline again; rows that pass are loaded and marked replayed")
      .argument('<pipeline>', 'pipeline file')
      .option('--stream <names...>', 'only these streams')
      .option('--ids <ids...>', 'only these rows')
      .option('--json', 'print JSON')
      .action(async (file: string, o: { stream?: string[]; ids?: string[]; json?: boolean }) => {
        try {
          const loaded = await loadPipelineFile(file);
          const r = await replayDlq(loaded, { streams: o.stream, ids: o.ids?.map(Number), logger: createLogger(process.env.SLUICE_LOG_LEVEL ?? 'warn') });
          if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
          else process.stdout.write(`replayed ${r.replayed}, still failing ${r.still_failing}, not replayable (parse errors: fix the source) ${r.not_replayable}\n`);
          setExit(r.summary?.status === 'failed' ? EXIT.failed : r.still_failing ? EXIT.partial : EXIT.success);
        } catch (e) {
          printError(e);
          setExit(exitCodeFor(e));
        }
      });

    filters(dlq.command('purge').description('delete dead-lettered rows'))
      .action(async (o: FilterOptions) => {
        const store = openControlStore();
        try {
          const n = await store.purgeDlq(toFilter(o));
          await store.appendAudit({ actor: osUser(), action: 'dlq.purge', ...(o.pipeline ? { pipeline: o.pipeline } : {}), detail: { filter: toFilter(o), purged: n } });
          process.stdout.write(`purged ${n} rows\n`);
        } finally {
          await store.close();
        }
      });
  },
};
