// The human-readable run summary printed when `--json` is not given.
import type { RunSummary } from '../engine/runner.js';

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export function printSummary(s: RunSummary, out: NodeJS.WritableStream): void {
  const mark = s.status === 'success' ? '✓' : s.status === 'partial_success' ? '!' : '✗';
  const lines = [
    `${mark} ${s.pipeline}: ${s.status}${s.dry_run ? ' (dry run)' : ''} in ${(s.duration_ms / 1000).toFixed(2)}s  run ${s.run_id}`,
  ];
  const names = Object.keys(s.streams);
  if (names.length) {
    lines.push(`  ${'stream'.padEnd(24)} ${'extracted'.padStart(11)} ${'loaded'.padStart(11)} ${'dead-letter'.padStart(11)} ${'filtered'.padStart(9)} ${'inserted'.padStart(11)} ${'updated'.padStart(9)}`);
    for (const n of names) {
      const c = s.streams[n];
      lines.push(`  ${n.padEnd(24)} ${formatCount(c.extracted).padStart(11)} ${formatCount(c.loaded).padStart(11)} ${formatCount(c.dead_lettered).padStart(11)} ${formatCount(c.filtered).padStart(9)} ${formatCount(c.inserted).padStart(11)} ${formatCount(c.updated).padStart(9)}`);
    }
  }
  if (s.quality.score !== null) lines.push(`  quality score ${s.quality.score}`);
  for (const [n, q] of Object.entries(s.quality.streams ?? {})) for (const w of q.warnings ?? []) lines.push(`  warning: ${n}: ${w}`);
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.status === 'partial_success') lines.push('  some rows were dead-lettered: `sluice dlq list` shows them');
  out.write(lines.join('\n') + '\n');
}
