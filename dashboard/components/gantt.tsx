import { duration, num } from '../format.js';
import type { PhaseRow } from '../types.js';

const ORDER = ['extract', 'transform', 'validate', 'merge', 'load', 'publish'];

interface Bar { phase: PhaseRow; from: number; to: number }

/**
 * Bars on the run's own clock. Phases overlap (batches flow through all six at once), so a bar spans the phase's first
 * start to its last end, and its busy time is printed beside it. A server without those times gets the phases laid
 * end to end by busy time: the order is right, the overlap is lost.
 */
function layout(phases: PhaseRow[], t0: number, now: number): Bar[] {
  const sorted = phases.slice().sort((a, b) => ORDER.indexOf(a.phase) - ORDER.indexOf(b.phase));
  if (sorted.some((p) => p.started_at)) {
    return sorted.map((p) => {
      const from = p.started_at ? Date.parse(p.started_at) - t0 : 0;
      const to = p.ended_at ? Date.parse(p.ended_at) - t0 : p.started_at && p.status === 'running' ? now - t0 : from;
      return { phase: p, from, to: Math.max(to, from) };
    });
  }
  let at = 0;
  return sorted.map((p) => {
    const from = at;
    at += p.duration_ms ?? 0;
    return { phase: p, from, to: at };
  });
}

export function Gantt({ stream, phases, startedAt, finishedAt, now }: {
  stream: string; phases: PhaseRow[]; startedAt: string | null; finishedAt: string | null; now: number;
}) {
  const t0 = startedAt ? Date.parse(startedAt) : now;
  const bars = layout(phases, t0, now);
  const end = finishedAt ? Date.parse(finishedAt) - t0 : now - t0;
  const span = Math.max(end, ...bars.map((b) => b.to), 1);
  return (
    <div class="gantt" data-testid="gantt" data-stream={stream}>
      <div class="gantt-axis"><span>0</span><span>{duration(span)}</span></div>
      {bars.map(({ phase: p, from, to }) => {
        const x = (from / span) * 1000;
        const w = Math.max(((to - from) / span) * 1000, 3);
        const rows = p.rows_in !== null || p.rows_out !== null ? `, rows ${num(p.rows_in)} → ${num(p.rows_out)}` : '';
        const title = `${p.phase} (${p.status}): busy ${duration(p.duration_ms)}, from +${duration(from)} to +${duration(to)}${rows}${p.error ? `\n${p.error}` : ''}`;
        return (
          <div class="gantt-row" key={p.phase} data-phase={p.phase} title={title}>
            <span class="gantt-label">{p.phase}</span>
            <svg class="gantt-track" viewBox="0 0 1000 10" preserveAspectRatio="none" aria-label={title}>
              <rect x={x} y="0" width={w} height="10" rx="1" class={`bar ${p.status}`} />
            </svg>
            <span class="gantt-time">{duration(p.duration_ms)}</span>
          </div>
        );
      })}
    </div>
  );
}
