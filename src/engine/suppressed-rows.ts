// Rows of erased subjects (core/suppression.ts) taken out of a batch as it is read, before anything else sees them:
// no transform carries them on (a flatten's child rows, an aggregate), no failed coercion or check dead-letters them
// again. A row whose value a transform changes to the erased one is caught later, by the row gate's own test of the
// loaded columns. Dropped rows count as filtered, so the counts add up.
import type { Batch, RejectedRow, Row } from '../core/types.js';

export type HeldTest = (column: string) => ((value: unknown) => boolean) | undefined;

/** `batch` without the rows `held` finds, and how many went (rows, and rejects whose payload is such a row). */
export function screenBatch(batch: Batch, columns: readonly string[], held: HeldTest): { batch: Batch; dropped: number } {
  const tests = columns.map((c) => [c, held(c)] as const).filter((t): t is readonly [string, (v: unknown) => boolean] => t[1] !== undefined);
  let dropped = 0;
  const rejected = batch.rejected?.filter((r) => {
    const out = heldPayload(r, tests);
    if (out) dropped++;
    return !out;
  });
  const kept: number[] = [];
  if (batch.values && batch.columns) {
    const at = tests.map(([c, t]) => [batch.columns!.indexOf(c), t] as const).filter(([i]) => i >= 0);
    if (at.length) batch.values.forEach((v, i) => { if (!at.some(([k, t]) => t(v[k]))) kept.push(i); });
    else batch.values.forEach((_, i) => kept.push(i));
  } else {
    batch.rows.forEach((r, i) => { if (!tests.some(([c, t]) => t(r[c]))) kept.push(i); });
  }
  const total = batch.values ? batch.values.length : batch.rows.length;
  dropped += total - kept.length;
  if (dropped === 0) return { batch, dropped };
  const { positionOf } = batch;
  return {
    batch: {
      ...batch,
      ...(batch.values ? { values: kept.map((i) => batch.values![i]) } : { rows: kept.map((i) => batch.rows[i]) }),
      ...(rejected ? { rejected } : {}),
      // Positions stay those of the rows as read.
      ...(positionOf ? { positionOf: (i: number) => positionOf.call(batch, kept[i]) } : {}),
    },
    dropped,
  };
}

/** A reject whose payload is a row (a JSON object) of a held subject; a line that never parsed cannot be told. */
function heldPayload(r: RejectedRow, tests: readonly (readonly [string, (v: unknown) => boolean])[]): boolean {
  if (!r.raw.startsWith('{')) return false;
  try {
    const row = JSON.parse(r.raw) as Row;
    return !!row && typeof row === 'object' && tests.some(([c, t]) => t(row[c]));
  } catch {
    return false;
  }
}
