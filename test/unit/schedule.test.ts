// When schedules are due (cron in a time zone, fixed intervals, daylight saving) and what the `schedule:` key accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleSchema } from '../../src/config/schedule-spec.js';
import { DueTimes } from '../../src/orchestrate/due-times.js';

const parse = (v: unknown) => scheduleSchema.parse(v);
const iso = (d: Date | undefined) => d?.toISOString();

test('a cron string is short for { cron }, with safe defaults for every policy', () => {
  const s = parse('0 2 * * *');
  assert.equal(s.cron, '0 2 * * *');
  assert.equal(s.timezone, 'UTC');
  assert.equal(s.catchup, 'latest');
  assert.equal(s.overlap, 'skip');
  assert.equal(s.catchup_limit, 10);
  assert.equal(s.max_mean_duration.ms, 300_000);
  assert.equal(s.enabled, true);
  assert.equal(s.timeout, undefined);
  assert.deepEqual(parse({ every: '30s', retries: { attempts: 2 } }).retries, { attempts: 2, initial: { ms: 60_000, text: '1m' }, max: { ms: 1_800_000, text: '30m' } });
});

test('bad schedules are refused with what is expected', () => {
  const message = (v: unknown) => {
    const r = scheduleSchema.safeParse(v);
    assert.equal(r.success, false, JSON.stringify(v));
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(message('61 * * * *'), /cron: a cron expression of 5 fields/);
  assert.match(message('* * * *'), /cron: a cron expression of 5 fields/);
  assert.match(message({ cron: '0 2 * * *', timezone: 'Mars/Olympus' }), /timezone: an IANA time zone/);
  assert.match(message({ cron: '0 2 * * *', every: '1h' }), /either `cron` or `every`/);
  assert.match(message({ timezone: 'UTC' }), /one of `cron`, `every` or `after`/);
  assert.match(message({ every: '1 hour' }), /every: a duration/);
  assert.match(message({ cron: '0 2 * * *', overlap: 'wait' }), /overlap/);
  assert.match(message({ cron: '0 2 * * *', catchup: 'some' }), /catchup/);
  assert.match(message({ after: ['Orders_Daily'] }), /kebab-case/);
});

test('cron times are read in the time zone; 6 fields put seconds first', () => {
  const paris = new DueTimes(parse({ cron: '0 2 * * *', timezone: 'Europe/Paris' }));
  assert.equal(iso(paris.next(new Date('2026-01-10T12:00:00Z'))), '2026-01-11T01:00:00.000Z'); // CET = UTC+1
  assert.equal(iso(paris.next(new Date('2026-07-10T12:00:00Z'))), '2026-07-11T00:00:00.000Z'); // CEST = UTC+2
  const seconds = new DueTimes(parse('*/15 * * * * *'));
  assert.equal(iso(seconds.next(new Date('2026-01-01T00:00:07Z'))), '2026-01-01T00:00:15.000Z');
});

test('daylight saving: a time that does not exist runs after the gap; one that occurs twice runs once', () => {
  // Europe/Paris: 2026-03-29 02:00 → 03:00 (02:30 does not exist); 2026-10-25 03:00 → 02:00 (02:30 occurs twice).
  const daily = new DueTimes(parse({ cron: '30 2 * * *', timezone: 'Europe/Paris' }));
  const spring = daily.between(new Date('2026-03-27T12:00:00Z'), new Date('2026-03-30T12:00:00Z'), 10).times.map(iso);
  assert.deepEqual(spring, ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  const autumn = daily.between(new Date('2026-10-24T12:00:00Z'), new Date('2026-10-26T12:00:00Z'), 10).times.map(iso);
  assert.deepEqual(autumn, ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  // Every 30 minutes keeps its pace through the repeated hour: each real half hour runs.
  const often = new DueTimes(parse({ cron: '*/30 * * * *', timezone: 'Europe/Paris' }));
  const repeated = often.between(new Date('2026-10-25T00:10:00Z'), new Date('2026-10-25T02:10:00Z'), 10).times.map(iso);
  assert.deepEqual(repeated, ['2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z']);
});

test('intervals are multiples since the epoch, and catch-up windows are capped without walking every tick', () => {
  const every = new DueTimes(parse({ every: '15m' }));
  assert.equal(iso(every.next(new Date('2026-01-01T00:07:00Z'))), '2026-01-01T00:15:00.000Z');
  assert.equal(iso(every.next(new Date('2026-01-01T00:15:00Z'))), '2026-01-01T00:30:00.000Z');
  const second = new DueTimes(parse({ every: '1s' }));
  const started = Date.now();
  const { times, skipped } = second.between(new Date('2020-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'), 3);
  assert.ok(Date.now() - started < 100, 'six years of seconds are counted, not walked');
  assert.deepEqual(times.map(iso), ['2025-12-31T23:59:58.000Z', '2025-12-31T23:59:59.000Z', '2026-01-01T00:00:00.000Z']);
  assert.equal(skipped, 2192 * 86_400 - 3);
  const hourly = new DueTimes(parse('0 * * * *'));
  const day = hourly.between(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'), 5);
  assert.equal(day.times.length, 5);
  assert.equal(day.skipped, 19);
  assert.equal(iso(day.times.at(-1)), '2026-01-02T00:00:00.000Z');
  assert.equal(new DueTimes(parse({ after: ['a'] })).timed, false);
});
