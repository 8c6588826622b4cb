// Guarded writes: a side's rows are read again, locked, in the transaction that writes them, and a write goes ahead
// only if the row is still what the sync decided on — so a sync never overwrites a change a user made after the sync
// read the row (that change is then the newer one and flows the other way next). Keys are compared by their
// comparable text, so a key read from one engine finds the row written by another.
import type { TableWriter } from './side.js';
import { contentHash, syncText } from './values.js';

/** A key's comparable text (the first `keyParts` values of a row). */
export const keyText = (row: readonly unknown[], keyParts: number): string => JSON.stringify(row.slice(0, keyParts).map(syncText));

/** The hash of a row's content (null: no row), as the base and the guards compare it. */
export const rowHash = (row: readonly unknown[] | undefined, keyParts: number): number | null => (row ? contentHash(row, keyParts) : null);

/** The rows there now for `keys`, by key text, locked until the transaction ends. */
export async function currentRows(w: TableWriter, keys: unknown[][], keyParts: number): Promise<Map<string, unknown[]>> {
  const rows = keys.length ? await w.read(keys) : [];
  return new Map(rows.map((r) => [keyText(r, keyParts), r]));
}
