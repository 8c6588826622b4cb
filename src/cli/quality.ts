// `sluice quality <pipeline> [--limit N] [--json]`: the quality score and its metrics per stream across recent runs,
// newest first — the trend the control store keeps (src/quality/metrics.ts documents the formula).
import type { Command } from 'commander';
import { openControlStore } from '../control/open.js';
import type { CliCommand } from './command.js';

const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

export const qualityCommand: CliCommand = {
  register(program: Command) {
    program
      .command('quality')
      .description('quality score trend of a pipeline: score, completeness, validity, consistency, timeliness per run and stream')
      .argument('<pipeline>', 'pipeline name')
      .option('--limit <n>', 'how many stream results', '50')
      .option('--json', 'print JSON')
      .action(async (pipeline: string, o: { limit: string; json?: boolean }) => {
        const store = openControlStore();
        try {
          const trend = await store.qualityTrend(pipeline, Number(o.limit));
          if (o.json) {
            process.stdout.write(JSON.stringify({ pipeline, trend }) + '\n');
            return;
          }
          const lines = [`${'run'.padEnd(26)} ${'stream'.padEnd(20)} ${'status'.padEnd(16)} ${'score'.padStart(6)}  complete  valid     consist.  timely`];
          for (const t of trend) {
            lines.push(`${t.run_id.padEnd(26)} ${t.stream.padEnd(20)} ${t.status.padEnd(16)} ${String(t.score ?? '-').padStart(6)}  `
              + `${pct(t.completeness).padEnd(9)} ${pct(t.validity).padEnd(9)} ${pct(t.consistency).padEnd(9)} ${pct(t.timeliness)}`);
          }
          if (!trend.length) lines.push(`no quality results for "${pipeline}" (a stream needs checks to have a score)`);
          process.stdout.write(lines.join('\n') + '\n');
        } finally {
          await store.close();
        }
      });
  },
};
