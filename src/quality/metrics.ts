// Quality metrics of one stream in one run, and the 0–100 score.
//
//   completeness  non-null cells / cells, over the columns the checks read          (null: no columns or no rows)
//   validity      rows failing no row check (any severity) / rows checked           (null: no row checks)
//   consistency   1 − failures of unique and relationships checks / (rows × checks) (null: no such check)
//   timeliness    mean over freshness checks of 1 when fresh, else max_age / age     (null: no freshness check)
//
//   score = 100 × Σ wᵢ·mᵢ / Σ wᵢ over the metrics that are not null, with weights validity 0.4, completeness 0.25,
//           consistency 0.2, timeliness 0.15; rounded to one decimal. A stream without checks has no score.
//   run score = the mean of its streams' scores (null when no stream has one).
//
// Validity weighs most because it is what the checks were written to say; timeliness least because one stale
// source should not hide that the rows themselves are sound.

export interface QualityMetrics {
  completeness: number | null;
  validity: number | null;
  consistency: number | null;
  timeliness: number | null;
  score: number | null;
}

const WEIGHTS = { validity: 0.4, completeness: 0.25, consistency: 0.2, timeliness: 0.15 } as const;

export function score(m: Omit<QualityMetrics, 'score'>): number | null {
  let sum = 0;
  let weight = 0;
  for (const [k, w] of Object.entries(WEIGHTS) as [keyof typeof WEIGHTS, number][]) {
    const v = m[k];
    if (v === null) continue;
    sum += w * v;
    weight += w;
  }
  return weight === 0 ? null : Math.round((1000 * sum) / weight) / 10;
}

/** The run's score: the mean of its streams' scores. */
export function runScore(scores: (number | null | undefined)[]): number | null {
  const known = scores.filter((s): s is number => typeof s === 'number');
  return known.length ? Math.round((10 * known.reduce((a, b) => a + b, 0)) / known.length) / 10 : null;
}

export const ratio = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 1e6) / 1e6 : null);
