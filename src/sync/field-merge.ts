// `conflict: { strategy: merge }`: a key changed on both sides since the last sync is merged field by field against
// the version both last agreed on (its per-field hashes, kept in the base for merge tables): a field changed on one
// side only takes that side's value; a field changed on both sides to different values takes the value of the row
// the table's rule prefers (the later by `column` when set, else side a). Without a base version (a first sync) there
// is nothing to merge against: the rule picks the whole row.
import { contentHash } from './values.js';

export type Side = 'a' | 'b';

/** Each field's hash (from index `from`), values made comparable first: what a merge compares against. */
export function fieldHashes(row: readonly unknown[], from: number): number[] {
  const out: number[] = [];
  for (let i = from; i < row.length; i++) out.push(contentHash([row[i]]));
  return out;
}

export interface FieldMerge {
  /** Per field (from index `from`), which side's value the merged row takes. */
  take: Side[];
  /** Fields changed on both sides to different values, settled by the rule. */
  clashes: number;
  /** Whether the merged row differs from side a's row (it is written there), and from side b's. */
  changesA: boolean;
  changesB: boolean;
}

export function mergeFields(x: readonly unknown[], y: readonly unknown[], from: number, base: readonly number[], prefer: Side): FieldMerge {
  const m: FieldMerge = { take: [], clashes: 0, changesA: false, changesB: false };
  for (let i = from; i < x.length; i++) {
    const [fa, fb, f0] = [contentHash([x[i]]), contentHash([y[i]]), base[i - from]];
    const side: Side = fa === fb || fb === f0 ? 'a' : fa === f0 ? 'b' : prefer;
    if (fa !== fb && fa !== f0 && fb !== f0) m.clashes++;
    m.take.push(side);
    if (fa !== fb) {
      if (side === 'a') m.changesB = true;
      else m.changesA = true;
    }
  }
  return m;
}

/** Float64 holds a 53-bit hash exactly: the base keeps a row's field hashes as one blob. */
export const encodeFields = (hf: readonly number[]): Buffer => Buffer.from(new Float64Array(hf).buffer);
export const decodeFields = (b: Buffer): number[] => Array.from(new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
