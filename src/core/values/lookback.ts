// A stream's `lookback`: the position a run starts reading from, that far behind the stored watermark, so rows that
// arrive late (committed out of order, stamped in the past) are read on a later run instead of missed. Watermarks are
// in their canonical forms (coerce.ts): a number or integer text is moved back by a number, a date or timestamp by a
// duration.
import { parseDuration } from '../duration.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const INTEGER = /^-?\d+$/;

/** `watermark` moved back by `lookback`, in the watermark's own form; an Error says why it cannot be. */
export function behind(watermark: string | number, lookback: number | string): string | number | Error {
  if (typeof lookback === 'number') {
    if (typeof watermark === 'number') return watermark - lookback;
    if (INTEGER.test(watermark)) return (BigInt(watermark) - BigInt(Math.ceil(lookback))).toString();
    return new Error(`lookback ${lookback} is a number, but the watermark ${JSON.stringify(watermark)} is no number: give a duration such as \`10m\``);
  }
  const ms = parseDuration(lookback);
  if (ms === undefined) return new Error(`lookback ${JSON.stringify(lookback)} is neither a number nor a duration`);
  if (typeof watermark === 'string' && DATE.test(watermark)) {
    return new Date(Date.parse(`${watermark}T00:00:00Z`) - Math.ceil(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
  }
  if (typeof watermark === 'string' && TIMESTAMP.test(watermark)) {
    // Whole milliseconds are moved; the microseconds of the watermark stay as they were.
    const micros = /\.\d{3}(\d{3})Z$/.exec(watermark)?.[1] ?? '000';
    return new Date(Date.parse(watermark) - ms).toISOString().replace('Z', `${micros}Z`);
  }
  return new Error(`lookback ${lookback} is a duration, but the watermark ${JSON.stringify(watermark)} is no date or timestamp: give a number`);
}
