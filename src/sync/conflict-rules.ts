// The rule for a key changed on both sides, shared by the hash sync (./sync-table.ts) and the streams
// (./cdc/apply-changes.ts), so that both — and both directions of a stream, each deciding alone — settle a conflict
// the same way: source-wins takes side a, target-wins side b, last-write-wins (and merge, for fields changed on both
// sides) the row whose `column` is later, a tie or no column side a. Two timestamps within `clock_skew` are not told
// apart (two machines' clocks disagree by that much): the table's `fallback` settles them.
import type { CONFLICT_STRATEGIES, SyncTable } from '../config/sync-spec.js';
import { syncText } from './values.js';

export type Winner = 'a' | 'b';
export type Strategy = (typeof CONFLICT_STRATEGIES)[number];

/** Later of two values of the last-write-wins column: numbers by value, timestamps and text by their normal form. */
export function later(u: unknown, v: unknown): Winner | undefined {
  const x = syncText(u);
  const y = syncText(v);
  if (x === y) return undefined;
  if (x === null) return 'b';
  if (y === null) return 'a';
  const nx = Number(x);
  const ny = Number(y);
  if (x.trim() !== '' && y.trim() !== '' && Number.isFinite(nx) && Number.isFinite(ny)) return nx > ny ? 'a' : nx < ny ? 'b' : undefined;
  return x > y ? 'a' : 'b';
}

/** The side a rule prefers between side a's row `x` and side b's row `y` (`column`: the index of the rule's column, or -1). */
export function preferred(strategy: Strategy | undefined, column: number, x: readonly unknown[], y: readonly unknown[]): Winner {
  if (strategy === 'target-wins') return 'b';
  if (strategy === 'source-wins') return 'a';
  return column >= 0 ? later(x[column], y[column]) ?? 'a' : 'a';
}

/** The strategy that settles this conflict: last-write-wins's fallback when the two writes are within the clock skew. */
export function ruleFor(c: SyncTable['conflict'], column: number, x: readonly unknown[], y: readonly unknown[]): Strategy {
  const strategy = c?.strategy ?? 'last-write-wins';
  if (strategy !== 'last-write-wins' || !c?.clock_skew || column < 0) return strategy;
  const [u, v] = [syncText(x[column]), syncText(y[column])];
  const gap = u === null || v === null ? NaN : Math.abs(Date.parse(u) - Date.parse(v));
  return gap <= c.clock_skew.ms ? c.fallback : strategy;
}
