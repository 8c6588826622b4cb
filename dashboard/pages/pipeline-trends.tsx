import { useMemo } from 'preact/hooks';
import { enc } from '../api.js';
import { TrendChart, type Series } from '../components/chart.js';
import { sum } from '../format.js';
import { useApi } from '../hooks.js';
import type { QualityPoint, RunSummary } from '../types.js';

const RUN_AXES = [{ scale: 'rps', label: 'rows/s' }, { scale: 's', label: 'seconds' }];
const QUALITY_AXES = [{ scale: '%', label: '%', range: [0, 100] as [number, number] }];
const MEASURES = [
  ['score', 'score', '#2563eb'], ['completeness', 'completeness', '#16a34a'], ['validity', 'validity', '#d97706'],
  ['consistency', 'consistency', '#9333ea'], ['timeliness', 'timeliness', '#0891b2'],
] as const;

const seconds = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : NaN);

export function TrendsTab({ name, runs }: { name: string; runs: RunSummary[] | undefined }) {
  const quality = useApi<{ trend: QualityPoint[] }>(`/api/pipelines/${enc(name)}/quality?limit=50`, 30000);

  const perRun = useMemo(() => {
    const done = (runs ?? []).filter((r) => r.status !== 'running' && typeof r.duration_ms === 'number' && !Number.isNaN(seconds(r.started_at)))
      .slice().reverse();
    const loaded = done.map((r) => sum(Object.values(r.streams ?? {}).map((s) => s.loaded)));
    const series: Series[] = [
      { label: 'throughput', scale: 'rps', unit: ' rows/s', color: '#2563eb', values: done.map((r, i) => (r.duration_ms ? loaded[i] / (r.duration_ms / 1000) : null)) },
      { label: 'duration', scale: 's', unit: ' s', color: '#d97706', values: done.map((r) => (r.duration_ms as number) / 1000) },
    ];
    return { times: done.map((r) => seconds(r.started_at)), series };
  }, [runs]);

  // One chart per stream: the measures are 0–1 and the score 0–100, so the measures are drawn as percentages.
  const perStream = useMemo(() => {
    const by = new Map<string, QualityPoint[]>();
    for (const q of quality.data?.trend ?? []) by.set(q.stream, [...(by.get(q.stream) ?? []), q]);
    return [...by].map(([stream, points]) => {
      const sorted = points.slice().sort((a, b) => a.started_at.localeCompare(b.started_at));
      const series: Series[] = MEASURES.map(([key, label, color]) => ({
        label, color, unit: '%',
        values: sorted.map((q) => (q[key] === null ? null : key === 'score' ? q[key] : (q[key] as number) * 100)),
      }));
      return { stream, times: sorted.map((q) => seconds(q.started_at)), series };
    });
  }, [quality.data]);

  return (
    <div class="charts">
      <TrendChart title="Throughput and duration per run" times={perRun.times} series={perRun.series} axes={RUN_AXES} />
      {perStream.map((s) => <TrendChart key={s.stream} title={`Quality: ${s.stream}`} times={s.times} series={s.series} axes={QUALITY_AXES} />)}
      {quality.data && perStream.length === 0 && <p class="dim">No quality measures yet.</p>}
    </div>
  );
}
