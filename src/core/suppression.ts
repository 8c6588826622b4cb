// The suppression list: data subjects erased from a pipeline (`sluice erase`) whose rows later runs must not load
// again from a source that still has them. The list holds digests, never values: SHA-256 of the pipeline, the
// column and the value's canonical text, so the control store does not become a register of the very people who
// asked to be forgotten. (A digest of a guessable value, such as an email address, can be confirmed by whoever
// guesses it; it cannot be listed back.)
import { createHash } from 'node:crypto';

/** Digests of suppressed values, by the column they were erased by. */
export type Suppressed = ReadonlyMap<string, ReadonlySet<string>>;

/** A value as the subject's key compares it: text as is, numbers, booleans and big integers as written, dates in ISO. */
export function subjectText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

export const subjectDigest = (pipeline: string, column: string, value: unknown): string =>
  createHash('sha256').update(`sluice-suppress\0${pipeline}\0${column}\0${subjectText(value)}`).digest('hex');

/**
 * For each column with suppressed values, a test of a row's value: true when the row is a suppressed subject's.
 * Undefined for a column with none (nothing is hashed for it).
 */
export function suppressionTest(pipeline: string, suppressed: Suppressed): (column: string) => ((value: unknown) => boolean) | undefined {
  return (column) => {
    const digests = suppressed.get(column);
    if (!digests?.size) return undefined;
    return (value) => value !== null && value !== undefined && digests.has(subjectDigest(pipeline, column, value));
  };
}
