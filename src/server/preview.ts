// The dashboard's look at a destination table: its first rows as JSON-safe cells (a 64-bit integer as text when it
// does not fit a double, bytes as hex, a nested value as JSON text), so any column type shows as something readable.
import type { Destination } from '../core/connector.js';
import { ConfigError } from '../core/errors.js';

/** Longest cell sent: a preview is for looking, not for exporting a document column. */
const MAX_CELL = 2000;

export async function previewTable(dest: Destination, table: string, limit: number): Promise<{ columns: string[]; rows: unknown[][] }> {
  if (!dest.readTable) throw new ConfigError(`the ${dest.type} destination cannot be read back`);
  const columns: string[] = [];
  const rows: unknown[][] = [];
  for await (const batch of dest.readTable(table, [], limit)) {
    for (const row of batch) {
      if (rows.length >= limit) break;
      for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
      rows.push(columns.map((k) => cell(row[k])));
    }
    if (rows.length >= limit) break;
  }
  return { columns, rows: rows.map((r) => columns.map((_, i) => r[i] ?? null)) };
}

function cell(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return clip(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return clip(`\\x${Buffer.from(v.subarray(0, MAX_CELL / 2)).toString('hex')}`);
  try {
    return clip(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
  } catch {
    return clip(String(v));
  }
}

const clip = (s: string): string => (s.length > MAX_CELL ? `${s.slice(0, MAX_CELL)}…` : s);
