// "Did you mean …?" for unknown keys and types: the closest candidate by edit distance, only when it is close
// enough that suggesting it helps more than it confuses.
import { distance } from 'fastest-levenshtein';

/**
 * The candidate nearest to `input`, or undefined when none is close. Close means at most a third of the
 * input's length in edits (at least 1, at most 3), so `wirte` → `write` and `csvv` → `csv`, but `x` suggests
 * nothing. Comparison ignores case; ties go to the earlier candidate, so the answer is deterministic.
 */
export function nearest(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.ceil(needle.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(needle, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= limit && best !== input ? best : undefined;
}

/** `did you mean \`write\`?` — the hint text ConfigError.details.suggestion carries. */
export const didYouMean = (input: string, candidates: Iterable<string>): string | undefined => {
  const n = nearest(input, candidates);
  return n === undefined ? undefined : `did you mean \`${n}\`?`;
};
