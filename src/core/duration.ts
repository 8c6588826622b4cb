// Durations as pipeline files write them: a number and a unit, s m h d w (`30s`, `10m`, `36h`, `2d`, `1w`).
import { z } from 'zod';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
export const DURATION = /^(\d+(?:\.\d+)?)\s*([smhdw])$/;

export interface Duration {
  ms: number;
  /** As written, for messages. */
  text: string;
}

/** `2d` → 172800000; undefined for text that is no duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}

/** The zod schema of a duration key: the text, validated, becomes `{ms, text}`. */
export const duration = (what: string) => z.string().regex(DURATION, 'a duration such as `30m`, `12h`, `2d` or `1w`')
  .transform((s): Duration => ({ ms: parseDuration(s)!, text: s })).describe(what);

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
