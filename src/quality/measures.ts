// The small languages of check options: durations (`2d`, `36h`), thresholds (`1%` or a count) and changes (`50%`).
import { z } from 'zod';
import type { Threshold } from './check.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*([smhdw])$/;

export const duration = (what: string) => z.string().regex(DURATION, 'a duration such as `30m`, `12h`, `2d` or `1w`')
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s)!;
    return { ms: Number(n) * UNITS[unit], text: s };
  }).describe(what);

/** `3d 4h`, `25m`: an age as a person reads it. */
export function showAge(ms: number): string {
  if (ms < 0) return 'in the future';
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size && parts.length < 2) {
      parts.push(`${Math.floor(ms / size)}${unit}`);
      ms %= size;
    }
  }
  return parts.length ? parts.join(' ') : `${Math.round(ms / 1000)}s`;
}

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

export const percent = (what: string) => z.string().regex(PERCENT, 'a percentage such as `50%`')
  .transform((s) => ({ ratio: Number(PERCENT.exec(s)![1]) / 100, text: s })).describe(what);

/** `threshold: 1%` (share of checked rows) or `threshold: 25` (failing rows). */
export const thresholdSchema = z.union([
  z.int().min(0).transform((n): Threshold => ({ count: n, text: String(n) })),
  z.string().regex(PERCENT, 'a percentage such as `1%` or a count of rows').transform((s): Threshold => ({ ratio: Number(PERCENT.exec(s)![1]) / 100, text: s.replace(/\s+/g, '') })),
]).describe('Makes the check a dataset gate: with severity error, when more failing rows than this (`1%` of the checked rows, or a count) the stream loads nothing and the run fails; at or below it the stream loads and failing rows go to the dead-letter queue. With warn, crossing it is reported and the run ends in partial success (exit 3); with info it is only reported.');
