import type { RecentRun } from '../types.js';

const W = 100;
const H = 24;

/** Durations of the recent runs, oldest left; a failed run is a red dot, so a slow failure does not read as a fast run. */
export function Sparkline({ runs }: { runs: RecentRun[] | undefined }) {
  const points = (runs ?? []).filter((r) => typeof r.duration_ms === 'number').slice().reverse();
  if (points.length < 2) return <span class="dim">—</span>;
  const max = Math.max(...points.map((r) => r.duration_ms as number), 1);
  const xy = points.map((r, i) => [(i / (points.length - 1)) * (W - 4) + 2, H - 2 - ((r.duration_ms as number) / max) * (H - 4)]);
  const bad = points.map((r, i) => (/fail|timed_out/.test(r.status) ? i : -1)).filter((i) => i >= 0);
  const title = `durations of the last ${points.length} runs (max ${Math.round(max)} ms)`;
  return (
    <svg class="spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={title}>
      <title>{title}</title>
      <polyline points={xy.map((p) => p.join(',')).join(' ')} fill="none" stroke="currentColor" stroke-width="1.5" />
      {bad.map((i) => <circle key={i} cx={xy[i][0]} cy={xy[i][1]} r="2.5" class="spark-bad" />)}
    </svg>
  );
}
