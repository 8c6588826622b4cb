// Names Sluice derives from a user's table name (`orders__sluice_replace`, `orders__sluice_stage`) must fit the
// destination's identifier limit (64 in MySQL) and stay distinct per table, so a long name is cut and given a short
// hash of the full name instead of being rejected by the server.
import { createHash } from 'node:crypto';

export function derivedName(table: string, suffix: string, maxLength: number): string {
  const full = `${table}${suffix}`;
  if (full.length <= maxLength) return full;
  const hash = createHash('sha1').update(table).digest('hex').slice(0, 8);
  return `${table.slice(0, Math.max(1, maxLength - suffix.length - hash.length - 1))}_${hash}${suffix}`;
}
