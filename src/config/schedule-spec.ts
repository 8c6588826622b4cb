// The `schedule:` block of a pipeline file: when `sluice serve` runs it and what it does about missed runs,
// overlapping runs, daylight-saving time, timeouts and failures. Every policy is an explicit key with a safe default.
import { Cron } from 'croner';
import { z } from 'zod';
import { duration } from '../core/duration.js';

const PIPELINE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** A 5-field cron (minute first) or 6 with seconds first; croner parses both and we check the count ourselves. */
const cron = z.string().refine((s) => {
  const fields = s.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return false;
  try {
    new Cron(s, { paused: true });
    return true;
  } catch {
    return false;
  }
}, 'a cron expression of 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "0 2 * * *"');

const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as "Europe/Paris" or "UTC"');

export const scheduleObject = z.strictObject({
  cron: cron.optional().describe(
    'When to run: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first. Times are read in `timezone`. ' +
    'Daylight saving: a time that does not exist (the hour skipped in spring) runs at the first minute after the gap; ' +
    'a time that occurs twice (the hour repeated in autumn) runs once, at its first occurrence, when the expression names ' +
    'its hour; an expression that runs every hour or more often runs at each real occurrence. A run is keyed by its UTC ' +
    'instant, so none runs twice.'),
  every: duration('A fixed interval instead of `cron` (`30s`, `15m`, `6h`): due at each multiple of it since 1970-01-01 UTC, so restarts and other serve processes agree on the due times.').optional(),
  timezone: timezone.default('UTC').describe('IANA time zone the cron expression is read in.'),
  after: z.array(z.string().regex(PIPELINE_NAME, 'a kebab-case pipeline name')).optional()
    .describe('Also run when one of these pipelines finishes a run that loaded (success or partial success).'),
  catchup: z.enum(['latest', 'all', 'none']).default('latest').describe(
    'Runs missed while nothing was serving (downtime, or a cron edit that moved due times into the past): `latest` runs the most ' +
    'recent missed one, `all` runs each (at most `catchup_limit`, newest kept), `none` runs none and waits for the next due time.'),
  catchup_limit: z.int().min(1).max(1000).default(10).describe('With `catchup: all`, the most missed runs started; older ones are skipped and recorded as skipped.'),
  overlap: z.enum(['skip', 'queue', 'cancel']).default('skip').describe(
    'A run due while the previous one still runs: `skip` records it as skipped, `queue` starts it when the previous one ends ' +
    '(at most `catchup_limit` waiting), `cancel` stops the previous one at its next checkpoint (its committed batches stay) and then starts.'),
  timeout: duration('Longest a run may take: past it the run stops at its next checkpoint (what it committed stays) and is recorded as timed out.').optional(),
  retries: z.strictObject({
    attempts: z.int().min(0).max(100).default(0).describe('Extra attempts after a failed run (0: none).'),
    initial: duration('Wait before the first retry; each next wait doubles.').default({ ms: 60_000, text: '1m' }),
    max: duration('Longest wait between retries.').default({ ms: 1_800_000, text: '30m' }),
  }).optional().describe('Retries of a failed run, with exponential backoff. A retry reruns the pipeline from its committed state.'),
  freshness: duration('Freshness SLA: the last successful run may be at most this old; older makes the pipeline critical in health (and the `freshness` alert rule fire).').optional(),
  max_mean_duration: duration('Mean run duration above which the pipeline\'s health is a warning.').default({ ms: 300_000, text: '5m' }),
  enabled: z.boolean().default(true).describe('false: `serve` shows the pipeline but does not run it on schedule (triggers still work).'),
});

/** `schedule: "0 2 * * *"` is short for `schedule: { cron: "0 2 * * *" }`. */
export const scheduleSchema = z.preprocess((v) => (typeof v === 'string' ? { cron: v } : v), scheduleObject)
  .refine((s) => !(s.cron && s.every), 'either `cron` or `every`, not both')
  .refine((s) => !!(s.cron || s.every || s.after?.length), 'one of `cron`, `every` or `after`')
  .describe('When `sluice serve` runs the pipeline: a cron expression (string), or an object with `cron` or `every`, `after` and the policies.');

export type ScheduleConfig = z.output<typeof scheduleObject>;
