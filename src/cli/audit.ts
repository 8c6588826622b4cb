// `sluice audit list|verify|export`: the hash-chained trail of what Sluice did and who asked.
import type { Command } from 'commander';
import { openControlStore } from '../control/open.js';
import { auditEntries, verifyChain } from '../observe/audit.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';

export const auditCommand: CliCommand = {
  register(program: Command, setExit) {
    const audit = program.command('audit').description('the audit trail: list it, verify its hash chain, export a run\'s evidence');
    audit.command('list').description('entries, oldest first')
      .option('--pipeline <name>', 'only this pipeline')
      .option('--run <id>', 'only this run')
      .option('--limit <n>', 'the last n entries', '50')
      .option('--json', 'one JSON object per line')
      .action(async (o: { pipeline?: string; run?: string; limit: string; json?: boolean }) => {
        const store = openControlStore();
        try {
          const all = [];
          for await (const e of auditEntries(store, { pipeline: o.pipeline, runId: o.run })) {
            all.push(e);
            if (all.length > Number(o.limit)) all.shift();
          }
          for (const e of all) {
            process.stdout.write(o.json
              ? JSON.stringify(e) + '\n'
              : `${String(e.seq).padStart(6)}  ${e.at}  ${e.actor.padEnd(16)}  ${e.action.padEnd(18)}  ${e.pipeline ?? '-'}${e.runId ? `  ${e.runId}` : ''}\n`);
          }
        } finally {
          await store.close();
        }
      });
    audit.command('verify').description('recompute the hash chain: exit 0 when intact, 1 naming the first bad entry')
      .option('--json', 'print {ok, checked, bad?}')
      .action(async (o: { json?: boolean }) => {
        const store = openControlStore();
        try {
          const verdict = await verifyChain(auditEntries(store), await store.auditHead());
          if (o.json) process.stdout.write(JSON.stringify(verdict) + '\n');
          else if (verdict.ok) process.stdout.write(`audit trail intact: ${verdict.checked} entries\n`);
          else process.stdout.write(`audit trail broken at entry ${verdict.bad!.seq}: ${verdict.bad!.reason} (${verdict.checked} entries read)\n`);
          setExit(verdict.ok ? EXIT.success : EXIT.failed);
        } finally {
          await store.close();
        }
      });
    audit.command('export').description('a run\'s evidence as NDJSON: its audit entries, then the run record')
      .requiredOption('--run <id>', 'the run')
      .action(async (o: { run: string }) => {
        const store = openControlStore();
        try {
          const run = await store.getRun(o.run);
          if (!run) {
            process.stderr.write(`error: no run "${o.run}"\n`);
            setExit(EXIT.failed);
            return;
          }
          for await (const e of auditEntries(store, { runId: o.run })) process.stdout.write(JSON.stringify({ type: 'audit', ...e }) + '\n');
          process.stdout.write(JSON.stringify({ type: 'run', ...run }) + '\n');
        } finally {
          await store.close();
        }
      });
  },
};
