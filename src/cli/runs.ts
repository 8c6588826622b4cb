// `sluice runs [--pipeline P] [--limit N] [--json]` and `sluice runs show <id> [--json]`: the execution history.
import type { Command } from 'commander';
import { openControlStore } from '../control/open.js';
import type { RunDetail, StepRecord } from '../control/control-store.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { formatCount } from './summary.js';

export const runsCommand: CliCommand = {
  register(program: Command, setExit) {
    const runs = program
      .command('runs')
      .description('execution history: recent runs, success rate and mean duration')
      // `runs show <id> --json` has its own --json: options after a subcommand belong to it.
      .enablePositionalOptions()
      .option('--pipeline <name>', 'only runs of this pipeline')
      .option('--limit <n>', 'how many runs', '20')
      .option('--json', 'print JSON')
      .action(async (o: { pipeline?: string; limit: string; json?: boolean }) => {
        const store = openControlStore();
        try {
          const list = await store.listRuns({ pipeline: o.pipeline, limit: Number(o.limit) });
          const stats = await store.stats(o.pipeline);
          if (o.json) {
            process.stdout.write(JSON.stringify({ runs: list, stats }) + '\n');
            return;
          }
          const lines = list.map((r) =>
            `${r.run_id}  ${r.pipeline.padEnd(20)} ${r.status.padEnd(16)} ${r.started_at}  ${(r.duration_ms === null ? '' : `${(r.duration_ms / 1000).toFixed(2)}s`).padEnd(9)}`
            + (r.quality_score === null || r.quality_score === undefined ? '' : ` quality ${r.quality_score}`));
          lines.push(`${stats.runs} finished runs, success rate ${(stats.success_rate * 100).toFixed(1)}%, mean duration ${
            stats.mean_duration_ms === null ? '-' : `${(stats.mean_duration_ms / 1000).toFixed(2)}s`}`);
          process.stdout.write(lines.join('\n') + '\n');
        } finally {
          await store.close();
        }
      });
    runs
      .command('show')
      .description('one run: status, phases, per-stream counts, schema changes, error')
      .argument('<run-id>')
      .option('--json', 'print JSON')
      .action(async (id: string, o: { json?: boolean }) => {
        const store = openControlStore();
        try {
          const run = await store.getRun(id);
          if (!run) {
            process.stderr.write(`error: no run "${id}"; \`sluice runs\` lists them\n`);
            setExit(EXIT.failed);
            return;
          }
          process.stdout.write(o.json ? JSON.stringify(run) + '\n' : describe(run));
        } finally {
          await store.close();
        }
      });
  },
};

/** A stream's transform steps, one line each (`0:cast`: position and kind), under a header. */
function stepTable(steps: StepRecord[]): string[] {
  const label = (t: StepRecord) => `${t.step}:${t.name}`;
  const width = Math.max(4, ...steps.map((t) => label(t).length));
  const row = (cells: string[]) => `      ${cells[0].padEnd(width)} ${cells.slice(1).map((c, i) => c.padStart(i === 4 ? 10 : 11)).join(' ')}`;
  return ['    steps:', row(['step', 'in', 'out', 'failed', 'filtered', 'ms']),
    ...steps.map((t) => row([label(t), ...[t.records_in, t.records_out, t.failed, t.filtered].map(formatCount), t.duration_ms.toFixed(2)]))];
}

function describe(r: RunDetail): string {
  const lines = [
    `run ${r.run_id}  pipeline ${r.pipeline}  ${r.status}`,
    `  started ${r.started_at}  finished ${r.finished_at ?? '-'}  ${r.duration_ms === null ? '' : `${(r.duration_ms / 1000).toFixed(2)}s`}`,
  ];
  for (const s of r.streams) {
    const c = s.counts;
    lines.push(`  stream ${s.stream}: ${s.status}  extracted ${formatCount(c.extracted)}, loaded ${formatCount(c.loaded)}, ` +
      `dead-lettered ${formatCount(c.dead_lettered)}, filtered ${formatCount(c.filtered)}, inserted ${formatCount(c.inserted)}, updated ${formatCount(c.updated)}`);
    const phases = r.phases.filter((p) => p.stream === s.stream);
    lines.push(`    phases: ${phases.map((p) => `${p.phase} ${p.status} ${p.durationMs}ms`).join(' → ')}`);
    const steps = r.steps.filter((t) => t.stream === s.stream);
    if (steps.length) lines.push(...stepTable(steps));
    if (s.error) lines.push(`    error: ${s.error}`);
  }
  for (const q of r.quality) {
    const m = q.report;
    const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
    lines.push(`  quality ${q.stream}: score ${m.score ?? '-'}  completeness ${pct(m.completeness)}, validity ${pct(m.validity)}, ` +
      `consistency ${pct(m.consistency)}, timeliness ${pct(m.timeliness)} over ${formatCount(m.rows)} rows`);
    for (const c of m.checks as { check: string; severity: string; failed?: number; measured?: string; limit?: string; ok: boolean }[]) {
      lines.push(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.check} [${c.severity}]${c.failed !== undefined ? ` ${formatCount(c.failed)} failing rows` : ''}` +
        `${c.measured ? ` (${c.measured}; ${c.limit})` : ''}`);
    }
    if (m.blocked) lines.push(`    blocked: ${m.blocked}`);
  }
  for (const c of r.schema_changes) lines.push(`  schema: ${c.stream}.${c.column} ${c.change}${c.from ? ` ${c.from} →` : ''} ${c.to ?? ''}`);
  if (r.error) lines.push(`  error: ${r.error}`);
  return lines.join('\n') + '\n';
}
