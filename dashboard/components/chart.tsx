import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series { label: string; values: (number | null)[]; color: string; scale?: string; unit?: string }

/**
 * A uPlot time chart that fills its box. uPlot draws on a canvas at a fixed size, so the chart follows its container's
 * width; it is rebuilt when the data changes, which the pages do at most every few seconds.
 */
export function TrendChart({ title, times, series, axes }: {
  title: string; times: number[]; series: Series[]; axes: { scale: string; label: string; range?: [number, number] }[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || times.length === 0) return;
    const width = () => Math.max(el.clientWidth, 200);
    const opts: uPlot.Options = {
      title, width: width(), height: 220,
      scales: { x: { time: true }, ...Object.fromEntries(axes.filter((a) => a.range).map((a) => [a.scale, { range: a.range }])) },
      series: [{}, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: 1.5, scale: s.scale ?? axes[0].scale, spanGaps: true,
        points: { show: times.length < 40 },
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${+v.toFixed(2)}${s.unit ?? ''}`),
      }))],
      axes: [{}, ...axes.map((a, i) => ({ scale: a.scale, label: a.label, side: i === 0 ? 3 : 1, grid: { show: i === 0 } }))],
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [title, times, series, axes]);
  if (times.length === 0) return <p class="dim">{title}: no runs yet.</p>;
  return <div class="chart" ref={box} data-testid="trend-chart" />;
}
