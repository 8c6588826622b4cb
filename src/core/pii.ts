// Values of a stream's `pii` columns in rejected rows: found, remembered by the redactor, masked in DLQ entries
// (core/at-rest.ts says what is protected and what is not yet).
import { abbreviate } from './record.js';
import { registerPersonal } from './redact.js';

/** A stream's `pii` columns (none when it tags none). */
export const piiOf = (stream: { pii?: unknown }): string[] => (Array.isArray(stream.pii) ? (stream.pii as string[]) : []);

/** What a masked tagged value becomes in a DLQ payload. */
export const PII_MASK = '***';

/** A payload that could not be masked value by value. */
export const PII_WITHHELD = '[raw withheld: stream has pii columns; set SLUICE_ENCRYPTION_KEY to keep it encrypted]';

/** The payload as a JSON object, when it is one (rows of later stages are stored as such). */
function asObject(raw: string): Record<string, unknown> | undefined {
  if (!raw.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The texts of the tagged values in a payload that is a JSON object (none for other payloads). */
export function taggedValues(raw: string, pii: readonly string[]): string[] {
  const row = asObject(raw);
  if (!row) return [];
  const out: string[] = [];
  for (const c of pii) {
    const v = row[c];
    if (v === null || v === undefined) continue;
    out.push(typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

// A bound on the values the redactor is told per process: each costs a scan of every redacted text.
const MAX_REMEMBERED = 10_000;
let remembered = 0;

/** Tell the redactor (for the rest of the process) about tagged values seen, up to a bound. */
export function rememberPii(values: readonly string[]): void {
  for (const v of values) {
    if (remembered >= MAX_REMEMBERED) return;
    registerPersonal(v);
    remembered++;
  }
}

/**
 * `text` with every tagged value, whole or abbreviated as a reason quotes it, replaced by the mask. Values shorter
 * than 3 characters are left: masking "1" or "no" would mangle the text around them.
 */
export function maskValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) {
    for (const form of new Set([v, String(abbreviate(v))])) {
      if (form.length >= 3 && out.includes(form)) out = out.split(form).join(PII_MASK);
    }
  }
  return out;
}

/**
 * A DLQ payload kept without a key. A JSON object (a row of a later stage, an NDJSON record) keeps its shape with the
 * tagged keys' values masked. Any other payload (a CSV line or XML record that did not parse) is withheld whole: its
 * values cannot be located reliably (quoting, escaping, a broken line), and a half-masked line would leak the rest.
 */
export function maskPayload(raw: string, pii: readonly string[]): string {
  const row = asObject(raw);
  if (!row) return PII_WITHHELD;
  for (const c of pii) if (c in row && row[c] !== null) row[c] = PII_MASK;
  return JSON.stringify(row);
}

/**
 * The reason of a withheld payload with its quoted fragments masked: a parser's message may quote the text it choked
 * on (V8's JSON errors do: `Unexpected token … "…" is not valid JSON`), and where the tagged values sit is unknown.
 */
export const maskQuoted = (reason: string): string => reason.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, `"${PII_MASK}"`);

/** A payload masked by maskPayload: its row cannot be replayed (it would load the mask). */
export function isMaskedPayload(raw: string, pii: readonly string[]): boolean {
  if (raw === PII_WITHHELD) return true;
  const row = asObject(raw);
  return !!row && pii.some((c) => row[c] === PII_MASK);
}
