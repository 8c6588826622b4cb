// The small languages of check options: durations (`2d`, `36h`, from src/core/duration.ts), thresholds (`1%` or a
// count) and changes (`50%`).
import { z } from 'zod';
import type { Threshold } from './check.js';

export { duration, showAge } from '../core/duration.js';

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

export const percent = (what: string) => z.string().regex(PERCENT, 'a percentage such as `50%`')
  .transform((s) => ({ ratio: Number(PERCENT.exec(s)![1]) / 100, text: s })).describe(what);

/** `threshold: 1%` (share of checked rows) or `threshold: 25` (failing rows). */
export const thresholdSchema = z.union([
  z.int().min(0).transform((n): Threshold => ({ count: n, text: String(n) })),
  z.string().regex(PERCENT, 'a percentage such as `1%` or a count of rows').transform((s): Threshold => ({ ratio: Number(PERCENT.exec(s)![1]) / 100, text: s.replace(/\s+/g, '') })),
]).describe('Makes the check a dataset gate: with severity error, when more failing rows than this (`1%` of the checked rows, or a count) the stream loads nothing and the run fails; at or below it the stream loads and failing rows go to the dead-letter queue. With warn, crossing it is reported and the run ends in partial success (exit 3); with info it is only reported.');
