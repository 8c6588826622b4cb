// `volume: { max_change: 50% }`: anomaly detection on the row count — this run against the mean of the previous
// successful runs of the stream (from the control store). A stream's first runs have no history and pass.
import { z } from 'zod';
import { defineCheck } from '../check.js';
import { percent } from '../measures.js';

const options = z.strictObject({
  max_change: percent('Largest change allowed, up or down, from the mean of previous runs (`50%`).'),
  runs: z.int().min(1).max(100).default(10).describe('How many previous successful runs make the mean.'),
});

export const volumeCheck = defineCheck<z.output<typeof options>>({
  kind: 'volume',
  description: 'Dataset check: fails when this run loads more or fewer rows than the mean of previous successful runs by more than `max_change`. With severity error it is a gate.',
  level: 'dataset',
  options,
  compile({ max_change, runs }, env) {
    let history: number[] = [];
    return {
      label: 'volume',
      columns: [],
      gate: true,
      async prepare() {
        history = (await env.history?.(runs)) ?? [];
      },
      verdict({ rows }) {
        const limit = `max_change ${max_change.text}`;
        if (!history.length) return { ok: true, measured: `${rows} rows, no earlier runs`, limit };
        const mean = history.reduce((a, b) => a + b, 0) / history.length;
        const change = mean === 0 ? (rows === 0 ? 0 : Infinity) : (rows - mean) / mean;
        const pct = Number.isFinite(change) ? `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%` : 'from 0';
        return { ok: Math.abs(change) <= max_change.ratio, measured: `${rows} rows, ${pct} vs mean ${mean.toFixed(1)} of ${history.length} runs`, limit };
      },
    };
  },
});
